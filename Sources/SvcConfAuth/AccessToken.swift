import SvcConfCrypto
import SvcConf

/// Bearer tokens of `svcconf-server`: `svcconf_` followed by 64 lower-case hex digits (256 random
/// bits). The server keeps only each token's SHA-256 (``hash(of:)``), never the token.
///
/// An unsalted, fast hash is enough here: a token is 256 bits from the system CSPRNG, not a
/// password a person chose, so there is no dictionary to try and a preimage search over 2^256 is out
/// of reach; salting or a slow KDF would only cost time on every request.
public enum AccessToken {
    /// Every token starts with this, so secret scanners and people recognize one.
    public static let prefix = "svcconf_"
    /// Random bytes in a token.
    public static let randomBytes = 32

    /// A fresh token from the system CSPRNG.
    public static func mint() throws -> String {
        prefix + Hex.encode(try SecureRandom.bytes(count: randomBytes))
    }

    /// True when `token` has a token's shape (prefix and 64 lower-case hex digits). Checked before
    /// hashing so that a malformed credential is answered as such.
    public static func isWellFormed(_ token: String) -> Bool {
        let u = Array(token.utf8), p = Array(prefix.utf8)
        guard u.count == p.count + 2 * randomBytes, u.starts(with: p) else { return false }
        return u[p.count...].allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// The SHA-256 of the token's UTF-8 bytes: what a token file stores.
    public static func hash(of token: String) -> [UInt8] {
        SHA256.hash(Array(token.utf8))
    }
}
