/// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (empty values
/// count as unset).
///
/// Not configured when neither key variable is set; an error when only one of the two is.
public struct EnvironmentCredentialsProvider: AWSCredentialsProvider {
    /// The environment read.
    public let environment: [String: String]

    /// A provider over `environment` (tests pass a fixed dictionary).
    public init(environment: [String: String]) {
        self.environment = environment
    }

    /// The credentials from the environment.
    public func credentials() async throws -> AWSCredentials {
        try load()
    }

    /// The synchronous lookup.
    func load() throws(AWSError) -> AWSCredentials {
        let keyId = CredentialsSupport.value(environment, "AWS_ACCESS_KEY_ID")
        let secret = CredentialsSupport.value(environment, "AWS_SECRET_ACCESS_KEY")
        switch (keyId, secret) {
        case (nil, nil):
            throw .credentialsNotConfigured("AWS_ACCESS_KEY_ID is not set")
        case (.some, nil):
            throw AWSError(.credentials, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        case (nil, .some):
            throw AWSError(.credentials, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        case (.some(let k), .some(let s)):
            let token = CredentialsSupport.value(environment, "AWS_SESSION_TOKEN")
            guard CredentialsSupport.isHeaderSafe(k), CredentialsSupport.isHeaderSafe(s),
                  CredentialsSupport.isHeaderSafe(token ?? "") else {
                throw AWSError(.credentials, "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or AWS_SESSION_TOKEN contains control characters")
            }
            return AWSCredentials(accessKeyId: k, secretAccessKey: s, sessionToken: token)
        }
    }
}
