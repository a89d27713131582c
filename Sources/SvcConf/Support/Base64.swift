import SvcConfAWS

/// Standard base64 (RFC 4648 §4, with padding), strict on decode: no whitespace, no missing or
/// extra padding, no non-zero trailing bits — so every byte string has exactly one encoding.
/// The codec is SvcConfAWS's (one implementation below the core).
public enum Base64 {
    /// Encodes bytes.
    public static func encode(_ data: [UInt8]) -> String { AWSBase64.encode(data) }

    /// Decodes canonical base64; nil for anything else.
    public static func decode(_ text: String) -> [UInt8]? { AWSBase64.decode(Array(text.utf8), canonical: true) }

    /// Decodes canonical base64 bytes; nil for anything else.
    public static func decode(_ s: [UInt8]) -> [UInt8]? { AWSBase64.decode(s, canonical: true) }
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
