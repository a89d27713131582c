import SvcConfCrypto

/// `svcconf import`: brings in today's layout (one folder per service with a `.env` and other files,
/// optional variant sub-folders whose files override the service folder's one whole file at a time,
/// secrets in `.env` as base64 `X_KMS_ENCRYPTED` values) as layers of one env.
///
/// Mapping, for env `E`:
/// - `SERVICE/` → the env layer `(SERVICE, E)`: the values of `.env` (read by ``Dotenv``, typed by the
///   service's schema as `set --from` types them) and every other file as a file.
/// - `SERVICE/VARIANT/` → the variant layer `(SERVICE, E, VARIANT)`: its files as files; when it has a
///   `.env`, that file replaces the service's `.env` entirely, so the layer holds the variant's values
///   that differ from the env layer's, plus `null` (delete) for the env layer's keys the variant's
///   `.env` lacks. A variant without `.env` has no values.
/// - A folder below `SERVICE/VARIANT/` is refused (naming it); a file directly in the source (not in a
///   service folder) is skipped with a warning.
/// - `X_KMS_ENCRYPTED` → `X`: base64, then KMS Decrypt without an encryption context. A blank
///   plaintext, bad base64, non-UTF-8 plaintext or a KMS refusal makes the value *undecryptable*.
///
/// All or nothing: ``plan(_:)`` reads and decrypts everything, builds every layer, validates each
/// layer's effective config (the layers below merged in, as JSON Merge Patch) against the service's
/// schema and computes the redacted diff against each layer's latest version, writing nothing;
/// ``apply(_:)`` then writes the layers that changed. A layer equal to its latest version is
/// `unchanged`, so re-running an import writes nothing.
public struct Importer: Sendable {
    /// The repository written to.
    public let repository: ConfigRepository
    /// The layout read.
    public let source: any ImportSource
    /// KMS, for `X_KMS_ENCRYPTED` values (nil: every such value is undecryptable).
    public let decrypter: (any ImportDecrypter)?

    /// The env name of the service-wide layer below every env.
    public static let baseEnv = "base"
    /// The suffix of the city's encrypted values.
    public static let encryptedSuffix = "_KMS_ENCRYPTED"

    /// An importer.
    public init(repository: ConfigRepository, source: any ImportSource, decrypter: (any ImportDecrypter)?) {
        self.repository = repository
        self.source = source
        self.decrypter = decrypter
    }

    /// What to import.
    public struct Options: Sendable {
        /// The env all services go into (today one bucket is one env).
        public var env: String
        /// Only these services (empty: every service folder found).
        public var services: [String]
        /// Leave undecryptable values out (and report them) instead of refusing the import.
        public var skipUndecryptable: Bool
        /// The change message (default `import from SOURCE`).
        public var message: String?

        /// Memberwise initializer.
        public init(env: String, services: [String] = [], skipUndecryptable: Bool = false, message: String? = nil) {
            self.env = env
            self.services = services
            self.skipUndecryptable = skipUndecryptable
            self.message = message
        }
    }

    /// A value that could not be decrypted: where, which key (the name in the file), and why. Never
    /// the ciphertext or a plaintext.
    public struct Undecryptable: Sendable, Equatable, CustomStringConvertible {
        /// The layer the value belongs to.
        public let address: ConfigAddress
        /// `X_KMS_ENCRYPTED`.
        public let key: String
        /// Why.
        public let reason: String
        /// `access-boston/staging/dev SESSION_COOKIE_PASSWORD_KMS_ENCRYPTED: reason`.
        public var description: String { "\(address) \(key): \(reason)" }
        /// `{"service", "env", "variant", "key", "reason"}`.
        public var jsonValue: ConfigValue {
            .object(["service": .string(address.service), "env": .string(address.env),
                     "variant": address.variant.map { .string($0) } ?? .null,
                     "key": .string(key), "reason": .string(reason)])
        }
    }

    /// What a layer needs.
    public enum Action: Sendable, Equatable {
        /// The layer has no version yet: version 1.
        case create
        /// The layer differs from its latest version, `from`.
        case update(from: Int64)
        /// The layer equals its latest version.
        case unchanged(Int64)
    }

    /// One layer of the plan.
    public struct Layer: Sendable {
        /// Which config.
        public let address: ConfigAddress
        /// Its new content.
        public let config: Config
        /// What writing it means.
        public let action: Action
        /// The redacted diff from its latest version (or the empty config) to ``config``.
        public let diff: ConfigDiff
        /// Labels for rendering ``diff``.
        public let oldLabel: String, newLabel: String
    }

    /// Everything ``apply(_:)`` will write, checked.
    public struct Plan: Sendable {
        /// The source's label.
        public let source: String
        /// The env.
        public let env: String
        /// The change message.
        public let message: String
        /// Every layer, env layers first, in service order.
        public let layers: [Layer]
        /// Values left out (`skipUndecryptable`).
        public let skipped: [Undecryptable]
        /// Things the user should know (a decrypted value the schema does not mark secret, a skipped
        /// file); names only.
        public let warnings: [String]
    }

    /// What ``apply(_:)`` did to a layer.
    public enum Outcome: Sendable, Equatable {
        /// Version 1 was written.
        case created(Int64)
        /// Version `to` was written after `from`.
        case updated(from: Int64, to: Int64)
        /// Nothing written; the layer is at this version.
        case unchanged(Int64?)
    }

    // MARK: plan

    /// One service's files in the source.
    struct ServiceFolder {
        var files: [String: String] = [:]            // file name -> source path
        var variants: [String: [String: String]] = [:]  // variant -> file name -> source path
    }

    /// One layer while planning.
    struct Built {
        let address: ConfigAddress
        var config = Config()
        let schema: ServiceSchema?
        /// Keys of `config` that came from `X_KMS_ENCRYPTED` values.
        var decrypted: Set<String> = []
    }

    /// Reads, decrypts, builds and validates every layer and compares it with the store; writes nothing.
    public func plan(_ options: Options) async throws -> Plan {
        let env = options.env
        try Names.check(env, as: "env")
        guard env != Self.baseEnv else {
            throw SvcConfError(.usage, "--env base names the service-wide layer below every env; import into a real env (e.g. staging)")
        }
        var wanted: [String] = []
        for s in options.services {
            try Names.check(s, as: "service")
            if !wanted.contains(s) { wanted.append(s) }
        }
        let message = options.message ?? "import from \(source.label)"
        try repository.checkHeaderText(SealedHeader(service: "x", env: env, variant: nil, version: 1, parent: nil, schema: nil,
                                                    author: repository.author, time: repository.clock(), message: message,
                                                    nonce: [], recipients: []))
        let policy = try await repository.requirePolicy()

        var warnings: [String] = []
        var found: Set<String> = []
        let folders = try await scan(wanted: Set(wanted), found: &found, warnings: &warnings)
        for s in wanted where folders[s] == nil {
            throw SvcConfError(.notFound, "\(source.label) has no folder \(s)/", hint: "service folders found: \(Self.list(found.sorted()))")
        }
        guard !folders.isEmpty else {
            throw SvcConfError(.notFound, "\(source.label) holds no service folders",
                               hint: "the layout is SOURCE/SERVICE/.env, SOURCE/SERVICE/FILE and SOURCE/SERVICE/VARIANT/FILE")
        }

        // 1. Read and decrypt everything; build every layer.
        var undecryptable: [Undecryptable] = []
        var envLayers: [Built] = []
        var variantLayers: [Built] = []
        for service in folders.keys.sorted() {
            let folder = folders[service]!
            let schema = try await repository.currentSchema(service)?.schema
            var envLayer = Built(address: try ConfigAddress(service: service, env: env), schema: schema)
            if let path = folder.files[".env"] {
                let r = try await readDotenv(path, address: envLayer.address)
                envLayer.config.values = schema?.coerce(r.values) ?? r.values
                envLayer.decrypted = r.decrypted
                undecryptable += r.failed
            }
            for (name, path) in folder.files where name != ".env" { envLayer.config.files[name] = try await source.read(path) }
            envLayers.append(envLayer)
            var decryptedHere = envLayer.decrypted
            for variant in folder.variants.keys.sorted() {
                let files = folder.variants[variant]!
                var layer = Built(address: try ConfigAddress(service: service, env: env, variant: variant), schema: schema)
                if let path = files[".env"] {
                    let r = try await readDotenv(path, address: layer.address)
                    let values = schema?.coerce(r.values) ?? r.values
                    // The variant's .env replaces the service's: keep what differs, delete what it lacks
                    // (a value left out as undecryptable is lacking too: never the env layer's value).
                    for (k, v) in values where envLayer.config.values[k] != v { layer.config.values[k] = v }
                    for k in envLayer.config.values.keys where values.index(forKey: k) == nil { layer.config.values[k] = .null }
                    layer.decrypted = r.decrypted
                    decryptedHere.formUnion(r.decrypted)
                    undecryptable += r.failed
                }
                for (name, path) in files where name != ".env" { layer.config.files[name] = try await source.read(path) }
                variantLayers.append(layer)
            }
            if let schema, !decryptedHere.isEmpty {
                let secrecy = schema.secrecy(for: [envLayer.config])
                for key in decryptedHere.sorted() where !secrecy.isSecret(valuePath: [key]) {
                    warnings.append("\(service): \(key) was stored encrypted (\(key)\(Self.encryptedSuffix)) but the service's schema does not mark it secret (writeOnly or x-secret), so show and diff will display it")
                }
            }
        }
        if !undecryptable.isEmpty && !options.skipUndecryptable {
            throw SvcConfError(.keyUnavailable,
                               "\(undecryptable.count) value\(undecryptable.count == 1 ? "" : "s") cannot be decrypted; nothing was written",
                               hint: "fix them at the source, or pass --skip-undecryptable to import without them",
                               details: undecryptable.map(\.description))
        }

        // 2. Check every layer as a write would, and its effective config (the layers below merged
        //    in) against the service's schema. Every error of every layer is listed.
        var issues: [String] = []
        var effectiveEnv: [String: Config] = [:]
        for layer in envLayers {
            try checkLayer(layer)
            let baseAddress = try ConfigAddress(service: layer.address.service, env: Self.baseEnv)
            var effective = layer.config
            if try await repository.latestVersion(baseAddress) != nil {
                effective = Self.layered(try await repository.open(baseAddress).config, layer.config)
            }
            effectiveEnv[layer.address.service] = effective
            if let schema = layer.schema { issues += try validate(effective, layer.address, schema) }
        }
        for layer in variantLayers {
            try checkLayer(layer)
            if let schema = layer.schema {
                issues += try validate(Self.layered(effectiveEnv[layer.address.service]!, layer.config), layer.address, schema)
            }
        }
        if !issues.isEmpty {
            throw SvcConfError(.validationFailed,
                               "the imported configs do not match their schemas (\(issues.count) error\(issues.count == 1 ? "" : "s")); nothing was written",
                               details: issues)
        }

        // 3. Compare with what the store holds; redacted diffs.
        var planned: [Layer] = []
        for layer in envLayers + variantLayers {
            let address = layer.address, config = layer.config
            var old: OpenedVersion?
            if let n = try await repository.latestVersion(address) { old = try await repository.open(address, version: n) }
            let action: Action = old.map { $0.config == config ? .unchanged($0.info.version) : .update(from: $0.info.version) } ?? .create
            let fpKey: [UInt8]
            if let old { fpKey = old.fingerprintKey } else { fpKey = try await repository.fingerprintKeyForNewConfig(address, policy: policy) }
            var policies: [any SecrecyPolicy] = [DecryptedSecrecy(keys: layer.decrypted)]
            policies.append(layer.schema.map { $0.secrecy(for: [old?.config ?? Config(), config]) } ?? AllSecret())
            if let old { policies.append(await repository.secrecy(for: [old])) }
            let redactor = Redactor(secrecy: AnySecret(policies: policies), fingerprinter: Fingerprinter(key: fpKey))
            planned.append(Layer(address: address, config: config, action: action,
                                 diff: ConfigDiff.compare(old?.config ?? Config(), config, redactor: redactor),
                                 oldLabel: old.map { "\(address) version \($0.info.version)" } ?? "\(address) (empty)",
                                 newLabel: "\(address) as imported"))
        }
        return Plan(source: source.label, env: env, message: message, layers: planned,
                    skipped: options.skipUndecryptable ? undecryptable : [], warnings: warnings)
    }

    /// What a write would refuse, found before anything is written.
    func checkLayer(_ layer: Built) throws {
        try repository.checkWritable(layer.config)
        try ConfigRepository.checkReadable(Payload(config: layer.config, fingerprintKey: [UInt8](repeating: 0, count: 32)))
    }

    /// The schema errors of `effective`, each prefixed with the layer.
    func validate(_ effective: Config, _ address: ConfigAddress, _ schema: ServiceSchema) throws -> [String] {
        do {
            try repository.checkValid(effective, address: address, schema: schema, writing: true)
            return []
        } catch let e as SvcConfError where e.kind == .validationFailed {
            return e.details.map { "\(address): \($0)" }
        }
    }

    /// The values of a dotenv file with `X_KMS_ENCRYPTED` decrypted into `X`, which keys were
    /// decrypted, and the values that could not be.
    func readDotenv(_ path: String, address: ConfigAddress) async throws -> (values: [String: ConfigValue], decrypted: Set<String>, failed: [Undecryptable]) {
        let label = "\(source.label)/\(path)"
        let entries = try Dotenv.parse(try await source.read(path), source: label)
        let suffix = Self.encryptedSuffix
        let plainKeys = Set(entries.map(\.key).filter { !$0.hasSuffix(suffix) })
        var values: [String: ConfigValue] = [:]
        var encrypted: [(name: String, key: String, text: String)] = []
        for (key, value) in entries {
            guard key.hasSuffix(suffix) else {
                guard Names.isEnvironmentName(key) else {
                    throw SvcConfError(.invalidInput, "\(label): key \(Names.quoted(key)) is not an environment variable name",
                                       hint: "keys become environment variables: letters, digits and '_', not starting with a digit")
                }
                values[key] = .string(value)
                continue
            }
            let name = String(key.dropLast(suffix.count))
            guard Names.isEnvironmentName(name) else {
                throw SvcConfError(.invalidInput, "\(label): key \(Names.quoted(key)): the name without \(suffix) is not an environment variable name")
            }
            guard !plainKeys.contains(name) else {
                throw SvcConfError(.invalidInput, "\(label): both \(name) and \(key) are set",
                                   hint: "keep one of them: \(key) is imported as \(name)")
            }
            encrypted.append((name, key, value))
        }
        var decrypted: Set<String> = []
        var failed: [Undecryptable] = []
        for e in encrypted {
            switch try await decryptValue(e.text, what: "\(address) \(e.key)") {
            case .plaintext(let p):
                values[e.name] = .string(p)
                decrypted.insert(e.name)
            case .failed(let reason):
                failed.append(Undecryptable(address: address, key: e.key, reason: reason))
            }
        }
        return (values, decrypted, failed)
    }

    enum Decrypted {
        case plaintext(String)
        case failed(String)
    }

    /// The plaintext of one base64 `X_KMS_ENCRYPTED` value, or why there is none. Throws only when
    /// the import must stop (KMS unreachable: skipping would drop secrets for a passing outage).
    func decryptValue(_ text: String, what: String) async throws -> Decrypted {
        guard !text.isEmpty else { return .failed("the value is empty") }
        guard let blob = Base64.decode(text), !blob.isEmpty else { return .failed("the value is not base64") }
        guard let decrypter else {
            return .failed("no KMS client: set AWS_REGION (or AWS_DEFAULT_REGION, or region in the AWS profile) and credentials")
        }
        var plain: [UInt8]
        do {
            plain = try await decrypter.decrypt(blob)
        } catch let e as SvcConfError where e.kind == .unavailable {
            throw SvcConfError(.unavailable, "decrypting \(what): \(e.message)", hint: e.hint)
        } catch let e as SvcConfError {
            return .failed(e.message)
        }
        defer { secureZero(&plain) }
        guard let s = String(validating: plain, as: UTF8.self) else { return .failed("the plaintext is not UTF-8 text") }
        guard s.unicodeScalars.contains(where: { !($0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r") }) else {
            return .failed("it decrypts to a blank value (the apps reject it)")
        }
        guard !s.utf8.contains(0) else { return .failed("the plaintext contains a nul byte") }
        return .plaintext(s)
    }

    // MARK: apply

    /// Writes every layer of `plan` that is not unchanged, env layers first, each through the
    /// repository's conditional write based on the version the plan compared with: when someone else
    /// wrote a layer since, that layer fails with `.conflict` (exit 4) and nothing after it is
    /// written. Layers written before a failure stay; importing again writes the rest.
    public func apply(_ plan: Plan) async throws -> [(address: ConfigAddress, outcome: Outcome)] {
        var done: [(address: ConfigAddress, outcome: Outcome)] = []
        for layer in plan.layers {
            let expected: Int64
            switch layer.action {
            case .unchanged(let n):
                done.append((layer.address, .unchanged(n)))
                continue
            case .create: expected = 0
            case .update(let from): expected = from
            }
            do {
                // The layered write path: typed and validated on every merge the layer is part of.
                let config = layer.config
                let result = try await repository.update(layer.address, expectedVersion: expected, message: plan.message) { $0 = config }
                switch result {
                case .written(let info):
                    done.append((layer.address, info.version == 1 ? .created(1) : .updated(from: info.version - 1, to: info.version)))
                case .unchanged(let n):
                    done.append((layer.address, .unchanged(n)))
                }
            } catch let e as SvcConfError {
                let written = done.filter { if case .unchanged = $0.outcome { return false } else { return true } }.map { "\($0.address)" }
                throw SvcConfError(e.kind, "import stopped at \(layer.address): \(e.message)",
                                   hint: written.isEmpty ? e.hint
                                       : "already written: \(Self.list(written)); importing again is idempotent and writes the rest",
                                   details: e.details)
            }
        }
        return done
    }

    // MARK: helpers

    /// `lower` with `upper` on top (``Layering/merge(_:)``).
    static func layered(_ lower: Config, _ upper: Config) -> Config { Layering.merge([lower, upper]) }

    static func list(_ names: [String]) -> String { names.isEmpty ? "none" : names.joined(separator: ", ") }

    /// Groups the source's files by service and variant; refuses deeper folders and invalid names.
    /// `found` gets every top-level folder name, selected or not.
    func scan(wanted: Set<String>, found: inout Set<String>, warnings: inout [String]) async throws -> [String: ServiceFolder] {
        var folders: [String: ServiceFolder] = [:]
        for path in try await source.listFiles() {
            let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count > 1 else {
                warnings.append("skipped \(source.label)/\(path): not in a service folder")
                continue
            }
            let service = parts[0]
            found.insert(service)
            if !wanted.isEmpty && !wanted.contains(service) { continue }
            guard Names.isValid(service) else {
                throw SvcConfError(.invalidInput, "\(source.label)/\(service)/: not a valid service name",
                                   hint: "service folders are named like ^[a-z0-9][a-z0-9-]{0,62}$; pick services with --service")
            }
            if parts.count > 3 {
                throw SvcConfError(.invalidInput, "\(source.label)/\(parts[0...2].joined(separator: "/"))/: folders below SERVICE/VARIANT/ are not supported",
                                   hint: "the layout is SERVICE/FILE and SERVICE/VARIANT/FILE; move or remove that folder, or leave the service out with --service")
            }
            let name = parts[parts.count - 1]
            guard Names.isValidFileName(name) else {
                throw SvcConfError(.invalidInput, "\(source.label)/\(path): invalid file name",
                                   hint: "file names are 1-255 characters of A-Z, a-z, 0-9, '.', '_' and '-'")
            }
            if parts.count == 2 {
                folders[service, default: ServiceFolder()].files[name] = path
            } else {
                let variant = parts[1]
                guard Names.isValid(variant) else {
                    throw SvcConfError(.invalidInput, "\(source.label)/\(service)/\(variant)/: not a valid variant name",
                                       hint: "variant folders are named like ^[a-z0-9][a-z0-9-]{0,62}$")
                }
                folders[service, default: ServiceFolder()].variants[variant, default: [:]][name] = path
            }
        }
        return folders
    }
}

/// Values that came from `X_KMS_ENCRYPTED` are secret in every view import prints, whatever the
/// schema says.
struct DecryptedSecrecy: SecrecyPolicy {
    let keys: Set<String>
    func isSecret(valuePath path: [String]) -> Bool { path.first.map(keys.contains) ?? false }
    func isSecret(file name: String) -> Bool { false }
}
