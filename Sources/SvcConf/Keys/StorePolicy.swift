/// The store's sealing policy: which recipients seal new versions of which service/env. It lives in
/// the store, so every writer seals the same way.
///
/// JSON (see schemas/store-policy.schema.json):
/// ```json
/// {"format":"svcconf-policy/v1","rules":[
///   {"match":"*/*","recipients":[{"uri":"local:~/.config/svcconf/default.key","keyId":"1a2b3c4d5e6f7081"}]},
///   {"match":"*/prod","recipients":[{"uri":"kms:alias/{service}-prod"},{"uri":"local:breakglass.key","keyId":"..."}]}]}
/// ```
/// `match` is `SERVICE/ENV`, each side a name, `*`, or a name with `*` wildcards. The rule with the most
/// specific match wins (a literal side counts 2, a partial wildcard 1, `*` 0); two matching rules of equal
/// specificity are an error rather than a guess. `{service}` and `{env}` in a uri are replaced.
public struct StorePolicy: Sendable, Equatable {
    /// The format id.
    public static let format = "svcconf-policy/v1"

    /// A recipient as the policy names it.
    public struct RecipientRef: Sendable, Hashable, CustomStringConvertible {
        /// `local:PATH` or `kms:KEY`.
        public var uri: String
        /// For local keys: the key id, so a writer finds the key whatever its path on that machine.
        public var keyId: String?
        /// Memberwise initializer.
        public init(uri: String, keyId: String? = nil) {
            self.uri = uri
            self.keyId = keyId
        }
        /// The uri, with the key id for local keys.
        public var description: String { keyId.map { "\(uri) (key id \($0))" } ?? uri }
    }

    /// One rule.
    public struct Rule: Sendable, Equatable {
        /// `SERVICE/ENV` pattern.
        public var match: String
        /// Who seals matching configs.
        public var recipients: [RecipientRef]
        /// Memberwise initializer.
        public init(match: String, recipients: [RecipientRef]) {
            self.match = match
            self.recipients = recipients
        }
    }

    /// The rules, in the order written.
    public var rules: [Rule]

    /// Memberwise initializer.
    public init(rules: [Rule]) { self.rules = rules }

    /// The recipients for `address` (placeholders expanded).
    public func recipients(for address: ConfigAddress) throws(SvcConfError) -> [RecipientRef] {
        var best: (score: Int, rule: Rule)?
        var tie: Rule?
        for rule in rules {
            guard let score = StorePolicy.score(rule.match, service: address.service, env: address.env) else { continue }
            if best == nil || score > best!.score {
                best = (score, rule)
                tie = nil
            } else if score == best!.score {
                tie = rule
            }
        }
        guard let best else {
            throw SvcConfError(.keyUnavailable, "the store policy has no rule for \(address.service)/\(address.env)",
                               hint: "add one with `svcconf recipients add`")
        }
        if let tie {
            throw SvcConfError(.usage, "the store policy is ambiguous for \(address.service)/\(address.env): rules \"\(best.rule.match)\" and \"\(tie.match)\" are equally specific",
                               hint: "add a rule for \(address.service)/\(address.env)")
        }
        return best.rule.recipients.map { r in
            RecipientRef(uri: r.uri.replacingPlaceholders(service: address.service, env: address.env), keyId: r.keyId)
        }
    }

    /// True when `pattern` (`SERVICE/ENV`, `*` wildcards) matches `service`/`env`: the language of
    /// policy rules, also used by the server's token grants.
    public static func matches(_ pattern: String, service: String, env: String) -> Bool {
        // ``score(_:service:env:)``'s test without allocating (servers check a token per request).
        var (pattern, service, env) = (pattern, service, env)
        return pattern.withUTF8 { p in
            guard let slash = p.firstIndex(of: 0x2F), !p[(slash + 1)...].contains(0x2F) else { return false }
            return service.withUTF8 { glob(UnsafeBufferPointer(rebasing: p[..<slash]), $0) }
                && env.withUTF8 { glob(UnsafeBufferPointer(rebasing: p[(slash + 1)...]), $0) }
        }
    }

    /// Specificity of `pattern` for service/env, or nil when it does not match.
    static func score(_ pattern: String, service: String, env: String) -> Int? {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        var total = 0
        for (p, name) in zip(parts, [service, env]) {
            guard glob(Array(p.utf8), Array(name.utf8)) else { return nil }
            total += p == "*" ? 0 : (p.contains("*") ? 1 : 2)
        }
        return total
    }

    static func glob(_ p: [UInt8], _ s: [UInt8]) -> Bool {
        p.withUnsafeBufferPointer { p in s.withUnsafeBufferPointer { s in glob(p, s) } }
    }

    static func glob(_ p: UnsafeBufferPointer<UInt8>, _ s: UnsafeBufferPointer<UInt8>) -> Bool {
        var pi = 0, si = 0, star = -1, mark = 0
        while si < s.count {
            if pi < p.count && p[pi] == s[si] { pi += 1; si += 1 }
            else if pi < p.count && p[pi] == 0x2A { star = pi; mark = si; pi += 1 }
            else if star >= 0 { pi = star + 1; mark += 1; si = mark }
            else { return false }
        }
        while pi < p.count && p[pi] == 0x2A { pi += 1 }
        return pi == p.count
    }

    /// True when `pattern` is `SERVICE/ENV` made of name characters and `*`.
    public static func isValidPattern(_ pattern: String) -> Bool {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { p in
            !p.isEmpty && p.count <= 63 && p.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2A }
        }
    }

    // MARK: - JSON

    /// The canonical JSON document.
    public func encoded() -> [UInt8] {
        var out = JSON.canonical(.object([
            "format": .string(StorePolicy.format),
            "rules": .array(rules.map { r in
                .object(["match": .string(r.match), "recipients": .array(r.recipients.map { ref in
                    var o: [String: ConfigValue] = ["uri": .string(ref.uri)]
                    if let k = ref.keyId { o["keyId"] = .string(k) }
                    return .object(o)
                })])
            }),
        ]))
        out.append(0x0A)
        return out
    }

    /// Strictly parses a policy document.
    public static func decode(_ bytes: [UInt8], source: String) throws(SvcConfError) -> StorePolicy {
        func bad(_ why: String) -> SvcConfError { SvcConfError(.invalidInput, "store policy \(source): \(why)") }
        let v: ConfigValue
        do { v = try JSON.parse(bytes) } catch { throw bad(error.description) }
        guard case .object(let o) = v, Set(o.keys) == ["format", "rules"] else { throw bad("expected the members format and rules") }
        guard o["format"] == .string(format) else { throw bad("unknown format (expected \(format))") }
        guard case .array(let rs)? = o["rules"] else { throw bad("rules must be an array") }
        var rules: [Rule] = []
        for r in rs {
            guard case .object(let ro) = r, Set(ro.keys) == ["match", "recipients"],
                  case .string(let m)? = ro["match"], isValidPattern(m), case .array(let refs)? = ro["recipients"], !refs.isEmpty
            else { throw bad("each rule needs a match SERVICE/ENV and a non-empty recipients list") }
            var out: [RecipientRef] = []
            for ref in refs {
                guard case .object(let fo) = ref, case .string(let uri)? = fo["uri"],
                      Set(fo.keys).isSubset(of: ["uri", "keyId"]),
                      (uri.hasPrefix("local:") && uri.utf8.count > 6) || (uri.hasPrefix("kms:") && uri.utf8.count > 4)
                else { throw bad("rule \"\(m)\" has an invalid recipient") }
                var keyId: String?
                if let k = fo["keyId"] {
                    guard case .string(let ks) = k, ks.utf8.count == 16, Hex.decode(ks) != nil else { throw bad("rule \"\(m)\" has an invalid keyId") }
                    keyId = ks
                }
                if uri.hasPrefix("local:") && keyId == nil { throw bad("local recipient \(uri) has no keyId") }
                out.append(RecipientRef(uri: uri, keyId: keyId))
            }
            rules.append(Rule(match: m, recipients: out))
        }
        return StorePolicy(rules: rules)
    }
}

extension String {
    func replacingPlaceholders(service: String, env: String) -> String {
        var s = self
        while let r = s.firstRange(of: "{service}") { s.replaceSubrange(r, with: service) }
        while let r = s.firstRange(of: "{env}") { s.replaceSubrange(r, with: env) }
        return s
    }
}
