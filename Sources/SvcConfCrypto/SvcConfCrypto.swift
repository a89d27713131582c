//===----------------------------------------------------------------------===//
//
// SvcConfCrypto — the cryptographic primitives of svcconf.
//
// Purpose
//   A small, Foundation-free wrapper over the system libcrypto (OpenSSL 3) that
//   gives the rest of svcconf exactly the primitives an encrypted config file
//   needs: AES-256-GCM (`AESGCM`), HKDF-SHA256 (`HKDF`), HMAC-SHA256
//   (`HMACSHA256`), SHA-256 (`SHA256`), a CSPRNG (`SecureRandom`), secret
//   containers that wipe themselves (`SymmetricKey`, `SecretBytes`) and
//   constant-time helpers (`constantTimeEquals`, `secureZero`).
//
// Promise
//   * Nothing public mentions an OpenSSL/C type; callers work with `[UInt8]`
//     and (for large payloads) raw buffer pointers only.
//   * Every failure is a `CryptoError` with a lower-case message that never
//     contains key material; the OpenSSL error queue is cleared after every
//     failed call, so one failure never leaks into a later operation.
//   * Key storage is zeroed with `OPENSSL_cleanse` when released; decryption
//     output is wiped before `.authenticationFailed` is thrown; secret
//     comparisons are constant time (`CRYPTO_memcmp`).
//   * Correctness is pinned by the Wycheproof AES-GCM, HKDF and HMAC vectors
//     (see Tests/SvcConfCryptoTests).
//   * Inputs longer than `Int32.max` bytes are fed to OpenSSL in chunks, so no
//     length is ever silently truncated to OpenSSL's `int` length parameters.
//
//===----------------------------------------------------------------------===//

import COpenSSL

/// The single error type of SvcConfCrypto. Messages are lower-case and never
/// contain key material.
public enum CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A key had the wrong length (in bytes).
    case invalidKeySize(expected: Int, actual: Int)
    /// A nonce had the wrong length (in bytes).
    case invalidNonceSize(expected: Int, actual: Int)
    /// Sealed input was shorter than the 16-byte GCM tag.
    case invalidTagSize
    /// The GCM tag did not verify: the data was modified or the key/nonce/AAD is wrong.
    case authenticationFailed
    /// An argument was out of range (for example an HKDF output length or a too-small output buffer).
    case invalidParameter(String)
    /// The random number generator failed to produce bytes.
    case randomFailure
    /// An OpenSSL call failed unexpectedly; the message names the function.
    case backend(String)

    /// A lower-case, human-readable message that never contains key material.
    public var description: String {
        switch self {
        case let .invalidKeySize(expected, actual):
            return "invalid key size: expected \(expected) bytes, got \(actual)"
        case let .invalidNonceSize(expected, actual):
            return "invalid nonce size: expected \(expected) bytes, got \(actual)"
        case .invalidTagSize:
            return "invalid tag size: sealed data is shorter than the \(AESGCM.tagByteCount)-byte authentication tag"
        case .authenticationFailed:
            return "authentication failed: the data was tampered with or the key is wrong"
        case let .invalidParameter(message):
            return "invalid parameter: \(message)"
        case .randomFailure:
            return "random number generation failed"
        case let .backend(message):
            return "crypto backend error: \(message)"
        }
    }
}

/// Compares two byte arrays in time that depends only on their length
/// (`CRYPTO_memcmp`). Returns `false` if the lengths differ.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    return a.withUnsafeBytes { pa in
        b.withUnsafeBytes { pb in constantTimeEquals(pa, pb) }
    }
}

/// Overwrites the array's storage with zeros using `OPENSSL_cleanse`, which the
/// compiler cannot optimise away. The count is unchanged. Note: if the array
/// shares storage with another copy, Swift's copy-on-write gives this variable
/// a private copy first and only that copy is wiped — wipe the last owner.
public func secureZero(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { cleanse($0) }
}

/// Cryptographically secure random bytes from OpenSSL's DRBG (`RAND_bytes`).
public enum SecureRandom {
    /// Returns `count` random bytes. Throws `.invalidParameter` for a negative
    /// count and `.randomFailure` if the generator fails.
    public static func bytes(count: Int) throws -> [UInt8] {
        guard count >= 0 else { throw CryptoError.invalidParameter("random byte count must not be negative") }
        return try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            try fillRandom(UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }
}

// MARK: - Internal helpers shared by the module

/// Largest chunk handed to an OpenSSL call that takes an `int` length.
let maxChunk = 1 << 30

/// Clears the OpenSSL error queue and returns a `.backend` error naming `function`.
func backendFailure(_ function: String) -> CryptoError {
    ERR_clear_error()
    return .backend("\(function) failed")
}

/// Throws `backendFailure(function)` unless `rc == 1` (OpenSSL's success value).
@inline(__always)
func check(_ rc: Int32, _ function: String) throws {
    if rc != 1 { throw backendFailure(function) }
}

/// Constant-time equality of two raw buffers (false if the lengths differ).
func constantTimeEquals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    guard a.count > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return true }
    return CRYPTO_memcmp(pa, pb, a.count) == 0
}

/// Wipes a buffer with `OPENSSL_cleanse` (no-op when empty).
func cleanse(_ buffer: UnsafeMutableRawBufferPointer) {
    if let base = buffer.baseAddress, buffer.count > 0 { OPENSSL_cleanse(base, buffer.count) }
}

/// Fills `buffer` from `RAND_bytes`, in `Int32`-sized chunks.
func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) throws {
    guard let base = buffer.baseAddress else { return }
    var offset = 0
    while offset < buffer.count {
        let n = min(maxChunk, buffer.count - offset)
        guard RAND_bytes(base.advanced(by: offset).assumingMemoryBound(to: UInt8.self), Int32(n)) == 1 else {
            ERR_clear_error()
            cleanse(buffer)
            throw CryptoError.randomFailure
        }
        offset += n
    }
}

/// A non-nil `const unsigned char *` for `buffer`, even when it is empty: some
/// OpenSSL entry points treat a NULL pointer as "not set" rather than "empty".
@inline(__always)
func bytePointer(_ buffer: UnsafeRawBufferPointer) -> UnsafePointer<UInt8> {
    if let base = buffer.baseAddress { return base.assumingMemoryBound(to: UInt8.self) }
    return UnsafePointer(emptyByte)
}

/// Backing store for `bytePointer` on empty input; never read or written through.
nonisolated(unsafe) private let emptyByte: UnsafeMutablePointer<UInt8> = {
    let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    p.initialize(to: 0)
    return p
}()
