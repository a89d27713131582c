/// One recipient's wrapping of a version's data key, as stored in the sealed header.
///
/// The shape is generic (a type, string arguments, an opaque body) so that a new kind of recipient
/// never changes the format: only its `type` and the meaning of its arguments are new.
public struct Stanza: Sendable, Equatable {
    /// The recipient kind: `local`, `kms`, ... (`^[a-z][a-z0-9-]{0,31}$`).
    public var type: String
    /// Kind-specific public arguments (a key id, a KMS key ARN, a nonce).
    public var args: [String]
    /// The wrapped data key.
    public var body: [UInt8]

    /// Memberwise initializer.
    public init(type: String, args: [String], body: [UInt8]) {
        self.type = type
        self.args = args
        self.body = body
    }
}
