import COpenSSL

/// A 256-bit symmetric key (for AES-256-GCM, HMAC-SHA256 or HKDF).
///
/// The key bytes live in a private heap buffer that is zeroed with
/// `OPENSSL_cleanse` when the key is released. The type is deliberately not
/// `Codable` and not `CustomStringConvertible`; its debug description and
/// mirror are redacted. It is immutable, hence safe to share across threads.
public final class SymmetricKey: @unchecked Sendable, CustomDebugStringConvertible, CustomReflectable {
    /// Key length in bytes (32).
    public static let byteCount = 32

    private let storage: UnsafeMutableRawBufferPointer

    /// Allocates zero-filled storage; internal users fill it through `storage`.
    init(zeroed: ()) {
        storage = .allocate(byteCount: Self.byteCount, alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
    }

    /// Copies `bytes` into a new key. Throws `.invalidKeySize` unless there are exactly 32 bytes.
    public convenience init(bytes: [UInt8]) throws {
        guard bytes.count == Self.byteCount else {
            throw CryptoError.invalidKeySize(expected: Self.byteCount, actual: bytes.count)
        }
        self.init(zeroed: ())
        bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
    }

    /// Copies the bytes of `buffer` into a new key. Throws `.invalidKeySize` unless there are exactly 32 bytes.
    public convenience init(copying buffer: UnsafeRawBufferPointer) throws {
        guard buffer.count == Self.byteCount else {
            throw CryptoError.invalidKeySize(expected: Self.byteCount, actual: buffer.count)
        }
        self.init(zeroed: ())
        storage.copyMemory(from: buffer)
    }

    /// A fresh key from the CSPRNG (`RAND_bytes`). Throws `.randomFailure` if the generator fails.
    public static func random() throws -> SymmetricKey {
        let key = SymmetricKey(zeroed: ())
        try fillRandom(key.storage)
        return key
    }

    deinit {
        cleanse(storage)
        storage.deallocate()
    }

    /// Calls `body` with the 32 key bytes. The pointer must not escape `body`.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(storage))
    }

    /// Internal mutable access, used only while a key is being created.
    func withUnsafeMutableStorage<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(storage)
    }

    /// Constant-time comparison of two keys (`CRYPTO_memcmp`).
    public func equals(_ other: SymmetricKey) -> Bool {
        constantTimeEquals(UnsafeRawBufferPointer(storage), UnsafeRawBufferPointer(other.storage))
    }

    /// Always `"SymmetricKey(redacted)"`: key bytes never reach logs.
    public var debugDescription: String { "SymmetricKey(redacted)" }

    /// A childless mirror, so `dump(_:)` and debuggers show no key bytes.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// Secret bytes of arbitrary length (HKDF input material, a data key being
/// unwrapped, a passphrase-derived value, ...). Like `SymmetricKey`, the
/// storage is zeroed with `OPENSSL_cleanse` when released, the value is
/// immutable, and its debug description is redacted.
public final class SecretBytes: @unchecked Sendable, CustomDebugStringConvertible, CustomReflectable {
    private let storage: UnsafeMutableRawBufferPointer

    private init(zeroedCount count: Int) {
        storage = .allocate(byteCount: count, alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
    }

    /// Copies `bytes` into new secret storage. (Wipe the source with `secureZero` if it was secret.)
    public convenience init(bytes: [UInt8]) {
        self.init(zeroedCount: bytes.count)
        bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
    }

    /// Copies the bytes of `buffer` into new secret storage.
    public convenience init(copying buffer: UnsafeRawBufferPointer) {
        self.init(zeroedCount: buffer.count)
        storage.copyMemory(from: buffer)
    }

    /// `count` fresh random bytes from the CSPRNG. Throws `.invalidParameter`
    /// for a negative count and `.randomFailure` if the generator fails.
    public static func random(count: Int) throws -> SecretBytes {
        guard count >= 0 else { throw CryptoError.invalidParameter("secret byte count must not be negative") }
        let secret = SecretBytes(zeroedCount: count)
        try fillRandom(secret.storage)
        return secret
    }

    deinit {
        cleanse(storage)
        storage.deallocate()
    }

    /// The number of secret bytes.
    public var count: Int { storage.count }

    /// Calls `body` with the secret bytes. The pointer must not escape `body`.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(storage))
    }

    /// Constant-time comparison (`CRYPTO_memcmp`); false if the lengths differ.
    public func equals(_ other: SecretBytes) -> Bool {
        constantTimeEquals(UnsafeRawBufferPointer(storage), UnsafeRawBufferPointer(other.storage))
    }

    /// Always `"SecretBytes(<count> bytes, redacted)"`.
    public var debugDescription: String { "SecretBytes(\(count) bytes, redacted)" }

    /// A childless mirror, so `dump(_:)` and debuggers show no secret bytes.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
