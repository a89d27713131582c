import Hummingbird
import SvcConf

import SvcConfAWS

/// Response bodies of `GET .../config` already rendered, keyed by the format and the digests of the
/// sealed bytes of every layer merged into them (lowest first; each digest covers its layer's
/// address, version and content, so equal keys render equal bodies). The route looks a body up only
/// after opening the latest versions from the store, so a body is never served without confirming
/// which versions are latest and their bytes.
///
/// Security: the bodies hold plaintext config values; they live only in this process's memory
/// (never written to disk, never logged). At most ``limit`` bodies are kept.
final class RenderedBodyCache: Sendable {
    struct Key: Hashable {
        let format: String
        let layers: [Digest]
    }
    private let entries = Locked<[Key: ByteBuffer]>([:])
    let limit = 256

    /// The cached body for `key`, or `render()`'s (then cached).
    func body(_ key: Key, render: () throws -> ByteBuffer) rethrows -> ByteBuffer {
        if let hit = entries.withLock({ $0[key] }) { return hit }
        let body = try render()
        entries.withLock {
            if $0.count >= limit { $0.removeAll() }
            $0[key] = body
        }
        return body
    }
}
