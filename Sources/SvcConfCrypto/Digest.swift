import COpenSSL

/// SHA-256 (FIPS 180-4) via OpenSSL's low-level `SHA256_Init`/`Update`/`Final` (through the C shim of
/// COpenSSL): the same assembly as the EVP path (SHA-NI / AVX2 picked at load time), without EVP's
/// per-call context allocation and provider dispatch, which dominate for short inputs.
public enum SHA256 {
    /// Digest length in bytes (32).
    public static let byteCount = 32
    /// Block length in bytes (64).
    public static let blockByteCount = 64

    /// The SHA-256 digest of `data`.
    public static func hash(_ data: [UInt8]) -> [UInt8] {
        data.withUnsafeBytes { hash($0) }
    }

    /// The SHA-256 digest of the bytes in `data` (any length).
    public static func hash(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: byteCount) { out, initialized in
            hash(data, into: UnsafeMutableRawBufferPointer(out))
            initialized = byteCount
        }
    }

    /// Writes the SHA-256 digest of `data` (any length) to `output[0 ..< 32]`, allocating nothing.
    /// `output` must hold at least ``byteCount`` bytes (checked); it may overlap `data` (the input is
    /// read completely before the digest is written).
    public static func hash(_ data: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count >= byteCount, "svcconf: SHA256.hash(into:) needs a 32-byte output buffer")
        var context = SHA256_CTX()
        _ = svcconf_sha256_init(&context)
        update(&context, data)
        _ = svcconf_sha256_final(output.baseAddress!.assumingMemoryBound(to: UInt8.self), &context)
    }

    /// Feeds `data` to `context` (`SHA256_Update` takes a `size_t` length: no chunking needed).
    @inline(__always)
    static func update(_ context: inout SHA256_CTX, _ data: UnsafeRawBufferPointer) {
        if let base = data.baseAddress, data.count > 0 { _ = svcconf_sha256_update(&context, base, data.count) }
    }

    /// SHA-256 as an EVP_MD (for OpenSSL's `HMAC()`), fetched from the default provider once (avoids
    /// OpenSSL 3's per-call implicit fetch).
    nonisolated(unsafe) static let digest: OpaquePointer? = {
        if let fetched = EVP_MD_fetch(nil, "SHA256", nil) { return fetched }
        ERR_clear_error()
        return EVP_sha256()
    }()
}

/// HMAC-SHA256 (RFC 2104) via OpenSSL's one-shot `HMAC()`.
///
/// Keys of any length are accepted (a key longer than `Int32.max` bytes is
/// first hashed, exactly as RFC 2104 prescribes for keys longer than a block).
public enum HMACSHA256 {
    /// MAC length in bytes (32).
    public static let byteCount = 32

    /// The 32-byte HMAC-SHA256 of `message` under `key` (any length, including empty).
    public static func authenticationCode(for message: [UInt8], key: [UInt8]) -> [UInt8] {
        key.withUnsafeBytes { k in message.withUnsafeBytes { m in mac(key: k, message: m) } }
    }

    /// The 32-byte HMAC-SHA256 of `message` under a `SymmetricKey`.
    public static func authenticationCode(for message: [UInt8], key: SymmetricKey) -> [UInt8] {
        key.withUnsafeBytes { k in message.withUnsafeBytes { m in mac(key: k, message: m) } }
    }

    /// Whether `mac` is the HMAC-SHA256 of `message` under `key`, compared in
    /// constant time. A `mac` that is not exactly 32 bytes is never valid
    /// (truncated MACs are not accepted).
    public static func isValid(_ mac: [UInt8], for message: [UInt8], key: SymmetricKey) -> Bool {
        guard mac.count == byteCount else { return false }
        return constantTimeEquals(authenticationCode(for: message, key: key), mac)
    }

    /// Core: HMAC over raw buffers.
    static func mac(key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> [UInt8] {
        if key.count > Int(Int32.max) {  // RFC 2104: K' = H(K) for keys longer than the block size.
            var hashedKey = SHA256.hash(key)
            defer { secureZero(&hashedKey) }
            return hashedKey.withUnsafeBytes { mac(key: $0, message: message) }
        }
        return [UInt8](unsafeUninitializedCapacity: byteCount) { out, initialized in
            var length: UInt32 = 0
            // A non-nil key pointer even for an empty key: OpenSSL reads NULL as "no key set".
            let result = HMAC(SHA256.digest, bytePointer(key), Int32(key.count),
                              bytePointer(message), message.count, out.baseAddress, &length)
            // Only an allocation or provider-loading failure can get here; there is no sensible recovery.
            precondition(result != nil && length == UInt32(byteCount), "svcconf: HMAC(SHA256) failed")
            initialized = byteCount
        }
    }
}

extension HMACSHA256 {
    /// An HMAC-SHA256 key prepared for many MACs under it: the SHA-256 states after the key's inner
    /// and outer padded blocks (RFC 2104: `HMAC(K, m) = H((K' ^ opad) || H((K' ^ ipad) || m))`, `K'`
    /// the key zero-padded to 64 bytes, or its SHA-256 when longer). A MAC then copies the two states
    /// and hashes only `m` and the inner digest: two fewer compressions than a plain HMAC and no
    /// allocation. Checked against OpenSSL's `HMAC()` on the Wycheproof vectors.
    ///
    /// The states are key-equivalent secrets: they live in their own storage, wiped with
    /// `OPENSSL_cleanse` when the key is released; the per-MAC copies are overwritten by hashing
    /// before the call returns. Immutable after `init`, so one key may be used from any number of
    /// threads at once.
    public final class PreparedKey: @unchecked Sendable, CustomDebugStringConvertible, CustomReflectable {
        /// `[0]`: after `K' ^ ipad`; `[1]`: after `K' ^ opad`.
        private let states: UnsafeMutablePointer<SHA256_CTX>

        private init(states: UnsafeMutablePointer<SHA256_CTX>) { self.states = states }

        /// Prepares `key` (any length, including empty).
        public convenience init(key: UnsafeRawBufferPointer) { self.init(states: Self.prepare(key)) }

        /// Prepares `key` (any length, including empty).
        public convenience init(key: [UInt8]) { self.init(states: key.withUnsafeBytes { Self.prepare($0) }) }

        /// Prepares a `SymmetricKey`.
        public convenience init(key: SymmetricKey) { self.init(states: key.withUnsafeBytes { Self.prepare($0) }) }

        /// The two states for `key`, in fresh storage; the padded key block is wiped from scratch memory.
        private static func prepare(_ key: UnsafeRawBufferPointer) -> UnsafeMutablePointer<SHA256_CTX> {
            let states = UnsafeMutablePointer<SHA256_CTX>.allocate(capacity: 2)
            states.initialize(repeating: SHA256_CTX(), count: 2)
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: SHA256.blockByteCount + SHA256.byteCount) { scratch in
                let raw = UnsafeMutableRawBufferPointer(scratch)
                raw.initializeMemory(as: UInt8.self, repeating: 0)
                defer { cleanse(raw) }
                let block = UnsafeMutableRawBufferPointer(rebasing: raw[0 ..< SHA256.blockByteCount])
                if key.count > SHA256.blockByteCount {  // K' = H(K)
                    let hashed = UnsafeMutableRawBufferPointer(rebasing: raw[SHA256.blockByteCount...])
                    SHA256.hash(key, into: hashed)
                    block.copyMemory(from: UnsafeRawBufferPointer(hashed))
                } else if key.count > 0 {
                    block.copyMemory(from: key)
                }
                for i in 0 ..< SHA256.blockByteCount { block[i] ^= 0x36 }
                _ = svcconf_sha256_init(states)
                SHA256.update(&states[0], UnsafeRawBufferPointer(block))
                for i in 0 ..< SHA256.blockByteCount { block[i] ^= 0x36 ^ 0x5C }
                _ = svcconf_sha256_init(states + 1)
                SHA256.update(&states[1], UnsafeRawBufferPointer(block))
            }
            return states
        }

        deinit {
            cleanse(UnsafeMutableRawBufferPointer(start: states, count: 2 * MemoryLayout<SHA256_CTX>.stride))
            states.deinitialize(count: 2)
            states.deallocate()
        }

        /// Writes the 32-byte HMAC-SHA256 of `message` (any length) to `output[0 ..< 32]`, allocating
        /// nothing. `output` must hold at least ``HMACSHA256/byteCount`` bytes (checked); it may overlap
        /// `message`.
        public func authenticationCode(for message: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
            precondition(output.count >= byteCount, "svcconf: HMACSHA256.PreparedKey needs a 32-byte output buffer")
            let out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var context = states[0]
            SHA256.update(&context, message)
            _ = svcconf_sha256_final(out, &context)  // the inner digest, for now
            context = states[1]
            _ = svcconf_sha256_update(&context, out, byteCount)
            _ = svcconf_sha256_final(out, &context)
        }

        /// The 32-byte HMAC-SHA256 of `message`.
        public func authenticationCode(for message: [UInt8]) -> [UInt8] {
            [UInt8](unsafeUninitializedCapacity: byteCount) { out, initialized in
                message.withUnsafeBytes { authenticationCode(for: $0, into: UnsafeMutableRawBufferPointer(out)) }
                initialized = byteCount
            }
        }

        /// Always `"HMACSHA256.PreparedKey(redacted)"`.
        public var debugDescription: String { "HMACSHA256.PreparedKey(redacted)" }

        /// A childless mirror, so `dump(_:)` and debuggers show nothing of the key.
        public var customMirror: Mirror { Mirror(self, children: [:]) }
    }
}

/// HKDF-SHA256 (RFC 5869, extract-then-expand) via OpenSSL 3's `EVP_KDF` API.
public enum HKDF {
    /// The HKDF implementation, fetched from the default provider once: the legacy `EVP_PKEY_HKDF`
    /// path re-fetches a key manager on every call, which dominated container start-up.
    nonisolated(unsafe) static let kdf: OpaquePointer? = EVP_KDF_fetch(nil, "HKDF", nil)

    /// A parameter name with static storage: an `OSSL_PARAM` keeps the pointer, so a temporary
    /// C string from a Swift literal would dangle.
    private static func paramName(_ s: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    /// The largest output RFC 5869 allows for SHA-256: 255 × 32 = 8160 bytes.
    public static let maximumOutputByteCount = 255 * SHA256.byteCount

    /// Derives `outputByteCount` bytes from `inputKeyMaterial`, `salt` and `info`.
    ///
    /// An empty `salt` means "no salt" (a block of zeros, per RFC 5869 §2.2);
    /// `info` may be empty. Throws `.invalidParameter` unless
    /// `1 ... maximumOutputByteCount` contains `outputByteCount`, or if OpenSSL
    /// rejects the inputs (`.backend`).
    public static func deriveBytes(inputKeyMaterial: [UInt8], salt: [UInt8], info: [UInt8],
                                   outputByteCount: Int) throws -> [UInt8] {
        try validate(outputByteCount)
        return try [UInt8](unsafeUninitializedCapacity: outputByteCount) { out, initialized in
            try inputKeyMaterial.withUnsafeBytes { ikm in
                try derive(ikm: ikm, salt: salt, info: info, into: UnsafeMutableRawBufferPointer(out))
            }
            initialized = outputByteCount
        }
    }

    /// Derives a new 32-byte `SymmetricKey` from `key` (as input key material),
    /// `salt` and `info`. The derived bytes never pass through an unprotected array.
    public static func deriveKey(from key: SymmetricKey, salt: [UInt8], info: [UInt8]) throws -> SymmetricKey {
        try key.withUnsafeBytes { try deriveKey(ikm: $0, salt: salt, info: info) }
    }

    /// Derives a new 32-byte `SymmetricKey` from arbitrary-length secret input key material.
    public static func deriveKey(from secret: SecretBytes, salt: [UInt8], info: [UInt8]) throws -> SymmetricKey {
        try secret.withUnsafeBytes { try deriveKey(ikm: $0, salt: salt, info: info) }
    }

    // MARK: - Internals

    private static func deriveKey(ikm: UnsafeRawBufferPointer, salt: [UInt8], info: [UInt8]) throws -> SymmetricKey {
        let derived = SymmetricKey(zeroed: ())
        try derived.withUnsafeMutableStorage { try derive(ikm: ikm, salt: salt, info: info, into: $0) }
        return derived
    }

    private static func validate(_ outputByteCount: Int) throws {
        guard outputByteCount > 0, outputByteCount <= maximumOutputByteCount else {
            throw CryptoError.invalidParameter(
                "hkdf output length must be 1...\(maximumOutputByteCount) bytes, got \(outputByteCount)")
        }
    }

    /// Fills `output` (1...8160 bytes) with HKDF-SHA256 output. On failure `output` is wiped.
    private static func derive(ikm: UnsafeRawBufferPointer, salt: [UInt8], info: [UInt8],
                               into output: UnsafeMutableRawBufferPointer) throws {
        try validate(output.count)
        for (name, count) in [("input key material", ikm.count), ("salt", salt.count), ("info", info.count)]
        where count > Int(Int32.max) {
            throw CryptoError.invalidParameter("hkdf \(name) is too long (\(count) bytes)")
        }
        guard let kdf = HKDF.kdf, let ctx = EVP_KDF_CTX_new(kdf) else { throw backendFailure("EVP_KDF_CTX_new(HKDF)") }
        defer { EVP_KDF_CTX_free(ctx) }
        do {
            // OSSL_PARAMs point at the caller's buffers for the duration of the call. An empty salt
            // or info is left out: OpenSSL's default (HashLen zeros / nothing) is RFC 5869's meaning.
            try salt.withUnsafeBytes { saltBytes in
                try info.withUnsafeBytes { infoBytes in
                    try "SHA256".withCString { digestName in
                        var params: [OSSL_PARAM] = [
                            OSSL_PARAM_construct_utf8_string(paramName("digest"), UnsafeMutablePointer(mutating: digestName), 0),
                            OSSL_PARAM_construct_octet_string(paramName("key"), UnsafeMutableRawPointer(mutating: ikm.baseAddress ?? saltBytes.baseAddress), ikm.count),
                        ]
                        if !salt.isEmpty {
                            params.append(OSSL_PARAM_construct_octet_string(paramName("salt"), UnsafeMutableRawPointer(mutating: saltBytes.baseAddress), salt.count))
                        }
                        if !info.isEmpty {
                            params.append(OSSL_PARAM_construct_octet_string(paramName("info"), UnsafeMutableRawPointer(mutating: infoBytes.baseAddress), info.count))
                        }
                        params.append(OSSL_PARAM_construct_end())
                        try check(EVP_KDF_derive(ctx, output.baseAddress!.assumingMemoryBound(to: UInt8.self), output.count, &params),
                                  "EVP_KDF_derive(HKDF)")
                    }
                }
            }
        } catch {
            cleanse(output)
            throw error
        }
    }
}
