#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Versions this process has opened, keyed by address and number and checked against the exact
/// sealed bytes: a hit needs the bytes just read from the store to be identical to the bytes that
/// were opened, so it answers exactly what opening them again would (versions are immutable; a
/// tampered or replaced object is a miss and is opened, and checked, again). Callers always read
/// the store first (which version is latest, and its bytes): a cached answer is never served
/// without that confirmation.
///
/// Security: the cached plaintext lives only in this process's memory (never on disk, never
/// logged), as the opened configs the process holds anyway. At most ``limit`` versions and
/// ``limit`` merges are kept.
final class OpenedVersionCache: @unchecked Sendable {
    struct Key: Hashable {
        let address: ConfigAddress
        let version: Int64
    }
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var entries: [Key: (bytes: [UInt8], opened: OpenedVersion)] = [:]
    /// Merges of opened layers, keyed by the layers' digests (lowest first): a function of them.
    private var merges: [[Digest]: OpenedVersion] = [:]
    let limit = 256

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// The version opened earlier from exactly `bytes` as `version` of `address`, or nil.
    func lookup(_ address: ConfigAddress, version: Int64, bytes: [UInt8]) -> OpenedVersion? {
        let key = Key(address: address, version: version)
        pthread_mutex_lock(mutex)
        let hit = entries[key]
        pthread_mutex_unlock(mutex)
        guard let hit, hit.bytes == bytes else { return nil }
        if !hit.bytes.withUnsafeBufferPointer({ a in bytes.withUnsafeBufferPointer { $0.baseAddress == a.baseAddress } }) {
            // Equal bytes in another buffer: keep the caller's, so the next comparison with the same
            // buffer (a store that remembers what it read) is an identity check, not a memcmp.
            pthread_mutex_lock(mutex)
            entries[key] = (bytes, hit.opened)
            pthread_mutex_unlock(mutex)
        }
        return hit.opened
    }

    /// `top` merged over `lowers` (all opened, lowest first), from the cache or `merge()`.
    func merged(_ top: OpenedVersion, over lowers: [OpenedVersion], merge: () -> OpenedVersion) -> OpenedVersion {
        var key = lowers.map(\.info.digest)
        key.append(top.info.digest)
        pthread_mutex_lock(mutex)
        let hit = merges[key]
        pthread_mutex_unlock(mutex)
        if let hit { return hit }
        let merged = merge()
        pthread_mutex_lock(mutex)
        if merges.count >= limit { merges.removeAll() }
        merges[key] = merged
        pthread_mutex_unlock(mutex)
        return merged
    }

    /// Remembers `opened`, opened from `bytes`.
    func insert(_ address: ConfigAddress, version: Int64, bytes: [UInt8], opened: OpenedVersion) {
        pthread_mutex_lock(mutex)
        if entries.count >= limit { entries.removeAll() }
        entries[Key(address: address, version: version)] = (bytes, opened)
        pthread_mutex_unlock(mutex)
    }
}
