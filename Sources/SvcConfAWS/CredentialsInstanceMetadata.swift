/// Credentials of an EC2 instance profile from the instance metadata service, IMDSv2 only:
/// `PUT /latest/api/token` (`X-aws-ec2-metadata-token-ttl-seconds: 21600`), then with
/// `X-aws-ec2-metadata-token` `GET /latest/meta-data/iam/security-credentials/` (the role name) and
/// `GET .../security-credentials/ROLE` (the JSON document). Short timeouts (1 s).
///
/// Endpoint: `AWS_EC2_METADATA_SERVICE_ENDPOINT` (for tests), else `http://[fd00:ec2::254]` when
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`, else `http://169.254.169.254`.
/// Not configured when `AWS_EC2_METADATA_DISABLED=true`, when the default endpoint does not answer
/// (not on EC2) or when the instance has no role; an explicitly set endpoint that does not answer, and
/// every other failure, is reported.
public struct InstanceMetadataCredentialsProvider: AWSCredentialsProvider {
    /// The default endpoint.
    public static let defaultEndpoint = "http://169.254.169.254"
    /// The default endpoint in IPv6 mode.
    public static let defaultIPv6Endpoint = "http://[fd00:ec2::254]"
    /// The token lifetime asked for, seconds.
    public static let tokenTTL = 21600

    /// The environment read.
    public let environment: [String: String]
    /// The transport.
    public let transport: any HTTPTransport
    /// Seconds per attempt.
    public let timeout: Double
    /// Retries on no answer and 5xx.
    public let retry: RetryPolicy

    /// A provider over `environment`.
    public init(environment: [String: String], transport: any HTTPTransport, timeout: Double = 1,
                retry: RetryPolicy = RetryPolicy(maxAttempts: 2, baseDelay: 0.05, maxDelay: 0.2)) {
        self.environment = environment
        self.transport = transport
        self.timeout = timeout
        self.retry = retry
    }

    /// Whether `AWS_EC2_METADATA_DISABLED` is `true`.
    public var isDisabled: Bool {
        CredentialsSupport.value(environment, "AWS_EC2_METADATA_DISABLED")?.lowercased() == "true"
    }

    /// The endpoint and whether it was set explicitly.
    func endpoint() throws(AWSError) -> (url: AWSURLParts, explicit: Bool) {
        if let text = CredentialsSupport.value(environment, "AWS_EC2_METADATA_SERVICE_ENDPOINT") {
            guard let url = AWSURLParts.parse(text) else {
                throw AWSError(.credentials, "AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http(s) URL")
            }
            return (url, true)
        }
        let ipv6 = CredentialsSupport.value(environment, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")?.lowercased() == "ipv6"
        return (AWSURLParts.parse(ipv6 ? Self.defaultIPv6Endpoint : Self.defaultEndpoint)!, false)
    }

    /// Fetches the credentials.
    public func credentials() async throws -> AWSCredentials {
        if isDisabled { throw AWSError.credentialsNotConfigured("AWS_EC2_METADATA_DISABLED is true") }
        let (base, explicit) = try endpoint()
        let source = "EC2 instance metadata \(base.hostHeader)"
        let prefix = base.path.hasSuffix("/") ? String(base.path.dropLast()) : base.path

        func send(_ method: String, _ path: String, _ headers: [(name: String, value: String)]) async throws -> HTTPResponse {
            var url = base
            url.path = prefix + path
            url.query = []
            let request = url.request(method: method, headers: headers)
            do {
                return try await retry.send(using: transport, timeout: timeout, idempotent: true, errorCode: { _ in nil }) { _ in
                    request
                }.response
            } catch let e as AWSError {
                throw AWSError(e.kind, "\(source): \(e.message)")
            }
        }

        // 1. The session token.
        let tokenResponse: HTTPResponse
        do {
            tokenResponse = try await send("PUT", "/latest/api/token", [("X-aws-ec2-metadata-token-ttl-seconds", String(Self.tokenTTL))])
        } catch let e as AWSError where !explicit && (e.kind == .connection || e.kind == .timeout) {
            throw AWSError.credentialsNotConfigured("\(source) does not answer (not on EC2)")
        }
        guard tokenResponse.status == 200 else {
            throw AWSError(.credentials, "\(source): the IMDSv2 token request answered HTTP \(tokenResponse.status)", status: tokenResponse.status)
        }
        let token = CredentialsSupport.trim(String(decoding: tokenResponse.body, as: UTF8.self))
        guard !token.isEmpty, token.utf8.count <= 4096, CredentialsSupport.isHeaderSafe(token) else {
            throw AWSError(.malformedResponse, "\(source): the IMDSv2 token is empty or not a header value")
        }
        let auth = [(name: "X-aws-ec2-metadata-token", value: token)]

        // 2. The role name.
        let listPath = "/latest/meta-data/iam/security-credentials/"
        let list = try await send("GET", listPath, auth)
        if list.status == 404 {
            throw AWSError.credentialsNotConfigured("\(source): no IAM role (instance profile) is attached to this instance")
        }
        guard list.status == 200 else {
            throw AWSError(.credentials, "\(source): listing the instance role answered HTTP \(list.status)", status: list.status)
        }
        let firstLine = String(decoding: list.body, as: UTF8.self).split(whereSeparator: \.isNewline).first
        let role = CredentialsSupport.trim(firstLine ?? "")
        guard !role.isEmpty, role.utf8.count <= 128, CredentialsSupport.isHeaderSafe(role) else {
            throw AWSError(.malformedResponse, "\(source): no role name in the instance role listing")
        }

        // 3. The credentials of that role.
        let creds = try await send("GET", listPath + AWSEncoding.uriEncode(role), auth)
        guard creds.status == 200 else {
            throw AWSError(.credentials, "\(source): fetching the credentials of role \(role) answered HTTP \(creds.status)", status: creds.status)
        }
        return try CredentialsSupport.credentials(fromJSON: creds.body, source: source)
    }
}
