/// The AWS region, found as the CLI finds it.
public enum AWSRegion {
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `region` in the profile's section of the config
    /// file (`AWS_CONFIG_FILE`, else `~/.aws/config`; profile `AWS_PROFILE`, else `default`). Throws
    /// ``AWSError/Kind/invalidRequest`` naming those three when none is set, or when the value is not a
    /// region name (lower-case letters, digits and `-`), since it becomes part of a host name.
    public static func resolve(environment: [String: String],
                               readFile: @escaping AWSFileReader = AWSSystem.readFile) throws -> String {
        for name in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
            if let r = CredentialsSupport.value(environment, name) {
                guard isValid(r) else { throw AWSError(.invalidRequest, "\(name) is not a valid AWS region name") }
                return r
            }
        }
        let files = AWSSharedFiles(environment: environment)
        let section = files.profileIsExplicit ? "[profile \(files.profileName)]" : "[default]"
        if let path = files.configPath {
            let text: String?
            do {
                text = try readFile(path)
            } catch let e as AWSError {
                throw AWSError(.invalidRequest, e.message)
            }
            if let text {
                let profiles: AWSSharedFiles.Profiles
                do {
                    profiles = try AWSSharedFiles.parse(text, path: path, isConfig: true)
                } catch {
                    throw AWSError(.invalidRequest, error.message)
                }
                if let r = profiles[files.profileName]?["region"], !r.isEmpty {
                    guard isValid(r) else {
                        throw AWSError(.invalidRequest, "region in \(section) of \(path) is not a valid AWS region name")
                    }
                    return r
                }
            }
        }
        throw AWSError(.invalidRequest, "no AWS region: set AWS_REGION or AWS_DEFAULT_REGION, or region in the \(section) "
            + "section of \(files.configPath ?? "~/.aws/config")")
    }

    /// Whether `region` looks like a region name (`us-east-1`, `eu-central-2`, `us-gov-west-1`, ...):
    /// 1 to 64 of `a-z 0-9 -`, not starting or ending with `-`.
    public static func isValid(_ region: String) -> Bool {
        let b = Array(region.utf8)
        guard !b.isEmpty, b.count <= 64, b.first != 0x2D, b.last != 0x2D else { return false }
        return b.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }
}

/// Endpoint overrides, as the AWS CLI and SDKs read them: `explicit` (`--endpoint-url`), then
/// `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`; empty values count as unset, and
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` ignores the two variables. Nil: the service's AWS
/// endpoint. One place for S3, KMS and STS.
public enum AWSEndpointOverride {
    /// The override for `service` (`S3`, `KMS`, `STS`: the suffix of its variable), or nil.
    public static func resolve(service: String, environment: [String: String], explicit: String?) -> String? {
        if let explicit, !explicit.isEmpty { return explicit }
        if CredentialsSupport.value(environment, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")?.lowercased() == "true" { return nil }
        return CredentialsSupport.value(environment, "AWS_ENDPOINT_URL_" + service) ?? CredentialsSupport.value(environment, "AWS_ENDPOINT_URL")
    }
}
