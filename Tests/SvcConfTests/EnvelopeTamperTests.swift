import SvcConfCrypto
import Testing

@testable import SvcConf

/// Nothing about a sealed version can change unnoticed: every bit of header, MAC and ciphertext,
/// truncation, re-labelling, swapped stanzas, and a MAC made with the wrong key.
@Suite("Envelope: tampering")
struct EnvelopeTamperTests {
    static let small = Config(values: ["K": "hunter2-planted"])
    let key = CoreFix.key(1)
    let ctx = WrapContext(service: "access-boston", env: "prod")

    func sealSmall(version: Int64 = 1) async throws -> [UInt8] {
        try await CoreFix.seal(Self.small, version: version, to: [key])
    }

    /// Opens and returns the error kind (nil when it opened, which is always a failure here).
    func openError(_ bytes: [UInt8], version: Int64 = 1) async -> SvcConfError? {
        await coreCatch { _ = try await CoreFix.open(bytes, version: version, with: [key]) }
    }

    /// Byte range of `needle` inside `haystack` (first occurrence).
    func range(of needle: String, in haystack: [UInt8]) -> Range<Int>? {
        let n = Array(needle.utf8)
        guard n.count <= haystack.count else { return nil }
        for i in 0...(haystack.count - n.count) where Array(haystack[i..<(i + n.count)]) == n { return i..<(i + n.count) }
        return nil
    }

    @Test("flipping any bit of the magic, header and MAC lines → tampered; keyUnavailable only when the flip re-addresses the stanza")
    func headerAndMacBitFlips() async throws {
        let sealed = try await sealSmall()
        let p = CoreSealedParts(sealed)
        // The stanza's recipient identity: its key id (args[0]) and its type. A flip there that still
        // parses makes the stanza belong to some other recipient, so no key of ours is addressed.
        let keyIdRange = try #require(range(of: "\"\(key.keyId)\"", in: sealed))
        let typeRange = try #require(range(of: "\"type\":\"local\"", in: sealed))
        let identityBytes = Set(keyIdRange).union(typeRange.suffix(7))  // `local"`-ish: the value and its quotes
        var keyUnavailable = 0, tampered = 0
        for offset in 0..<p.ciphertextOffset {
            for bit in 0..<8 {
                var b = sealed
                b[offset] ^= 1 << bit
                guard let e = await openError(b) else {
                    Issue.record("bit \(bit) of byte \(offset) flipped: the version still opened")
                    continue
                }
                let stillParses = (try? SealedCodec.parse(b)) != nil
                if e.kind == .keyUnavailable {
                    keyUnavailable += 1
                    #expect(identityBytes.contains(offset) && stillParses,
                            "byte \(offset) bit \(bit): keyUnavailable outside the stanza's recipient identity (\(e.message))")
                } else {
                    tampered += 1
                    #expect(e.kind == .tampered, "byte \(offset) bit \(bit): \(e.kind) \(e.message)")
                    // Inside the key id, a flip that still parses can only be keyUnavailable.
                    if keyIdRange.dropFirst().dropLast().contains(offset) && stillParses {
                        Issue.record("byte \(offset) bit \(bit) in the key id parsed but gave \(e.kind)")
                    }
                }
            }
        }
        #expect(keyUnavailable > 0 && tampered > 0)
        print("tamper matrix: \(8 * p.ciphertextOffset) header/MAC bit flips refused (\(tampered) tampered, \(keyUnavailable) no key: recipient id changed)")
    }

    @Test("the rule for key id flips is exact: a parseable key-id flip gives keyUnavailable")
    func keyIdFlipsAreKeyUnavailable() async throws {
        let sealed = try await sealSmall()
        let r = try #require(range(of: key.keyId, in: sealed))
        for offset in r {
            var b = sealed
            b[offset] ^= 0x01  // a hex digit stays printable ASCII: the header still parses
            #expect((try? SealedCodec.parse(b)) != nil)
            await coreExpectErrorAsync(.keyUnavailable) { _ = try await CoreFix.open(b, with: [key]) }
        }
    }

    @Test("flipping any bit of the ciphertext → tampered (GCM authentication)")
    func ciphertextBitFlips() async throws {
        let sealed = try await sealSmall()
        let p = CoreSealedParts(sealed)
        for offset in p.ciphertextOffset..<sealed.count {
            for bit in 0..<8 {
                var b = sealed
                b[offset] ^= 1 << bit
                await coreExpectErrorAsync(.tampered, "version 1 of access-boston/prod failed authentication: it was tampered with") {
                    _ = try await CoreFix.open(b, with: [key])
                }
            }
        }
        print("tamper matrix: \(8 * (sealed.count - p.ciphertextOffset)) ciphertext bit flips refused")
    }

    @Test("truncation at every length, and trailing bytes → tampered, never a config")
    func truncation() async throws {
        let sealed = try await sealSmall()
        let minimal = CoreSealedParts(sealed).ciphertextOffset + 16
        for n in 0..<sealed.count {
            let e = await openError(Array(sealed.prefix(n)))
            #expect(e?.kind == .tampered, "truncated to \(n) bytes: \(e.map { "\($0.kind) \($0.message)" } ?? "opened")")
            // The framing alone catches every cut before the tag could be complete; later cuts are
            // caught by the GCM tag (above).
            if n < minimal { #expect(throws: SvcConfError.self) { try SealedCodec.parse(Array(sealed.prefix(n))) } }
        }
        for extra: [UInt8] in [[0], [0x0A], Array(repeating: 0x41, count: 16)] {
            let e = await openError(sealed + extra)
            #expect(e?.kind == .tampered)
        }
        // And it does open untouched.
        #expect(try await CoreFix.open(sealed, with: [key]).config == Self.small)
        print("tamper matrix: \(sealed.count) truncations and 3 extensions refused")
    }

    @Test("the same bytes opened as another service, env, variant or version → tampered")
    func relabel() async throws {
        let sealed = try await sealSmall(version: 2)
        let others: [(ConfigAddress, Int64)] = [
            (CoreFix.address("access-chicago", "prod"), 2), (CoreFix.address("access-boston", "staging"), 2),
            (CoreFix.address("access-boston", "prod", "dev"), 2), (CoreFix.address("access-boston", "prod"), 1),
            (CoreFix.address("access-boston", "prod"), 3),
        ]
        for (a, v) in others {
            await coreExpectErrorAsync(.tampered, contains: "it was copied or re-labelled") {
                _ = try await Envelope.open(sealed, address: a, version: v, identities: [key])
            }
        }
        #expect(try await CoreFix.open(sealed, version: 2, with: [key]).config == Self.small)
    }

    @Test("relabelling the header itself (service/env/variant/version) → tampered")
    func relabelHeader() async throws {
        let sealed = try await sealSmall(version: 2)
        let cases: [(ConfigAddress, Int64, (inout [String: ConfigValue]) -> Void)] = [
            (CoreFix.address("other", "prod"), 2, { $0["service"] = "other" }),
            (CoreFix.address("access-boston", "dev"), 2, { $0["env"] = "dev" }),
            (CoreFix.address("access-boston", "prod", "x"), 2, { $0["variant"] = "x" }),
            (CoreFix.address("access-boston", "prod"), 3, { $0["version"] = 3 }),
        ]
        for (a, v, edit) in cases {
            let b = coreEditHeader(sealed, edit)
            let e = await coreCatch { _ = try await Envelope.open(b, address: a, version: v, identities: [key]) }
            #expect(e?.kind == .tampered, "\(a) v\(v): \(e?.message ?? "opened")")
        }
    }

    @Test("a stanza swapped in from another version sealed to the same key → tampered by the header MAC")
    func swappedStanza() async throws {
        let a = try await sealSmall(version: 2), b = try await sealSmall(version: 2)
        let stanzaB = CoreSealedParts(b).headerObject["recipients"]!
        let mixed = coreEditHeader(a) { $0["recipients"] = stanzaB }
        await coreExpectErrorAsync(.tampered, "version 2 of access-boston/prod failed its header check: it was tampered with") {
            _ = try await CoreFix.open(mixed, version: 2, with: [key])
        }
        // A stanza from another service (bound to its context) does not even unwrap.
        let c = try await CoreFix.seal(Self.small, CoreFix.address("other", "prod"), version: 2, to: [key])
        let foreign = coreEditHeader(a) { $0["recipients"] = CoreSealedParts(c).headerObject["recipients"]! }
        await coreExpectErrorAsync(.tampered, contains: "does not unwrap") {
            _ = try await CoreFix.open(foreign, version: 2, with: [key])
        }
    }

    @Test("the MAC is checked, and before decryption")
    func macIsChecked() async throws {
        let sealed = try await sealSmall()
        let parsed = try SealedCodec.parse(sealed)
        let dataKey = try #require(try key.unwrapSync(parsed.header.recipients[0], for: ctx))
        let payload = Payload(config: Self.small, fingerprintKey: CoreFix.fingerprintKey)

        // The hand-made seal matches what Envelope produces (so the cases below differ only as stated).
        let same = try CoreFix.manualSeal(payload, header: parsed.header, dataKey: dataKey)
        #expect(try await CoreFix.open(same, with: [key]).config == Self.small)

        // 1. Header unchanged, MAC made with a wrong key: GCM alone would accept it; the MAC check refuses.
        let wrongMac = try CoreFix.manualSeal(payload, header: parsed.header, dataKey: dataKey, macKey: try SymmetricKey.random())
        await coreExpectErrorAsync(.tampered, "version 1 of access-boston/prod failed its header check: it was tampered with") {
            _ = try await CoreFix.open(wrongMac, with: [key])
        }
        // 2. Another field changed (message), the stanza still valid, MAC recomputed with a wrong key.
        var h = parsed.header
        h.message = "changed"
        let changed = try CoreFix.manualSeal(payload, header: h, dataKey: dataKey, macKey: try SymmetricKey.random())
        await coreExpectErrorAsync(.tampered, contains: "failed its header check") {
            _ = try await CoreFix.open(changed, with: [key])
        }
        // 3. Header changed after sealing and the MAC recomputed with the right key: the GCM tag, which
        //    also covers the header, still refuses.
        let (macKey, _) = try Envelope.deriveKeys(dataKey, nonce: h.nonce)
        let p = CoreSealedParts(sealed)
        let newAuth = SealedCodec.authenticatedBytes(of: h)
        let forged = SealedCodec.encode(header: h, mac: HMACSHA256.authenticationCode(for: newAuth, key: macKey), ciphertext: p.ciphertext)
        await coreExpectErrorAsync(.tampered, "version 1 of access-boston/prod failed authentication: it was tampered with") {
            _ = try await CoreFix.open(forged, with: [key])
        }
    }

    @Test("key commitment: a second recipient's stanza wrapping a different data key is caught by the MAC")
    func keyCommitment() async throws {
        // An attacker who can write the store seals for two recipients with two different data keys, hoping
        // each opens a different plaintext. The header MAC (keyed from the data key) stops the second.
        let k1 = CoreFix.key(1), k2 = CoreFix.key(2)
        let d1 = try SymmetricKey.random(), d2 = try SymmetricKey.random()
        var h = CoreFix.header(CoreFix.address())
        h.nonce = try SecureRandom.bytes(count: 12)
        h.recipients = [try await k1.wrap(d1, for: ctx), try await k2.wrap(d2, for: ctx)]
        let bytes = try CoreFix.manualSeal(Payload(config: Self.small, fingerprintKey: CoreFix.fingerprintKey), header: h, dataKey: d1)
        #expect(try await CoreFix.open(bytes, with: [k1]).config == Self.small)
        await coreExpectErrorAsync(.tampered, contains: "failed its header check") {
            _ = try await CoreFix.open(bytes, with: [k2])
        }
    }

    @Test("a stanza addressed to our key but malformed → tampered, not skipped")
    func malformedOwnStanza() async throws {
        let sealed = try await sealSmall()
        let stanza = CoreSealedParts(sealed).headerObject["recipients"]!.arrayValue![0].objectValue!
        let edits: [(inout [String: ConfigValue]) -> Void] = [
            { $0["args"] = [.string(key.keyId)] },
            { $0["args"] = [.string(key.keyId), "AAAA"] },
            { $0["args"] = [.string(key.keyId), $0["args"]!.arrayValue![1], "x"] },
            { $0["body"] = .string(Base64.encode([UInt8](repeating: 0, count: 47))) },
            { $0["body"] = .string(Base64.encode([UInt8](repeating: 0, count: 48))) },
        ]
        for edit in edits {
            var s = stanza
            edit(&s)
            let b = coreEditHeader(sealed) { $0["recipients"] = [.object(s)] }
            await coreExpectErrorAsync(.tampered) { _ = try await CoreFix.open(b, with: [key]) }
        }
    }
}
