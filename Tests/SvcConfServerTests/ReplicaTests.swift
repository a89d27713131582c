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

    @Test("Replica: 4 clients x 5 PUTs with If-Match retries through two replicas: every acknowledged write is a version, none lost")
    func noLostUpdates() async throws {
        guard let endpoint = ProcessInfo.processInfo.environment["SVCCONF_TEST_S3_ENDPOINT"], !endpoint.isEmpty else {
            print("notice: SVCCONF_TEST_S3_ENDPOINT not set (scripts/test starts moto); skipping")
            return
        }
        let sb = try BinarySandbox()
        defer { sb.remove() }
        // The bucket (moto without signature checks), then the store's policy through the CLI.
        let bucket = "svcconf-replica-" + UUID().uuidString.lowercased().prefix(12)
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
/// value with `If-Match`, and on 412 reads again and retries. Then the history is counted.
enum ReplicaLoad {
    struct Result: Sendable {
        var acknowledged = 0
        var conflicts = 0
        var versions = 0
        var distinctValuesInHistory = 0
        var failures: [String] = []
    }

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

    static func run(bases: [String], token: String, clients: Int, putsPerClient: Int, service: String = "replica-test", env: String = "prod") async throws -> Result {
        let path = "/v1/services/\(service)/envs/\(env)"
        // Version 1, so every client starts from an existing config.
        let first = try await request(bases[0] + path + "/config", method: "PUT", token: token, ifMatch: "\"0\"",
                                      body: Data(#"{"values": {"WRITER": "seed"}, "message": "seed"}"#.utf8))
        guard first.0 == 201 || first.0 == 412 else { return Result(failures: ["seed PUT answered \(first.0)"]) }
        let results = try await withThrowingTaskGroup(of: Result.self) { group in
            for c in 0..<clients {
                group.addTask {
                    var r = Result()
                    for i in 0..<putsPerClient {
                        var attempts = 0
                        while true {
                            attempts += 1
                            let base = bases[(c + i + attempts) % bases.count]
                            let meta = try await request(base + path, token: token)
                            guard meta.0 == 200, let etag = meta.2 else { r.failures.append("GET answered \(meta.0)"); break }
                            let body = Data(#"{"values": {"WRITER": "c\#(c)-w\#(i)"}, "message": "client \#(c) write \#(i)"}"#.utf8)
                            let put = try await request(base + path + "/config", method: "PUT", token: token, ifMatch: etag, body: body)
                            if put.0 == 201 { r.acknowledged += 1; break }
                            if put.0 == 412 { r.conflicts += 1; if attempts < 500 { continue } }
                            r.failures.append("PUT answered \(put.0): \(String(decoding: put.1, as: UTF8.self))")
                            break
                        }
                    }
                    return r
                }
            }
            var total = Result()
            for try await r in group {
                total.acknowledged += r.acknowledged
                total.conflicts += r.conflicts
                total.failures += r.failures
            }
            return total
        }
        var total = results
        let history = try await request(bases[1] + path + "/versions", token: token)
        let doc = try JSON.parse(Array(history.1))
        let versions = doc["versions"]?.arrayValue ?? []
        total.versions = versions.count - 1  // without the seed
        total.distinctValuesInHistory = Set(versions.compactMap { $0["message"]?.stringValue }.filter { $0.hasPrefix("client ") }).count
        return total
    }
}
