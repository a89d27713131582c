import Foundation
import SvcConf
import SvcConfAWS
import SvcConfHTTP
import Testing

/// An HTTPTransport that records every request it sends (method and path) before passing it on.
final class CountingTransport: HTTPTransport, @unchecked Sendable {
    private let inner = URLSessionTransport()
    private let lock = NSLock()
    private var log: [String] = []

    func send(_ request: HTTPRequest, timeout: Double) async throws -> HTTPResponse {
        lock.withLock { log.append("\(request.method) \(request.path)") }
        return try await inner.send(request, timeout: timeout)
    }

    var requests: [String] { lock.withLock { log } }
    func reset() { lock.withLock { log.removeAll() } }
}

/// The exec bundle of the S3 store against moto: what `exec` reads, and how many requests it takes.
@Suite struct CLIAWSExecBundleTests {
    func awsEnv(_ endpoint: String) -> [String: String] {
        ["AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
         "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"]
    }

    /// A store with a KMS recipient, a base layer, a prod env over it and a schema.
    struct Fixture {
        let sb: Sandbox
        let env: [String: String]
        let bucket: String
        let store: String
        let admin: S3Client
        let s3Count: CountingTransport
        let kmsCount: CountingTransport
        let repo: ConfigRepository

        /// `exec` of app/prod through the core, counting requests; returns the opened config.
        func openForExec(_ address: ConfigAddress? = nil) async throws -> (config: Config, s3: [String], kms: [String]) {
            s3Count.reset()
            kmsCount.reset()
            let opened = try await repo.openForExec(address ?? (try ConfigAddress(service: "app", env: "prod")))
            return (opened.config, s3Count.requests, kmsCount.requests)
        }

        func bundle(_ key: String = "svcconf/configs/app/prod/exec-bundle") async throws -> [UInt8] {
            try await admin.getObject(bucket: bucket, key: key).bytes
        }

        func generation() async throws -> Int64 {
            let b = try await bundle()
            let line = String(decoding: b.split(separator: 0x0A)[1], as: UTF8.self)
            return Int64(line.dropFirst("generation ".count)) ?? -1
        }

        func execLine(_ script: String) -> RunResult {
            sb.run(["exec", "app", "--env", "prod", "--store", store, "--", "/bin/sh", "-c", script], env: env)
        }
    }

    func fixture(_ endpoint: String) async throws -> Fixture {
        let (s3, kms) = try MotoEnv.clients(endpoint: endpoint)
        let bucket = MotoEnv.uniqueBucket()
        try await s3.createBucket(bucket: bucket)
        let key = try await kms.createKey(description: "svcconf bundle test")
        let sb = try Sandbox()
        let env = awsEnv(endpoint)
        let store = "s3://\(bucket)/svcconf"
        sb.ok(["init", "--store", store, "--recipient", "kms:\(key.keyId)"], env: env)
        try sb.write("s.json", #"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","required":["HOST","LEVEL"],"properties":{"HOST":{"type":"string"},"LEVEL":{"type":"string"},"TOKEN":{"type":"string","writeOnly":true}}}"#)
        sb.ok(["set", "app", "--env", "base", "--store", store, "LEVEL=info", "HOST=base-host"], env: env)
        sb.ok(["schema", "set", "app", "s.json", "--store", store], env: env)
        sb.ok(["set", "app", "--env", "prod", "--store", store, "HOST=prod-host", "--secret", "TOKEN"], stdin: "canary-bundle", env: env)

        let creds = StaticCredentialsProvider(AWSCredentials(accessKeyId: "test", secretAccessKey: "test"))
        let s3Count = CountingTransport(), kmsCount = CountingTransport()
        let countedS3 = try S3Client(transport: s3Count, credentialsProvider: creds, region: "us-east-1", endpoint: endpoint, addressingStyle: .path)
        let countedKMS = try KMSClient(region: "us-east-1", credentials: creds, transport: kmsCount, endpoint: endpoint)
        let repo = ConfigRepository(store: try S3Store(url: store, client: countedS3), keyring: Keyring(localKeys: [], kms: countedKMS), author: "test")
        return Fixture(sb: sb, env: env, bucket: bucket, store: store, admin: s3, s3Count: s3Count, kmsCount: kmsCount, repo: repo)
    }

    @Test func execOfAnEnvOverBaseWithASchemaIsTwoS3Requests() async throws {
        guard let endpoint = MotoEnv.open else { MotoEnv.notice("SVCCONF_TEST_S3_ENDPOINT"); return }
        let f = try await fixture(endpoint)
        // What the program gets: prod over base, the secret included.
        let r = f.execLine("echo $HOST $LEVEL $TOKEN")
        #expect(r.code == 0 && r.out == "prod-host info canary-bundle\n", "\(r.err)")
        // The same through the core, counted: the bundle and the next marker; one Decrypt per layer.
        let (config, s3, kms) = try await f.openForExec()
        #expect(config.values["HOST"] == "prod-host" && config.values["LEVEL"] == "info")
        #expect(s3 == ["GET /\(f.bucket)/svcconf/configs/app/prod/exec-bundle",
                       "HEAD /\(f.bucket)/svcconf/configs/app/_generations/0000000004"], "\(s3)")
        #expect(kms.count == 2, "one Decrypt for base, one for prod: \(kms)")
        // The schema comes from the bundle too: a new schema prod does not satisfy stops exec.
        try f.sb.write("s2.json", #"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","required":["MISSING"]}"#)
        f.sb.ok(["schema", "set", "app", "s2.json", "--store", f.store], env: f.env)
        f.sb.expectFailure(["exec", "app", "--env", "prod", "--store", f.store, "--", "/bin/echo", "started"], code: 5, env: f.env,
                           mentions: "does not match its schema")
        await #expect(throws: SvcConfError.self) { _ = try await f.openForExec() }
        #expect(f.s3Count.requests.count == 2, "\(f.s3Count.requests)")
    }

    @Test func aStaleBundleFallsBackToTheNewestData() async throws {
        guard let endpoint = MotoEnv.open else { MotoEnv.notice("SVCCONF_TEST_S3_ENDPOINT"); return }
        let f = try await fixture(endpoint)
        let old = try await f.bundle()
        let g = try await f.generation()
        // A base write re-stamps prod's bundle...
        f.sb.ok(["set", "app", "--env", "base", "--store", f.store, "LEVEL=debug"], env: f.env)
        #expect(try await f.generation() == g + 1)
        let fresh = try await f.openForExec()
        #expect(fresh.config.values["LEVEL"] == "debug" && fresh.s3.count == 2, "\(fresh.s3)")
        // ...put the bundle back as it was before that write (a writer that never refreshed it):
        // marker g+1 exists, so exec reads layer by layer and still gets the newest base.
        _ = try await f.admin.putObject(bucket: f.bucket, key: "svcconf/configs/app/prod/exec-bundle", body: old)
        let stale = try await f.openForExec()
        #expect(stale.config.values["LEVEL"] == "debug" && stale.config.values["HOST"] == "prod-host")
        #expect(stale.s3.count > 2 && stale.s3.contains("HEAD /\(f.bucket)/svcconf/configs/app/_generations/\(VersionNameForTest.name(g + 1))"), "\(stale.s3)")
        let r = f.execLine("echo $LEVEL")
        #expect(r.code == 0 && r.out == "debug\n", "\(r.err)")
        // A marker planted past the current bundle: slow path too, same data.
        f.sb.ok(["set", "app", "--env", "prod", "--store", f.store, "HOST=h3"], env: f.env)
        let g2 = try await f.generation()
        _ = try await f.admin.putObject(bucket: f.bucket, key: "svcconf/configs/app/_generations/\(VersionNameForTest.name(g2 + 1))", body: Array("planted\n".utf8))
        let planted = try await f.openForExec()
        #expect(planted.config.values["HOST"] == "h3" && planted.config.values["LEVEL"] == "debug" && planted.s3.count > 2, "\(planted.s3)")
        // The next write claims the number after the planted one and the fast path is back.
        f.sb.ok(["set", "app", "--env", "prod", "--store", f.store, "HOST=h4"], env: f.env)
        #expect(try await f.generation() == g2 + 2)
        let back = try await f.openForExec()
        #expect(back.config.values["HOST"] == "h4" && back.s3.count == 2, "\(back.s3)")
    }

    @Test func aMalformedBundleFallsBack() async throws {
        guard let endpoint = MotoEnv.open else { MotoEnv.notice("SVCCONF_TEST_S3_ENDPOINT"); return }
        let f = try await fixture(endpoint)
        let good = try await f.bundle()
        let key = "svcconf/configs/app/prod/exec-bundle"
        let bad: [[UInt8]] = [
            Array("garbage".utf8), [], Array(good.dropLast()), good + [0x0A], Array(good.prefix(good.count / 2)),
            Array(good.dropLast(4)) + Array("end \n".utf8),
            Array(Array("svcconf-exec-bundle 1\ngeneration x".utf8) + good.dropFirst("svcconf-exec-bundle 1\ngeneration 0".utf8.count)),
            Array(Array("svcconf-exec-bundle 2".utf8) + good.dropFirst("svcconf-exec-bundle 1".utf8.count)),
        ]
        for body in bad {
            _ = try await f.admin.putObject(bucket: f.bucket, key: key, body: body)
            let r = try await f.openForExec()
            #expect(r.config.values["HOST"] == "prod-host" && r.config.values["LEVEL"] == "info" && r.s3.count > 2, "\(r.s3)")
        }
        // A bundle whose layer bytes are another config's version is refused when opened (exit 7).
        f.sb.ok(["set", "app", "--env", "staging", "--store", f.store, "HOST=s"], env: f.env)
        let stagingBundle = try await f.bundle("svcconf/configs/app/staging/exec-bundle")
        _ = try await f.admin.putObject(bucket: f.bucket, key: key, body: stagingBundle)
        f.sb.expectFailure(["exec", "app", "--env", "prod", "--store", f.store, "--", "/bin/echo", "started"], code: 7, env: f.env)
        // The next write replaces the malformed one.
        _ = try await f.admin.putObject(bucket: f.bucket, key: key, body: Array("garbage".utf8))
        f.sb.ok(["set", "app", "--env", "prod", "--store", f.store, "HOST=after"], env: f.env)
        let r = try await f.openForExec()
        #expect(r.config.values["HOST"] == "after" && r.s3.count == 2, "\(r.s3)")
    }

    @Test func concurrentWritersLoseNothingAndTheBundleEndsCurrent() async throws {
        guard let endpoint = MotoEnv.open else { MotoEnv.notice("SVCCONF_TEST_S3_ENDPOINT"); return }
        let f = try await fixture(endpoint)
        f.sb.ok(["set", "app", "--env", "prod", "--variant", "dev", "--store", f.store, "HOST=dev-host"], env: f.env)
        let writers = 4, each = 3
        let targets = [["--env", "base"], ["--env", "prod"], ["--env", "prod", "--variant", "dev"], ["--env", "staging"]]
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask {
                    for i in 0..<each {
                        let r = f.sb.run(["set", "app"] + targets[w] + ["--store", f.store, "K_\(w)_\(i)=v"], env: f.env)
                        #expect(r.code == 0, "writer \(w) set \(i): \(r.err)")
                    }
                }
            }
        }
        // Every marker from 1 to the last exists (gapless), and the bundles carry the last one.
        let markers = try await f.admin.listAllObjects(bucket: f.bucket, prefix: "svcconf/configs/app/_generations/").objects
            .compactMap { Int64($0.key.split(separator: "/").last.map(String.init) ?? "") }.sorted()
        #expect(markers == Array(1...Int64(markers.count)), "\(markers)")
        #expect(try await f.generation() == Int64(markers.count))
        let prod = try await f.openForExec()
        #expect(prod.s3.count == 2, "\(prod.s3)")
        for i in 0..<each {
            #expect(prod.config.values["K_0_\(i)"] == "v" && prod.config.values["K_1_\(i)"] == "v")
            #expect(prod.config.values["K_2_\(i)"] == nil && prod.config.values["K_3_\(i)"] == nil)
        }
        let dev = try await f.openForExec(try ConfigAddress(service: "app", env: "prod", variant: "dev"))
        #expect(dev.s3.count == 2, "\(dev.s3)")
        for i in 0..<each {
            #expect(dev.config.values["K_0_\(i)"] == "v" && dev.config.values["K_1_\(i)"] == "v" && dev.config.values["K_2_\(i)"] == "v")
        }
        let r = f.sb.run(["exec", "app", "--env", "prod", "--variant", "dev", "--store", f.store, "--", "/bin/sh", "-c", "echo $HOST $K_0_2 $K_1_2 $K_2_2"], env: f.env)
        #expect(r.code == 0 && r.out == "dev-host v v v\n", "\(r.err)")
    }
}

enum VersionNameForTest {
    static func name(_ n: Int64) -> String { String(repeating: "0", count: max(0, 10 - String(n).count)) + String(n) }
}
