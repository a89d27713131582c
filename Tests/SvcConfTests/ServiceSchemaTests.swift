import Foundation
import SvcConfYAML
import Testing

@testable import SvcConf

// Tests of ServiceSchema (compile, validate, coerce, secrecy) and of the schema use-cases of
// ConfigRepository (write, update, setSchema, exec checks, secrecy of versions).
// Helpers live in `SSFix` so they cannot clash with other suites.

enum SSFix {
    /// Every value these tests plant where it is invalid starts with this: no message may contain it.
    static let canary = "canary-"

    /// Parses JSON text (the tests' schemas and instances).
    static func J(_ text: String) -> ConfigValue {
        do { return try JSON.parse(Array(text.utf8)) } catch { fatalError("test JSON does not parse: \(error)\n\(text)") }
    }

    static func schema(_ text: String) throws -> ServiceSchema { try ServiceSchema(document: J(text)) }

    /// The YAML parser svcconf-cli hands the repository.
    static let parseYAML: @Sendable (String, [UInt8]) throws -> ConfigValue = { name, bytes in
        try YAMLCodec.parse(String(decoding: bytes, as: UTF8.self), source: name)
    }

    /// The error `body` throws (nil when it does not throw an SvcConfError).
    static func error(_ body: () throws -> Void) -> SvcConfError? {
        do { try body() } catch let e as SvcConfError { return e } catch { return nil }
        return nil
    }

    /// `[instanceLocation: keyword]` rows of issues, for compact expectations.
    static func rows(_ issues: [ServiceSchema.Issue]) -> [[String]] {
        issues.map { [$0.file ?? "-", $0.error.instanceLocation, $0.error.keyword] }
    }

    /// A small service schema: typed values, secrets (top level, through $ref, in arrays), and
    /// files (JSON and YAML content schemas, a secret file, a plain text file).
    static let service = """
    {
      "$schema": "https://json-schema.org/draft/2020-12/schema",
      "type": "object",
      "additionalProperties": false,
      "required": ["HOST", "PORT"],
      "properties": {
        "HOST": {"type": "string", "format": "hostname"},
        "PORT": {"$ref": "#/$defs/port"},
        "DEBUG": {"type": "boolean"},
        "RATIO": {"type": "number"},
        "LABEL": {"type": ["string", "integer"]},
        "MODE": {"type": "string", "enum": ["a", "b"]},
        "PASSWORD": {"type": "string", "writeOnly": true},
        "TOKEN": {"type": "string", "x-secret": true},
        "DB": {"$ref": "#/$defs/db"},
        "USERS": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "token": {"type": "string", "x-secret": true}}}}
      },
      "x-files": {
        "type": "object",
        "required": ["apps.yaml"],
        "properties": {
          "apps.yaml": {"contentMediaType": "application/yaml", "contentSchema": {"$ref": "#/$defs/apps"}},
          "limits.json": {"contentMediaType": "application/json", "contentSchema": {"type": "object", "properties": {"max": {"$ref": "#/$defs/port"}}, "required": ["max"]}},
          "server.key": {"contentMediaType": "application/x-pem-file", "writeOnly": true},
          "notes.txt": {"contentMediaType": "text/plain"}
        },
        "additionalProperties": true
      },
      "$defs": {
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "db": {"type": "object", "properties": {"host": {"type": "string"}, "password": {"type": "string", "writeOnly": true}}},
        "apps": {"type": "object", "required": ["categories"], "properties": {"categories": {"type": "array", "items": {"type": "object", "required": ["title"], "properties": {"title": {"type": "string", "minLength": 1}}}}}}
      }
    }
    """

    static let appsYAML = Array("categories:\n  - title: Employee tools\n  - title: Resident services\n".utf8)

    /// A config that satisfies ``service``.
    static let validConfig = Config(values: ["HOST": "db.example.test", "PORT": 8080],
                                    files: ["apps.yaml": appsYAML, "limits.json": Array(#"{"max": 100}"#.utf8)])

    /// A schema without files, for repository tests.
    static let plain = """
    {"type": "object", "required": ["HOST"],
     "properties": {"HOST": {"type": "string", "format": "hostname"}, "PORT": {"$ref": "#/$defs/port"},
                    "PASSWORD": {"type": "string", "writeOnly": true}},
     "$defs": {"port": {"type": "integer", "minimum": 1, "maximum": 65535}}}
    """

    /// ``plain`` plus a file whose YAML content is checked (needs a YAML parser).
    static let withYAML = """
    {"type": "object", "required": ["HOST"],
     "properties": {"HOST": {"type": "string", "format": "hostname"}, "PORT": {"type": "integer"}},
     "x-files": {"properties": {"apps.yaml": {"contentMediaType": "application/yaml",
                                               "contentSchema": {"type": "object", "required": ["categories"],
                                                                 "properties": {"categories": {"type": "array", "maxItems": 2}}}}}}}
    """
}

// MARK: - compile

@Suite("ServiceSchema compile")
struct ServiceSchemaCompileTests {
    @Test("a schema that violates the 2020-12 metaschema is refused with its location")
    func metaschemaViolation() {
        let e = SSFix.error { _ = try SSFix.schema(#"{"type": "object", "properties": {"PORT": {"type": "integer", "maximum": "65535"}}}"#) }
        #expect(e?.kind == .invalidInput, "\(String(describing: e))")
        #expect(e?.message.contains("#/properties/PORT/maximum") == true, "\(e?.message ?? "no error")")
        let t = SSFix.error { _ = try SSFix.schema(#"{"properties": {"A": {"type": "strin"}}}"#) }
        #expect(t?.message.contains("#/properties/A/type") == true, "\(t?.message ?? "no error")")
        // Not an object at all.
        #expect(SSFix.error { _ = try SSFix.schema("true") }?.kind == .invalidInput)
        #expect(SSFix.error { _ = try SSFix.schema("[]") }?.kind == .invalidInput)
    }

    @Test("the metaschema error does not quote values from the schema")
    func metaschemaErrorQuotesNothing() {
        let e = SSFix.error { _ = try SSFix.schema(#"{"properties": {"PW": {"minLength": "canary-in-schema"}}}"#) }
        #expect(e != nil)
        #expect(e?.message.contains(SSFix.canary) == false, "\(e?.message ?? "")")
    }

    @Test("x-files that is not a schema, or whose schema is invalid, is refused naming x-files")
    func badXFiles() {
        let notObject = SSFix.error { _ = try SSFix.schema(#"{"type": "object", "x-files": 3}"#) }
        #expect(notObject?.kind == .invalidInput)
        #expect(notObject?.message.contains("x-files") == true, "\(notObject?.message ?? "no error")")
        let badKeyword = SSFix.error { _ = try SSFix.schema(#"{"type": "object", "x-files": {"required": "apps.yaml"}}"#) }
        #expect(badKeyword?.kind == .invalidInput)
        #expect(badKeyword?.message.contains("x-files") == true && badKeyword?.message.contains("required") == true,
                "\(badKeyword?.message ?? "no error")")
    }

    @Test("an x-files contentSchema that is not a valid schema is refused with its location")
    func badContentSchema() {
        let e = SSFix.error {
            _ = try SSFix.schema(#"""
            {"type": "object", "x-files": {"properties": {"limits.json": {"contentMediaType": "application/json",
                                                                           "contentSchema": {"type": "objekt"}}}}}
            """#)
        }
        #expect(e?.kind == .invalidInput, "\(String(describing: e))")
        #expect(e?.message.contains("x-files") == true, "\(e?.message ?? "no error")")
        #expect(e?.message.contains("limits.json") == true, "\(e?.message ?? "no error")")
        #expect(e?.message.contains("contentSchema") == true, "\(e?.message ?? "no error")")
        // A contentSchema referring to a $defs entry that does not exist is refused too.
        let dangling = SSFix.error {
            _ = try SSFix.schema(#"""
            {"type": "object", "x-files": {"properties": {"a.yaml": {"contentMediaType": "application/yaml",
                                                                      "contentSchema": {"$ref": "#/$defs/missing"}}}}}
            """#)
        }
        #expect(dangling != nil, "a dangling $ref in a contentSchema compiled")
    }

    @Test("x-files and contentSchema may refer to the root's $defs")
    func sharedDefs() throws {
        let s = try SSFix.schema(SSFix.service)
        #expect(s.needsYAML)
        #expect(s.mediaType(ofFile: "apps.yaml") == "application/yaml")
        #expect(s.mediaType(ofFile: "limits.json") == "application/json")
        #expect(s.mediaType(ofFile: "other") == nil)
        #expect(try !SSFix.schema(SSFix.plain).needsYAML)
    }

    @Test("digest is the SHA-256 of the canonical bytes; key order and whitespace do not change it")
    func digest() throws {
        let a = try SSFix.schema(#"{"type":"object","properties":{"B":{"type":"string"},"A":{"type":"integer"}}}"#)
        let b = try SSFix.schema("""
        {
          "properties" : { "A" : { "type" : "integer" },
                           "B" : { "type" : "string" } },
          "type" : "object"
        }
        """)
        #expect(a.digest == b.digest)
        #expect(a.canonicalBytes == b.canonicalBytes)
        #expect(a.canonicalBytes == Array(#"{"properties":{"A":{"type":"integer"},"B":{"type":"string"}},"type":"object"}"#.utf8))
        #expect(a.digest == Digest(of: a.canonicalBytes))
        // A known answer: sha256 of the 17 bytes {"type":"object"} (printf '{"type":"object"}' | sha256sum).
        let known = try SSFix.schema(#"{ "type" : "object" }"#)
        #expect(known.digest.description == "sha256:a2c799262a3ce3c19ef5cdd983bf3d12b43ab3c426227091b909dcb7054738c0")
        // A different document, a different digest.
        let c = try SSFix.schema(#"{"type":"object","properties":{"A":{"type":"integer"}}}"#)
        #expect(c.digest != a.digest)
        // init(bytes:) is the same schema.
        #expect(try ServiceSchema(bytes: a.canonicalBytes).digest == a.digest)
    }

    @Test("every schema in schemas/services compiles")
    func shippedSchemasCompile() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("schemas/services")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".schema.json") }
        #expect(names.count >= 4)
        for name in names {
            let bytes = try [UInt8](Data(contentsOf: dir.appendingPathComponent(name)))
            #expect(throws: Never.self, "\(name)") { _ = try ServiceSchema(bytes: bytes) }
        }
    }
}

// MARK: - validate

@Suite("ServiceSchema validate")
struct ServiceSchemaValidateTests {
    @Test("a valid config has no issues (with and without a YAML parser)")
    func valid() throws {
        let s = try SSFix.schema(SSFix.service)
        #expect(s.validate(SSFix.validConfig, parseYAML: SSFix.parseYAML).isEmpty)
        #expect(s.validate(SSFix.validConfig).isEmpty)
    }

    @Test("value errors name the value by JSON Pointer, every one of them")
    func valuePointers() throws {
        let s = try SSFix.schema(SSFix.service)
        var c = SSFix.validConfig
        c.values = ["HOST": "not a host!", "PORT": 99999, "DEBUG": "yes",
                    "DB": ["host": 5], "USERS": [["name": "a"], ["name": 7]], "EXTRA": "x"]
        let issues = s.validate(c, parseYAML: SSFix.parseYAML)
        let rows = Set(SSFix.rows(issues))
        #expect(rows.contains(["-", "/HOST", "format"]), "\(issues)")
        #expect(rows.contains(["-", "/PORT", "maximum"]), "\(issues)")
        #expect(rows.contains(["-", "/DEBUG", "type"]), "\(issues)")
        #expect(rows.contains(["-", "/DB/host", "type"]), "\(issues)")
        #expect(rows.contains(["-", "/USERS/1/name", "type"]), "\(issues)")
        #expect(rows.contains(["-", "/EXTRA", "additionalProperties"]), "\(issues)")
        #expect(issues.count == 6, "\(issues)")
        let port = try #require(issues.first { $0.error.instanceLocation == "/PORT" })
        #expect(port.error.schemaLocation == "#/$defs/port/maximum")
        #expect(port.description == "/PORT: must be at most 65535 [maximum at #/$defs/port/maximum]")
        // A missing required key is reported at the root.
        c.values = ["HOST": "h.example.test"]
        let missing = s.validate(c)
        #expect(SSFix.rows(missing) == [["-", "", "required"]], "\(missing)")
        #expect(missing.first?.error.message.contains("PORT") == true)
    }

    @Test("a required file that is missing is an error")
    func requiredFileMissing() throws {
        let s = try SSFix.schema(SSFix.service)
        var c = SSFix.validConfig
        c.files["apps.yaml"] = nil
        let issues = s.validate(c, parseYAML: SSFix.parseYAML)
        #expect(issues.count == 1, "\(issues)")
        #expect(issues.first?.error.keyword == "required")
        #expect(issues.first?.error.schemaLocation == "#/x-files/required")
        #expect(issues.first?.error.message.contains("apps.yaml") == true, "\(issues)")
    }

    @Test("application/json file content is checked against its contentSchema")
    func jsonContent() throws {
        let s = try SSFix.schema(SSFix.service)
        var c = SSFix.validConfig
        c.files["limits.json"] = Array(#"{"max": 70000}"#.utf8)
        let issues = s.validate(c)   // no YAML parser needed for JSON
        #expect(SSFix.rows(issues) == [["limits.json", "/max", "maximum"]], "\(issues)")
        #expect(issues.first?.description.hasPrefix("file limits.json: /max: must be at most 65535") == true, "\(issues)")
        c.files["limits.json"] = Array("{}".utf8)
        #expect(SSFix.rows(s.validate(c)) == [["limits.json", "", "required"]])
    }

    @Test("application/yaml file content is checked when a parser is given, skipped without one")
    func yamlContent() throws {
        let s = try SSFix.schema(SSFix.service)
        var c = SSFix.validConfig
        c.files["apps.yaml"] = Array("categories:\n  - title: ''\n  - {}\n".utf8)
        let issues = s.validate(c, parseYAML: SSFix.parseYAML)
        #expect(Set(SSFix.rows(issues)) == [["apps.yaml", "/categories/0/title", "minLength"], ["apps.yaml", "/categories/1", "required"]],
                "\(issues)")
        #expect(s.validate(c).isEmpty, "without a YAML parser the content is not checked")
        // The parser is called with the file's name and bytes.
        let seen = SSSeen()
        _ = s.validate(c, parseYAML: { name, bytes in seen.set(name, bytes); return ["categories": []] })
        #expect(seen.get()?.0 == "apps.yaml" && seen.get()?.1 == c.files["apps.yaml"])
    }

    @Test("content that does not parse is reported at the file, without quoting it")
    func unparsable() throws {
        let s = try SSFix.schema(SSFix.service)
        var c = SSFix.validConfig
        c.files["limits.json"] = Array(#"{"max": canary-json-broken"#.utf8)
        c.files["apps.yaml"] = Array("categories: [canary-yaml-broken\n  - : :\n".utf8)
        let issues = s.validate(c, parseYAML: SSFix.parseYAML)
        #expect(Set(SSFix.rows(issues)) == [["limits.json", "", "contentMediaType"], ["apps.yaml", "", "contentMediaType"]], "\(issues)")
        for i in issues {
            #expect(i.error.message.hasPrefix("does not parse"), "\(i)")
            #expect(!i.description.contains(SSFix.canary), "content quoted: \(i.description)")
        }
        // A parser that throws a non-svcconf error is reported too.
        struct Boom: Error {}
        c.files["limits.json"] = Array(#"{"max": 1}"#.utf8)
        let other = s.validate(c, parseYAML: { _, _ in throw Boom() })
        #expect(SSFix.rows(other) == [["apps.yaml", "", "contentMediaType"]], "\(other)")
    }

    @Test("validation messages never contain a planted value")
    func noValuesInMessages() throws {
        let s = try SSFix.schema("""
        {"type": "object", "additionalProperties": false,
         "properties": {"PORT": {"type": "integer"}, "HOST": {"type": "string", "format": "hostname"},
                        "URL": {"type": "string", "format": "uri"}, "MAIL": {"type": "string", "format": "email"},
                        "MODE": {"enum": ["a", "b"]}, "CODE": {"type": "string", "pattern": "^[0-9]+$"},
                        "FIXED": {"const": "x"}, "LONG": {"type": "string", "minLength": 64},
                        "SHORT": {"type": "string", "maxLength": 3}, "NUM": {"type": "number"},
                        "LIST": {"type": "array", "items": {"type": "integer"}, "uniqueItems": true},
                        "NOT": {"not": {"type": "string"}}, "ONE": {"oneOf": [{"type": "integer"}, {"type": "boolean"}]}},
         "x-files": {"properties": {"f.json": {"contentMediaType": "application/json",
                                               "contentSchema": {"type": "object", "additionalProperties": {"type": "integer"}}},
                                    "g.yaml": {"contentMediaType": "application/yaml",
                                               "contentSchema": {"type": "object", "properties": {"k": {"enum": [1]}}}}}}}
        """)
        let c = Config(values: ["PORT": "canary-port", "HOST": "canary host!", "URL": "canary not a uri", "MAIL": "canary-mail",
                                "MODE": "canary-mode", "CODE": "canary-code", "FIXED": "canary-fixed", "LONG": "canary-long",
                                "SHORT": "canary-short", "NUM": "canary-num", "LIST": ["canary-item", "canary-item"],
                                "NOT": "canary-not", "ONE": "canary-one", "EXTRA": "canary-extra"],
                       files: ["f.json": Array(#"{"a": "canary-json"}"#.utf8), "g.yaml": Array("k: canary-yaml\n".utf8)])
        let issues = s.validate(c, parseYAML: SSFix.parseYAML)
        #expect(issues.count >= 15, "\(issues)")
        for i in issues {
            #expect(!i.description.contains(SSFix.canary), "value in message: \(i.description)")
            #expect(!JSON.canonicalString(i.jsonValue).contains(SSFix.canary), "value in JSON: \(i.jsonValue)")
        }
    }
}

/// A tiny thread-safe box for values seen inside a @Sendable closure.
final class SSSeen: @unchecked Sendable {
    private let lock = NSLock()
    private var value: (String, [UInt8])?
    func set(_ n: String, _ b: [UInt8]) { lock.withLock { value = (n, b) } }
    func get() -> (String, [UInt8])? { lock.withLock { value } }
}

// MARK: - coerce

@Suite("ServiceSchema coerce")
struct ServiceSchemaCoerceTests {
    let s: ServiceSchema

    init() throws {
        s = try SSFix.schema("""
        {"type": "object",
         "properties": {"PORT": {"type": "integer"}, "REF_PORT": {"$ref": "#/$defs/port"}, "FLAG": {"type": "boolean"},
                        "RATIO": {"type": "number"}, "NAME": {"type": "string"}, "EITHER": {"type": ["string", "integer"]},
                        "MAYBE": {"type": ["integer", "null"]}, "LIST": {"type": "array"}, "ANY": {}},
         "$defs": {"port": {"type": "integer", "minimum": 1, "maximum": 65535}}}
        """)
    }

    func coerced(_ key: String, _ text: String) -> ConfigValue? { s.coerce([key: .string(text)])[key] }

    @Test("literals become the type the schema asks for")
    func literals() {
        #expect(coerced("PORT", "8080") == .int(8080))
        #expect(coerced("PORT", "-3") == .int(-3))
        #expect(coerced("PORT", "0") == .int(0))
        #expect(coerced("FLAG", "true") == .bool(true))
        #expect(coerced("FLAG", "false") == .bool(false))
        #expect(coerced("RATIO", "1.5") == .number(.double(1.5)))
        #expect(coerced("RATIO", "2") == .int(2))
        #expect(coerced("MAYBE", "12") == .int(12))
        #expect(coerced("LIST", "[1,2]") == [1, 2])
    }

    @Test("a $ref to #/$defs is followed")
    func ref() {
        #expect(coerced("REF_PORT", "6379") == .int(6379))
        #expect(coerced("REF_PORT", "x") == "x")
    }

    @Test("no coercion when the type allows strings or is not declared")
    func stringsStay() {
        #expect(coerced("NAME", "8080") == "8080")
        #expect(coerced("EITHER", "8080") == "8080")
        #expect(coerced("ANY", "8080") == "8080")
        #expect(coerced("UNDECLARED", "8080") == "8080")
        #expect(s.coerce(["PORT": .int(1), "FLAG": .bool(true)]) == ["PORT": .int(1), "FLAG": .bool(true)], "non-strings untouched")
    }

    @Test("text that is not exactly a literal stays a string (and then fails validation)",
          arguments: ["08080", "+1", " 1", "1 ", "1.0", "1e3", "0x10", "", "99999999999999999999", "-0"])
    func notExactInteger(text: String) {
        #expect(coerced("PORT", text) == .string(text))
        let issues = s.validate(Config(values: s.coerce(["PORT": .string(text)])))
        #expect(SSFix.rows(issues) == [["-", "/PORT", "type"]], "\(text): \(issues)")
    }

    @Test("numbers: only exact JSON number literals are coerced", arguments: ["01.5", "+1.5", " 1.5", "1.5 ", "1.5\n", "1.5\r\n", "\t2", ".5", "1.", "NaN", "Infinity", ""])
    func notExactNumber(text: String) {
        #expect(coerced("RATIO", text) == .string(text), "\(text)")
    }

    @Test("booleans: only true and false", arguments: ["True", "TRUE", "yes", "1", " true", "false "])
    func notExactBool(text: String) {
        #expect(coerced("FLAG", text) == .string(text))
    }
}

// MARK: - secrecy

@Suite("ServiceSchema secrecy")
struct ServiceSchemaSecrecyTests {
    @Test("writeOnly and x-secret at top level; declared non-secret keys are shown; undeclared keys are secret")
    func topLevel() throws {
        let p = try SSFix.schema(SSFix.service).secrecy(for: [SSFix.validConfig])
        #expect(p.isSecret(valuePath: ["PASSWORD"]))
        #expect(p.isSecret(valuePath: ["TOKEN"]))
        #expect(!p.isSecret(valuePath: ["HOST"]))
        #expect(!p.isSecret(valuePath: ["PORT"]))
        #expect(p.isSecret(valuePath: ["UNDECLARED"]))
        #expect(p.isSecret(valuePath: []))
    }

    @Test("secrets nested through $ref and inside arrays")
    func nested() throws {
        let c = Config(values: ["HOST": "h", "PORT": 1, "DB": ["host": "db", "password": "canary-db"],
                                "USERS": [["name": "a", "token": "canary-t"]]])
        let p = try SSFix.schema(SSFix.service).secrecy(for: [c])
        #expect(p.isSecret(valuePath: ["DB", "password"]))
        #expect(!p.isSecret(valuePath: ["DB", "host"]))
        #expect(!p.isSecret(valuePath: ["DB"]), "the object is shown, its secret member redacted")
        #expect(p.isSecret(valuePath: ["USERS", "0", "token"]))
        #expect(p.isSecret(valuePath: ["USERS", "5", "token"]), "any index, not only those in the configs")
        #expect(!p.isSecret(valuePath: ["USERS", "0", "name"]))
        // A secret subtree is secret all the way down.
        #expect(p.isSecret(valuePath: ["PASSWORD", "x"]))
    }

    @Test("the redacted document shows what the schema describes and fingerprints the rest")
    func redactedDocument() throws {
        let c = Config(values: ["HOST": "h.example.test", "PORT": 1, "PASSWORD": "canary-pw", "UNDECLARED": "canary-u",
                                "DB": ["host": "db", "password": "canary-db"]],
                       files: ["apps.yaml": SSFix.appsYAML, "server.key": Array("canary-key".utf8), "other.bin": Array("canary-o".utf8)])
        let r = Redactor(secrecy: try SSFix.schema(SSFix.service).secrecy(for: [c]), fingerprinter: Fingerprinter(key: CoreFix.fingerprintKey))
        let doc = r.redactedDocument(c)
        let text = JSON.canonicalString(doc)
        #expect(!text.contains(SSFix.canary), "\(text)")
        #expect(doc["values"]?["HOST"] == "h.example.test")
        #expect(doc["values"]?["DB"]?["host"] == "db")
        #expect(doc["files"]?["apps.yaml"] == .string(String(decoding: SSFix.appsYAML, as: UTF8.self)))
    }

    @Test("files: declared non-secret shown, writeOnly file secret, undeclared file secret")
    func files() throws {
        let p = try SSFix.schema(SSFix.service).secrecy(for: [SSFix.validConfig])
        #expect(!p.isSecret(file: "apps.yaml"))
        #expect(!p.isSecret(file: "limits.json"))
        #expect(!p.isSecret(file: "notes.txt"))
        #expect(p.isSecret(file: "server.key"))
        #expect(p.isSecret(file: "undeclared.pem"), "x-files allows additional files, but does not describe them")
        // x-secret on a file, and a schema without x-files at all.
        let x = try SSFix.schema(#"{"type": "object", "x-files": {"properties": {"a.pem": {"x-secret": true}, "b.txt": {}}}}"#)
            .secrecy(for: [Config()])
        #expect(x.isSecret(file: "a.pem"))
        #expect(!x.isSecret(file: "b.txt"))
        let none = try SSFix.schema(SSFix.plain).secrecy(for: [Config()])
        #expect(none.isSecret(file: "apps.yaml"))
    }

    @Test("a top-level key that no keyword of the schema describes stays secret, even with patternProperties")
    func patternPropertiesDoNotDescribeEveryKey() throws {
        let s = try SSFix.schema(#"""
        {"type": "object", "properties": {"HOST": {"type": "string"}},
         "patternProperties": {"^FEATURE_": {"type": "boolean"}}}
        """#)
        let c = Config(values: ["HOST": "h", "FEATURE_X": true, "DB_PASSWORD": "canary-pw"])
        #expect(s.validate(c).isEmpty)
        let p = s.secrecy(for: [c])
        #expect(!p.isSecret(valuePath: ["HOST"]))
        #expect(!p.isSecret(valuePath: ["FEATURE_X"]))
        let dbPasswordSecret = p.isSecret(valuePath: ["DB_PASSWORD"])
        #expect(dbPasswordSecret, "DB_PASSWORD matches no property or pattern: it must stay secret")
    }

    @Test("a secret marked in additionalProperties or patternProperties applies to the keys it covers")
    func secretPatterns() throws {
        let s = try SSFix.schema(#"""
        {"type": "object", "properties": {"HOST": {"type": "string"}},
         "patternProperties": {"_PASSWORD$": {"type": "string", "writeOnly": true}},
         "additionalProperties": {"type": "string"}}
        """#)
        let c = Config(values: ["HOST": "h", "DB_PASSWORD": "canary-pw", "OTHER": "o"])
        let p = s.secrecy(for: [c])
        #expect(p.isSecret(valuePath: ["DB_PASSWORD"]))
        #expect(!p.isSecret(valuePath: ["HOST"]))
        #expect(!p.isSecret(valuePath: ["OTHER"]), "additionalProperties with a schema describes every other key")
    }
}

// MARK: - repository

/// A repository fixture with a YAML parser (as svcconf-cli builds it) beside CoreRepoFixture's one without.
struct SSRepo {
    let f: CoreRepoFixture
    let withParser: ConfigRepository
    var repo: ConfigRepository { f.repo }
    let a = CoreFix.address("svc-s", "staging")

    init() async throws {
        f = try await CoreRepoFixture()
        withParser = ConfigRepository(store: f.store, keyring: f.repo.keyring, author: "tester", clock: { CoreFix.time },
                                      parseYAML: SSFix.parseYAML)
    }

    @discardableResult
    func setSchema(_ text: String) async throws -> ConfigRepository.StoredSchema {
        try await repo.setSchema(a.service, document: SSFix.J(text)).stored
    }

    @discardableResult
    func write(_ config: Config, using r: ConfigRepository? = nil, message: String = "m") async throws -> VersionInfo {
        let repo = r ?? self.repo
        guard case .written(let info) = try await repo.update(a, message: message, change: { $0 = config }) else {
            throw SvcConfError(.internal, "nothing written")
        }
        return info
    }
}

@Suite("ServiceSchema repository")
struct ServiceSchemaRepositoryTests {
    @Test("setSchema stores numbered schemas; the same document twice is unchanged; history lists them")
    func setSchema() async throws {
        let r = try await SSRepo()
        let (s1, changed1) = try await r.repo.setSchema("svc-s", document: SSFix.J(SSFix.plain))
        #expect(changed1 && s1.number == 1)
        // The same document again, even reformatted: nothing written.
        let reformatted = JSON.pretty(SSFix.J(SSFix.plain))
        let (again, changed2) = try await r.repo.setSchema("svc-s", document: SSFix.J(reformatted))
        #expect(!changed2 && again.number == 1 && again.schema.digest == s1.schema.digest)
        #expect(try await r.f.store.schemaNumbers(of: "svc-s") == [1])
        let (s2, changed3) = try await r.repo.setSchema("svc-s", document: SSFix.J(SSFix.withYAML))
        #expect(changed3 && s2.number == 2)
        #expect(try await r.repo.currentSchema("svc-s")?.schema.digest == s2.schema.digest)
        #expect(try await r.repo.schemaHistory("svc-s").map(\.number) == [1, 2])
        #expect(try await r.repo.schema("svc-s", digest: s1.schema.digest)?.number == 1)
        // The store keeps the canonical bytes.
        #expect(try await r.f.store.readSchema(of: "svc-s", number: 1) == s1.schema.canonicalBytes)
        // Invalid schemas and names are refused; nothing is stored.
        await coreExpectErrorAsync(.invalidInput) { _ = try await r.repo.setSchema("svc-s", document: SSFix.J(#"{"type": 5}"#)) }
        await coreExpectErrorAsync(.usage) { _ = try await r.repo.setSchema("Bad_Name", document: SSFix.J(SSFix.plain)) }
        #expect(try await r.f.store.schemaNumbers(of: "svc-s") == [1, 2])
        #expect(try await r.repo.currentSchema("svc-none") == nil)
    }

    @Test("a stored schema that no longer compiles blocks writes (.tampered) until a good one is set")
    func corruptStoredSchema() async throws {
        let r = try await SSRepo()
        try await r.setSchema(SSFix.plain)
        try await r.write(Config(values: ["HOST": "h.example.test"]))
        let file = r.f.store.schemaDir("svc-s") + "/" + VersionName.name(1, suffix: ".json")
        #expect(unlink(file) == 0)
        try coreWriteFile(file, Array("{not json".utf8), mode: 0o444)
        await coreExpectErrorAsync(.tampered, contains: "does not compile") {
            _ = try await r.repo.update(r.a, message: "m") { $0.values["HOST"] = "h2.example.test" }
        }
        let opened = try await r.repo.open(r.a)
        await coreExpectErrorAsync(.tampered) { try await r.repo.checkBeforeExec(opened) }
        await coreExpectErrorAsync(.tampered) { _ = try r.repo.checkBeforeExecLocally(opened) }
        // The same document as before is stored again as schema 2 (it is not "unchanged": the store
        // does not hold a usable copy), and writes work again.
        let (stored, changed) = try await r.repo.setSchema("svc-s", document: SSFix.J(SSFix.plain))
        #expect(changed && stored.number == 2)
        #expect(try await r.write(Config(values: ["HOST": "h2.example.test"])).version == 2)
    }

    @Test("write records the current schema's digest; without a schema none")
    func writeRecordsDigest() async throws {
        let r = try await SSRepo()
        let before = try await r.write(Config(values: ["HOST": "h.example.test"]))
        #expect(before.schema == nil)
        let stored = try await r.setSchema(SSFix.plain)
        let after = try await r.write(Config(values: ["HOST": "h2.example.test"]))
        #expect(after.schema == stored.schema.digest)
        #expect(try await r.repo.info(r.a, version: 2).schema == stored.schema.digest, "the digest is in the stored header")
        #expect(try await r.repo.history(r.a).map(\.info.schema) == [nil, stored.schema.digest])
    }

    @Test("update coerces before comparing: \"8080\" when 8080 is stored changes nothing")
    func updateCoerces() async throws {
        let r = try await SSRepo()
        try await r.setSchema(SSFix.plain)
        let v1 = try await r.write(Config(values: ["HOST": "h.example.test", "PORT": "8080"]))
        #expect(try await r.repo.open(r.a).config.values["PORT"] == .int(8080), "stored as a number")
        let again = try await r.repo.update(r.a, message: "m") { $0.values["PORT"] = "8080" }
        guard case .unchanged(let n) = again else { Issue.record("wrote a version for an equal value: \(again)"); return }
        #expect(n == v1.version)
        #expect(try await r.repo.latestVersion(r.a) == 1)
    }

    @Test("an invalid update throws .validationFailed listing every error, and writes nothing")
    func invalidUpdate() async throws {
        let r = try await SSRepo()
        try await r.setSchema(SSFix.plain)
        try await r.write(Config(values: ["HOST": "h.example.test", "PASSWORD": "ok"]))
        let e = await coreExpectErrorAsync(.validationFailed, contains: "nothing was written") {
            _ = try await r.repo.update(r.a, message: "m") { c in
                c.values["PORT"] = "99999"
                c.values["HOST"] = "canary bad host"
                c.values["PASSWORD"] = .int(1)
            }
        }
        #expect(e?.message.contains("3 errors") == true, "\(e?.message ?? "")")
        let details = e?.details ?? []
        #expect(details.count == 3, "\(details)")
        #expect(details.contains { $0.hasPrefix("/PORT: ") && $0.contains("65535") }, "\(details)")
        #expect(details.contains { $0.hasPrefix("/HOST: ") }, "\(details)")
        #expect(details.contains { $0.hasPrefix("/PASSWORD: ") }, "\(details)")
        #expect(!(details + [e?.message ?? ""]).contains { $0.contains(SSFix.canary) })
        #expect(try await r.repo.latestVersion(r.a) == 1)
        // The first version of a new config is checked too.
        let b = CoreFix.address("svc-s", "prod")
        await coreExpectErrorAsync(.validationFailed) {
            _ = try await r.repo.update(b, message: "m") { $0.values["PORT"] = "80" }   // HOST is required
        }
        #expect(try await r.repo.latestVersion(b) == nil)
    }

    @Test("validate reports a version against the current schema")
    func validateVersion() async throws {
        let r = try await SSRepo()
        try await r.write(Config(values: ["PORT": "x"]))
        let none = try await r.repo.validate(r.a)
        #expect(none.schema == nil && none.isValid, "no schema: nothing to check")
        try await r.setSchema(SSFix.plain)
        let report = try await r.repo.validate(r.a)
        #expect(report.schema?.number == 1)
        #expect(Set(SSFix.rows(report.issues)) == [["-", "", "required"], ["-", "/PORT", "type"]], "\(report.issues)")
    }

    @Test("checkBeforeExec passes a valid config and refuses one a newer schema rejects")
    func checkBeforeExec() async throws {
        let r = try await SSRepo()
        try await r.write(Config(values: ["HOST": "h.example.test"]))
        try await r.repo.checkBeforeExec(try await r.repo.open(r.a))   // no schema: fine
        try await r.setSchema(SSFix.plain)
        try await r.repo.checkBeforeExec(try await r.repo.open(r.a))
        // A stricter schema: a new required key.
        try await r.setSchema(#"{"type": "object", "required": ["HOST", "NEW_KEY"]}"#)
        let opened = try await r.repo.open(r.a)
        let e = await coreExpectErrorAsync(.validationFailed) { try await r.repo.checkBeforeExec(opened) }
        #expect(e?.details.count == 1 && e?.details.first?.contains("NEW_KEY") == true, "\(e?.details ?? [])")
        #expect(e?.message.contains("nothing was written") == false)
        await coreExpectErrorAsync(.validationFailed) { _ = try r.repo.checkBeforeExecLocally(opened) }
    }

    @Test("checkBeforeExecLocally hands over exactly when YAML must be checked, no parser is given and the digest differs")
    func localExecCheck() async throws {
        let r = try await SSRepo()
        // No schema: valid.
        try await r.write(Config(values: ["HOST": "h.example.test"], files: ["apps.yaml": Array("categories: [1, 2, 3]\n".utf8)]))
        #expect(try r.repo.checkBeforeExecLocally(try await r.repo.open(r.a)) == .valid)
        // A schema that constrains apps.yaml, set after the version was written: the digest differs.
        try await r.setSchema(SSFix.withYAML)
        let old = try await r.repo.open(r.a)
        #expect(old.info.schema == nil)
        #expect(try r.repo.checkBeforeExecLocally(old) == .needsFullCLI)
        // With a parser the check runs (and refuses: 3 categories > maxItems 2).
        await coreExpectErrorAsync(.validationFailed) { _ = try r.withParser.checkBeforeExecLocally(old) }
        // A version written (with a parser) under the current schema: trusted without a parser.
        try await r.write(Config(values: ["HOST": "h.example.test"], files: ["apps.yaml": Array("categories: [1]\n".utf8)]),
                          using: r.withParser)
        let current = try await r.repo.open(r.a)
        #expect(current.info.schema == (try await r.repo.currentSchema("svc-s"))?.schema.digest)
        #expect(try r.repo.checkBeforeExecLocally(current) == .valid)
        #expect(try r.withParser.checkBeforeExecLocally(current) == .valid)
        // The values are still checked locally even when YAML is trusted: a newer schema that
        // does not need YAML and requires a new key refuses it without handing over.
        try await r.setSchema(#"{"type": "object", "required": ["HOST", "NEW_KEY"]}"#)
        await coreExpectErrorAsync(.validationFailed) { _ = try r.repo.checkBeforeExecLocally(current) }
        // A schema without YAML content, version digest differs, valid config: checked locally.
        try await r.setSchema(#"{"type": "object", "required": ["HOST"]}"#)
        #expect(try r.repo.checkBeforeExecLocally(current) == .valid)
    }

    @Test("without a YAML parser, a write whose YAML content the schema constrains is refused (exec would trust it)")
    func writeWithoutParserUnderYAMLSchema() async throws {
        let r = try await SSRepo()
        try await r.setSchema(SSFix.withYAML)
        // apps.yaml violates the contentSchema (3 > maxItems 2). A repository without a YAML parser
        // cannot check it; since the launcher trusts the YAML of versions that record the current
        // schema's digest, such a version must never be written.
        let bad = Config(values: ["HOST": "h.example.test"], files: ["apps.yaml": Array("categories: [1, 2, 3]\n".utf8)])
        let e = await coreCatch { try await r.write(bad) }
        #expect(e != nil, "wrote a version whose apps.yaml was never checked")
        #expect(e?.message.contains("apps.yaml") == true, "\(e?.message ?? "")")
        #expect(try await r.repo.latestVersion(r.a) == nil)
        if e == nil {
            let local = try? r.repo.checkBeforeExecLocally(try await r.repo.open(r.a))
            #expect(local != .valid, "and exec would start it")
        }
        // Without such a file, a repository without a parser writes as usual.
        #expect(try await r.write(Config(values: ["HOST": "h.example.test"])).version == 1)
        // With a parser, the invalid file is a validation failure.
        await coreExpectErrorAsync(.validationFailed) { try await r.write(bad, using: r.withParser) }
    }
}

@Suite("ServiceSchema repository secrecy")
struct ServiceSchemaRepositorySecrecyTests {
    @Test("a version written without a schema is all secret, even after a schema is set")
    func noSchemaAllSecret() async throws {
        let r = try await SSRepo()
        try await r.write(Config(values: ["HOST": "h.example.test", "PASSWORD": "canary"]))
        try await r.setSchema(SSFix.plain)
        let old = try await r.repo.open(r.a)
        let p = await r.repo.secrecy(for: [old])
        #expect(p is AllSecret)
        #expect(p.isSecret(valuePath: ["HOST"]))
        // A later version validated against the schema shows HOST; a diff of both stays all secret.
        try await r.write(Config(values: ["HOST": "h2.example.test", "PASSWORD": "canary"]))
        let new = try await r.repo.open(r.a)
        let q = await r.repo.secrecy(for: [new])
        #expect(!q.isSecret(valuePath: ["HOST"]) && q.isSecret(valuePath: ["PASSWORD"]))
        #expect(await r.repo.secrecy(for: [old, new]).isSecret(valuePath: ["HOST"]))
    }

    @Test("a version whose schema digest is no longer in the store is all secret")
    func unknownDigestAllSecret() async throws {
        let r = try await SSRepo()
        try await r.setSchema(SSFix.plain)
        // A version recording the digest of a schema the store does not hold.
        let foreign = try SSFix.schema(#"{"type": "object", "properties": {"HOST": {"type": "string"}, "PASSWORD": {"type": "string"}}}"#)
        let info = try await r.repo.write(r.a, config: Config(values: ["HOST": "h.example.test", "PASSWORD": "canary"]), base: nil,
                                          message: "m", schema: foreign)
        #expect(info.schema == foreign.digest)
        let opened = try await r.repo.open(r.a)
        let p = await r.repo.secrecy(for: [opened])
        #expect(p is AllSecret)
        #expect(p.isSecret(valuePath: ["HOST"]))
    }

    @Test("a schema file removed from the store makes its versions all secret")
    func removedSchemaFile() async throws {
        let r = try await SSRepo()
        try await r.setSchema(SSFix.plain)
        try await r.write(Config(values: ["HOST": "h.example.test"]))
        try await r.setSchema(#"{"type": "object", "properties": {"HOST": {"type": "string"}}}"#)
        let opened = try await r.repo.open(r.a)
        #expect(await !r.repo.secrecy(for: [opened]).isSecret(valuePath: ["HOST"]))
        #expect(unlink(r.f.store.schemaDir("svc-s") + "/" + VersionName.name(1, suffix: ".json")) == 0)
        #expect(await r.repo.secrecy(for: [opened]).isSecret(valuePath: ["HOST"]))
    }

    @Test("two versions validated against different schemas: secret when either says so")
    func eitherSchema() async throws {
        let r = try await SSRepo()
        try await r.setSchema(#"""
        {"type": "object", "properties": {"A": {"type": "string", "writeOnly": true}, "B": {"type": "string"}, "C": {"type": "string"}}}
        """#)
        try await r.write(Config(values: ["A": "a", "B": "b", "C": "c"]))
        try await r.setSchema(#"""
        {"type": "object", "properties": {"A": {"type": "string"}, "B": {"type": "string", "x-secret": true}, "C": {"type": "string"}}}
        """#)
        try await r.write(Config(values: ["A": "a2", "B": "b2", "C": "c2"]))
        let v1 = try await r.repo.open(r.a, version: 1), v2 = try await r.repo.open(r.a, version: 2)
        #expect(v1.info.schema != v2.info.schema)
        let one = await r.repo.secrecy(for: [v1]), two = await r.repo.secrecy(for: [v2])
        #expect(one.isSecret(valuePath: ["A"]) && !one.isSecret(valuePath: ["B"]))
        #expect(!two.isSecret(valuePath: ["A"]) && two.isSecret(valuePath: ["B"]))
        let both = await r.repo.secrecy(for: [v1, v2])
        #expect(both.isSecret(valuePath: ["A"]) && both.isSecret(valuePath: ["B"]))
        #expect(!both.isSecret(valuePath: ["C"]))
        #expect(both.isSecret(valuePath: ["D"]))
        // The diff of the two versions follows it.
        let d = try await r.repo.diffVersions(r.a, from: 1, to: 2)
        let text = d.diff.renderText(oldLabel: "1", newLabel: "2")
        #expect(text.contains(#"~ C: "c" -> "c2""#), "\(text)")
        #expect(!text.contains(#""a""#) && !text.contains(#""b2""#), "\(text)")
    }
}
