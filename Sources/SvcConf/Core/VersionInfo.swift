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

/// A version opened with a key: its facts and its plaintext config. Immutable, and shared rather
/// than copied (one reference: caches hand the same opened version to every request).
public struct OpenedVersion: Sendable {
    private final class Storage: Sendable {
        let info: VersionInfo
        let config: Config
        let fingerprintKey: [UInt8]
        let lowerLayers: [OpenedVersion]
        let ownConfig: Config

        init(info: VersionInfo, config: Config, fingerprintKey: [UInt8], lowerLayers: [OpenedVersion], ownConfig: Config) {
            self.info = info
            self.config = config
            self.fingerprintKey = fingerprintKey
            self.lowerLayers = lowerLayers
            self.ownConfig = ownConfig
        }
    }

    private let storage: Storage

    /// Facts from the header.
    public var info: VersionInfo { storage.info }
    /// The plaintext config: this version's own content, or, from
    /// ``ConfigRepository/openEffective(_:version:)``, its merge over ``lowerLayers``.
    public var config: Config { storage.config }
    var fingerprintKey: [UInt8] { storage.fingerprintKey }
    /// The lower layers' latest versions merged into ``config``, lowest first (empty for a plain open).
    public var lowerLayers: [OpenedVersion] { storage.lowerLayers }
    /// This version's own content (equal to ``config`` for a plain open).
    public var ownConfig: Config { storage.ownConfig }

    init(info: VersionInfo, config: Config, fingerprintKey: [UInt8], lowerLayers: [OpenedVersion] = [], ownConfig: Config? = nil) {
        storage = Storage(info: info, config: config, fingerprintKey: fingerprintKey, lowerLayers: lowerLayers, ownConfig: ownConfig ?? config)
    }

    /// The layers, lowest first, each with its own content: the lower layers, then this version.
    public var layers: [(info: VersionInfo, config: Config)] { lowerLayers.map { ($0.info, $0.ownConfig) } + [(info, ownConfig)] }

    /// How many layers were merged (the lower layers and this version).
    public var layerCount: Int { storage.lowerLayers.count + 1 }

    /// The digests of the layers' sealed bytes, lowest first: what the merged content is a function of.
    public var layerDigests: [Digest] {
        var d = storage.lowerLayers.map(\.info.digest)
        d.append(storage.info.digest)
        return d
    }

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
