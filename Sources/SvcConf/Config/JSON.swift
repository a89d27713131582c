import SvcConfAWS

/// A strict RFC 8259 JSON reader and a canonical writer for ``ConfigValue``.
///
/// The reader rejects everything RFC 8259 does not allow (comments, trailing commas, leading zeros,
/// lone surrogates, raw control characters, invalid UTF-8) and, by default, duplicate object keys.
/// Nesting depth and input size are bounded so hostile input cannot exhaust the stack.
/// The canonical writer emits no whitespace and sorts object keys by their UTF-8 bytes.
public enum JSON {
    /// Limits applied while reading.
    public struct Limits: Sendable {
        /// Deepest allowed nesting of arrays and objects.
        public var maxDepth: Int
        /// Largest accepted input, in bytes.
        public var maxBytes: Int
        /// Reject objects that repeat a key.
        public var rejectDuplicateKeys: Bool
        /// The defaults: depth 512, 64 MiB, duplicates rejected.
        public static let `default` = Limits(maxDepth: 512, maxBytes: 64 << 20, rejectDuplicateKeys: true)
        /// Memberwise initializer.
        public init(maxDepth: Int, maxBytes: Int, rejectDuplicateKeys: Bool) {
            self.maxDepth = maxDepth
            self.maxBytes = maxBytes
            self.rejectDuplicateKeys = rejectDuplicateKeys
        }
    }

    /// A JSON syntax error with its byte offset. The message never quotes the input.
    public struct SyntaxError: Error, Sendable, CustomStringConvertible, Equatable {
        /// What is wrong.
        public let reason: String
        /// Byte offset into the input where it was noticed.
        public let offset: Int
        /// "invalid JSON at byte N: reason".
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    /// Parses one JSON text (surrounding whitespace allowed).
    public static func parse(_ bytes: [UInt8], limits: Limits = .default) throws(SyntaxError) -> ConfigValue {
        if bytes.count > limits.maxBytes {
            throw SyntaxError(reason: "input larger than \(limits.maxBytes) bytes", offset: 0)
        }
        return try bytes.withUnsafeBufferPointer { (buf) throws(SyntaxError) -> ConfigValue in
            var p = Parser(buf: buf, limits: limits)
            p.skipWS()
            let v = try p.value(depth: 0)
            p.skipWS()
            if p.i != buf.count { throw p.fail("unexpected data after the JSON value") }
            return v
        }
    }

    /// Parses one JSON text given as a string.
    public static func parse(_ text: String, limits: Limits = .default) throws(SyntaxError) -> ConfigValue {
        try parse(Array(text.utf8), limits: limits)
    }

    /// The canonical encoding: no whitespace, keys sorted by UTF-8 bytes, minimal string escapes.
    public static func canonical(_ value: ConfigValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, into: &out, indent: nil, level: 0)
        return out
    }

    /// The canonical encoding as a string.
    public static func canonicalString(_ value: ConfigValue) -> String {
        String(decoding: canonical(value), as: UTF8.self)
    }

    /// A human-readable encoding: two-space indentation, sorted keys, trailing newline.
    public static func pretty(_ value: ConfigValue) -> String {
        var out: [UInt8] = []
        write(value, into: &out, indent: 2, level: 0)
        out.append(0x0A)
        return String(decoding: out, as: UTF8.self)
    }

    /// Writes `s` as a JSON string literal (with quotes) into `out`.
    public static func writeString(_ s: String, into out: inout [UInt8]) { JSONStringWriter.write(s, into: &out) }

    /// `keys` sorted by UTF-8 bytes (the canonical member order).
    public static func sortedKeys<V>(_ o: [String: V]) -> [String] {
        if o.count < 2 { return Array(o.keys) }
        // Byte order. For ASCII keys (the usual case: environment names) String's own `<` is byte
        // order and has a fast path; comparing through UTF8View per comparison is several times
        // slower on configs with thousands of keys.
        if o.keys.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }) { return o.keys.sorted() }
        return o.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }


    private static func newline(_ out: inout [UInt8], _ indent: Int?, _ level: Int) {
        guard let indent else { return }
        out.append(0x0A)
        out.append(contentsOf: repeatElement(0x20, count: indent * level))
    }

    private static func write(_ v: ConfigValue, into out: inout [UInt8], indent: Int?, level: Int) {
        switch v {
        case .null: out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(let b): out.append(contentsOf: b ? Array("true".utf8) : Array("false".utf8))
        case .number(let n): out.append(contentsOf: Array(n.description.utf8))
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            out.append(0x5B)
            if a.isEmpty { out.append(0x5D); return }
            for (i, e) in a.enumerated() {
                if i > 0 { out.append(0x2C) }
                newline(&out, indent, level + 1)
                write(e, into: &out, indent: indent, level: level + 1)
            }
            newline(&out, indent, level)
            out.append(0x5D)
        case .object(let o):
            out.append(0x7B)
            if o.isEmpty { out.append(0x7D); return }
            for (i, k) in sortedKeys(o).enumerated() {
                if i > 0 { out.append(0x2C) }
                newline(&out, indent, level + 1)
                writeString(k, into: &out)
                out.append(0x3A)
                if indent != nil { out.append(0x20) }
                write(o[k]!, into: &out, indent: indent, level: level + 1)
            }
            newline(&out, indent, level)
            out.append(0x7D)
        }
    }

    private struct Parser {
        let buf: UnsafeBufferPointer<UInt8>
        let limits: Limits
        var i = 0

        init(buf: UnsafeBufferPointer<UInt8>, limits: Limits) {
            self.buf = buf
            self.limits = limits
        }

        func fail(_ reason: String) -> SyntaxError { SyntaxError(reason: reason, offset: i) }

        mutating func skipWS() {
            while i < buf.count {
                let c = buf[i]
                if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { break }
            }
        }

        mutating func expectLiteral(_ lit: StaticString, _ v: ConfigValue) throws(SyntaxError) -> ConfigValue {
            let n = lit.utf8CodeUnitCount
            guard i + n <= buf.count else { throw fail("unexpected end of input") }
            let p = lit.utf8Start
            for k in 0..<n where buf[i + k] != p[k] { throw fail("invalid literal") }
            i += n
            return v
        }

        mutating func value(depth: Int) throws(SyntaxError) -> ConfigValue {
            guard i < buf.count else { throw fail("unexpected end of input") }
            switch buf[i] {
            case 0x7B: return try object(depth: depth + 1)
            case 0x5B: return try array(depth: depth + 1)
            case 0x22: return .string(try string())
            case 0x74: return try expectLiteral("true", .bool(true))
            case 0x66: return try expectLiteral("false", .bool(false))
            case 0x6E: return try expectLiteral("null", .null)
            case 0x2D, 0x30...0x39: return .number(try number())
            default: throw fail("unexpected character")
            }
        }

        mutating func object(depth: Int) throws(SyntaxError) -> ConfigValue {
            if depth > limits.maxDepth { throw fail("nesting deeper than \(limits.maxDepth)") }
            i += 1
            var o: [String: ConfigValue] = [:]
            skipWS()
            if i < buf.count && buf[i] == 0x7D { i += 1; return .object(o) }
            while true {
                skipWS()
                guard i < buf.count, buf[i] == 0x22 else { throw fail("expected a string key") }
                let keyAt = i
                let k = try string()
                skipWS()
                guard i < buf.count, buf[i] == 0x3A else { throw fail("expected ':'") }
                i += 1
                skipWS()
                let v = try value(depth: depth)
                if o.updateValue(v, forKey: k) != nil && limits.rejectDuplicateKeys {
                    throw SyntaxError(reason: "duplicate key", offset: keyAt)
                }
                skipWS()
                guard i < buf.count else { throw fail("unexpected end of input") }
                if buf[i] == 0x2C { i += 1; continue }
                if buf[i] == 0x7D { i += 1; return .object(o) }
                throw fail("expected ',' or '}'")
            }
        }

        mutating func array(depth: Int) throws(SyntaxError) -> ConfigValue {
            if depth > limits.maxDepth { throw fail("nesting deeper than \(limits.maxDepth)") }
            i += 1
            var a: [ConfigValue] = []
            skipWS()
            if i < buf.count && buf[i] == 0x5D { i += 1; return .array(a) }
            while true {
                skipWS()
                a.append(try value(depth: depth))
                skipWS()
                guard i < buf.count else { throw fail("unexpected end of input") }
                if buf[i] == 0x2C { i += 1; continue }
                if buf[i] == 0x5D { i += 1; return .array(a) }
                throw fail("expected ',' or ']'")
            }
        }

        mutating func hex4() throws(SyntaxError) -> UInt32 {
            guard i + 4 <= buf.count else { throw fail("unexpected end of input in \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = buf[i]
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                default: throw fail("invalid \\u escape")
                }
                v = v << 4 | d
                i += 1
            }
            return v
        }

        mutating func string() throws(SyntaxError) -> String {
            i += 1  // opening quote
            let start = i
            // Fast path: no escapes.
            while i < buf.count {
                let c = buf[i]
                if c == 0x22 {
                    let slice = UnsafeBufferPointer(rebasing: buf[start..<i])
                    guard let s = String(validating: slice, as: UTF8.self) else {
                        throw SyntaxError(reason: "invalid UTF-8 in string", offset: start)
                    }
                    i += 1
                    return s
                }
                if c == 0x5C { break }
                if c < 0x20 { throw fail("raw control character in string") }
                i += 1
            }
            // Slow path with escapes.
            var bytes = Array(buf[start..<i])
            while true {
                guard i < buf.count else { throw fail("unterminated string") }
                let c = buf[i]
                if c == 0x22 {
                    i += 1
                    guard let s = String(validating: bytes, as: UTF8.self) else {
                        throw SyntaxError(reason: "invalid UTF-8 in string", offset: start)
                    }
                    return s
                }
                if c < 0x20 { throw fail("raw control character in string") }
                if c != 0x5C { bytes.append(c); i += 1; continue }
                i += 1
                guard i < buf.count else { throw fail("unterminated escape") }
                let e = buf[i]
                i += 1
                switch e {
                case 0x22: bytes.append(0x22)
                case 0x5C: bytes.append(0x5C)
                case 0x2F: bytes.append(0x2F)
                case 0x62: bytes.append(0x08)
                case 0x66: bytes.append(0x0C)
                case 0x6E: bytes.append(0x0A)
                case 0x72: bytes.append(0x0D)
                case 0x74: bytes.append(0x09)
                case 0x75:
                    var cp = try hex4()
                    if cp >= 0xD800 && cp < 0xDC00 {
                        guard i + 2 <= buf.count, buf[i] == 0x5C, buf[i + 1] == 0x75 else {
                            throw fail("lone surrogate in \\u escape")
                        }
                        i += 2
                        let lo = try hex4()
                        guard lo >= 0xDC00 && lo < 0xE000 else { throw fail("invalid surrogate pair") }
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                    } else if cp >= 0xDC00 && cp < 0xE000 {
                        throw fail("lone surrogate in \\u escape")
                    }
                    bytes.append(contentsOf: Array(String(Character(Unicode.Scalar(cp)!)).utf8))
                default: throw fail("invalid escape")
                }
            }
        }

        mutating func number() throws(SyntaxError) -> ConfigNumber {
            let start = i
            var isInt = true
            if buf[i] == 0x2D { i += 1 }
            guard i < buf.count else { throw fail("unexpected end of input in number") }
            if buf[i] == 0x30 {
                i += 1
                if i < buf.count, buf[i] >= 0x30 && buf[i] <= 0x39 { throw fail("leading zero in number") }
            } else if buf[i] >= 0x31 && buf[i] <= 0x39 {
                while i < buf.count, buf[i] >= 0x30 && buf[i] <= 0x39 { i += 1 }
            } else {
                throw fail("invalid number")
            }
            if i < buf.count, buf[i] == 0x2E {
                isInt = false
                i += 1
                let d0 = i
                while i < buf.count, buf[i] >= 0x30 && buf[i] <= 0x39 { i += 1 }
                if i == d0 { throw fail("expected digits after '.'") }
            }
            if i < buf.count, buf[i] == 0x65 || buf[i] == 0x45 {
                isInt = false
                i += 1
                if i < buf.count, buf[i] == 0x2B || buf[i] == 0x2D { i += 1 }
                let d0 = i
                while i < buf.count, buf[i] >= 0x30 && buf[i] <= 0x39 { i += 1 }
                if i == d0 { throw fail("expected digits in exponent") }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: buf[start..<i]), as: UTF8.self)
            if isInt, let v = Int64(text) { return .int(v) }
            guard let d = Double(text), d.isFinite else {
                throw SyntaxError(reason: "number out of range", offset: start)
            }
            return .double(d)
        }
    }
}
