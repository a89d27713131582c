// Wycheproof known-answer tests (C2SP/wycheproof JSON vectors).
//
// Vectors are looked up in $SVCCONF_ORACLES/wycheproof, else in
// <repo>/../shared/oracles/wycheproof (the repo root is the nearest ancestor
// of this file holding Package.swift). When the directory is absent the tests
// print a notice and pass, so the package also works outside the dev machine.
//
// Each case's "result" is honoured: "valid" must reproduce the expected output
// exactly, "invalid" must be rejected, "acceptable" may go either way.

import Foundation
import SvcConfCrypto
import Testing

@Suite("Wycheproof")
struct WycheproofTests {
    @Test func aesGcm() throws {
        // Only what SvcConfCrypto implements: AES-256 with a 96-bit nonce and a 128-bit tag.
        try runVectors(file: "aes_gcm_test.json", select: { g in
            g["keySize"] as? Int == 256 && g["ivSize"] as? Int == 96 && g["tagSize"] as? Int == 128
        }) { _, t in
            let key = try SymmetricKey(bytes: hex(t.string("key")))
            let nonce = hex(t.string("iv")), aad = hex(t.string("aad")), msg = hex(t.string("msg"))
            let sealed = hex(t.string("ct")) + hex(t.string("tag"))
            let ours = try? AESGCM.seal(msg, key: key, nonce: nonce, authenticating: aad)
            let opened: [UInt8]?
            do {
                opened = try AESGCM.open(sealed, key: key, nonce: nonce, authenticating: aad)
            } catch let error as CryptoError {
                opened = nil
                if error != .authenticationFailed { return .rejected("open threw \(error)") }
            }
            if ours == sealed && opened == msg { return .accepted }
            if opened == nil && ours != sealed { return .rejected("open threw authenticationFailed") }
            return .inconsistent("seal matched: \(ours == sealed), open succeeded: \(opened != nil)")
        }
    }

    @Test func hkdfSha256() throws {
        try runVectors(file: "hkdf_sha256_test.json", select: { _ in true }) { _, t in
            let expected = hex(t.string("okm"))
            let okm: [UInt8]
            do {
                okm = try HKDF.deriveBytes(inputKeyMaterial: hex(t.string("ikm")), salt: hex(t.string("salt")),
                                           info: hex(t.string("info")), outputByteCount: t.int("size"))
            } catch {
                return .rejected("threw \(error)")
            }
            return okm == expected ? .accepted : .inconsistent("derived \(hexString(okm))")
        }
    }

    @Test func hmacSha256() throws {
        try runVectors(file: "hmac_sha256_test.json", select: { _ in true }) { _, t in
            let keyBytes = hex(t.string("key")), msg = hex(t.string("msg")), tag = hex(t.string("tag"))
            let mac = HMACSHA256.authenticationCode(for: msg, key: keyBytes)
            // The prepared-key path (SigV4's hot path) must agree byte for byte with OpenSSL's HMAC().
            guard HMACSHA256.PreparedKey(key: keyBytes).authenticationCode(for: msg) == mac else {
                return .inconsistent("PreparedKey disagrees with HMAC()")
            }
            // Truncated-tag groups: compare the prefix of the given tag's length.
            let matches = !tag.isEmpty && constantTimeEquals(Array(mac.prefix(tag.count)), tag)
            // Full-length tags under 32-byte keys also go through the SymmetricKey/isValid path.
            if keyBytes.count == SymmetricKey.byteCount, tag.count == HMACSHA256.byteCount {
                let key = try SymmetricKey(bytes: keyBytes)
                guard HMACSHA256.authenticationCode(for: msg, key: key) == mac,
                      HMACSHA256.isValid(tag, for: msg, key: key) == matches else {
                    return .inconsistent("SymmetricKey path disagrees with [UInt8] path")
                }
            }
            return matches ? .accepted : .rejected("tag mismatch")
        }
    }
}

// MARK: - Runner

/// What the implementation did with one test case.
enum Outcome {
    /// Reproduced the expected output exactly.
    case accepted
    /// Refused the input (threw, or the MAC/tag did not match).
    case rejected(String)
    /// Neither a clean accept nor a clean reject: always a failure.
    case inconsistent(String)
}

/// Runs every test of every selected group in `file`, judges each against its
/// "result", prints `wycheproof <file>: N passed, N failed, N skipped`, and
/// requires zero failures and that every selected case actually ran.
func runVectors(file: String, select: ([String: Any]) -> Bool,
                check: ([String: Any], [String: Any]) throws -> Outcome) throws {
    guard let directory = wycheproofDirectory() else { return }
    let path = directory + "/" + file
    let data = try #require(FileManager.default.contents(atPath: path), "cannot read \(path)")
    let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let groups = try #require(root["testGroups"] as? [[String: Any]], "\(file): no testGroups")

    var passed = 0, failed = 0, skipped = 0, selected = 0
    for group in groups {
        let tests = group["tests"] as? [[String: Any]] ?? []
        guard select(group) else { skipped += tests.count; continue }
        selected += tests.count
        for test in tests {
            let expected = test["result"] as? String ?? "?"
            let outcome: Outcome
            do { outcome = try check(group, test) } catch { outcome = .inconsistent("harness error: \(error)") }
            let ok: Bool
            switch (expected, outcome) {
            case ("valid", .accepted), ("invalid", .rejected), ("acceptable", .accepted), ("acceptable", .rejected):
                ok = true
            default:
                ok = false
            }
            if ok {
                passed += 1
            } else {
                failed += 1
                Issue.record("\(file) tcId \(test["tcId"] ?? "?") (\(expected), \(test["comment"] ?? "")): \(outcome)")
            }
        }
    }
    print("wycheproof \(file): \(passed) passed, \(failed) failed, \(skipped) skipped")
    #expect(failed == 0)
    #expect(selected > 0, "\(file): no test cases selected")
    #expect(passed + failed == selected, "\(file): ran \(passed + failed) of \(selected) selected cases")
}

/// The Wycheproof vector directory, or nil (after printing a notice) if it is absent.
func wycheproofDirectory() -> String? {
    let fm = FileManager.default
    var candidate: String
    if let env = ProcessInfo.processInfo.environment["SVCCONF_ORACLES"], !env.isEmpty {
        candidate = env + "/wycheproof"
    } else {
        candidate = "<repo>/../shared/oracles/wycheproof"
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
                candidate = dir.deletingLastPathComponent().appendingPathComponent("shared/oracles/wycheproof").path
                break
            }
            dir = dir.deletingLastPathComponent()
        }
    }
    var isDirectory: ObjCBool = false
    guard fm.fileExists(atPath: candidate, isDirectory: &isDirectory), isDirectory.boolValue else {
        print("notice: wycheproof vectors not found at \(candidate); skipping")
        return nil
    }
    return candidate
}

extension Dictionary where Key == String, Value == Any {
    /// A string field of a test case ("" when absent).
    func string(_ key: String) -> String { self[key] as? String ?? "" }
    /// An integer field of a test case (-1 when absent).
    func int(_ key: String) -> Int { self[key] as? Int ?? -1 }
}
