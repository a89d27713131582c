// KMSClient against a real KMS-compatible server: moto on 127.0.0.1, at SVCCONF_TEST_KMS_ENDPOINT
// (started by the test script, signature checking off). Without it these tests are skipped with a
// notice. The signed-request test starts a second, private moto with signature checking on (through
// scripts/moto-server) so it never changes the shared server.

import Foundation
import Testing
@testable import SvcConfAWS
import SvcConfHTTP

enum KMSMoto {
    static let endpoint: String? = {
        guard let e = ProcessInfo.processInfo.environment["SVCCONF_TEST_KMS_ENDPOINT"], !e.isEmpty else { return nil }
        return e
    }()

    static func client(_ creds: AWSCredentials = AWSCredentials(accessKeyId: "testing", secretAccessKey: "testing"),
                       endpoint: String? = KMSMoto.endpoint) throws -> KMSClient {
        try KMSClient(region: "us-east-1", credentials: StaticCredentialsProvider(creds), transport: ctTransport, endpoint: endpoint,
                      retry: RetryPolicy(maxAttempts: 2, baseDelay: 0.05))
    }

    /// The package root (for scripts/).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs a program, returns (exit status, stdout). Never calls `waitUntilExit`: reads to EOF, then
    /// polls `isRunning` (bounded).
    ///
    /// Two traps of Foundation's Process on Linux, avoided by a small Python parent in between:
    /// - the child gets the spawning (Dispatch) thread's signal mask, with SIGTERM blocked; moto would
    ///   inherit it and ignore `moto-server stop`'s SIGTERM;
    /// - the child also inherits the socket Foundation watches to see it exit; the moto server the
    ///   script leaves running would hold it, so the script would never seem to end.
    /// Python's subprocess closes every other descriptor (close_fds) and the mask is cleared first.
    static func run(_ path: String, _ args: [String]) async throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import signal, subprocess, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); "
                       + "sys.exit(subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL).returncode)", path] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try runSerialized(p)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        var waited = 0
        while p.isRunning && waited < 30_000 {
            try await Task.sleep(nanoseconds: 10_000_000)
            waited += 10
        }
        return (p.isRunning ? -1 : p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

@Suite struct KMSMotoNoticeTests {
    @Test func noticeWhenSkipped() {
        if KMSMoto.endpoint == nil {
            print("notice: SVCCONF_TEST_KMS_ENDPOINT not set; skipping the KMS integration tests (scripts/moto-server start)")
        }
    }
}

@Suite(.enabled(if: KMSMoto.endpoint != nil)) struct KMSMotoTests {
    @Test func generateDataKeyThenDecrypt() async throws {
        let kms = try KMSMoto.client()
        let key = try await kms.createKey(description: "svcconf test")
        #expect(key.arn.hasSuffix(key.keyId))
        let context = ["svcconf:service": "billing", "svcconf:env": "prod"]
        var dk = try await kms.generateDataKey(keyId: key.keyId, context: context)
        #expect(dk.plaintext.count == 32)
        #expect(dk.keyArn == key.arn)
        #expect(!dk.ciphertextBlob.isEmpty && dk.ciphertextBlob != dk.plaintext)
        var opened = try await kms.decrypt(blob: dk.ciphertextBlob, context: context)
        #expect(opened.plaintext == dk.plaintext)
        #expect(opened.keyArn == key.arn)
        let pinned = try await kms.decrypt(blob: dk.ciphertextBlob, context: context, keyId: key.arn)
        #expect(pinned.plaintext == dk.plaintext)
        let sixteen = try await kms.generateDataKey(keyId: key.arn, context: [:], bytes: 16)
        #expect(sixteen.plaintext.count == 16)
        dk.wipe()
        opened.wipe()
    }

    @Test func wrongOrMissingContextIsInvalidCiphertext() async throws {
        let kms = try KMSMoto.client()
        let key = try await kms.createKey()
        let context = ["service": "billing", "env": "prod"]
        let dk = try await kms.generateDataKey(keyId: key.keyId, context: context)
        for wrong in [["service": "billing", "env": "staging"], [:], ["service": "billing"],
                      ["service": "billing", "env": "prod", "extra": "x"]] {
            let e = await ctError { _ = try await kms.decrypt(blob: dk.ciphertextBlob, context: wrong) }
            #expect(e?.kind == .service)
            #expect(e?.code == "InvalidCiphertextException", "\(wrong)")
            #expect(e?.status == 400)
            #expect(e?.requestId != nil)
            let b64 = AWSBase64.encode(dk.plaintext)
            #expect(e?.description.contains(b64) == false)
        }
    }

    @Test func encryptThenDecrypt() async throws {
        let kms = try KMSMoto.client()
        let key = try await kms.createKey()
        let secret = Array("postgres://user:hunter2@db/prod".utf8)
        let sealed = try await kms.encrypt(keyId: key.keyId, plaintext: secret, context: ["k": "v"])
        #expect(sealed.keyArn == key.arn)
        #expect(try await kms.decrypt(blob: sealed.ciphertextBlob, context: ["k": "v"]).plaintext == secret)
        let bare = try await kms.encrypt(keyId: key.arn, plaintext: [0], context: [:])
        #expect(try await kms.decrypt(blob: bare.ciphertextBlob, context: [:]).plaintext == [0])
        let e = await ctError { _ = try await kms.decrypt(blob: sealed.ciphertextBlob, context: [:]) }
        #expect(e?.code == "InvalidCiphertextException")
    }

    @Test func aliasKeyIds() async throws {
        let kms = try KMSMoto.client()
        let key = try await kms.createKey()
        let alias = "alias/svcconf-test-\(UUID().uuidString.lowercased())"
        try await kms.createAlias(alias, targetKeyId: key.keyId)
        let dk = try await kms.generateDataKey(keyId: alias, context: ["a": "b"])
        #expect(dk.keyArn == key.arn)
        #expect(try await kms.decrypt(blob: dk.ciphertextBlob, context: ["a": "b"]).plaintext == dk.plaintext)
        let sealed = try await kms.encrypt(keyId: alias, plaintext: [1, 2, 3], context: [:])
        #expect(try await kms.decrypt(blob: sealed.ciphertextBlob, context: [:], keyId: key.keyId).plaintext == [1, 2, 3])
    }

    @Test func unknownKey() async throws {
        let kms = try KMSMoto.client()
        let e = await ctError { _ = try await kms.generateDataKey(keyId: "alias/svcconf-does-not-exist-\(UUID().uuidString)", context: [:]) }
        #expect(e?.kind == .service)
        #expect(e?.code == "NotFoundException")
        let e2 = await ctError { _ = try await kms.encrypt(keyId: UUID().uuidString.lowercased(), plaintext: [1], context: [:]) }
        #expect(e2?.code == "NotFoundException")
    }

    @Test func signedRequestsWithSignatureCheckingOn() async throws {
        let script = KMSMoto.packageRoot.appendingPathComponent("scripts/moto-server").path
        guard FileManager.default.isExecutableFile(atPath: script) else {
            print("notice: scripts/moto-server not found; skipping the signed KMS test")
            return
        }
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("svcconf-kms-auth-\(UUID().uuidString)").path
        do {
            let (startStatus, startOut) = try await KMSMoto.run(script, ["start", "--state-dir", state])
            try #require(startStatus == 0, "moto-server start failed: \(startOut)")
            try await signedRequests(endpoint: startOut, state: state)
        } catch is ExpectationFailedError {
            // already recorded
        } catch {
            Issue.record(error)
        }
        // Stopped whatever happened above.
        _ = try? await KMSMoto.run(script, ["stop", "--state-dir", state])
        try? FileManager.default.removeItem(atPath: state)
    }

    func signedRequests(endpoint startOut: String, state: String) async throws {
        let script = KMSMoto.packageRoot.appendingPathComponent("scripts/moto-server").path
        let endpoint = try #require(startOut.split(separator: " ").first { $0.hasPrefix("endpoint=") }.map { String($0.dropFirst(9)) })
        #expect(endpoint.hasPrefix("http://127.0.0.1:"))
        let (authStatus, authOut) = try await KMSMoto.run(script, ["setup-auth", "--state-dir", state])
        try #require(authStatus == 0, "moto-server setup-auth failed: \(authOut)")

        // The keys come through the shared-files provider, from the file setup-auth wrote.
        func creds(_ profile: String) async throws -> AWSCredentials {
            try await SharedFilesCredentialsProvider(environment: ["AWS_SHARED_CREDENTIALS_FILE": state + "/credentials",
                                                                   "AWS_PROFILE": profile]).credentials()
        }
        let admin = try await creds("admin")
        let kms = try KMSMoto.client(admin, endpoint: endpoint)
        let key = try await kms.createKey()
        let dk = try await kms.generateDataKey(keyId: key.keyId, context: ["s": "x"])
        #expect(try await kms.decrypt(blob: dk.ciphertextBlob, context: ["s": "x"]).plaintext == dk.plaintext)

        // A wrong secret and an unknown key id are rejected (moto answers these in XML, even for KMS).
        let wrongSecret = try KMSMoto.client(AWSCredentials(accessKeyId: admin.accessKeyId, secretAccessKey: "wrong"), endpoint: endpoint)
        let e1 = await ctError { _ = try await wrongSecret.decrypt(blob: dk.ciphertextBlob, context: ["s": "x"]) }
        #expect(e1?.kind == .service)
        #expect(e1?.status == 403)
        #expect(e1?.code == "SignatureDoesNotMatch")
        #expect(e1?.description.contains("wrong") == false)
        let unknown = try KMSMoto.client(AWSCredentials(accessKeyId: "AKIAUNKNOWNUNKNOWN00", secretAccessKey: "x"), endpoint: endpoint)
        let e2 = await ctError { _ = try await unknown.generateDataKey(keyId: key.keyId, context: [:]) }
        #expect(e2?.code == "InvalidClientTokenId")

        // The read-only principal may decrypt but not make data keys.
        let reader = try KMSMoto.client(try await creds("reader"), endpoint: endpoint)
        #expect(try await reader.decrypt(blob: dk.ciphertextBlob, context: ["s": "x"]).plaintext == dk.plaintext)
        let e3 = await ctError { _ = try await reader.generateDataKey(keyId: key.keyId, context: [:]) }
        #expect(e3?.status == 403)
        #expect(e3?.code != nil)
    }
}
