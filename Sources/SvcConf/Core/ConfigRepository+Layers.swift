import SvcConfCrypto

/// Layers (see ``Layering``): what a program gets is a config's version merged over the latest
/// versions of the layers below it; every write is validated on the merged results it affects.
extension ConfigRepository {
    /// The config a program gets: `version` (default: the latest) of `address`, merged over the latest
    /// versions of its lower layers that exist (the service's `base`; for a variant, also its env).
    /// The addressed layer itself must exist.
    public func openEffective(_ address: ConfigAddress, version: Int64? = nil) async throws -> OpenedVersion {
        if let local = try openEffectiveLocally(address, version: version) { return local }
        let top = try await open(address, version: version)
        var lowers: [OpenedVersion] = []
        for a in address.lowerLayers {
            if let (n, bytes) = try await store.latestLayerBytes(of: a) {
                lowers.append(try await open(bytes: bytes, address: a, version: n))
            }
        }
        return openedCache.merged(top, over: lowers) { Self.merged(top, over: lowers) }
    }

    /// ``openEffective(_:version:)`` without suspending (file stores and local keys); nil when any
    /// layer needs the network.
    public func openEffectiveLocally(_ address: ConfigAddress, version: Int64? = nil) throws -> OpenedVersion? {
        guard let fs = store.synchronousReader, let top = try openLocally(address, version: version) else { return nil }
        var lowers: [OpenedVersion] = []
        for a in address.lowerLayers {
            guard let (n, bytes) = try fs.latestVersionBytesNow(of: a) else { continue }
            guard let opened = try openLocally(bytes: bytes, address: a, version: n, reader: fs) else { return nil }
            lowers.append(opened)
        }
        return openedCache.merged(top, over: lowers) { Self.merged(top, over: lowers) }
    }

    static func merged(_ top: OpenedVersion, over lowers: [OpenedVersion]) -> OpenedVersion {
        OpenedVersion(info: top.info, config: Layering.merge(lowers.map(\.config) + [top.config]),
                      fingerprintKey: top.fingerprintKey, lowerLayers: lowers, ownConfig: top.ownConfig)
    }

    /// Before writing `config` as the new content of layer `address`: every merged config it is part
    /// of must satisfy `schema` — its own (unless it is the base layer, which is never run alone)
    /// and those of the layers above it (a base change is checked against every env and variant of
    /// the service, an env change against its variants). A layer above that this process cannot open
    /// is not checked here (`exec` checks it at start).
    func checkLayerWrite(_ address: ConfigAddress, config: Config, schema: ServiceSchema) async throws {
        var targets: [ConfigAddress] = address.isBaseLayer ? [] : [address]
        if address.variant == nil {
            for a in try await store.addresses() where a.service == address.service && a != address && a.lowerLayers.contains(address) {
                targets.append(a)
            }
        }
        for target in targets {
            var layers: [Config] = []
            var skip = false
            for layer in target.lowerLayers + [target] {
                if layer == address { layers.append(config); continue }
                guard try await store.latestVersion(of: layer) != nil else { continue }
                do {
                    layers.append(try await open(layer).config)
                } catch let e as SvcConfError where e.kind == .keyUnavailable && target != address {
                    skip = true  // someone else's layer above: checked at its own start
                    break
                }
            }
            if skip { continue }
            do {
                try checkValid(Layering.merge(layers), address: target, schema: schema, writing: true)
            } catch let e as SvcConfError where e.kind == .validationFailed && target != address {
                throw SvcConfError(.validationFailed, "this change to \(address) would make \(target) invalid (\(e.details.count) error\(e.details.count == 1 ? "" : "s")); nothing was written",
                                   details: e.details)
            }
        }
    }

    /// Checks `config` as the new content of layer `address` the way a write would (typed by the
    /// service's current schema, validated on every merge it affects) without writing anything;
    /// returns it typed. Throws `.validationFailed` with every error.
    public func checkLayer(_ address: ConfigAddress, config: Config) async throws -> Config {
        try checkWritable(config)  // names a write would refuse (keys, file names)
        guard let schema = try await currentSchema(address.service)?.schema else { return config }
        var typed = config
        typed.values = schema.coerce(config.values)
        try await checkLayerWrite(address, config: typed, schema: schema)
        return typed
    }

    /// The redacted diff from `base` (nil: empty) to `config`, a layer content not yet written: what
    /// is secret follows `base`'s schema and the service's current schema (which the new version will
    /// be validated against); fingerprints are under `base`'s key.
    public func previewDiff(_ address: ConfigAddress, from base: OpenedVersion?, to config: Config) async -> ConfigDiff {
        var policies: [any SecrecyPolicy] = []
        if let base { policies.append(await secrecy(for: [base])) }
        if let current = try? await currentSchema(address.service) {
            policies.append(current.schema.secrecy(for: [config]))
        } else {
            policies.append(AllSecret())
        }
        let key = base?.fingerprintKey ?? ((try? SecureRandom.bytes(count: 32)) ?? [UInt8](repeating: 0, count: 32))
        let redactor = Redactor(secrecy: AnySecret(policies: policies), fingerprinter: Fingerprinter(key: key))
        return ConfigDiff.compare(base?.config ?? Config(), config, redactor: redactor)
    }

    /// The merge of the layers below `address` (their latest versions), as far as this process can
    /// open them: what an upper layer's deletion would hide.
    public func lowerMerge(_ address: ConfigAddress) async throws -> Config {
        var layers: [Config] = []
        for a in address.lowerLayers where try await store.latestVersion(of: a) != nil {
            layers.append(try await open(a).config)
        }
        return Layering.merge(layers)
    }

    /// Removes `keys` and `files` from what the config at `address` gives a program: from the layer
    /// itself, and, when a lower layer supplies them, by recording a deletion in this layer (`null`
    /// for a key, `deletedFiles` for a file). A name that is in no layer is an error (`.notFound`).
    public func unset(_ address: ConfigAddress, keys: [String], files: [String], expectedVersion: Int64? = nil,
                      message: String) async throws -> UpdateResult {
        let below = try await lowerMerge(address)
        return try await update(address, expectedVersion: expectedVersion, message: message) { config in
            for k in keys {
                let own = config.values[k], inherited = below.values[k] != nil
                guard (own != nil && own != .null) || (own == nil && inherited) else {
                    throw SvcConfError(.notFound, "\(address) has no key \(Names.quoted(k))")
                }
                config.values[k] = inherited ? .null : nil
            }
            for f in files {
                let own = config.files.removeValue(forKey: f) != nil, inherited = below.files[f] != nil
                guard own || (inherited && !config.deletedFiles.contains(f)) else {
                    throw SvcConfError(.notFound, "\(address) has no file \(Names.quoted(f))")
                }
                if inherited { config.deletedFiles.insert(f) }
            }
        }
    }

    /// Where each value and file of the config at `address` comes from.
    public struct Explanation: Sendable {
        /// The layers, lowest first, with their latest versions.
        public let layers: [(address: ConfigAddress, version: Int64)]
        /// Top-level keys (or the asked path) and their origins, sorted by key.
        public let values: [(path: [String], origin: Layering.Origin)]
        /// Files and their origins, sorted by name.
        public let files: [(name: String, origin: Layering.Origin)]
    }

    /// Which layer each value (every top-level key, or just `path`) and file of the effective config
    /// comes from. Needs keys for every layer; never returns a value.
    public func explain(_ address: ConfigAddress, path: [String]? = nil) async throws -> Explanation {
        let effective = try await openEffective(address)
        let layers = effective.layers.map { (address: $0.info.address, version: $0.info.version, config: $0.config) }
        var values: [(path: [String], origin: Layering.Origin)] = []
        var files: [(name: String, origin: Layering.Origin)] = []
        if let path {
            guard let origin = Layering.origin(ofValue: path, in: layers) else {
                throw SvcConfError(.notFound, "no layer of \(address) has \(Names.quoted(path.joined(separator: ".")))")
            }
            values.append((path, origin))
        } else {
            let keys = Set(layers.flatMap { $0.config.values.keys })
            for key in keys.sorted() { if let o = Layering.origin(ofValue: [key], in: layers) { values.append(([key], o)) } }
            let names = Set(layers.flatMap { Array($0.config.files.keys) + Array($0.config.deletedFiles) })
            for name in names.sorted() { if let o = Layering.origin(ofFile: name, in: layers) { files.append((name, o)) } }
        }
        return Explanation(layers: layers.map { ($0.address, $0.version) }, values: values, files: files)
    }
}
