import SvcConfAWS
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
/// Schemas: stored per service in the store, versioned; enforced on every write and before exec;
/// the source of what is secret.
extension ConfigRepository {
    /// A stored schema and its number.
    public struct StoredSchema: Sendable {
        /// 1, 2, 3, ... per service.
        public let number: Int64
        /// The compiled schema.
        public let schema: ServiceSchema
    }

    /// Stores `document` as the service's new schema after checking it against the 2020-12
    /// metaschema. Returns the stored schema and whether anything changed (the same document as the
    /// current schema writes nothing). Existing versions are not revalidated here: `check` and
    /// `exec` hold them to the new schema.
    public func setSchema(_ service: String, document: ConfigValue) async throws -> (stored: StoredSchema, changed: Bool) {
        try Names.check(service, as: "service")
        _ = try await requirePolicy()
        let schema = try ServiceSchema(document: document)
        let numbers = try await store.schemaNumbers(of: service)
        // Compare the stored bytes (canonical) without compiling them: a stored schema that no longer
        // compiles must not block setting a good one, the way out its error's hint names.
        if let last = numbers.last, let bytes = try? await store.readSchema(of: service, number: last),
           Digest(of: bytes) == schema.digest {
            return (StoredSchema(number: last, schema: schema), false)
        }
        let number = (numbers.last ?? 0) + 1
        try await store.createSchema(of: service, number: number, bytes: schema.canonicalBytes)
        return (StoredSchema(number: number, schema: schema), true)
    }

    /// The service's current (latest) schema, or nil when it has none.
    public func currentSchema(_ service: String) async throws -> StoredSchema? {
        guard let (n, bytes) = try await store.latestSchema(of: service, verified: true) else { return nil }
        return StoredSchema(number: n, schema: try schemaCache.schema(bytes) { try Self.compileStored(bytes, service: service, number: n, checked: false) })
    }

    /// Schema number `number` of `service`.
    public func schema(_ service: String, number: Int64) async throws -> StoredSchema {
        guard let s = try await loadSchema(service, number: number) else {
            throw SvcConfError(.notFound, "schema \(number) of \(service) does not exist")
        }
        return StoredSchema(number: number, schema: s)
    }

    /// Every stored schema of `service`, oldest first.
    public func schemaHistory(_ service: String) async throws -> [StoredSchema] {
        var out: [StoredSchema] = []
        for n in try await store.schemaNumbers(of: service) { out.append(try await schema(service, number: n)) }
        return out
    }

    /// The stored schema of `service` whose digest is `digest`, if the store still has it.
    public func schema(_ service: String, digest: Digest) async throws -> StoredSchema? {
        for n in try await store.schemaNumbers(of: service).reversed() {
            let bytes = try await store.readSchema(of: service, number: n)
            // Checked against the metaschema when it was set; not again on every read (as at exec).
            if Digest(of: bytes) == digest, let s = try? schemaCache.schema(bytes, compile: { try ServiceSchema(bytes: bytes, checkAgainstMetaschema: false) }) {
                return StoredSchema(number: n, schema: s)
            }
        }
        return nil
    }

    func loadSchema(_ service: String, number: Int64) async throws -> ServiceSchema? {
        try Self.compileStored(try await store.readSchema(of: service, number: number), service: service, number: number)
    }

    static func compileStored(_ bytes: [UInt8], service: String, number: Int64, checked: Bool = true) throws -> ServiceSchema {
        do {
            return try ServiceSchema(bytes: bytes, checkAgainstMetaschema: checked)
        } catch {
            throw SvcConfError(.tampered, "stored schema \(number) of \(service) does not compile: \(error.message)",
                               hint: "set a good schema with `svcconf schema set \(service) FILE`")
        }
    }

    /// Throws `.validationFailed` listing every error when `config` does not satisfy `schema`.
    func checkValid(_ config: Config, address: ConfigAddress, schema: ServiceSchema, writing: Bool) throws {
        // A version records the digest of the schema it was checked against, and the launcher takes
        // YAML file contents of such versions as checked: never write one whose YAML went unchecked.
        if writing, parseYAML == nil,
           let name = config.files.keys.sorted().first(where: { schema.contentSchemas[$0] != nil && schema.mediaType(ofFile: $0) == "application/yaml" }) {
            throw SvcConfError(.internal, "\(address): cannot check file \(Names.quoted(name)) against the schema without a YAML parser; nothing was written")
        }
        let issues = schema.validate(config, parseYAML: parseYAML)
        guard !issues.isEmpty else { return }
        throw SvcConfError(.validationFailed,
                           "\(address) does not match its schema (\(issues.count) error\(issues.count == 1 ? "" : "s"))"
                               + (writing ? "; nothing was written" : ""),
                           details: issues.map(\.description))
    }

    // MARK: validate, check

    /// The outcome of validating one config.
    public struct ValidationReport: Sendable {
        /// The version checked.
        public let info: VersionInfo
        /// The schema it was checked against (nil: the service has none, nothing to check).
        public let schema: StoredSchema?
        /// Every problem (empty when valid).
        public let issues: [ServiceSchema.Issue]
        /// True when valid.
        public var isValid: Bool { issues.isEmpty }
    }

    /// Validates a version (default: the latest), merged over its lower layers, against the
    /// service's current schema.
    public func validate(_ address: ConfigAddress, version: Int64? = nil) async throws -> ValidationReport {
        guard !address.isBaseLayer else {
            throw SvcConfError(.usage, "the base layer is validated as part of each env", hint: "validate an env: svcconf validate \(address.service) --env ENV")
        }
        let opened = try await openEffective(address, version: version)
        let current = try await currentSchema(address.service)
        let issues = current.map { $0.schema.validate(opened.config, parseYAML: parseYAML) } ?? []
        return ValidationReport(info: opened.info, schema: current, issues: issues)
    }

    /// One line of `check`.
    public struct CheckResult: Sendable {
        /// Which config.
        public let address: ConfigAddress
        /// The validation report, when the latest version opened.
        public let report: ValidationReport?
        /// Why it could not be opened or checked.
        public let failure: SvcConfError?
    }

    /// For CI: opens every config's latest version (of `service`, or of all) and validates it against
    /// its service's current schema. Never returns plaintext.
    public func check(service: String? = nil) async throws -> [CheckResult] {
        _ = try await requirePolicy()
        var out: [CheckResult] = []
        for a in try await store.addresses() where (service == nil || a.service == service) && !a.isBaseLayer {
            do {
                out.append(CheckResult(address: a, report: try await validate(a), failure: nil))
            } catch let e as SvcConfError {
                out.append(CheckResult(address: a, report: nil, failure: e))
            }
        }
        return out
    }

    // MARK: exec

    /// What `exec` starts a program with: `version` (default: the latest) of `address` merged over
    /// its lower layers (``openEffective(_:version:)``) and checked against the service's current
    /// schema (``checkBeforeExec(_:)``). For the latest version the store is first asked for an exec
    /// snapshot: every layer and the schema proven current together (S3: 2 requests instead of one or
    /// two per layer plus the schema); without one, layer by layer.
    public func openForExec(_ address: ConfigAddress, version: Int64? = nil) async throws -> OpenedVersion {
        if version == nil, let snapshot = try await store.execSnapshot(of: address),
           let top = snapshot.layers.last, top.address == address {
            var opened: [OpenedVersion] = []
            for layer in snapshot.layers {
                // Each layer is authenticated and its header must name that layer and number.
                opened.append(try await open(bytes: layer.bytes, address: layer.address, version: layer.number))
            }
            let own = opened.removeLast()
            let effective = Self.merged(own, over: opened)
            if let (n, bytes) = snapshot.schema {
                let schema = try schemaCache.schema(bytes) { try Self.compileStored(bytes, service: address.service, number: n, checked: false) }
                try checkValid(effective.config, address: address, schema: schema, writing: false)
            }
            return effective
        }
        let opened = try await openEffective(address, version: version)
        try await checkBeforeExec(opened)
        return opened
    }

    /// Before `exec` starts a program: the config must satisfy the service's current schema (which
    /// may be newer than the one the version was written with).
    public func checkBeforeExec(_ opened: OpenedVersion) async throws {
        let service = opened.info.address.service
        guard let (n, bytes) = try await store.latestSchema(of: service, verified: false) else { return }
        let schema = try Self.compileStored(bytes, service: service, number: n, checked: false)
        try checkValid(opened.config, address: opened.info.address, schema: schema, writing: false)
    }

    /// What ``checkBeforeExecLocally(_:)`` decided.
    public enum LocalExecCheck: Sendable {
        /// Checked: go ahead.
        case valid
        /// The check needs something this process lacks (a YAML parser for a file whose content the
        /// current schema constrains, and which was not already validated against that schema, or a
        /// network store): hand over to `svcconf-cli`.
        case needsFullCLI
    }

    /// ``checkBeforeExec(_:)`` without suspending, for the container launcher (file stores only).
    /// Without a YAML parser, YAML file contents are taken as checked when the version records the
    /// digest of the current schema (every write validates against it); otherwise the caller hands
    /// over to the full CLI.
    public func checkBeforeExecLocally(_ opened: OpenedVersion) throws -> LocalExecCheck {
        guard let fs = store.synchronousReader else { return .needsFullCLI }
        let service = opened.info.address.service
        guard let n = try fs.schemaNumbersNow(of: service).last else { return .valid }
        let schema = try Self.compileStored(try fs.readSchemaNow(of: service, number: n), service: service, number: n, checked: false)
        if parseYAML == nil && schema.needsYAML && opened.layers.contains(where: { $0.info.schema != schema.digest }) { return .needsFullCLI }
        try checkValid(opened.config, address: opened.info.address, schema: schema, writing: false)
        return .valid
    }

    // MARK: secrecy

    /// What is secret when showing `versions`: what the schemas they were validated against (their
    /// recorded digests) mark secret or do not describe. A version written without a schema, or whose
    /// schema is no longer in the store, makes everything secret: redaction never relaxes on the
    /// strength of a schema the version was not checked against.
    public func secrecy(for versions: [OpenedVersion]) async -> any SecrecyPolicy {
        var policies: [any SecrecyPolicy] = []
        for digest in Set(versions.flatMap(\.layers).map(\.info.schema)) {
            guard let digest, let service = versions.first?.info.address.service,
                  let stored = try? await schema(service, digest: digest)
            else { return AllSecret() }
            policies.append(stored.schema.secrecy(for: versions.map(\.config)))
        }
        return policies.count == 1 ? policies[0] : AnySecret(policies: policies)
    }
}

/// Secret when any of several policies says so (two versions validated against different schemas).
struct AnySecret: SecrecyPolicy {
    let policies: [any SecrecyPolicy]
    func isSecret(valuePath path: [String]) -> Bool { policies.contains { $0.isSecret(valuePath: path) } }
    func isSecret(file name: String) -> Bool { policies.contains { $0.isSecret(file: name) } }
}

/// Compiled stored schemas by the digest of their bytes, shared by copies of a repository: one
/// command may need the current schema several times (an edit validates, diffs and writes), and a
/// large schema takes milliseconds to compile.
final class CompiledSchemaCache: Sendable {
    private let entries = Locked<[Digest: ServiceSchema]>([:])

    /// The compiled schema of `bytes`, from the cache or from `compile` (then cached; at most 16 kept).
    func schema(_ bytes: [UInt8], compile: () throws -> ServiceSchema) throws -> ServiceSchema {
        let digest = Digest(of: bytes)
        if let hit = entries.withLock({ $0[digest] }) { return hit }
        let compiled = try compile()
        entries.withLock {
            if $0.count >= 16 { $0.removeAll() }
            $0[digest] = compiled
        }
        return compiled
    }
}
