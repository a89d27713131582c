/// A compiled JSON Schema (draft 2020-12) validator: compile once, validate any number of instances,
/// from any number of threads.
///
/// All vocabularies of draft 2020-12 are implemented: core (`$ref`, `$dynamicRef`/`$dynamicAnchor`,
/// `$anchor`, `$id`, `$defs`, `$vocabulary` of custom metaschemas), applicator, unevaluated,
/// validation, meta-data, content (annotations only) and format (an annotation unless
/// ``Options/assertFormat`` is set or the schema's metaschema enables the format-assertion
/// vocabulary). References resolve only inside the schema and the ``SchemaRegistry``; nothing is
/// fetched from the network.
///
/// Compiling checks the schema against its metaschema (the embedded draft 2020-12 metaschema unless
/// `$schema` names another one in the registry) and refuses it, with the location, when it is invalid,
/// when a reference cannot be resolved, when a pattern is not an ECMA-262 regular expression, or when
/// references form a cycle that never descends into the instance (`{"$ref": "#"}`).
///
/// Validation messages never quote instance values (they may be secrets): they quote only what the
/// schema says (limits, patterns, type and property names).
///
/// Details: unknown keywords (such as `x-secret`) are annotations and otherwise ignored; `pattern`,
/// `patternProperties` and format `regex` use ECMA-262 semantics (see `ECMARegex`); member names
/// match `properties` by code points; `multipleOf` is exact for decimals; a resource reached by `$ref`
/// that declares draft 2019-09 (or older) is read with that draft's `items`/`additionalItems`, best
/// effort, while a schema that itself declares an older `$schema` is refused.
public struct SchemaValidator: Sendable {
    /// Compilation and evaluation settings.
    public struct Options: Sendable {
        /// Make `format` an assertion (draft 2020-12 makes it an annotation by default).
        public var assertFormat: Bool
        /// Deepest nesting of subschema evaluations (each `$ref`, `allOf` branch, `properties` member,
        /// array item... counts one). Deeper instances fail with a "nested too deeply" error instead of
        /// exhausting the stack: each level takes under 1 KB of stack in a release build (about 3 KB
        /// in a debug build), so the default, 512, fits a 512 KiB thread stack. Realistic configs and
        /// schemas need a few dozen levels.
        public var maxDepth: Int

        /// Creates options.
        public init(assertFormat: Bool = false, maxDepth: Int = 512) {
            self.assertFormat = assertFormat
            self.maxDepth = maxDepth
        }
    }

    let program: SchemaProgram
    /// The options the validator was compiled with.
    public let options: Options
    /// The compiled schema document.
    public let schema: ConfigValue
    let registry: SchemaRegistry

    /// Compiles `schema`.
    /// - Throws: `SvcConfError` (`.invalidInput`) "schema is invalid: LOCATION: REASON" when the
    ///   schema does not satisfy its metaschema, names an unknown `$schema`, requires an unknown
    ///   vocabulary, has an unresolvable or cyclic reference, or a pattern that does not compile.
    public init(schema: ConfigValue, options: Options = .init(), registry: SchemaRegistry = .standard) throws(SvcConfError) {
        try self.init(schema: schema, options: options, registry: registry, checkAgainstMetaschema: true)
    }

    init(schema: ConfigValue, options: Options, registry: SchemaRegistry, checkAgainstMetaschema: Bool) throws(SvcConfError) {
        var dialect = SchemaDialect.draft2020
        if case .object(let o) = schema, let s = o["$schema"] {
            guard case .string(let uri) = s else { throw Self.invalid("#/$schema", "must be a URI string") }
            let meta = SchemaScanner.normalizedMetaURI(uri)
            if SchemaDialect.legacyURIs.contains(meta) {
                throw Self.invalid("#/$schema", "\(uri) is not supported: svcconf schemas use JSON Schema draft 2020-12 (\(SchemaDialect.uri2020))")
            }
            if meta != SchemaDialect.uri2020 {
                guard let d = registry.dialect(forMetaschema: meta) else {
                    throw Self.invalid("#/$schema", "unknown metaschema \(uri) (only draft 2020-12 and schemas in the registry are known)")
                }
                let unknown = registry.unknownRequiredVocabularies(forMetaschema: meta)
                if !unknown.isEmpty {
                    throw Self.invalid("#/$schema", "the metaschema requires vocabularies this validator does not know: \(unknown.joined(separator: ", "))")
                }
                dialect = d
            }
            if checkAgainstMetaschema {
                if meta == SchemaDialect.uri2020 {
                    try Self.check(schema, against: Self.metaschema2020)
                } else {
                    guard let (_, metaDoc) = registry.lookup(meta) else {
                        throw Self.invalid("#/$schema", "unknown metaschema \(uri)")
                    }
                    let metaValidator = try SchemaValidator(schema: metaDoc, options: .init(), registry: registry, checkAgainstMetaschema: false)
                    try Self.check(schema, against: metaValidator)
                }
            }
        } else if checkAgainstMetaschema {
            try Self.check(schema, against: Self.metaschema2020)
        }
        var compiler = SchemaCompiler(registry: registry, assertFormat: options.assertFormat)
        do {
            program = try compiler.compile(root: schema, dialect: dialect)
        } catch {
            throw Self.invalid(error.location, error.reason)
        }
        self.options = options
        self.schema = schema
        self.registry = registry
    }

    /// The draft 2020-12 metaschema, compiled once per process.
    static let metaschema2020: SchemaValidator = {
        guard let (_, doc) = SchemaRegistry.standard.lookup(SchemaDialect.uri2020),
              let v = try? SchemaValidator(schema: doc, options: .init(), registry: .standard, checkAgainstMetaschema: false)
        else { fatalError("the embedded draft 2020-12 metaschema does not compile") }
        return v
    }()

    static func invalid(_ location: String, _ reason: String) -> SvcConfError {
        SvcConfError(.invalidInput, "schema is invalid: \(location): \(reason)",
                     hint: "svcconf schemas are JSON Schema draft 2020-12 documents")
    }

    private static func check(_ schema: ConfigValue, against meta: SchemaValidator) throws(SvcConfError) {
        let r = meta.validate(schema)
        guard let first = r.errors.first else { return }
        // the vocabulary metaschemas repeat some checks (`type` seven times): count distinct failures
        var distinct = Set<String>()
        for e in r.errors { distinct.insert(e.instanceLocation + "\u{0}" + e.message) }
        let n = distinct.count
        let more = n > 1 ? " (and \(n - 1) more error\(n == 2 ? "" : "s"))" : ""
        throw invalid("#" + first.instanceLocation, first.message + more)
    }

    /// Validates `instance`: every error (sorted by instance location), and the locations that the
    /// schema marks secret (`"writeOnly": true` or `"x-secret": true`) as annotations.
    public func validate(_ instance: ConfigValue) -> ValidationResult {
        var ev = SchemaEvaluator(program: program, maxDepth: options.maxDepth, collect: true)
        _ = ev.eval(program.root.node, instance, nil)
        if ev.depthExceeded && !ev.errors.contains(where: { $0.message.hasPrefix("is nested too deeply") }) {
            ev.errors.append(ValidationError(instanceLocation: "", keyword: "", schemaLocation: program.root.node.location,
                                             message: "is nested too deeply: evaluation stopped at depth \(options.maxDepth)"))
            ev.errorPaths.append([])
        }
        var errors = ev.errors
        if errors.count > 1 {
            let order = ev.errorPaths.indices.sorted { a, b in
                if InstanceStep.precedes(ev.errorPaths[a], ev.errorPaths[b]) { return true }
                if InstanceStep.precedes(ev.errorPaths[b], ev.errorPaths[a]) { return false }
                return a < b
            }
            errors = order.map { ev.errors[$0] }
        }
        var secret = ev.secrets
        if secret.count > 1 {
            secret.sort { InstanceStep.precedes($0, $1) }
            var unique: [[InstanceStep]] = [secret[0]]
            for p in secret.dropFirst() where p != unique[unique.count - 1] { unique.append(p) }
            secret = unique
        }
        return ValidationResult(errors: errors, secretLocations: secret.map { $0.map { $0.text } })
    }

    /// True when `instance` is valid. Faster than ``validate(_:)``: stops at the first failure and
    /// collects nothing.
    public func isValid(_ instance: ConfigValue) -> Bool {
        var ev = SchemaEvaluator(program: program, maxDepth: options.maxDepth, collect: false)
        // exceeding the depth limit anywhere (even in an anyOf alternative) fails, as in validate()
        return ev.eval(program.root.node, instance, nil) && !ev.depthExceeded
    }
}

/// The outcome of ``SchemaValidator/validate(_:)``.
public struct ValidationResult: Sendable, Equatable {
    /// Every failed assertion, sorted by instance location; empty when the instance is valid.
    public let errors: [ValidationError]
    /// Instance locations (top-level key first, array indices as decimal strings) annotated secret by
    /// `"writeOnly": true` or `"x-secret": true` in a subschema that applied to them.
    ///
    /// Annotations of subschemas whose failure does not fail the instance are dropped, as the
    /// specification says: a failed `anyOf`/`oneOf` branch, a failed `if`, the `not` subschema, a
    /// `contains` subschema on items it does not match. Where the instance is invalid anyway the
    /// specification would drop everything up to the root; this keeps the annotations of other failing
    /// subschemas instead, because for secrecy marking too much is the safe side.
    public let secretLocations: [[String]]

    /// True when there are no errors.
    public var isValid: Bool { errors.isEmpty }

    /// True when `path`, or a location that contains it, is secret.
    public func isSecret(_ path: [String]) -> Bool {
        secretLocations.contains { $0.count <= path.count && Array(path.prefix($0.count)) == $0 }
    }
}

/// One failed assertion.
public struct ValidationError: Sendable, Equatable, CustomStringConvertible {
    /// JSON Pointer to the failing value in the instance ("" for the whole instance).
    public let instanceLocation: String
    /// The keyword that failed (`type`, `required`, `additionalProperties`, ...; `false` for a false
    /// schema, "" when evaluation stopped at the depth limit).
    public let keyword: String
    /// Where the keyword is: `#/json/pointer` in the schema (or `URI#/pointer` in a registry document).
    public let schemaLocation: String
    /// A plain sentence without the instance value, e.g. "must be at most 65535".
    public let message: String

    /// Creates an error.
    public init(instanceLocation: String, keyword: String, schemaLocation: String, message: String) {
        self.instanceLocation = instanceLocation
        self.keyword = keyword
        self.schemaLocation = schemaLocation
        self.message = message
    }

    /// "/http_port: must be at most 65535" ("(root)" for the whole instance).
    public var description: String {
        (instanceLocation.isEmpty ? "(root)" : instanceLocation) + ": " + message
    }
}
