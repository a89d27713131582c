/// The clear-text header of a sealed version. All of it is authenticated: it is the AES-GCM
/// additional data and is covered by the header MAC (see docs/sealed-format.md).
public struct SealedHeader: Sendable, Equatable {
    /// Service name.
    public var service: String
    /// Env name.
    public var env: String
    /// Variant name, if any.
    public var variant: String?
    /// Version number, 1-based.
    public var version: Int64
    /// Digest of the parent version's sealed bytes; nil for version 1.
    public var parent: Digest?
    /// Digest of the schema the config was validated against; nil when the service has none.
    public var schema: Digest?
    /// Who wrote it.
    public var author: String
    /// When it was written.
    public var time: Timestamp
    /// Why it was written.
    public var message: String
    /// The 12-byte AES-GCM nonce of the payload.
    public var nonce: [UInt8]
    /// One stanza per recipient; any one opens the version.
    public var recipients: [Stanza]

    /// The address this header claims.
    public var address: ConfigAddress {
        get throws(SvcConfError) { try ConfigAddress(service: service, env: env, variant: variant) }
    }

    /// Memberwise initializer.
    public init(service: String, env: String, variant: String?, version: Int64, parent: Digest?, schema: Digest?,
                author: String, time: Timestamp, message: String, nonce: [UInt8], recipients: [Stanza]) {
        self.service = service
        self.env = env
        self.variant = variant
        self.version = version
        self.parent = parent
        self.schema = schema
        self.author = author
        self.time = time
        self.message = message
        self.nonce = nonce
        self.recipients = recipients
    }
}
