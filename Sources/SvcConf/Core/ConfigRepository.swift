import SvcConfCrypto

/// The use-cases of svcconf over one store: everything the CLI and the server do goes through here.
///
/// Promise: a config is sealed before it reaches the store and opened only with a key the caller
/// holds; versions are never overwritten (a write based on a stale version fails with `.conflict`);
/// nothing here prints, logs or returns a secret except the plaintext `open` returns to its caller.
public struct ConfigRepository: Sendable {
    /// Where versions live.
    public let store: any ConfigStore
    /// The keys this process holds.
    public let keyring: Keyring
    /// Who writes (recorded in each version).
    public let author: String
    /// The clock (tests fix it).
    public let clock: @Sendable () -> Timestamp
    /// Parses a YAML file's bytes, to check file contents a schema declares as `application/yaml`
    /// (`svcconf-cli` passes the YAML codec; without it YAML file contents are not checked).
    public let parseYAML: (@Sendable (String, [UInt8]) throws -> ConfigValue)?
    /// When set, asked for the author of each new version instead of ``author`` (the CLI names the
    /// AWS principal this way for S3 stores when no `--author` is given; only writes call it).
    public var authorResolver: (@Sendable () async -> String)?
    /// Compiled schemas, shared by copies of this repository.
    let schemaCache = CompiledSchemaCache()
    /// Opened versions, checked against the exact bytes just read (see ``OpenedVersionCache``);
    /// shared by copies of this repository, which hold the same keys. Plaintext in memory only.
    let openedCache = OpenedVersionCache()

    /// The author to record in a version written now.
    func currentAuthor() async -> String {
        if let authorResolver { return await authorResolver() }
        return author
    }

    /// Memberwise initializer.
    public init(store: any ConfigStore, keyring: Keyring, author: String,
                clock: @escaping @Sendable () -> Timestamp = { Timestamp.now() },
                parseYAML: (@Sendable (String, [UInt8]) throws -> ConfigValue)? = nil) {
        self.store = store
        self.keyring = keyring
        self.author = author
        self.clock = clock
        self.parseYAML = parseYAML
    }

    // MARK: init

    /// What `initialize` did.
    public struct InitResult: Sendable {
        /// The policy written.
        public let policy: StorePolicy
        /// Key files that were generated (path, key id).
        public let generated: [(path: String, keyId: String)]
    }

    /// Creates the store's policy: a rule `*/*` sealing for `recipients`, plus one rule per entry of
    /// `rules` (`MATCH` → recipients, e.g. `*/prod` → a separate prod key). A `local:PATH` that does
    /// not exist is generated (mode 0600). Fails with `.conflict` when the store already has a policy.
    public func initialize(recipients: [String], rules extra: [(match: String, recipients: [String])] = []) async throws -> InitResult {
        if let existing = try await store.latestPolicy() {
            throw SvcConfError(.conflict, "store \(store.url) is already initialized (policy \(existing.number))",
                               hint: "use `svcconf recipients` to change who can open it")
        }
        var generated: [(path: String, keyId: String)] = []
        func refs(_ specs: [String]) throws -> [StorePolicy.RecipientRef] {
            try specs.map { try recipientRef($0, generated: &generated) }
        }
        var rules = [StorePolicy.Rule(match: "*/*", recipients: try refs(recipients.isEmpty && extra.isEmpty ? ["local:" + Keyring.defaultKeyPath()] : recipients))]
        if rules[0].recipients.isEmpty { rules.removeAll() }
        for (match, specs) in extra {
            guard StorePolicy.isValidPattern(match) else {
                throw SvcConfError(.usage, "invalid rule match \(Names.quoted(match))", hint: "a match is SERVICE/ENV, each a name or a pattern with *, e.g. */prod")
            }
            guard !rules.contains(where: { $0.match == match }) else { throw SvcConfError(.usage, "two rules for \(match)") }
            rules.append(.init(match: match, recipients: try refs(specs)))
        }
        let policy = StorePolicy(rules: rules)
        try await store.createPolicy(policy, number: 1)
        return InitResult(policy: policy, generated: generated)
    }

    func requirePolicy() async throws -> StorePolicy {
        guard let p = try await store.latestPolicy() else {
            throw SvcConfError(.notFound, "store \(store.url) is not initialized", hint: "run `svcconf init --store \(store.url)`")
        }
        return p.policy
    }

    // MARK: read

    /// The latest version number, or nil when the config has none.
    public func latestVersion(_ address: ConfigAddress) async throws -> Int64? {
        try await store.latestVersion(of: address)
    }

    /// Opens `version` (default: the latest) of `address`.
    public func open(_ address: ConfigAddress, version: Int64? = nil) async throws -> OpenedVersion {
        if let opened = try openLocally(address, version: version) { return opened }
        let n: Int64
        let bytes: [UInt8]
        if let version {
            n = try resolve(version, address, latest: nil)
            bytes = try await store.read(address, version: n)
        } else {
            guard let latest = try await store.latestVersionBytes(of: address) else {
                _ = try resolve(nil, address, latest: nil)  // throws "has no versions"
                throw SvcConfError(.internal, "unreachable")
            }
            (n, bytes) = latest
        }
        return try await open(bytes: bytes, address: address, version: n)
    }

    /// Opens the sealed `bytes` read as `version` of `address`.
    func open(bytes: [UInt8], address: ConfigAddress, version n: Int64) async throws -> OpenedVersion {
        if let hit = openedCache.lookup(address, version: n, bytes: bytes) { return hit }
        let parsed0 = try SealedCodec.parse(bytes)
        // The policy is read only when a local stanza needs the policy's key paths (no explicit keys).
        let needsPolicy = keyring.localKeys.isEmpty && parsed0.header.recipients.contains { $0.type == "local" }
        let (identities, refused) = keyring.identities(policy: needsPolicy ? try? await store.latestPolicy()?.policy : nil)
        let (parsed, payload) = try await Self.explainingRefusedKeys(refused) {
            try await Envelope.open(bytes, address: address, version: n, identities: identities)
        }
        let opened = OpenedVersion(info: VersionInfo(header: parsed.header, address: address, bytes: bytes),
                                   config: payload.config, fingerprintKey: payload.fingerprintKey)
        openedCache.insert(address, version: n, bytes: bytes, opened: opened)
        return opened
    }

    /// Opens `version` (default: the latest) of `address` without suspending when the store and keys
    /// are local (a file store): the container-start path, which needs no concurrency runtime.
    /// Returns nil when the store needs network I/O; use ``open(_:version:)`` then.
    public func openLocally(_ address: ConfigAddress, version: Int64? = nil) throws -> OpenedVersion? {
        guard let fs = store.synchronousReader else { return nil }
        let n: Int64
        let bytes: [UInt8]
        if let version {
            n = try resolve(version, address, latest: try fs.versionNumbersNow(of: address).last)
            bytes = try fs.readNow(address, version: n)
        } else {
            guard let latest = try fs.latestVersionBytesNow(of: address) else {
                _ = try resolve(nil, address, latest: nil)  // throws "has no versions"
                throw SvcConfError(.internal, "unreachable")
            }
            (n, bytes) = latest
        }
        return try openLocally(bytes: bytes, address: address, version: n, reader: fs)
    }

    /// Opens the sealed `bytes` read as `version` of `address` with local keys, without suspending;
    /// nil when only a KMS stanza could open them and this process has no KMS client.
    func openLocally(bytes: [UInt8], address: ConfigAddress, version n: Int64, reader fs: any SynchronousStoreReader) throws -> OpenedVersion? {
        if let hit = openedCache.lookup(address, version: n, bytes: bytes) { return hit }
        let (keys, refused) = keyring.openingKeys(policy: keyring.localKeys.isEmpty ? try? fs.latestPolicyNow()?.policy : nil)
        let (parsed, payload): (SealedCodec.Parsed, Payload)
        do {
            (parsed, payload) = try Envelope.openLocally(bytes, address: address, version: n, keys: keys)
        } catch let e as SvcConfError where e.kind == .keyUnavailable {
            // No local key opens it; a KMS stanza needs the async path with AWS access (svcconf-cli,
            // or a server with a KMS client).
            if let p = try? SealedCodec.parse(bytes), p.header.recipients.contains(where: { $0.type == "kms" }) {
                return nil
            }
            throw refused.first ?? e
        }
        let opened = OpenedVersion(info: VersionInfo(header: parsed.header, address: address, bytes: bytes),
                                   config: payload.config, fingerprintKey: payload.fingerprintKey)
        openedCache.insert(address, version: n, bytes: bytes, opened: opened)
        return opened
    }

    /// When no key opens a version and a key file at a policy path was refused, that refusal (with
    /// its `chmod 600` hint) is the better error.
    static func explainingRefusedKeys<T>(_ refused: [SvcConfError], _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let e as SvcConfError where e.kind == .keyUnavailable && !refused.isEmpty {
            throw refused[0]
        }
    }

    func resolve(_ version: Int64?, _ address: ConfigAddress, latest: Int64?) throws(SvcConfError) -> Int64 {
        if let version {
            guard version >= 1 else { throw SvcConfError(.usage, "version numbers start at 1") }
            return version
        }
        guard let latest else {
            throw SvcConfError(.notFound, "\(address) has no versions in \(store.url)",
                               hint: "create one with `svcconf set \(address.service) --env \(address.env) KEY=VALUE`")
        }
        return latest
    }

    /// The facts of one version, from its header (no key needed, not authenticated).
    public func info(_ address: ConfigAddress, version: Int64) async throws -> VersionInfo {
        let bytes = try await store.read(address, version: version)
        let parsed = try SealedCodec.parse(bytes)
        try Envelope.checkLabel(parsed.header, address: address, version: version)
        return VersionInfo(header: parsed.header, address: address, bytes: bytes)
    }

    /// Every version's facts, oldest first, with a check that each names its predecessor's digest.
    public func history(_ address: ConfigAddress) async throws -> [HistoryEntry] {
        let numbers = try await store.versionNumbers(of: address)
        guard !numbers.isEmpty else { throw SvcConfError(.notFound, "\(address) has no versions in \(store.url)") }
        var out: [HistoryEntry] = []
        var previous: VersionInfo?
        for n in numbers {
            let info = try await info(address, version: n)
            let intact = previous.map { info.parent == $0.digest && $0.version == n - 1 } ?? (n == 1 && info.parent == nil)
            out.append(HistoryEntry(info: info, chainIntact: intact))
            previous = info
        }
        return out
    }

    /// Every config in the store with its latest version's facts.
    /// Every config in the store with its latest version's facts; a config whose latest version
    /// cannot be read is reported in `problems` instead of hiding the others.
    public func list() async throws -> (versions: [VersionInfo], problems: [SvcConfError]) {
        _ = try await requirePolicy()
        var out: [VersionInfo] = []
        var problems: [SvcConfError] = []
        for a in try await store.addresses() {
            do {
                if let n = try await store.latestVersion(of: a) { out.append(try await info(a, version: n)) }
            } catch let e as SvcConfError {
                problems.append(e)
            }
        }
        return (out, problems)
    }

    // MARK: write

    /// Writes `config` as the version after `base` (nil: the first version). Fails with `.conflict`
    /// when another version was written after `base`: never a lost update.
    public func write(_ address: ConfigAddress, config: Config, base: OpenedVersion?, message: String) async throws -> VersionInfo {
        try await write(address, config: config, base: base, message: message, schema: try await currentSchema(address.service)?.schema)
    }

    /// ``write(_:config:base:message:)`` with the service's current schema already loaded: the config
    /// must satisfy it (every error is reported, nothing is written otherwise), and the version
    /// records its digest.
    func write(_ address: ConfigAddress, config: Config, base: OpenedVersion?, message: String,
               schema: ServiceSchema?) async throws -> VersionInfo {
        if let schema { try await checkLayerWrite(address, config: config, schema: schema) }
        let policy = try await requirePolicy()
        let refs = try policy.recipients(for: address)
        var recipients: [any Recipient] = []
        for ref in refs { recipients.append(try keyring.recipient(for: ref, address: address)) }
        try checkWritable(config)
        let number = (base?.info.version ?? 0) + 1
        let fpKey: [UInt8]
        if let base { fpKey = base.fingerprintKey } else { fpKey = try await fingerprintKeyForNewConfig(address, policy: policy) }
        let header = SealedHeader(service: address.service, env: address.env, variant: address.variant,
                                  version: number, parent: base?.info.digest, schema: schema?.digest,
                                  author: await currentAuthor(), time: clock(), message: message, nonce: [], recipients: [])
        try checkHeaderText(header)
        let payload = Payload(config: config, fingerprintKey: fpKey)
        try Self.checkReadable(payload)
        let bytes = try await Envelope.seal(payload, header: header, recipients: recipients)
        let parsed = try SealedCodec.parse(bytes)  // never store what a reader would refuse
        do {
            try await store.create(address, version: number, bytes: bytes)
        } catch let e as SvcConfError where e.kind == .conflict {
            throw SvcConfError(.conflict, "\(address) changed while you worked: version \(number) was written by someone else after version \(number - 1)",
                               hint: "run `svcconf diff \(address.service) --env \(address.env)` to see it, then try again")
        }
        return VersionInfo(header: parsed.header, address: address, bytes: bytes)
    }

    /// Refuses a payload that a reader could not read back (too large, nested too deep): a version
    /// nobody can open would block every later write of the config.
    static func checkReadable(_ payload: Payload) throws(SvcConfError) {
        let encoded = payload.encoded()
        guard encoded.count + 16 <= SealedCodec.maxCiphertextBytes else {
            throw SvcConfError(.invalidInput, "the config is too large to seal (\(encoded.count) bytes; the limit is \(SealedCodec.maxCiphertextBytes - 16))")
        }
        do { _ = try Payload.decode(encoded) } catch {
            throw SvcConfError(.invalidInput, "the config cannot be sealed: \(error.message)")
        }
    }

    func checkHeaderText(_ h: SealedHeader) throws(SvcConfError) {
        for (field, text, nl, max) in [("author", h.author, false, SealedCodec.maxAuthorBytes),
                                       ("message", h.message, true, SealedCodec.maxMessageBytes)] {
            if text.utf8.count > max { throw SvcConfError(.usage, "the \(field) is longer than \(max) bytes") }
            if !Names.isPrintableText(text, allowNewlines: nl) {
                throw SvcConfError(.usage, "the \(field) contains control characters or bidirectional overrides")
            }
        }
    }

    func checkWritable(_ config: Config) throws(SvcConfError) {
        for name in config.files.keys where !Names.isValidFileName(name) {
            throw SvcConfError(.invalidInput, "invalid file name \(Names.quoted(name))", hint: "file names are 1-255 characters of A-Z, a-z, 0-9, '.', '_' and '-'")
        }
        for key in config.values.keys where !Names.isEnvironmentName(key) {
            throw SvcConfError(.invalidInput, "invalid key \(Names.quoted(key))",
                               hint: "top-level keys become environment variables: letters, digits and '_', not starting with a digit")
        }
    }

    /// A new config reuses the fingerprint key of another config of its service that is sealed to
    /// exactly the same recipients, so equal values show equal fingerprints across those envs. It
    /// never borrows from a config with other recipients: whoever can open staging must not get a
    /// way to test guesses against prod's fingerprints.
    func fingerprintKeyForNewConfig(_ address: ConfigAddress, policy: StorePolicy) async throws -> [UInt8] {
        let mine = Set(try policy.recipients(for: address))
        for other in (try? await store.addresses()) ?? [] where other.service == address.service && other != address {
            guard let theirs = try? policy.recipients(for: other), Set(theirs) == mine else { continue }
            if let opened = try? await open(other) { return opened.fingerprintKey }
        }
        return try SecureRandom.bytes(count: 32)
    }

    /// What `update` did.
    public enum UpdateResult: Sendable {
        /// A new version was written.
        case written(VersionInfo)
        /// The change left the config as it was; nothing was written.
        case unchanged(Int64?)
    }

    /// Applies `change` to the latest version and writes the result. With `expectedVersion`, fails with
    /// `.conflict` unless the latest version is exactly that one. Without it, a write that loses a race
    /// re-reads the new latest version and applies `change` again (up to `attempts` times), so no
    /// concurrent write is ever lost and every successful call is one version in the history.
    public func update(_ address: ConfigAddress, expectedVersion: Int64? = nil, message: String, attempts: Int = 20,
                       change: @Sendable (inout Config) throws -> Void) async throws -> UpdateResult {
        if let expectedVersion, expectedVersion < 0 { throw SvcConfError(.usage, "--expect-version must be 0 or more") }
        let schema = try await currentSchema(address.service)?.schema
        var attempt = 0
        while true {
            attempt += 1
            let latest = try await store.latestVersion(of: address)
            if let expectedVersion, expectedVersion != (latest ?? 0) {
                throw SvcConfError(.conflict, "\(address) is at version \(latest ?? 0), not \(expectedVersion)",
                                   hint: "someone else wrote it meanwhile; review with `svcconf diff \(address.service) --env \(address.env)`")
            }
            var base: OpenedVersion?
            if let latest { base = try await open(address, version: latest) }
            var config = base?.config ?? Config()
            try change(&config)
            config.deletedFiles.subtract(config.files.keys)  // a file set again is no longer deleted
            if let schema { config.values = schema.coerce(config.values) }
            if let base, config == base.config { return .unchanged(base.info.version) }
            if base == nil && config.isEmpty { return .unchanged(nil) }
            do {
                return .written(try await write(address, config: config, base: base, message: message, schema: schema))
            } catch let e as SvcConfError where e.kind == .conflict && expectedVersion == nil && attempt < attempts {
                await Backoff.sleep(attempt: attempt)
            }
        }
    }

    /// Writes a new version equal to `version` (history is never rewritten).
    public func rollback(_ address: ConfigAddress, to version: Int64, message: String?) async throws -> UpdateResult {
        let target = try await open(address, version: version)
        let msg = message ?? "rollback to version \(version)"
        return try await update(address, message: msg) { $0 = target.config }
    }

    /// A redactor for showing `versions` side by side, with the fingerprint key of the first: what
    /// is secret follows the schemas those versions were validated against (see ``secrecy(for:)``).
    public func redactor(for versions: [OpenedVersion]) async -> Redactor {
        Redactor(secrecy: await secrecy(for: versions), fingerprinter: versions[0].fingerprinter)
    }

    /// The redacted diff of two opened versions (fingerprints under the first one's key).
    public func diff(_ a: OpenedVersion, _ b: OpenedVersion) async -> ConfigDiff {
        ConfigDiff.compare(a.config, b.config, redactor: await redactor(for: [a, b]))
    }
}

extension ConfigRepository {
    /// A diff with the labels of its two sides.
    public struct DiffResult: Sendable {
        /// The redacted differences.
        public let diff: ConfigDiff
        /// `access-boston/prod version 3`.
        public let oldLabel: String
        /// `access-boston/prod version 4`.
        public let newLabel: String
        /// `{"service":..,"env":..,"version":..}` of the old side (version 0: empty).
        public let oldRef: ConfigValue
        /// The same for the new side.
        public let newRef: ConfigValue
    }

    static func ref(_ a: ConfigAddress, _ version: Int64) -> ConfigValue {
        .object(["service": .string(a.service), "env": .string(a.env),
                 "variant": a.variant.map { .string($0) } ?? .null, "version": .int(version)])
    }

    /// Diff of two versions of one config. `to` defaults to the latest, `from` to the one before
    /// `to`; version 0 stands for the empty config.
    public func diffVersions(_ address: ConfigAddress, from: Int64?, to: Int64?) async throws -> DiffResult {
        // Concurrently: compile the service's current schema into the cache (usually the one the
        // versions were validated against, which redaction needs) and open both versions.
        let service = address.service
        async let warm: Void = { _ = try? await self.currentSchema(service) }()
        let toN: Int64
        if let to { toN = to } else { toN = try resolve(nil, address, latest: try await latestVersion(address)) }
        let fromN = from ?? toN - 1
        guard fromN >= 0 else { throw SvcConfError(.usage, "version numbers start at 1 (0 = empty)") }
        async let newerTask = open(address, version: toN)
        async let olderTask: OpenedVersion? = fromN == 0 ? nil : open(address, version: fromN)
        let newer = try await newerTask
        let older = try await olderTask
        await warm
        let redactor = await self.redactor(for: [older, newer].compactMap { $0 })
        let diff = ConfigDiff.compare(older?.config ?? Config(), newer.config, redactor: redactor)
        return DiffResult(diff: diff,
                          oldLabel: fromN == 0 ? "\(address) (empty)" : "\(address) version \(fromN)",
                          newLabel: "\(address) version \(newer.info.version)",
                          oldRef: Self.ref(address, fromN), newRef: Self.ref(address, newer.info.version))
    }

    /// Diff of the latest versions of two configs (two envs of one service), each merged over its
    /// lower layers: what the programs get.
    public func diffEnvs(_ a: ConfigAddress, _ b: ConfigAddress) async throws -> DiffResult {
        let service = a.service
        async let warm: Void = { _ = try? await self.currentSchema(service) }()
        async let ta = openEffective(a)
        async let tb = openEffective(b)
        let va = try await ta, vb = try await tb
        await warm
        return DiffResult(diff: await diff(va, vb),
                          oldLabel: "\(a) version \(va.info.version)", newLabel: "\(b) version \(vb.info.version)",
                          oldRef: Self.ref(a, va.info.version), newRef: Self.ref(b, vb.info.version))
    }
}
