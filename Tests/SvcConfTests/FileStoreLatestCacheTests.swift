import Foundation
import Testing

@testable import SvcConf

/// The file store's inotify-kept memory of each address's latest version
/// (``FileStoreLatestCache``): it answers from memory only while nothing it read has changed, and
/// every change a writer, an operator or an attacker can make is seen at the next read — with no
/// wait between the change and the read (the kernel queues the event before the change returns).
@Suite("FileStore latest-version cache")
struct FileStoreLatestCacheTests {
    let dir: CoreTempDir
    let cache: FileStoreLatestCache
    let store: FileStore
    let prod: ConfigAddress

    init() throws {
        dir = try CoreTempDir()
        cache = FileStoreLatestCache()
        store = FileStore(path: dir.sub("store"), latestCache: cache)
        try FileManager.default.createDirectory(atPath: store.path, withIntermediateDirectories: true)
        prod = try ConfigAddress(service: "access-boston", env: "prod")
    }

    func latest(_ a: ConfigAddress) throws -> (number: Int64, bytes: [UInt8])? {
        try store.latestVersionBytesNow(of: a)
    }

    /// Reads `a` twice (an address is remembered from its second read on) and expects the third
    /// read to be answered from memory.
    func warm(_ a: ConfigAddress, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let first = try latest(a), second = try latest(a)
        let before = cache.hits
        let third = try latest(a)
        #expect(first?.bytes == second?.bytes && second?.bytes == third?.bytes, sourceLocation: sourceLocation)
        #expect(cache.hits == before + 1, "the third read is answered from memory", sourceLocation: sourceLocation)
    }

    func write(_ path: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

#if os(Linux)
    @Test("an unchanged version is answered from memory; a new version is seen at the very next read")
    func newVersions() async throws {
        try await store.create(prod, version: 1, bytes: Array("sealed-1".utf8))
        #expect(try latest(prod)?.number == 1)
        #expect(cache.hits == 0)
        try warm(prod)
        for n in Int64(2)...5 {
            try await store.create(prod, version: n, bytes: Array("sealed-\(n)".utf8))
            #expect(try latest(prod)?.bytes == Array("sealed-\(n)".utf8), "version \(n), read right after it was created")
        }
        let hits = cache.hits
        #expect(try latest(prod)?.number == 5)
        #expect(cache.hits == hits + 1, "remembered again after the last write")
    }

    @Test("an address without versions is remembered as such until its directory appears")
    func absentAddress() async throws {
        let staging = try ConfigAddress(service: "access-boston", env: "staging")
        try await store.create(prod, version: 1, bytes: Array("sealed-1".utf8))
        try warm(staging)
        #expect(try latest(staging) == nil)
        try await store.create(staging, version: 1, bytes: Array("staging-1".utf8))
        #expect(try latest(staging)?.bytes == Array("staging-1".utf8), "the directory created under the watched ancestor")
        // A service that does not exist at all: the watched ancestor is `configs` itself.
        let other = try ConfigAddress(service: "parking", env: "prod")
        try warm(other)
        try await store.create(other, version: 1, bytes: Array("parking-1".utf8))
        #expect(try latest(other)?.number == 1)
        // A variant under an env that exists.
        let canary = try ConfigAddress(service: "access-boston", env: "prod", variant: "canary")
        try warm(canary)
        try await store.create(canary, version: 1, bytes: Array("canary-1".utf8))
        #expect(try latest(canary)?.number == 1)
    }

    @Test("a version file rewritten in place (mtime set back), through a hard link, replaced or removed is read again")
    func tamperedFile() async throws {
        try await store.create(prod, version: 1, bytes: Array("sealed-1".utf8))
        try warm(prod)
        let file = store.versionFile(prod, 1)
        var before = stat()
        #expect(stat(file, &before) == 0)
        // Same size, same mtime afterwards.
        let fd = open(file, O_WRONLY)
        #expect(fd >= 0)
        _ = Array("SEALED-1".utf8).withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        var times = [before.st_mtim, before.st_mtim]
        #expect(futimens(fd, &times) == 0)
        close(fd)
        #expect(try latest(prod)?.bytes == Array("SEALED-1".utf8))
        try warm(prod)
        // Written through a second name outside the store's directories (the events of the
        // versions directory do not cover that path; the file's own watch does).
        let alias = dir.sub("alias")
        #expect(link(file, alias) == 0)
        try write(alias, "sealed-A")
        #expect(try latest(prod)?.bytes == Array("sealed-A".utf8))
        try warm(prod)
        // Replaced by another file (a new inode) through rename.
        let other = dir.sub("other")
        try write(other, "sealed-X")
        #expect(rename(other, file) == 0)
        #expect(try latest(prod)?.bytes == Array("sealed-X".utf8))
        try warm(prod)
        // Removed: the store reads again and says so.
        #expect(unlink(file) == 0)
        #expect(try latest(prod) == nil)
    }

    @Test("a directory on the path renamed and replaced — the service's, the store root's — is seen")
    func replacedDirectories() async throws {
        try await store.create(prod, version: 1, bytes: Array("sealed-1".utf8))
        // A second store with a different version 1 of the same address.
        let otherStore = FileStore(path: dir.sub("other-store"))
        try FileManager.default.createDirectory(atPath: otherStore.path, withIntermediateDirectories: true)
        try await otherStore.create(prod, version: 1, bytes: Array("other-1".utf8))
        try await otherStore.create(prod, version: 2, bytes: Array("other-2".utf8))
        try warm(prod)
        // The service's directory swapped for the other store's.
        let service = store.path + "/configs/access-boston"
        #expect(rename(service, service + ".old") == 0)
        #expect(rename(otherStore.path + "/configs/access-boston", service) == 0)
        #expect(try latest(prod)?.bytes == Array("other-2".utf8))
        try warm(prod)
        // The whole root swapped back for a copy of the old service directory.
        let root = store.path
        let fresh = dir.sub("fresh")
        try FileManager.default.createDirectory(atPath: fresh + "/configs", withIntermediateDirectories: true)
        #expect(rename(service + ".old", fresh + "/configs/access-boston") == 0)
        #expect(rename(root, dir.sub("retired")) == 0)
        #expect(rename(fresh, root) == 0)
        #expect(try latest(prod)?.bytes == Array("sealed-1".utf8))
    }

    @Test("a directory above the store root renamed and replaced is seen (the whole path from / is watched)")
    func replacedParent() async throws {
        let parent = dir.sub("p")
        let above = FileStore(path: parent + "/store", latestCache: cache)
        try FileManager.default.createDirectory(atPath: above.path, withIntermediateDirectories: true)
        try await above.create(prod, version: 1, bytes: Array("sealed-1".utf8))
        for _ in 0..<2 { _ = try above.latestVersionBytesNow(of: prod) }
        let hits = cache.hits
        #expect(try above.latestVersionBytesNow(of: prod)?.number == 1)
        #expect(cache.hits == hits + 1)
        #expect(rename(parent, parent + ".old") == 0)
        let replacement = FileStore(path: parent + "/store")
        try FileManager.default.createDirectory(atPath: replacement.path, withIntermediateDirectories: true)
        try await replacement.create(prod, version: 1, bytes: Array("other-1".utf8))
        #expect(try above.latestVersionBytesNow(of: prod)?.bytes == Array("other-1".utf8))
    }

    @Test("when the kernel's event queue overflows, every remembered answer is forgotten")
    func queueOverflow() async throws {
        try await store.create(prod, version: 1, bytes: Array("sealed-1".utf8))
        try warm(prod)
        // Irrelevant events (attribute changes of two files beside `configs` in the root, alternating
        // so the kernel cannot merge them) until the queue is full; the change after that has no event.
        let limit = (try? String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 16384
        let a = store.path + "/noise-a", b = store.path + "/noise-b"
        try write(a, "a")
        try write(b, "b")
        for i in 0..<(limit + 64) { #expect(utimes(i % 2 == 0 ? a : b, nil) == 0) }
        try write(store.versionFile(prod, 1), "sealed-Q")
        #expect(try latest(prod)?.bytes == Array("sealed-Q".utf8))
    }

    @Test("irrelevant changes (other services, entries beside the store) keep the memory")
    func irrelevantChanges() async throws {
        try await store.create(prod, version: 1, bytes: Array("sealed-1".utf8))
        try warm(prod)
        try write(store.path + "/unrelated", "x")
        try write(dir.sub("beside-the-store"), "y")
        try FileManager.default.createDirectory(atPath: store.path + "/configs/parking", withIntermediateDirectories: true)
        let hits = cache.hits
        #expect(try latest(prod)?.number == 1)
        #expect(cache.hits == hits + 1)
    }

    @Test("a path with a symbolic link on it is never remembered, and still answers right")
    func symlinkedStore() async throws {
        try await store.create(prod, version: 1, bytes: Array("sealed-1".utf8))
        let link = dir.sub("link")
        #expect(symlink(store.path, link) == 0)
        let viaLink = FileStoreLatestCache()
        let linked = FileStore(path: link, latestCache: viaLink)
        for _ in 0..<3 { #expect(try linked.latestVersionBytesNow(of: prod)?.number == 1) }
        try await store.create(prod, version: 2, bytes: Array("sealed-2".utf8))
        #expect(try linked.latestVersionBytesNow(of: prod)?.number == 2)
        #expect(viaLink.hits == 0)
    }

    @Test("local file systems are recognized; /proc is not one the cache trusts")
    func fileSystems() {
        #expect(FileStoreLatestCache.isLocalFileSystem(store.path))
        #expect(!FileStoreLatestCache.isLocalFileSystem("/proc"))
    }

    @Test("past the watch limit every watch is removed and the memory starts over, still exact")
    func watchLimit() async throws {
        let small = FileStoreLatestCache(watchLimit: 12)
        let limited = FileStore(path: store.path, latestCache: small)
        let addresses = try (1...4).map { try ConfigAddress(service: "svc\($0)", env: "prod") }
        for (i, a) in addresses.enumerated() { try await limited.create(a, version: 1, bytes: Array("v1-\(i)".utf8)) }
        var latest = Array(repeating: Int64(1), count: addresses.count)
        for round in 0..<addresses.count {
            // All remembered (the limit is passed while earlier addresses are remembered), then
            // only one written: one whose watches the limit removed while it was remembered.
            for (i, a) in addresses.enumerated() {
                for _ in 0..<3 { #expect(try limited.latestVersionBytesNow(of: a)?.bytes == Array("v\(latest[i])-\(i)".utf8)) }
            }
            latest[round] += 1
            try await limited.create(addresses[round], version: latest[round], bytes: Array("v\(latest[round])-\(round)".utf8))
            #expect(try limited.latestVersionBytesNow(of: addresses[round])?.number == latest[round], "round \(round)")
        }
        #expect(small.hits > 0)
        #expect(small.watchCount <= 12 + 16, "watches stay bounded (\(small.watchCount))")
    }

    @Test("a reader racing a writer never answers older than the last version created before the read began")
    func racingWriter() async throws {
        try await store.create(prod, version: 1, bytes: Array("sealed-1".utf8))
        try warm(prod)
        let created = LockedCounter()
        let writes = 300
        let writer = Task.detached { [store, prod] in
            for n in 2...writes {
                try await store.create(prod, version: Int64(n), bytes: Array("sealed-\(n)".utf8))
                created.set(n)
            }
        }
        var stale = 0
        var reads = 0
        while created.value < writes {
            let floor = created.value
            let got = try latest(prod)
            reads += 1
            if let got, got.number < floor || got.bytes != Array("sealed-\(got.number)".utf8) { stale += 1 }
        }
        try await writer.value
        #expect(stale == 0, "\(stale) of \(reads) reads answered older than a finished write")
        #expect(try latest(prod)?.number == Int64(writes))
    }
#endif

    @Test("a process that reads an address once (the CLI) never starts watching")
    func singleReadDoesNotWatch() async throws {
        try await store.create(prod, version: 1, bytes: Array("sealed-1".utf8))
        #expect(try latest(prod)?.number == 1)
        #expect(!cache.isWatching)
    }

    @Test("a repository on the store opens the new version after a write by another store instance (another process)")
    func repositorySeesOtherWriters() async throws {
        let f = try await CoreRepoFixture()
        let cached = ConfigRepository(store: FileStore(path: f.store.path, latestCache: FileStoreLatestCache()),
                                      keyring: try Keyring.load(paths: [f.keyPath]), author: "reader")
        let a = CoreFix.address("access-boston", "prod")
        try await f.set(a, ["PING": "one"])
        for _ in 0..<3 { #expect(try cached.openEffectiveLocally(a)?.config.values["PING"] == .string("one")) }
        try await f.set(a, ["PING": "two"])
        #expect(try cached.openEffectiveLocally(a)?.config.values["PING"] == .string("two"))
    }
}

/// An integer shared between a writer task and the test.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    var value: Int { lock.withLock { n } }
    func set(_ v: Int) { lock.withLock { n = v } }
}
