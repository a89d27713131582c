/// The AWS shared files, `~/.aws/credentials` and `~/.aws/config`, as the CLI and SDKs read them:
/// paths from `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE` (else under HOME), the profile from
/// `AWS_PROFILE` (else `default`); in the config file a profile's section is `[profile NAME]`, except
/// `[default]`; a value in the credentials file wins over the same key in the config file.
struct AWSSharedFiles: Sendable {
    /// A parsed file: profile name to its keys (lower-cased) and values.
    typealias Profiles = [String: [String: String]]

    /// The credentials file path, if one can be named.
    let credentialsPath: String?
    /// The config file path, if one can be named.
    let configPath: String?
    /// The profile name.
    let profileName: String
    /// Whether the profile was chosen explicitly (`AWS_PROFILE`), not the fallback `default`.
    let profileIsExplicit: Bool

    init(environment: [String: String]) {
        let home = CredentialsSupport.home(environment)
        credentialsPath = CredentialsSupport.value(environment, "AWS_SHARED_CREDENTIALS_FILE")
            .map { CredentialsSupport.expandHome($0, environment) } ?? home.map { $0 + "/.aws/credentials" }
        configPath = CredentialsSupport.value(environment, "AWS_CONFIG_FILE")
            .map { CredentialsSupport.expandHome($0, environment) } ?? home.map { $0 + "/.aws/config" }
        if let p = CredentialsSupport.value(environment, "AWS_PROFILE") ?? CredentialsSupport.value(environment, "AWS_DEFAULT_PROFILE") {
            profileName = p
            profileIsExplicit = true
        } else {
            profileName = "default"
            profileIsExplicit = false
        }
    }

    /// Where the profile is looked for, for messages.
    var searchedPaths: String {
        let paths = [credentialsPath, configPath].compactMap { $0 }
        return paths.isEmpty ? "(no HOME, AWS_SHARED_CREDENTIALS_FILE or AWS_CONFIG_FILE)" : paths.joined(separator: " and ")
    }

    /// The profile's merged keys (config first, credentials file on top); nil when neither file has it.
    func profile(readFile: AWSFileReader) throws -> [String: String]? {
        var merged: [String: String]?
        if let path = configPath, let text = try readFile(path) {
            if let section = try AWSSharedFiles.parse(text, path: path, isConfig: true)[profileName] {
                merged = section
            }
        }
        if let path = credentialsPath, let text = try readFile(path) {
            if let section = try AWSSharedFiles.parse(text, path: path, isConfig: false)[profileName] {
                merged = (merged ?? [:]).merging(section) { _, new in new }
            }
        }
        return merged
    }

    /// Parses one INI-style AWS file. Comments are whole lines starting with `#` or `;`; indented lines
    /// continue the previous key (nested settings such as `s3 =`), and are ignored here. In the config
    /// file only `[default]` and `[profile NAME]` are profiles (other sections are skipped). Errors name
    /// the file and line, never the line's content (it may hold a secret).
    static func parse(_ text: String, path: String, isConfig: Bool) throws(AWSError) -> Profiles {
        var profiles: Profiles = [:]
        var current: String?        // the profile being filled, nil inside a skipped section
        var inSection = false
        var haveKey = false
        var lineNumber = 0
        // Split on scalars: as Characters, "\r\n" is one grapheme that is not "\n".
        for rawLine in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var scalars = rawLine
            if scalars.last == "\r" { scalars = scalars.dropLast() }
            let line = Substring(String(String.UnicodeScalarView(scalars)))
            let trimmed = CredentialsSupport.trim(line)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            func fail(_ what: String) -> AWSError {
                AWSError(.credentials, "\(path) line \(lineNumber): \(what)")
            }
            if line.first == " " || line.first == "\t" {
                // A continuation of the previous key's value (a nested block).
                guard haveKey else { throw fail("indented line outside a key") }
                continue
            }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]"), trimmed.count >= 2 else { throw fail("section header without a closing ']'") }
                let name = CredentialsSupport.trim(trimmed.dropFirst().dropLast())
                guard !name.isEmpty else { throw fail("empty section name") }
                inSection = true
                haveKey = false
                if isConfig {
                    if name == "default" {
                        current = "default"
                    } else if name.hasPrefix("profile ") || name.hasPrefix("profile\t") {
                        let p = CredentialsSupport.trim(name.dropFirst(8))
                        guard !p.isEmpty else { throw fail("empty profile name") }
                        current = p
                    } else {
                        current = nil  // [sso-session x], [services x], ...
                    }
                } else {
                    current = name
                }
                if let current, profiles[current] == nil { profiles[current] = [:] }
                continue
            }
            guard let eq = trimmed.firstIndex(of: "=") else { throw fail("expected 'key = value'") }
            let key = CredentialsSupport.trim(trimmed[..<eq]).lowercased()
            let value = CredentialsSupport.trim(trimmed[trimmed.index(after: eq)...])
            guard !key.isEmpty else { throw fail("empty key") }
            guard inSection else { throw fail("'key = value' before any [section]") }
            haveKey = true
            if let current { profiles[current]![key] = value }
        }
        return profiles
    }

    /// Profile keys that name a credential source svcconf does not implement.
    static let unsupportedKeys = [
        "role_arn", "credential_process", "credential_source", "web_identity_token_file",
        "sso_session", "sso_start_url", "sso_account_id", "sso_role_name",
    ]
}

/// Static keys from the shared files: `aws_access_key_id`, `aws_secret_access_key` and
/// `aws_session_token` of the profile `AWS_PROFILE` (else `default`).
///
/// Not configured when the files or the `default` profile are absent, or `default` has no keys. An
/// error when `AWS_PROFILE` names a profile that is missing or has no keys, when a file is malformed,
/// when only one of the two keys is present, or when the profile uses a source svcconf does not
/// support (`role_arn`, `sso_*`, `credential_process`, ...: the message names the key).
public struct SharedFilesCredentialsProvider: AWSCredentialsProvider {
    /// The environment read.
    public let environment: [String: String]
    /// How files are read.
    public let readFile: AWSFileReader

    /// A provider over `environment` and `readFile` (tests pass fixed ones).
    public init(environment: [String: String], readFile: @escaping AWSFileReader = AWSSystem.readFile) {
        self.environment = environment
        self.readFile = readFile
    }

    /// The credentials of the selected profile.
    public func credentials() async throws -> AWSCredentials {
        try load()
    }

    /// The synchronous lookup.
    func load() throws -> AWSCredentials {
        let files = AWSSharedFiles(environment: environment)
        let name = files.profileName
        let quoted = "profile \"\(name)\""
        guard let profile = try files.profile(readFile: readFile) else {
            if files.profileIsExplicit {
                throw AWSError(.credentials, "\(quoted) (AWS_PROFILE) not found in \(files.searchedPaths)")
            }
            throw AWSError.credentialsNotConfigured("no [default] profile in \(files.searchedPaths)")
        }
        if let key = AWSSharedFiles.unsupportedKeys.first(where: { profile[$0] != nil }) {
            throw AWSError(.credentials, "\(quoted) uses \(key), which svcconf does not support: only static keys "
                + "(aws_access_key_id, aws_secret_access_key, aws_session_token) are read from \(files.searchedPaths)")
        }
        let keyId = profile["aws_access_key_id"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = profile["aws_secret_access_key"].flatMap { $0.isEmpty ? nil : $0 }
        switch (keyId, secret) {
        case (nil, nil):
            if files.profileIsExplicit {
                throw AWSError(.credentials, "\(quoted) (AWS_PROFILE) has no aws_access_key_id and aws_secret_access_key in \(files.searchedPaths)")
            }
            throw AWSError.credentialsNotConfigured("\(quoted) has no aws_access_key_id")
        case (.some, nil):
            throw AWSError(.credentials, "\(quoted) has aws_access_key_id but no aws_secret_access_key")
        case (nil, .some):
            throw AWSError(.credentials, "\(quoted) has aws_secret_access_key but no aws_access_key_id")
        case (.some(let k), .some(let s)):
            let token = (profile["aws_session_token"] ?? profile["aws_security_token"]).flatMap { $0.isEmpty ? nil : $0 }
            guard CredentialsSupport.isHeaderSafe(k), CredentialsSupport.isHeaderSafe(s),
                  CredentialsSupport.isHeaderSafe(token ?? "") else {
                throw AWSError(.credentials, "\(quoted) has keys with control characters")
            }
            return AWSCredentials(accessKeyId: k, secretAccessKey: s, sessionToken: token)
        }
    }
}
