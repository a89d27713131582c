import Foundation
import SvcConf
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Two svcconf-server replicas over one S3 store (moto): concurrent conditional PUTs through both
/// lose no update. Runs when `SVCCONF_TEST_S3_ENDPOINT` names a moto server (scripts/test starts one).
@Suite("Replica: two servers over one S3 store")
struct ReplicaTests {
    static func awsEnv(_ endpoint: String) -> [String: String] {
        ["AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
         "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"]
    }

    /// The moto endpoint scripts/test starts (`SVCCONF_TEST_S3_ENDPOINT`); nil, with a notice that
    /// `what` is skipped, when it is not set.
    static func s3Endpoint(orSkip what: String) -> String? {
        guard let endpoint = ProcessInfo.processInfo.environment["SVCCONF_TEST_S3_ENDPOINT"], !endpoint.isEmpty else {
            print("notice: SVCCONF_TEST_S3_ENDPOINT not set (scripts/test starts moto); skipping \(what)")
            return nil
        }
        return endpoint
    }

    /// A new bucket on moto (without signature checks) and a store in it initialized by the CLI for
    /// the sandbox's local key; returns the store URL.
    static func initS3Store(endpoint: String, sandbox sb: BinarySandbox, prefix: String) async throws -> String {
        let bucket = prefix + UUID().uuidString.lowercased().prefix(12)
        var create = URLRequest(url: URL(string: "\(endpoint)/\(bucket)")!)
        create.httpMethod = "PUT"
        let (_, created) = try await URLSession.shared.data(for: create)
        #expect((created as? HTTPURLResponse)?.statusCode == 200)
        let store = "s3://\(bucket)/svcconf"
        var env = ExecServerTests.cleanEnv
        env.merge(Self.awsEnv(endpoint)) { $1 }
        let cli = URL(fileURLWithPath: try svcconfBinary()).deletingLastPathComponent().path + "/svcconf-cli"
        let initialized = try runProgram(cli, ["init", "--store", store, "--recipient", "local:" + sb.keyPath], environment: env)
        #expect(initialized.code == 0, "\(initialized.err)")
        return store
    }

    @Test("Replica: 4 clients x 5 PUTs with If-Match retries through two replicas: every acknowledged write is a version, none lost")
    func noLostUpdates() async throws {
        guard let endpoint = Self.s3Endpoint(orSkip: "the replica test") else { return }
        let sb = try BinarySandbox()
        defer { sb.remove() }
        let store = try await Self.initS3Store(endpoint: endpoint, sandbox: sb, prefix: "svcconf-replica-")
        let tokens = try sb.tokens(["writer": ["write:*/*"]])
        let args = ["--store", store, "--key-file", sb.keyPath, "--tokens", sb.dir + "/tokens", "--rate-limit", "100000", "--rate-burst", "100000"]
        let a = try ServerProcess(arguments: args, environment: Self.awsEnv(endpoint))
        defer { a.stop() }
        let b = try ServerProcess(arguments: args, environment: Self.awsEnv(endpoint))
        defer { b.stop() }

        let result = try await ReplicaLoad.run(bases: [a.base, b.base], token: tokens["writer"]!, clients: 4, putsPerClient: 5)
        #expect(result.failures.isEmpty, "\(result.failures)")
        #expect(result.acknowledged == 4 * 5)
        #expect(result.versions == result.acknowledged, "acknowledged \(result.acknowledged) writes, history has \(result.versions) versions")
        #expect(result.distinctValuesInHistory == result.acknowledged)
    }
}

/// Concurrent writers through several replicas: each client GETs the metadata (ETag), PUTs its next
/// value with `If-Match`, and on 412 reads again and retries (up to 500 attempts per write). Then the
/// history is read from every replica.
///
/// The clients are either tasks in this process sharing `URLSession.shared` (``Clients/tasks``), or
/// real separate processes (``Clients/processes(workDir:)``): one bash loop per client, started
/// together by one bash, each request a fresh `curl` process (its own TCP connection); the token is
/// read by curl from a 0600 header file, never put in an argv.
enum ReplicaLoad {
    enum Clients: Sendable {
        case tasks
        /// `workDir` holds the header file, the client script and each client's output.
        case processes(workDir: String)
    }

    /// One acknowledged (201) write.
    struct Ack: Sendable, Equatable {
        var client: Int
        var write: Int
        /// The replica that answered (index into `bases`).
        var replica: Int
        /// From the 201's ETag.
        var version: Int64
        /// From the 201's JSON body (`version`), nil when the body did not say.
        var bodyVersion: Int64?
        var message: String { ReplicaLoad.message(client: client, write: write) }
    }

    /// One entry of `GET .../versions`.
    struct Entry: Sendable, Equatable {
        var version: Int64
        var message: String
        var chainIntact: Bool
    }

    struct Result: Sendable {
        var acks: [Ack] = []
        var conflicts = 0
        /// Every HTTP status any client got (GET and PUT), with counts.
        var statuses: [Int: Int] = [:]
        /// The history as each replica answers it, in `bases` order.
        var histories: [[Entry]] = []
        var failures: [String] = []

        var acknowledged: Int { acks.count }
        /// The history the last replica answers.
        var history: [Entry] { histories.last ?? [] }
        /// Versions in history without the seed.
        var versions: Int { max(0, history.count - 1) }
        var distinctValuesInHistory: Int { Set(history.map(\.message).filter { $0.hasPrefix("client ") }).count }
        var serverErrors: Int { statuses.filter { $0.key >= 500 }.values.reduce(0, +) }
        var requests: Int { statuses.values.reduce(0, +) }
    }

    static func message(client: Int, write: Int) -> String { "client \(client) write \(write)" }

    static func request(_ url: String, method: String = "GET", token: String, ifMatch: String? = nil, body: Data? = nil) async throws -> (Int, Data, String?) {
        var r = URLRequest(url: URL(string: url)!)
        r.httpMethod = method
        r.setValue("Bearer " + token, forHTTPHeaderField: "Authorization")
        if let ifMatch { r.setValue(ifMatch, forHTTPHeaderField: "If-Match") }
        if let body { r.httpBody = body; r.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: r)
        let http = response as! HTTPURLResponse
        return (http.statusCode, data, http.value(forHTTPHeaderField: "ETag"))
    }

    /// A JSON integer.
    static func int(_ v: ConfigValue?) -> Int64? {
        if case .number(.int(let i))? = v { return i }
        return nil
    }

    /// `"N"` → N.
    static func etagNumber(_ etag: String?) -> Int64? {
        guard let e = etag, e.count >= 3, e.hasPrefix("\""), e.hasSuffix("\"") else { return nil }
        return Int64(e.dropFirst().dropLast())
    }

    static func run(bases: [String], token: String, clients: Int, putsPerClient: Int, service: String = "replica-test", env: String = "prod",
                    mode: Clients = .tasks) async throws -> Result {
        let path = "/v1/services/\(service)/envs/\(env)"
        // Version 1, so every client starts from an existing config.
        let first = try await request(bases[0] + path + "/config", method: "PUT", token: token, ifMatch: "\"0\"",
                                      body: Data(#"{"values": {"WRITER": "seed"}, "message": "seed"}"#.utf8))
        guard first.0 == 201 || first.0 == 412 else { return Result(failures: ["seed PUT answered \(first.0)"]) }
        var total: Result
        switch mode {
        case .tasks: total = try await inTasks(bases: bases, path: path, token: token, clients: clients, putsPerClient: putsPerClient)
        case .processes(let dir):
            total = try await onThread { try inProcesses(bases: bases, path: path, token: token, clients: clients, putsPerClient: putsPerClient, dir: dir) }
        }
        for base in bases {
            let history = try await request(base + path + "/versions", token: token)
            guard history.0 == 200 else {
                total.failures.append("GET \(base)\(path)/versions answered \(history.0)")
                total.histories.append([])
                continue
            }
            let doc = try JSON.parse(Array(history.1))
            total.histories.append((doc["versions"]?.arrayValue ?? []).map { v in
                Entry(version: int(v["version"]) ?? -1, message: v["message"]?.stringValue ?? "", chainIntact: v["chainIntact"] == true)
            })
        }
        return total
    }

    static func inTasks(bases: [String], path: String, token: String, clients: Int, putsPerClient: Int) async throws -> Result {
        try await withThrowingTaskGroup(of: Result.self) { group in
            for c in 0..<clients {
                group.addTask {
                    var r = Result()
                    for i in 0..<putsPerClient {
                        var attempts = 0
                        while true {
                            attempts += 1
                            let base = bases[(c + i + attempts) % bases.count]
                            let meta = try await request(base + path, token: token)
                            r.statuses[meta.0, default: 0] += 1
                            guard meta.0 == 200, let etag = meta.2 else { r.failures.append("GET answered \(meta.0)"); break }
                            let body = Data(#"{"values": {"WRITER": "c\#(c)-w\#(i)"}, "message": "\#(message(client: c, write: i))"}"#.utf8)
                            let put = try await request(base + path + "/config", method: "PUT", token: token, ifMatch: etag, body: body)
                            r.statuses[put.0, default: 0] += 1
                            if put.0 == 201, let n = etagNumber(put.2) {
                                r.acks.append(Ack(client: c, write: i, replica: bases.firstIndex(of: base) ?? -1, version: n, bodyVersion: int((try? JSON.parse(Array(put.1)))?["version"])))
                                break
                            }
                            if put.0 == 412 { r.conflicts += 1; if attempts < 500 { continue } }
                            r.failures.append("PUT answered \(put.0) (ETag \(put.2 ?? "none")): \(String(decoding: put.1, as: UTF8.self))")
                            break
                        }
                    }
                    return r
                }
            }
            var total = Result()
            for try await r in group {
                total.acks += r.acks
                total.conflicts += r.conflicts
                total.statuses.merge(r.statuses, uniquingKeysWith: +)
                total.failures += r.failures
            }
            return total
        }
    }

    /// One client: `client C PUTS DIR PATH BASE...`; one line per request to DIR/client-C.out:
    /// `GET|PUT STATUS`, then `ack WRITE BASE ETAG BODY` (201), `conflict` (412) or `fail WHAT`.
    static let clientScript = #"""
        #!/usr/bin/env bash
        set -u
        c=$1 puts=$2 dir=$3 path=$4
        shift 4
        bases=("$@")
        out="$dir/client-$c.out" hdr="$dir/client-$c.headers" body="$dir/client-$c.body"
        : >"$out"
        etag() { tr -d '\r' <"$hdr" | sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' | head -1; }
        for ((i = 0; i < puts; i++)); do
            tries=0
            while :; do
                tries=$((tries + 1))
                base=${bases[$(((c + i + tries) % ${#bases[@]}))]}
                : >"$hdr"; : >"$body"
                code=$(curl -q -s --noproxy '*' --max-time 60 -o "$body" -D "$hdr" -w '%{http_code}' -H @"$dir/auth" "$base$path") || code="curl-exit-$?"
                echo "GET $code" >>"$out"
                tag=$(etag)
                if [ "$code" != 200 ] || [ -z "$tag" ]; then echo "fail GET $code: $(head -c 300 "$body" | tr '\n' ' ')" >>"$out"; break; fi
                data="{\"values\": {\"WRITER\": \"c$c-w$i\"}, \"message\": \"client $c write $i\"}"
                : >"$hdr"; : >"$body"
                code=$(curl -q -s --noproxy '*' --max-time 60 -o "$body" -D "$hdr" -w '%{http_code}' -H @"$dir/auth" -H "If-Match: $tag" \
                    -H 'Content-Type: application/json' -X PUT --data-binary "$data" "$base$path/config") || code="curl-exit-$?"
                echo "PUT $code" >>"$out"
                if [ "$code" = 201 ]; then echo "ack $i $base $(etag) $(tr -d '\n' <"$body")" >>"$out"; break; fi
                if [ "$code" = 412 ] && [ $tries -lt 500 ]; then echo "conflict" >>"$out"; continue; fi
                echo "fail PUT $code (ETag $(etag)): $(head -c 300 "$body" | tr '\n' ' ')" >>"$out"
                break
            done
        done
        """#

    static func inProcesses(bases: [String], path: String, token: String, clients: Int, putsPerClient: Int, dir: String) throws -> Result {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: dir + "/auth", contents: Data("Authorization: Bearer \(token)\n".utf8), attributes: [.posixPermissions: 0o600]),
              FileManager.default.createFile(atPath: dir + "/client", contents: Data(clientScript.utf8), attributes: [.posixPermissions: 0o700])
        else { throw SvcConfError(.unavailable, "cannot write the client files in \(dir)") }
        // One bash starts every client at once and waits for them all.
        let driver = #"n=$1; shift; for ((c = 0; c < n; c++)); do bash "$DIR/client" "$c" "$@" & done; wait"#
        let env = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": dir, "DIR": dir, "LC_ALL": "C"]
        let run = try runProgram("/bin/bash", ["-c", driver, "driver", String(clients), String(putsPerClient), dir, path] + bases, environment: env)
        var total = Result()
        if run.code != 0 || !run.err.isEmpty { total.failures.append("client processes exited \(run.code): \(run.err.prefix(2000))") }
        for c in 0..<clients {
            guard let text = try? String(contentsOfFile: "\(dir)/client-\(c).out", encoding: .utf8) else {
                total.failures.append("client \(c) wrote no output")
                continue
            }
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ", maxSplits: 4).map(String.init)
                switch words.first {
                case "GET", "PUT":
                    if words.count == 2, let s = Int(words[1]) { total.statuses[s, default: 0] += 1 }
                    else { total.failures.append("client \(c): \(line)") }  // curl could not connect or timed out
                case "ack":
                    guard words.count == 5, let i = Int(words[1]), let n = etagNumber(words[3]) else {
                        total.failures.append("client \(c): malformed \(line)")
                        continue
                    }
                    total.acks.append(Ack(client: c, write: i, replica: bases.firstIndex(of: words[2]) ?? -1, version: n,
                                          bodyVersion: int((try? JSON.parse(words[4]))?["version"])))
                case "conflict": total.conflicts += 1
                default: total.failures.append("client \(c): \(line)")
                }
            }
        }
        return total
    }
}
