/// Credentials of an ECS task role (or an EKS Pod Identity association) from the container
/// credentials endpoint:
/// - `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`: `GET http://169.254.170.2$URI` (no Authorization);
/// - else `AWS_CONTAINER_CREDENTIALS_FULL_URI`: https to any host, or http only to a loopback address
///   (`127.0.0.0/8`, `::1`, `localhost`) or the ECS/EKS link-local addresses (`169.254.170.2`,
///   `169.254.170.23`, `fd00:ec2::23`); any other http URL is refused before a request is made. The
///   `Authorization` header is the contents of `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read on every
///   call: the token rotates), else `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
///
/// The answer is JSON with `AccessKeyId`, `SecretAccessKey`, `Token` and `Expiration` (RFC 3339).
/// Not configured when neither URI variable is set; every failure after that is reported.
public struct ContainerCredentialsProvider: AWSCredentialsProvider {
    /// The ECS agent's address for `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`.
    public static let ecsHost = "169.254.170.2"
    /// Hosts besides loopback that a plain-http `AWS_CONTAINER_CREDENTIALS_FULL_URI` may name.
    public static let allowedHTTPHosts: Set<String> = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23"]

    /// The environment read.
    public let environment: [String: String]
    /// The transport.
    public let transport: any HTTPTransport
    /// How the token file is read.
    public let readFile: AWSFileReader
    /// Seconds per attempt.
    public let timeout: Double
    /// Retries on no answer and 5xx.
    public let retry: RetryPolicy

    /// A provider over `environment` (tests pass a fixed dictionary and a local endpoint).
    public init(environment: [String: String], transport: any HTTPTransport,
                readFile: @escaping AWSFileReader = AWSSystem.readFile,
                timeout: Double = 2, retry: RetryPolicy = RetryPolicy(maxAttempts: 3, baseDelay: 0.1, maxDelay: 1)) {
        self.environment = environment
        self.transport = transport
        self.readFile = readFile
        self.timeout = timeout
        self.retry = retry
    }

    /// Whether one of the URI variables is set.
    public var isConfigured: Bool {
        CredentialsSupport.value(environment, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != nil
            || CredentialsSupport.value(environment, "AWS_CONTAINER_CREDENTIALS_FULL_URI") != nil
    }

    /// The endpoint and whether it takes the Authorization token (FULL_URI only).
    func endpoint() throws(AWSError) -> (url: AWSURLParts, full: Bool) {
        if let relative = CredentialsSupport.value(environment, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            guard relative.hasPrefix("/"), let url = AWSURLParts.parse("http://\(ContainerCredentialsProvider.ecsHost)\(relative)") else {
                throw AWSError(.credentials, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not a path starting with '/'")
            }
            return (url, false)
        }
        guard let full = CredentialsSupport.value(environment, "AWS_CONTAINER_CREDENTIALS_FULL_URI") else {
            throw .credentialsNotConfigured("neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set")
        }
        guard let url = AWSURLParts.parse(full) else {
            throw AWSError(.credentials, "AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s) URL")
        }
        if url.scheme == "http" && !url.isLoopback && !ContainerCredentialsProvider.allowedHTTPHosts.contains(url.hostname) {
            throw AWSError(.credentials, "AWS_CONTAINER_CREDENTIALS_FULL_URI: refusing plain http to \(url.hostname): "
                + "use https, or http to a loopback address (127.0.0.0/8, ::1, localhost) or an ECS/EKS container credentials address")
        }
        return (url, true)
    }

    /// The Authorization value for a FULL_URI request, if any.
    func authorization() throws -> String? {
        var token: String?
        if let path = CredentialsSupport.value(environment, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            guard let text = try readFile(path) else {
                throw AWSError(.credentials, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: \(path) does not exist")
            }
            token = CredentialsSupport.trim(text)
            guard !token!.isEmpty else { throw AWSError(.credentials, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: \(path) is empty") }
        } else if let t = CredentialsSupport.value(environment, "AWS_CONTAINER_AUTHORIZATION_TOKEN") {
            token = t
        }
        if let token, !CredentialsSupport.isHeaderSafe(token) {
            throw AWSError(.credentials, "the container authorization token contains control characters")
        }
        return token
    }

    /// Fetches the credentials.
    public func credentials() async throws -> AWSCredentials {
        let (url, full) = try endpoint()
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        if full, let token = try authorization() { headers.append(("Authorization", token)) }
        let request = url.request(method: "GET", headers: headers)
        let source = "container credentials endpoint \(url.hostHeader)"
        let response: HTTPResponse
        do {
            response = try await retry.send(using: transport, timeout: timeout, idempotent: true, errorCode: { _ in nil }) { _ in
                request
            }.response
        } catch let e as AWSError {
            throw AWSError(e.kind, "\(source): \(e.message)")
        }
        guard response.status == 200 else {
            throw AWSError(.credentials, "\(source) answered HTTP \(response.status)", status: response.status)
        }
        return try CredentialsSupport.credentials(fromJSON: response.body, source: source)
    }
}
