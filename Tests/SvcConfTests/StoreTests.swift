import Foundation
import Testing

@testable import SvcConf

@Suite("FileStore")
struct StoreTests {
    /// A store in a fresh temp dir, with its root created.
    func makeStore() throws -> (CoreTempDir, FileStore) {
        let dir = try CoreTempDir()
        let store = FileStore(path: dir.sub("store"))
        try FileManager.default.createDirectory(atPath: store.path, withIntermediateDirectories: false)
        return (dir, store)
    }

    let a = CoreFix.address("access-boston", "prod")

    @Test("create, read, versionNumbers, latestVersion")
    func basics() async throws {
        let (tmp, store) = try makeStore()
        defer { withExtendedLifetime(tmp) {} }
        #expect(try await store.versionNumbers(of: a) == [])
        #expect(try await store.latestVersion(of: a) == nil)
        try await store.create(a, version: 1, bytes: [1, 2, 3])
        try await store.create(a, version: 2, bytes: [4])
        try await store.create(a, version: 3, bytes: [])
        #expect(try await store.read(a, version: 1) == [1, 2, 3])
        #expect(try await store.read(a, version: 2) == [4])
        #expect(try await store.read(a, version: 3) == [])
        #expect(try await store.versionNumbers(of: a) == [1, 2, 3])
        #expect(try await store.latestVersion(of: a) == 3)
        await coreExpectErrorAsync(.notFound, "version 4 of access-boston/prod does not exist in \(store.url)") {
            _ = try await store.read(a, version: 4)
        }
        // Layout, modes.
        let dir = store.path + "/configs/access-boston/prod/versions"
        #expect(coreList(dir).sorted() == ["0000000001.sealed", "0000000002.sealed", "0000000003.sealed"])
        #expect(coreMode(dir + "/0000000001.sealed") == 0o600)
        #expect(coreMode(store.path + "/configs") == 0o700 && coreMode(dir) == 0o700)
        // Other configs are separate.
        #expect(try await store.versionNumbers(of: CoreFix.address("access-boston", "staging")) == [])
        #expect(try await store.versionNumbers(of: CoreFix.address("access-boston", "prod", "dev")) == [])
    }

    @Test("create of an existing version → conflict, the stored bytes untouched")
    func conflict() async throws {
        let (tmp, store) = try makeStore()
        defer { withExtendedLifetime(tmp) {} }
        try await store.create(a, version: 1, bytes: [1])
        await coreExpectErrorAsync(.conflict, contains: "version 1 of access-boston/prod already exists") {
            try await store.create(a, version: 1, bytes: [2])
        }
        #expect(try await store.read(a, version: 1) == [1])
        #expect(coreList(store.path + "/configs/access-boston/prod/versions") == ["0000000001.sealed"])
    }

    @Test("numbers sort numerically beyond 9, 10, 99, 100")
    func numericOrder() async throws {
        let (tmp, store) = try makeStore()
        defer { withExtendedLifetime(tmp) {} }
        for n: Int64 in [10, 2, 100, 9, 1, 11, 99, 3] { try await store.create(a, version: n, bytes: [UInt8(n)]) }
        #expect(try await store.versionNumbers(of: a) == [1, 2, 3, 9, 10, 11, 99, 100])
        #expect(try await store.latestVersion(of: a) == 100)
        #expect(try await store.read(a, version: 10) == [10])
        // Versions beyond ten digits still work and sort last.
        try await store.create(a, version: 12_345_678_901, bytes: [0])
        #expect(try await store.latestVersion(of: a) == 12_345_678_901)
        #expect(VersionName.name(12_345_678_901, suffix: ".sealed") == "12345678901.sealed")
    }

    @Test("stray temporary files and junk names are ignored")
    func junk() async throws {
        let (tmp, store) = try makeStore()
        defer { withExtendedLifetime(tmp) {} }
        try await store.create(a, version: 1, bytes: [1])
        try await store.create(a, version: 2, bytes: [2])
        let dir = store.path + "/configs/access-boston/prod/versions"
        for name in [".tmp-0123456789abcdef", ".tmp-x", "1.sealed", "0000000003", "0000000003.sealed.bak", "0000000000.sealed",
                     "00000000004.sealed", "-000000005.sealed", "+000000006.sealed", "abcdefghij.sealed", "0000000007.SEALED",
                     " 000000008.sealed", "0000000009.json", ".0000000010.sealed"] {
            try coreWriteFile(dir + "/" + name, [9])
        }
        try FileManager.default.createDirectory(atPath: dir + "/0000000011.sealed.d", withIntermediateDirectories: false)
        #expect(try await store.versionNumbers(of: a) == [1, 2])
        #expect(try await store.latestVersion(of: a) == 2)
        // The next create still works.
        try await store.create(a, version: 3, bytes: [3])
        #expect(try await store.versionNumbers(of: a) == [1, 2, 3])
    }

    @Test("VersionName parses only what it makes")
    func versionNames() {
        for n: Int64 in [1, 9, 10, 42, 9_999_999_999, 10_000_000_000, Int64.max] {
            #expect(VersionName.parse(VersionName.name(n, suffix: ".sealed"), suffix: ".sealed") == n)
        }
        for bad in ["0000000000.sealed", "000000001.sealed", "00000000001.sealed", "0000000001.json", "0000000001", "٠٠٠٠٠٠٠٠٠١.sealed",
                    "99999999999999999999.sealed", ".sealed", "0000000001.sealed.sealed"] {
            #expect(VersionName.parse(bad, suffix: ".sealed") == nil, "\(bad)")
        }
    }

    @Test("addresses lists every config with a version, variants included, sorted")
    func addresses() async throws {
        let (tmp, store) = try makeStore()
        defer { withExtendedLifetime(tmp) {} }
        #expect(try await store.addresses() == [])
        let list: [ConfigAddress] = [
            CoreFix.address("zeta", "prod"), CoreFix.address("access-boston", "prod", "test"),
            CoreFix.address("access-boston", "prod"), CoreFix.address("access-boston", "prod", "dev"),
            CoreFix.address("access-boston", "dev"), CoreFix.address("billing", "staging", "blue"),
        ]
        for x in list { try await store.create(x, version: 1, bytes: [1]) }
        // An env with only variants: the env itself has no versions and is not listed.
        // Junk directories and names that are not valid names are skipped.
        for junk in ["configs/UPPER/prod/versions", "configs/.hidden/prod/versions", "configs/svc/Bad/versions",
                     "configs/svc/empty/versions", "configs/access-boston/prod/variants/Nope/versions"] {
            try FileManager.default.createDirectory(atPath: store.path + "/" + junk, withIntermediateDirectories: true)
        }
        try coreWriteFile(store.path + "/configs/UPPER/prod/versions/0000000001.sealed", [1])
        try coreWriteFile(store.path + "/configs/access-boston/prod/variants/Nope/versions/0000000001.sealed", [1])
        try coreWriteFile(store.path + "/configs/README", Array("hi".utf8))
        #expect(try await store.addresses() == list.sorted())
        #expect(try await store.addresses().map(\.description) == [
            "access-boston/dev", "access-boston/prod", "access-boston/prod/dev", "access-boston/prod/test",
            "billing/staging/blue", "zeta/prod",
        ])
    }

    @Test("a store path that is a file → unavailable everywhere")
    func pathIsFile() async throws {
        let dir = try CoreTempDir()
        try coreWriteFile(dir.sub("file"), [1])
        let store = FileStore(path: dir.sub("file"))
        let msg = "store path \(dir.sub("file")) is not a directory"
        await coreExpectErrorAsync(.unavailable, msg) { _ = try await store.versionNumbers(of: a) }
        await coreExpectErrorAsync(.unavailable, msg) { _ = try await store.latestVersion(of: a) }
        await coreExpectErrorAsync(.unavailable, msg) { _ = try await store.read(a, version: 1) }
        await coreExpectErrorAsync(.unavailable, msg) { try await store.create(a, version: 1, bytes: [1]) }
        await coreExpectErrorAsync(.unavailable, msg) { _ = try await store.addresses() }
        await coreExpectErrorAsync(.unavailable, msg) { _ = try await store.latestPolicy() }
        await coreExpectErrorAsync(.unavailable, msg) { try await store.createPolicy(corePolicy([CoreFix.key(1)]), number: 1) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.sub("file"))) == Data([1]))
    }

    @Test("a missing store → notFound (and no policy), nothing created by reads or version writes")
    func missing() async throws {
        let dir = try CoreTempDir()
        let store = FileStore(path: dir.sub("nope"))
        await coreExpectErrorAsync(.notFound, contains: "does not exist") { _ = try await store.versionNumbers(of: a) }
        await coreExpectErrorAsync(.notFound) { _ = try await store.read(a, version: 1) }
        await coreExpectErrorAsync(.notFound) { try await store.create(a, version: 1, bytes: [1]) }
        await coreExpectErrorAsync(.notFound) { _ = try await store.addresses() }
        let e = await coreExpectErrorAsync(.notFound) { _ = try await store.latestVersion(of: a) }
        #expect(e?.hint?.contains("svcconf init") == true)
        #expect(try await store.latestPolicy() == nil)
        #expect(coreList(dir.path) == [])
    }

    @Test("policy: create, latest, conflict, newer numbers win, malformed is an error")
    func policy() async throws {
        let dir = try CoreTempDir()
        let store = FileStore(path: dir.sub("store"))
        let p1 = corePolicy([CoreFix.key(1)]), p2 = corePolicy([CoreFix.key(1), CoreFix.key(2)])
        try await store.createPolicy(p1, number: 1)  // creates the root
        #expect(coreMode(store.path) == 0o700)
        let got = try #require(try await store.latestPolicy())
        #expect(got.number == 1 && got.policy == p1)
        await coreExpectErrorAsync(.conflict, contains: "was changed by someone else") { try await store.createPolicy(p2, number: 1) }
        #expect(try await store.latestPolicy()?.policy == p1)
        try await store.createPolicy(p2, number: 2)
        #expect(try await store.latestPolicy()?.number == 2)
        #expect(try await store.latestPolicy()?.policy == p2)
        try coreWriteFile(store.path + "/policy/0000000010.json", Array("{}".utf8))
        try coreWriteFile(store.path + "/policy/.tmp-1234", Array("{}".utf8))
        await coreExpectErrorAsync(.tampered, contains: "0000000010.json") { _ = try await store.latestPolicy() }
    }

    @Test("16 concurrent creates of the same version: exactly one wins, the others conflict")
    func race() async throws {
        let (tmp, store) = try makeStore()
        defer { withExtendedLifetime(tmp) {} }
        for round in 1...5 {
            let results = await withTaskGroup(of: (Int, SvcConfError?).self) { group in
                for i in 0..<16 {
                    group.addTask {
                        let e = await coreCatch { try await store.create(a, version: Int64(round), bytes: [UInt8(i), UInt8(round)]) }
                        return (i, e)
                    }
                }
                var out: [(Int, SvcConfError?)] = []
                for await r in group { out.append(r) }
                return out
            }
            let winners = results.filter { $0.1 == nil }
            #expect(winners.count == 1, "round \(round): \(winners.count) winners")
            #expect(results.filter { $0.1?.kind == .conflict }.count == 15)
            if let w = winners.first {
                #expect(try await store.read(a, version: Int64(round)) == [UInt8(w.0), UInt8(round)])
            }
        }
        #expect(try await store.versionNumbers(of: a) == [1, 2, 3, 4, 5])
        #expect(coreList(store.path + "/configs/access-boston/prod/versions").filter { $0.hasPrefix(".tmp-") } == [])
    }

    @Test("StoreLocator: file: URLs and bare paths, other schemes refused")
    func locator() throws {
        #expect((try StoreLocator.open("file:/tmp/x") as? FileStore)?.path == "/tmp/x")
        #expect((try StoreLocator.open("file:.svcconf") as? FileStore)?.path == ".svcconf")
        #expect((try StoreLocator.open("some/dir") as? FileStore)?.path == "some/dir")
        #expect(try StoreLocator.open("file:/tmp/x").url == "file:/tmp/x")
        #expect(StoreLocator.defaultURL == "file:.svcconf")
        coreExpectError(.usage) { _ = try StoreLocator.open("file:") }
        coreExpectError(.usage) { _ = try StoreLocator.open("s3://bucket/prefix") }
        coreExpectError(.usage, contains: "unknown store url scheme") { _ = try StoreLocator.open("http://x/y") }
    }
}
