import Foundation
import Testing

@testable import SvcConf
@testable import SvcConfYAML

/// Planted in inputs whose parsing must fail: no error message may repeat it.
let codecCanary = "hunter2-canary"

/// Runs `body`, expects an `SvcConfError` with exactly `message` and `kind`, and checks that the
/// message does not contain ``codecCanary``.
func codecExpectError(
    _ message: String, kind: SvcConfError.Kind = .invalidInput,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected an error: \(message)", sourceLocation: sourceLocation)
    } catch let error as SvcConfError {
        #expect(error.kind == kind, sourceLocation: sourceLocation)
        #expect(error.message == message, sourceLocation: sourceLocation)
        #expect(!error.message.contains(codecCanary), sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}

/// Strings that trip up quoting in one format or another.
let codecNastyStrings: [String] = [
    "", " ", "  leading", "trailing  ", "a b", "#hash", "a #b", "a#b", "it's", "say \"hi\"", "back`tick",
    "$HOME", "${VAR}", "$(whoami)", "a=b", "==", "line1\nline2", "line1\r\nline2", "\n", "\nlead",
    "trail\n", "two\n\n", "tab\there", "back\\slash", "ends\\", "\\n literal", "héllo wörld ✓ 日本 🎉",
    "\u{2028}sep", "nbsp\u{00A0}", "yes", "NO", "on", "y", "~", "null", "true", "False", "1.0", "0x1F",
    "007", "1_000", "12:30", "2024-01-02", "2001-12-14t21:59:43.10-05:00", ".inf", "-.5", "1e3",
    "- dash", "-", "? q", ": c", "key:", "a: b", "[a]", "{a}", "*alias", "&anchor", "!tag", "%pct", "@at",
    "|pipe", ">gt", "'single'", "\"double\"", "...", "---", "<<", "=", "del\u{7F}", "ctl\u{1}",
    "nel\u{85}", "mid\u{FEFF}bom", "it's \"both\"", "C:\\Users\\x", "https://example.com/a?b=c#frag",
    "multi\n  indented\n\ttabbed\nend", " first line indented\nsecond", "trailing space \nnext",
    "postgres://user:p@ss@host:5432/db", "-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n",
]

@Suite struct CodecValuesTests {
    @Test func readsEachFormat() throws {
        let expected: [String: ConfigValue] = ["A": "1", "B": "x y"]
        #expect(try ValuesCodec.readValues(Array("A: \"1\"\nB: x y\n".utf8), format: .yaml, source: "v.yaml") == expected)
        #expect(try ValuesCodec.readValues(Array(#"{"A":"1","B":"x y"}"#.utf8), format: .json, source: "v.json") == expected)
        #expect(try ValuesCodec.readValues(Array("A=1\nB='x y'\n".utf8), format: .env, source: ".env") == expected)
        #expect(try ValuesCodec.readValues(Array("N: 3\nL: [1, true, null]\n".utf8), format: .yaml, source: "v.yaml")
            == ["N": 3, "L": [1, true, nil]])
    }

    @Test func topLevelMustBeAMapping() {
        let message = "v: expected a mapping of KEY: value at the top level"
        for (text, format) in [
            ("- \(codecCanary)\n", ConfigFormat.yaml), ("\(codecCanary)\n", .yaml), ("", .yaml), ("# only\n", .yaml),
            ("[\"\(codecCanary)\"]", .json), ("\"\(codecCanary)\"", .json), ("null", .json),
        ] {
            codecExpectError(message) { _ = try ValuesCodec.readValues(Array(text.utf8), format: format, source: "v") }
        }
    }

    @Test func jsonErrorsAreInvalidInput() {
        codecExpectError("v.json: invalid JSON at byte 22: expected ',' or '}'") {
            _ = try ValuesCodec.readValues(Array(#"{"A":"\#(codecCanary)" "B":1}"#.utf8), format: .json, source: "v.json")
        }
        codecExpectError("v.json: invalid JSON at byte 15: duplicate key") {
            _ = try ValuesCodec.readValues(Array(#"{"A":1,"B":2,  "A":"\#(codecCanary)"}"#.utf8), format: .json, source: "v.json")
        }
    }

    @Test func yamlMustBeUTF8() {
        codecExpectError("v.yaml: invalid utf-8") {
            _ = try ValuesCodec.readValues(Array("A: ".utf8) + [0xFF, 0xFE], format: .yaml, source: "v.yaml")
        }
    }

    @Test func shellCannotBeRead() {
        codecExpectError("shell is an output format only", kind: .usage) {
            _ = try ValuesCodec.readValues(Array("export A='1'\n".utf8), format: .shell, source: "x.sh")
        }
    }

    @Test func rendersEachFormat() throws {
        let values: [String: ConfigValue] = ["B": "two words", "A": 1, "C": ["x": [true, nil]]]
        #expect(try ValuesCodec.render(values, format: .yaml) == "A: 1\nB: two words\nC:\n  x:\n    - true\n    - null\n")
        #expect(try ValuesCodec.render(values, format: .json)
            == "{\n  \"A\": 1,\n  \"B\": \"two words\",\n  \"C\": {\n    \"x\": [\n      true,\n      null\n    ]\n  }\n}\n")
        #expect(try ValuesCodec.render(values, format: .env) == "A=1\nB=\"two words\"\nC='{\"x\":[true,null]}'\n")
        #expect(try ValuesCodec.render(values, format: .shell)
            == "export A='1'\nexport B='two words'\nexport C='{\"x\":[true,null]}'\n")
        #expect(try ValuesCodec.render([:], format: .yaml) == "{}\n")
        #expect(try ValuesCodec.render([:], format: .json) == "{}\n")
        #expect(try ValuesCodec.render([:], format: .env) == "")
    }

    @Test func everyFormatRoundTrips() throws {
        let values: [String: ConfigValue] = Dictionary(
            uniqueKeysWithValues: codecNastyStrings.enumerated().map { ("K\($0.offset)", ConfigValue.string($0.element)) }
        ).filter { codecDotenvRepresentable($0.value.stringValue!) }
        for format in [ConfigFormat.yaml, .json, .env] {
            let text = try ValuesCodec.render(values, format: format)
            #expect(try ValuesCodec.readValues(Array(text.utf8), format: format, source: "rt") == values, "\(format)")
        }
    }
}

/// Test oracle for `Dotenv.render`: whether some quoting style reads back exactly under node's dotenv.
func codecDotenvRepresentable(_ s: String) -> Bool {
    let b = Array(s.utf8)
    if !b.contains(UInt8(ascii: "\"")) && !b.contains(UInt8(ascii: "\\")) { return true }
    let literalSafe = !b.contains(0x0D) && b.last != UInt8(ascii: "\\")
    return literalSafe && (!b.contains(UInt8(ascii: "'")) || !b.contains(UInt8(ascii: "`")))
}
