/// The text formats svcconf reads values from and writes them to.
public enum ConfigFormat: String, Sendable, CaseIterable {
    /// YAML 1.2 (core schema: only `true`/`false` are booleans, so `NO` stays a string).
    case yaml
    /// JSON (RFC 8259).
    case json
    /// A dotenv file: `KEY=VALUE` lines; every value is a string.
    case env
    /// POSIX shell: `export KEY='VALUE'` lines (write only).
    case shell

    /// Guesses the format from a file name: `.yaml`/`.yml`, `.json`, `.env`/`*.env`/`env`; nil when unknown.
    public static func guess(fromFileName name: String) -> ConfigFormat? {
        let lower = name.lowercased()
        let base = lower.split(separator: "/").last.map(String.init) ?? lower
        if base.hasSuffix(".yaml") || base.hasSuffix(".yml") { return .yaml }
        if base.hasSuffix(".json") { return .json }
        if base == ".env" || base.hasSuffix(".env") || base.hasPrefix(".env.") || base == "env" { return .env }
        return nil
    }
}
