#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import SvcConfAWS

/// A file store's memory of the latest version of each address (its number and sealed bytes, or
/// that it has none), with the `stat(2)` stamps taken before they were read: of the address's
/// `versions` directory (or, while that does not exist, of its deepest existing ancestor) and of
/// the latest version's file. A lookup answers only when those stamps are unchanged, so it answers
/// what listing and reading again would:
///
/// - creating a version (or any entry) in a directory changes the directory's mtime and ctime, and
///   so does creating the missing directory under the watched ancestor; rewriting, replacing or
///   touching the version file changes its inode, size, mtime or ctime (a user cannot set ctime);
/// - file systems stamp with a coarse clock, so two changes within one tick can leave equal stamps
///   (git's "racy clean" problem). An entry is remembered only when its stamps were already
///   ``settleNanoseconds`` old when the listing started; a change after the listing then stamps a later
///   time, which differs. Right after a write, reads list again until it settles.
///
/// Used by long-running readers (svcconf-server): a `stat` of the directory and one of the file
/// per lookup instead of a listing and a read. The bytes are sealed (ciphertext); callers open them,
/// or find them in ``OpenedVersionCache``, as before. At most ``limit`` addresses are kept.
final class FileStoreLatestCache: Sendable {
    struct Latest {
        let number: Int64
        /// The version's file and its stamp.
        let path: String
        let file: LocalFS.FileStamp
        let bytes: [UInt8]
    }

    struct Entry {
        /// The `versions` directory, or its deepest existing ancestor when it does not exist.
        let watched: String
        let stamp: LocalFS.FileStamp
        /// nil: the address has no versions.
        let latest: Latest?
    }

    /// The answer of a lookup that hit.
    enum Hit {
        case none
        case latest(number: Int64, bytes: [UInt8])
    }

    /// How old (by the wall clock) a stamp must be before it is trusted: 2 s, far above the
    /// coarse clock's tick (≤ 10 ms) and small clock steps.
    let settleNanoseconds: Int64
    let limit = 1024
    private let entries = Locked<[ConfigAddress: Entry]>([:])
    private let hitCount = Locked(0)
    /// Lookups answered from memory (for tests).
    var hits: Int { hitCount.withLock { $0 } }

    init(settleNanoseconds: Int64 = 2_000_000_000) {
        self.settleNanoseconds = settleNanoseconds
    }

    /// The remembered answer for `address` when the watched path and the version's file have the
    /// stamps they had when it was read; else nil (read the store).
    func lookup(_ address: ConfigAddress) -> Hit? {
        guard let entry = entries.withLock({ $0[address] }), LocalFS.stamp(entry.watched) == entry.stamp else { return nil }
        if let latest = entry.latest, LocalFS.stamp(latest.path) != latest.file { return nil }
        hitCount.withLock { $0 += 1 }
        guard let latest = entry.latest else { return Hit.none }
        return .latest(number: latest.number, bytes: latest.bytes)
    }

    /// The path to watch for `dir` (a `versions` directory under `root`) and its stamp, taken from
    /// the root down BEFORE listing: `dir` itself when it exists, else its deepest existing
    /// ancestor. Each component is stamped before the next is looked at, so a component created
    /// after its parent was stamped changes that parent's stamp.
    static func watch(root: String, dir: String) -> (path: String, stamp: LocalFS.FileStamp)? {
        guard var stamp = LocalFS.stamp(root), dir.hasPrefix(root + "/") else { return nil }
        var path = root
        for component in dir.dropFirst(root.count + 1).split(separator: "/") {
            let next = path + "/" + component
            guard let s = LocalFS.stamp(next) else { break }
            path = next
            stamp = s
        }
        return (path, stamp)
    }

    /// Remembers the answer read for `address` after `watched` had stamp `stamp` (and the latest
    /// version's file its stamp), the listing having started at `listedAt` (wall clock). Forgets
    /// the address instead when a stamp is too recent to be trusted.
    func remember(_ address: ConfigAddress, watched: String, stamp: LocalFS.FileStamp, latest: Latest?, at listedAt: timespec) {
        let settled = stamp.settled(before: listedAt, nanoseconds: settleNanoseconds)
            && (latest?.file.settled(before: listedAt, nanoseconds: settleNanoseconds) ?? true)
        entries.withLock {
            guard settled else {
                $0.removeValue(forKey: address)
                return
            }
            if $0.count >= limit { $0.removeAll() }
            $0[address] = Entry(watched: watched, stamp: stamp, latest: latest)
        }
    }
}
