import SvcConfAWS
import SvcConfCrypto

/// An AWS KMS key (`kms:KEY` — a key id, ARN or `alias/NAME`) as a recipient, a data-key generator
/// and an identity.
///
/// Stanza: type `kms`, args `[keyArn]`, body = the KMS `CiphertextBlob` of the data key, made under the
/// encryption context `{"svcconf:service": S, "svcconf:env": E}`. KMS refuses to decrypt the blob under
/// any other context, so a version copied to another service or env does not open, and only principals
/// allowed `kms:Decrypt` with that context (the service's task role) can open it.
public struct KMSRecipient: DataKeyGenerator, Identity {
    /// The key as the policy names it.
    public let keyId: String
    let client: KMSClient

    /// `kms:KEY`.
    public var label: String { "kms:\(keyId)" }

    /// A KMS key used through `client`.
    public init(keyId: String, client: KMSClient) {
        self.keyId = keyId
        self.client = client
    }

    static func context(_ c: WrapContext) -> [String: String] {
        ["svcconf:service": c.service, "svcconf:env": c.env]
    }

    public func generateDataKey(for context: WrapContext) async throws -> (SymmetricKey, Stanza) {
        do {
            var r = try await client.generateDataKey(keyId: keyId, context: Self.context(context), bytes: 32)
            defer { r.wipe() }
            return (try SymmetricKey(bytes: r.plaintext), Stanza(type: "kms", args: [r.keyArn], body: r.ciphertextBlob))
        } catch let e as AWSError {
            throw AWSErrors.map(e, doing: "generating a data key with \(label)")
        }
    }

    public func wrap(_ dataKey: SymmetricKey, for context: WrapContext) async throws -> Stanza {
        var plain = dataKey.withUnsafeBytes { Array($0) }
        defer { secureZero(&plain) }
        do {
            let r = try await client.encrypt(keyId: keyId, plaintext: plain, context: Self.context(context))
            return Stanza(type: "kms", args: [r.keyArn], body: r.ciphertextBlob)
        } catch let e as AWSError {
            throw AWSErrors.map(e, doing: "wrapping the data key with \(label)")
        }
    }

    /// Unwraps any `kms` stanza (the blob names its key; the stanza's ARN is passed as KeyId so KMS
    /// refuses a blob made under another key).
    public func unwrap(_ stanza: Stanza, for context: WrapContext) async throws -> SymmetricKey? {
        guard stanza.type == "kms" else { return nil }
        guard stanza.args.count == 1, !stanza.body.isEmpty else { throw SvcConfError.tampered("kms recipient stanza is malformed") }
        do {
            var r = try await client.decrypt(blob: stanza.body, context: Self.context(context), keyId: stanza.args[0])
            defer { secureZero(&r.plaintext) }
            guard r.plaintext.count == 32 else { throw SvcConfError.tampered("kms returned a data key of the wrong size") }
            return try SymmetricKey(bytes: r.plaintext)
        } catch let e as AWSError where e.code == "InvalidCiphertextException" {
            throw SvcConfError(.tampered, "kms:\(stanza.args[0]) refused to decrypt the data key for \(context.service)/\(context.env): the version was tampered with or re-labelled (the encryption context does not match)")
        } catch let e as AWSError {
            throw AWSErrors.map(e, doing: "decrypting the data key with kms:\(stanza.args[0])")
        }
    }
}

/// AWS failures in the core's error classes.
enum AWSErrors {
    static func map(_ e: AWSError, doing what: String) -> SvcConfError {
        let text = "\(what): \(e)"
        switch e.kind {
        case .connection, .timeout:
            return SvcConfError(.unavailable, text, hint: "check the endpoint and the network (AWS_ENDPOINT_URL, --endpoint-url)")
        case .credentials:
            return SvcConfError(.accessDenied, text)
        case .malformedResponse:
            return SvcConfError(.unavailable, text)
        case .invalidRequest:
            return SvcConfError(.usage, text)
        case .service:
            switch e.code ?? "" {
            case "AccessDenied", "AccessDeniedException", "AllAccessDisabled":
                return SvcConfError(.accessDenied, text)
            case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId", "UnrecognizedClientException",
                 "ExpiredToken", "ExpiredTokenException", "InvalidToken", "IncompleteSignature", "RequestExpired":
                return SvcConfError(.accessDenied, text, hint: "check the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, the task role)")
            case "NoSuchBucket", "NoSuchKey":
                return SvcConfError(.notFound, text)
            case "NotFoundException":  // the KMS key (id, ARN or alias) does not exist: no usable key
                return SvcConfError(.keyUnavailable, text, hint: "check the kms: recipient in the store policy and the region")
            case "DisabledException", "KMSInvalidStateException":
                return SvcConfError(.keyUnavailable, text)
            default:
                if let s = e.status, s >= 500 { return SvcConfError(.unavailable, text) }
                return SvcConfError(.unavailable, text)
            }
        }
    }
}
