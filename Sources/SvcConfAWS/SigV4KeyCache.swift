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
/// day saves four of the five HMACs of every signature. It is kept as HMAC key pads (``SigV4MACKey``),
/// which makes the remaining HMAC two plain SHA-256 calls.
///
/// Shared by copies of a signer. A plain pthread mutex guards the two fields (held only to read or
/// store them, never while deriving), which keeps the signer a synchronous `Sendable` value
/// (`Synchronization.Mutex` would need macOS 15).
final class SigV4KeyCache: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var day: Int64 = .min
    private var key: SigV4MACKey?

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
    func key(day: Int64, derive: () -> SigV4MACKey) -> SigV4MACKey {
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

/// An HMAC-SHA256 key prepared as its two padded blocks (RFC 2104): `HMAC(K, m) = H(opad || H(ipad || m))`
/// with `ipad = K ^ 0x36..`, `opad = K ^ 0x5c..` (K zero-padded to the 64-byte block). With the pads
/// at hand, an HMAC is two one-shot SHA-256 calls and no HMAC context set-up; the tests check it
/// against ``HMACSHA256``.
struct SigV4MACKey: Sendable {
    /// K ^ 0x36 repeated, 64 bytes.
    let ipad: [UInt8]
    /// K ^ 0x5c repeated, 64 bytes.
    let opad: [UInt8]

    /// Pads for `key` (at most 64 bytes; a SigV4 signing key is 32).
    init(key: [UInt8]) {
        precondition(key.count <= 64, "svcconf: SigV4MACKey takes keys of at most one block")
        var ipad = [UInt8](repeating: 0x36, count: 64), opad = [UInt8](repeating: 0x5C, count: 64)
        for (i, b) in key.enumerated() {
            ipad[i] ^= b
            opad[i] ^= b
        }
        self.ipad = ipad
        self.opad = opad
    }

    /// HMAC-SHA256 of `message`.
    func mac(_ message: [UInt8]) -> [UInt8] {
        mac(messageLength: message.count) { w in message.withUnsafeBufferPointer { w.put($0) } }
    }

    /// HMAC-SHA256 of the `messageLength` bytes `write` writes, which go straight after the inner pad
    /// in scratch memory (no copy of the message).
    func mac(messageLength: Int, write: (inout SigV4Writer) -> Void) -> [UInt8] {
        let inner = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64 + messageLength) { buffer in
            var w = SigV4Writer(buffer)
            ipad.withUnsafeBufferPointer { w.put($0) }
            write(&w)
            return SHA256.hash(UnsafeRawBufferPointer(w.written))
        }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64 + SHA256.byteCount) { buffer in
            var w = SigV4Writer(buffer)
            opad.withUnsafeBufferPointer { w.put($0) }
            inner.withUnsafeBufferPointer { w.put($0) }
            return SHA256.hash(UnsafeRawBufferPointer(w.written))
        }
    }
}
