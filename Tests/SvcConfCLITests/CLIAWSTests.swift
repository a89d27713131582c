import Foundation
import SvcConf
import SvcConfAWS
import SvcConfHTTP
import Testing

/// The S3 store and KMS recipients through the real binary, against moto servers that
/// scripts/test starts on 127.0.0.1: one without signature checking (SVCCONF_TEST_S3_ENDPOINT) and
/// one with it (SVCCONF_TEST_S3_AUTH_ENDPOINT, principals `admin` and `reader` in
/// SVCCONF_TEST_S3_AUTH_CREDENTIALS). Without them the tests print a notice and pass.
enum MotoEnv {
    static let env = ProcessInfo.processInfo.environment
    static var open: String? { env["SVCCONF_TEST_S3_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } }
    static var auth: (endpoint: String, credentials: String)? {
        guard let e = env["SVCCONF_TEST_S3_AUTH_ENDPOINT"], let c = env["SVCCONF_TEST_S3_AUTH_CREDENTIALS"], !e.isEmpty, !c.isEmpty
        else { return nil }
        return (e, c)
    }

    static func notice(_ what: String) { print("notice: \(what) not set (scripts/test starts moto); skipping") }

    static func uniqueBucket() -> String { "svcconf-test-" + UUID().uuidString.lowercased().prefix(18) }

    /// Admin clients for setup (bucket, KMS key): static credentials for the open server, the admin
    /// profile's keys for the checking one.
    static func clients(endpoint: String, accessKey: String = "test", secret: String = "test") throws -> (S3Client, KMSClient) {
        let transport = URLSessionTransport()
        let creds = StaticCredentialsProvider(AWSCredentials(accessKeyId: accessKey, secretAccessKey: secret))
        let s3 = try S3Client(transport: transport, credentialsProvider: creds, region: "us-east-1", endpoint: endpoint,
                              addressingStyle: .path)
        let kms = try KMSClient(region: "us-east-1", credentials: creds, transport: transport, endpoint: endpoint)
        return (s3, kms)
    }

    /// `[profile] aws_access_key_id / aws_secret_access_key` from the credentials file.
    static func profile(_ name: String, in file: String) throws -> (String, String) {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        var current = "", id = "", secret = ""
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") { current = String(line.dropFirst().dropLast()); continue }
            guard current == name, let eq = line.firstIndex(of: "=") else { continue }
            let k = line[..<eq].trimmingCharacters(in: .whitespaces), v = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if k == "aws_access_key_id" { id = v } else if k == "aws_secret_access_key" { secret = v }
        }
        guard !id.isEmpty, !secret.isEmpty else { throw CLITestError("no profile \(name) in \(file)") }
        return (id, secret)
    }
}

@Suite struct CLIAWSOpenTests {
    /// The environment a run needs for the open moto: any key, a region, the endpoint.
    func awsEnv(_ endpoint: String) -> [String: String] {
        ["AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
         "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"]
    }

    @Test func s3StoreWithKMSAndBreakGlassKeyEndToEnd() async throws {
        guard let endpoint = MotoEnv.open else { MotoEnv.notice("SVCCONF_TEST_S3_ENDPOINT"); return }
        let (s3, kms) = try MotoEnv.clients(endpoint: endpoint)
        let bucket = MotoEnv.uniqueBucket()
        try await s3.createBucket(bucket: bucket)
        let key = try await kms.createKey(description: "svcconf test")
        let svc = "svc-" + UUID().uuidString.lowercased().prefix(8)  // aliases are per account: unique per run
        try await kms.createAlias("alias/\(svc)-prod", targetKeyId: key.keyId)
        let sb = try Sandbox()
        let env = awsEnv(endpoint)
        let store = "s3://\(bucket)/svcconf"
        sb.ok(["init", "--store", store, "--recipient", "local:team.key", "--rule", "*/prod=kms:alias/{service}-prod,local:bg.key"], env: env)
        sb.ok(["set", svc, "--env", "prod", "--store", store, "HOST=h1", "--secret", "PASSWORD"], stdin: "canary-s3-pw", env: env)
        sb.ok(["set", svc, "--env", "prod", "--store", store, "HOST=h2"], env: env)
        // The version carries a kms stanza and the break-glass stanza: either opens it.
        let viaKMS = sb.run(["exec", svc, "--env", "prod", "--store", store, "--", "/bin/sh", "-c", "echo $HOST $PASSWORD"], env: env)
        #expect(viaKMS.code == 0 && viaKMS.out == "h2 canary-s3-pw\n", "\(viaKMS.err)")
        var noAWS = env
        noAWS["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"  // KMS unreachable: only the local key can open it
        let viaBreakGlass = sb.run(["get", svc, "--env", "prod", "--store", store, "--key-file", "bg.key", "PASSWORD"],
                                   env: noAWS.merging(["AWS_ENDPOINT_URL_S3": endpoint]) { $1 })
        #expect(viaBreakGlass.code == 0 && viaBreakGlass.out == "canary-s3-pw\n", "\(viaBreakGlass.err)")
        // The team key is not a recipient of prod, and KMS is unreachable: the KMS failure is reported
        // (exit 9), with a hint naming the version's recipients and the keys tried.
        let r = sb.expectFailure(["get", svc, "--env", "prod", "--store", store, "--key-file", "team.key", "PASSWORD"],
                                 code: 9, env: noAWS.merging(["AWS_ENDPOINT_URL_S3": endpoint]) { $1 })
        #expect(r.err.contains("tried local:team.key"), "\(r.err)")
        // History and list read headers only; diff redacts.
        let history = sb.ok(["history", svc, "--env", "prod", "--store", store, "--format", "json"], env: env)
        #expect(try parseJSON(history).arrayValue?.count == 2)
        #expect(sb.ok(["list", "--store", store], env: env).contains(svc))
        let diff = sb.run(["diff", svc, "--env", "prod", "--store", store], env: env)
        #expect(diff.code == 1 && !diff.out.contains("canary"))
        // Staging (no KMS rule) is sealed to the team key only.
        sb.ok(["set", svc, "--env", "staging", "--store", store, "HOST=s"], env: env)
        #expect(sb.ok(["get", svc, "--env", "staging", "--store", store, "--key-file", "team.key", "HOST"], env: noAWS.merging(["AWS_ENDPOINT_URL_S3": endpoint]) { $1 }) == "s\n")
        // Rotation through KMS: a new version under a fresh data key (a new KMS blob), same content,
        // still opened by KMS and by the break-glass key.
        let before = try await s3.getObject(bucket: bucket, key: "svcconf/configs/\(svc)/prod/versions/0000000002.sealed").bytes
        sb.ok(["rotate", svc, "--env", "prod", "--store", store], env: env)
        let after = try await s3.getObject(bucket: bucket, key: "svcconf/configs/\(svc)/prod/versions/0000000003.sealed").bytes
        #expect(before != after)
        let rotated = sb.run(["exec", svc, "--env", "prod", "--store", store, "--", "/bin/sh", "-c", "echo $HOST $PASSWORD"], env: env)
        #expect(rotated.code == 0 && rotated.out == "h2 canary-s3-pw\n", "\(rotated.err)")
        #expect(sb.ok(["get", svc, "--env", "prod", "--store", store, "--key-file", "bg.key", "PASSWORD"],
                      env: noAWS.merging(["AWS_ENDPOINT_URL_S3": endpoint]) { $1 }) == "canary-s3-pw\n")
    }

    @Test func concurrentWritersToS3LoseNothing() async throws {
        guard let endpoint = MotoEnv.open else { MotoEnv.notice("SVCCONF_TEST_S3_ENDPOINT"); return }
        let (s3, _) = try MotoEnv.clients(endpoint: endpoint)
        let bucket = MotoEnv.uniqueBucket()
        try await s3.createBucket(bucket: bucket)
        let sb = try Sandbox()
        let env = awsEnv(endpoint)
        let store = "s3://\(bucket)"
        sb.ok(["init", "--store", store], env: env)
        sb.ok(["set", "app", "--env", "staging", "--store", store, "START=1"], env: env)
        let writers = 8, each = hardeningWrites(4)
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask {
                    for i in 0..<each {
                        let r = sb.run(["set", "app", "--env", "staging", "--store", store, "K_\(w)_\(i)=v"], env: env)
                        #expect(r.code == 0, "writer \(w) set \(i): \(r.err)")
                    }
                }
            }
        }
        let json = try parseJSON(sb.ok(["export", "app", "--env", "staging", "--store", store, "--format", "json"], env: env))
        for w in 0..<writers { for i in 0..<each { #expect(json["K_\(w)_\(i)"] == "v") } }
        let history = try parseJSON(sb.ok(["history", "app", "--env", "staging", "--store", store, "--format", "json"], env: env))
        let versions = (history.arrayValue ?? []).compactMap { v -> Int64? in if case .number(.int(let n))? = v["version"] { return n }; return nil }
        #expect(versions.sorted() == Array(1...Int64(1 + writers * each)), "no version number used twice, none missing")
    }

    @Test func badStoreObjectsAndMissingBucket() async throws {
        guard let endpoint = MotoEnv.open else { MotoEnv.notice("SVCCONF_TEST_S3_ENDPOINT"); return }
        let (s3, _) = try MotoEnv.clients(endpoint: endpoint)
        let sb = try Sandbox()
        let env = awsEnv(endpoint)
        sb.expectFailure(["init", "--store", "s3://svcconf-no-such-bucket-\(UUID().uuidString.lowercased().prefix(8))"], code: 3,
                         env: env, mentions: "does not exist")
        let bucket = MotoEnv.uniqueBucket()
        try await s3.createBucket(bucket: bucket)
        let store = "s3://\(bucket)"
        sb.ok(["init", "--store", store], env: env)
        sb.ok(["set", "app", "--env", "prod", "--store", store, "A=1"], env: env)
        // Someone puts garbage where version 2 goes: readers refuse it (exit 7).
        _ = try await s3.putObject(bucket: bucket, key: "configs/app/prod/versions/0000000002.sealed", body: Array("not sealed".utf8))
        sb.expectFailure(["show", "app", "--env", "prod", "--store", store], code: 7, env: env)
        // `exec` reads the exec bundle, current until the next generation marker: a put that bypassed
        // svcconf (no marker) is not seen there, and version 1 starts...
        let fast = sb.run(["exec", "app", "--env", "prod", "--store", store, "--", "/bin/sh", "-c", "echo started $A"], env: env)
        #expect(fast.code == 0 && fast.out == "started 1\n", "\(fast.err)")
        // ...but once a marker says something was written, exec reads layer by layer and refuses it.
        _ = try await s3.putObject(bucket: bucket, key: "configs/app/_generations/0000000002", body: Array("configs/app/prod/versions/0000000002.sealed\n".utf8))
        sb.expectFailure(["exec", "app", "--env", "prod", "--store", store, "--", "/bin/echo", "started"], code: 7, env: env)
        // A version copied to another env does not open there.
        let (v1, _) = try await s3.getObject(bucket: bucket, key: "configs/app/prod/versions/0000000001.sealed")
        _ = try await s3.putObject(bucket: bucket, key: "configs/app/staging/versions/0000000001.sealed", body: v1)
        sb.expectFailure(["show", "app", "--env", "staging", "--store", store], code: 7, env: env, mentions: "re-labelled")
    }

    @Test func authorIsTheAWSPrincipalUnlessGiven() async throws {
        guard let endpoint = MotoEnv.open else { MotoEnv.notice("SVCCONF_TEST_S3_ENDPOINT"); return }
        let (s3, _) = try MotoEnv.clients(endpoint: endpoint)
        let bucket = MotoEnv.uniqueBucket()
        try await s3.createBucket(bucket: bucket)
        let sb = try Sandbox()
        var env = awsEnv(endpoint)
        env["SVCCONF_AUTHOR"] = ""
        let store = "s3://\(bucket)"
        sb.ok(["init", "--store", store], env: env)
        sb.ok(["set", "app", "--env", "prod", "--store", store, "A=1"], env: env)
        sb.ok(["set", "app", "--env", "prod", "--store", store, "--author", "alice", "A=2"], env: env)
        let history = try parseJSON(sb.ok(["history", "app", "--env", "prod", "--store", store, "--format", "json"], env: env))
        let authors = (history.arrayValue ?? []).compactMap { $0["author"]?.stringValue }
        #expect(Set(authors.map { $0.hasPrefix("arn:aws:") ? "arn" : $0 }) == ["arn", "alice"] && authors.count == 2, "\(authors)")
    }

    @Test func unknownKMSKeyIsNoUsableKey() async throws {
        guard let endpoint = MotoEnv.open else { MotoEnv.notice("SVCCONF_TEST_S3_ENDPOINT"); return }
        let (s3, _) = try MotoEnv.clients(endpoint: endpoint)
        let bucket = MotoEnv.uniqueBucket()
        try await s3.createBucket(bucket: bucket)
        let sb = try Sandbox()
        let env = awsEnv(endpoint)
        let store = "s3://\(bucket)"
        sb.ok(["init", "--store", store, "--recipient", "kms:alias/svcconf-no-such-key"], env: env)
        // Sealing needs GenerateDataKey under the key: exit 6, nothing written.
        sb.expectFailure(["set", "app", "--env", "prod", "--store", store, "A=1"], code: 6, env: env, mentions: "NotFoundException")
        let listed = try await s3.listAllObjects(bucket: bucket, prefix: "configs/").objects
        #expect(listed.isEmpty, "a failed seal wrote \(listed.map(\.key))")
    }

    @Test func kmsRefusesAnotherEncryptionContextAsTampering() async throws {
        guard let endpoint = MotoEnv.open else { MotoEnv.notice("SVCCONF_TEST_S3_ENDPOINT"); return }
        let (_, kms) = try MotoEnv.clients(endpoint: endpoint)
        let key = try await kms.createKey(description: "svcconf context test")
        let recipient = KMSRecipient(keyId: key.keyId, client: kms)
        let (dataKey, stanza) = try await recipient.generateDataKey(for: WrapContext(service: "svc-a", env: "prod"))
        let back = try #require(try await recipient.unwrap(stanza, for: WrapContext(service: "svc-a", env: "prod")))
        #expect(back.equals(dataKey))
        await #expect(throws: SvcConfError.self) {
            _ = try await recipient.unwrap(stanza, for: WrapContext(service: "svc-a", env: "staging"))
        }
        do {
            _ = try await recipient.unwrap(stanza, for: WrapContext(service: "svc-b", env: "prod"))
            Issue.record("another service's context opened the data key")
        } catch let e as SvcConfError {
            #expect(e.kind == .tampered, "\(e)")
        }
    }
}

@Suite struct CLIAWSAuthTests {
    func env(_ credentials: String, _ endpoint: String, profile: String) -> [String: String] {
        ["AWS_PROFILE": profile, "AWS_SHARED_CREDENTIALS_FILE": credentials, "AWS_CONFIG_FILE": "/nonexistent",
         "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint, "AWS_EC2_METADATA_DISABLED": "true"]
    }

    @Test func signedPrincipalsAndTheirRights() async throws {
        guard let (endpoint, credentials) = MotoEnv.auth else { MotoEnv.notice("SVCCONF_TEST_S3_AUTH_ENDPOINT"); return }
        let (id, secret) = try MotoEnv.profile("admin", in: credentials)
        let (s3, kms) = try MotoEnv.clients(endpoint: endpoint, accessKey: id, secret: secret)
        let bucket = MotoEnv.uniqueBucket()
        try await s3.createBucket(bucket: bucket)
        let key = try await kms.createKey(description: "svcconf auth test")
        try await kms.createAlias("alias/app-\(bucket.suffix(8))", targetKeyId: key.keyId)
        let sb = try Sandbox()
        let store = "s3://\(bucket)/svcconf"
        let admin = env(credentials, endpoint, profile: "admin"), reader = env(credentials, endpoint, profile: "reader")
        // A correctly signed admin writes; the version is sealed to KMS only.
        sb.ok(["init", "--store", store, "--recipient", "kms:alias/app-\(bucket.suffix(8))"], env: admin)
        sb.ok(["set", "app", "--env", "prod", "--store", store, "HOST=h", "--secret", "TOKEN"], stdin: "canary-auth", env: admin)
        // The read-only principal (s3:GetObject, s3:ListBucket, kms:Decrypt) can start the app...
        let r = sb.run(["exec", "app", "--env", "prod", "--store", store, "--", "/bin/sh", "-c", "echo started $HOST $TOKEN"], env: reader)
        #expect(r.code == 0 && r.out == "started h canary-auth\n", "\(r.err)")
        // ...but cannot write (no s3:PutObject, no kms:GenerateDataKey): exit 8, nothing written.
        let before = try await s3.listAllObjects(bucket: bucket).objects.map(\.key)
        let w = sb.run(["set", "app", "--env", "prod", "--store", store, "HOST=evil"], env: reader)
        expectError(w, code: 8, command: "reader set")
        let after = try await s3.listAllObjects(bucket: bucket).objects.map(\.key)
        #expect(before == after)
        // A wrong secret: a clear authentication error, exit 8.
        var wrong = admin
        wrong["AWS_PROFILE"] = nil
        wrong["AWS_ACCESS_KEY_ID"] = id
        wrong["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
        let bad = sb.run(["show", "app", "--env", "prod", "--store", store], env: wrong)
        expectError(bad, code: 8, mentions: "SignatureDoesNotMatch", command: "wrong secret")
        #expect(!bad.err.contains("not-the-secret"))
    }
}

/// A one-route HTTP server on 127.0.0.1 playing the ECS container credentials endpoint: answers
/// GET /creds with `body` when the Authorization header is `token`, 401 otherwise. Exits when the
/// test closes its stdin (Foundation's Process may start it with SIGTERM blocked).
final class ECSCredentialsServer: @unchecked Sendable {
    let process: Process
    let stdin: Pipe
    let port: Int

    init(token: String, body: String) throws {
        let script = #"""
import os, signal, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
signal.pthread_sigmask(signal.SIG_SETMASK, [])
threading.Thread(target=lambda: (sys.stdin.buffer.read(), os._exit(0)), daemon=True).start()
token, body = sys.argv[1], sys.argv[2].encode()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        ok = self.path == "/creds" and self.headers.get("Authorization") == token
        b = body if ok else b"unauthorized"
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""#
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-u", "-c", script, token, body]
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
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(p.processIdentifier, SIGKILL)
            throw CLITestError("the ECS credentials test server did not start")
        }
        self.port = port
    }

    deinit {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

@Suite struct CLIAWSContainerCredentialsTests {
    /// A container with a task role: credentials only from the ECS endpoint (FULL_URI + token file),
    /// against the checking moto. The read-only role starts the app; without the token nothing starts.
    @Test func execWithECSTaskRoleCredentials() async throws {
        guard let (endpoint, credentials) = MotoEnv.auth else { MotoEnv.notice("SVCCONF_TEST_S3_AUTH_ENDPOINT"); return }
        let (adminId, adminSecret) = try MotoEnv.profile("admin", in: credentials)
        let (readerId, readerSecret) = try MotoEnv.profile("reader", in: credentials)
        let (s3, kms) = try MotoEnv.clients(endpoint: endpoint, accessKey: adminId, secret: adminSecret)
        let bucket = MotoEnv.uniqueBucket()
        try await s3.createBucket(bucket: bucket)
        let key = try await kms.createKey(description: "svcconf ecs test")
        let sb = try Sandbox()
        let store = "s3://\(bucket)"
        let admin = ["AWS_ACCESS_KEY_ID": adminId, "AWS_SECRET_ACCESS_KEY": adminSecret, "AWS_REGION": "us-east-1",
                     "AWS_ENDPOINT_URL": endpoint, "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
                     "AWS_EC2_METADATA_DISABLED": "true"]
        sb.ok(["init", "--store", store, "--recipient", "kms:\(key.keyId)"], env: admin)
        sb.ok(["set", "app", "--env", "prod", "--store", store, "HOST=h"], env: admin)

        let expiration = "2099-01-01T00:00:00Z"
        let body = #"{"AccessKeyId":"\#(readerId)","SecretAccessKey":"\#(readerSecret)","Token":"","Expiration":"\#(expiration)"}"#
        let server = try ECSCredentialsServer(token: "task-token-canary-x", body: body)
        try sb.write("token", "task-token-canary-x")
        var task = ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(server.port)/creds",
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": sb.path("token"), "AWS_REGION": "us-east-1",
                    "AWS_ENDPOINT_URL": endpoint, "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
                    "AWS_EC2_METADATA_DISABLED": "true"]
        let r = sb.run(["exec", "app", "--env", "prod", "--store", store, "--", "/bin/sh", "-c", "echo started $HOST"], env: task)
        #expect(r.code == 0 && r.out == "started h\n", "\(r.err)")
        // A wrong token: the endpoint refuses, nothing starts, the token is not printed.
        try sb.write("token", "wrong-token")
        task["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = sb.path("token")
        let bad = sb.run(["exec", "app", "--env", "prod", "--store", store, "--", "/bin/echo", "started"], env: task)
        #expect(bad.code != 0 && !bad.out.contains("started"), "\(bad.out)\(bad.err)")
        #expect(!bad.err.contains("wrong-token") && !bad.err.contains("task-token-canary"))
        withExtendedLifetime(server) {}
    }
}
