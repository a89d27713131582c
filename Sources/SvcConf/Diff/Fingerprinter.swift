import SvcConfCrypto

/// Short keyed fingerprints of secret values: `fp:` + 8 hex digits of HMAC-SHA256 under the service's
/// fingerprint key (which lives only inside sealed payloads). Equal values give equal fingerprints,
/// so a reviewer sees "same" or "changed"; without the key nobody can test a guess against one,
/// unlike an unkeyed hash.
public struct Fingerprinter: Sendable {
    private let key: [UInt8]

    init(key: [UInt8]) { self.key = key }

    /// The fingerprint of a value (its canonical JSON).
    public func fingerprint(_ value: ConfigValue) -> String {
        tag(Array("svcconf fp value v1\0".utf8) + JSON.canonical(value))
    }

    /// The fingerprint of a file's contents.
    public func fingerprint(file bytes: [UInt8]) -> String {
        tag(Array("svcconf fp file v1\0".utf8) + bytes)
    }

    private func tag(_ msg: [UInt8]) -> String {
        "fp:" + Hex.encode(Array(HMACSHA256.authenticationCode(for: msg, key: key).prefix(4)))
    }
}
