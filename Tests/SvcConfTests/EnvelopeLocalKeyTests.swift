import Foundation
import SvcConfCrypto
import Testing

@testable import SvcConf

@Suite("LocalKey")
struct EnvelopeLocalKeyTests {
    static let goodLine = "SVCCONF-LOCAL-KEY-V1:" + String(repeating: "0123456789abcdef", count: 4)

    @Test("generate writes a 0600 key file that loads to the same key id")
    func generate() throws {
        let dir = try CoreTempDir()
        let path = dir.sub("keys/nested/k.key")
        let k = try LocalKey.generate(at: path, now: CoreFix.time)
        #expect(coreMode(path) == 0o600)
        #expect(coreMode(dir.sub("keys")) == 0o700 && coreMode(dir.sub("keys/nested")) == 0o700)
        let loaded = try LocalKey(path: path)
        #expect(loaded.keyId == k.keyId)
        #expect(loaded.label == "local:\(path)")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("SVCCONF-LOCAL-KEY-V1:"))
        #expect(text.contains("2023-11-14T22:13:20Z") && text.contains(k.keyId))
        #expect(coreList(dir.sub("keys/nested")) == ["k.key"])  // no temporary file left behind
    }

    @Test("generate refuses to overwrite an existing file")
    func generateNoOverwrite() throws {
        let dir = try CoreTempDir()
        let path = dir.sub("k.key")
        _ = try LocalKey.generate(at: path, now: CoreFix.time)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        coreExpectError(.conflict) { _ = try LocalKey.generate(at: path, now: CoreFix.time) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        // Also over a file that is not a key.
        try coreWriteFile(dir.sub("other"), Array("hello".utf8))
        coreExpectError(.conflict) { _ = try LocalKey.generate(at: dir.sub("other"), now: CoreFix.time) }
        #expect(try String(contentsOfFile: dir.sub("other"), encoding: .utf8) == "hello")
        #expect(coreList(dir.path).sorted() == ["k.key", "other"])
    }

    @Test("load refuses group/other-accessible key files with a chmod 600 hint", arguments: [0o644, 0o640, 0o604, 0o660, 0o606, 0o610, 0o601, 0o777] as [UInt16])
    func tooOpen(_ mode: UInt16) throws {
        let dir = try CoreTempDir()
        let path = dir.sub("k.key")
        try coreWriteFile(path, Array((Self.goodLine + "\n").utf8), mode: mode_t(mode))
        let e = coreExpectError(.keyUnavailable, contains: "is accessible by other users") { _ = try LocalKey(path: path) }
        #expect(e?.hint == "chmod 600 \(path)")
        #expect(e?.message.contains(String(mode, radix: 8)) == true)
    }

    @Test("load accepts 0600 and stricter", arguments: [0o600, 0o400, 0o700, 0o500] as [UInt16])
    func strictEnough(_ mode: UInt16) throws {
        let dir = try CoreTempDir()
        let path = dir.sub("k.key")
        try coreWriteFile(path, Array((Self.goodLine + "\n").utf8), mode: mode_t(mode))
        #expect(try LocalKey(path: path).keyId.count == 16)
    }

    @Test("load rejects malformed key files", arguments: [
        ("", "holds no key"),
        ("# only a comment\n\n", "holds no key"),
        ("SVCCONF-LOCAL-KEY-V2:" + String(repeating: "ab", count: 32) + "\n", "is not a svcconf key file"),
        ("svcconf-local-key-v1:" + String(repeating: "ab", count: 32) + "\n", "is not a svcconf key file"),
        (String(repeating: "ab", count: 32) + "\n", "is not a svcconf key file"),
        ("SVCCONF-LOCAL-KEY-V1:" + String(repeating: "a", count: 63) + "\n", "is not a svcconf key file"),
        ("SVCCONF-LOCAL-KEY-V1:" + String(repeating: "a", count: 65) + "\n", "is not a svcconf key file"),
        ("SVCCONF-LOCAL-KEY-V1:" + String(repeating: "AB", count: 32) + "\n", "is not a svcconf key file"),
        ("SVCCONF-LOCAL-KEY-V1:" + String(repeating: "g0", count: 32) + "\n", "is not a svcconf key file"),
        ("SVCCONF-LOCAL-KEY-V1: " + String(repeating: "ab", count: 32) + "\n", "is not a svcconf key file"),
        ("SVCCONF-LOCAL-KEY-V1:" + String(repeating: "ab", count: 32) + " \n", "is not a svcconf key file"),
        (EnvelopeLocalKeyTests.goodLine + "\n" + EnvelopeLocalKeyTests.goodLine + "\n", "is not a svcconf key file"),
        (EnvelopeLocalKeyTests.goodLine + "\n" + "SVCCONF-LOCAL-KEY-V1:" + String(repeating: "cd", count: 32) + "\n", "is not a svcconf key file"),
        (EnvelopeLocalKeyTests.goodLine + "\ngarbage\n", "is not a svcconf key file"),
    ])
    func malformed(_ text: String, _ expected: String) throws {
        let dir = try CoreTempDir()
        let path = dir.sub("k.key")
        try coreWriteFile(path, Array(text.utf8))
        let e = coreExpectError(.keyUnavailable, contains: expected) { _ = try LocalKey(path: path) }
        // The key material never appears in an error.
        #expect(e?.message.contains("abababab") == false && e?.hint?.contains("abababab") != true)
    }

    @Test("load accepts comment lines and a missing final newline (docs/sealed-format.md §6)")
    func commentsAllowed() throws {
        let dir = try CoreTempDir()
        var ids = Set<String>()
        for (i, text) in [Self.goodLine, Self.goodLine + "\n", "# c\n" + Self.goodLine + "\n# end\n", "#\n#x\n" + Self.goodLine].enumerated() {
            let path = dir.sub("k\(i).key")
            try coreWriteFile(path, Array(text.utf8))
            ids.insert(try LocalKey(path: path).keyId)
        }
        #expect(ids.count == 1)
    }

    @Test("missing path, directory, and non-regular files are refused")
    func notAFile() throws {
        let dir = try CoreTempDir()
        coreExpectError(.keyUnavailable, contains: "does not exist") { _ = try LocalKey(path: dir.sub("nope.key")) }
        try FileManager.default.createDirectory(atPath: dir.sub("d"), withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        coreExpectError(.keyUnavailable, contains: "is not a regular file") { _ = try LocalKey(path: dir.sub("d")) }
    }

    @Test("key id: 16 lower-case hex digits, stable for a key, different across keys")
    func keyIds() throws {
        let dir = try CoreTempDir()
        let a = try LocalKey.generate(at: dir.sub("a.key"), now: CoreFix.time)
        let b = try LocalKey.generate(at: dir.sub("b.key"), now: CoreFix.time)
        #expect(a.keyId != b.keyId)
        #expect(try LocalKey(path: dir.sub("a.key")).keyId == a.keyId)
        let again = try LocalKey(path: dir.sub("a.key")).keyId
        #expect(try LocalKey(path: dir.sub("a.key")).keyId == again)
        for id in [a.keyId, b.keyId] { #expect(id.count == 16 && Hex.decode(id)?.count == 8) }
        // The same key bytes under another path keep their id; the id is not the key's prefix.
        #expect(CoreFix.key(5, path: "x").keyId == CoreFix.key(5, path: "y").keyId)
        #expect(CoreFix.key(5).keyId != CoreFix.key(6).keyId)
        #expect(CoreFix.key(5).keyId != Hex.encode([UInt8](repeating: 5, count: 8)))
        // A copied key file has the same id.
        try FileManager.default.copyItem(atPath: dir.sub("a.key"), toPath: dir.sub("copy.key"))
        #expect(try LocalKey(path: dir.sub("copy.key")).keyId == a.keyId)
    }

    @Test("wrap/unwrap is bound to service and env")
    func wrapBinding() async throws {
        let k = CoreFix.key(3)
        let dataKey = try SymmetricKey.random()
        let ctx = WrapContext(service: "access-boston", env: "prod")
        let stanza = try await k.wrap(dataKey, for: ctx)
        #expect(stanza.type == "local" && stanza.args.count == 2 && stanza.args[0] == k.keyId && stanza.body.count == 48)
        let back = try #require(try await k.unwrap(stanza, for: ctx))
        #expect(back.equals(dataKey))
        for other in [WrapContext(service: "access-boston", env: "staging"), WrapContext(service: "access-bosto", env: "nprod"),
                      WrapContext(service: "other", env: "prod")] {
            await coreExpectErrorAsync(.tampered, contains: "does not unwrap") { _ = try await k.unwrap(stanza, for: other) }
        }
        // Another key is simply not addressed; a stanza of another type neither.
        #expect(try await CoreFix.key(4).unwrap(stanza, for: ctx) == nil)
        #expect(try await k.unwrap(Stanza(type: "kms", args: [k.keyId], body: stanza.body), for: ctx) == nil)
        // A stanza with our key id but a forged body.
        var forged = stanza
        forged.body[0] ^= 1
        await coreExpectErrorAsync(.tampered) { _ = try await k.unwrap(forged, for: ctx) }
        // Each wrap uses a fresh nonce.
        let again = try await k.wrap(dataKey, for: ctx)
        #expect(again.args[1] != stanza.args[1] && again.body != stanza.body)
    }

    @Test("~ expands to $HOME")
    func tilde() {
        let home = String(cString: getenv("HOME"))
        #expect(LocalKey.expand("~/x.key") == home + "/x.key")
        #expect(LocalKey.expand("~") == home)
        #expect(LocalKey.expand("/abs/~/x") == "/abs/~/x")
        #expect(LocalKey.expand("~user/x") == "~user/x")
    }

    @Test("Keyring.load checks every key file")
    func keyring() throws {
        let dir = try CoreTempDir()
        let a = try LocalKey.generate(at: dir.sub("a.key"), now: CoreFix.time)
        let ring = try Keyring.load(paths: [dir.sub("a.key"), ""])
        #expect(ring.localKeys.map(\.keyId) == [a.keyId])
        try coreWriteFile(dir.sub("open.key"), Array((Self.goodLine + "\n").utf8), mode: 0o644)
        coreExpectError(.keyUnavailable) { _ = try Keyring.load(paths: [dir.sub("a.key"), dir.sub("open.key")]) }
    }
}
