/// Standard base64 (RFC 4648 §4, with padding), strict on decode: no whitespace, no missing or
/// extra padding, no non-zero trailing bits — so every byte string has exactly one encoding.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let reverse: [UInt8] = {
        var r = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { r[Int(c)] = UInt8(i) }
        return r
    }()

    /// Encodes bytes.
    public static func encode(_ data: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((data.count + 2) / 3 * 4)
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
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes canonical base64; nil for anything else.
    public static func decode(_ text: String) -> [UInt8]? { decode(Array(text.utf8)) }

    /// Decodes canonical base64 bytes; nil for anything else.
    public static func decode(_ s: [UInt8]) -> [UInt8]? {
        guard s.count % 4 == 0 else { return nil }
        if s.isEmpty { return [] }
        var out: [UInt8] = []
        out.reserveCapacity(s.count / 4 * 3)
        var i = 0
        while i < s.count {
            let last = i + 4 == s.count
            let c0 = reverse[Int(s[i])], c1 = reverse[Int(s[i + 1])]
            guard c0 != 0xFF, c1 != 0xFF else { return nil }
            if last && s[i + 2] == 0x3D {
                guard s[i + 3] == 0x3D, c1 & 0x0F == 0 else { return nil }
                out.append(c0 << 2 | c1 >> 4)
                return out
            }
            let c2 = reverse[Int(s[i + 2])]
            guard c2 != 0xFF else { return nil }
            if last && s[i + 3] == 0x3D {
                guard c2 & 0x03 == 0 else { return nil }
                out.append(c0 << 2 | c1 >> 4); out.append(c1 << 4 | c2 >> 2)
                return out
            }
            let c3 = reverse[Int(s[i + 3])]
            guard c3 != 0xFF else { return nil }
            out.append(c0 << 2 | c1 >> 4); out.append(c1 << 4 | c2 >> 2); out.append(c2 << 6 | c3)
            i += 4
        }
        return out
    }
}

/// Lower-case hexadecimal.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)
    /// Encodes bytes as lower-case hex.
    public static func encode(_ data: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(data.count * 2)
        for b in data { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
    /// Decodes lower-case hex; nil for odd length, upper case or other characters.
    public static func decode(_ text: String) -> [UInt8]? {
        let s = Array(text.utf8)
        guard s.count % 2 == 0 else { return nil }
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(s.count / 2)
        var i = 0
        while i < s.count {
            guard let h = v(s[i]), let l = v(s[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}
