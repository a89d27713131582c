import Foundation
import Testing

@testable import SvcConf

/// A repository over a temp-dir file store, initialized with one generated local key and a fixed clock.
struct CoreRepoFixture {
    let dir: CoreTempDir
    let store: FileStore
    let keyPath: String
    let repo: ConfigRepository
    let keyId: String

    init() async throws {
        dir = try CoreTempDir()
        store = FileStore(path: dir.sub("store"))
        keyPath = dir.sub("keys/default.key")
        let bootstrap = ConfigRepository(store: store, keyring: Keyring(localKeys: []), author: "tester", clock: { CoreFix.time })
        let r = try await bootstrap.initialize(recipients: ["local:" + keyPath])
        keyId = try #require(r.generated.first?.keyId)
        repo = ConfigRepository(store: store, keyring: try Keyring.load(paths: [keyPath]), author: "tester",
                                clock: { CoreFix.time })
    }

    /// A repository over the same store with other keys.
    func with(keys: [LocalKey], author: String = "tester") -> ConfigRepository {
        ConfigRepository(store: store, keyring: Keyring(localKeys: keys), author: author, clock: { CoreFix.time })
    }

    @discardableResult
    func set(_ a: ConfigAddress, _ values: [String: ConfigValue], message: String = "set") async throws -> VersionInfo {
        let r = try await repo.update(a, message: message) { c in
            for (k, v) in values { c.values[k] = v }
        }
        guard case .written(let info) = r else { throw SvcConfError(.internal, "nothing written") }
        return info
    }

    func versionFile(_ a: ConfigAddress, _ n: Int64) -> String {
        store.dir(a) + "/" + VersionName.name(n, suffix: ".sealed")
    }
}

@Suite("ConfigRepository")
struct RepositoryTests {
    let a = CoreFix.address("access-boston", "prod")

    @Test("initialize generates the key, writes policy 1; twice → conflict")
    func initialize() async throws {
        let f = try await CoreRepoFixture()
        #expect(coreMode(f.keyPath) == 0o600)
        #expect(try LocalKey(path: f.keyPath).keyId == f.keyId)
        let p = try #require(try await f.store.latestPolicy())
        #expect(p.number == 1)
        #expect(p.policy == StorePolicy(rules: [.init(match: "*/*", recipients: [.init(uri: "local:" + f.keyPath, keyId: f.keyId)])]))
        await coreExpectErrorAsync(.conflict, contains: "is already initialized") {
            _ = try await f.repo.initialize(recipients: ["local:" + f.keyPath])
        }
        #expect(try await f.store.latestPolicy()?.number == 1)
    }

    @Test("initialize reuses an existing key file, accepts kms recipients, refuses bad specs")
    func initializeSpecs() async throws {
        let dir = try CoreTempDir()
        let existing = try LocalKey.generate(at: dir.sub("k.key"), now: CoreFix.time)
        let repo = ConfigRepository(store: FileStore(path: dir.sub("s1")), keyring: Keyring(localKeys: []), author: "t", clock: { CoreFix.time })
        let r = try await repo.initialize(recipients: ["local:" + dir.sub("k.key"), "kms:alias/{service}-prod"])
        #expect(r.generated.isEmpty)
        #expect(r.policy.rules[0].recipients == [.init(uri: "local:" + dir.sub("k.key"), keyId: existing.keyId), .init(uri: "kms:alias/{service}-prod")])
        for bad in ["local:", "kms:", "gpg:x", "k.key"] {
            let other = ConfigRepository(store: FileStore(path: dir.sub("s-\(bad.count)")), keyring: Keyring(localKeys: []), author: "t")
            await coreExpectErrorAsync(.usage) { _ = try await other.initialize(recipients: [bad]) }
        }
        // An existing key file that is too open is refused, not silently used or replaced.
        try coreWriteFile(dir.sub("open.key"), Array(("SVCCONF-LOCAL-KEY-V1:" + String(repeating: "ab", count: 32) + "\n").utf8), mode: 0o644)
        let third = ConfigRepository(store: FileStore(path: dir.sub("s3")), keyring: Keyring(localKeys: []), author: "t")
        await coreExpectErrorAsync(.keyUnavailable) { _ = try await third.initialize(recipients: ["local:" + dir.sub("open.key")]) }
        #expect(try await FileStore(path: dir.sub("s3")).latestPolicy() == nil)
    }

    @Test("write, open, info: metadata, parent chain, config round trip")
    func writeOpen() async throws {
        let f = try await CoreRepoFixture()
        var cfg = CoreFix.config
        let cfg1 = cfg
        let r1 = try await f.repo.update(a, message: "first") { $0 = cfg1 }
        guard case .written(let v1) = r1 else { Issue.record("not written"); return }
        #expect(v1.version == 1 && v1.parent == nil && v1.author == "tester" && v1.time == CoreFix.time && v1.message == "first")
        #expect(v1.recipients == ["local key \(f.keyId)"])
        #expect(v1.digest == Digest(of: try Data(contentsOf: URL(fileURLWithPath: f.versionFile(a, 1))).map { $0 }))
        cfg.values["PORT"] = 9090
        let cfg2 = cfg
        guard case .written(let v2) = try await f.repo.update(a, message: "second", change: { $0 = cfg2 }) else {
            Issue.record("not written"); return
        }
        #expect(v2.version == 2 && v2.parent == v1.digest)
        let opened = try await f.repo.open(a)
        #expect(opened.config == cfg2 && opened.info == v2)
        #expect(try await f.repo.open(a, version: 1).config == CoreFix.config)
        #expect(try await f.repo.info(a, version: 2) == v2)
        #expect(try await f.repo.latestVersion(a) == 2)
        // The store holds no plaintext.
        let raw = String(decoding: try Data(contentsOf: URL(fileURLWithPath: f.versionFile(a, 2))), as: UTF8.self)
        #expect(!raw.contains("hunter2-planted") && !raw.contains("postgres://"))
        // Errors.
        await coreExpectErrorAsync(.notFound) { _ = try await f.repo.open(a, version: 3) }
        await coreExpectErrorAsync(.usage) { _ = try await f.repo.open(a, version: 0) }
        await coreExpectErrorAsync(.notFound, contains: "has no versions") { _ = try await f.repo.open(CoreFix.address("nope", "prod")) }
        await coreExpectErrorAsync(.keyUnavailable) { _ = try await f.with(keys: [CoreFix.key(9)]).open(a) }
    }

    @Test("without explicit keys the policy's key files are used to open")
    func policyKeys() async throws {
        let f = try await CoreRepoFixture()
        try await f.set(a, ["A": "1"])
        #expect(try await f.with(keys: []).open(a).config.values["A"] == "1")
    }

    @Test("writing: a too-open key file at the policy's path is reported with its chmod hint")
    func policyKeyTooOpenWriting() async throws {
        let f = try await CoreRepoFixture()
        #expect(chmod(f.keyPath, 0o644) == 0)
        let e = await coreExpectErrorAsync(.keyUnavailable, contains: "accessible by other users") {
            _ = try await f.with(keys: [CoreFix.key(9)]).write(a, config: Config(values: ["A": "2"]), base: nil, message: "m")
        }
        #expect(e?.hint == "chmod 600 \(f.keyPath)")
        // Another key at that path is still "not among the given keys".
        #expect(chmod(f.keyPath, 0o600) == 0)
        coreExpectError(.keyUnavailable, contains: "not among the given keys") {
            _ = try Keyring(localKeys: []).recipient(for: .init(uri: "local:" + f.keyPath, keyId: "0000000000000000"), address: a)
        }
    }

    @Test("opening: a too-open key file at the policy's path is reported with its chmod hint, not skipped")
    func policyKeyTooOpenOpening() async throws {
        let f = try await CoreRepoFixture()
        try await f.set(a, ["A": "1"])
        #expect(chmod(f.keyPath, 0o644) == 0)
        let implicit = f.with(keys: [])  // no --key-file: the policy's key files are used
        let e = await coreExpectErrorAsync(.keyUnavailable, contains: "accessible by other users") { _ = try await implicit.open(a) }
        #expect(e?.hint == "chmod 600 \(f.keyPath)")
        #expect(chmod(f.keyPath, 0o600) == 0)
        #expect(try await implicit.open(a).config.values["A"] == "1")
    }

    @Test("a refused policy key does not hide another policy key that opens")
    func refusedKeyDoesNotHideOthers() async throws {
        let f = try await CoreRepoFixture()
        let second = try LocalKey.generate(at: f.dir.sub("keys/second.key"), now: CoreFix.time)
        let both = StorePolicy(rules: [.init(match: "*/*", recipients: [
            .init(uri: "local:" + f.keyPath, keyId: f.keyId), .init(uri: "local:" + second.path, keyId: second.keyId),
        ])])
        try await f.store.createPolicy(both, number: 2)
        try await f.set(a, ["A": "1"])
        #expect(try await f.repo.open(a).info.recipients.count == 2)
        #expect(chmod(f.keyPath, 0o644) == 0)
        #expect(try await f.with(keys: []).open(a).config.values["A"] == "1")
    }

    @Test("history: chain intact; replacing a middle version by another valid sealed version breaks it")
    func history() async throws {
        let f = try await CoreRepoFixture()
        for i in 1...3 { try await f.set(a, ["N": .int(Int64(i))], message: "m\(i)") }
        let h = try await f.repo.history(a)
        #expect(h.map(\.info.version) == [1, 2, 3])
        #expect(h.map(\.chainIntact) == [true, true, true])
        #expect(h.map(\.info.message) == ["m1", "m2", "m3"])

        // A second store with the same key and the same address: its version 2 is valid and correctly
        // labelled, but has another parent.
        let g = try CoreTempDir()
        let other = ConfigRepository(store: FileStore(path: g.sub("store")), keyring: f.repo.keyring, author: "tester", clock: { CoreFix.time })
        try await other.store.createPolicy(try #require(try await f.store.latestPolicy()).policy, number: 1)
        for i in 1...2 { _ = try await other.update(a, message: "m\(i)") { $0.values["N"] = .int(Int64(i)) } }
        let foreign = try await other.store.read(a, version: 2)
        #expect(foreign != (try await f.store.read(a, version: 2)))
        try Data(foreign).write(to: URL(fileURLWithPath: f.versionFile(a, 2)))
        // It still opens (it is a genuine version 2 of this address under our key)...
        #expect(try await f.repo.open(a, version: 2).config.values["N"] == 2)
        // ...but the chain shows the splice on both sides.
        let h2 = try await f.repo.history(a)
        #expect(h2.map(\.chainIntact) == [true, false, false])
    }

    @Test("history: a gap in the numbers breaks the chain; no versions → notFound")
    func historyGap() async throws {
        let f = try await CoreRepoFixture()
        for i in 1...3 { try await f.set(a, ["N": .int(Int64(i))]) }
        try FileManager.default.removeItem(atPath: f.versionFile(a, 2))
        let h = try await f.repo.history(a)
        #expect(h.map(\.info.version) == [1, 3])
        #expect(h.map(\.chainIntact) == [true, false])
        await coreExpectErrorAsync(.notFound) { _ = try await f.repo.history(CoreFix.address("nope", "prod")) }
    }

    @Test("a version file copied to another address or number does not open or list")
    func copiedVersion() async throws {
        let f = try await CoreRepoFixture()
        try await f.set(a, ["A": "1"])
        let b = CoreFix.address("access-boston", "staging")
        try await f.store.create(b, version: 1, bytes: try await f.store.read(a, version: 1))
        await coreExpectErrorAsync(.tampered) { _ = try await f.repo.open(b) }
        await coreExpectErrorAsync(.tampered) { _ = try await f.repo.info(b, version: 1) }
        await coreExpectErrorAsync(.tampered) { _ = try await f.repo.history(b) }
    }

    @Test("update with expectedVersion: conflict unless it is the latest")
    func expectedVersion() async throws {
        let f = try await CoreRepoFixture()
        await coreExpectErrorAsync(.conflict, contains: "is at version 0, not 1") {
            _ = try await f.repo.update(a, expectedVersion: 1, message: "m") { $0.values["A"] = "1" }
        }
        #expect(try await f.store.versionNumbers(of: a) == [])
        _ = try await f.repo.update(a, expectedVersion: 0, message: "m") { $0.values["A"] = "1" }
        _ = try await f.repo.update(a, expectedVersion: 1, message: "m") { $0.values["A"] = "2" }
        let e = await coreExpectErrorAsync(.conflict, contains: "is at version 2, not 1") {
            _ = try await f.repo.update(a, expectedVersion: 1, message: "m") { $0.values["A"] = "3" }
        }
        #expect(e?.hint?.contains("svcconf diff") == true)
        #expect(try await f.store.versionNumbers(of: a) == [1, 2])
        #expect(try await f.repo.open(a).config.values["A"] == "2")
    }

    @Test("write based on a stale version → conflict, never a lost update")
    func staleWrite() async throws {
        let f = try await CoreRepoFixture()
        try await f.set(a, ["A": "1"])
        let base = try await f.repo.open(a)
        try await f.set(a, ["A": "2"])
        await coreExpectErrorAsync(.conflict, contains: "changed while you worked") {
            _ = try await f.repo.write(a, config: Config(values: ["A": "3"]), base: base, message: "m")
        }
        #expect(try await f.repo.open(a).config.values["A"] == "2")
    }

    @Test("16 concurrent updates without expectedVersion: every key lands, versions 1...16 contiguous")
    func concurrentUpdates() async throws {
        let f = try await CoreRepoFixture()
        let repo = f.repo, addr = a
        let errors = await withTaskGroup(of: SvcConfError?.self) { group in
            for i in 0..<16 {
                group.addTask {
                    await coreCatch { _ = try await repo.update(addr, message: "add K\(i)") { $0.values["K\(i)"] = .int(Int64(i)) } }
                }
            }
            var out: [SvcConfError] = []
            for await e in group { if let e { out.append(e) } }
            return out
        }
        #expect(errors.isEmpty, "\(errors.map(\.message))")
        #expect(try await f.store.versionNumbers(of: a) == Array(1...16))
        let latest = try await f.repo.open(a)
        #expect(Set(latest.config.values.keys) == Set((0..<16).map { "K\($0)" }))
        let h = try await f.repo.history(a)
        #expect(h.allSatisfy { $0.chainIntact })
        // Each version adds exactly one key to its parent.
        for n in 1...16 {
            #expect(try await f.repo.open(a, version: Int64(n)).config.values.count == n)
        }
    }

    @Test("an update that changes nothing writes nothing")
    func unchanged() async throws {
        let f = try await CoreRepoFixture()
        guard case .unchanged(nil) = try await f.repo.update(a, message: "m", change: { _ in }) else {
            Issue.record("expected unchanged(nil)"); return
        }
        #expect(try await f.store.versionNumbers(of: a) == [])
        try await f.set(a, ["A": "1", "N": 1])
        for change: @Sendable (inout Config) -> Void in [{ _ in }, { $0.values["A"] = "1" }, { $0.values["N"] = .number(.double(1.0)) }] {
            guard case .unchanged(1) = try await f.repo.update(a, message: "m", change: change) else {
                Issue.record("expected unchanged(1)"); return
            }
        }
        #expect(try await f.store.versionNumbers(of: a) == [1])
        // Removing every key is a change (an empty version 2), not "nothing".
        guard case .written(let v2) = try await f.repo.update(a, message: "clear", change: { $0 = Config() }) else {
            Issue.record("expected a write"); return
        }
        #expect(v2.version == 2)
        #expect(try await f.repo.open(a).config.isEmpty)
    }

    @Test("a change closure that throws writes nothing and passes the error through")
    func changeThrows() async throws {
        let f = try await CoreRepoFixture()
        try await f.set(a, ["A": "1"])
        await coreExpectErrorAsync(.validationFailed) {
            _ = try await f.repo.update(a, message: "m") { _ in throw SvcConfError(.validationFailed, "no") }
        }
        #expect(try await f.store.versionNumbers(of: a) == [1])
    }

    @Test("rollback writes a new version equal to the target")
    func rollback() async throws {
        let f = try await CoreRepoFixture()
        try await f.set(a, ["A": "1"])
        try await f.set(a, ["A": "2", "B": "x"])
        guard case .written(let v3) = try await f.repo.rollback(a, to: 1, message: nil) else {
            Issue.record("expected a write"); return
        }
        #expect(v3.version == 3 && v3.message == "rollback to version 1")
        #expect(try await f.repo.open(a).config == (try await f.repo.open(a, version: 1)).config)
        #expect(try await f.repo.open(a, version: 2).config.values["B"] == "x")  // history kept
        guard case .unchanged(3) = try await f.repo.rollback(a, to: 1, message: "again") else {
            Issue.record("expected unchanged"); return
        }
        await coreExpectErrorAsync(.notFound) { _ = try await f.repo.rollback(a, to: 7, message: nil) }
    }

    @Test("list: every config's latest version, sorted; needs an initialized store")
    func list() async throws {
        let f = try await CoreRepoFixture()
        #expect(try await f.repo.list().versions.isEmpty)
        let b = CoreFix.address("access-boston", "dev"), c = CoreFix.address("access-boston", "prod", "test")
        try await f.set(a, ["A": "1"])
        try await f.set(a, ["A": "2"])
        try await f.set(b, ["A": "1"])
        try await f.set(c, ["A": "1"])
        let (l, problems) = try await f.repo.list()
        #expect(problems.isEmpty)
        #expect(l.map(\.address) == [b, a, c])
        #expect(l.map(\.version) == [1, 2, 1])
        let empty = ConfigRepository(store: FileStore(path: f.dir.sub("none")), keyring: Keyring(localKeys: []), author: "t")
        await coreExpectErrorAsync(.notFound, contains: "is not initialized") { _ = try await empty.list() }
        let e = await coreExpectErrorAsync(.notFound) {
            _ = try await empty.update(a, message: "m") { $0.values["A"] = "1" }
        }
        #expect(e?.hint?.contains("svcconf init") == true)
    }

    @Test("a new env of a service reuses the service's fingerprint key")
    func fingerprintAcrossEnvs() async throws {
        let f = try await CoreRepoFixture()
        let staging = CoreFix.address("access-boston", "staging"), variant = CoreFix.address("access-boston", "prod", "dev")
        let otherService = CoreFix.address("billing", "prod")
        try await f.set(staging, ["PASSWORD": "same-secret"])
        try await f.set(a, ["PASSWORD": "same-secret"])
        try await f.set(variant, ["PASSWORD": "same-secret"])
        try await f.set(otherService, ["PASSWORD": "same-secret"])
        let fp = { (x: ConfigAddress) async throws -> String in try await f.repo.open(x).fingerprinter.fingerprint("same-secret") }
        #expect(try await fp(a) == (try await fp(staging)))
        #expect(try await fp(variant) == (try await fp(staging)))
        #expect(try await fp(otherService) != (try await fp(staging)))
        // And it is kept from version to version.
        try await f.set(a, ["OTHER": "x"])
        #expect(try await fp(a) == (try await fp(staging)))
        // The env diff shows equal fingerprints, not values.
        let d = try await f.repo.diffEnvs(staging, a)
        #expect(d.diff.unchangedSecrets == ["PASSWORD"])
        #expect(!d.diff.renderText(oldLabel: d.oldLabel, newLabel: d.newLabel).contains("same-secret"))
    }

    @Test("writing needs the policy's key; bad header text and file names are refused before sealing")
    func writeChecks() async throws {
        let f = try await CoreRepoFixture()
        // A writer without the key: not in its keyring, and not at the policy's path either.
        let stranger = f.with(keys: [CoreFix.key(9)])
        try FileManager.default.moveItem(atPath: f.keyPath, toPath: f.keyPath + ".moved")
        let e = await coreExpectErrorAsync(.keyUnavailable, contains: "which is not among the given keys") {
            _ = try await stranger.update(a, message: "m") { $0.values["A"] = "1" }
        }
        #expect(e?.message.contains(f.keyId) == true && e?.hint?.contains("--key-file") == true)
        // A writer with no keyring at all finds the key at the policy's path (when it is there).
        try FileManager.default.moveItem(atPath: f.keyPath + ".moved", toPath: f.keyPath)
        #expect(try Keyring(localKeys: []).recipient(for: .init(uri: "local:" + f.keyPath, keyId: f.keyId), address: a) is LocalKey)
        // But not a different key that happens to be at that path.
        coreExpectError(.keyUnavailable) {
            _ = try Keyring(localKeys: []).recipient(for: .init(uri: "local:" + f.keyPath, keyId: "0000000000000000"), address: a)
        }
        await coreExpectErrorAsync(.usage, contains: "control characters") {
            _ = try await f.repo.update(a, message: "bad\u{1b}[31m") { $0.values["A"] = "1" }
        }
        await coreExpectErrorAsync(.usage, contains: "longer than 4096") {
            _ = try await f.repo.update(a, message: String(repeating: "m", count: 4097)) { $0.values["A"] = "1" }
        }
        let longAuthor = ConfigRepository(store: f.store, keyring: f.repo.keyring, author: String(repeating: "a", count: 257))
        await coreExpectErrorAsync(.usage, contains: "longer than 256") {
            _ = try await longAuthor.update(a, message: "m") { $0.values["A"] = "1" }
        }
        await coreExpectErrorAsync(.invalidInput, contains: "invalid file name") {
            _ = try await f.repo.update(a, message: "m") { $0.files["../x"] = [1] }
        }
        #expect(try await f.store.versionNumbers(of: a) == [])
        // A multi-line message with tabs is fine.
        try await f.set(a, ["A": "1"], message: "line 1\n\tline 2")
        #expect(try await f.repo.history(a)[0].info.message == "line 1\n\tline 2")
    }

    @Test("diffVersions: defaults, version 0 as empty, secrets redacted")
    func diffVersions() async throws {
        let f = try await CoreRepoFixture()
        try await f.set(a, ["A": "hunter2-one"])
        try await f.set(a, ["A": "hunter2-two", "B": "x"])
        let d = try await f.repo.diffVersions(a, from: nil, to: nil)
        #expect(d.oldLabel == "access-boston/prod version 1" && d.newLabel == "access-boston/prod version 2")
        #expect(d.diff.entries.map(\.path) == [["A"], ["B"]])
        #expect(d.diff.entries.map(\.change) == [.changed, .added])
        let text = d.diff.renderText(oldLabel: d.oldLabel, newLabel: d.newLabel)
        #expect(!text.contains("hunter2"))
        let d0 = try await f.repo.diffVersions(a, from: 0, to: 1)
        #expect(d0.oldLabel == "access-boston/prod (empty)" && d0.diff.entries.map(\.change) == [.added])
        await coreExpectErrorAsync(.usage) { _ = try await f.repo.diffVersions(a, from: -1, to: 1) }
        let same = try await f.repo.diffVersions(a, from: 2, to: 2)
        #expect(same.diff.isEmpty)
    }

    @Test("opened versions are cached only against the exact bytes read: new versions, replaced and corrupted objects are seen")
    func openedCacheChecksBytes() async throws {
        let f = try await CoreRepoFixture()
        try await f.set(a, ["A": "1"])
        #expect(try await f.repo.openEffective(a).config.values["A"] == "1")
        #expect(try await f.repo.openEffective(a).config.values["A"] == "1")  // a hit
        try await f.set(a, ["A": "2"])
        #expect(try await f.repo.openEffective(a).config.values["A"] == "2")
        #expect(try await f.repo.open(a, version: 1).config.values["A"] == "1")
        // Version 2's bytes put in place of version 1 (same address, other number): refused, not served.
        let v1 = try Data(contentsOf: URL(fileURLWithPath: f.versionFile(a, 1)))
        let v2 = try Data(contentsOf: URL(fileURLWithPath: f.versionFile(a, 2)))
        try v2.write(to: URL(fileURLWithPath: f.versionFile(a, 1)))
        await coreExpectErrorAsync(.tampered) { _ = try await f.repo.open(a, version: 1) }
        // One flipped ciphertext byte in the latest version: refused, not served from the cache.
        var bad = v2
        bad[bad.count - 1] ^= 0x01
        try bad.write(to: URL(fileURLWithPath: f.versionFile(a, 2)))
        await #expect(throws: SvcConfError.self) { _ = try await f.repo.openEffective(a) }
        try v1.write(to: URL(fileURLWithPath: f.versionFile(a, 1)))
        try v2.write(to: URL(fileURLWithPath: f.versionFile(a, 2)))
        #expect(try await f.repo.openEffective(a).config.values["A"] == "2")
    }
}
