import SvcConf

/// What a token may do, for the configs a pattern matches. Deny by default: a request is allowed
/// only when one of the token's grants has a scope that includes the needed permission and a
/// pattern that matches the config's service and env.
public enum Scope: String, Sendable, CaseIterable, Comparable {
    /// Plaintext config (container start). Nothing else.
    case read
    /// Metadata, history, redacted views and diffs, validation of candidates. Never a secret value.
    case review
    /// Writes (PUT) and everything `review` allows. Not the plaintext route.
    case write
    /// Everything.
    case admin

    /// True when this scope allows `permission`.
    public func allows(_ permission: Permission) -> Bool {
        switch (self, permission) {
        case (.admin, _): return true
        case (.read, .plaintext): return true
        case (.review, .review), (.write, .review), (.write, .write): return true
        default: return false
        }
    }

    public static func < (a: Scope, b: Scope) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// What one route needs.
public enum Permission: String, Sendable {
    /// The plaintext config: `read` or `admin`.
    case plaintext
    /// Metadata and redacted views: `review`, `write` or `admin`.
    case review
    /// A new version: `write` or `admin`.
    case write
}

/// One `SCOPE:SERVICE/ENV` of a token (`review:access-boston/*`, `read:*/prod`).
public struct Grant: Sendable, Hashable, CustomStringConvertible {
    /// The scope.
    public let scope: Scope
    /// `SERVICE/ENV`, each a name or a pattern with `*` (the store policy's pattern language).
    public let pattern: String

    /// Parses `SCOPE:SERVICE/ENV`.
    public init(parsing text: String) throws(SvcConfError) {
        guard let colon = text.firstIndex(of: ":") else {
            throw SvcConfError(.usage, "invalid grant \(Names.quoted(text))", hint: "a grant is SCOPE:SERVICE/ENV, e.g. read:access-boston/prod or review:*/*")
        }
        guard let scope = Scope(rawValue: String(text[..<colon])) else {
            throw SvcConfError(.usage, "unknown scope \(Names.quoted(String(text[..<colon])))", hint: "scopes are read, review, write and admin")
        }
        let pattern = String(text[text.index(after: colon)...])
        guard StorePolicy.isValidPattern(pattern) else {
            throw SvcConfError(.usage, "invalid pattern \(Names.quoted(pattern))", hint: "a pattern is SERVICE/ENV, each a name or a pattern with *, e.g. */prod")
        }
        self.scope = scope
        self.pattern = pattern
    }

    /// True when this grant allows `permission` on `service`/`env`.
    public func allows(_ permission: Permission, service: String, env: String) -> Bool {
        scope.allows(permission) && StorePolicy.matches(pattern, service: service, env: env)
    }

    /// `SCOPE:SERVICE/ENV`.
    public var description: String { "\(scope.rawValue):\(pattern)" }
}
