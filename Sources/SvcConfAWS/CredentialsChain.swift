/// Tries providers in order and returns the first credentials found.
///
/// A provider that is not configured (``AWSError/isCredentialsNotConfigured``) is skipped; any other
/// error — a configured source that fails, e.g. an ECS endpoint that does not answer or a malformed
/// `~/.aws/credentials` — is thrown as it is, not hidden by a later provider. When no provider is
/// configured, the error is ``noCredentialsMessage``.
public struct AWSCredentialsChain: AWSCredentialsProvider {
    /// The providers, in order.
    public let providers: [any AWSCredentialsProvider]

    /// The message when no provider is configured.
    public static let noCredentialsMessage = "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
        + "or AWS_PROFILE, or run where an ECS task role or EC2 instance profile is available"

    /// A chain of `providers`.
    public init(_ providers: [any AWSCredentialsProvider]) {
        self.providers = providers
    }

    /// The AWS SDKs' order: environment, shared files (`~/.aws/credentials`, `~/.aws/config`), ECS
    /// container endpoint, EC2 instance metadata (IMDSv2). Wrap it in an ``AWSCredentialsCache``.
    public static func standard(environment: [String: String] = AWSSystem.environment(),
                                readFile: @escaping AWSFileReader = AWSSystem.readFile,
                                transport: any HTTPTransport) -> AWSCredentialsChain {
        AWSCredentialsChain([
            EnvironmentCredentialsProvider(environment: environment),
            SharedFilesCredentialsProvider(environment: environment, readFile: readFile),
            ContainerCredentialsProvider(environment: environment, transport: transport, readFile: readFile),
            InstanceMetadataCredentialsProvider(environment: environment, transport: transport),
        ])
    }

    /// The first provider's credentials that is configured.
    public func credentials() async throws -> AWSCredentials {
        for provider in providers {
            do {
                return try await provider.credentials()
            } catch let e as AWSError where e.isCredentialsNotConfigured {
                continue
            }
        }
        throw AWSError(.credentials, AWSCredentialsChain.noCredentialsMessage)
    }
}
