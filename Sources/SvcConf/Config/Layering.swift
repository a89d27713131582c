/// How a config is assembled from its layers: the service's `base` layer (shared by every env), the
/// env, then an optional variant (`dev`, `test` inside staging). Each layer is an ordinary series of
/// versions; what a program gets is their merge, bottom to top:
///
/// - values merge as JSON Merge Patch (RFC 7396): objects merge member by member, at any depth;
///   anything else (strings, numbers, lists) replaces the lower value whole; a `null` in an upper
///   layer deletes the key below it (so a merged config never holds `null`);
/// - files replace lower files of the same name whole; a layer's ``Config/deletedFiles`` removes
///   lower files by name.
public enum Layering {
    /// The env name that addresses a service's base layer (reserved: it is not a deployable env).
    public static let baseEnv = "base"

    /// Merges `layers`, lowest first.
    public static func merge(_ layers: [Config]) -> Config {
        var out = Config()
        for layer in layers {
            out.values = mergeObject(out.values, layer.values)
            for name in layer.deletedFiles { out.files[name] = nil }
            for (name, bytes) in layer.files { out.files[name] = bytes }
        }
        return out
    }

    /// `patch` applied to `target` (RFC 7396 §2, both objects).
    static func mergeObject(_ target: [String: ConfigValue], _ patch: [String: ConfigValue]) -> [String: ConfigValue] {
        var out = target
        for (key, value) in patch {
            switch value {
            case .null:
                out[key] = nil
            case .object(let members):
                if case .object(let below)? = out[key] {
                    out[key] = .object(mergeObject(below, members))
                } else {
                    out[key] = .object(mergeObject([:], members))  // nulls inside a new object vanish too
                }
            default:
                out[key] = value
            }
        }
        return out
    }

    /// Where a value or file of a merged config came from.
    public struct Origin: Sendable, Equatable {
        /// The layer that set it last (or deleted it).
        public let layer: ConfigAddress
        /// That layer's version.
        public let version: Int64
        /// The layers below it that it overrides (set the same key or file to something).
        public let overrides: [ConfigAddress]
        /// True when the top-most word on it is a deletion (the key or file is absent).
        public let deleted: Bool
        /// For an object merged member by member from several layers: those layers, lowest first
        /// (`layer` is then the top-most of them); empty otherwise.
        public let mergedFrom: [ConfigAddress]

        init(layer: ConfigAddress, version: Int64, overrides: [ConfigAddress], deleted: Bool, mergedFrom: [ConfigAddress] = []) {
            self.layer = layer
            self.version = version
            self.overrides = overrides
            self.deleted = deleted
            self.mergedFrom = mergedFrom
        }
    }

    /// The origin of the value at `path` (top-level key first, then object members), given the
    /// opened layers lowest first; nil when no layer mentions it.
    public static func origin(ofValue path: [String], in layers: [(address: ConfigAddress, version: Int64, config: Config)]) -> Origin? {
        var setters: [(ConfigAddress, Int64, Bool)] = []
        for l in layers {
            var node: ConfigValue? = .object(l.config.values)
            var reached = true
            for (i, key) in path.enumerated() {
                guard case .object(let members)? = node, let next = members[key] else { reached = false; break }
                node = next
                // A non-object (or null) above the end of the path replaces or deletes the whole subtree.
                if i < path.count - 1, next.objectValue == nil { setters.append((l.address, l.version, next == .null)); reached = false; break }
            }
            if reached, let node { setters.append((l.address, l.version, node == .null)) }
        }
        guard let last = setters.last else { return nil }
        // Objects merge: the run of object-valued setters at the top all contribute.
        var merged: [ConfigAddress] = []
        for l in layers where setters.contains(where: { $0.0 == l.address }) {
            if case .object? = value(at: path, in: l.config) { merged.append(l.address) } else { merged.removeAll() }
        }
        return Origin(layer: last.0, version: last.1, overrides: setters.dropLast().map(\.0), deleted: last.2,
                      mergedFrom: merged.count > 1 ? merged : [])
    }

    static func value(at path: [String], in config: Config) -> ConfigValue? {
        var node: ConfigValue = .object(config.values)
        for key in path {
            guard case .object(let members) = node, let next = members[key] else { return nil }
            node = next
        }
        return node
    }

    /// The origin of file `name`; nil when no layer mentions it.
    public static func origin(ofFile name: String, in layers: [(address: ConfigAddress, version: Int64, config: Config)]) -> Origin? {
        var setters: [(ConfigAddress, Int64, Bool)] = []
        for l in layers {
            if l.config.files[name] != nil { setters.append((l.address, l.version, false)) }
            else if l.config.deletedFiles.contains(name) { setters.append((l.address, l.version, true)) }
        }
        guard let last = setters.last else { return nil }
        return Origin(layer: last.0, version: last.1, overrides: setters.dropLast().map(\.0), deleted: last.2)
    }
}

extension ConfigAddress {
    /// True for a service's base layer (`--env base`).
    public var isBaseLayer: Bool { env == Layering.baseEnv }

    /// The layers below this one, lowest first: none for `base`; `base` for an env; `base` and the
    /// env for a variant.
    public var lowerLayers: [ConfigAddress] {
        if isBaseLayer { return [] }
        // The names were validated when `self` was made.
        let base = try! ConfigAddress(service: service, env: Layering.baseEnv)
        guard variant != nil else { return [base] }
        return [base, try! ConfigAddress(service: service, env: env)]
    }
}
