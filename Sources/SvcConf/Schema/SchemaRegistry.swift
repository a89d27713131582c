/// The schemas a ``SchemaValidator`` may resolve `$ref`, `$dynamicRef` and `$schema` against, by absolute
/// URI. Nothing is ever fetched from the network: a reference to a URI that is not in the schema
/// itself or in the registry is a compile error.
///
/// ``standard`` holds the draft 2020-12 metaschema and its vocabulary metaschemas (embedded in the
/// binary). Add more with ``adding(uri:schema:)`` (e.g. shared definitions, or the test suite's
/// `remotes/`). A registry is an immutable value; `adding` returns a new one.
public struct SchemaRegistry: Sendable {
    /// Documents by retrieval URI (absolute, no fragment).
    var documents: [String: ConfigValue]
    /// Every `$id` inside a document (resolved, no fragment) → the retrieval URI of its document.
    var embedded: [String: String]

    /// A registry with nothing in it (not even the metaschemas: schemas compiled with it must not say
    /// `$schema` or refer to the metaschemas).
    public init() {
        documents = [:]
        embedded = [:]
    }

    /// The draft 2020-12 metaschema and vocabulary metaschemas.
    public static let standard: SchemaRegistry = {
        var r = SchemaRegistry()
        for (uri, text) in Metaschemas.all {
            // The embedded documents are the published metaschemas; they always parse.
            guard let doc = try? JSON.parse(text) else { fatalError("embedded metaschema \(uri) does not parse") }
            r.insert(uri: uri, document: doc)
        }
        return r
    }()

    /// This registry plus `schema`, retrievable as `uri` (an absolute URI; a fragment is not allowed)
    /// and under every `$id` inside it.
    /// - Throws: `SvcConfError` (`.invalidInput`) when `uri` is not absolute or has a non-empty fragment.
    public func adding(uri: String, schema: ConfigValue) throws(SvcConfError) -> SchemaRegistry {
        let u = SchemaURI(parsing: uri)
        guard u.isAbsolute else { throw .invalidInput("schema registry: \(uri) is not an absolute URI") }
        if let f = u.fragment, !f.isEmpty { throw .invalidInput("schema registry: \(uri) has a fragment") }
        var r = self
        r.insert(uri: u.withoutFragment.text, document: schema)
        return r
    }

    /// True when a document is known under `uri` (its retrieval URI or an `$id` inside it).
    public func contains(uri: String) -> Bool {
        let key = SchemaURI(parsing: uri).withoutFragment.text
        return documents[key] != nil || embedded[key] != nil
    }

    mutating func insert(uri: String, document: ConfigValue) {
        documents[uri] = document
        let scan = SchemaScanner.scan(document, retrievalURI: uri, dialect: .draft2020, dialectOf: { _ in nil })
        for res in scan.resources where res.uri != uri {
            embedded[res.uri] = uri
        }
    }

    /// The document that holds the resource `uri` (retrieval URI, document).
    func lookup(_ uri: String) -> (String, ConfigValue)? {
        if let d = documents[uri] { return (uri, d) }
        if let owner = embedded[uri], let d = documents[owner] { return (owner, d) }
        return nil
    }
}

/// The vocabularies of draft 2020-12 that a schema resource uses (from its metaschema's `$vocabulary`).
struct Vocabularies: OptionSet, Hashable, Sendable {
    let rawValue: UInt16
    static let core = Vocabularies(rawValue: 1 << 0)
    static let applicator = Vocabularies(rawValue: 1 << 1)
    static let unevaluated = Vocabularies(rawValue: 1 << 2)
    static let validation = Vocabularies(rawValue: 1 << 3)
    static let metaData = Vocabularies(rawValue: 1 << 4)
    static let formatAnnotation = Vocabularies(rawValue: 1 << 5)
    static let formatAssertion = Vocabularies(rawValue: 1 << 6)
    static let content = Vocabularies(rawValue: 1 << 7)
    static let all2020: Vocabularies = [.core, .applicator, .unevaluated, .validation, .metaData, .formatAnnotation, .content]

    static let byURI: [String: Vocabularies] = [
        "https://json-schema.org/draft/2020-12/vocab/core": .core,
        "https://json-schema.org/draft/2020-12/vocab/applicator": .applicator,
        "https://json-schema.org/draft/2020-12/vocab/unevaluated": .unevaluated,
        "https://json-schema.org/draft/2020-12/vocab/validation": .validation,
        "https://json-schema.org/draft/2020-12/vocab/meta-data": .metaData,
        "https://json-schema.org/draft/2020-12/vocab/format-annotation": .formatAnnotation,
        "https://json-schema.org/draft/2020-12/vocab/format-assertion": .formatAssertion,
        "https://json-schema.org/draft/2020-12/vocab/content": .content,
    ]
}

/// How the keywords of one schema resource are read: the draft and the enabled vocabularies.
struct SchemaDialect: Hashable, Sendable {
    enum Draft: Hashable, Sendable {
        /// Draft 2020-12.
        case d2020
        /// Draft 2019-09 and older (only for resources reached by `$ref`): `items` may be an array,
        /// `additionalItems` applies, `prefixItems` / `$dynamicRef` are unknown keywords.
        case legacy
    }
    var draft: Draft
    var vocab: Vocabularies

    static let draft2020 = SchemaDialect(draft: .d2020, vocab: .all2020)
    static let legacy = SchemaDialect(draft: .legacy, vocab: .all2020)

    static let uri2020 = "https://json-schema.org/draft/2020-12/schema"
    static let legacyURIs: Set<String> = [
        "https://json-schema.org/draft/2019-09/schema", "http://json-schema.org/draft-07/schema",
        "http://json-schema.org/draft-06/schema", "http://json-schema.org/draft-04/schema",
    ]
}

/// A schema location inside a loaded document.
struct SchemaLocation {
    /// The document index (0 = the schema being compiled).
    var doc: Int
    /// JSON Pointer from the document root (escaped, not percent-encoded).
    var pointer: String
    /// The schema there.
    var value: ConfigValue
    /// The base URI (the enclosing resource's URI, no fragment).
    var base: String
    /// How its keywords are read.
    var dialect: SchemaDialect
}

/// Walks a schema document through the keywords that hold subschemas, finding resources (`$id`) and
/// anchors (`$anchor`, `$dynamicAnchor`). Iterative, so a deep document cannot exhaust the stack.
enum SchemaScanner {
    struct Resource {
        var uri: String
        var pointer: String
        var value: ConfigValue
        var dialect: SchemaDialect
    }
    struct Anchor {
        var resource: String
        var name: String
        var pointer: String
        var value: ConfigValue
        var dialect: SchemaDialect
        var dynamic: Bool
    }
    struct Result {
        var resources: [Resource] = []
        var anchors: [Anchor] = []
    }

    /// Keywords whose value is one subschema.
    static let singleKeywords: Set<String> = [
        "additionalProperties", "propertyNames", "items", "contains", "not", "if", "then", "else",
        "unevaluatedItems", "unevaluatedProperties", "contentSchema", "additionalItems",
    ]
    /// Keywords whose value is an object of subschemas.
    static let mapKeywords: Set<String> = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"]
    /// Keywords whose value is an array of subschemas.
    static let arrayKeywords: Set<String> = ["allOf", "anyOf", "oneOf", "prefixItems", "items"]

    /// The subschemas of `obj`, as (pointer suffix tokens, value).
    static func children(_ obj: [String: ConfigValue], dialect: SchemaDialect) -> [([String], ConfigValue)] {
        var out: [([String], ConfigValue)] = []
        for (k, v) in obj {
            if singleKeywords.contains(k), isSchema(v) {
                if k == "additionalItems" && dialect.draft == .d2020 { continue }
                out.append(([k], v))
            } else if mapKeywords.contains(k), case .object(let m) = v {
                for (name, sub) in m where isSchema(sub) { out.append(([k, name], sub)) }
            } else if arrayKeywords.contains(k), case .array(let a) = v {
                if k == "prefixItems" && dialect.draft == .legacy { continue }
                for (i, sub) in a.enumerated() where isSchema(sub) { out.append(([k, String(i)], sub)) }
            }
        }
        return out
    }

    static func isSchema(_ v: ConfigValue) -> Bool {
        switch v {
        case .object, .bool: return true
        default: return false
        }
    }

    /// The dialect a resource root with `$schema` uses (`dialectOf` maps other metaschema URIs).
    static func resourceDialect(of obj: [String: ConfigValue], inherited: SchemaDialect, dialectOf: (String) -> SchemaDialect?) -> SchemaDialect {
        guard case .string(let s)? = obj["$schema"] else { return inherited }
        let key = normalizedMetaURI(s)
        if key == SchemaDialect.uri2020 { return .draft2020 }
        if SchemaDialect.legacyURIs.contains(key) { return .legacy }
        return dialectOf(key) ?? inherited
    }

    /// A `$schema` value without an empty fragment.
    static func normalizedMetaURI(_ s: String) -> String {
        s.hasSuffix("#") ? String(s.dropLast()) : s
    }

    static func scan(_ root: ConfigValue, retrievalURI: String, dialect: SchemaDialect,
                     dialectOf: (String) -> SchemaDialect?) -> Result {
        var result = Result()
        struct Item { var value: ConfigValue; var pointer: String; var base: String; var dialect: SchemaDialect; var isRoot: Bool }
        var stack = [Item(value: root, pointer: "", base: retrievalURI, dialect: dialect, isRoot: true)]
        result.resources.append(Resource(uri: retrievalURI, pointer: "", value: root, dialect: dialect))
        while let item = stack.popLast() {
            guard case .object(let obj) = item.value else { continue }
            var base = item.base
            var d = item.dialect
            if case .string(let id)? = obj["$id"] {
                let resolved = SchemaURI(parsing: base).resolving(SchemaURI(parsing: id)).withoutFragment.text
                d = resourceDialect(of: obj, inherited: d, dialectOf: dialectOf)
                if item.isRoot {
                    result.resources[0].dialect = d
                    if resolved != base { result.resources.append(Resource(uri: resolved, pointer: item.pointer, value: item.value, dialect: d)) }
                } else {
                    result.resources.append(Resource(uri: resolved, pointer: item.pointer, value: item.value, dialect: d))
                }
                base = resolved
            } else if item.isRoot {
                d = resourceDialect(of: obj, inherited: d, dialectOf: dialectOf)
                result.resources[0].dialect = d
            }
            if case .string(let a)? = obj["$anchor"] {
                result.anchors.append(Anchor(resource: base, name: a, pointer: item.pointer, value: item.value, dialect: d, dynamic: false))
            }
            if d.draft == .d2020, case .string(let a)? = obj["$dynamicAnchor"] {
                result.anchors.append(Anchor(resource: base, name: a, pointer: item.pointer, value: item.value, dialect: d, dynamic: true))
            }
            for (suffix, v) in children(obj, dialect: d) {
                var p = item.pointer
                for t in suffix { p += "/" + SchemaPointer.escape(t) }
                stack.append(Item(value: v, pointer: p, base: base, dialect: d, isRoot: false))
            }
        }
        return result
    }
}
