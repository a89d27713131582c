import COpenSSL

/// AES-256-GCM authenticated encryption with a 96-bit nonce and a 128-bit tag.
///
/// Wire format of a sealed message: `ciphertext || tag` (the tag is appended,
/// so `sealed.count == plaintext.count + tagByteCount`). The nonce is not part
/// of the output; callers store it themselves and must never reuse a
/// (key, nonce) pair.
///
/// Two API shapes:
/// * `seal(_:key:nonce:authenticating:)` / `open(_:key:nonce:authenticating:)`
///   take and return `[UInt8]` — the normal choice for config files.
/// * `seal(_:into:key:nonce:authenticating:)` / `open(_:into:key:nonce:authenticating:)`
///   read a raw buffer and write into a caller-provided buffer, with no
///   allocation of payload-sized memory. The output may be the *same* memory
///   as the input (in-place encryption/decryption: same start address); any
///   other overlap is rejected with `.invalidParameter`.
///
/// Payloads and AAD of any length are accepted: they are passed to OpenSSL in
/// chunks of at most 2^30 bytes, so OpenSSL's `int` lengths never truncate.
public enum AESGCM {
    /// Nonce (IV) length in bytes: 12 (96 bits, the GCM default).
    public static let nonceByteCount = 12
    /// Authentication tag length in bytes: 16 (128 bits).
    public static let tagByteCount = 16

    /// Length of the sealed output (`ciphertext || tag`) for a plaintext of `plaintextByteCount` bytes.
    public static func sealedByteCount(plaintextByteCount: Int) -> Int {
        plaintextByteCount + tagByteCount
    }

    /// Encrypts and authenticates `plaintext`, also authenticating (not
    /// encrypting) `aad`. Returns `ciphertext || tag` (tag appended, 16 bytes).
    ///
    /// Throws `.invalidNonceSize` unless `nonce` is 12 bytes, `.backend` if OpenSSL fails.
    public static func seal(_ plaintext: [UInt8], key: SymmetricKey, nonce: [UInt8],
                            authenticating aad: [UInt8]) throws -> [UInt8] {
        let total = sealedByteCount(plaintextByteCount: plaintext.count)
        return try [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
            initialized = try plaintext.withUnsafeBytes { pt in
                try seal(pt, into: UnsafeMutableRawBufferPointer(out), key: key, nonce: nonce, authenticating: aad)
            }
        }
    }

    /// Verifies and decrypts `sealed` (`ciphertext || tag`) and returns the plaintext.
    ///
    /// Throws `.authenticationFailed` on any tag mismatch (modified ciphertext,
    /// tag or AAD, wrong key or nonce); no unauthenticated plaintext is ever
    /// returned and the partially decrypted output is wiped. Throws
    /// `.invalidTagSize` if `sealed` is shorter than 16 bytes and
    /// `.invalidNonceSize` unless `nonce` is 12 bytes.
    public static func open(_ sealed: [UInt8], key: SymmetricKey, nonce: [UInt8],
                            authenticating aad: [UInt8]) throws -> [UInt8] {
        guard sealed.count >= tagByteCount else { throw CryptoError.invalidTagSize }
        return try [UInt8](unsafeUninitializedCapacity: sealed.count - tagByteCount) { out, initialized in
            initialized = try sealed.withUnsafeBytes { input in
                try open(input, into: UnsafeMutableRawBufferPointer(out), key: key, nonce: nonce, authenticating: aad)
            }
        }
    }

    /// Encrypts `plaintext` into `output` without allocating: writes the
    /// ciphertext to `output[0 ..< plaintext.count]` and the 16-byte tag right
    /// after it. Returns the number of bytes written (`plaintext.count + 16`).
    ///
    /// `output` must hold at least `sealedByteCount(plaintextByteCount:)`
    /// bytes (else `.invalidParameter`). It may start at the same address as
    /// `plaintext` (in-place; then the buffer must have 16 spare bytes after the
    /// plaintext for the tag) but must not otherwise overlap it.
    @discardableResult
    public static func seal(_ plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                            key: SymmetricKey, nonce: [UInt8], authenticating aad: [UInt8]) throws -> Int {
        let total = sealedByteCount(plaintextByteCount: plaintext.count)
        guard output.count >= total else {
            throw CryptoError.invalidParameter("output buffer too small: need \(total) bytes, have \(output.count)")
        }
        try checkAliasing(input: plaintext, output: output)
        let ctx = try makeContext(key: key, nonce: nonce, encrypt: true)
        defer { EVP_CIPHER_CTX_free(ctx) }

        _ = try aad.withUnsafeBytes { try update(ctx, input: $0, output: nil) }
        let out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        var written = try update(ctx, input: plaintext, output: out)
        written += try final(ctx, output: out.map { $0 + written })
        guard written == plaintext.count else { throw backendFailure("EVP_EncryptFinal_ex (unexpected length)") }
        // ctrl takes a mutable `void *`; the output buffer is mutable, so the tag goes straight there.
        try check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(tagByteCount), output.baseAddress! + written),
                  "EVP_CIPHER_CTX_ctrl(GCM_GET_TAG)")
        return total
    }

    /// Verifies and decrypts `sealed` (`ciphertext || tag`) into `output`
    /// without allocating. Returns the plaintext length (`sealed.count - 16`).
    ///
    /// `output` must hold at least `sealed.count - 16` bytes (else
    /// `.invalidParameter`); it may start at the same address as `sealed`
    /// (in-place) but must not otherwise overlap it. On `.authenticationFailed`
    /// the written part of `output` is wiped with `OPENSSL_cleanse`, so no
    /// unauthenticated plaintext remains. Other errors are as for `open(_:key:nonce:authenticating:)`.
    @discardableResult
    public static func open(_ sealed: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                            key: SymmetricKey, nonce: [UInt8], authenticating aad: [UInt8]) throws -> Int {
        guard sealed.count >= tagByteCount, let sealedBase = sealed.baseAddress else { throw CryptoError.invalidTagSize }
        let ciphertextCount = sealed.count - tagByteCount
        guard output.count >= ciphertextCount else {
            throw CryptoError.invalidParameter("output buffer too small: need \(ciphertextCount) bytes, have \(output.count)")
        }
        try checkAliasing(input: sealed, output: output)
        let ctx = try makeContext(key: key, nonce: nonce, encrypt: false)
        defer { EVP_CIPHER_CTX_free(ctx) }

        // ctrl wants a mutable `void *` and `sealed` is read-only: copy the tag to the stack.
        var tag: (UInt64, UInt64) = (0, 0)
        try withUnsafeMutableBytes(of: &tag) { tagBytes in
            tagBytes.copyMemory(from: UnsafeRawBufferPointer(start: sealedBase + ciphertextCount, count: tagByteCount))
            try check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(tagByteCount), tagBytes.baseAddress),
                      "EVP_CIPHER_CTX_ctrl(GCM_SET_TAG)")
        }

        let out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        var written = 0
        do {
            _ = try aad.withUnsafeBytes { try update(ctx, input: $0, output: nil) }
            written = try update(ctx, input: UnsafeRawBufferPointer(start: sealedBase, count: ciphertextCount), output: out)
            var finalLength: Int32 = 0
            var scratch: UInt64 = 0  // Final writes nothing for GCM; give it a valid pointer anyway.
            let rc = withUnsafeMutableBytes(of: &scratch) {
                EVP_DecryptFinal_ex(ctx, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), &finalLength)
            }
            guard rc == 1 else {
                ERR_clear_error()
                throw CryptoError.authenticationFailed
            }
            guard written == ciphertextCount, finalLength == 0 else {
                throw backendFailure("EVP_DecryptFinal_ex (unexpected length)")
            }
        } catch {
            cleanse(UnsafeMutableRawBufferPointer(rebasing: output[..<min(output.count, ciphertextCount)]))
            throw error
        }
        return ciphertextCount
    }

    // MARK: - Internals

    /// The AES-256-GCM implementation, fetched from the default provider once.
    /// An explicit fetch avoids OpenSSL 3's per-call implicit fetch (a lock and
    /// a property-cache lookup); falls back to the legacy getter if it fails.
    nonisolated(unsafe) private static let cipher: OpaquePointer? = {
        if let fetched = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil) { return fetched }
        ERR_clear_error()
        return EVP_aes_256_gcm()
    }()

    /// A cipher context initialised with `key` and `nonce` (GCM's default IV
    /// length is 12 bytes, so no `SET_IVLEN` call is needed). Caller frees it.
    private static func makeContext(key: SymmetricKey, nonce: [UInt8], encrypt: Bool) throws -> OpaquePointer {
        guard nonce.count == nonceByteCount else {
            throw CryptoError.invalidNonceSize(expected: nonceByteCount, actual: nonce.count)
        }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw backendFailure("EVP_CIPHER_CTX_new") }
        let rc = key.withUnsafeBytes { k in
            nonce.withUnsafeBytes { iv in
                EVP_CipherInit_ex(ctx, cipher, nil, bytePointer(k), bytePointer(iv), encrypt ? 1 : 0)
            }
        }
        guard rc == 1 else {
            EVP_CIPHER_CTX_free(ctx)
            throw backendFailure("EVP_CipherInit_ex")
        }
        return ctx
    }

    /// Feeds `input` through `EVP_CipherUpdate` in `Int32`-sized chunks. With
    /// `output == nil` the input is AAD. Returns the number of bytes written.
    @discardableResult
    private static func update(_ ctx: OpaquePointer, input: UnsafeRawBufferPointer,
                               output: UnsafeMutablePointer<UInt8>?) throws -> Int {
        guard let base = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        var offset = 0, written = 0
        while offset < input.count {
            let n = min(maxChunk, input.count - offset)
            var outLength: Int32 = 0
            try check(EVP_CipherUpdate(ctx, output.map { $0 + written }, &outLength, base + offset, Int32(n)),
                      "EVP_CipherUpdate")
            offset += n
            written += Int(outLength)
        }
        return written
    }

    /// `EVP_EncryptFinal_ex`; GCM writes no bytes here but gets a valid pointer regardless.
    private static func final(_ ctx: OpaquePointer, output: UnsafeMutablePointer<UInt8>?) throws -> Int {
        var outLength: Int32 = 0
        var scratch: UInt64 = 0
        let rc = withUnsafeMutableBytes(of: &scratch) {
            EVP_EncryptFinal_ex(ctx, output ?? $0.baseAddress!.assumingMemoryBound(to: UInt8.self), &outLength)
        }
        try check(rc, "EVP_EncryptFinal_ex")
        return Int(outLength)
    }

    /// Rejects partial overlap of input and output (identical start addresses are fine).
    private static func checkAliasing(input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) throws {
        guard let i = input.baseAddress, let o = output.baseAddress, i != UnsafeRawPointer(o),
              input.count > 0, output.count > 0 else { return }
        let inRange = UInt(bitPattern: i) ..< UInt(bitPattern: i) + UInt(input.count)
        let outRange = UInt(bitPattern: o) ..< UInt(bitPattern: o) + UInt(output.count)
        if inRange.overlaps(outRange) {
            throw CryptoError.invalidParameter("output buffer partially overlaps the input")
        }
    }
}
