import Hummingbird
import SvcConf

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Response bodies of `GET .../config` already rendered, keyed by the format and the digests of the
/// sealed bytes of every layer merged into them (lowest first; each digest covers its layer's
/// address, version and content, so equal keys render equal bodies). The route looks a body up only
/// after opening the latest versions from the store, so a body is never served without confirming
/// which versions are latest and their bytes.
///
/// Security: the bodies hold plaintext config values; they live only in this process's memory
/// (never written to disk, never logged). At most ``limit`` bodies are kept.
final class RenderedBodyCache: @unchecked Sendable {
    struct Key: Hashable {
        let format: String
        let layers: [Digest]
    }
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var entries: [Key: ByteBuffer] = [:]
    let limit = 256

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// The cached body for `key`, or `render()`'s (then cached).
    func body(_ key: Key, render: () throws -> ByteBuffer) rethrows -> ByteBuffer {
        pthread_mutex_lock(mutex)
        let hit = entries[key]
        pthread_mutex_unlock(mutex)
        if let hit { return hit }
        let body = try render()
        pthread_mutex_lock(mutex)
        if entries.count >= limit { entries.removeAll() }
        entries[key] = body
        pthread_mutex_unlock(mutex)
        return body
    }
}
