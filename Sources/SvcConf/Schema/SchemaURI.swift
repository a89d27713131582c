/// RFC 3986 URI references: just enough to resolve `$id`, `$ref` and `$dynamicRef` against a base URI
/// (§5.2 "Relative Resolution", with §5.2.4 dot-segment removal). Internal to the schema validator.
struct SchemaURI: Sendable, Hashable {
    var scheme: String?
    var authority: String?
    var path: String
    var query: String?
    var fragment: String?

    /// Splits a URI reference into its five components (RFC 3986 appendix B). Never fails: every
    /// string is some URI reference; callers check `isAbsolute` where they need one.
    init(parsing s: String) {
        var rest = Substring(s)
        if let hash = rest.firstIndex(of: "#") {
            fragment = String(rest[rest.index(after: hash)...])
            rest = rest[..<hash]
        }
        if let q = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: q)...])
            rest = rest[..<q]
        }
        if let colon = rest.firstIndex(of: ":") {
            let candidate = rest[..<colon]
            if let first = candidate.first, first.isASCII, first.isLetter,
               candidate.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == ".") }),
               !candidate.contains("/")
            {
                scheme = candidate.lowercased()
                rest = rest[rest.index(after: colon)...]
            }
        }
        if rest.hasPrefix("//") {
            let afterSlashes = rest.index(rest.startIndex, offsetBy: 2)
            let end = rest[afterSlashes...].firstIndex(of: "/") ?? rest.endIndex
            authority = String(rest[afterSlashes..<end])
            rest = rest[end...]
        }
        path = String(rest)
    }

    init(scheme: String?, authority: String?, path: String, query: String?, fragment: String?) {
        self.scheme = scheme
        self.authority = authority
        self.path = path
        self.query = query
        self.fragment = fragment
    }

    /// True when the reference has a scheme (it is a URI, not a relative reference).
    var isAbsolute: Bool { scheme != nil }

    /// The recomposed text (RFC 3986 §5.3).
    var text: String {
        var out = ""
        if let scheme { out += scheme + ":" }
        if let authority { out += "//" + authority }
        out += path
        if let query { out += "?" + query }
        if let fragment { out += "#" + fragment }
        return out
    }

    /// This URI without its fragment.
    var withoutFragment: SchemaURI {
        var u = self
        u.fragment = nil
        return u
    }

    /// Resolves `ref` against this (absolute) base URI, RFC 3986 §5.2.2.
    func resolving(_ ref: SchemaURI) -> SchemaURI {
        var t = SchemaURI(scheme: nil, authority: nil, path: "", query: nil, fragment: ref.fragment)
        if let s = ref.scheme {
            t.scheme = s
            t.authority = ref.authority
            t.path = Self.removeDotSegments(ref.path)
            t.query = ref.query
        } else {
            if ref.authority != nil {
                t.authority = ref.authority
                t.path = Self.removeDotSegments(ref.path)
                t.query = ref.query
            } else {
                if ref.path.isEmpty {
                    t.path = path
                    t.query = ref.query ?? query
                } else {
                    if ref.path.hasPrefix("/") {
                        t.path = Self.removeDotSegments(ref.path)
                    } else {
                        t.path = Self.removeDotSegments(merge(ref.path))
                    }
                    t.query = ref.query
                }
                t.authority = authority
            }
            t.scheme = scheme
        }
        return t
    }

    private func merge(_ refPath: String) -> String {
        if authority != nil && path.isEmpty { return "/" + refPath }
        if let slash = path.lastIndex(of: "/") { return String(path[...slash]) + refPath }
        return refPath
    }

    static func removeDotSegments(_ input: String) -> String {
        guard input.contains(".") else { return input }
        var inp = Substring(input)
        var out = ""
        func dropLastSegment() {
            if let i = out.lastIndex(of: "/") { out = String(out[..<i]) } else { out = "" }
        }
        while !inp.isEmpty {
            if inp.hasPrefix("../") { inp = inp.dropFirst(3) }
            else if inp.hasPrefix("./") { inp = inp.dropFirst(2) }
            else if inp.hasPrefix("/./") { inp = inp.dropFirst(2) }
            else if inp == "/." { inp = "/" }
            else if inp.hasPrefix("/../") { inp = inp.dropFirst(3); dropLastSegment() }
            else if inp == "/.." { inp = "/"; dropLastSegment() }
            else if inp == "." || inp == ".." { inp = "" }
            else {
                let from = inp.first == "/" ? inp.index(after: inp.startIndex) : inp.startIndex
                let seg = inp[from...].firstIndex(of: "/") ?? inp.endIndex
                out += inp[inp.startIndex..<seg]
                inp = inp[seg...]
            }
        }
        return out
    }
}

/// JSON Pointer (RFC 6901) helpers.
enum SchemaPointer {
    /// Escapes one reference token (`~` → `~0`, `/` → `~1`).
    static func escape(_ token: String) -> String {
        guard token.utf8.contains(where: { $0 == 0x7E || $0 == 0x2F }) else { return token }
        var out = ""
        for ch in token.unicodeScalars {
            switch ch {
            case "~": out += "~0"
            case "/": out += "~1"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// Unescapes one reference token; nil when it holds a `~` not followed by `0` or `1`.
    static func unescape(_ token: Substring) -> String? {
        guard token.contains("~") else { return String(token) }
        var out = ""
        var it = token.unicodeScalars.makeIterator()
        while let c = it.next() {
            if c == "~" {
                switch it.next() {
                case "0": out += "~"
                case "1": out += "/"
                default: return nil
                }
            } else {
                out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// The reference tokens of a pointer ("" → [], "/a/b" → ["a", "b"]); nil when malformed.
    static func tokens(_ pointer: String) -> [String]? {
        if pointer.isEmpty { return [] }
        guard pointer.hasPrefix("/") else { return nil }
        var out: [String] = []
        for part in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard let t = unescape(part) else { return nil }
            out.append(t)
        }
        return out
    }

    /// The pointer text for `tokens`.
    static func text<S: Sequence>(_ tokens: S) -> String where S.Element == String {
        var out = ""
        for t in tokens { out += "/" + escape(t) }
        return out
    }

    /// Decodes `%XX` escapes (URI fragment → pointer text); nil on a malformed escape or bad UTF-8.
    static func percentDecode(_ s: String) -> String? {
        guard s.contains("%") else { return s }
        var bytes: [UInt8] = []
        var u = Array(s.utf8)[...]
        while let b = u.popFirst() {
            if b == 0x25 {
                guard let h = u.popFirst(), let l = u.popFirst(), let hv = hexValue(h), let lv = hexValue(l) else { return nil }
                bytes.append(hv << 4 | lv)
            } else {
                bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
