/// The `format` values the validator knows, and their checks (draft 2020-12 §7.3). Unknown formats
/// are annotations only, even when formats are asserted.
///
/// Checks work on UTF-8 bytes or Unicode scalars, never on `Character`s, and without Foundation.
/// `idn-hostname` follows IDNA2008 (RFC 5891/5892) except the Bidi rule and NFC checks (best effort).
enum SchemaFormat: String, Sendable, CaseIterable {
    case dateTime = "date-time"
    case date
    case time
    case duration
    case email
    case idnEmail = "idn-email"
    case hostname
    case idnHostname = "idn-hostname"
    case ipv4
    case ipv6
    case uri
    case uriReference = "uri-reference"
    case iri
    case iriReference = "iri-reference"
    case uriTemplate = "uri-template"
    case uuid
    case jsonPointer = "json-pointer"
    case relativeJSONPointer = "relative-json-pointer"
    case regex

    /// True when `s` is a valid instance of this format.
    func check(_ s: String) -> Bool {
        switch self {
        case .regex: return (try? ECMARegex(s)) != nil
        case .idnHostname: return FormatCheck.idnHostname(Array(s.unicodeScalars))
        case .idnEmail: return FormatCheck.email(Array(s.unicodeScalars), international: true)
        case .iri: return FormatCheck.uri(Array(s.unicodeScalars), iri: true, reference: false)
        case .iriReference: return FormatCheck.uri(Array(s.unicodeScalars), iri: true, reference: true)
        default:
            var s = s
            return s.withUTF8 { b in
                switch self {
                case .dateTime: return FormatCheck.dateTime(b)
                case .date: return b.count == 10 && FormatCheck.date(b, 0)
                case .time: return FormatCheck.time(b, 0)
                case .duration: return FormatCheck.duration(b)
                case .hostname: return FormatCheck.hostname(b)
                case .ipv4: return FormatCheck.ipv4(b[...])
                case .ipv6: return FormatCheck.ipv6(b[...])
                // ASCII-only formats: any other byte fails, so a lazy byte → scalar view suffices
                case .email: return FormatCheck.email(SchemaByteScalars(b), international: false)
                case .uri: return FormatCheck.uriASCII(b, reference: false)
                case .uriReference: return FormatCheck.uriASCII(b, reference: true)
                case .uriTemplate: return FormatCheck.uriTemplate(b)
                case .uuid: return FormatCheck.uuid(b)
                case .jsonPointer: return FormatCheck.jsonPointer(b[...])
                case .relativeJSONPointer: return FormatCheck.relativeJSONPointer(b)
                default: return true
                }
            }
        }
    }
}

/// UTF-8 bytes seen as scalars one byte each: for the ASCII-only formats, where any byte >= 0x80
/// is invalid anyway (it reads as a scalar no ASCII rule accepts).
struct SchemaByteScalars: RandomAccessCollection {
    let bytes: UnsafeBufferPointer<UInt8>
    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }
    var startIndex: Int { 0 }
    var endIndex: Int { bytes.count }
    @inline(__always) subscript(i: Int) -> Unicode.Scalar {
        let b = bytes[i]
        return b < 0x80 ? Unicode.Scalar(b) : "\u{FFFD}"
    }
}

enum FormatCheck {
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    @inline(__always) static func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
    @inline(__always) static func isHex(_ c: UInt8) -> Bool { isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66) }

    /// `n` ASCII digits at `i` as a number, or nil.
    static func digits(_ b: UnsafeBufferPointer<UInt8>, _ i: Int, _ n: Int) -> Int? {
        guard i + n <= b.count else { return nil }
        var v = 0
        for k in i..<(i + n) {
            guard isDigit(b[k]) else { return nil }
            v = v * 10 + Int(b[k] - 0x30)
        }
        return v
    }

    // MARK: dates and times (RFC 3339)

    static func date(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Bool {
        guard let y = digits(b, i, 4), i + 10 <= b.count, b[i + 4] == 0x2D, let m = digits(b, i + 5, 2),
              b[i + 7] == 0x2D, let d = digits(b, i + 8, 2) else { return false }
        guard m >= 1 && m <= 12, d >= 1 else { return false }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
        return d <= days
    }

    /// `partial-time time-offset` from `i` to the end.
    static func time(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Bool {
        guard let h = digits(b, i, 2), i + 8 <= b.count, b[i + 2] == 0x3A, let m = digits(b, i + 3, 2),
              b[i + 5] == 0x3A, let s = digits(b, i + 6, 2) else { return false }
        guard h <= 23, m <= 59, s <= 60 else { return false }
        var k = i + 8
        if k < b.count && b[k] == 0x2E {
            k += 1
            let start = k
            while k < b.count && isDigit(b[k]) { k += 1 }
            if k == start { return false }
        }
        guard k < b.count else { return false }
        var offset = 0  // minutes east of UTC
        if b[k] == 0x5A || b[k] == 0x7A {
            k += 1
        } else if b[k] == 0x2B || b[k] == 0x2D {
            let sign = b[k] == 0x2B ? 1 : -1
            guard let oh = digits(b, k + 1, 2), k + 6 <= b.count, b[k + 3] == 0x3A, let om = digits(b, k + 4, 2),
                  oh <= 23, om <= 59 else { return false }
            offset = sign * (oh * 60 + om)
            k += 6
        } else {
            return false
        }
        guard k == b.count else { return false }
        if s == 60 {
            let utc = ((h * 60 + m - offset) % 1440 + 1440) % 1440
            return utc == 23 * 60 + 59
        }
        return true
    }

    static func dateTime(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count > 11, date(b, 0), b[10] == 0x54 || b[10] == 0x74 else { return false }
        return time(b, 11)
    }

    /// RFC 3339 appendix A `duration`.
    static func duration(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count >= 3, b[0] == 0x50 else { return false }
        var i = 1
        // Reads digits then a unit letter; returns the unit or nil.
        func element() -> UInt8? {
            let start = i
            while i < b.count && isDigit(b[i]) { i += 1 }
            guard i > start, i < b.count else { return nil }
            let u = b[i]
            i += 1
            return u
        }
        func timePart() -> Bool {
            // after "T": H [M [S]] | M [S] | S, in order, at least one
            var order = ["H", "M", "S"].map { UInt8(ascii: $0) }[...]
            var any = false
            while i < b.count {
                guard let u = element() else { return false }
                guard let idx = order.firstIndex(of: u) else { return false }
                order = order[(idx + 1)...]
                any = true
            }
            return any
        }
        if b[i] == 0x54 {  // T
            i += 1
            return timePart()
        }
        var order = ["Y", "M", "D"].map { UInt8(ascii: $0) }[...]
        var first = true
        while i < b.count {
            if b[i] == 0x54 {
                if first { return false }
                i += 1
                return timePart()
            }
            guard let u = element() else { return false }
            if u == 0x57 {  // W: only alone
                return first && i == b.count
            }
            guard let idx = order.firstIndex(of: u) else { return false }
            order = order[(idx + 1)...]
            first = false
        }
        return !first
    }

    // MARK: network names and addresses

    static func hostname(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !b.isEmpty, b.count <= 253 else { return false }
        var labelLen = 0
        var prev: UInt8 = 0
        for c in b {
            if c == 0x2E {
                if labelLen == 0 || prev == 0x2D { return false }
                labelLen = 0
            } else if isAlpha(c) || isDigit(c) || c == 0x2D {
                if labelLen == 0 && c == 0x2D { return false }
                labelLen += 1
                if labelLen > 63 { return false }
            } else {
                return false
            }
            prev = c
        }
        return labelLen > 0 && prev != 0x2D
    }

    static func ipv4<C: Collection>(_ b: C) -> Bool where C.Element == UInt8 {
        var parts = 0
        var value = 0
        var len = 0
        var leadingZero = false
        for c in b {
            if c == 0x2E {
                if len == 0 { return false }
                parts += 1
                value = 0
                len = 0
                continue
            }
            guard isDigit(c) else { return false }
            if len == 0 { leadingZero = c == 0x30 } else if leadingZero { return false }
            value = value * 10 + Int(c - 0x30)
            len += 1
            if value > 255 || len > 3 { return false }
        }
        return len > 0 && parts == 3
    }

    static func ipv6<C: Collection>(_ b: C) -> Bool where C.Element == UInt8 {
        let a = Array(b)
        if a.isEmpty { return false }
        var groups = 0
        var doubleColon = false
        var i = 0
        if a.count >= 2 && a[0] == 0x3A && a[1] == 0x3A {
            doubleColon = true
            i = 2
            if i == a.count { return true }
        } else if a[0] == 0x3A {
            return false
        }
        while i < a.count {
            // one group, or an IPv4 tail
            var j = i
            while j < a.count && isHex(a[j]) { j += 1 }
            if j < a.count && a[j] == 0x2E {
                // IPv4 tail: must be the rest
                var k = i
                while k < a.count && a[k] != 0x3A { k += 1 }
                if k != a.count { return false }
                guard ipv4(a[i..<a.count]) else { return false }
                groups += 2
                i = a.count
                break
            }
            let len = j - i
            if len == 0 || len > 4 { return false }
            groups += 1
            i = j
            if i == a.count { break }
            guard a[i] == 0x3A else { return false }
            i += 1
            if i < a.count && a[i] == 0x3A {
                if doubleColon { return false }
                doubleColon = true
                i += 1
                if i == a.count { break }
            } else if i == a.count {
                return false  // trailing single colon
            }
        }
        return doubleColon ? groups <= 7 : groups == 8
    }

    // MARK: e-mail (RFC 5321 / RFC 6531)

    static func email<C: RandomAccessCollection>(_ s: C, international: Bool) -> Bool where C.Element == Unicode.Scalar, C.Index == Int {
        guard let at = s.lastIndex(of: "@"), at > s.startIndex, at < s.endIndex - 1 else { return false }
        let local = s[..<at]
        let domain = s[(at + 1)...]
        // local part
        if local.first == "\"" {
            guard local.count >= 2, local.last == "\"" else { return false }
            var i = local.startIndex + 1
            let end = local.endIndex - 1
            while i < end {
                let c = local[i].value
                if c == 0x5C {
                    guard i + 1 < end, local[i + 1].value >= 0x20 && local[i + 1].value <= 0x7E else { return false }
                    i += 2
                    continue
                }
                if c == 0x22 { return false }
                if c < 0x20 || c == 0x7F || (c > 0x7E && !international) { return false }
                i += 1
            }
        } else {
            var prevDot = true
            for c in local {
                if c == "." {
                    if prevDot { return false }
                    prevDot = true
                    continue
                }
                prevDot = false
                let v = c.value
                if v < 0x80 {
                    let u = UInt8(v)
                    if !(isAlpha(u) || isDigit(u) || "!#$%&'*+-/=?^_`{|}~".utf8.contains(u)) { return false }
                } else if !international {
                    return false
                }
            }
            if prevDot { return false }
        }
        // domain
        if domain.first == "[" {
            guard domain.last == "]" else { return false }
            let inner = Array(domain.dropFirst().dropLast()).map { $0.value < 0x80 ? UInt8($0.value) : 0xFF }
            if inner.count > 5, Array(inner[0..<5]) == Array("IPv6:".utf8) { return ipv6(inner[5...]) }
            return ipv4(inner)
        }
        if international { return idnHostname(Array(domain)) }
        guard domain.allSatisfy({ $0.isASCII }) else { return false }
        let bytes = domain.map { UInt8($0.value) }
        return bytes.withUnsafeBufferPointer { hostname($0) }
    }

    // MARK: URIs and IRIs (RFC 3986 / RFC 3987)

    static func isUnreserved(_ c: UInt32) -> Bool {
        (c < 0x80 && (isAlpha(UInt8(c)) || isDigit(UInt8(c)))) || c == 0x2D || c == 0x2E || c == 0x5F || c == 0x7E
    }
    static func isSubDelim(_ c: UInt32) -> Bool {
        switch c {
        case 0x21, 0x24, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x3B, 0x3D: return true
        default: return false
        }
    }
    static func isUcschar(_ c: UInt32) -> Bool {
        switch c {
        case 0xA0...0xD7FF, 0xF900...0xFDCF, 0xFDF0...0xFFEF: return true
        case 0x10000...0xEFFFD: return (c & 0xFFFF) < 0xFFFE
        default: return false
        }
    }
    static func isIprivate(_ c: UInt32) -> Bool {
        (0xE000...0xF8FF).contains(c) || (0xF0000...0xFFFFD).contains(c) || (0x100000...0x10FFFD).contains(c)
    }

    /// A set of ASCII characters as a 128-bit map.
    struct ASCIISet {
        let lo: UInt64
        let hi: UInt64
        init(_ chars: String) {
            var lo: UInt64 = 0, hi: UInt64 = 0
            for b in chars.utf8 { if b < 64 { lo |= 1 << UInt64(b) } else { hi |= 1 << UInt64(b - 64) } }
            self.lo = lo
            self.hi = hi
        }
        @inline(__always) func contains(_ c: UInt32) -> Bool {
            c < 64 ? lo & (1 << UInt64(c)) != 0 : (c < 128 ? hi & (1 << UInt64(c - 64)) != 0 : false)
        }
    }
    static let unreservedAndSubDelims = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;="
    /// reg-name (RFC 3986 §3.2.2)
    static let regNameChars = ASCIISet(unreservedAndSubDelims)
    /// userinfo (§3.2.1)
    static let userinfoChars = ASCIISet(unreservedAndSubDelims + ":")
    /// path segments (pchar and "/", §3.3)
    static let pathChars = ASCIISet(unreservedAndSubDelims + ":@/")
    /// query and fragment (§3.4, §3.5)
    static let queryChars = ASCIISet(unreservedAndSubDelims + ":@/?")

    /// Checks that every scalar of `s` is in `allowed`, a `%XX` escape, or (IRIs) a ucschar.
    static func uriChars<C: RandomAccessCollection>(_ s: Slice<C>, _ allowed: ASCIISet, iri: Bool, privateOK: Bool = false) -> Bool
        where C.Element == Unicode.Scalar, C.Index == Int
    {
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i].value
            if allowed.contains(c) {
                i += 1
                continue
            }
            if c == 0x25 {
                guard i + 2 < s.endIndex, s[i + 1].value < 0x80, s[i + 2].value < 0x80,
                      isHex(UInt8(s[i + 1].value)), isHex(UInt8(s[i + 2].value)) else { return false }
                i += 3
                continue
            }
            if iri && (isUcschar(c) || (privateOK && isIprivate(c))) {
                i += 1
                continue
            }
            return false
        }
        return true
    }

    static func uri<C: RandomAccessCollection>(_ s: C, iri: Bool, reference: Bool) -> Bool where C.Element == Unicode.Scalar, C.Index == Int {
        var rest = Slice(base: s, bounds: s.startIndex..<s.endIndex)
        // fragment
        if let hash = rest.firstIndex(of: "#") {
            guard uriChars(rest[(hash + 1)...], queryChars, iri: iri) else { return false }
            rest = rest[..<hash]
        }
        if let q = rest.firstIndex(of: "?") {
            guard uriChars(rest[(q + 1)...], queryChars, iri: iri, privateOK: true) else { return false }
            rest = rest[..<q]
        }
        // scheme
        var hasScheme = false
        if let colon = rest.firstIndex(of: ":") {
            let scheme = rest[..<colon]
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            if colon < slash {
                guard let f = scheme.first, f.isASCII, isAlpha(UInt8(f.value)),
                      scheme.allSatisfy({ $0.isASCII && (isAlpha(UInt8($0.value)) || isDigit(UInt8($0.value)) || $0 == "+" || $0 == "-" || $0 == ".") })
                else { return false }
                hasScheme = true
                rest = rest[(colon + 1)...]
            }
        }
        if !hasScheme && !reference { return false }
        // hier-part / relative-part
        var path = rest
        if rest.starts(with: ["/", "/"]) {
            let afterSlashes = rest.startIndex + 2
            let end = rest[afterSlashes...].firstIndex(of: "/") ?? rest.endIndex
            var authority = rest[afterSlashes..<end]
            path = rest[end...]
            if let at = authority.firstIndex(of: "@") {
                guard uriChars(authority[..<at], userinfoChars, iri: iri) else { return false }
                authority = authority[(at + 1)...]
            }
            // host [":" port]
            var host = authority
            if authority.first == "[" {
                guard let close = authority.firstIndex(of: "]") else { return false }
                let literal = authority[(authority.startIndex + 1)..<close]
                let bytes = literal.map { $0.value < 0x80 ? UInt8($0.value) : 0xFF }
                let ok: Bool
                if let f = bytes.first, f == 0x76 || f == 0x56 {  // IPvFuture
                    ok = bytes.count > 3 && bytes.contains(0x2E)
                } else {
                    ok = ipv6(bytes)
                }
                guard ok else { return false }
                host = authority[(close + 1)...]
                if !host.isEmpty {
                    guard host.first == ":" else { return false }
                    guard host.dropFirst().allSatisfy({ $0.isASCII && isDigit(UInt8($0.value)) }) else { return false }
                }
            } else {
                if let colon = authority.lastIndex(of: ":") {
                    guard authority[(colon + 1)...].allSatisfy({ $0.isASCII && isDigit(UInt8($0.value)) }) else { return false }
                    host = authority[..<colon]
                }
                guard uriChars(host, regNameChars, iri: iri) else { return false }
            }
        } else if !hasScheme {
            // path-noscheme: the first segment has no ":"
            let firstSeg = path.prefix { $0 != "/" }
            if firstSeg.contains(":") { return false }
        }
        return uriChars(path, pathChars, iri: iri)
    }

    /// Scans `allowed` characters and `%XX` escapes from `i` up to a `stop` byte (or the end): the
    /// index reached, or -1 on anything else.
    @inline(__always) static func scan(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ end: Int, _ allowed: ASCIISet,
                                       stop1: UInt8 = 0, stop2: UInt8 = 0) -> Int {
        var i = from
        while i < end {
            let c = b[i]
            if c == stop1 || c == stop2 { return i }
            if allowed.contains(UInt32(c)) {
                i += 1
            } else if c == 0x25, i + 2 < end, isHex(b[i + 1]), isHex(b[i + 2]) {
                i += 3
            } else {
                return -1
            }
        }
        return i
    }

    /// RFC 3986 `URI` (or `URI-reference`) in one pass over the bytes (ASCII only, as RFC 3986 says).
    static func uriASCII(_ b: UnsafeBufferPointer<UInt8>, reference: Bool) -> Bool {
        let n = b.count
        var i = 0
        var hasScheme = false
        if n > 0 && isAlpha(b[0]) {
            var j = 1
            while j < n, isAlpha(b[j]) || isDigit(b[j]) || b[j] == 0x2B || b[j] == 0x2D || b[j] == 0x2E { j += 1 }
            if j < n && b[j] == 0x3A {
                hasScheme = true
                i = j + 1
            }
        }
        if !hasScheme && !reference { return false }
        if i + 1 < n && b[i] == 0x2F && b[i + 1] == 0x2F {
            // authority: [userinfo "@"] host [":" port]
            let start = i + 2
            var end = start
            while end < n && b[end] != 0x2F && b[end] != 0x3F && b[end] != 0x23 { end += 1 }
            var host = start
            var at = start
            while at < end && b[at] != 0x40 { at += 1 }
            if at < end {
                guard scan(b, start, at, userinfoChars) == at else { return false }
                host = at + 1
            }
            if host < end && b[host] == 0x5B {  // IP-literal
                var close = host + 1
                while close < end && b[close] != 0x5D { close += 1 }
                guard close < end else { return false }
                let literal = UnsafeBufferPointer(rebasing: b[(host + 1)..<close])
                if let f = literal.first, f == 0x76 || f == 0x56 {
                    guard literal.count > 3, literal.contains(0x2E) else { return false }
                } else {
                    guard ipv6(literal) else { return false }
                }
                var k = close + 1
                if k < end {
                    guard b[k] == 0x3A else { return false }
                    k += 1
                    while k < end { guard isDigit(b[k]) else { return false }; k += 1 }
                }
            } else {
                var hostEnd = end
                var k = end
                while k > host {
                    k -= 1
                    if b[k] == 0x3A { hostEnd = k; break }
                }
                if hostEnd < end {
                    for p in (hostEnd + 1)..<end where !isDigit(b[p]) { return false }
                }
                guard scan(b, host, hostEnd, regNameChars) == hostEnd else { return false }
            }
            i = end
        } else if !hasScheme {
            // path-noscheme: no ":" in the first segment
            var j = i
            while j < n && b[j] != 0x2F && b[j] != 0x3F && b[j] != 0x23 {
                if b[j] == 0x3A { return false }
                j += 1
            }
        }
        i = scan(b, i, n, pathChars, stop1: 0x3F, stop2: 0x23)
        if i < 0 { return false }
        if i < n && b[i] == 0x3F {
            i = scan(b, i + 1, n, queryChars, stop1: 0x23)
            if i < 0 { return false }
        }
        if i < n && b[i] == 0x23 {
            i = scan(b, i + 1, n, queryChars)
            if i < 0 { return false }
        }
        return i == n
    }

    /// RFC 6570 level 4 syntax.
    static func uriTemplate(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < b.count {
            let c = b[i]
            if c == 0x7B {  // {
                i += 1
                if i < b.count, "+#./;?&=,!@|".utf8.contains(b[i]) { i += 1 }
                var first = true
                while true {
                    if !first {
                        guard i < b.count, b[i] == 0x2C else { break }
                        i += 1
                    }
                    first = false
                    // varname
                    let start = i
                    var prevDot = true
                    while i < b.count {
                        let v = b[i]
                        if isAlpha(v) || isDigit(v) || v == 0x5F {
                            prevDot = false
                            i += 1
                        } else if v == 0x25 {
                            guard i + 2 < b.count, isHex(b[i + 1]), isHex(b[i + 2]) else { return false }
                            prevDot = false
                            i += 3
                        } else if v == 0x2E {
                            if prevDot { return false }
                            prevDot = true
                            i += 1
                        } else {
                            break
                        }
                    }
                    if i == start || prevDot { return false }
                    // modifier
                    if i < b.count && b[i] == 0x3A {
                        i += 1
                        let ds = i
                        while i < b.count && isDigit(b[i]) { i += 1 }
                        let n = i - ds
                        if n == 0 || n > 4 || b[ds] == 0x30 { return false }
                    } else if i < b.count && b[i] == 0x2A {
                        i += 1
                    }
                }
                guard i < b.count, b[i] == 0x7D else { return false }
                i += 1
                continue
            }
            if c == 0x25 {
                guard i + 2 < b.count, isHex(b[i + 1]), isHex(b[i + 2]) else { return false }
                i += 3
                continue
            }
            switch c {
            case 0...0x20, 0x22, 0x27, 0x3C, 0x3E, 0x5C, 0x5E, 0x60, 0x7C, 0x7D, 0x7F: return false
            default: i += 1
            }
        }
        return true
    }

    static func uuid(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count == 36 else { return false }
        for (i, c) in b.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if c != 0x2D { return false }
            } else if !isHex(c) {
                return false
            }
        }
        return true
    }

    static func jsonPointer(_ b: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        if b.isEmpty { return true }
        guard b.first == 0x2F else { return false }
        var i = b.startIndex
        while i < b.endIndex {
            if b[i] == 0x7E {
                guard i + 1 < b.endIndex, b[i + 1] == 0x30 || b[i + 1] == 0x31 else { return false }
                i += 2
            } else {
                i += 1
            }
        }
        return true
    }

    static func relativeJSONPointer(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < b.count && isDigit(b[i]) { i += 1 }
        guard i > 0 else { return false }
        if i > 1 && b[0] == 0x30 { return false }
        if i == b.count { return true }
        if b[i] == 0x23 { return i + 1 == b.count }
        return jsonPointer(b[i...])
    }

    // MARK: IDNA2008 host names

    static func isLabelSeparator(_ c: Unicode.Scalar) -> Bool {
        c == "." || c == "\u{3002}" || c == "\u{FF0E}" || c == "\u{FF61}"
    }

    static func idnHostname(_ s: [Unicode.Scalar]) -> Bool {
        guard !s.isEmpty else { return false }
        var labels: [[Unicode.Scalar]] = [[]]
        for c in s {
            if isLabelSeparator(c) { labels.append([]) } else { labels[labels.count - 1].append(c) }
        }
        var total = 0
        for (k, raw) in labels.enumerated() {
            if raw.isEmpty { return false }
            _ = k
            // ASCII is case-insensitive in DNS
            var label = raw.map { c -> Unicode.Scalar in
                if c.value >= 0x41 && c.value <= 0x5A { return Unicode.Scalar(c.value + 0x20)! }
                return c
            }
            var aLabelLength: Int
            if label.count >= 4 && label[0] == "x" && label[1] == "n" && label[2] == "-" && label[3] == "-" {
                guard label.allSatisfy({ $0.isASCII }), let decoded = SchemaPunycode.decode(Array(label[4...])), !decoded.isEmpty else { return false }
                aLabelLength = label.count
                label = decoded
                if label.allSatisfy({ $0.isASCII }) { return false }
            } else if label.allSatisfy({ $0.isASCII }) {
                aLabelLength = label.count
            } else {
                guard let enc = SchemaPunycode.encode(label) else { return false }
                aLabelLength = 4 + enc.count
            }
            if aLabelLength > 63 { return false }
            total += aLabelLength + 1
            guard uLabel(label) else { return false }
        }
        return total - 1 <= 253
    }

    /// RFC 5891 §5.4 / RFC 5892 checks of one U-label (lower-cased ASCII).
    static func uLabel(_ l: [Unicode.Scalar]) -> Bool {
        if l.first == "-" || l.last == "-" { return false }
        if l.count >= 4 && l[2] == "-" && l[3] == "-" { return false }
        if let f = l.first {
            switch f.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark: return false
            default: break
            }
        }
        var hasArabicIndic = false, hasExtArabicIndic = false
        for (i, c) in l.enumerated() {
            let v = c.value
            switch idnaClass(c) {
            case .pvalid: continue
            case .disallowed: return false
            case .contextj:
                let prevVirama = i > 0 && l[i - 1].properties.canonicalCombiningClass.rawValue == 9
                if v == 0x200D {
                    if !prevVirama { return false }
                } else if !prevVirama {
                    // (Joining_Type:{L,D})(Joining_Type:T)* ZWNJ (Joining_Type:T)*(Joining_Type:{R,D})
                    var j = i - 1
                    while j >= 0 && joiningType(l[j]) == "T" { j -= 1 }
                    guard j >= 0, ["L", "D"].contains(joiningType(l[j])) else { return false }
                    var k = i + 1
                    while k < l.count && joiningType(l[k]) == "T" { k += 1 }
                    guard k < l.count, ["R", "D"].contains(joiningType(l[k])) else { return false }
                }
            case .contexto:
                switch v {
                case 0x00B7:
                    guard i > 0, i + 1 < l.count, l[i - 1] == "l", l[i + 1] == "l" else { return false }
                case 0x0375:
                    guard i + 1 < l.count, ScriptRanges.contains(ScriptRanges.greek, l[i + 1].value) else { return false }
                case 0x05F3, 0x05F4:
                    guard i > 0, ScriptRanges.contains(ScriptRanges.hebrew, l[i - 1].value) else { return false }
                case 0x30FB:
                    let ok = l.contains { x in
                        x.value != 0x30FB && (ScriptRanges.contains(ScriptRanges.hiragana, x.value)
                            || ScriptRanges.contains(ScriptRanges.katakana, x.value) || ScriptRanges.contains(ScriptRanges.han, x.value))
                    }
                    if !ok { return false }
                case 0x0660...0x0669: hasArabicIndic = true
                case 0x06F0...0x06F9: hasExtArabicIndic = true
                default: return false
                }
            }
        }
        return !(hasArabicIndic && hasExtArabicIndic)
    }

    enum IDNAClass { case pvalid, disallowed, contextj, contexto }

    /// RFC 5892 §2-3 derivation of a code point's IDNA2008 property.
    static func idnaClass(_ c: Unicode.Scalar) -> IDNAClass {
        let v = c.value
        switch v {
        case 0x00DF, 0x03C2, 0x06FD, 0x06FE, 0x0F0B, 0x3007: return .pvalid
        case 0x00B7, 0x0375, 0x05F3, 0x05F4, 0x30FB, 0x0660...0x0669, 0x06F0...0x06F9: return .contexto
        case 0x0640, 0x07FA, 0x302E, 0x302F, 0x3031...0x3035, 0x303B: return .disallowed
        default: break
        }
        let p = c.properties
        if p.generalCategory == .unassigned { return .disallowed }
        if (v >= 0x61 && v <= 0x7A) || (v >= 0x30 && v <= 0x39) || v == 0x2D { return .pvalid }
        if v == 0x200C || v == 0x200D { return .contextj }
        if p.changesWhenNFKCCaseFolded { return .disallowed }
        if p.isDefaultIgnorableCodePoint || p.isWhitespace || p.isNoncharacterCodePoint { return .disallowed }
        if (0x20D0...0x20FF).contains(v) || (0x1D100...0x1D24F).contains(v) { return .disallowed }
        if (0x1100...0x11FF).contains(v) || (0xA960...0xA97F).contains(v) || (0xD7B0...0xD7FF).contains(v) { return .disallowed }
        switch p.generalCategory {
        case .lowercaseLetter, .uppercaseLetter, .otherLetter, .decimalNumber, .modifierLetter, .nonspacingMark, .spacingMark:
            return .pvalid
        default:
            return .disallowed
        }
    }

    /// Approximate Unicode Joining_Type (for the ZWNJ rule): T for transparent marks, D for letters of
    /// the joining scripts (Arabic, Syriac, N'Ko, Mongolian...), U otherwise.
    static func joiningType(_ c: Unicode.Scalar) -> Character {
        let gc = c.properties.generalCategory
        if gc == .nonspacingMark || gc == .enclosingMark || gc == .format { return "T" }
        let v = c.value
        if gc == .otherLetter || gc == .modifierLetter {
            if (0x0620...0x074F).contains(v) || (0x0750...0x077F).contains(v) || (0x07C0...0x07FF).contains(v)
                || (0x0840...0x086F).contains(v) || (0x08A0...0x08FF).contains(v) || (0x1800...0x18AF).contains(v)
                || (0xA840...0xA87F).contains(v) || (0x10AC0...0x10AFF).contains(v)
            {
                return "D"
            }
        }
        return "U"
    }
}

/// RFC 3492 SchemaPunycode, for IDNA A-labels.
enum SchemaPunycode {
    static let base: UInt32 = 36, tmin: UInt32 = 1, tmax: UInt32 = 26, skew: UInt32 = 38, damp: UInt32 = 700

    static func adapt(_ delta: UInt32, _ numPoints: UInt32, _ first: Bool) -> UInt32 {
        var d = first ? delta / damp : delta / 2
        d += d / numPoints
        var k: UInt32 = 0
        while d > ((base - tmin) * tmax) / 2 {
            d /= base - tmin
            k += base
        }
        return k + (base - tmin + 1) * d / (d + skew)
    }

    static func digitValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c.value {
        case 0x61...0x7A: return c.value - 0x61
        case 0x41...0x5A: return c.value - 0x41
        case 0x30...0x39: return c.value - 0x30 + 26
        default: return nil
        }
    }

    static func digitChar(_ d: UInt32) -> Unicode.Scalar {
        Unicode.Scalar(d < 26 ? d + 0x61 : d - 26 + 0x30)!
    }

    static func decode(_ input: [Unicode.Scalar]) -> [Unicode.Scalar]? {
        var output: [Unicode.Scalar] = []
        var rest = input[...]
        if let dash = input.lastIndex(of: "-") {
            output = Array(input[..<dash])
            rest = input[(dash + 1)...]
            if output.contains(where: { !$0.isASCII }) { return nil }
        }
        var n: UInt32 = 128, i: UInt32 = 0, bias: UInt32 = 72
        while !rest.isEmpty {
            let oldi = i
            var w: UInt32 = 1
            var k = base
            while true {
                guard let c = rest.popFirst(), let digit = digitValue(c) else { return nil }
                let (p, o1) = digit.multipliedReportingOverflow(by: w)
                guard !o1 else { return nil }
                let (s, o2) = i.addingReportingOverflow(p)
                guard !o2 else { return nil }
                i = s
                let t = k <= bias ? tmin : (k >= bias + tmax ? tmax : k - bias)
                if digit < t { break }
                let (w2, o3) = w.multipliedReportingOverflow(by: base - t)
                guard !o3 else { return nil }
                w = w2
                k += base
            }
            let count = UInt32(output.count + 1)
            bias = adapt(i - oldi, count, oldi == 0)
            n += i / count
            i %= count
            guard n <= 0x10FFFF, let scalar = Unicode.Scalar(n) else { return nil }
            output.insert(scalar, at: Int(i))
            i += 1
        }
        return output
    }

    static func encode(_ input: [Unicode.Scalar]) -> [Unicode.Scalar]? {
        var output: [Unicode.Scalar] = input.filter { $0.isASCII }
        let b = UInt32(output.count)
        var h = b
        if b > 0 { output.append("-") }
        var n: UInt32 = 128, delta: UInt32 = 0, bias: UInt32 = 72
        let total = UInt32(input.count)
        while h < total {
            guard let m = input.map({ $0.value }).filter({ $0 >= n }).min() else { return nil }
            let (inc, o1) = (m - n).multipliedReportingOverflow(by: h + 1)
            guard !o1 else { return nil }
            delta += inc
            n = m
            for c in input {
                if c.value < n { delta += 1 }
                if c.value == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = k <= bias ? tmin : (k >= bias + tmax ? tmax : k - bias)
                        if q < t { break }
                        output.append(digitChar(t + (q - t) % (base - t)))
                        q = (q - t) / (base - t)
                        k += base
                    }
                    output.append(digitChar(q))
                    bias = adapt(delta, h + 1, h == b)
                    delta = 0
                    h += 1
                }
            }
            delta += 1
            n += 1
        }
        return output
    }
}
