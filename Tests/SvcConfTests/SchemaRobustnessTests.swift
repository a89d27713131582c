import Testing
@testable import SvcConf

/// Schemas read back from the store at container start are compiled without the metaschema check
/// (it would double exec's start-up time). A schema planted there by a store writer must then make
/// compilation or validation fail, never crash: every keyword with a value of every wrong type.
@Suite("Schema robustness without the metaschema check")
struct SchemaRobustnessTests {
    static let keywords = [
        "$id", "$schema", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor", "$defs", "$vocabulary", "$comment",
        "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas", "prefixItems", "items",
        "contains", "properties", "patternProperties", "additionalProperties", "propertyNames",
        "unevaluatedItems", "unevaluatedProperties", "type", "enum", "const", "multipleOf", "maximum",
        "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems",
        "minItems", "uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties", "required",
        "dependentRequired", "format", "contentEncoding", "contentMediaType", "contentSchema", "writeOnly",
        "x-secret", "x-files",
    ]
    static let oddValues: [ConfigValue] = [
        .null, .bool(true), .bool(false), .int(-1), .int(0), .number(.double(1.5)), .number(.double(1e308)),
        .string(""), .string("[unclosed"), .string("#/nowhere"), .array([]), .array([.int(1), .string("x")]),
        .object([:]), .object(["a": .int(1)]), .object(["type": .string("nope")]),
    ]

    @Test("every keyword with every odd value: compile and validate never crash")
    func oddKeywordValues() {
        var compiled = 0, refused = 0
        for keyword in Self.keywords {
            for value in Self.oddValues {
                var members: [String: ConfigValue] = ["properties": .object(["A": .object([keyword: value])])]
                members[keyword] = value  // at the root too (replacing "properties" when that is the keyword)
                let doc: ConfigValue = .object(members)
                do {
                    let schema = try ServiceSchema(document: doc, checkAgainstMetaschema: false)
                    compiled += 1
                    _ = schema.validate(Config(values: ["A": .string("x"), "B": .int(2)], files: ["f": Array("{}".utf8)]))
                    _ = schema.secrecy(for: [Config(values: ["A": .string("x")])]).isSecret(valuePath: ["A"])
                } catch {
                    refused += 1
                    #expect(error.kind == .invalidInput, "\(keyword): \(error)")
                }
            }
        }
        #expect(compiled + refused == Self.keywords.count * Self.oddValues.count)
        #expect(refused > 0 && compiled > 0)
    }
}
