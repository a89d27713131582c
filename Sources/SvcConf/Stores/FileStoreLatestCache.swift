#if canImport(Glibc)
import Glibc
import Synchronization
#else
import Darwin
#endif
import SvcConfAWS

/// A file store's memory of the latest version of each address (its number and sealed bytes, or
/// that it has none), kept exact by the kernel's change notifications (Linux `inotify(7)`): before
/// the store lists an address's `versions` directory it watches every directory on the path from
/// `/` down to it (or to its deepest existing ancestor), and before it reads the latest version's
/// file it watches that file. Any change that could alter the answer — an entry created, removed
/// or renamed in the versions directory, a file written or its attributes changed, a directory on
/// the path renamed, replaced, removed or unmounted, or the kernel's event queue overflowing — is
/// queued by the kernel before the changing system call returns. Every lookup first asks whether
/// that queue holds anything (`ioctl(FIONREAD)`, without a lock) and drains it when it does (under
/// the lock; a relevant event forgets every remembered answer). A thread that sees an empty queue
/// because another one just took its events waits for the lock that one holds while it decides. So a
/// lookup answers what listing and reading again would, including for a write another process
/// finished a moment before; no clock or timestamp is involved.
///
/// Remembered only where the events are complete, else every read lists and reads as before:
/// - Linux only (`inotify`);
/// - an absolute store path without `..` and without symbolic links on it (directories are
///   watched with `IN_DONT_FOLLOW | IN_ONLYDIR`; a symlinked component or version file is not cached);
/// - local file systems only (ext2/3/4, XFS, Btrfs, tmpfs, overlayfs, ZFS, F2FS): a network file
///   system (NFS, EFS, SMB) or FUSE mount does not report other hosts' changes.
/// - an address is remembered from its second read on: a process that reads once (the CLI) never
///   creates the inotify instance.
///
/// Not seen: a file system mounted over a directory on the path (no event exists for that; it needs
/// root, who can also replace the binary).
///
/// Used by long-running readers (svcconf-server): one `ioctl(2)` per lookup instead of a listing and
/// a read. The bytes are sealed (ciphertext); callers open them, or find them in
/// ``OpenedVersionCache``, as before. At most ``limit`` addresses are kept.
final class FileStoreLatestCache: Sendable {
    /// The answer of a lookup that hit.
    enum Hit {
        case none
        case latest(number: Int64, bytes: [UInt8])
    }

    /// Taken before listing (and before reading the file); valid while no relevant event arrived.
    struct Ticket {
        let generation: UInt64
    }

    /// Which changes in a watched directory matter: all (the versions directory, whose every entry
    /// can be a version), or only those to the named entries (the next component of a watched path).
    enum Relevance {
        case everything
        case names(Set<String>)

        func merged(_ other: Relevance) -> Relevance {
            switch (self, other) {
            case (.names(let a), .names(let b)): return .names(a.union(b))
            default: return .everything
            }
        }
    }

    struct State {
        /// The inotify instance (-1: none yet). Made once, closed with the cache.
        var fd: Int32 = -1
        /// Bumped whenever the remembered answers are forgotten.
        var generation: UInt64 = 0
        var watches: [Int32: Relevance] = [:]
        var entries: [ConfigAddress: Hit] = [:]
        /// Addresses read once (remembered from the second read on).
        var seen: Set<ConfigAddress> = []
        var hits = 0
        /// Set when inotify cannot be used in this process (no such system call, or a read of its
        /// events failed): nothing is remembered any more.
        var unavailable = false
    }

    let limit = 1024
    /// More watches than this (mostly files of versions superseded since): unwatch all and start over.
    let watchLimit: Int
    private let state = Locked(State())
    #if os(Linux)
    /// `state.fd`, readable without the lock (set once, under it).
    private let watchFD = Atomic<Int32>(-1)
    #endif

    init(watchLimit: Int = 4096) {
        self.watchLimit = watchLimit
    }

    deinit {
        state.withLock { if $0.fd >= 0 { close($0.fd) } }
    }

    /// Lookups answered from memory (for tests).
    var hits: Int { state.withLock { $0.hits } }

    /// Watches held now (for tests).
    var watchCount: Int { state.withLock { $0.watches.count } }

    /// Whether this process has an inotify instance (for tests).
    var isWatching: Bool { state.withLock { $0.fd >= 0 } }

    /// The remembered answer for `address` when nothing it was read from has changed since; else nil
    /// (list and read the store).
    func lookup(_ address: ConfigAddress) -> Hit? {
        #if os(Linux)
        let fd = watchFD.load(ordering: .acquiring)
        guard fd >= 0 else { return nil }
        // Events queued (or the question failed): drain them under the lock before answering.
        var queuedBytes: Int32 = 0
        let queued = ioctl(fd, UInt(FIONREAD), &queuedBytes) != 0 || queuedBytes != 0
        return state.withLock { s in
            if queued { Self.drain(&s) }
            guard let hit = s.entries[address] else { return nil }
            s.hits += 1
            return hit
        }
        #else
        return nil
        #endif
    }

    /// Before listing `dir` (a `versions` directory under the store's `root`): watches every
    /// directory from `/` down to `dir`, or to its deepest existing ancestor. nil when the answer
    /// will not be remembered (first read of the address, or a path that cannot be watched).
    func watch(_ address: ConfigAddress, root: String, dir: String) -> Ticket? {
        #if os(Linux)
        guard root.hasPrefix("/"), dir.hasPrefix(root + "/") else { return nil }
        // Empty and `.` components name the same directory; `..` is not followed.
        let components = dir.split(separator: "/").filter { $0 != "." }
        guard !components.contains("..") else { return nil }
        return state.withLock { s -> Ticket? in
            guard !s.unavailable else { return nil }
            guard s.seen.contains(address) else {
                if s.seen.count >= limit { s.seen.removeAll() }
                s.seen.insert(address)
                return nil
            }
            if s.fd < 0 {
                let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
                guard fd >= 0 else {
                    // ENOSYS: never in this process; EMFILE (the per-user instance limit): not now.
                    s.unavailable = errno == ENOSYS
                    return nil
                }
                s.fd = fd
                watchFD.store(fd, ordering: .releasing)
            }
            Self.drain(&s)
            if s.watches.count > watchLimit { Self.unwatchAll(&s) }
            let mask = UInt32(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB
                              | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW)
            // "/", "/c0", "/c0/c1", ... dir; each watched for its next component (dir: for everything).
            var path = ""
            for i in 0...components.count {
                if i > 0 { path += "/" + components[components.startIndex + i - 1] }
                let wd = inotify_add_watch(s.fd, path.isEmpty ? "/" : path, mask)
                if wd < 0 {
                    // A missing directory ends the path: its creation is an event in its parent,
                    // watched for it. Anything else (a symlink, a file, no permission): not remembered.
                    guard errno == ENOENT, i > 0 else { return nil }
                    break
                }
                if s.watches[wd] == nil, !Self.isLocalFileSystem(path.isEmpty ? "/" : path) {
                    inotify_rm_watch(s.fd, wd)
                    return nil
                }
                let relevance: Relevance = i == components.count ? .everything : .names([String(components[components.startIndex + i])])
                s.watches[wd] = s.watches[wd].map { $0.merged(relevance) } ?? relevance
            }
            return Ticket(generation: s.generation)
        }
        #else
        return nil
        #endif
    }

    /// Before reading the latest version's `file`: watches it (writes, attribute changes, removal,
    /// rename). nil when it is not a regular file or the ticket is no longer valid.
    func watchFile(_ file: String, _ ticket: Ticket) -> Ticket? {
        #if os(Linux)
        var st = stat()
        guard lstat(file, &st) == 0, UInt32(st.st_mode) & UInt32(S_IFMT) == UInt32(S_IFREG) else { return nil }
        return state.withLock { s -> Ticket? in
            guard s.fd >= 0, !s.unavailable else { return nil }
            Self.drain(&s)
            guard s.generation == ticket.generation else { return nil }
            let wd = inotify_add_watch(s.fd, file, UInt32(IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW))
            guard wd >= 0 else { return nil }
            s.watches[wd] = .everything
            return ticket
        }
        #else
        return nil
        #endif
    }

    /// Remembers what was read for `address` (nil: it has no versions) unless something relevant
    /// changed since `ticket` was taken.
    func remember(_ address: ConfigAddress, latest: (number: Int64, bytes: [UInt8])?, _ ticket: Ticket) {
        state.withLock { s in
            guard s.fd >= 0, !s.unavailable else { return }
            Self.drain(&s)
            guard s.generation == ticket.generation else { return }
            if s.entries.count >= limit { s.entries.removeAll() }
            s.entries[address] = latest.map { .latest(number: $0.number, bytes: $0.bytes) } ?? Hit.none
        }
    }

    /// Reads every queued event; forgets all answers when one is relevant.
    private static func drain(_ s: inout State) {
        #if os(Linux)
        guard s.fd >= 0 else { return }
        let eventSize = MemoryLayout<inotify_event>.size
        withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 8) { buffer in
            while true {
                let n = read(s.fd, buffer.baseAddress, buffer.count)
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno != EAGAIN {
                        // Cannot tell what happened: remember nothing from now on.
                        s.unavailable = true
                        forget(&s)
                    }
                    return
                }
                if n == 0 { return }
                var offset = 0
                var relevant = false
                while offset + eventSize <= n {
                    let wd = buffer.load(fromByteOffset: offset, as: Int32.self)
                    let mask = buffer.load(fromByteOffset: offset + 4, as: UInt32.self)
                    let length = Int(buffer.load(fromByteOffset: offset + 12, as: UInt32.self))
                    let nameStart = offset + eventSize
                    offset = nameStart + length
                    if mask & UInt32(IN_Q_OVERFLOW) != 0 { relevant = true; continue }  // events were lost
                    // An unknown watch is one given up at once (not on a local file system).
                    guard let relevance = s.watches[wd] else { continue }
                    if mask & UInt32(IN_IGNORED) != 0 { s.watches.removeValue(forKey: wd) }
                    if relevant { continue }
                    // The watched object itself (changed, moved, removed, unmounted), or any entry of
                    // the versions directory.
                    guard length > 0, mask & UInt32(IN_IGNORED | IN_UNMOUNT | IN_DELETE_SELF | IN_MOVE_SELF) == 0,
                          case .names(let names) = relevance else {
                        relevant = true
                        continue
                    }
                    let bytes = UnsafeRawBufferPointer(rebasing: buffer[nameStart..<min(nameStart + length, n)])
                    let name = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                    if names.contains(name) { relevant = true }
                }
                if relevant { forget(&s) }
            }
        }
        #endif
    }

    /// Forgets every remembered answer (the watches stay: each is still needed or harmless).
    private static func forget(_ s: inout State) {
        s.entries.removeAll()
        s.generation &+= 1
    }

    /// Forgets everything, watches included (their removal events then name unknown watches,
    /// which are ignored). Bounds the watches: most are files of versions superseded since.
    private static func unwatchAll(_ s: inout State) {
        forget(&s)
        #if os(Linux)
        for wd in s.watches.keys { inotify_rm_watch(s.fd, wd) }
        #endif
        s.watches.removeAll()
    }

    /// Whether `path` is on a local file system (whose changes all reach inotify).
    static func isLocalFileSystem(_ path: String) -> Bool {
        #if os(Linux)
        guard let statfsFunction else { return false }
        return withUnsafeTemporaryAllocation(byteCount: 512, alignment: 16) { buffer -> Bool in
            guard statfsFunction(path, buffer.baseAddress!) == 0 else { return false }
            // `struct statfs` begins with `f_type` (a long) on every 64-bit Linux ABI.
            return localFileSystemTypes.contains(buffer.load(as: Int.self))
        }
        #else
        return false
        #endif
    }

    /// ext2/3/4, XFS, Btrfs, tmpfs, overlayfs, ZFS, F2FS (`statfs(2)`'s `f_type` magic numbers).
    static let localFileSystemTypes: Set<Int> = [0xEF53, 0x5846_5342, 0x9123_683E, 0x0102_1994, 0x794C_7630, 0x2FC1_2FC1, 0xF2F5_2010]

    /// `statfs(2)`, which Swift's Glibc module does not import.
    private static let statfsFunction: (@convention(c) (UnsafePointer<CChar>, UnsafeMutableRawPointer) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "statfs") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafePointer<CChar>, UnsafeMutableRawPointer) -> Int32).self)
    }()
}
