import SvcConfCrypto

/// A data key from ``KMSClient/generateDataKey(keyId:context:bytes:)``. The plaintext never appears in
/// a description, a debug description or a mirror; wipe it with ``wipe()`` (or `secureZero`) when done.
public struct KMSDataKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The data key itself (secret).
    public var plaintext: [UInt8]
    /// The data key encrypted under the KMS key (store this).
    public var ciphertextBlob: [UInt8]
    /// The ARN of the KMS key that encrypted it.
    public var keyArn: String

    /// Memberwise initializer.
    public init(plaintext: [UInt8], ciphertextBlob: [UInt8], keyArn: String) {
        self.plaintext = plaintext
        self.ciphertextBlob = ciphertextBlob
        self.keyArn = keyArn
    }

    /// Overwrites the plaintext with zeros.
    public mutating func wipe() { secureZero(&plaintext) }

    /// `KMSDataKey(ARN, 184-byte blob, plaintext redacted)`.
    public var description: String { "KMSDataKey(\(keyArn), \(ciphertextBlob.count)-byte blob, plaintext redacted)" }
    /// Same as ``description``.
    public var debugDescription: String { description }
    /// Without the plaintext.
    public var customMirror: Mirror { Mirror(self, children: ["keyArn": keyArn, "ciphertextBlob": ciphertextBlob]) }
}

/// The answer to ``KMSClient/encrypt(keyId:plaintext:context:)``.
public struct KMSEncrypted: Sendable, Equatable {
    /// The ciphertext blob.
    public var ciphertextBlob: [UInt8]
    /// The ARN of the KMS key used.
    public var keyArn: String

    /// Memberwise initializer.
    public init(ciphertextBlob: [UInt8], keyArn: String) {
        self.ciphertextBlob = ciphertextBlob
        self.keyArn = keyArn
    }
}

/// The answer to ``KMSClient/decrypt(blob:context:keyId:)``. The plaintext never appears in a
/// description, a debug description or a mirror; wipe it with ``wipe()`` when done.
public struct KMSDecrypted: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The plaintext (secret).
    public var plaintext: [UInt8]
    /// The ARN of the KMS key that decrypted it.
    public var keyArn: String

    /// Memberwise initializer.
    public init(plaintext: [UInt8], keyArn: String) {
        self.plaintext = plaintext
        self.keyArn = keyArn
    }

    /// Overwrites the plaintext with zeros.
    public mutating func wipe() { secureZero(&plaintext) }

    /// `KMSDecrypted(ARN, plaintext redacted)`.
    public var description: String { "KMSDecrypted(\(keyArn), plaintext redacted)" }
    /// Same as ``description``.
    public var debugDescription: String { description }
    /// Without the plaintext.
    public var customMirror: Mirror { Mirror(self, children: ["keyArn": keyArn]) }
}

/// A key made by ``KMSClient/createKey(description:)``.
public struct KMSKey: Sendable, Equatable {
    /// The key id (a UUID).
    public var keyId: String
    /// The key ARN.
    public var arn: String

    /// Memberwise initializer.
    public init(keyId: String, arn: String) {
        self.keyId = keyId
        self.arn = arn
    }
}

/// An AWS KMS client over the JSON 1.1 protocol (`POST /`, `X-Amz-Target: TrentService.<Op>`,
/// `Content-Type: application/x-amz-json-1.1`, blobs in base64), SigV4-signed for service `kms`.
///
/// Key ids may be a key id, a key ARN, `alias/NAME` or an alias ARN. Each attempt signs afresh with the
/// provider's current credentials; transient failures are retried under ``retry``. Errors are
/// ``AWSError``: `.service` with AWS's code (`InvalidCiphertextException`, `NotFoundException`,
/// `AccessDeniedException`, ... — JSON error bodies, and the XML ones moto sends for
/// `SignatureDoesNotMatch`), message and `x-amzn-RequestId`. Plaintexts never reach an error or a
/// description, and the request and response buffers that held them are wiped.
public struct KMSClient: Sendable {
    /// The region signed for.
    public let region: String
    /// The endpoint base URL (`https://kms.REGION.amazonaws.com` or the override).
    public let endpointURL: String
    /// Where credentials come from (wrap a chain in an ``AWSCredentialsCache``).
    public let credentials: any AWSCredentialsProvider
    /// The transport.
    public let transport: any HTTPTransport
    /// Seconds per attempt.
    public var timeout: Double
    /// Retries.
    public var retry: RetryPolicy

    let url: AWSURLParts

    /// `https://kms.REGION.amazonaws.com`.
    public static func defaultEndpoint(region: String) -> String { "https://kms.\(region).amazonaws.com" }

    /// The endpoint override, if any: `explicit` (e.g. `--endpoint-url`), else `AWS_ENDPOINT_URL_KMS`,
    /// else `AWS_ENDPOINT_URL` (the two variables are ignored when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`
    /// is `true`). Nil means ``defaultEndpoint(region:)``.
    public static func endpoint(environment: [String: String], explicit: String? = nil) -> String? {
        AWSEndpointOverride.resolve(service: "KMS", environment: environment, explicit: explicit)
    }

    /// A client for `region`, at `endpoint` (nil: ``defaultEndpoint(region:)``). Throws
    /// `.invalidRequest` for an invalid region or endpoint URL.
    public init(region: String, credentials: any AWSCredentialsProvider, transport: any HTTPTransport,
                endpoint: String? = nil, timeout: Double = 10, retry: RetryPolicy = .default) throws {
        guard AWSRegion.isValid(region) else { throw AWSError(.invalidRequest, "not a valid AWS region name for KMS") }
        let text = endpoint ?? KMSClient.defaultEndpoint(region: region)
        guard let url = AWSURLParts.parse(text) else {
            throw AWSError(.invalidRequest, "the KMS endpoint \(String(text.prefix(200))) is not an http(s) URL")
        }
        self.region = region
        self.endpointURL = text
        self.url = url
        self.credentials = credentials
        self.transport = transport
        self.timeout = timeout
        self.retry = retry
    }

    /// A client configured as the AWS CLI would be: region from ``AWSRegion/resolve(environment:readFile:)``
    /// (unless given), endpoint from ``endpoint(environment:explicit:)``, credentials from the standard
    /// chain behind a cache.
    public static func fromEnvironment(environment: [String: String] = AWSSystem.environment(),
                                       readFile: @escaping AWSFileReader = AWSSystem.readFile,
                                       transport: any HTTPTransport, region: String? = nil,
                                       endpoint explicit: String? = nil) throws -> KMSClient {
        let r = try region ?? AWSRegion.resolve(environment: environment, readFile: readFile)
        let chain = AWSCredentialsChain.standard(environment: environment, readFile: readFile, transport: transport)
        return try KMSClient(region: r, credentials: AWSCredentialsCache(chain), transport: transport,
                             endpoint: endpoint(environment: environment, explicit: explicit))
    }

    // MARK: - Operations

    /// GenerateDataKey: a fresh `bytes`-byte data key (1...1024; 32 for AES-256) under `keyId`, bound
    /// to the encryption `context` (which Decrypt must then repeat exactly).
    public func generateDataKey(keyId: String, context: [String: String], bytes: Int = 32) async throws -> KMSDataKey {
        try Self.checkKeyId(keyId)
        guard (1...1024).contains(bytes) else { throw AWSError(.invalidRequest, "kms GenerateDataKey: bytes must be 1...1024") }
        var fields: [String: AWSJSON] = ["KeyId": .string(keyId), "NumberOfBytes": .number(Double(bytes))]
        if !context.isEmpty { fields["EncryptionContext"] = Self.contextJSON(context) }
        var body = Self.body(fields)
        var secret: [UInt8] = []
        defer { secureZero(&secret) }
        let doc = try await call("GenerateDataKey", body: &body, idempotent: true, secretKey: "Plaintext", secret: &secret)
        let blob = try Self.blob(doc, "CiphertextBlob", op: "GenerateDataKey")
        let arn = try Self.keyArn(doc, op: "GenerateDataKey")
        guard !secret.isEmpty, var plaintext = AWSBase64.decode(secret) else {
            throw AWSError(.malformedResponse, "kms GenerateDataKey: Plaintext is missing or not base64")
        }
        guard plaintext.count == bytes else {
            let count = plaintext.count
            secureZero(&plaintext)  // the only reference: wiped in place
            throw AWSError(.malformedResponse, "kms GenerateDataKey: the data key has \(count) bytes, not \(bytes)")
        }
        return KMSDataKey(plaintext: plaintext, ciphertextBlob: blob, keyArn: arn)
    }

    /// Encrypt: `plaintext` (1...4096 bytes) under `keyId`, bound to `context`.
    public func encrypt(keyId: String, plaintext: [UInt8], context: [String: String]) async throws -> KMSEncrypted {
        try Self.checkKeyId(keyId)
        guard (1...4096).contains(plaintext.count) else { throw AWSError(.invalidRequest, "kms Encrypt: the plaintext must be 1...4096 bytes") }
        var fields: [String: AWSJSON] = ["KeyId": .string(keyId)]
        if !context.isEmpty { fields["EncryptionContext"] = Self.contextJSON(context) }
        var body = Self.body(fields, secretKey: "Plaintext", secret: plaintext)
        var none: [UInt8] = []
        let doc = try await call("Encrypt", body: &body, idempotent: true, secretKey: nil, secret: &none)
        return KMSEncrypted(ciphertextBlob: try Self.blob(doc, "CiphertextBlob", op: "Encrypt"), keyArn: try Self.keyArn(doc, op: "Encrypt"))
    }

    /// Decrypt: the plaintext of `blob`, which must have been made with the same `context`. With
    /// `keyId`, KMS also checks that `blob` is under that key (recommended: it pins the key).
    public func decrypt(blob: [UInt8], context: [String: String], keyId: String? = nil) async throws -> KMSDecrypted {
        if let keyId { try Self.checkKeyId(keyId) }
        guard (1...6144).contains(blob.count) else { throw AWSError(.invalidRequest, "kms Decrypt: the ciphertext blob must be 1...6144 bytes") }
        var fields: [String: AWSJSON] = ["CiphertextBlob": .string(AWSBase64.encode(blob))]
        if !context.isEmpty { fields["EncryptionContext"] = Self.contextJSON(context) }
        if let keyId { fields["KeyId"] = .string(keyId) }
        var body = Self.body(fields)
        var secret: [UInt8] = []
        defer { secureZero(&secret) }
        let doc = try await call("Decrypt", body: &body, idempotent: true, secretKey: "Plaintext", secret: &secret)
        let arn = try Self.keyArn(doc, op: "Decrypt")
        guard !secret.isEmpty, let plaintext = AWSBase64.decode(secret) else {
            throw AWSError(.malformedResponse, "kms Decrypt: Plaintext is missing or not base64")
        }
        return KMSDecrypted(plaintext: plaintext, keyArn: arn)
    }

    /// CreateKey (for tests and administration): a symmetric `ENCRYPT_DECRYPT` key. Not retried after
    /// an unanswered attempt (a repeat would make a second key).
    public func createKey(description: String? = nil) async throws -> KMSKey {
        var fields: [String: AWSJSON] = ["KeyUsage": .string("ENCRYPT_DECRYPT"), "KeySpec": .string("SYMMETRIC_DEFAULT")]
        if let description { fields["Description"] = .string(description) }
        var body = Self.body(fields)
        var none: [UInt8] = []
        let doc = try await call("CreateKey", body: &body, idempotent: false, secretKey: nil, secret: &none)
        guard let meta = doc["KeyMetadata"], let id = meta["KeyId"]?.stringValue, let arn = meta["Arn"]?.stringValue else {
            throw AWSError(.malformedResponse, "kms CreateKey: the answer has no KeyMetadata.KeyId and Arn")
        }
        return KMSKey(keyId: id, arn: arn)
    }

    /// CreateAlias (for tests and administration): `aliasName` (`alias/NAME`) for `targetKeyId`.
    public func createAlias(_ aliasName: String, targetKeyId: String) async throws {
        guard aliasName.hasPrefix("alias/"), aliasName.utf8.count > 6, aliasName.utf8.count <= 256 else {
            throw AWSError(.invalidRequest, "kms CreateAlias: the alias name must be alias/NAME")
        }
        try Self.checkKeyId(targetKeyId)
        var body = Self.body(["AliasName": .string(aliasName), "TargetKeyId": .string(targetKeyId)])
        var none: [UInt8] = []
        _ = try await call("CreateAlias", body: &body, idempotent: false, secretKey: nil, secret: &none)
    }

    // MARK: - The protocol

    /// Sends operation `op` with `body` (wiped afterwards), returns the parsed answer; the string member
    /// `secretKey` of the answer goes to `secret` (the caller wipes it), and the raw answer is wiped.
    func call(_ op: String, body: inout [UInt8], idempotent: Bool, secretKey: String?,
              secret: inout [UInt8]) async throws -> AWSJSON {
        defer { secureZero(&body) }
        var response = try await send(op, body: body, idempotent: idempotent)
        defer { secureZero(&response.body) }
        guard response.status == 200 else { throw Self.error(from: response, op: op) }
        if response.body.isEmpty { return .object([:]) }
        let requestId = response.header("x-amzn-requestid").map(Self.clean)
        let doc: AWSJSON
        do {
            doc = try AWSJSON.parse(response.body, secretKey: secretKey, secret: &secret)
        } catch {
            secureZero(&secret)
            throw AWSError(.malformedResponse, "kms \(op): \(error.message)", requestId: requestId)
        }
        if doc == .null { return .object([:]) }  // moto answers CreateAlias with `null` (AWS: an empty body)
        guard doc.objectValue != nil else {
            secureZero(&secret)
            throw AWSError(.malformedResponse, "kms \(op): the answer is not a JSON object", requestId: requestId)
        }
        return doc
    }

    private func send(_ op: String, body: [UInt8], idempotent: Bool) async throws -> HTTPResponse {
        let url = self.url
        let region = self.region
        let credentials = self.credentials
        return try await retry.send(using: transport, timeout: timeout, idempotent: idempotent,
                                    errorCode: KMSClient.retryCode(of:)) { _ in
            let creds = try await credentials.credentials()
            var request = HTTPRequest(method: "POST", scheme: url.scheme, host: url.hostHeader, path: url.path,
                                      query: url.query,
                                      headers: [("Content-Type", "application/x-amz-json-1.1"),
                                                ("X-Amz-Target", "TrentService.\(op)")],
                                      body: body)
            SigV4Signer(credentials: creds, region: region, service: "kms").sign(&request, date: SigV4Date.now())
            return request
        }.response
    }

    // MARK: - Errors

    /// The AWS error code of a KMS error answer: JSON `__type` (`com.amazonaws.kms#NotFoundException`
    /// → `NotFoundException`) or `code`, the XML `<Code>` (moto's `SignatureDoesNotMatch`), else the
    /// `x-amzn-ErrorType` header.
    public static func errorCode(of response: HTTPResponse) -> String? {
        parseError(response).code
    }

    /// The error for a KMS answer that is not a success; `op` names the operation in the message.
    public static func error(from response: HTTPResponse, op: String) -> AWSError {
        let parsed = parseError(response)
        let message = parsed.message.map { "kms \(op): \($0)" } ?? "kms \(op): HTTP \(response.status)"
        let requestId = response.header("x-amzn-requestid") ?? response.header("x-amz-request-id") ?? parsed.requestId
        return AWSError(.service, message, status: response.status, code: parsed.code, requestId: requestId.map(clean))
    }

    /// KMS codes worth another attempt, mapped onto a code ``RetryPolicy`` retries (its list is S3's).
    static func retryCode(of response: HTTPResponse) -> String? {
        if response.status == 429 { return "SlowDown" }
        switch parseError(response).code {
        case "ThrottlingException", "KMSInternalException", "DependencyTimeoutException", "ServiceUnavailableException":
            return "InternalError"
        case let code: return code
        }
    }

    static func parseError(_ response: HTTPResponse) -> (code: String?, message: String?, requestId: String?) {
        var code: String?
        var message: String?
        var requestId: String?
        let body = response.body
        let first = body.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
        if first == 0x7B, let doc = try? AWSJSON.parse(body) {
            if let t = (doc["__type"] ?? doc["code"] ?? doc["Code"])?.stringValue {
                var c = Substring(t)
                if let hash = c.lastIndex(of: "#") { c = c[c.index(after: hash)...] }
                if let colon = c.firstIndex(of: ":") { c = c[..<colon] }
                code = String(c)
            }
            message = (doc["message"] ?? doc["Message"])?.stringValue
        } else if first == 0x3C, let root = try? XMLReader.parse(body) {
            // `<Error>`, `<ErrorResponse><Error>` or moto's `<ErrorResponse><Errors><Error>`.
            let error = root.localName == "Error" ? root : (root.child("Error") ?? root.child("Errors")?.child("Error"))
            code = error?.childText("Code")
            message = error?.childText("Message")
            requestId = root.childText("RequestId") ?? root.childText("RequestID") ?? error?.childText("RequestId")
        }
        if code == nil || code!.isEmpty, let header = response.header("x-amzn-errortype") {
            code = String(header.prefix { $0 != ":" })
        }
        return (code.map(clean).flatMap { $0.isEmpty ? nil : $0 }, message.map(clean).flatMap { $0.isEmpty ? nil : $0 },
                requestId.map(clean).flatMap { $0.isEmpty ? nil : $0 })
    }

    /// One line, printable, at most 300 characters.
    static func clean(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars.prefix(300) {
            out.unicodeScalars.append(ch.value < 0x20 || ch.value == 0x7F ? " " : ch)
        }
        return CredentialsSupport.trim(out)
    }

    // MARK: - Helpers

    static func checkKeyId(_ keyId: String) throws(AWSError) {
        guard !keyId.isEmpty, keyId.utf8.count <= 2048 else { throw AWSError(.invalidRequest, "kms: the key id must be 1...2048 characters") }
    }

    static func contextJSON(_ context: [String: String]) -> AWSJSON {
        .object(context.mapValues { .string($0) })
    }

    /// The JSON body for `fields`, plus the secret member `secretKey` base64-encoded straight into the
    /// (single, pre-sized) buffer.
    static func body(_ fields: [String: AWSJSON], secretKey: String? = nil, secret: [UInt8]? = nil) -> [UInt8] {
        let base = AWSJSON.encode(.object(fields))
        var out: [UInt8] = []
        out.reserveCapacity(base.count + 16 + (secretKey?.utf8.count ?? 0) + AWSBase64.encodedCount(secret?.count ?? 0))
        out.append(contentsOf: base.dropLast())
        if let secretKey, let secret {
            if !fields.isEmpty { out.append(0x2C) }
            AWSJSON.writeString(secretKey, into: &out)
            out.append(0x3A)
            out.append(0x22)
            AWSBase64.encode(secret, into: &out)
            out.append(0x22)
        }
        out.append(0x7D)
        return out
    }

    static func blob(_ doc: AWSJSON, _ name: String, op: String) throws(AWSError) -> [UInt8] {
        guard let s = doc[name]?.stringValue, let b = AWSBase64.decode(s), !b.isEmpty else {
            throw AWSError(.malformedResponse, "kms \(op): \(name) is missing or not base64")
        }
        return b
    }

    static func keyArn(_ doc: AWSJSON, op: String) throws(AWSError) -> String {
        guard let s = doc["KeyId"]?.stringValue, !s.isEmpty else {
            throw AWSError(.malformedResponse, "kms \(op): the answer has no KeyId")
        }
        return s
    }
}
