import SvcConf
import SvcConfAWS
import SvcConfHTTP
import SvcConfYAML

/// Builds the repository the server works on, the way `svcconf-cli` does from `--store` and
/// `--key-file` (same store URLs, same key files, same AWS credential chain for S3 and KMS), with
/// the store and the KMS transport metered for `/metrics`.
public enum ServerRepository {
    /// The repository for `storeURL` with the local keys at `keyFiles` (empty: the key paths the
    /// store policy names) and KMS through the standard AWS chain when configured.
    public static func make(storeURL: String, keyFiles: [String], endpointURL: String?, metrics: ServerMetrics) throws -> ConfigRepository {
        let transport = LazyURLSessionTransport()
        var s3: S3Client?
        if storeURL.hasPrefix("s3://") {
            do {
                s3 = try S3Client.fromEnvironment(transport: transport, endpoint: endpointURL)
            } catch let e as AWSError {
                throw SvcConfError(.usage, "cannot set up S3 for \(storeURL): \(e.message)",
                                   hint: "set AWS_REGION (or AWS_DEFAULT_REGION, or region in the AWS profile)")
            }
        }
        let kms = try? KMSClient.fromEnvironment(transport: MeteredTransport(base: transport, metrics: metrics))
        let store = MeteredStore(base: try StoreLocator.open(storeURL, s3: s3), metrics: metrics)
        return wrap(store: store, keyring: try Keyring.load(paths: keyFiles, kms: kms))
    }

    /// A repository over `store` (metered) with `keyring`; what tests use.
    public static func make(store: any ConfigStore, keyring: Keyring, metrics: ServerMetrics) -> ConfigRepository {
        wrap(store: MeteredStore(base: store, metrics: metrics), keyring: keyring)
    }

    static func wrap(store: any ConfigStore, keyring: Keyring) -> ConfigRepository {
        // The author of each version is set per request to the token's name (see `ConfigRoutes`).
        ConfigRepository(store: store, keyring: keyring, author: "svcconf-server", parseYAML: { name, bytes in
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw SvcConfError(.invalidInput, "\(name): not valid UTF-8")
            }
            return try YAMLCodec.parse(text, source: name)
        })
    }
}
