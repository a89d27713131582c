import SvcConfCrypto

/// The small JSON dialect the AWS JSON APIs use (KMS's JSON 1.1 protocol, the ECS container and EC2
/// instance-metadata credential documents): a strict RFC 8259 reader with a depth bound and duplicate
/// keys rejected, and a writer for the flat request objects. Foundation-free.
///
/// A secret member (KMS's `Plaintext`) can be read into a caller-owned buffer instead of the value
/// tree, so the caller can wipe it: see ``parse(_:secretKey:secret:)``.
enum AWSJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([AWSJSON])
    case object([String: AWSJSON])

    /// The member `key` of an object (nil for other values or a missing member).
    subscript(key: String) -> AWSJSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// The string, if this is one.
    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The object's members, if this is one.
    var objectValue: [String: AWSJSON]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// Deepest nesting accepted.
    static let maxDepth = 32

    /// Parses one JSON text. Errors are `.malformedResponse` with a byte offset; they never quote the input.
    static func parse(_ bytes: [UInt8]) throws(AWSError) -> AWSJSON {
        var unused: [UInt8] = []
        return try parse(bytes, secretKey: nil, secret: &unused)
    }

    /// Parses one JSON text whose top level is an object; the string member `secretKey` (if present) is
    /// not put into the result but appended, unescaped, to `secret` (a buffer the caller owns and wipes).
    static func parse(_ bytes: [UInt8], secretKey: String?, secret: inout [UInt8]) throws(AWSError) -> AWSJSON {
        var p = Parser(bytes: bytes, secretKey: secretKey.map { Array($0.utf8) })
        p.skipWS()
        let v = try p.value(depth: 0, secret: &secret)
        p.skipWS()
        if p.i != bytes.count { throw p.fail("unexpected data after the JSON value") }
        return v
    }

    // MARK: writing

    /// Writes `s` as a JSON string literal (see ``JSONStringWriter``).
    static func writeString(_ s: String, into out: inout [UInt8]) { JSONStringWriter.write(s, into: &out) }

    /// Encodes a value (object members sorted by key, no whitespace).
    static func encode(_ v: AWSJSON) -> [UInt8] {
        var out: [UInt8] = []
        write(v, into: &out)
        return out
    }

    static func write(_ v: AWSJSON, into out: inout [UInt8]) {
        switch v {
        case .null: out.append(contentsOf: Array("null".utf8))
        case .bool(let b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
        case .number(let d):
            if d == d.rounded(), abs(d) < 9.0e15 { out.append(contentsOf: Array(String(Int64(d)).utf8)) }
            else { out.append(contentsOf: Array(String(d).utf8)) }
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            out.append(0x5B)
            for (i, e) in a.enumerated() {
                if i > 0 { out.append(0x2C) }
                write(e, into: &out)
            }
            out.append(0x5D)
        case .object(let o):
            out.append(0x7B)
            for (i, k) in o.keys.sorted().enumerated() {
                if i > 0 { out.append(0x2C) }
                writeString(k, into: &out)
                out.append(0x3A)
                write(o[k]!, into: &out)
            }
            out.append(0x7D)
        }
    }

    // MARK: reading

    private struct Parser {
        let bytes: [UInt8]
        let secretKey: [UInt8]?
        var i = 0

        init(bytes: [UInt8], secretKey: [UInt8]?) {
            self.bytes = bytes
            self.secretKey = secretKey
        }

        func fail(_ reason: String) -> AWSError {
            AWSError(.malformedResponse, "invalid JSON at byte \(i): \(reason)")
        }

        mutating func skipWS() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        }

        mutating func literal(_ text: String, _ v: AWSJSON) throws(AWSError) -> AWSJSON {
            let t = Array(text.utf8)
            guard i + t.count <= bytes.count, Array(bytes[i..<i + t.count]) == t else { throw fail("invalid literal") }
            i += t.count
            return v
        }

        mutating func value(depth: Int, secret: inout [UInt8]) throws(AWSError) -> AWSJSON {
            guard depth <= AWSJSON.maxDepth else { throw fail("nesting deeper than \(AWSJSON.maxDepth)") }
            guard i < bytes.count else { throw fail("unexpected end of input") }
            switch bytes[i] {
            case 0x7B: return try object(depth: depth, secret: &secret)
            case 0x5B:
                i += 1
                var a: [AWSJSON] = []
                skipWS()
                if i < bytes.count, bytes[i] == 0x5D { i += 1; return .array(a) }
                var none: [UInt8] = []
                while true {
                    skipWS()
                    a.append(try value(depth: depth + 1, secret: &none))
                    skipWS()
                    guard i < bytes.count else { throw fail("unexpected end of input") }
                    if bytes[i] == 0x2C { i += 1; continue }
                    if bytes[i] == 0x5D { i += 1; return .array(a) }
                    throw fail("expected ',' or ']'")
                }
            case 0x22:
                var s: [UInt8] = []
                try string(into: &s)
                guard let text = String(validating: s, as: UTF8.self) else { throw fail("invalid UTF-8 in string") }
                return .string(text)
            case 0x74: return try literal("true", .bool(true))
            case 0x66: return try literal("false", .bool(false))
            case 0x6E: return try literal("null", .null)
            case 0x2D, 0x30...0x39: return .number(try number())
            default: throw fail("unexpected character")
            }
        }

        mutating func object(depth: Int, secret: inout [UInt8]) throws(AWSError) -> AWSJSON {
            i += 1
            var o: [String: AWSJSON] = [:]
            var sawSecret = false
            skipWS()
            if i < bytes.count, bytes[i] == 0x7D { i += 1; return .object(o) }
            var none: [UInt8] = []
            while true {
                skipWS()
                guard i < bytes.count, bytes[i] == 0x22 else { throw fail("expected a string key") }
                var kb: [UInt8] = []
                try string(into: &kb)
                guard let key = String(validating: kb, as: UTF8.self) else { throw fail("invalid UTF-8 in key") }
                skipWS()
                guard i < bytes.count, bytes[i] == 0x3A else { throw fail("expected ':'") }
                i += 1
                skipWS()
                if depth == 0, let sk = secretKey, kb == sk, i < bytes.count, bytes[i] == 0x22 {
                    // The secret member: straight into the caller's buffer, never into a String.
                    if sawSecret { throw fail("duplicate key") }
                    sawSecret = true
                    try string(into: &secret)
                } else {
                    let v = try value(depth: depth + 1, secret: &none)
                    if o.updateValue(v, forKey: key) != nil { throw fail("duplicate key") }
                }
                skipWS()
                guard i < bytes.count else { throw fail("unexpected end of input") }
                if bytes[i] == 0x2C { i += 1; continue }
                if bytes[i] == 0x7D { i += 1; return .object(o) }
                throw fail("expected ',' or '}'")
            }
        }

        mutating func hex4() throws(AWSError) -> UInt32 {
            guard i + 4 <= bytes.count else { throw fail("unexpected end of input in \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[i]
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

        /// Reads a string literal at `i` (which is on the opening quote), appending its unescaped UTF-8.
        mutating func string(into out: inout [UInt8]) throws(AWSError) {
            i += 1
            // Size the buffer once, so a secret is never copied by a reallocation.
            var end = i
            while end < bytes.count, bytes[end] != 0x22 { end += bytes[end] == 0x5C ? 2 : 1 }
            out.reserveCapacity(out.count + max(0, min(end, bytes.count) - i))
            while true {
                guard i < bytes.count else { throw fail("unterminated string") }
                let c = bytes[i]
                if c == 0x22 { i += 1; return }
                if c < 0x20 { throw fail("raw control character in string") }
                if c != 0x5C { out.append(c); i += 1; continue }
                i += 1
                guard i < bytes.count else { throw fail("unterminated escape") }
                let e = bytes[i]
                i += 1
                switch e {
                case 0x22: out.append(0x22)
                case 0x5C: out.append(0x5C)
                case 0x2F: out.append(0x2F)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0C)
                case 0x6E: out.append(0x0A)
                case 0x72: out.append(0x0D)
                case 0x74: out.append(0x09)
                case 0x75:
                    var cp = try hex4()
                    if cp >= 0xD800 && cp < 0xDC00 {
                        guard i + 2 <= bytes.count, bytes[i] == 0x5C, bytes[i + 1] == 0x75 else {
                            throw fail("lone surrogate in \\u escape")
                        }
                        i += 2
                        let lo = try hex4()
                        guard lo >= 0xDC00 && lo < 0xE000 else { throw fail("invalid surrogate pair") }
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                    } else if cp >= 0xDC00 && cp < 0xE000 {
                        throw fail("lone surrogate in \\u escape")
                    }
                    guard let scalar = Unicode.Scalar(cp) else { throw fail("invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw fail("invalid escape")
                }
            }
        }

        mutating func number() throws(AWSError) -> Double {
            let start = i
            if bytes[i] == 0x2D { i += 1 }
            guard i < bytes.count else { throw fail("unexpected end of input in number") }
            if bytes[i] == 0x30 {
                i += 1
            } else if bytes[i] >= 0x31 && bytes[i] <= 0x39 {
                while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1 }
            } else {
                throw fail("invalid number")
            }
            if i < bytes.count, bytes[i] == 0x2E {
                i += 1
                let d0 = i
                while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1 }
                if i == d0 { throw fail("expected digits after '.'") }
            }
            if i < bytes.count, bytes[i] == 0x65 || bytes[i] == 0x45 {
                i += 1
                if i < bytes.count, bytes[i] == 0x2B || bytes[i] == 0x2D { i += 1 }
                let d0 = i
                while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1 }
                if i == d0 { throw fail("expected digits in exponent") }
            }
            guard let d = Double(String(decoding: bytes[start..<i], as: UTF8.self)), d.isFinite else {
                throw fail("number out of range")
            }
            return d
        }
    }
}

/// Standard base64 (RFC 4648 §4, padded), writing into and reading from caller-owned buffers sized
/// once (so secret bytes are never left behind by a reallocation). The project's one base64 codec:
/// the KMS JSON blobs use it here, and the core's `Base64` (canonical decoding) wraps it.
public enum AWSBase64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let reverse: [UInt8] = {
        var r = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { r[Int(c)] = UInt8(i) }
        return r
    }()

    /// The encoded length of `n` bytes.
    public static func encodedCount(_ n: Int) -> Int { (n + 2) / 3 * 4 }

    /// Appends the encoding of `data` to `out`.
    public static func encode(_ data: [UInt8], into out: inout [UInt8]) {
        out.reserveCapacity(out.count + encodedCount(data.count))
        var i = 0
        while i + 3 <= data.count {
            let n = UInt32(data[i]) << 16 | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2])
            out.append(alphabet[Int(n >> 18 & 63)]); out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)]); out.append(alphabet[Int(n & 63)])
            i += 3
        }
        let rest = data.count - i
        if rest == 1 {
            let n = UInt32(data[i]) << 16
            out.append(alphabet[Int(n >> 18 & 63)]); out.append(alphabet[Int(n >> 12 & 63)])
            out.append(0x3D); out.append(0x3D)
        } else if rest == 2 {
            let n = UInt32(data[i]) << 16 | UInt32(data[i + 1]) << 8
            out.append(alphabet[Int(n >> 18 & 63)]); out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)]); out.append(0x3D)
        }
    }

    /// The encoding as a string (for non-secret data).
    public static func encode(_ data: [UInt8]) -> String {
        var out: [UInt8] = []
        encode(data, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes padded base64; nil for anything else (a partial result is wiped before returning nil).
    /// `canonical`: also refuse non-zero bits after the last byte, so every byte string has exactly
    /// one accepted encoding.
    public static func decode(_ s: [UInt8], canonical: Bool = false) -> [UInt8]? {
        guard s.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(s.count / 4 * 3)
        var i = 0
        func bad(_ out: inout [UInt8]) -> [UInt8]? {
            secureZero(&out)
            return nil
        }
        while i < s.count {
            let last = i + 4 == s.count
            let c0 = reverse[Int(s[i])], c1 = reverse[Int(s[i + 1])]
            guard c0 != 0xFF, c1 != 0xFF else { return bad(&out) }
            if last && s[i + 2] == 0x3D {
                guard s[i + 3] == 0x3D, !canonical || c1 & 0x0F == 0 else { return bad(&out) }
                out.append(c0 << 2 | c1 >> 4)
                return out
            }
            let c2 = reverse[Int(s[i + 2])]
            guard c2 != 0xFF else { return bad(&out) }
            if last && s[i + 3] == 0x3D {
                guard !canonical || c2 & 0x03 == 0 else { return bad(&out) }
                out.append(c0 << 2 | c1 >> 4); out.append(c1 << 4 | c2 >> 2)
                return out
            }
            let c3 = reverse[Int(s[i + 3])]
            guard c3 != 0xFF else { return bad(&out) }
            out.append(c0 << 2 | c1 >> 4); out.append(c1 << 4 | c2 >> 2); out.append(c2 << 6 | c3)
            i += 4
        }
        return out
    }

    /// Decodes a string; nil if not base64.
    public static func decode(_ s: String, canonical: Bool = false) -> [UInt8]? { decode(Array(s.utf8), canonical: canonical) }
}

/// Writes a string as a JSON string literal with the minimal escapes (`\"`, `\\`, `\n`, `\r`, `\t`,
/// `\b`, `\f`, `\u00XX` for other control characters; everything else as its UTF-8 bytes), which is
/// also the canonical form svcconf's sealed headers use. Runs of bytes that need no escape are
/// copied whole. The one writer of JSON strings: the core's `JSON` and the AWS requests use it.
public enum JSONStringWriter {
    public static func write(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        var s = s
        s.withUTF8 { bytes in
            var start = 0
            for i in 0..<bytes.count {
                let b = bytes[i]
                if b >= 0x20 && b != 0x22 && b != 0x5C { continue }
                if start < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i])) }
                escape(b, into: &out)
                start = i + 1
            }
            if start < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...])) }
        }
        out.append(0x22)
    }

    /// The escape of `b`: a quote, a backslash or a control character.
    private static func escape(_ b: UInt8, into out: inout [UInt8]) {
        switch b {
        case 0x22: out.append(0x5C); out.append(0x22)
        case 0x5C: out.append(0x5C); out.append(0x5C)
        case 0x0A: out.append(0x5C); out.append(0x6E)
        case 0x0D: out.append(0x5C); out.append(0x72)
        case 0x09: out.append(0x5C); out.append(0x74)
        case 0x08: out.append(0x5C); out.append(0x62)
        case 0x0C: out.append(0x5C); out.append(0x66)
        default:
            out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30])  // \u00
            out.append(hexDigit(b >> 4)); out.append(hexDigit(b & 0xF))
        }
    }

    private static func hexDigit(_ n: UInt8) -> UInt8 { n < 10 ? 0x30 + n : 0x61 + n - 10 }
}
