/// A service's schema as svcconf uses it: a JSON Schema (2020-12) of the config's values, plus
/// svcconf's `x-files` extension for its named files.
///
/// ```json
/// {"type": "object", "properties": {"PORT": {"type": "integer"}, "DB_PASSWORD": {"type": "string", "writeOnly": true}},
///  "x-files": {"type": "object", "required": ["apps.yaml"],
///              "properties": {"apps.yaml": {"contentMediaType": "application/yaml", "contentSchema": {"$ref": "#/$defs/apps"}},
///                             "server.key": {"writeOnly": true}}}}
/// ```
/// - The document root validates the values object (top-level keys are environment variables).
/// - `x-files` is a schema of the object mapping file names to their contents; it may refer to the
///   root's `$defs`. A file whose property has `contentMediaType` `application/json` or
///   `application/yaml` is parsed and its content checked against `contentSchema` (svcconf asserts
///   what 2020-12 leaves as an annotation); other files count as strings when they are UTF-8 text.
/// - Formats are asserted (`uri`, `email`, `hostname`, ...): a config tool that let a malformed URL
///   through would not be checking much.
/// - Secrets: `writeOnly: true` or `x-secret: true` make a value (or file) secret. A value or file the
///   schema does not describe stays secret; everything it describes without marking it is shown.
/// - The digest is the SHA-256 of the canonical JSON of the document; every sealed version records
///   the digest of the schema it was validated against.
public struct ServiceSchema: Sendable {
    /// The schema document.
    public let document: ConfigValue
    /// The canonical JSON bytes (what the store keeps).
    public let canonicalBytes: [UInt8]
    /// SHA-256 of ``canonicalBytes``.
    public let digest: Digest
    let values: SchemaValidator
    let files: SchemaValidator?
    let fileProperties: [String: ConfigValue]
    /// Content schemas by file name: documents, compiled when a check needs them (exec without a
    /// YAML parser never compiles the YAML ones).
    let contentSchemas: [String: ConfigValue]
    let describedKeys: Set<String>
    /// `additionalProperties` / `unevaluatedProperties` is a schema: it describes every other key.
    let describesAnyKey: Bool
    /// The root's `patternProperties` patterns: they describe the keys they match (and only those).
    let describedPatterns: [ECMARegex]

    /// Parses and compiles a schema: checks it against the 2020-12 metaschema (errors say where).
    public init(document: ConfigValue) throws(SvcConfError) {
        try self.init(document: document, checkAgainstMetaschema: true)
    }

    /// `checkAgainstMetaschema: false` is for schemas read back from the store at container start:
    /// they were checked when set, and compiling the metaschema would double exec's start-up time.
    /// The compiler itself refuses what it cannot compile, so a schema planted in the store without
    /// the check can make exec refuse, never crash.
    init(document: ConfigValue, checkAgainstMetaschema: Bool) throws(SvcConfError) {
        guard case .object(let root) = document else {
            throw SvcConfError(.invalidInput, "a service schema must be a JSON object")
        }
        self.document = document
        canonicalBytes = JSON.canonical(document)
        digest = Digest(of: canonicalBytes)
        let options = SchemaValidator.Options(assertFormat: true)
        values = try Self.compile(document, options: options, checkAgainstMetaschema: checkAgainstMetaschema)
        // Which top-level keys the schema describes (the rest stay secret).
        if case .object(let props)? = root["properties"] { describedKeys = Set(props.keys) } else { describedKeys = [] }
        let additional = root["additionalProperties"] ?? root["unevaluatedProperties"]
        describesAnyKey = additional.map { $0 != .bool(true) && $0 != .bool(false) } ?? false
        // A pattern that does not compile (the validator refused the schema already) describes nothing.
        describedPatterns = (root["patternProperties"]?.objectValue ?? [:]).keys.sorted().compactMap { try? ECMARegex($0) }
        guard let x = root["x-files"] else {
            files = nil
            fileProperties = [:]
            contentSchemas = [:]
            return
        }
        guard case .object(var filesDoc) = x else { throw SvcConfError(.invalidInput, "schema /x-files must be a schema object") }
        // x-files may refer to the root's $defs: give its document the same $defs and base.
        for k in ["$defs", "$schema", "$id"] where filesDoc[k] == nil { filesDoc[k] = root[k] }
        do {
            files = try Self.compile(.object(filesDoc), options: options, checkAgainstMetaschema: checkAgainstMetaschema)
        } catch {
            throw SvcConfError(error.kind, error.message.replacingFirst("schema", with: "schema /x-files"), hint: error.hint)
        }
        var props: [String: ConfigValue] = [:]
        if case .object(let p)? = filesDoc["properties"] { props = p }
        fileProperties = props
        var content: [String: ConfigValue] = [:]
        for (name, prop) in props {
            guard let cs = prop["contentSchema"], let mt = prop["contentMediaType"]?.stringValue,
                  mt == "application/json" || mt == "application/yaml" else { continue }
            var doc = cs
            if case .object(var o) = cs {
                for k in ["$defs", "$schema", "$id"] where o[k] == nil { o[k] = root[k] }
                doc = .object(o)
            }
            // Checked now when the schema is being set; read back from the store, compiled on use.
            if checkAgainstMetaschema { _ = try Self.compileContent(doc, file: name, checkAgainstMetaschema: true) }
            content[name] = doc
        }
        contentSchemas = content
    }

    /// Compiles with the standard registry (the embedded metaschemas) when checking; without the
    /// check, first with an empty registry, which spares parsing the metaschemas at container start,
    /// and with the standard one when the schema refers to them.
    static func compile(_ doc: ConfigValue, options: SchemaValidator.Options, checkAgainstMetaschema: Bool) throws(SvcConfError) -> SchemaValidator {
        if !checkAgainstMetaschema,
           let v = try? SchemaValidator(schema: doc, options: options, registry: SchemaRegistry(), checkAgainstMetaschema: false) {
            return v
        }
        return try SchemaValidator(schema: doc, options: options, registry: .standard, checkAgainstMetaschema: checkAgainstMetaschema)
    }

    static func compileContent(_ doc: ConfigValue, file name: String, checkAgainstMetaschema: Bool) throws(SvcConfError) -> SchemaValidator {
        do {
            return try compile(doc, options: SchemaValidator.Options(assertFormat: true), checkAgainstMetaschema: checkAgainstMetaschema)
        } catch {
            throw SvcConfError(error.kind, "schema /x-files/properties/\(name)/contentSchema: \(error.message)")
        }
    }

    /// Parses a schema document from its JSON bytes.
    public init(bytes: [UInt8]) throws(SvcConfError) {
        try self.init(bytes: bytes, checkAgainstMetaschema: true)
    }

    init(bytes: [UInt8], checkAgainstMetaschema: Bool) throws(SvcConfError) {
        let v: ConfigValue
        do { v = try JSON.parse(bytes) } catch { throw SvcConfError(.invalidInput, "schema: \(error)") }
        try self.init(document: v, checkAgainstMetaschema: checkAgainstMetaschema)
    }

    /// The media type a file's schema declares (`contentMediaType`), if any.
    public func mediaType(ofFile name: String) -> String? { fileProperties[name]?["contentMediaType"]?.stringValue }

    /// True when checking the files needs a YAML parser (some file is `application/yaml` with a
    /// `contentSchema`).
    public var needsYAML: Bool { contentSchemas.keys.contains { mediaType(ofFile: $0) == "application/yaml" } }

    // MARK: validation

    /// One problem found by ``validate(_:parseYAML:)``.
    public struct Issue: Sendable, Equatable, CustomStringConvertible {
        /// The file the problem is in, or nil for the values.
        public let file: String?
        /// The validator's error (instance location relative to the values or the file's content).
        public let error: ValidationError
        /// `/PORT: must be at most 65535` or `file apps.yaml: /categories/0: ...`.
        public var description: String {
            (file.map { "file \($0): " } ?? "") + error.description + " [\(error.keyword) at \(error.schemaLocation)]"
        }
    }

    /// Every problem with `config`. `parseYAML` turns a YAML file into a value; without it (the
    /// container launcher has no YAML parser) YAML file contents are not checked.
    public func validate(_ config: Config, parseYAML: ((String, [UInt8]) throws -> ConfigValue)? = nil) -> [Issue] {
        var issues = values.validate(.object(config.values)).errors.map { Issue(file: nil, error: $0) }
        guard let files else { return issues }
        var instance: [String: ConfigValue] = [:]
        for (name, bytes) in config.files {
            let text = String(validating: bytes, as: UTF8.self)
            instance[name] = text.map { .string($0) } ?? .string("")
            guard let contentDoc = contentSchemas[name] else { continue }
            if mediaType(ofFile: name) == "application/yaml" && parseYAML == nil { continue }
            let content: SchemaValidator
            do {
                content = try Self.compileContent(contentDoc, file: name, checkAgainstMetaschema: false)
            } catch {
                issues.append(Issue(file: name, error: ValidationError(instanceLocation: "", keyword: "contentSchema",
                                                                       schemaLocation: "#/x-files/properties/\(name)/contentSchema",
                                                                       message: "cannot be checked: \(error.message)")))
                continue
            }
            let parsed: ConfigValue
            do {
                switch mediaType(ofFile: name) {
                case "application/json":
                    parsed = try JSON.parse(bytes)
                case "application/yaml":
                    guard let parseYAML else { continue }
                    parsed = try parseYAML(name, bytes)
                default:
                    continue
                }
            } catch let e as SvcConfError {
                issues.append(Issue(file: name, error: ValidationError(instanceLocation: "", keyword: "contentMediaType",
                                                                       schemaLocation: "#/x-files/properties/\(name)/contentMediaType",
                                                                       message: "does not parse: \(e.message)")))
                continue
            } catch {
                issues.append(Issue(file: name, error: ValidationError(instanceLocation: "", keyword: "contentMediaType",
                                                                       schemaLocation: "#/x-files/properties/\(name)/contentMediaType",
                                                                       message: "does not parse as \(mediaType(ofFile: name) ?? "")")))
                continue
            }
            issues += content.validate(parsed).errors.map { Issue(file: name, error: $0) }
        }
        issues += files.validate(.object(instance)).errors.map { e in
            Issue(file: nil, error: ValidationError(instanceLocation: "(files)" + e.instanceLocation, keyword: e.keyword,
                                                    schemaLocation: e.schemaLocation.replacingFirst("#", with: "#/x-files"),
                                                    message: e.message))
        }
        return issues
    }

    // MARK: secrecy

    /// What is secret in these configs (the sides of a diff, or one config): a value is secret when
    /// the schema marks it (statically or by annotation on any of the configs) or does not describe it.
    public func secrecy(for configs: [Config]) -> any SecrecyPolicy {
        var annotated: [[String]] = []
        for c in configs { annotated += values.validate(.object(c.values)).secretLocations }
        return SchemaSecrecy(schema: self, annotated: Set(annotated), valueSecrets: values.secretPaths(),
                             fileSecrets: files?.secretPaths())
    }

    struct SchemaSecrecy: SecrecyPolicy {
        let schema: ServiceSchema
        /// Locations annotated secret; a path is secret when it or one of its prefixes is here (a set:
        /// a config with thousands of secrets is looked up per prefix, not scanned per value).
        let annotated: Set<[String]>
        let valueSecrets: SecretPaths
        let fileSecrets: SecretPaths?

        func isSecret(valuePath path: [String]) -> Bool {
            guard let top = path.first else { return true }
            if !schema.describedKeys.contains(top) && !schema.describesAnyKey
                && !schema.describedPatterns.contains(where: { $0.matches(top) }) { return true }
            if valueSecrets.isSecret(path) { return true }
            if annotated.isEmpty { return false }
            for n in 0...path.count where annotated.contains(Array(path.prefix(n))) { return true }
            return false
        }

        func isSecret(file name: String) -> Bool {
            guard let prop = schema.fileProperties[name] else { return true }
            if prop["writeOnly"] == .bool(true) || prop["x-secret"] == .bool(true) { return true }
            return fileSecrets?.isSecret([name]) ?? true
        }
    }

    // MARK: input typing

    /// Values as the schema types them: a string (from a dotenv file or `KEY=VALUE`) becomes an
    /// integer, number or boolean when the schema's top-level property for that key asks for that
    /// type, does not also allow strings, and the text is exactly such a literal (`8080`, `true`).
    /// Everything else is left as it is (validation then reports what is wrong).
    public func coerce(_ values: [String: ConfigValue]) -> [String: ConfigValue] {
        guard case .object(let props)? = document["properties"] else { return values }
        var out = values
        for (key, value) in values {
            guard case .string(let text) = value, let prop = props[key] else { continue }
            let types = declaredTypes(prop)
            guard !types.isEmpty, !types.contains("string") else { continue }
            if types.contains("integer"), let i = Int64(text), String(i) == text {
                out[key] = .int(i)
            } else if types.contains("number"), !text.unicodeScalars.contains(where: { " \t\n\r".unicodeScalars.contains($0) }),
                      let parsed = try? JSON.parse(text), case .number = parsed {
                out[key] = parsed
            } else if types.contains("boolean"), text == "true" || text == "false" {
                out[key] = .bool(text == "true")
            } else if types.contains("array") || types.contains("object"), let parsed = try? JSON.parse(text),
                      types.contains(parsed.typeName == "array" ? "array" : "object"), parsed.typeName == "array" || parsed.typeName == "object" {
                out[key] = parsed
            }
        }
        return out
    }

    /// The `type`s a property schema declares, following one local `$ref` to `#/$defs/...`.
    func declaredTypes(_ prop: ConfigValue, depth: Int = 0) -> Set<String> {
        if case .string(let t)? = prop["type"] { return [t] }
        if case .array(let ts)? = prop["type"] { return Set(ts.compactMap(\.stringValue)) }
        if depth < 8, case .string(let ref)? = prop["$ref"], ref.hasPrefix("#/$defs/"),
           let target = document["$defs"]?[String(ref.dropFirst(8))] {
            return declaredTypes(target, depth: depth + 1)
        }
        return []
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = firstRange(of: target) else { return self }
        var s = self
        s.replaceSubrange(r, with: replacement)
        return s
    }
}

extension ServiceSchema.Issue {
    /// `{"file": ..., "instanceLocation": ..., "keyword": ..., "schemaLocation": ..., "message": ...}`.
    public var jsonValue: ConfigValue {
        .object(["file": file.map { .string($0) } ?? .null, "instanceLocation": .string(error.instanceLocation),
                 "keyword": .string(error.keyword), "schemaLocation": .string(error.schemaLocation),
                 "message": .string(error.message)])
    }
}
