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
