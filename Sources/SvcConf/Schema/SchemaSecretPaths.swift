/// One step of a ``SecretPaths`` pattern.
public enum SchemaPathStep: Sendable, Hashable, CustomStringConvertible {
    /// The member with this name (`properties`).
    case key(String)
    /// Any member whose name matches this ECMA-262 pattern (`patternProperties`).
    case keyMatching(String)
    /// Any member (`additionalProperties`, `unevaluatedProperties`).
    case anyKey
    /// The item at this position (`prefixItems`).
    case index(Int)
    /// Any item (`items`, `contains`, `unevaluatedItems`).
    case anyIndex
    /// Zero or more steps of any kind (where the schema recurses into itself).
    case anyDescendants

    /// `name`, `~pattern~`, `*`, `3`, `[*]`, `**`.
    public var description: String {
        switch self {
        case .key(let k): return k
        case .keyMatching(let p): return "~" + p + "~"
        case .anyKey: return "*"
        case .index(let i): return String(i)
        case .anyIndex: return "[*]"
        case .anyDescendants: return "**"
        }
    }
}

/// Where a schema can mark values secret (`"writeOnly": true` or `"x-secret": true`), found by static
/// analysis of the compiled schema, without an instance: the answer to "is this path secret?" for a
/// path that is not in the config at hand (a key a diff shows as removed, a key that will be added).
///
/// The analysis walks `properties`, `patternProperties`, `additionalProperties`, `prefixItems`,
/// `items`, `contains`, `unevaluatedProperties`, `unevaluatedItems`, and in place `$ref`,
/// `$dynamicRef`, `allOf`, `anyOf`, `oneOf`, `if`/`then`/`else` and `dependentSchemas`. It
/// over-approximates (marking too much is the safe side for secrecy):
/// - every branch counts: `anyOf`/`oneOf` alternatives, `then` and `else`, `dependentSchemas` whose
///   trigger property may be absent, and both static and dynamic `$dynamicRef` targets;
/// - `additionalProperties` counts as "any member" and `items` after `prefixItems` as "any item";
/// - a schema that recurses into itself (a tree) contributes its secret paths at any depth below the
///   point of recursion (`**`);
/// - `not` and `propertyNames` never mark values (a value matching `not`'s subschema fails anyway;
///   names are not values);
/// - types are ignored: `properties` and `items` count whatever the instance's type will be;
/// - a schema too large to analyse (more than 100 000 steps or 10 000 patterns) makes everything
///   secret.
/// `ValidationResult.secretLocations` is the exact, per-instance answer; use both (a value is secret
/// when either says so).
public struct SecretPaths: Sendable {
    /// The patterns; a value is secret when a pattern matches its path or a prefix of it.
    public let patterns: [[SchemaPathStep]]
    private let regexes: [String: ECMARegex]
    /// Patterns whose first step is a literal key, by that key (a schema with thousands of secret
    /// properties must not make every lookup scan them all).
    private let byFirstKey: [String: [[SchemaPathStep]]]
    /// Patterns whose first step is not a literal key (wildcards, regexes, `**`); always tried.
    private let otherFirst: [[SchemaPathStep]]

    init(patterns: [[SchemaPathStep]]) {
        self.patterns = patterns
        var rx: [String: ECMARegex] = [:]
        var byKey: [String: [[SchemaPathStep]]] = [:]
        var other: [[SchemaPathStep]] = []
        for p in patterns {
            for case .keyMatching(let source) in p where rx[source] == nil {
                rx[source] = try? ECMARegex(source)
            }
            if case .key(let k)? = p.first { byKey[k, default: []].append(p) } else { other.append(p) }
        }
        regexes = rx
        byFirstKey = byKey
        otherFirst = other
    }

    /// The patterns that can match a path starting with `path.first` (all of them for an empty path).
    private func candidates(_ path: [String]) -> [[[SchemaPathStep]]] {
        guard let first = path.first else { return [patterns] }
        return [byFirstKey[first] ?? [], otherFirst]
    }

    /// True when no value can be secret.
    public var isEmpty: Bool { patterns.isEmpty }

    /// True when the value at `path` (top-level key first, array indices as decimal strings) is secret:
    /// some pattern matches the path or a prefix of it (a secret value's whole subtree is secret).
    public func isSecret(_ path: [String]) -> Bool {
        candidates(path).contains { group in group.contains { match($0[...], path[...], prefixOfPath: true) } }
    }

    /// True when the value at `path` is secret or something below it may be (some pattern matches
    /// `path` followed by more steps): a renderer must look inside before showing it whole.
    public func mayContainSecret(_ path: [String]) -> Bool {
        candidates(path).contains { group in
            group.contains { match($0[...], path[...], prefixOfPath: true) || match($0[...], path[...], prefixOfPath: false) }
        }
    }

    private func stepMatches(_ s: SchemaPathStep, _ c: String) -> Bool {
        switch s {
        case .key(let k): return k == c
        case .keyMatching(let p): return regexes[p]?.matches(c) ?? true
        case .anyKey, .anyIndex: return true
        case .index(let i): return String(i) == c
        case .anyDescendants: return true
        }
    }

    /// `prefixOfPath`: the whole pattern must match a prefix of `path`; otherwise the whole `path`
    /// must match a prefix of the pattern.
    private func match(_ p: ArraySlice<SchemaPathStep>, _ path: ArraySlice<String>, prefixOfPath: Bool) -> Bool {
        guard let first = p.first else { return prefixOfPath || path.isEmpty }
        if case .anyDescendants = first {
            // ** consumes zero or more components
            var rest = path
            while true {
                if match(p.dropFirst(), rest, prefixOfPath: prefixOfPath) { return true }
                if rest.isEmpty { return !prefixOfPath }
                rest = rest.dropFirst()
            }
        }
        guard let c = path.first else { return !prefixOfPath }
        return stepMatches(first, c) && match(p.dropFirst(), path.dropFirst(), prefixOfPath: prefixOfPath)
    }
}

/// The static analysis behind ``SecretPaths``.
struct SecretPathAnalysis {
    static let maxSteps = 100_000
    static let maxPatterns = 10_000

    private var memo: [ObjectIdentifier: Set<[SchemaPathStep]>] = [:]
    private var stackIndex: [ObjectIdentifier: Int] = [:]
    private var recursive: Set<ObjectIdentifier> = []
    private var steps = 0
    private var overflow = false

    static func analyse(_ root: SchemaNode) -> SecretPaths {
        var a = SecretPathAnalysis()
        var (set, _) = a.walk(root, depth: 0)
        if a.overflow || set.count > maxPatterns { set = [[.anyDescendants]] }
        // Deterministic order: by description (computed once per pattern, not per comparison).
        let described = set.map { (pattern: $0, key: Array($0.description.utf8)) }
            .sorted { $0.key.lexicographicallyPrecedes($1.key) }
        // a pattern covered by a shorter one adds nothing: drop patterns that extend another (looked
        // up by prefix in a set: schemas with thousands of secret properties stay linear)
        var keptSet: Set<[SchemaPathStep]> = []
        var kept: [(pattern: [SchemaPathStep], key: [UInt8])] = []
        for p in described.enumerated().sorted(by: { ($0.element.pattern.count, $0.offset) < ($1.element.pattern.count, $1.offset) }).map(\.element)
        where !(1...max(1, p.pattern.count)).contains(where: { keptSet.contains(Array(p.pattern.prefix($0))) }) {
            keptSet.insert(p.pattern)
            kept.append(p)
        }
        return SecretPaths(patterns: kept.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map(\.pattern))
    }

    /// Children of `n`: (the step to reach the child's instance, or nil for the same instance; child).
    static func edges(_ n: SchemaNode) -> [(SchemaPathStep?, SchemaNode)] {
        var out: [(SchemaPathStep?, SchemaNode)] = []
        for c in n.checks {
            switch c {
            case .ref(let r): out.append((nil, r.node))
            case .dynamicRef(let r, let t):
                out.append((nil, r.node))
                if let t { for x in t.object.byResource.values { out.append((nil, x.node)) } }
            case .allOf(let l), .anyOf(let l), .oneOf(let l):
                for x in l.object.value { out.append((nil, x.node)) }
            case .ifThenElse(let i, let t, let e):
                out.append((nil, i.node))
                if let t { out.append((nil, t.node)) }
                if let e { out.append((nil, e.node)) }
            case .dependentSchemas(let l, _):
                for (_, x) in l.object.value { out.append((nil, x.node)) }
            case .object(let appRef):
                let app = appRef.object
                for (i, name) in app.propertyNames.enumerated() { out.append((.key(name), app.propertyNodes[i].node)) }
                for (re, x) in app.patterns { out.append((.keyMatching(re.object.source), x.node)) }
                if let a = app.additional { out.append((.anyKey, a.node)) }
            case .items(let b):
                for (i, x) in b.object.prefix.enumerated() { out.append((.index(i), x.node)) }
                if let r = b.object.rest { out.append((.anyIndex, r.node)) }
            case .contains(let x, _, _): out.append((.anyIndex, x.node))
            case .unevaluatedProperties(let x): out.append((.anyKey, x.node))
            case .unevaluatedItems(let x): out.append((.anyIndex, x.node))
            default: break
            }
        }
        return out
    }

    /// The secret suffixes under `n`, and the lowest stack depth of a node on the stack it reached
    /// (below `depth` means the result is incomplete until that node finishes, so it is not memoised).
    private mutating func walk(_ n: SchemaNode, depth: Int) -> (Set<[SchemaPathStep]>, Int) {
        let id = ObjectIdentifier(n)
        if let m = memo[id] { return (m, Int.max) }
        if let at = stackIndex[id] {
            recursive.insert(id)
            return ([], at)
        }
        steps += 1
        if steps > Self.maxSteps || overflow {
            overflow = true
            return ([], Int.max)
        }
        stackIndex[id] = depth
        var out: Set<[SchemaPathStep]> = []
        var low = Int.max
        if n.secret { out.insert([]) }
        for (step, child) in Self.edges(n) {
            let (s, l) = walk(child, depth: depth + 1)
            low = min(low, l)
            for suffix in s {
                if let step { out.insert(Self.normalize([step] + suffix)) } else { out.insert(suffix) }
            }
            if out.count > Self.maxPatterns { overflow = true }
        }
        stackIndex[id] = nil
        if recursive.contains(id) {
            for s in out { out.insert(Self.normalize([.anyDescendants] + s)) }
        }
        if low >= depth {
            memo[id] = out
            return (out, Int.max)
        }
        return (out, low)
    }

    /// Collapses repeated `**`.
    static func normalize(_ p: [SchemaPathStep]) -> [SchemaPathStep] {
        var out: [SchemaPathStep] = []
        for s in p {
            if case .anyDescendants = s, case .anyDescendants? = out.last { continue }
            out.append(s)
        }
        return out
    }
}

extension SchemaValidator {
    /// Where the schema can mark values secret, by static analysis (see ``SecretPaths`` for what it
    /// covers and how it approximates).
    public func secretPaths() -> SecretPaths {
        SecretPathAnalysis.analyse(program.root.node)
    }
}
