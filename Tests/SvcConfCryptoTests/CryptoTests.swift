import Testing
import SvcConfCrypto

/// Decodes a hex string (test helper; the core has its own).
func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(s.utf8.count / 2)
    var it = s.utf8.makeIterator()
    while let hi = it.next(), let lo = it.next() {
        out.append(UInt8(String(decoding: [hi, lo], as: UTF8.self), radix: 16)!)
    }
    return out
}

/// Encodes bytes as lower-case hex (test helper).
func hexString(_ b: [UInt8]) -> String {
    b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

@Suite("Known answers")
struct KnownAnswerTests {
    @Test func sha256Abc() {
        #expect(SHA256.hash(Array("abc".utf8)) == hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
    }

    @Test func sha256Empty() {
        let expected = hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash([]) == expected)
        #expect(SHA256.hash(UnsafeRawBufferPointer(start: nil, count: 0)) == expected)
    }

    @Test func hmacRFC4231Case2() throws {
        let mac = HMACSHA256.authenticationCode(for: Array("what do ya want for nothing?".utf8), key: Array("Jefe".utf8))
        #expect(mac == hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"))
    }

    @Test func hmacEmptyKeyAndMessage() {
        #expect(HMACSHA256.authenticationCode(for: [], key: [])
                == hex("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"))
    }

    @Test func hmacWithSymmetricKeyAndIsValid() throws {
        let key = try SymmetricKey(bytes: Array(0 ..< 32))
        let message = Array("config".utf8)
        let mac = HMACSHA256.authenticationCode(for: message, key: key)
        #expect(mac == HMACSHA256.authenticationCode(for: message, key: Array(0 ..< 32)))
        #expect(HMACSHA256.isValid(mac, for: message, key: key))
        #expect(!HMACSHA256.isValid(Array(mac.prefix(16)), for: message, key: key))  // truncated: never valid
        var bad = mac; bad[31] ^= 1
        #expect(!HMACSHA256.isValid(bad, for: message, key: key))
        #expect(!HMACSHA256.isValid(mac, for: message + [0], key: key))
    }

    @Test func hkdfRFC5869Case1() throws {
        let okm = try HKDF.deriveBytes(inputKeyMaterial: [UInt8](repeating: 0x0b, count: 22),
                                       salt: hex("000102030405060708090a0b0c"),
                                       info: hex("f0f1f2f3f4f5f6f7f8f9"), outputByteCount: 42)
        #expect(okm == hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"))
    }

    @Test func hkdfEdgeInputs() throws {
        // Empty IKM (allowed by RFC 5869) and long info; expected values from Python's hmac module.
        #expect(try HKDF.deriveBytes(inputKeyMaterial: [], salt: Array("salt".utf8), info: Array("info".utf8),
                                     outputByteCount: 32)
                == hex("7aac7b8120501c2c8e1ee50e6cde135361e99ceb9d8d406ac528b9e9175614c0"))
        #expect(try HKDF.deriveBytes(inputKeyMaterial: [UInt8](repeating: 0x6b, count: 32), salt: [],
                                     info: [UInt8](repeating: 0x78, count: 2000), outputByteCount: 32)
                == hex("fe8c2df6c7e391380a6ed2685827995d9e6c36a0602864ee154b1ede9ff30f0d"))
    }

    @Test func hkdfDeriveKeyMatchesDeriveBytes() throws {
        let ikm = try SymmetricKey.random()
        let salt = Array("s".utf8), info = Array("svcconf data key".utf8)
        let derived = try HKDF.deriveKey(from: ikm, salt: salt, info: info)
        let bytes = try ikm.withUnsafeBytes {
            try HKDF.deriveBytes(inputKeyMaterial: Array($0), salt: salt, info: info, outputByteCount: 32)
        }
        #expect(derived.equals(try SymmetricKey(bytes: bytes)))
        let viaSecret = try ikm.withUnsafeBytes { try HKDF.deriveKey(from: SecretBytes(copying: $0), salt: salt, info: info) }
        #expect(viaSecret.equals(derived))
    }

    @Test func hkdfRejectsBadLengths() {
        for n in [0, -1, HKDF.maximumOutputByteCount + 1] {
            #expect(throws: CryptoError.self) {
                try HKDF.deriveBytes(inputKeyMaterial: [1], salt: [], info: [], outputByteCount: n)
            }
        }
    }

    /// GCM spec test case 13 (256-bit zero key, zero IV, empty plaintext and AAD).
    @Test func gcmSpecCase13() throws {
        let key = try SymmetricKey(bytes: [UInt8](repeating: 0, count: 32))
        let sealed = try AESGCM.seal([], key: key, nonce: [UInt8](repeating: 0, count: 12), authenticating: [])
        #expect(sealed == hex("530f8afbc74536b9a963b4f1c4cb738b"))
    }
}

@Suite("AES-256-GCM behaviour")
struct AESGCMTests {
    let key = try! SymmetricKey.random()
    let nonce = try! SecureRandom.bytes(count: AESGCM.nonceByteCount)

    @Test(arguments: [0, 1, 15, 16, 17, 1000])
    func roundTrip(count: Int) throws {
        let plaintext = try SecureRandom.bytes(count: count)
        for aad in [[], Array("header".utf8)] as [[UInt8]] {
            let sealed = try AESGCM.seal(plaintext, key: key, nonce: nonce, authenticating: aad)
            #expect(sealed.count == count + AESGCM.tagByteCount)
            #expect(try AESGCM.open(sealed, key: key, nonce: nonce, authenticating: aad) == plaintext)
        }
    }

    @Test func everyBitFlipIsRejected() throws {
        let aad = Array("aad".utf8)
        let sealed = try AESGCM.seal(Array("secret!".utf8), key: key, nonce: nonce, authenticating: aad)
        for bit in 0 ..< sealed.count * 8 {
            var tampered = sealed
            tampered[bit / 8] ^= UInt8(1) << (bit % 8)
            #expect(throws: CryptoError.authenticationFailed) {
                try AESGCM.open(tampered, key: key, nonce: nonce, authenticating: aad)
            }
        }
    }

    @Test func wrongKeyNonceOrAADIsRejected() throws {
        let sealed = try AESGCM.seal(Array("value".utf8), key: key, nonce: nonce, authenticating: [1, 2])
        #expect(throws: CryptoError.authenticationFailed) {
            try AESGCM.open(sealed, key: try SymmetricKey.random(), nonce: nonce, authenticating: [1, 2])
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try AESGCM.open(sealed, key: key, nonce: nonce, authenticating: [1, 3])
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try AESGCM.open(sealed, key: key, nonce: nonce, authenticating: [])
        }
        var otherNonce = nonce; otherNonce[0] ^= 0x80
        #expect(throws: CryptoError.authenticationFailed) {
            try AESGCM.open(sealed, key: key, nonce: otherNonce, authenticating: [1, 2])
        }
        #expect(throws: CryptoError.authenticationFailed) {  // truncated ciphertext
            try AESGCM.open(Array(sealed.dropFirst()), key: key, nonce: nonce, authenticating: [1, 2])
        }
    }

    @Test func wrongSizesThrow() throws {
        #expect(throws: CryptoError.invalidKeySize(expected: 32, actual: 16)) { try SymmetricKey(bytes: [UInt8](repeating: 0, count: 16)) }
        #expect(throws: CryptoError.invalidKeySize(expected: 32, actual: 33)) { try SymmetricKey(bytes: [UInt8](repeating: 0, count: 33)) }
        #expect(throws: CryptoError.invalidKeySize(expected: 32, actual: 0)) {
            try SymmetricKey(copying: UnsafeRawBufferPointer(start: nil, count: 0))
        }
        for n in [0, 8, 11, 13, 16] {
            let badNonce = [UInt8](repeating: 0, count: n)
            #expect(throws: CryptoError.invalidNonceSize(expected: 12, actual: n)) {
                try AESGCM.seal([1], key: key, nonce: badNonce, authenticating: [])
            }
            #expect(throws: CryptoError.invalidNonceSize(expected: 12, actual: n)) {
                try AESGCM.open([UInt8](repeating: 0, count: 20), key: key, nonce: badNonce, authenticating: [])
            }
        }
        for n in [0, 1, 15] {
            #expect(throws: CryptoError.invalidTagSize) {
                try AESGCM.open([UInt8](repeating: 0, count: n), key: key, nonce: nonce, authenticating: [])
            }
        }
    }

    @Test func bufferAPIMatchesArrayAPIAndWorksInPlace() throws {
        let plaintext = try SecureRandom.bytes(count: 4096)
        let aad = Array("v1".utf8)
        let expected = try AESGCM.seal(plaintext, key: key, nonce: nonce, authenticating: aad)

        // Separate output buffer.
        var out = [UInt8](repeating: 0, count: AESGCM.sealedByteCount(plaintextByteCount: plaintext.count))
        let n = try plaintext.withUnsafeBytes { pt in
            try out.withUnsafeMutableBytes { try AESGCM.seal(pt, into: $0, key: key, nonce: nonce, authenticating: aad) }
        }
        #expect(n == expected.count && out == expected)

        // In place: encrypt, then decrypt, in one buffer.
        var buffer = plaintext + [UInt8](repeating: 0, count: AESGCM.tagByteCount)
        let sealedCount = try buffer.withUnsafeMutableBytes { b in
            try AESGCM.seal(UnsafeRawBufferPointer(rebasing: b[..<plaintext.count]), into: b, key: key, nonce: nonce, authenticating: aad)
        }
        #expect(sealedCount == buffer.count && buffer == expected)
        let opened = try buffer.withUnsafeMutableBytes { b in
            try AESGCM.open(UnsafeRawBufferPointer(b), into: b, key: key, nonce: nonce, authenticating: aad)
        }
        #expect(opened == plaintext.count && Array(buffer.prefix(opened)) == plaintext)
    }

    @Test func bufferAPIRejectsSmallOrOverlappingOutput() throws {
        let plaintext = [UInt8](repeating: 7, count: 64)
        var small = [UInt8](repeating: 0, count: 64 + 15)
        #expect(throws: CryptoError.self) {
            try plaintext.withUnsafeBytes { pt in
                try small.withUnsafeMutableBytes { try AESGCM.seal(pt, into: $0, key: key, nonce: nonce, authenticating: []) }
            }
        }
        var buffer = [UInt8](repeating: 0, count: 200)
        #expect(throws: CryptoError.self) {
            try buffer.withUnsafeMutableBytes { b in
                try AESGCM.seal(UnsafeRawBufferPointer(rebasing: b[0 ..< 64]), into: UnsafeMutableRawBufferPointer(rebasing: b[8...]),
                                key: key, nonce: nonce, authenticating: [])
            }
        }
    }

    @Test func failedOpenWipesCallerBuffer() throws {
        var sealed = try AESGCM.seal([UInt8](repeating: 0x41, count: 32), key: key, nonce: nonce, authenticating: [])
        sealed[sealed.count - 1] ^= 1
        var out = [UInt8](repeating: 0xEE, count: 32)
        #expect(throws: CryptoError.authenticationFailed) {
            try sealed.withUnsafeBytes { s in
                try out.withUnsafeMutableBytes { try AESGCM.open(s, into: $0, key: key, nonce: nonce, authenticating: []) }
            }
        }
        #expect(out == [UInt8](repeating: 0, count: 32))
    }
}

@Suite("Keys, randomness and helpers")
struct HelperTests {
    @Test func randomKeysDiffer() throws {
        let a = try SymmetricKey.random(), b = try SymmetricKey.random()
        #expect(!a.equals(b))
        #expect(a.equals(a))
        #expect(a.equals(try a.withUnsafeBytes { try SymmetricKey(copying: $0) }))
        #expect(try SecureRandom.bytes(count: 32) != SecureRandom.bytes(count: 32))
        #expect(try SecureRandom.bytes(count: 0).isEmpty)
        #expect(throws: CryptoError.self) { try SecureRandom.bytes(count: -1) }
    }

    @Test func keysAreRedacted() throws {
        let key = try SymmetricKey(bytes: [UInt8](repeating: 0xAB, count: 32))
        #expect(String(reflecting: key) == "SymmetricKey(redacted)")
        #expect(!String(describing: key).lowercased().contains("ab"))
        let secret = SecretBytes(bytes: [1, 2, 3])
        #expect(secret.count == 3 && String(reflecting: secret) == "SecretBytes(3 bytes, redacted)")
        #expect(try SecretBytes.random(count: 16).count == 16)
        #expect(secret.equals(SecretBytes(bytes: [1, 2, 3])) && !secret.equals(SecretBytes(bytes: [1, 2])))
    }

    @Test func constantTimeEqualsBehaviour() {
        #expect(constantTimeEquals([], []))
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(!constantTimeEquals([], [0]))
    }

    @Test func secureZeroWipes() {
        var bytes: [UInt8] = [1, 2, 3, 4]
        secureZero(&bytes)
        #expect(bytes == [0, 0, 0, 0])
    }

    @Test func errorMessagesAreLowerCase() {
        let errors: [CryptoError] = [.invalidKeySize(expected: 32, actual: 1), .invalidNonceSize(expected: 12, actual: 1),
                                     .invalidTagSize, .authenticationFailed, .invalidParameter("x"), .randomFailure, .backend("EVP_x")]
        for e in errors { #expect(e.description.first?.isLowercase == true) }
        #expect(CryptoError.authenticationFailed.description
                == "authentication failed: the data was tampered with or the key is wrong")
    }
}
