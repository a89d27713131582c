/// Public facts about one version, read from its header without any key.
public struct VersionInfo: Sendable, Equatable {
    /// Which config.
    public var address: ConfigAddress
    /// The version number.
    public var version: Int64
    /// Digest of the sealed bytes (what the next version's `parent` names).
    public var digest: Digest
    /// The parent version's digest (nil for version 1).
    public var parent: Digest?
    /// The schema digest it was validated against.
    public var schema: Digest?
    /// Who wrote it.
    public var author: String
    /// When.
    public var time: Timestamp
    /// Why.
    public var message: String
    /// Who can open it (`local key 1a2b...`, `kms:...`).
    public var recipients: [String]

    init(header h: SealedHeader, address: ConfigAddress, bytes: [UInt8]) {
        self.address = address
        version = h.version
        digest = Digest(of: bytes)
        parent = h.parent
        schema = h.schema
        author = h.author
        time = h.time
        message = h.message
        recipients = h.recipients.map { Envelope.describeRecipients([$0]) }
    }

    /// As a JSON object (`history --format json`, the server).
    public var jsonValue: ConfigValue {
        var o: [String: ConfigValue] = [
            "service": .string(address.service), "env": .string(address.env),
            "version": .int(version), "digest": .string(digest.description),
            "parent": parent.map { .string($0.description) } ?? .null,
            "schema": schema.map { .string($0.description) } ?? .null,
            "author": .string(author), "time": .string(time.description), "message": .string(message),
            "recipients": .array(recipients.map { .string($0) }),
        ]
        o["variant"] = address.variant.map { .string($0) } ?? .null
        return .object(o)
    }
}

/// A version opened with a key: its facts and its plaintext config.
public struct OpenedVersion: Sendable {
    /// Facts from the header.
    public let info: VersionInfo
    /// The plaintext config: this version's own content, or, from
    /// ``ConfigRepository/openEffective(_:version:)``, its merge over ``lowerLayers``.
    public let config: Config
    let fingerprintKey: [UInt8]
    /// The lower layers' latest versions merged into ``config``, lowest first (empty for a plain open).
    public let lowerLayers: [OpenedVersion]

    /// This version's own content (equal to ``config`` for a plain open).
    public let ownConfig: Config

    init(info: VersionInfo, config: Config, fingerprintKey: [UInt8], lowerLayers: [OpenedVersion] = [], ownConfig: Config? = nil) {
        self.info = info
        self.config = config
        self.fingerprintKey = fingerprintKey
        self.lowerLayers = lowerLayers
        self.ownConfig = ownConfig ?? config
    }

    /// The layers, lowest first, each with its own content: the lower layers, then this version.
    public var layers: [(info: VersionInfo, config: Config)] { lowerLayers.map { ($0.info, $0.ownConfig) } + [(info, ownConfig)] }

    /// A fingerprinter under this version's fingerprint key.
    public var fingerprinter: Fingerprinter { Fingerprinter(key: fingerprintKey) }
}

/// One entry of `history`.
public struct HistoryEntry: Sendable {
    /// The version's facts.
    public let info: VersionInfo
    /// False when the version's `parent` does not match the previous version's digest, i.e. the chain
    /// of versions was altered in the store.
    public let chainIntact: Bool
}
