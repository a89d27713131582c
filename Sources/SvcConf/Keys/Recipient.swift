import SvcConfCrypto

/// What every stanza is bound to: a version's data key unwraps only for the service and env it was
/// sealed for (the KMS encryption context; the AES-GCM additional data of a local stanza).
public struct WrapContext: Sendable, Equatable {
    /// Service name.
    public let service: String
    /// Env name.
    public let env: String
    /// Memberwise initializer.
    public init(service: String, env: String) {
        self.service = service
        self.env = env
    }
}

/// Something a version can be sealed to: wraps a data key into a stanza. One method, as in age.
public protocol Recipient: Sendable {
    /// How users name it: `local:PATH`, `kms:alias/x`.
    var label: String { get }
    /// Wraps `dataKey` for `context`. Throws ``SvcConfError``.
    func wrap(_ dataKey: SymmetricKey, for context: WrapContext) async throws -> Stanza
}

/// Something that can open a version: unwraps a stanza back into the data key.
public protocol Identity: Sendable {
    /// How users name it: `local:PATH`, `kms:...`.
    var label: String { get }
    /// Returns nil when `stanza` is not addressed to this identity; the data key when it is and
    /// unwraps; throws ``SvcConfError`` `.tampered` when it is addressed here but does not unwrap.
    func unwrap(_ stanza: Stanza, for context: WrapContext) async throws -> SymmetricKey?
}

/// A recipient that can also create the data key (AWS KMS GenerateDataKey): one call makes the key and
/// its wrapping, and the key comes from the key service's generator.
public protocol DataKeyGenerator: Recipient {
    /// A fresh 256-bit data key and the stanza wrapping it for `context`.
    func generateDataKey(for context: WrapContext) async throws -> (SymmetricKey, Stanza)
}
