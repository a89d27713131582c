/// One service+env(+variant) configuration: a tree of values whose top-level keys become environment
/// variables at container start, plus named files (certificates, `apps.yaml`, SAML metadata).
public struct Config: Sendable, Equatable {
    /// Top-level values. Keys are what `exec` exports as environment variables.
    public var values: [String: ConfigValue]
    /// Named files, by file name (no directories).
    public var files: [String: [UInt8]]
    /// Layers only: names of files this layer removes from the layers below it (see ``Layering``).
    /// Always empty in a merged config.
    public var deletedFiles: Set<String>

    /// Memberwise initializer.
    public init(values: [String: ConfigValue] = [:], files: [String: [UInt8]] = [:], deletedFiles: Set<String> = []) {
        self.values = values
        self.files = files
        self.deletedFiles = deletedFiles
    }

    /// True when the config holds neither values nor files (nor file deletions).
    public var isEmpty: Bool { values.isEmpty && files.isEmpty && deletedFiles.isEmpty }
}

extension Config {
    /// The plaintext document `{"values": ..., "files": ...}`: files as text when valid UTF-8,
    /// otherwise as `{"base64": ...}`.
    public var revealedDocument: ConfigValue {
        var files: [String: ConfigValue] = [:]
        for (n, b) in self.files {
            if let s = String(validating: b, as: UTF8.self) { files[n] = .string(s) } else { files[n] = .object(["base64": .string(Base64.encode(b))]) }
        }
        return .object(["values": .object(values), "files": .object(files)])
    }
}

extension Config {
    /// Reads a layer's content from the document `{"values": {...}, "files": {NAME: TEXT | {"base64": ...}},
    /// "deletedFiles": [NAME...]}` (each member optional; `null` is an empty layer): what `edit`'s
    /// buffer and the server's PUT body hold. `source` names the input in messages (never a value).
    public init(layerDocument doc: ConfigValue, source: String, allowedExtraMembers: Set<String> = []) throws(SvcConfError) {
        self.init()
        if doc == .null { return }
        guard case .object(let o) = doc else { throw SvcConfError(.invalidInput, "\(source) must be a mapping with values, files and deletedFiles") }
        for k in o.keys where !["values", "files", "deletedFiles"].contains(k) && !allowedExtraMembers.contains(k) {
            throw SvcConfError(.invalidInput, "\(source) has an unknown member \(Names.quoted(k))",
                               hint: "only " + (["values", "files", "deletedFiles"] + allowedExtraMembers.sorted()).joined(separator: ", "))
        }
        switch o["values"] {
        case nil, .null?: break
        case .object(let v)?: values = v
        default: throw SvcConfError(.invalidInput, "values must be a mapping of keys to values")
        }
        switch o["files"] {
        case nil, .null?: break
        case .object(let f)?:
            for (name, v) in f {
                switch v {
                case .string(let s): files[name] = Array(s.utf8)
                case .object(let b) where b.count == 1:
                    guard case .string(let b64)? = b["base64"], let data = Base64.decode(b64) else {
                        throw SvcConfError(.invalidInput, "file \(Names.quoted(name)): expected text or {base64: ...}")
                    }
                    files[name] = data
                default: throw SvcConfError(.invalidInput, "file \(Names.quoted(name)): expected text or {base64: ...}")
                }
            }
        default: throw SvcConfError(.invalidInput, "files must be a mapping of file names to contents")
        }
        switch o["deletedFiles"] {
        case nil, .null?: break
        case .array(let names)?:
            for n in names {
                guard case .string(let name) = n, Names.isValidFileName(name) else { throw SvcConfError(.invalidInput, "deletedFiles must list file names") }
                deletedFiles.insert(name)
            }
        default: throw SvcConfError(.invalidInput, "deletedFiles must be a list of file names")
        }
        if let both = deletedFiles.intersection(files.keys).sorted().first {
            throw SvcConfError(.invalidInput, "file \(Names.quoted(both)) is both in files and deletedFiles")
        }
    }
}
