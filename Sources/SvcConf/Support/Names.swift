/// Names of services, envs and variants: `^[a-z0-9][a-z0-9-]{0,62}$`. Checked before any I/O, so a
/// name can never walk out of the store (`../x`) or collide by case (`A` vs `a`).
public enum Names {
    /// True when `name` is a valid service, env or variant name.
    public static func isValid(_ name: String) -> Bool {
        let u = Array(name.utf8)
        guard (1...63).contains(u.count) else { return false }
        for (i, c) in u.enumerated() {
            let ok = (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || (i > 0 && c == 0x2D)
            if !ok { return false }
        }
        return true
    }

    /// Throws a usage error naming the kind of name when `name` is invalid. The name itself is echoed
    /// only when it is short and printable (it is an identifier, not a secret).
    public static func check(_ name: String, as what: String) throws(SvcConfError) {
        guard isValid(name) else {
            let shown = name.utf8.count <= 80 && name.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F }
                ? "\"\(name)\"" : "(\(name.utf8.count) bytes)"
            throw SvcConfError(.usage, "invalid \(what) name \(shown)",
                               hint: "\(what) names are 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit")
        }
    }

    /// True when `name` is a usable file name inside a config: 1-255 bytes of `A-Za-z0-9._-`, not `.` or `..`.
    public static func isValidFileName(_ name: String) -> Bool {
        let u = Array(name.utf8)
        guard (1...255).contains(u.count), name != ".", name != ".." else { return false }
        return u.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x5F || c == 0x2D
        }
    }

    /// A key or file name quoted for a message: a JSON string literal, cut to 64 bytes. Key names are
    /// not secret, but they come from input, so they are escaped and bounded.
    public static func quoted(_ key: String) -> String {
        var cut = Substring(key)
        while cut.utf8.count > 64 { cut = cut.dropLast() }
        var out: [UInt8] = []
        JSON.writeString(String(cut), into: &out)
        if cut.count < key.count { out.insert(contentsOf: Array("…".utf8), at: out.count - 1) }
        return String(decoding: out, as: UTF8.self)
    }

    /// True when `text` is safe to print as metadata (author, message): no C0 or C1 control
    /// characters, DEL, or bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) that
    /// could make a terminal show something else than what is there; LF and TAB only when allowed.
    public static func isPrintableText(_ text: String, allowNewlines: Bool) -> Bool {
        text.unicodeScalars.allSatisfy { c in
            switch c.value {
            case 0x09, 0x0A: return allowNewlines
            case 0x00..<0x20, 0x7F..<0xA0, 0x202A...0x202E, 0x2066...0x2069: return false
            default: return true
            }
        }
    }

    /// True when `key` can be an environment variable name: `^[A-Za-z_][A-Za-z0-9_]*$`.
    public static func isEnvironmentName(_ key: String) -> Bool {
        let u = Array(key.utf8)
        guard let f = u.first, (f >= 0x41 && f <= 0x5A) || (f >= 0x61 && f <= 0x7A) || f == 0x5F else { return false }
        return u.allSatisfy { c in (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x5F }
    }
}

/// Where one config lives: a service, an env, and optionally a variant inside that env.
public struct ConfigAddress: Sendable, Hashable, CustomStringConvertible, Comparable {
    /// The service name (`access-boston`).
    public let service: String
    /// The env name (`prod`).
    public let env: String
    /// The variant name (`dev`), if any.
    public let variant: String?

    /// Validates the names (before any I/O) and creates the address.
    public init(service: String, env: String, variant: String? = nil) throws(SvcConfError) {
        try Names.check(service, as: "service")
        try Names.check(env, as: "env")
        if let variant { try Names.check(variant, as: "variant") }
        if variant != nil && env == "base" {
            throw SvcConfError(.usage, "the base layer has no variants", hint: "variants live inside an env: --env staging --variant dev")
        }
        self.service = service
        self.env = env
        self.variant = variant
    }

    /// `service/env` or `service/env/variant`.
    public var description: String {
        variant.map { "\(service)/\(env)/\($0)" } ?? "\(service)/\(env)"
    }

    /// Orders by service, env, then variant (no variant first).
    public static func < (a: ConfigAddress, b: ConfigAddress) -> Bool {
        (a.service, a.env, a.variant ?? "") < (b.service, b.env, b.variant ?? "")
    }
}
