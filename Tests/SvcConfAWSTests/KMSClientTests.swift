// KMSClient without a network: request shape, signing, answers, errors, retries, secrecy.

import Testing
@testable import SvcConfAWS

@Suite struct KMSClientTests {
    static let arn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    static let dataKey: [UInt8] = (0..<32).map { UInt8($0 * 7 % 256) }
    static let blob: [UInt8] = Array("opaque-ciphertext-blob".utf8)
    static let creds = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                      sessionToken: "session-token")

    static func ok(_ json: String, requestId: String = "req-1") -> HTTPResponse {
        HTTPResponse(status: 200, headers: [("x-amzn-RequestId", requestId), ("Content-Type", "application/x-amz-json-1.1")],
                     body: Array(json.utf8))
    }

    static func client(_ t: CTRecordingTransport, endpoint: String? = nil,
                       retry: RetryPolicy = ctFastRetry) throws -> KMSClient {
        try KMSClient(region: "eu-west-1", credentials: StaticCredentialsProvider(creds), transport: t, endpoint: endpoint, retry: retry)
    }

    static func bodyJSON(_ r: HTTPRequest) throws -> AWSJSON { try AWSJSON.parse(r.body) }

    @Test func endpointResolution() {
        #expect(KMSClient.endpoint(environment: [:]) == nil)
        #expect(KMSClient.endpoint(environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:1"]) == "http://127.0.0.1:1")
        #expect(KMSClient.endpoint(environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:2"])
                == "http://127.0.0.1:2")
        #expect(KMSClient.endpoint(environment: ["AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:2"], explicit: "http://127.0.0.1:3")
                == "http://127.0.0.1:3")
        #expect(KMSClient.endpoint(environment: ["AWS_ENDPOINT_URL_KMS": "http://x", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"]) == nil)
        #expect(KMSClient.defaultEndpoint(region: "eu-west-1") == "https://kms.eu-west-1.amazonaws.com")
        let t = CTRecordingTransport { _ in throw AWSError(.connection, "x") }
        #expect(throws: AWSError.self) { _ = try KMSClient(region: "eu-west-1.evil.com/", credentials: StaticCredentialsProvider(Self.creds), transport: t) }
        #expect(throws: AWSError.self) { _ = try Self.client(t, endpoint: "kms.local:443") }
    }

    @Test func fromEnvironment() throws {
        let t = CTRecordingTransport { _ in throw AWSError(.connection, "x") }
        let c = try KMSClient.fromEnvironment(environment: ["AWS_DEFAULT_REGION": "ap-northeast-1", "AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:4566"],
                                              readFile: ctFiles([:]), transport: t)
        #expect(c.region == "ap-northeast-1")
        #expect(c.endpointURL == "http://127.0.0.1:4566")
        #expect(c.credentials is AWSCredentialsCache)
        #expect(throws: AWSError.self) { _ = try KMSClient.fromEnvironment(environment: [:], readFile: ctFiles([:]), transport: t) }
    }

    @Test func generateDataKeyRequestAndAnswer() async throws {
        let t = CTRecordingTransport { _ in
            Self.ok(#"{"CiphertextBlob":"\#(AWSBase64.encode(Self.blob))","KeyId":"\#(Self.arn)","Plaintext":"\#(AWSBase64.encode(Self.dataKey))"}"#)
        }
        let key = try await Self.client(t).generateDataKey(keyId: "alias/svc-prod", context: ["service": "billing", "env": "prod"])
        #expect(key.plaintext == Self.dataKey)
        #expect(key.ciphertextBlob == Self.blob)
        #expect(key.keyArn == Self.arn)

        let r = try #require(t.requests.first)
        #expect(r.method == "POST" && r.scheme == "https" && r.host == "kms.eu-west-1.amazonaws.com" && r.path == "/" && r.query.isEmpty)
        #expect(r.header("X-Amz-Target") == "TrentService.GenerateDataKey")
        #expect(r.header("Content-Type") == "application/x-amz-json-1.1")
        #expect(r.header("X-Amz-Security-Token") == "session-token")
        let auth = try #require(r.header("Authorization"))
        #expect(auth.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"))
        #expect(auth.contains("/eu-west-1/kms/aws4_request"))
        #expect(auth.contains("x-amz-target"))
        let body = try Self.bodyJSON(r)
        #expect(body == .object(["KeyId": .string("alias/svc-prod"), "NumberOfBytes": .number(32),
                                 "EncryptionContext": .object(["service": .string("billing"), "env": .string("prod")])]))
    }

    @Test func plaintextNeverDescribed() async throws {
        let key = KMSDataKey(plaintext: Self.dataKey, ciphertextBlob: Self.blob, keyArn: Self.arn)
        let dec = KMSDecrypted(plaintext: Self.dataKey, keyArn: Self.arn)
        var dumped = ""
        dump(key, to: &dumped)
        dump(dec, to: &dumped)
        let texts = [String(describing: key), String(reflecting: key), "\(key)", String(describing: dec), String(reflecting: dec), dumped]
        let b64 = AWSBase64.encode(Self.dataKey)
        let asArray = "\(Self.dataKey)"
        for text in texts {
            #expect(!text.contains(b64))
            #expect(!text.contains(asArray))
            #expect(!text.contains("0, 7, 14, 21"))
        }
        #expect(String(describing: key).contains("plaintext redacted"))
        var k = key
        k.wipe()
        #expect(k.plaintext == [UInt8](repeating: 0, count: 32))
    }

    @Test func encryptSendsPlaintextBase64() async throws {
        let secret: [UInt8] = Array("a secret value".utf8)
        let t = CTRecordingTransport { _ in
            Self.ok(#"{"CiphertextBlob":"\#(AWSBase64.encode(Self.blob))","KeyId":"\#(Self.arn)","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}"#)
        }
        let out = try await Self.client(t).encrypt(keyId: Self.arn, plaintext: secret, context: [:])
        #expect(out == KMSEncrypted(ciphertextBlob: Self.blob, keyArn: Self.arn))
        let r = try #require(t.requests.first)
        #expect(r.header("X-Amz-Target") == "TrentService.Encrypt")
        #expect(try Self.bodyJSON(r) == .object(["KeyId": .string(Self.arn), "Plaintext": .string(AWSBase64.encode(secret))]))
    }

    @Test func decryptRequestAndAnswer() async throws {
        let t = CTRecordingTransport { _ in
            Self.ok(#"{"KeyId":"\#(Self.arn)","Plaintext":"\#(AWSBase64.encode(Self.dataKey))","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}"#)
        }
        let c = try Self.client(t)
        let out = try await c.decrypt(blob: Self.blob, context: ["a": "b"], keyId: Self.arn)
        #expect(out.plaintext == Self.dataKey && out.keyArn == Self.arn)
        _ = try await c.decrypt(blob: Self.blob, context: [:])
        #expect(try Self.bodyJSON(t.requests[0]) == .object(["CiphertextBlob": .string(AWSBase64.encode(Self.blob)), "KeyId": .string(Self.arn),
                                                             "EncryptionContext": .object(["a": .string("b")])]))
        #expect(try Self.bodyJSON(t.requests[1]) == .object(["CiphertextBlob": .string(AWSBase64.encode(Self.blob))]))
        #expect(t.requests[0].header("X-Amz-Target") == "TrentService.Decrypt")
    }

    @Test func endpointOverrideUsed() async throws {
        let t = CTRecordingTransport { _ in Self.ok(#"{"KeyMetadata":{"KeyId":"k1","Arn":"arn:k1"}}"#) }
        let key = try await Self.client(t, endpoint: "http://127.0.0.1:4566").createKey(description: "test")
        #expect(key == KMSKey(keyId: "k1", arn: "arn:k1"))
        #expect(t.requests.first?.url == "http://127.0.0.1:4566/")
        #expect(t.requests.first?.header("X-Amz-Target") == "TrentService.CreateKey")
    }

    @Test func jsonErrors() async throws {
        let t = CTRecordingTransport { _ in
            HTTPResponse(status: 400, headers: [("x-amzn-RequestId", "rid-42")],
                         body: Array(#"{"__type":"com.amazonaws.kms#NotFoundException","message":"Key 'arn:...' does not exist"}"#.utf8))
        }
        let e = await ctError { _ = try await Self.client(t).generateDataKey(keyId: "alias/missing", context: [:]) }
        #expect(e?.kind == .service)
        #expect(e?.status == 400)
        #expect(e?.code == "NotFoundException")
        #expect(e?.requestId == "rid-42")
        #expect(e?.message == "kms GenerateDataKey: Key 'arn:...' does not exist")
        #expect(t.requests.count == 1)  // a 400 is final
    }

    @Test func motoXMLSignatureError() async throws {
        // Exactly what moto 5.2 answers to a KMS request signed with the wrong secret.
        let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code>"
            + "<Message>The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key "
            + "and signing method. Consult the service documentation for details.</Message><Type>Sender</Type></Error></Errors></ErrorResponse>"
        let t = CTRecordingTransport { _ in
            HTTPResponse(status: 403, headers: [("Content-Type", "text/html; charset=utf-8"), ("x-amzn-requestid", "AJeN1")], body: Array(xml.utf8))
        }
        let e = await ctError { _ = try await Self.client(t).decrypt(blob: Self.blob, context: [:]) }
        #expect(e?.code == "SignatureDoesNotMatch")
        #expect(e?.status == 403)
        #expect(e?.requestId == "AJeN1")
        #expect(e?.message.hasPrefix("kms Decrypt: The request signature we calculated") == true)
        // Real AWS's JSON form of the same error, and the plain <ErrorResponse><Error> form.
        #expect(KMSClient.errorCode(of: HTTPResponse(status: 403, headers: [],
                                                     body: Array(#"{"__type":"SignatureDoesNotMatch","Message":"m"}"#.utf8))) == "SignatureDoesNotMatch")
        #expect(KMSClient.errorCode(of: HTTPResponse(status: 403, headers: [],
                                                     body: Array("<ErrorResponse><Error><Code>AccessDenied</Code></Error><RequestId>r</RequestId></ErrorResponse>".utf8))) == "AccessDenied")
    }

    @Test func headerOnlyAndGarbageErrors() {
        let e1 = KMSClient.error(from: HTTPResponse(status: 400, headers: [("X-Amzn-ErrorType", "InvalidCiphertextException:http://internal.amazon.com/")],
                                                    body: []), op: "Decrypt")
        #expect(e1.code == "InvalidCiphertextException")
        #expect(e1.message == "kms Decrypt: HTTP 400")
        let e2 = KMSClient.error(from: HTTPResponse(status: 502, headers: [], body: Array("<html>bad gateway".utf8)), op: "Encrypt")
        #expect(e2.code == nil && e2.status == 502)
        let e3 = KMSClient.error(from: HTTPResponse(status: 400, headers: [],
                                                    body: Array("{\"__type\":\"X\",\"message\":\"line1\\nline2\\u0007\"}".utf8)), op: "Encrypt")
        #expect(e3.message == "kms Encrypt: line1 line2")
    }

    @Test func transientFailuresRetried() async throws {
        let n = CTBox(0)
        let t = CTRecordingTransport { _ in
            let i = n.update { $0 += 1; return $0 }
            switch i {
            case 1: throw AWSError(.connection, "reset")
            case 2: return HTTPResponse(status: 503, headers: [], body: [])
            case 3: return HTTPResponse(status: 400, headers: [], body: Array(#"{"__type":"ThrottlingException","message":"slow down"}"#.utf8))
            default: return Self.ok(#"{"KeyId":"\#(Self.arn)","Plaintext":"\#(AWSBase64.encode(Self.dataKey))"}"#)
            }
        }
        let out = try await Self.client(t, retry: RetryPolicy(maxAttempts: 4, random: { _ in 0 }, sleep: { _ in })).decrypt(blob: Self.blob, context: [:])
        #expect(out.plaintext == Self.dataKey)
        #expect(t.requests.count == 4)
        // Each attempt is signed afresh (the signature covers the date; here only the shape is checked).
        #expect(t.requests.allSatisfy { $0.header("Authorization") != nil && $0.header("X-Amz-Date") != nil })
    }

    @Test func createKeyNotRepeatedAfterNoAnswer() async throws {
        let t = CTRecordingTransport { _ in throw AWSError(.timeout, "no answer") }
        let e = await ctError { _ = try await Self.client(t).createKey() }
        #expect(e?.kind == .timeout)
        #expect(t.requests.count == 1)
    }

    @Test func credentialErrorsStopTheCall() async throws {
        let t = CTRecordingTransport { _ in throw AWSError(.connection, "x") }
        let c = try KMSClient(region: "eu-west-1", credentials: AWSCredentialsChain([]), transport: t)
        let e = await ctError { _ = try await c.generateDataKey(keyId: "k", context: [:]) }
        #expect(e?.message == AWSCredentialsChain.noCredentialsMessage)
        #expect(t.requests.isEmpty)
    }

    @Test(arguments: [
        #"{"KeyId":"arn","Plaintext":"not base64!"}"#,
        #"{"KeyId":"arn"}"#,
        #"{"Plaintext":"AAAA"}"#,
        #"{"KeyId":"arn","Plaintext":"AAAA""#,
        #"{"KeyId":"arn","Plaintext":"AAAA","Plaintext":"AAAA"}"#,
        "[]",
    ])
    func malformedAnswers(json: String) async throws {
        let t = CTRecordingTransport { _ in Self.ok(json) }
        let e = await ctError { _ = try await Self.client(t).decrypt(blob: Self.blob, context: [:]) }
        #expect(e?.kind == .malformedResponse)
        #expect(e?.message.contains("AAAA") == false)
    }

    @Test func wrongDataKeyLengthRefused() async throws {
        let t = CTRecordingTransport { _ in
            Self.ok(#"{"CiphertextBlob":"\#(AWSBase64.encode(Self.blob))","KeyId":"arn","Plaintext":"\#(AWSBase64.encode([1, 2, 3]))"}"#)
        }
        let e = await ctError { _ = try await Self.client(t).generateDataKey(keyId: "k", context: [:], bytes: 32) }
        #expect(e?.kind == .malformedResponse)
    }

    @Test func invalidArgumentsRefusedWithoutARequest() async throws {
        let t = CTRecordingTransport { _ in throw AWSError(.connection, "x") }
        let c = try Self.client(t)
        _ = await ctError { _ = try await c.generateDataKey(keyId: "", context: [:]) }
        _ = await ctError { _ = try await c.generateDataKey(keyId: "k", context: [:], bytes: 0) }
        _ = await ctError { _ = try await c.generateDataKey(keyId: "k", context: [:], bytes: 1025) }
        _ = await ctError { _ = try await c.encrypt(keyId: "k", plaintext: [], context: [:]) }
        _ = await ctError { _ = try await c.encrypt(keyId: "k", plaintext: [UInt8](repeating: 1, count: 4097), context: [:]) }
        _ = await ctError { _ = try await c.decrypt(blob: [], context: [:]) }
        _ = await ctError { try await c.createAlias("svc-prod", targetKeyId: "k") }
        #expect(t.requests.isEmpty)
    }
}
