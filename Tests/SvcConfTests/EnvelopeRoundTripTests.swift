import SvcConfCrypto
import Testing

@testable import SvcConf

@Suite("Envelope: seal and open")
struct EnvelopeRoundTripTests {
    @Test("seal then open with the one local recipient gives the payload back")
    func oneRecipient() async throws {
        let k = CoreFix.key(1)
        let sealed = try await CoreFix.seal(to: [k])
        let payload = try await CoreFix.open(sealed, with: [k])
        #expect(payload == Payload(config: CoreFix.config, fingerprintKey: CoreFix.fingerprintKey))
        // The plaintext does not appear in the sealed bytes.
        #expect(!String(decoding: sealed, as: UTF8.self).contains("hunter2-planted"))
    }

    @Test("with several recipients any one of them opens; a key not among them gets keyUnavailable")
    func severalRecipients() async throws {
        let keys = [CoreFix.key(1), CoreFix.key(2), CoreFix.key(3)]
        let sealed = try await CoreFix.seal(to: keys)
        #expect(try SealedCodec.parse(sealed).header.recipients.count == 3)
        for k in keys {
            let p = try await CoreFix.open(sealed, with: [k])
            #expect(p.config == CoreFix.config)
        }
        // Order of identities does not matter, and non-matching ones are skipped.
        let p = try await CoreFix.open(sealed, with: [CoreFix.key(9), keys[2]])
        #expect(p.config == CoreFix.config)

        let outsider = CoreFix.key(4)
        let e = await coreExpectErrorAsync(.keyUnavailable, "no key opens version 1 of access-boston/prod") {
            _ = try await CoreFix.open(sealed, with: [outsider])
        }
        // The hint names who it is sealed to (public key ids) and what was tried.
        #expect(e?.hint?.contains(keys[0].keyId) == true)
        #expect(e?.hint?.contains("local:mem-4.key") == true)
    }

    @Test("opening with no keys at all says so in the hint")
    func noKeys() async throws {
        let sealed = try await CoreFix.seal(to: [CoreFix.key(1)])
        let e = await coreExpectErrorAsync(.keyUnavailable) { _ = try await CoreFix.open(sealed, with: []) }
        #expect(e?.hint?.contains("no key was given") == true)
    }

    @Test("sealing needs 1 to 16 recipients")
    func recipientCountOnSeal() async throws {
        await coreExpectErrorAsync(.keyUnavailable) { _ = try await CoreFix.seal(to: []) }
        let seventeen = (1...17).map { CoreFix.key(UInt8($0)) }
        await coreExpectErrorAsync(.usage, "a version can have at most 16 recipients") {
            _ = try await CoreFix.seal(to: seventeen)
        }
        let sixteen = Array(seventeen.prefix(16))
        let sealed = try await CoreFix.seal(to: sixteen)
        #expect(try await CoreFix.open(sealed, with: [sixteen[15]]).config == CoreFix.config)
    }

    @Test("each seal uses a fresh nonce and data key")
    func freshness() async throws {
        let k = CoreFix.key(1)
        let a = try await CoreFix.seal(to: [k]), b = try await CoreFix.seal(to: [k])
        #expect(a != b)
        let ha = try SealedCodec.parse(a).header, hb = try SealedCodec.parse(b).header
        #expect(ha.nonce != hb.nonce)
        #expect(ha.recipients[0].body != hb.recipients[0].body)
        let ctx = WrapContext(service: "access-boston", env: "prod")
        let ka = try #require(try k.unwrapSync(ha.recipients[0], for: ctx))
        let kb = try #require(try k.unwrapSync(hb.recipients[0], for: ctx))
        #expect(!ka.equals(kb))
    }

    static let shapes: [(String, ConfigAddress, Int64, Digest?, String)] = [
        ("plain v1", CoreFix.address(), 1, nil, "initial"),
        ("variant v7 with schema", CoreFix.address("svc", "staging", "dev"), 7, Digest(of: [1, 2, 3]), "multi\nline\tmessage ✓"),
        ("empty message", CoreFix.address("a", "b"), 2, nil, ""),
    ]

    @Test("parse(encode(x)) == x and encode(parse(bytes)) == bytes", arguments: 0..<3)
    func codecRoundTrip(_ i: Int) async throws {
        let (_, a, version, schema, message) = Self.shapes[i]
        let sealed = try await CoreFix.seal(CoreFix.config, a, version: version, schema: schema, message: message,
                                            to: [CoreFix.key(1), CoreFix.key(2)])
        let parsed = try SealedCodec.parse(sealed)
        #expect(SealedCodec.encode(header: parsed.header, mac: parsed.mac, ciphertext: parsed.ciphertext) == sealed)
        #expect(parsed.header.service == a.service && parsed.header.env == a.env && parsed.header.variant == a.variant)
        #expect(parsed.header.version == version && parsed.header.schema == schema && parsed.header.message == message)
        #expect(parsed.header.time == CoreFix.time && parsed.header.author == "alice@example.com")
        #expect(parsed.header.nonce.count == 12 && parsed.mac.count == 32)
        #expect(parsed.authenticatedBytes == SealedCodec.authenticatedBytes(of: parsed.header))

        let again = try SealedCodec.parse(SealedCodec.encode(header: parsed.header, mac: parsed.mac, ciphertext: parsed.ciphertext))
        #expect(again.header == parsed.header && again.mac == parsed.mac && again.ciphertext == parsed.ciphertext)

        let opened = try await CoreFix.open(sealed, a, version: version, with: [CoreFix.key(2)])
        #expect(opened.config == CoreFix.config)
    }

    @Test("the sealed layout: magic line, canonical header line, MAC line, ciphertext with tag")
    func layout() async throws {
        let sealed = try await CoreFix.seal(to: [CoreFix.key(1)])
        let p = CoreSealedParts(sealed)
        #expect(String(decoding: p.magic, as: UTF8.self) == "svcconf-sealed/v1")
        #expect(p.header == JSON.canonical(.object(p.headerObject)))
        #expect(p.macLine.starts(with: Array("--- ".utf8)) && p.macLine.last == 0x0A && p.macLine.count == 49)
        let plain = Payload(config: CoreFix.config, fingerprintKey: CoreFix.fingerprintKey).encoded()
        #expect(p.ciphertext.count == plain.count + 16)
        #expect(Set(p.headerObject.keys) == SealedCodec.headerFields)
    }
}

@Suite("Envelope: payload")
struct EnvelopePayloadTests {
    let fp = [UInt8](repeating: 9, count: 32)

    @Test("encode/decode round trip, with files of any bytes")
    func roundTrip() throws {
        let p = Payload(config: CoreFix.config, fingerprintKey: fp)
        #expect(try Payload.decode(p.encoded()) == p)
        let empty = Payload(config: Config(), fingerprintKey: fp)
        #expect(try Payload.decode(empty.encoded()) == empty)
        #expect(String(decoding: empty.encoded(), as: UTF8.self)
                == #"{"files":{},"fingerprintKey":"CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=","values":{}}"#)
    }

    @Test("decode is strict", arguments: [
        ("xyz", "sealed payload is not valid JSON (unexpected character)"),
        (#"[]"#, "sealed payload does not have the expected structure"),
        (#"{"files":{},"fingerprintKey":"CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=","values":{},"x":1}"#, "sealed payload does not have the expected structure"),
        (#"{"files":{},"fingerprintKey":"CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk="}"#, "sealed payload does not have the expected structure"),
        (#"{"files":{},"fingerprintKey":"CQkJ","values":{}}"#, "sealed payload does not have the expected structure"),
        (#"{"files":[],"fingerprintKey":"CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=","values":{}}"#, "sealed payload does not have the expected structure"),
        (#"{"files":{},"fingerprintKey":"CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=","values":[]}"#, "sealed payload does not have the expected structure"),
        (#"{"files":{"../x":"QQ=="},"fingerprintKey":"CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=","values":{}}"#, "sealed payload has a malformed file entry"),
        (#"{"files":{"a":"QR=="},"fingerprintKey":"CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=","values":{}}"#, "sealed payload has a malformed file entry"),
        (#"{"files":{"a":1},"fingerprintKey":"CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=","values":{}}"#, "sealed payload has a malformed file entry"),
    ])
    func strictDecode(_ input: String, _ message: String) {
        coreExpectError(.tampered, message) { _ = try Payload.decode(Array(input.utf8)) }
    }
}
