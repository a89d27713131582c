/// An access key pair, with a session token for temporary credentials. Not printable: the secret
/// never reaches a log or an error.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible {
    /// `AKIA...` / `ASIA...`.
    public let accessKeyId: String
    /// The secret access key.
    public let secretAccessKey: String
    /// The session token of temporary credentials.
    public let sessionToken: String?
    /// When temporary credentials expire (seconds since the epoch), if known.
    public let expiration: Int64?

    /// Memberwise initializer.
    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Int64? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    /// `AWSCredentials(AKIA...EXAMPLE, secret redacted)`.
    public var description: String { "AWSCredentials(\(accessKeyId), secret redacted)" }
}

/// The error type of the AWS module: transport failures and AWS error responses, parsed.
/// Messages never contain credentials, signatures or request bodies.
public struct AWSError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong.
    public enum Kind: String, Sendable {
        /// No connection, reset, refused, DNS, TLS.
        case connection
        /// No complete response in time.
        case timeout
        /// AWS answered with an error (see ``code``, ``status``).
        case service
        /// No credentials found, or they could not be loaded.
        case credentials
        /// A response that does not parse.
        case malformedResponse
        /// A request svcconf would not send (bad bucket name, region, ...).
        case invalidRequest
    }

    /// The class.
    public let kind: Kind
    /// The HTTP status for `.service`.
    public let status: Int?
    /// The AWS error code (`NoSuchKey`, `AccessDenied`, `SignatureDoesNotMatch`, ...).
    public let code: String?
    /// A one-line message (AWS's message for `.service`).
    public let message: String
    /// The request id, for support cases.
    public let requestId: String?

    /// Memberwise initializer.
    public init(_ kind: Kind, _ message: String, status: Int? = nil, code: String? = nil, requestId: String? = nil) {
        self.kind = kind
        self.message = message
        self.status = status
        self.code = code
        self.requestId = requestId
    }

    /// `AccessDenied (403): Access Denied [request id ...]`.
    public var description: String {
        var s = ""
        if let code { s += code }
        if let status { s += s.isEmpty ? "HTTP \(status)" : " (\(status))" }
        s += s.isEmpty ? message : ": " + message
        if let requestId { s += " [request id \(requestId)]" }
        return s
    }
}
