/// The plaintext sealed inside a version: the config and the service's fingerprint key.
///
/// Canonical encoding (the GCM plaintext): a JSON object with exactly the members
/// `files` (file name to base64 contents), `fingerprintKey` (base64 of 32 bytes) and `values`, plus
/// `deletedFiles` (sorted file names, only when non-empty: a layer's file deletions), written by
/// ``JSON/canonical(_:)``.
struct Payload: Sendable, Equatable {
    var config: Config
    /// Key of the keyed fingerprints that redacted views show; carried from version to version so the
    /// same value keeps the same fingerprint. Never shown.
    var fingerprintKey: [UInt8]

    func encoded() -> [UInt8] {
        var files: [String: ConfigValue] = [:]
        for (k, v) in config.files { files[k] = .string(Base64.encode(v)) }
        var members: [String: ConfigValue] = [
            "files": .object(files),
            "fingerprintKey": .string(Base64.encode(fingerprintKey)),
            "values": .object(config.values),
        ]
        if !config.deletedFiles.isEmpty { members["deletedFiles"] = .array(config.deletedFiles.sorted().map { .string($0) }) }
        return JSON.canonical(.object(members))
    }

    /// Deepest nesting of the payload document: the values may nest as deep as any input reader
    /// allows (512) plus the levels the payload and a `KEY:=JSON` assignment add.
    static let maxDepth = 520

    static func decode(_ bytes: [UInt8]) throws(SvcConfError) -> Payload {
        let v: ConfigValue
        do {
            v = try JSON.parse(bytes, limits: .init(maxDepth: maxDepth, maxBytes: SealedCodec.maxCiphertextBytes, rejectDuplicateKeys: true))
        } catch {
            throw .tampered("sealed payload is not valid JSON (\(error.reason))")
        }
        guard JSON.canonical(v) == bytes else { throw .tampered("sealed payload is not in canonical form") }
        guard case .object(let o) = v, o.count == (o["deletedFiles"] == nil ? 3 : 4),
              case .object(let files)? = o["files"], case .object(let values)? = o["values"],
              case .string(let fk)? = o["fingerprintKey"], let fpKey = Base64.decode(fk), fpKey.count == 32
        else { throw .tampered("sealed payload does not have the expected structure") }
        var config = Config(values: values, files: [:])
        if let deleted = o["deletedFiles"] {
            guard case .array(let names) = deleted, !names.isEmpty else { throw .tampered("sealed payload has a malformed deletedFiles member") }
            var previous: String?
            for n in names {
                guard case .string(let name) = n, Names.isValidFileName(name), files[name] == nil,
                      previous.map({ Array($0.utf8).lexicographicallyPrecedes(Array(name.utf8)) }) ?? true
                else { throw .tampered("sealed payload has a malformed deletedFiles member") }
                previous = name
                config.deletedFiles.insert(name)
            }
        }
        for (name, content) in files {
            guard Names.isValidFileName(name), case .string(let b64) = content, let data = Base64.decode(b64) else {
                throw .tampered("sealed payload has a malformed file entry")
            }
            config.files[name] = data
        }
        return Payload(config: config, fingerprintKey: fpKey)
    }
}
