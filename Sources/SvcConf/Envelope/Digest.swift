import SvcConfCrypto

/// A SHA-256 digest written as `sha256:<64 lower-case hex>`: identifies a sealed version (the parent
/// link) or a schema.
public struct Digest: Sendable, Hashable, CustomStringConvertible {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// The SHA-256 of `data`.
    public init(of data: [UInt8]) { bytes = SHA256.hash(data) }

    /// Parses `sha256:<64 hex>`; nil otherwise.
    public init?(parsing s: String) {
        guard s.hasPrefix("sha256:"), let b = Hex.decode(String(s.dropFirst(7))), b.count == 32 else { return nil }
        bytes = b
    }

    /// `sha256:<hex>`.
    public var description: String { "sha256:" + Hex.encode(bytes) }
    /// The first 12 hex digits, for tables.
    public var short: String { String(Hex.encode(bytes).prefix(12)) }
}
