import Foundation
import Testing

@testable import SvcConf

/// Parses JSON text in tests.
private func J(_ text: String) -> ConfigValue {
    do { return try JSON.parse(text) } catch { fatalError("test JSON does not parse: \(error): \(text)") }
}

private func compile(_ schema: String, assertFormat: Bool = false) throws -> SchemaValidator {
    try SchemaValidator(schema: J(schema), options: .init(assertFormat: assertFormat))
}

/// (instanceLocation, keyword, schemaLocation, message) of every error.
private func rows(_ r: ValidationResult) -> [[String]] {
    r.errors.map { [$0.instanceLocation, $0.keyword, $0.schemaLocation, $0.message] }
}

@Suite("Schema errors: every failure, with locations")
struct SchemaErrorReportingTests {
    static let serviceSchema = ##"""
    {
      "type": "object",
      "additionalProperties": false,
      "required": ["name", "port", "database"],
      "properties": {
        "name": {"type": "string", "pattern": "^[a-z]+$"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3, "uniqueItems": true},
        "database": {"$ref": "#/$defs/db"}
      },
      "$defs": {
        "db": {
          "type": "object",
          "required": ["host", "password"],
          "properties": {
            "host": {"type": "string", "minLength": 1},
            "password": {"type": "string", "writeOnly": true, "minLength": 8}
          }
        }
      }
    }
    """##

    @Test("all errors are reported, sorted by instance location, with keyword and schema location")
    func allErrors() throws {
        let v = try compile(Self.serviceSchema)
        let r = v.validate(J(##"{"name":"Bad_Name","port":70000,"tags":["a",1,"a","b"],"database":{"host":"","password":"short"},"extra":true}"##))
        #expect(!r.isValid)
        #expect(rows(r) == [
            ["/database/host", "minLength", "#/$defs/db/properties/host/minLength", "must be at least 1 character long"],
            ["/database/password", "minLength", "#/$defs/db/properties/password/minLength", "must be at least 8 characters long"],
            ["/extra", "additionalProperties", "#/additionalProperties", "is not allowed: the schema does not define this property"],
            ["/name", "pattern", "#/properties/name/pattern", "must match the pattern ^[a-z]+$"],
            ["/port", "maximum", "#/properties/port/maximum", "must be at most 65535"],
            ["/tags", "maxItems", "#/properties/tags/maxItems", "must have at most 3 items"],
            ["/tags", "uniqueItems", "#/properties/tags/uniqueItems", "must not contain duplicate items"],
            ["/tags/1", "type", "#/properties/tags/items/type", "must be of type string, got number"],
        ])
        #expect(v.isValid(J(##"{"name":"x","port":80,"database":{"host":"h","password":"longenough"}}"##)))
    }

    @Test("missing required members are reported at the object, naming the property")
    func required() throws {
        let v = try compile(Self.serviceSchema)
        let r = v.validate(J(##"{"name":"ok","database":{}}"##))
        #expect(rows(r) == [
            ["", "required", "#/required", "is missing the required property \"port\""],
            ["/database", "required", "#/$defs/db/required", "is missing the required property \"host\""],
            ["/database", "required", "#/$defs/db/required", "is missing the required property \"password\""],
        ])
    }

    @Test("JSON Pointers escape ~ and / in member names")
    func pointerEscaping() throws {
        let v = try compile(##"{"additionalProperties": {"type": "integer"}}"##)
        let r = v.validate(J(##"{"a/b~c": "x"}"##))
        #expect(r.errors.map(\.instanceLocation) == ["/a~1b~0c"])
        #expect(r.errors.first?.description == "/a~1b~0c: must be of type integer, got string")
    }

    @Test("isValid and validate agree, and both keep going after the first error only in validate")
    func modesAgree() throws {
        let v = try compile(Self.serviceSchema)
        for text in [##"{}"##, ##"[]"##, ##"{"name":"a","port":1,"database":{"host":"h","password":"12345678"}}"##,
                     ##"{"name":"a","port":"1","database":{"host":"h","password":"12345678"}}"##] {
            #expect(v.isValid(J(text)) == v.validate(J(text)).isValid, "\(text)")
        }
    }

    @Test("anyOf / oneOf failures summarise each alternative")
    func alternatives() throws {
        let v = try compile(##"{"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 10}]}"##)
        #expect(rows(v.validate(J("3"))) == [
            ["", "anyOf", "#/anyOf", "must match at least one of the 2 schemas in anyOf (schema 1: must be of type string, got number; schema 2: must be at least 10)"],
        ])
        let o = try compile(##"{"oneOf": [{"type": "integer"}, {"minimum": 2}]}"##)
        #expect(o.validate(J("5")).errors.map(\.message) == ["must match exactly one of the 2 schemas in oneOf, but matches 2"])
    }

    @Test("formats are annotations unless asserted")
    func formats() throws {
        let annotate = try compile(##"{"format": "email"}"##)
        let assert = try compile(##"{"format": "email"}"##, assertFormat: true)
        #expect(annotate.isValid(J(##""not-an-email""##)))
        #expect(rows(assert.validate(J(##""not-an-email""##))) == [["", "format", "#/format", "must be a valid email"]])
        #expect(assert.isValid(J(##""ops@example.com""##)))
    }

    @Test("errors inside registry documents name the document")
    func registryLocations() throws {
        let reg = try SchemaRegistry.standard.adding(uri: "https://schemas.example/port.json", schema: J(##"{"type": "integer", "maximum": 10}"##))
        let v = try SchemaValidator(schema: J(##"{"properties": {"p": {"$ref": "https://schemas.example/port.json"}}}"##), registry: reg)
        #expect(rows(v.validate(J(##"{"p": 11}"##))) == [["/p", "maximum", "https://schemas.example/port.json#/maximum", "must be at most 10"]])
    }
}

@Suite("Schema messages never quote instance values")
struct SchemaCanaryTests {
    static let canary = "CANARY-7f3a9c-secret"
    static let canaryNumber = "987654.25"

    /// (schema, failing instance) for every keyword; the instance holds the canary string or number.
    static let cases: [(String, String)] = {
        let c = canary, n = canaryNumber
        return [
            (##"{"type": "integer"}"##, "\"\(c)\""),
            (##"{"const": "expected"}"##, "\"\(c)\""),
            (##"{"enum": ["a", "b", "c"]}"##, "\"\(c)\""),
            (##"{"multipleOf": 7}"##, n),
            (##"{"maximum": 10}"##, n),
            (##"{"exclusiveMaximum": 10}"##, n),
            (##"{"minimum": 10000000}"##, n),
            (##"{"exclusiveMinimum": 10000000}"##, n),
            (##"{"maxLength": 3}"##, "\"\(c)\""),
            (##"{"minLength": 100}"##, "\"\(c)\""),
            (##"{"pattern": "^[0-9]+$"}"##, "\"\(c)\""),
            (##"{"maxItems": 1}"##, "[\"\(c)\", \(n)]"),
            (##"{"minItems": 3}"##, "[\"\(c)\", \(n)]"),
            (##"{"uniqueItems": true}"##, "[\"\(c)\", \"\(c)\"]"),
            (##"{"contains": {"type": "boolean"}}"##, "[\"\(c)\", \(n)]"),
            (##"{"contains": {"type": "string"}, "minContains": 2}"##, "[\"\(c)\", \(n)]"),
            (##"{"contains": {"type": "string"}, "maxContains": 1}"##, "[\"\(c)\", \"\(c)\"]"),
            (##"{"maxProperties": 1}"##, "{\"a\": \"\(c)\", \"b\": \(n)}"),
            (##"{"minProperties": 3}"##, "{\"a\": \"\(c)\"}"),
            (##"{"required": ["b"]}"##, "{\"a\": \"\(c)\"}"),
            (##"{"dependentRequired": {"a": ["b"]}}"##, "{\"a\": \"\(c)\"}"),
            (##"{"additionalProperties": false}"##, "{\"a\": \"\(c)\"}"),
            (##"{"properties": {"a": false}}"##, "{\"a\": \"\(c)\"}"),
            (##"{"propertyNames": {"maxLength": 1}}"##, "{\"ab\": \"\(c)\"}"),
            (##"{"dependentSchemas": {"a": {"properties": {"a": {"type": "integer"}}}}}"##, "{\"a\": \"\(c)\"}"),
            (##"{"prefixItems": [{"type": "integer"}]}"##, "[\"\(c)\"]"),
            (##"{"items": {"type": "integer"}}"##, "[\"\(c)\"]"),
            (##"{"allOf": [{"type": "integer"}]}"##, "\"\(c)\""),
            (##"{"anyOf": [{"type": "integer"}, {"maxLength": 2}]}"##, "\"\(c)\""),
            (##"{"oneOf": [{"type": "integer"}, {"maxLength": 2}]}"##, "\"\(c)\""),
            (##"{"oneOf": [{"type": "string"}, {"minLength": 2}]}"##, "\"\(c)\""),
            (##"{"not": {"type": "string"}}"##, "\"\(c)\""),
            (##"{"if": {"type": "string"}, "then": {"maxLength": 2}}"##, "\"\(c)\""),
            (##"{"if": {"type": "integer"}, "else": {"maxLength": 2}}"##, "\"\(c)\""),
            (##"{"properties": {"a": true}, "unevaluatedProperties": false}"##, "{\"b\": \"\(c)\"}"),
            (##"{"prefixItems": [true], "unevaluatedItems": false}"##, "[1, \"\(c)\"]"),
            (##"{"$ref": "#/$defs/x", "$defs": {"x": {"type": "integer"}}}"##, "\"\(c)\""),
            (##"{"$dynamicRef": "#/$defs/x", "$defs": {"x": {"type": "integer"}}}"##, "\"\(c)\""),
            ("false", "\"\(c)\""),
            (##"{"items": {"$ref": "#"}}"##, deepArray(600, innermost: "\"\(c)\"")),
        ] + SchemaFormat.allCases.map { (##"{"format": "\##($0.rawValue)"}"##, "\"\(c) \\\\ [\"") }
    }()

    static func deepArray(_ depth: Int, innermost: String) -> String {
        String(repeating: "[", count: depth) + innermost + String(repeating: "]", count: depth)
    }

    @Test("every keyword's failure: reported, and no message, location or keyword contains the value")
    func noValueInMessages() throws {
        for (schema, instance) in Self.cases {
            let v = try SchemaValidator(schema: J(schema), options: .init(assertFormat: true))
            let r = v.validate(try JSON.parse(instance, limits: .init(maxDepth: 1000, maxBytes: 1 << 20, rejectDuplicateKeys: true)))
            #expect(!r.errors.isEmpty, "expected a failure: \(schema) with \(instance.prefix(60))")
            for e in r.errors {
                for text in [e.message, e.keyword, e.schemaLocation, e.description] {
                    #expect(!text.contains("CANARY"), "\(schema): \(text)")
                    #expect(!text.contains(Self.canaryNumber), "\(schema): \(text)")
                    #expect(!text.contains("987654"), "\(schema): \(text)")
                }
                #expect(!e.instanceLocation.contains("CANARY"))
            }
        }
    }

    @Test("invalid schemas are refused without quoting instance-like values from the schema's own defaults")
    func schemaErrors() {
        // The metaschema check reports the schema's own location; values in the schema are not quoted.
        do {
            _ = try SchemaValidator(schema: J(##"{"properties": {"pw": {"type": "string", "minLength": "CANARY-7f3a9c-secret"}}}"##))
            Issue.record("accepted an invalid schema")
        } catch {
            #expect(error.message.hasPrefix("schema is invalid: #/properties/pw/minLength: "))
            #expect(!error.message.contains("CANARY"))
        }
    }
}

@Suite("Schema secret annotations (writeOnly / x-secret)")
struct SchemaSecretAnnotationTests {
    @Test("through $ref, allOf, nested objects and arrays")
    func collected() throws {
        let v = try compile(##"""
        {
          "properties": {
            "api_key": {"type": "string", "writeOnly": true},
            "db": {"$ref": "#/$defs/db"},
            "upstreams": {"type": "array", "items": {"properties": {"token": {"x-secret": true}, "url": {"type": "string"}}}},
            "flags": {"additionalProperties": {"type": "boolean"}},
            "certs": {"patternProperties": {"^key_": {"writeOnly": true}}},
            "mixed": {"allOf": [{"properties": {"a": {"x-secret": true}}}, {"properties": {"b": {"type": "integer"}}}]}
          },
          "$defs": {"db": {"properties": {"password": {"writeOnly": true}, "user": {"type": "string"}}}}
        }
        """##)
        let r = v.validate(J(##"""
        {"api_key": "k", "db": {"password": "p", "user": "u"},
         "upstreams": [{"token": "t0", "url": "u"}, {"url": "u"}, {"token": "t2"}],
         "flags": {"x": true}, "certs": {"key_a": "..", "cert_a": ".."}, "mixed": {"a": 1, "b": 2}}
        """##))
        #expect(r.isValid)
        #expect(r.secretLocations == [["api_key"], ["certs", "key_a"], ["db", "password"], ["mixed", "a"],
                                      ["upstreams", "0", "token"], ["upstreams", "2", "token"]])
        #expect(r.isSecret(["db", "password"]))
        #expect(r.isSecret(["api_key", "anything", "below"]))
        #expect(!r.isSecret(["db", "user"]))
        #expect(!r.isSecret(["db"]))
    }

    @Test("not from failed anyOf/oneOf branches, failed if, not, or non-matching contains items")
    func droppedFromFailedBranches() throws {
        let v = try compile(##"""
        {
          "properties": {
            "a": {"anyOf": [{"type": "integer", "writeOnly": true}, {"type": "string"}]},
            "b": {"oneOf": [{"type": "integer", "x-secret": true}, {"type": "string", "writeOnly": false}]},
            "c": {"if": {"type": "integer", "writeOnly": true}, "then": true, "else": true},
            "d": {"not": {"type": "integer", "writeOnly": true}},
            "e": {"contains": {"type": "integer", "writeOnly": true}},
            "f": {"anyOf": [{"type": "string", "writeOnly": true}, {"type": "string"}]}
          }
        }
        """##)
        let r = v.validate(J(##"{"a": "s", "b": "s", "c": "s", "d": "s", "e": ["s", 1, "t"], "f": "s"}"##))
        #expect(r.isValid)
        // a, b, c, d: the secret subschema failed; e: only the matching item; f: the passing branch
        #expect(r.secretLocations == [["e", "1"], ["f"]])
    }

    @Test("a passing if contributes its annotations")
    func passingIf() throws {
        let v = try compile(##"{"if": {"properties": {"k": {"writeOnly": true}}}, "then": {"required": ["k"]}}"##)
        #expect(v.validate(J(##"{"k": "secret"}"##)).secretLocations == [["k"]])
    }

    @Test("recursive schemas mark every level")
    func recursive() throws {
        let v = try compile(##"{"properties": {"secret": {"writeOnly": true}, "child": {"$ref": "#"}}}"##)
        let r = v.validate(J(##"{"secret": 1, "child": {"secret": 2, "child": {"secret": 3}}}"##))
        #expect(r.secretLocations == [["child", "child", "secret"], ["child", "secret"], ["secret"]])
    }

    @Test("a schema without secrets marks nothing; a secret root marks everything")
    func rootAndNone() throws {
        #expect(try compile(##"{"type": "object"}"##).validate(J("{}")).secretLocations.isEmpty)
        let root = try compile(##"{"writeOnly": true}"##).validate(J(##"{"a": 1}"##))
        #expect(root.secretLocations == [[]])
        #expect(root.isSecret(["a"]))
    }
}

@Suite("Schema secretPaths static analysis")
struct SchemaSecretPathsTests {
    @Test("the peer service schema: top-level and $ref'd secrets")
    func service() throws {
        let v = try compile(SchemaErrorReportingTests.serviceSchema)
        let sp = v.secretPaths()
        #expect(sp.patterns == [[.key("database"), .key("password")]])
        #expect(sp.isSecret(["database", "password"]))
        #expect(!sp.isSecret(["database"]))
        #expect(sp.mayContainSecret(["database"]))
        #expect(!sp.mayContainSecret(["tags"]))
        #expect(!sp.isSecret(["name"]))
    }

    @Test("wildcards: items, additionalProperties, patternProperties, prefixItems, contains")
    func wildcards() throws {
        let v = try compile(##"""
        {
          "properties": {
            "list": {"items": {"properties": {"token": {"writeOnly": true}}}},
            "map": {"additionalProperties": {"x-secret": true}},
            "keys": {"patternProperties": {"^key_": {"writeOnly": true}}},
            "pair": {"prefixItems": [{"type": "string"}, {"writeOnly": true}]},
            "bag": {"contains": {"writeOnly": true}}
          }
        }
        """##)
        let sp = v.secretPaths()
        #expect(sp.isSecret(["list", "7", "token"]))
        #expect(!sp.isSecret(["list", "7", "url"]))
        #expect(sp.isSecret(["map", "anything"]))
        #expect(sp.isSecret(["keys", "key_x", "deeper"]))
        #expect(!sp.isSecret(["keys", "cert_x"]))
        #expect(sp.isSecret(["pair", "1"]))
        #expect(!sp.isSecret(["pair", "0"]))
        #expect(sp.isSecret(["bag", "3"]))
        #expect(sp.patterns.map { $0.map(\.description).joined(separator: "/") }.sorted()
                == ["bag/[*]", "keys/~^key_~", "list/[*]/token", "map/*", "pair/1"])
    }

    @Test("every branch counts: anyOf, oneOf, if/then/else, dependentSchemas, allOf; not does not")
    func branches() throws {
        let v = try compile(##"""
        {
          "anyOf": [{"properties": {"a": {"writeOnly": true}}}, {"properties": {"b": {"writeOnly": true}}}],
          "oneOf": [{"properties": {"c": {"writeOnly": true}}}, true],
          "if": {"properties": {"d": {"writeOnly": true}}},
          "then": {"properties": {"e": {"writeOnly": true}}},
          "else": {"properties": {"f": {"writeOnly": true}}},
          "dependentSchemas": {"z": {"properties": {"g": {"writeOnly": true}}}},
          "allOf": [{"properties": {"h": {"x-secret": true}}}],
          "not": {"properties": {"n": {"writeOnly": true}}},
          "propertyNames": {"writeOnly": true}
        }
        """##)
        let sp = v.secretPaths()
        for k in ["a", "b", "c", "d", "e", "f", "g", "h"] { #expect(sp.isSecret([k]), "\(k)") }
        #expect(!sp.isSecret(["n"]))
        #expect(!sp.isSecret(["other"]))
    }

    @Test("recursion through $ref gives a ** pattern that covers every depth")
    func recursion() throws {
        let v = try compile(##"{"$defs": {"node": {"properties": {"pw": {"writeOnly": true}, "children": {"items": {"$ref": "#/$defs/node"}}}}}, "$ref": "#/$defs/node"}"##)
        let sp = v.secretPaths()
        #expect(sp.isSecret(["pw"]))
        #expect(sp.isSecret(["children", "0", "pw"]))
        #expect(sp.isSecret(["children", "0", "children", "5", "pw"]))
        #expect(!sp.isSecret(["children", "0", "name"]))
        #expect(sp.patterns.contains([.anyDescendants, .key("pw")]))
    }

    @Test("the static analysis covers whatever the per-instance annotations find")
    func coversAnnotations() throws {
        let v = try compile(##"""
        {"properties": {"db": {"$ref": "#/$defs/db"}, "ups": {"items": {"$ref": "#/$defs/db"}}},
         "$defs": {"db": {"properties": {"password": {"writeOnly": true}, "nested": {"$ref": "#/$defs/db"}}}}}
        """##)
        let r = v.validate(J(##"{"db": {"password": "x", "nested": {"password": "y"}}, "ups": [{"password": "z"}]}"##))
        #expect(r.secretLocations.count == 3)
        let sp = v.secretPaths()
        for p in r.secretLocations { #expect(sp.isSecret(p), "\(p)") }
    }
}

@Suite("Schema bad input: invalid schemas, references, limits")
struct SchemaBadInputTests {
    private func refused(_ schema: String, registry: SchemaRegistry = .standard) -> String? {
        do {
            _ = try SchemaValidator(schema: J(schema), registry: registry)
            return nil
        } catch {
            #expect(error.kind == .invalidInput)
            return error.message
        }
    }

    @Test("schemas that fail the 2020-12 metaschema are refused with their location")
    func metaschema() {
        #expect(refused(##"{"type": "strin"}"##)?.hasPrefix("schema is invalid: #/type: must match at least one of the 2 schemas in anyOf") == true)
        #expect(refused(##"{"properties": {"a": {"minimum": "1"}}}"##) == "schema is invalid: #/properties/a/minimum: must be of type number, got string")
        #expect(refused(##"{"required": "name"}"##) == "schema is invalid: #/required: must be of type array, got string")
        #expect(refused(##"{"items": [{"type": "string"}]}"##) == "schema is invalid: #/items: must be of type boolean or object, got array")
        #expect(refused(##"{"$defs": {"x": {"maxLength": -1}}}"##) == "schema is invalid: #/$defs/x/maxLength: must be at least 0")
        #expect(refused("42") == "schema is invalid: #: must be of type boolean or object, got number")
        #expect(refused(##"{"$id": "#frag"}"##) == "schema is invalid: #/$id: must match the pattern ^[^#]*#?$")
        #expect(refused(##"{"type": "string", "minLength": -1, "maxLength": "x"}"##)?.hasSuffix("(and 1 more error)") == true)
    }

    @Test("bad regular expressions, unknown or old $schema, unknown required vocabularies")
    func otherRefusals() throws {
        #expect(refused(##"{"properties": {"a": {"pattern": "^(abc"}}}"##) == "schema is invalid: #/properties/a/pattern: is not a valid ECMA-262 regular expression (missing ')')")
        #expect(refused(##"{"patternProperties": {"[a-": true}}"##)?.hasPrefix("schema is invalid: #/patternProperties: is not a valid ECMA-262") == true)
        #expect(refused(##"{"$schema": "http://json-schema.org/draft-07/schema#"}"##)?.contains("is not supported") == true)
        #expect(refused(##"{"$schema": "https://example.com/unknown-meta"}"##)?.contains("unknown metaschema") == true)
        let meta = try SchemaRegistry.standard.adding(uri: "https://example.com/meta", schema: J(##"""
        {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://example.com/meta",
         "$vocabulary": {"https://json-schema.org/draft/2020-12/vocab/core": true, "https://example.com/vocab/custom": true}}
        """##))
        #expect(refused(##"{"$schema": "https://example.com/meta"}"##, registry: meta)?.contains("https://example.com/vocab/custom") == true)
    }

    @Test("$ref cycles that never descend into the instance are refused; recursion through properties is fine")
    func cycles() throws {
        #expect(refused(##"{"$ref": "#"}"##)?.contains("reference cycle") == true)
        #expect(refused(##"{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"}"##)?.contains("reference cycle") == true)
        #expect(refused(##"{"anyOf": [{"type": "string"}, {"$ref": "#"}]}"##)?.contains("reference cycle") == true)
        let list = try compile(##"{"type": "object", "properties": {"value": {"type": "integer"}, "next": {"$ref": "#"}}}"##)
        #expect(list.isValid(J(##"{"value": 1, "next": {"value": 2, "next": {"value": 3}}}"##)))
        #expect(list.validate(J(##"{"value": 1, "next": {"value": "x"}}"##)).errors.map(\.instanceLocation) == ["/next/value"])
    }

    @Test("unresolvable references are refused, and nothing is fetched")
    func unresolvable() {
        #expect(refused(##"{"$ref": "https://example.com/remote.json"}"##)?.contains("is not in the schema or the registry (remote schemas are never fetched)") == true)
        #expect(refused(##"{"$ref": "#/$defs/missing"}"##) == "schema is invalid: #/$ref: the reference #/$defs/missing does not point to a schema")
        #expect(refused(##"{"$ref": "#nope"}"##)?.contains("no anchor \"nope\"") == true)
        #expect(refused(##"{"properties": {"a": {"$ref": "#/properties/a/type"}}}"##) != nil)
        #expect(refused(##"{"$dynamicRef": "other.json#meta"}"##) != nil)
    }

    @Test("a registry refuses relative URIs; schemas resolve $ref against registered ones")
    func registry() throws {
        #expect(throws: SvcConfError.self) { try SchemaRegistry.standard.adding(uri: "relative.json", schema: J("true")) }
        let reg = try SchemaRegistry.standard.adding(uri: "https://example.com/defs.json",
                                                      schema: J(##"{"$defs": {"port": {"type": "integer", "maximum": 65535}}}"##))
        #expect(reg.contains(uri: "https://example.com/defs.json"))
        let v = try SchemaValidator(schema: J(##"{"$id": "https://example.com/main.json", "properties": {"p": {"$ref": "defs.json#/$defs/port"}}}"##), registry: reg)
        #expect(!v.isValid(J(##"{"p": 70000}"##)))
        #expect(v.isValid(J(##"{"p": 80}"##)))
    }
}

@Suite("Schema limits: depth, size, concurrency")
struct SchemaLimitsTests {
    static func deepArray(_ depth: Int) -> ConfigValue {
        var v: ConfigValue = .array([])
        for _ in 0..<depth { v = .array([v]) }
        return v
    }

    @Test("a 10,000-deep array instance: a clear error, no stack overflow")
    func deepInstance() throws {
        let deep = Self.deepArray(10_000)
        let recursive = try compile(##"{"items": {"$ref": "#"}}"##)
        #expect(!recursive.isValid(deep))
        let r = recursive.validate(deep)
        #expect(r.errors.count == 1)
        #expect(r.errors.first?.message == "is nested too deeply: evaluation stopped at depth 512")
        // a schema that does not descend validates it correctly
        #expect(try compile(##"{"type": "array", "minItems": 1}"##).isValid(deep))
        // and within the limit recursion works
        #expect(recursive.isValid(Self.deepArray(200)))
        // too deep inside an alternative that is not needed still fails, in both modes
        let alt = try compile(##"{"anyOf": [{"items": {"$ref": "#"}}, {"type": "array"}]}"##)
        #expect(!alt.isValid(deep))
        #expect(alt.validate(deep).errors.map(\.message) == ["is nested too deeply: evaluation stopped at depth 512"])
    }

    @Test("a 10,000-deep object instance through allOf and additionalProperties: a clear error")
    func deepObject() throws {
        var o: ConfigValue = .object([:])
        for _ in 0..<10_000 { o = .object(["a": o]) }
        let v = try compile(##"{"additionalProperties": {"allOf": [{"$ref": "#"}]}}"##)
        #expect(!v.isValid(o))
        #expect(v.validate(o).errors.map(\.message) == ["is nested too deeply: evaluation stopped at depth 512"])
        let shallow = try SchemaValidator(schema: J(##"{"additionalProperties": {"allOf": [{"$ref": "#"}]}}"##), options: .init(maxDepth: 100))
        var small: ConfigValue = .object([:])
        for _ in 0..<30 { small = .object(["a": small]) }  // three evaluation levels per member
        #expect(shallow.isValid(small))
    }

    /// True when running under AddressSanitizer (its runtime is linked in).
    static var underAddressSanitizer: Bool {
        #if os(Linux)
        let anywhere: UnsafeMutableRawPointer? = nil  // RTLD_DEFAULT
        #else
        let anywhere = UnsafeMutableRawPointer(bitPattern: -2)  // RTLD_DEFAULT
        #endif
        return dlsym(anywhere, "__asan_init") != nil
    }

    @Test("a 50 MB instance is validated")
    func largeInstance() throws {
        // 50,000 objects of ~1 KB: 50 MB of JSON text, built in memory
        let filler = String(repeating: "abcdefghij", count: 100)
        var items: [ConfigValue] = []
        items.reserveCapacity(50_000)
        for i in 0..<50_000 {
            items.append(.object(["id": .int(Int64(i)), "name": .string(filler + String(i % 10)), "ok": .bool(true)]))
        }
        let instance = ConfigValue.array(items)
        items = []
        let v = try compile(##"""
        {"type": "array", "items": {"type": "object", "required": ["id", "name"], "additionalProperties": false,
          "properties": {"id": {"type": "integer", "minimum": 0}, "name": {"type": "string", "pattern": "^[a-j]+[0-9]$", "maxLength": 2000},
                         "ok": {"type": "boolean"}}}}
        """##)
        #expect(v.isValid(instance))
        let r = v.validate(instance)
        #expect(r.isValid)
        // Memory is measured in a process of its own (`svcconf-bench schema-memory`, checked by the
        // CLI tests): peak RSS is process-wide and other suites run in parallel here.
        #expect(JSON.canonical(instance).count > 50_000_000)  // measured last: this allocates 50 MB
    }

    @Test("one validator, many threads")
    func concurrent() async throws {
        let v = try compile(SchemaErrorReportingTests.serviceSchema)
        let good = J(##"{"name":"x","port":80,"database":{"host":"h","password":"longenough"}}"##)
        let bad = J(##"{"name":"X","port":0,"database":{"host":"h"}}"##)
        let results = await withTaskGroup(of: (Bool, Int).self) { group in
            for i in 0..<16 {
                group.addTask { (v.isValid(i % 2 == 0 ? good : bad), v.validate(i % 2 == 0 ? good : bad).errors.count) }
            }
            var out: [(Bool, Int)] = []
            for await r in group { out.append(r) }
            return out
        }
        #expect(results.filter { $0.0 }.count == 8)
        #expect(Set(results.map { $0.1 }) == [0, 3])
    }
}

@Suite("Schema regex (ECMA-262) and numbers")
struct SchemaRegexAndNumberTests {
    @Test("ECMA-262 semantics: $, \\d, \\w, \\s, dot, classes, quantifiers, lookaround, backreferences")
    func semantics() throws {
        func m(_ p: String, _ s: String) throws -> Bool { try ECMARegex(p).matches(s) }
        #expect(try !m("^abc$", "abc\n"))
        #expect(try m("^\\d+$", "0123"))
        #expect(try !m("^\\d$", "\u{0660}"))
        #expect(try !m("^\\w$", "é"))
        #expect(try m("^\\s$", "\u{FEFF}"))
        #expect(try !m("^.$", "\n"))
        #expect(try m("^.$", "🐲"))
        #expect(try m("^[a-z][a-z0-9-]{2,62}$", "orders-api"))
        #expect(try !m("^[a-z][a-z0-9-]{2,62}$", "Orders_API"))
        #expect(try m("^(?:ab|cd)+$", "abcdab"))
        #expect(try m("a(?=b)", "ab"))
        #expect(try !m("a(?!b)", "ab"))
        #expect(try m("(?<=x)y", "xy"))
        #expect(try m("^(a+)b\\1$", "aabaa"))
        #expect(try m("^(?<q>['\"]).*\\k<q>$", "'x'"))
        #expect(try m("^\\p{Lu}\\p{Ll}+$", "École"))
        #expect(try m("^[^\\d\\s]+$", "abc"))
        #expect(try m("^x{2}y{1,}z{0,1}$", "xxyyy"))
        #expect(try m("^(a|)*$", "aaa"))
        #expect(try m("^\\u{1F432}\\x41\\u0042\\cJ$", "🐲AB\n"))
        for bad in ["(", "[a", "a{2,1}", "*", "\\a", "a**", "(?<n>a)(?<n>b)", "\\2(a)", "\\p{Nope}"] {
            #expect(throws: RegexSyntaxError.self, "\(bad)") { try ECMARegex(bad) }
        }
    }

    @Test("catastrophic backtracking stops at the step budget")
    func budget() throws {
        let re = try ECMARegex("^(a+)+$")
        let start = ContinuousClock.now
        #expect(!re.matches(String(repeating: "a", count: 40) + "b"))
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test("multipleOf is exact on decimals and big numbers; comparisons are exact across int and double")
    func numbers() throws {
        #expect(try compile(##"{"multipleOf": 0.0001}"##).isValid(J("0.0075")))
        #expect(try compile(##"{"multipleOf": 0.01}"##).isValid(J("19.99")))
        #expect(try !compile(##"{"multipleOf": 0.01}"##).isValid(J("19.995")))
        #expect(try compile(##"{"multipleOf": 0.5}"##).isValid(J("1e308")))
        #expect(try !compile(##"{"multipleOf": 0.123456789}"##).isValid(J("1e308")))
        #expect(try compile(##"{"multipleOf": 3}"##).isValid(J("9007199254740993")))
        #expect(try !compile(##"{"maximum": 9007199254740992}"##).isValid(J("9007199254740993")))
        #expect(try compile(##"{"minimum": 0.5}"##).isValid(J("1")))
        #expect(try !compile(##"{"exclusiveMaximum": 1}"##).isValid(J("1.0")))
        #expect(try compile(##"{"type": "integer"}"##).isValid(J("2.0")))
        #expect(try compile(##"{"const": 1}"##).isValid(J("1.0")))
        #expect(try !compile(##"{"enum": [false]}"##).isValid(J("0")))
    }
}
