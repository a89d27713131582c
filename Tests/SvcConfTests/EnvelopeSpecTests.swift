import SvcConfCrypto
import Testing

@testable import SvcConf

/// Checks the implementation against docs/sealed-format.md, computing every derivation independently
/// with the crypto primitives (not through Envelope's own helpers).
@Suite("Envelope: conformance to docs/sealed-format.md")
struct EnvelopeSpecTests {
    static let fileKey = Array(0..<32) as [UInt8]
    var key: LocalKey { try! LocalKey(path: "spec.key", keyBytes: Self.fileKey) }

    @Test("§3.5 local key id: first 8 bytes of HKDF-SHA256(file key, no salt, 'svcconf local key id v1')")
    func keyId() throws {
        let expected = try HKDF.deriveBytes(inputKeyMaterial: Self.fileKey, salt: [], info: Array("svcconf local key id v1".utf8), outputByteCount: 8)
        #expect(key.keyId == Hex.encode(expected))
    }

    @Test("§3.5 local stanza: [key id, nonce], body = AES-256-GCM(HKDF(file key, 'svcconf local wrap v1'), nonce, K, aad)")
    func localStanza() async throws {
        let dataKey = try SymmetricKey(bytes: Array(repeating: 0xAB, count: 32))
        let stanza = try await key.wrap(dataKey, for: WrapContext(service: "svc", env: "prod"))
        let nonce = try #require(Base64.decode(stanza.args[1]))
        #expect(nonce.count == 12 && stanza.body.count == 48)
        let wrapKey = try HKDF.deriveKey(from: try SymmetricKey(bytes: Self.fileKey), salt: [], info: Array("svcconf local wrap v1".utf8))
        let aad = Array("svcconf local stanza v1".utf8) + [0] + Array("svc".utf8) + [0] + Array("prod".utf8)
        #expect(try AESGCM.open(stanza.body, key: wrapKey, nonce: nonce, authenticating: aad) == Array(repeating: 0xAB, count: 32))
    }

    @Test("§4 MAC and payload keys, §2 authenticated bytes, §5 payload plaintext")
    func derivations() async throws {
        let cfg = Config(values: ["B": [1, "x"], "A": "a"], files: ["f.txt": Array("hi".utf8)])
        let sealed = try await CoreFix.seal(cfg, to: [key])
        let p = CoreSealedParts(sealed)
        let parsed = try SealedCodec.parse(sealed)
        // A = magic line + header line, LFs included.
        #expect(parsed.authenticatedBytes == Array("svcconf-sealed/v1\n".utf8) + p.header + [0x0A])
        let k = try #require(try key.unwrapSync(parsed.header.recipients[0], for: WrapContext(service: "access-boston", env: "prod")))
        let macKey = try HKDF.deriveKey(from: k, salt: [], info: Array("svcconf-sealed/v1 header".utf8))
        #expect(HMACSHA256.authenticationCode(for: parsed.authenticatedBytes, key: macKey) == parsed.mac)
        let payloadKey = try HKDF.deriveKey(from: k, salt: parsed.header.nonce, info: Array("svcconf-sealed/v1 payload".utf8))
        let plain = try AESGCM.open(p.ciphertext, key: payloadKey, nonce: parsed.header.nonce, authenticating: parsed.authenticatedBytes)
        #expect(String(decoding: plain, as: UTF8.self)
                == #"{"files":{"f.txt":"aGk="},"fingerprintKey":"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=","values":{"A":"a","B":[1,"x"]}}"#)
    }

    @Test("§3.5 a reader skips stanzas of unknown type (another recipient may open it)")
    func unknownStanzaSkipped() async throws {
        let dataKey = try SymmetricKey.random()
        var h = CoreFix.header(CoreFix.address())
        h.nonce = try SecureRandom.bytes(count: 12)
        let ctx = WrapContext(service: "access-boston", env: "prod")
        h.recipients = [Stanza(type: "future-kind", args: ["x"], body: [1, 2, 3]),
                        Stanza(type: "kms", args: ["arn:aws:kms:eu-west-1:1:key/abc"], body: [9]),
                        try await key.wrap(dataKey, for: ctx)]
        let bytes = try CoreFix.manualSeal(Payload(config: CoreFix.config, fingerprintKey: CoreFix.fingerprintKey), header: h, dataKey: dataKey)
        #expect(try await CoreFix.open(bytes, with: [key]).config == CoreFix.config)
        // And with only unknown stanzas: "no matching key", not an integrity failure.
        var only = h
        only.recipients = Array(h.recipients.prefix(2))
        let none = try CoreFix.manualSeal(Payload(config: CoreFix.config, fingerprintKey: CoreFix.fingerprintKey), header: only, dataKey: dataKey)
        let e = await coreExpectErrorAsync(.keyUnavailable) { _ = try await CoreFix.open(none, with: [key]) }
        #expect(e?.hint?.contains("future-kind") == true && e?.hint?.contains("kms:arn:aws:kms:eu-west-1:1:key/abc") == true)
    }

    @Test("§7 fingerprints: fp: + 4 bytes of HMAC-SHA256(key, 'svcconf fp value v1' 0x00 || canonical JSON)")
    func fingerprint() {
        let fpKey = [UInt8](repeating: 3, count: 32)
        let fp = Fingerprinter(key: fpKey)
        let v: ConfigValue = ["b": 1, "a": "x"]
        let mac = HMACSHA256.authenticationCode(for: Array("svcconf fp value v1".utf8) + [0] + Array(#"{"a":"x","b":1}"#.utf8), key: fpKey)
        #expect(fp.fingerprint(v) == "fp:" + Hex.encode(Array(mac.prefix(4))))
        let fmac = HMACSHA256.authenticationCode(for: Array("svcconf fp file v1".utf8) + [0, 1, 2], key: fpKey)
        #expect(fp.fingerprint(file: [1, 2]) == "fp:" + Hex.encode(Array(fmac.prefix(4))))
    }

    @Test("§9 file store layout")
    func storeLayout() async throws {
        let dir = try CoreTempDir()
        let store = FileStore(path: dir.sub("s"))
        try await store.createPolicy(corePolicy([key]), number: 1)
        try await store.create(CoreFix.address("svc", "prod", "dev"), version: 42, bytes: [1])
        try await store.create(CoreFix.address("svc", "prod"), version: 7, bytes: [1])
        #expect(coreList(dir.sub("s/policy")) == ["0000000001.json"])
        #expect(coreList(dir.sub("s/configs/svc/prod/variants/dev/versions")) == ["0000000042.sealed"])
        #expect(coreList(dir.sub("s/configs/svc/prod/versions")) == ["0000000007.sealed"])
    }
}
