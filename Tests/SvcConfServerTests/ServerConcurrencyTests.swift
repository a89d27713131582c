import Foundation
import SvcConf
import Testing

/// The hardening item "8 processes × N writes" for the server: two real `svcconf-server` processes
/// over one store — a file store (both on the same directory) and an S3 store on moto — and 8 client
/// processes writing through both at once. The clients are real separate processes: one bash loop
/// per client, each request its own `curl` process (``ReplicaLoad/Clients/processes(workDir:)``);
/// each write is GET metadata (ETag) → `PUT .../config` with `If-Match` → on 412 read again and retry.
///
/// N is `SVCCONF_HARDENING_WRITES` (default 10; `scripts/hardening` sets 50). Checks: every write is
/// eventually acknowledged (201); no two 201s name the same version (ETag and JSON body agree); the
/// history, as each replica answers it, is the seed plus exactly the acknowledged writes, numbered
/// 1...K without a gap, each acknowledged write at the version its 201 named, the chain intact on
/// every entry; no request ever answered 5xx. The figures (requests, 412s retried, duration) are
/// printed as a `notice:` line, never asserted on.
@Suite("ServerConcurrency: 8 client processes through two server replicas over one store")
struct ServerConcurrencyTests {
    static let clients = 8
    static var writes: Int {
        ProcessInfo.processInfo.environment["SVCCONF_HARDENING_WRITES"].flatMap(Int.init).map { max(1, $0) } ?? 10
    }

    @Test("ServerConcurrency: file store, two replicas on one directory, 8 processes x N PUTs: no lost update, no version twice, no 5xx")
    func fileStore() async throws {
        let sb = try BinarySandbox()
        defer { sb.remove() }
        let cli = URL(fileURLWithPath: try svcconfBinary()).deletingLastPathComponent().path + "/svcconf-cli"
        let initialized = try runProgram(cli, ["init", "--store", sb.storeURL, "--recipient", "local:" + sb.keyPath], environment: ExecServerTests.cleanEnv)
        try #require(initialized.code == 0, "\(initialized.err)")
        try await Self.load(sandbox: sb, store: sb.storeURL, environment: [:], label: "file store")
    }

    @Test("ServerConcurrency: S3 store (moto), two replicas, 8 processes x N PUTs: no lost update, no version twice, no 5xx")
    func s3Store() async throws {
        guard let endpoint = ReplicaTests.s3Endpoint(orSkip: "the server concurrency test on S3") else { return }
        let sb = try BinarySandbox()
        defer { sb.remove() }
        let store = try await ReplicaTests.initS3Store(endpoint: endpoint, sandbox: sb, prefix: "svcconf-srvconc-")
        try await Self.load(sandbox: sb, store: store, environment: ReplicaTests.awsEnv(endpoint), label: "S3 store (moto)")
    }

    /// Starts two replicas over `store`, runs the load through both and checks the outcome.
    static func load(sandbox sb: BinarySandbox, store: String, environment: [String: String], label: String) async throws {
        let tokens = try sb.tokens(["writer": ["write:*/*"]])
        let args = ["--store", store, "--key-file", sb.keyPath, "--tokens", sb.dir + "/tokens", "--rate-limit", "100000", "--rate-burst", "100000"]
        let a = try ServerProcess(arguments: args, environment: environment)
        defer { a.stop() }
        let b = try ServerProcess(arguments: args, environment: environment)
        defer { b.stop() }

        let clients = Self.clients, writes = Self.writes
        let start = Date()
        let r = try await ReplicaLoad.run(bases: [a.base, b.base], token: tokens["writer"]!, clients: clients, putsPerClient: writes,
                                          service: "srv-concurrency", mode: .processes(workDir: sb.dir + "/clients"))
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "notice: ServerConcurrency %@: %d client processes x %d PUTs through 2 replicas: %d acknowledged, %d versions in history (1 seed), %d distinct acknowledged versions, %d conflicts (412) retried, %d requests, %d answered 5xx, %.1f s",
                     label, clients, writes, r.acknowledged, r.history.count, Set(r.acks.map(\.version)).count, r.conflicts, r.requests, r.serverErrors, seconds))
        check(r, expected: clients * writes)
        #expect(a.stop() == 0, "replica A exit status")
        #expect(b.stop() == 0, "replica B exit status")
    }

    static func check(_ r: ReplicaLoad.Result, expected: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.failures.isEmpty, "\(r.failures.prefix(20))", sourceLocation: sourceLocation)
        #expect(r.serverErrors == 0, "5xx answers: \(r.statuses)", sourceLocation: sourceLocation)
        #expect(Set(r.statuses.keys).isSubset(of: [200, 201, 412]), "statuses: \(r.statuses)", sourceLocation: sourceLocation)
        // Every write acknowledged once, each under a version number of its own.
        #expect(r.acknowledged == expected, sourceLocation: sourceLocation)
        #expect(Set(r.acks.map { "\($0.client)/\($0.write)" }).count == r.acknowledged, "a write acknowledged twice", sourceLocation: sourceLocation)
        let numbers = r.acks.map(\.version)
        let twice = Dictionary(grouping: numbers, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        #expect(twice.isEmpty, "versions acknowledged more than once: \(r.acks.filter { twice.contains($0.version) })", sourceLocation: sourceLocation)
        for ack in r.acks where ack.bodyVersion != ack.version {
            Issue.record("\(ack.message): ETag names version \(ack.version), the 201 body \(ack.bodyVersion.map(String.init) ?? "nothing")", sourceLocation: sourceLocation)
        }
        // The history: the seed, then exactly the acknowledged writes, 1...K without a gap, chain intact;
        // both replicas answer the same.
        #expect(r.histories.count == 2, sourceLocation: sourceLocation)
        for (i, h) in r.histories.enumerated() {
            #expect(h == r.history, "replica \(i) answers another history", sourceLocation: sourceLocation)
        }
        let history = r.history
        #expect(history.count == 1 + r.acknowledged, "acknowledged \(r.acknowledged) writes, history has \(history.count) versions", sourceLocation: sourceLocation)
        #expect(history.map(\.version) == (0..<history.count).map { Int64($0 + 1) }, "version numbers: \(history.map(\.version))",
                sourceLocation: sourceLocation)
        #expect(history.first?.message == "seed", sourceLocation: sourceLocation)
        let broken = history.filter { !$0.chainIntact }.map(\.version)
        #expect(broken.isEmpty, "chain broken at versions \(broken)", sourceLocation: sourceLocation)
        let byVersion = Dictionary(history.map { ($0.version, $0.message) }, uniquingKeysWith: { a, _ in a })
        let missing = r.acks.filter { byVersion[$0.version] != $0.message }
        #expect(missing.isEmpty, "acknowledged writes not in history at the version their 201 named: \(missing.prefix(10).map { "\($0.message) → v\($0.version): \(byVersion[$0.version] ?? "absent")" })",
                sourceLocation: sourceLocation)
        #expect(r.distinctValuesInHistory == r.acknowledged, sourceLocation: sourceLocation)
        #expect(Set(numbers).union([1]) == Set(history.map(\.version)), "the acknowledged versions plus the seed are the history", sourceLocation: sourceLocation)
    }
}
