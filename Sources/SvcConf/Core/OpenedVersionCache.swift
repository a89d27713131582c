import SvcConfAWS

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
final class OpenedVersionCache: Sendable {
    struct Key: Hashable {
        let address: ConfigAddress
        let version: Int64
    }
    private let entries = Locked<[Key: (bytes: [UInt8], opened: OpenedVersion)]>([:])
    /// Merges of opened layers, keyed by the layers' digests (lowest first): a function of them.
    private let merges = Locked<[[Digest]: OpenedVersion]>([:])
    let limit = 256

    /// The version opened earlier from exactly `bytes` as `version` of `address`, or nil.
    func lookup(_ address: ConfigAddress, version: Int64, bytes: [UInt8]) -> OpenedVersion? {
        let key = Key(address: address, version: version)
        guard let hit = entries.withLock({ $0[key] }), hit.bytes == bytes else { return nil }
        if !hit.bytes.withUnsafeBufferPointer({ a in bytes.withUnsafeBufferPointer { $0.baseAddress == a.baseAddress } }) {
            // Equal bytes in another buffer: keep the caller's, so the next comparison with the same
            // buffer (a store that remembers what it read) is an identity check, not a memcmp.
            entries.withLock { $0[key] = (bytes, hit.opened) }
        }
        return hit.opened
    }

    /// `top` merged over `lowers` (all opened, lowest first), from the cache or `merge()`.
    func merged(_ top: OpenedVersion, over lowers: [OpenedVersion], merge: () -> OpenedVersion) -> OpenedVersion {
        var key = lowers.map(\.info.digest)
        key.append(top.info.digest)
        if let hit = merges.withLock({ $0[key] }) { return hit }
        let merged = merge()
        merges.withLock {
            if $0.count >= limit { $0.removeAll() }
            $0[key] = merged
        }
        return merged
    }

    /// Remembers `opened`, opened from `bytes`.
    func insert(_ address: ConfigAddress, version: Int64, bytes: [UInt8], opened: OpenedVersion) {
        entries.withLock {
            if $0.count >= limit { $0.removeAll() }
            $0[Key(address: address, version: version)] = (bytes, opened)
        }
    }
}
