import SvcConfCrypto

/// The last signing key a ``SigV4Signer`` derived, with its day: the key depends only on the
/// signer's (immutable) credentials, region and service and on the date stamp, so deriving it once a
/// day saves four of the five HMACs of every signature. It is kept prepared for HMAC
/// (``HMACSHA256/PreparedKey``: the SHA-256 states after its pads), which makes the remaining HMAC
/// two short SHA-256 continuations.
///
/// Shared by copies of a signer; the lock (``Locked``) is held only to read or store the two
/// fields, never while deriving.
final class SigV4KeyCache: Sendable {
    private let cached = Locked<(day: Int64, key: HMACSHA256.PreparedKey?)>((.min, nil))

    /// The key for `day`, from the cache or from `derive` (which then replaces the cached key).
    func key(day: Int64, derive: () -> HMACSHA256.PreparedKey) -> HMACSHA256.PreparedKey {
        if let hit = cached.withLock({ $0.day == day ? $0.key : nil }) { return hit }
        let derived = derive()
        cached.withLock { $0 = (day, derived) }
        return derived
    }
}
