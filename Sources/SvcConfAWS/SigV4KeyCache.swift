#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import SvcConfCrypto

/// The last signing key a ``SigV4Signer`` derived, with its day: the key depends only on the
/// signer's (immutable) credentials, region and service and on the date stamp, so deriving it once a
/// day saves four of the five HMACs of every signature. It is kept prepared for HMAC
/// (``HMACSHA256/PreparedKey``: the SHA-256 states after its pads), which makes the remaining HMAC
/// two short SHA-256 continuations.
///
/// Shared by copies of a signer. A plain pthread mutex guards the two fields (held only to read or
/// store them, never while deriving), which keeps the signer a synchronous `Sendable` value
/// (`Synchronization.Mutex` would need macOS 15).
final class SigV4KeyCache: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var day: Int64 = .min
    private var key: HMACSHA256.PreparedKey?

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// The key for `day`, from the cache or from `derive` (which then replaces the cached key).
    func key(day: Int64, derive: () -> HMACSHA256.PreparedKey) -> HMACSHA256.PreparedKey {
        pthread_mutex_lock(mutex)
        if self.day == day, let cached = key {
            pthread_mutex_unlock(mutex)
            return cached
        }
        pthread_mutex_unlock(mutex)
        let derived = derive()
        pthread_mutex_lock(mutex)
        self.day = day
        self.key = derived
        pthread_mutex_unlock(mutex)
        return derived
    }
}
