/// The one STS call svcconf makes: `GetCallerIdentity`, to name the AWS principal as the author of a
/// version when no `--author` is given (AWS's own answer to "who is this?"; it needs no IAM
/// permission). Query API: a signed form POST, an XML answer.
public struct STSClient: Sendable {
    public let region: String
    public let credentials: any AWSCredentialsProvider
    public let transport: any HTTPTransport
    public var timeout: Double
    public var retry: RetryPolicy
    let url: AWSURLParts

    /// The identity STS reports.
    public struct Identity: Sendable, Equatable {
        /// `arn:aws:iam::123456789012:user/alice`, `arn:aws:sts::123456789012:assumed-role/editor/alice`.
        public var arn: String
        /// The 12-digit account id.
        public var account: String
    }

    /// `https://sts.REGION.amazonaws.com` (the regional endpoint, as current SDKs use).
    public static func defaultEndpoint(region: String) -> String { "https://sts.\(region).amazonaws.com" }

    /// The endpoint override, as for S3 and KMS: `explicit`, `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`.
    public static func endpoint(environment: [String: String], explicit: String? = nil) -> String? {
        AWSEndpointOverride.resolve(service: "STS", environment: environment, explicit: explicit)
    }

    public init(region: String, credentials: any AWSCredentialsProvider, transport: any HTTPTransport,
                endpoint: String? = nil, timeout: Double = 10, retry: RetryPolicy = .default) throws {
        guard AWSRegion.isValid(region) else { throw AWSError(.invalidRequest, "not a valid AWS region name for STS") }
        let text = endpoint ?? STSClient.defaultEndpoint(region: region)
        guard let url = AWSURLParts.parse(text) else {
            throw AWSError(.invalidRequest, "the STS endpoint \(String(text.prefix(200))) is not an http(s) URL")
        }
        self.region = region
        self.url = url
        self.credentials = credentials
        self.transport = transport
        self.timeout = timeout
        self.retry = retry
    }

    /// A client configured from the environment like ``KMSClient/fromEnvironment(environment:readFile:transport:region:endpoint:)``.
    public static func fromEnvironment(environment: [String: String] = AWSSystem.environment(),
                                       readFile: @escaping AWSFileReader = AWSSystem.readFile,
                                       transport: any HTTPTransport) throws -> STSClient {
        let r = try AWSRegion.resolve(environment: environment, readFile: readFile)
        let chain = AWSCredentialsChain.standard(environment: environment, readFile: readFile, transport: transport)
        return try STSClient(region: r, credentials: AWSCredentialsCache(chain), transport: transport,
                             endpoint: endpoint(environment: environment))
    }

    /// GetCallerIdentity.
    public func callerIdentity() async throws -> Identity {
        let url = self.url, region = self.region, credentials = self.credentials
        let body = Array("Action=GetCallerIdentity&Version=2011-06-15".utf8)
        let outcome = try await retry.send(using: transport, timeout: timeout, idempotent: true) { _ in
            let creds = try await credentials.credentials()
            var request = HTTPRequest(method: "POST", scheme: url.scheme, host: url.hostHeader, path: url.path, query: url.query,
                                      headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], body: body)
            SigV4Signer(credentials: creds, region: region, service: "sts").sign(&request, date: SigV4Date.now())
            return request
        }
        let response = outcome.response
        guard response.status == 200 else { throw S3Errors.error(from: response, what: "sts GetCallerIdentity") }
        let root = try XMLReader.parse(response.body)
        guard let result = root.child("GetCallerIdentityResult"), let arn = result.childText("Arn"), !arn.isEmpty,
              arn.utf8.count <= 2048, arn.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
            throw AWSError(.malformedResponse, "sts GetCallerIdentity: no Arn in the answer", status: response.status)
        }
        return Identity(arn: arn, account: result.childText("Account") ?? "")
    }
}
