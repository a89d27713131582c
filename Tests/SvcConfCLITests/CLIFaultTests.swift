import Foundation
import SvcConf
import SvcConfAWS
import Testing

/// scripts/fault-proxy.py between the real binary and moto: injected 5xx, SlowDown, connection
/// resets before and after the server acted, truncated bodies. A write either fully happens once or
/// leaves no trace; exec never starts its child on partial data; retries recover where safe.
final class FaultProxy: @unchecked Sendable {
    let process: Process
    let stdin: Pipe
    let port: Int
    let rules: String

    init(upstream: String, dir: String) throws {
        rules = dir + "/fault-rules.json"
        try "[]".write(toFile: rules, atomically: true, encoding: .utf8)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/fault-proxy.py").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-u", script, "--upstream", upstream.replacingOccurrences(of: "http://", with: ""), "--rules", rules]
        let out = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardInput = input
        p.standardError = FileHandle.nullDevice
        try runSerialized(p)
        process = p
        stdin = input
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("port="), let port = Int(text.dropFirst(5)) else {
            kill(p.processIdentifier, SIGKILL)
            throw CLITestError("the fault proxy did not start")
        }
        self.port = port
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }

    /// Replaces the rules (counts start again).
    func set(_ rules: [[String: Any]]) throws {
        try? FileManager.default.removeItem(atPath: self.rules + ".count")
        let data = try JSONSerialization.data(withJSONObject: rules)
        try data.write(to: URL(fileURLWithPath: self.rules))
    }

    /// The proxy's log lines (`METHOD PATH -> fault`).
    var log: [String] {
        (try? String(contentsOfFile: rules + ".log", encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
    }

    deinit {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

@Suite struct CLIFaultTests {
    struct World {
        let sb: Sandbox
        let proxy: FaultProxy
        let store: String
        let env: [String: String]
        let s3: S3Client
        let bucket: String
    }

    func world() async throws -> World? {
        guard let endpoint = MotoEnv.open else { MotoEnv.notice("SVCCONF_TEST_S3_ENDPOINT"); return nil }
        let (s3, kms) = try MotoEnv.clients(endpoint: endpoint)
        let bucket = MotoEnv.uniqueBucket()
        try await s3.createBucket(bucket: bucket)
        let key = try await kms.createKey(description: "svcconf fault test")
        let sb = try Sandbox()
        let proxy = try FaultProxy(upstream: endpoint, dir: sb.root)
        let env = ["AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
                   "AWS_ENDPOINT_URL": proxy.endpoint, "AWS_EC2_METADATA_DISABLED": "true",
                   "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"]
        let store = "s3://\(bucket)"
        sb.ok(["init", "--store", store, "--recipient", "kms:\(key.keyId)"], env: env)  // KMS only: exec needs it
        sb.ok(["set", "app", "--env", "prod", "--store", store, "A=1", "--secret", "TOKEN"], stdin: "canary-fault-token\n", env: env)
        return World(sb: sb, proxy: proxy, store: store, env: env, s3: s3, bucket: bucket)
    }

    func versions(_ w: World) async throws -> [String] {
        try await w.s3.listAllObjects(bucket: w.bucket, prefix: "configs/app/prod/versions/").objects.map(\.key)
            .filter { $0.hasSuffix(".sealed") }.sorted()
    }

    @Test func writesHappenOnceOrNotAtAll() async throws {
        guard let w = try await world() else { return }
        let versionPut = "versions/0000000002\\.sealed"
        // 503s before the server saw anything: retried, one version.
        try w.proxy.set([["method": "PUT", "path": versionPut, "fault": "status_503", "times": 2]])
        w.sb.ok(["set", "app", "--env", "prod", "--store", w.store, "A=2"], env: w.env)
        #expect(try await versions(w).count == 2)
        // The connection dies after S3 created the object: the retry finds it is ours; one version.
        try w.proxy.set([["method": "PUT", "path": "versions/0000000003\\.sealed", "fault": "reset_after_forward", "times": 1]])
        w.sb.ok(["set", "app", "--env", "prod", "--store", w.store, "A=3"], env: w.env)
        #expect(try await versions(w).count == 3)
        let history = try parseJSON(w.sb.ok(["history", "app", "--env", "prod", "--store", w.store, "--format", "json"], env: w.env))
        #expect(history.arrayValue?.count == 3, "no duplicate version after a reset")
        // Every attempt refused: exit 9, no version 4, nothing else changed.
        try w.proxy.set([["method": "PUT", "path": "versions/0000000004\\.sealed", "fault": "reset_before"]])
        let r = w.sb.run(["set", "app", "--env", "prod", "--store", w.store, "A=4"], env: w.env)
        #expect(r.code == 9, "\(r.err)")
        #expect(!r.err.contains("canary"))
        #expect(try await versions(w).count == 3)
        try w.proxy.set([])
        #expect(w.sb.ok(["get", "app", "--env", "prod", "--store", w.store, "A"], env: w.env) == "3\n")
    }

    @Test func execRetriesWhereSafeAndNeverStartsOnPartialData() async throws {
        guard let w = try await world() else { return }
        let marker = w.sb.path("started")
        let cmd = ["exec", "app", "--env", "prod", "--store", w.store, "--", "/bin/sh", "-c", "touch \(marker); echo $A"]
        // SlowDown on the bundle, a 500 from KMS, a truncated bundle once: all retried.
        try w.proxy.set([["method": "GET", "path": "exec-bundle", "fault": "slowdown", "times": 2],
                         ["method": "POST", "fault": "status_500", "times": 1]])
        let ok1 = w.sb.run(cmd, env: w.env)
        #expect(ok1.code == 0 && ok1.out == "1\n", "\(ok1.err)")
        try? FileManager.default.removeItem(atPath: marker)
        try w.proxy.set([["method": "GET", "path": "exec-bundle", "fault": "truncate", "times": 1]])
        let ok2 = w.sb.run(cmd, env: w.env)
        #expect(ok2.code == 0 && ok2.out == "1\n", "\(ok2.err)")
        try? FileManager.default.removeItem(atPath: marker)
        // Every GET truncated, or KMS always resetting: a clear error, exit 9, the child never starts.
        for rules: [[String: Any]] in [[["method": "GET", "fault": "truncate"]], [["method": "POST", "fault": "reset_before"]]] {
            try w.proxy.set(rules)
            let bad = w.sb.run(cmd, env: w.env)
            #expect(bad.code == 9, "\(rules): \(bad.code) \(bad.err)")
            #expect(bad.out.isEmpty && !FileManager.default.fileExists(atPath: marker), "the child must not start")
            #expect(bad.err.hasPrefix("svcconf: error: ") && !bad.err.contains("canary"), "\(bad.err)")
        }
        #expect(w.proxy.log.contains { $0.hasSuffix("-> truncate") })
    }
}
