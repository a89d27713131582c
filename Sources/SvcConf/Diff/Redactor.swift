/// Turns a config into what may be shown to someone who must not see secrets.
public struct Redactor: Sendable {
    /// Which values are secret.
    public let secrecy: any SecrecyPolicy
    /// How secret values are fingerprinted.
    public let fingerprinter: Fingerprinter

    /// Memberwise initializer.
    public init(secrecy: any SecrecyPolicy, fingerprinter: Fingerprinter) {
        self.secrecy = secrecy
        self.fingerprinter = fingerprinter
    }

    /// The placeholder shown instead of a secret value: `<secret fp:1a2b3c4d>`.
    public func placeholder(_ v: ConfigValue) -> String { "<secret \(fingerprinter.fingerprint(v))>" }

    /// The placeholder shown instead of a secret file: `<secret file, N bytes, fp:...>`.
    public func placeholder(file bytes: [UInt8]) -> String {
        "<secret file, \(bytes.count) bytes, \(fingerprinter.fingerprint(file: bytes))>"
    }

    /// `value` at `path` with every secret subtree replaced by its placeholder string.
    public func redact(_ value: ConfigValue, at path: [String]) -> ConfigValue {
        if secrecy.isSecret(valuePath: path) { return .string(placeholder(value)) }
        switch value {
        case .object(let o):
            var out: [String: ConfigValue] = [:]
            for (k, v) in o { out[k] = redact(v, at: path + [k]) }
            return .object(out)
        case .array(let a):
            return .array(a.enumerated().map { redact($1, at: path + [String($0)]) })
        default:
            return value
        }
    }

    /// The redacted values of a config.
    public func redactValues(_ config: Config) -> [String: ConfigValue] {
        var out: [String: ConfigValue] = [:]
        for (k, v) in config.values { out[k] = redact(v, at: [k]) }
        return out
    }

    /// How a file is shown: its text when not secret and valid UTF-8, otherwise a placeholder.
    public func redactFile(_ name: String, _ bytes: [UInt8]) -> ConfigValue {
        guard !secrecy.isSecret(file: name) else { return .string(placeholder(file: bytes)) }
        if let s = String(validating: bytes, as: UTF8.self) { return .string(s) }
        // Not secret, just not text: say so without calling it secret.
        return .string("<file, \(bytes.count) bytes, \(fingerprinter.fingerprint(file: bytes))>")
    }

    /// The redacted document `{"values": ..., "files": ...}` that `show` prints.
    public func redactedDocument(_ config: Config) -> ConfigValue {
        var files: [String: ConfigValue] = [:]
        for (n, b) in config.files { files[n] = redactFile(n, b) }
        return .object(["values": .object(redactValues(config)), "files": .object(files)])
    }
}
