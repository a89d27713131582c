import Foundation
import Testing

@testable import SvcConf

/// The file store's stat-validated memory of each address's latest version
/// (``FileStoreLatestCache``): it answers from memory only while nothing it read has changed, and
/// every change a writer, an operator or an attacker can make is seen at the next read.
///
/// Each test's cache trusts stamps at once (settle 0), so a read right after a write can be a hit;
/// the tests then wait a few milliseconds between changes so the file system's coarse clock stamps
/// each change with a later time (that wait is what the 2-second settle time covers in production).
@Suite("FileStore latest-version cache")
struct FileStoreLatestCacheTests {
    let dir: CoreTempDir
    let cache: FileStoreLatestCache
    let store: FileStore
    let prod: ConfigAddress

    init() throws {
        dir = try CoreTempDir()
        cache = FileStoreLatestCache(settleNanoseconds: 0)
        store = FileStore(path: dir.sub("store"), latestCache: cache)
        try FileManager.default.createDirectory(atPath: store.path, withIntermediateDirectories: true)
        prod = try ConfigAddress(service: "access-boston", env: "prod")
    }

    /// Lets the coarse clock that stamps files move on (its tick is at most 10 ms).
    func tick() { usleep(25_000) }

    func latest(_ a: ConfigAddress) throws -> (number: Int64, bytes: [UInt8])? {
        try store.latestVersionBytesNow(of: a)
    }

    @Test("an unchanged version is answered from memory; a new version is seen at the next read")
    func newVersions() async throws {
        try await store.create(prod, version: 1, bytes: Array("sealed-1".utf8))
        tick()
        #expect(try latest(prod)?.number == 1)
        #expect(cache.hits == 0)
        #expect(try latest(prod)?.bytes == Array("sealed-1".utf8))
        #expect(cache.hits == 1)
        tick()
        try await store.create(prod, version: 2, bytes: Array("sealed-2".utf8))
        #expect(try latest(prod)?.number == 2, "a version created after the entry was remembered")
        #expect(try latest(prod)?.bytes == Array("sealed-2".utf8))
        #expect(cache.hits == 2)
    }

    @Test("an address without versions is remembered as such until its directory appears")
    func absentAddress() async throws {
        let staging = try ConfigAddress(service: "access-boston", env: "staging")
        try await store.create(prod, version: 1, bytes: Array("sealed-1".utf8))
        tick()
        #expect(try latest(staging) == nil)
        #expect(try latest(staging) == nil)
        #expect(cache.hits == 1)
        tick()
        try await store.create(staging, version: 1, bytes: Array("staging-1".utf8))
        #expect(try latest(staging)?.bytes == Array("staging-1".utf8), "the directory created under the watched ancestor")
        // A variant under an env that exists: the watched path is the env's directory.
        let canary = try ConfigAddress(service: "access-boston", env: "prod", variant: "canary")
        #expect(try latest(canary) == nil)
        tick()
        try await store.create(canary, version: 1, bytes: Array("canary-1".utf8))
        #expect(try latest(canary)?.number == 1)
    }

    @Test("a version file rewritten in place (same size, mtime set back) or replaced is read again")
    func tamperedFile() async throws {
        try await store.create(prod, version: 1, bytes: Array("sealed-1".utf8))
        tick()
        #expect(try latest(prod)?.bytes == Array("sealed-1".utf8))
        let file = store.versionFile(prod, 1)
        let before = try #require(LocalFS.stamp(file))
        tick()
        // Same size, same mtime afterwards: only the ctime (which no user can set) tells.
        let fd = open(file, O_WRONLY)
        #expect(fd >= 0)
        _ = Array("SEALED-1".utf8).withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        var times = [before.mtime, before.mtime]
        #expect(futimens(fd, &times) == 0)
        close(fd)
        #expect(LocalFS.stamp(file)?.mtime.tv_nsec == before.mtime.tv_nsec)
        #expect(try latest(prod)?.bytes == Array("SEALED-1".utf8))
        tick()
        // Replaced by another file (a new inode) through rename.
        let other = dir.sub("other")
        try Data("sealed-X".utf8).write(to: URL(fileURLWithPath: other))
        #expect(rename(other, file) == 0)
        #expect(try latest(prod)?.bytes == Array("sealed-X".utf8))
        tick()
        // Removed: the store reads again and says so.
        #expect(unlink(file) == 0)
        #expect(try latest(prod) == nil)
    }

    @Test("with the production settle time, stamps younger than 2 s are not trusted: every read lists again")
    func recentStampsNotTrusted() async throws {
        let fresh = FileStore(path: store.path)
        try await fresh.create(prod, version: 1, bytes: Array("sealed-1".utf8))
        #expect(try fresh.latestVersionBytesNow(of: prod)?.number == 1)
        #expect(try fresh.latestVersionBytesNow(of: prod)?.number == 1)
        #expect(fresh.latestCache.hits == 0)
    }

    @Test("a repository on the store opens the new version after a write by another store instance (another process)")
    func repositorySeesOtherWriters() async throws {
        let f = try await CoreRepoFixture()
        let cached = ConfigRepository(store: FileStore(path: f.store.path, latestCache: FileStoreLatestCache(settleNanoseconds: 0)),
                                      keyring: try Keyring.load(paths: [f.keyPath]), author: "reader")
        let a = CoreFix.address("access-boston", "prod")
        try await f.set(a, ["PING": "one"])
        tick()
        #expect(try cached.openEffectiveLocally(a)?.config.values["PING"] == .string("one"))
        #expect(try cached.openEffectiveLocally(a)?.config.values["PING"] == .string("one"))
        tick()
        try await f.set(a, ["PING": "two"])
        #expect(try cached.openEffectiveLocally(a)?.config.values["PING"] == .string("two"))
    }
}
