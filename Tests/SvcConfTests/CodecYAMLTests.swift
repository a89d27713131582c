import Foundation
import Testing
import Yams

@testable import SvcConf
@testable import SvcConfYAML

@Suite struct CodecYAMLTests {
    func parse(_ text: String) throws -> ConfigValue { try YAMLCodec.parse(text, source: "c.yaml") }

    @Test func norwayProblemAndCoreSchemaScalars() throws {
        let text = """
            country: NO
            answers: [yes, no, Yes, on, off, y, n, On, OFF]
            bools: [true, True, TRUE, false, False, FALSE]
            nulls: [~, null, Null, NULL]
            empty:
            ints: [42, -7, +5, 0, 007, 0o17, 0x1F, 9223372036854775807, -9223372036854775808]
            big: [9223372036854775808, 99999999999999999999, -99999999999999999999, 0xFFFFFFFFFFFFFFFFFF]
            floats: [1.5, -0.25, 1e3, .5, +2.5E-3, 3., 1.0]
            strings: [2024-01-02, 2001-12-14t21:59:43.10-05:00, '1', "true", 1:20, 1_000, 0b101, .iNf, nan, "~", =]
            on: not-a-bool-key
            quoted: !!str 123
            explicit: [!!int "12", !!float "3", !!bool "false", !!null ""]
            """
        #expect(try parse(text) == [
            "country": "NO",
            "answers": ["yes", "no", "Yes", "on", "off", "y", "n", "On", "OFF"],
            "bools": [true, true, true, false, false, false],
            "nulls": [nil, nil, nil, nil],
            "empty": nil,
            "ints": [42, -7, 5, 0, 7, 15, 31, .int(.max), .int(.min)],
            "big": [
                .number(.double(9223372036854775808)), .number(.double(1e20)), .number(.double(-1e20)),
                .number(.double(0x1p72)),
            ],
            "floats": [
                .number(.double(1.5)), .number(.double(-0.25)), 1000, .number(.double(0.5)),
                .number(.double(0.0025)), 3, 1,
            ],
            "strings": [
                "2024-01-02", "2001-12-14t21:59:43.10-05:00", "1", "true", "1:20", "1_000", "0b101", ".iNf", "nan", "~", "=",
            ],
            "on": "not-a-bool-key",
            "quoted": "123",
            "explicit": [12, 3, false, nil],
        ])
    }

    @Test func blockFlowAliasesAndBlockScalars() throws {
        let text = """
            %YAML 1.2
            ---
            base: &base
              host: db.internal
              ports: [5432, 5433]
            copy: *base
            list:
              - a: 1
                b: [x, {y: z}]
              - - nested
            literal: |
              line 1
                indented
            folded: >-
              one
              two
            ...
            """
        let base: ConfigValue = ["host": "db.internal", "ports": [5432, 5433]]
        #expect(try parse(text) == [
            "base": base, "copy": base,
            "list": [["a": 1, "b": ["x", ["y": "z"]]], ["nested"]],
            "literal": "line 1\n  indented\n", "folded": "one two",
        ])
        #expect(try parse("") == nil)
        #expect(try parse("# just a comment\n") == nil)
        #expect(try parse("just text") == "just text")
    }

    @Test func errorsGivePositionsButNeverTheInput() {
        let c = codecCanary
        let cases: [(String, String)] = [
            ("a: 1\nb: \(c)\na: 2\n", "c.yaml: line 1: duplicate key \"a\""),
            ("outer:\n  k: \(c)\n  'k': 2\n", "c.yaml: line 2: duplicate key \"k\""),
            ("1: \(c)\n", "c.yaml: line 1, column 1: mapping keys must be strings"),
            ("a: 1\ntrue: \(c)\n", "c.yaml: line 2, column 1: mapping keys must be strings"),
            ("~: \(c)\n", "c.yaml: line 1, column 1: mapping keys must be strings"),
            ("? [\(c)]\n: v\n", "c.yaml: line 1, column 3: mapping keys must be strings"),
            ("base: &b {k: \(c)}\nx:\n  <<: *b\n", "c.yaml: line 3, column 3: merge keys (<<) are not supported"),
            ("a: .inf\nb: \(c)\n", "c.yaml: line 1, column 4: infinity and nan are not allowed (not json)"),
            ("a: [-.INF]\n", "c.yaml: line 1, column 5: infinity and nan are not allowed (not json)"),
            ("a: .NaN\n", "c.yaml: line 1, column 4: infinity and nan are not allowed (not json)"),
            ("a: 1e999\n", "c.yaml: line 1, column 4: number out of range"),
            ("a: \(String(repeating: "9", count: 400))\n", "c.yaml: line 1, column 4: number out of range"),
            ("a: 0x\(String(repeating: "F", count: 300))\n", "c.yaml: line 1, column 4: number out of range"),
            ("a: \(c)\n---\nb: 2\n", "c.yaml: line 3, column 1: more than one yaml document"),
            ("a: !!binary aGVsbG8=\n", "c.yaml: line 1, column 4: unsupported tag"),
            ("a: !secret \(c)\n", "c.yaml: line 1, column 4: unsupported tag"),
            ("a: !!set {x}\n", "c.yaml: line 1, column 4: unsupported tag"),
            ("a: !!int \(c)\n", "c.yaml: line 1, column 4: invalid integer"),
            ("a: !!float \(c)\n", "c.yaml: line 1, column 4: invalid number"),
            ("a: !!bool yes\n", "c.yaml: line 1, column 4: invalid boolean"),
            ("a: !!null \(c)\n", "c.yaml: line 1, column 4: invalid null"),
            ("a: *nowhere\nb: \(c)\n", "c.yaml: line 1, column 4: found undefined alias"),
        ]
        for (text, message) in cases {
            codecExpectError(message) { _ = try parse(text) }
        }
        // Syntax errors from libyaml: position and problem only, no snippet of the input.
        for text in [
            "password: \"\(c)\n", "a:\n\t- \(c)\n", "a: b: \(c)\n", "a: [\(c)\n", "key: '\(c)' junk\n",
            "- x\nkey: \(c)\n", "a: \(c)\u{1}\n", "a: @\(c)\n",
        ] {
            do {
                _ = try parse(text)
                Issue.record("expected a syntax error")
            } catch let error as SvcConfError {
                #expect(error.kind == .invalidInput)
                #expect(error.message.hasPrefix("c.yaml: line "))
                #expect(error.message.contains(", column "))
                #expect(!error.message.contains(c), "\(error.message)")
                #expect(!error.message.contains("\n"))
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
    }

    @Test func aliasExpansionAndDepthAreBounded() throws {
        var laughs = "l0: &l0 [\"\(codecCanary)\", x, x, x, x, x, x, x, x, x]\n"
        for i in 1...9 {
            laughs += "l\(i): &l\(i) [" + Array(repeating: "*l\(i - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        codecExpectError("c.yaml: too many nodes (alias expansion?)") { _ = try parse(laughs) }
        // Yams hashes keys before the node limit applies: keys that could expand are refused up front.
        let refused = "mapping keys must be plain strings in a document that uses aliases"
        codecExpectError("c.yaml: line 11: \(refused)") { _ = try parse(laughs + "? *l9\n: v\n") }
        codecExpectError("c.yaml: line 2: \(refused)") { _ = try parse("a: &a \(codecCanary)\n*a : v\n") }
        codecExpectError("c.yaml: line 3: \(refused)") { _ = try parse("a: &a x\nb: *a\n{k: v}: \(codecCanary)\n") }
        codecExpectError("c.yaml: line 1: \(refused)") { _ = try parse("{a: &a x, [b]: *a}") }
        codecExpectError("c.yaml: line 2: \(refused)") { _ = try parse("a: &a x\n- ? *a\n") }
        #expect(try parse("a: &a [x, \"what ? no\"]\nb: *a\nc: 'x]'\n") == ["a": ["x", "what ? no"], "b": ["x", "what ? no"], "c": "x]"])

        func nested(_ depth: Int) -> String {
            String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth)
        }
        var deepest: ConfigValue = 1
        for _ in 0..<512 { deepest = [deepest] }
        #expect(try parse(nested(512)) == deepest)
        codecExpectError("c.yaml: line 1, column 513: nesting deeper than 512") { _ = try parse(nested(513)) }
    }

    @Test func rendersBlockStyleDeterministically() {
        let value: ConfigValue = [
            "zeta": "last", "alpha": ["b": 2, "a": [1, "two", ["k": nil], [true, false], [], [:]]],
            "empty_list": [], "empty_map": [:], "ratio": .number(.double(0.25)), "neg": -3,
            "norway": "NO", "pem": "-----BEGIN-----\nAAAA\n-----END-----\n", "strip": "a\nb", "keep": "a\n\n",
            "lead": " a\nb", "quote me": "a: b", "ключ": "значение",
        ]
        #expect(YAMLCodec.render(value) == """
            alpha:
              a:
                - 1
                - two
                - k: null
                - - true
                  - false
                - []
                - {}
              b: 2
            empty_list: []
            empty_map: {}
            keep: |+
              a

            lead: " a\\nb"
            neg: -3
            norway: "NO"
            pem: |
              -----BEGIN-----
              AAAA
              -----END-----
            quote me: "a: b"
            ratio: 0.25
            strip: |-
              a
              b
            zeta: last
            ключ: значение

            """)
        #expect(YAMLCodec.render([:]) == "{}\n")
        #expect(YAMLCodec.render([]) == "[]\n")
        #expect(YAMLCodec.render("yes") == "\"yes\"\n")
        #expect(YAMLCodec.render(["x", ["k": 1, "y": 2]]) == "- x\n- k: 1\n  \"y\": 2\n")
        #expect(YAMLCodec.render("a\nb\n") == "|\n  a\n  b\n")
    }

    @Test func ambiguousStringsAreQuotedForYAML11And12Readers() throws {
        for s in codecNastyStrings + ["y", "N", "yes", "Off", "0o17", "0b1", "1.5e3", "+1", "-1", "1:20:30", "2024-01-02 10:00:00"] {
            let text = YAMLCodec.render([s: .string(s)])
            #expect(try parse(text) == [s: .string(s)], "\(text)")
            // A YAML 1.1 reader (Yams' default rules) must also see strings, for the key and the value.
            let node = try #require(try Yams.compose(yaml: text, .default))
            let (key, value) = try #require(node.mapping?.first)
            #expect(key.tag == Tag(.str) && value.tag == Tag(.str), "\(text)")
        }
        for plain in ["hello", "db.internal", "https://example.com/x#frag", "a:b", "it's", "C:\\dir", "日本"] {
            #expect(YAMLCodec.render(["k": .string(plain)]) == "k: \(plain)\n")
        }
    }

    @Test func longKeysUseExplicitKeySyntax() throws {
        let key = String(repeating: "k", count: 1500)
        let value: ConfigValue = [key: ["nested": "v"], "short": [key: "x\ny"]]
        let text = YAMLCodec.render(value)
        #expect(text.hasPrefix("? \(key)\n:\n  nested: v\n"))
        #expect(try parse(text) == value)
    }

    @Test func renderThenParseRoundTripsGeneratedTrees() throws {
        var rng = CodecRNG(seed: 2024)
        func scalar() -> ConfigValue {
            switch rng.below(8) {
            case 0: return nil
            case 1: return .bool(rng.below(2) == 0)
            case 2: return .int(Int64(bitPattern: rng.next()) >> Int64(rng.below(64)))
            case 3: return .number(.double(Double(Int64(bitPattern: rng.next()) >> 11) / Double(1 << rng.below(60))))
            case 4: return .number(.double(Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF) * (rng.below(2) == 0 ? 1 : -1)))
            default:
                return .string((0..<rng.below(4)).map { _ in codecNastyStrings[rng.below(codecNastyStrings.count)] }.joined())
            }
        }
        func tree(_ depth: Int) -> ConfigValue {
            guard depth < 5, rng.below(3) != 0 else { return scalar() }
            if rng.below(2) == 0 {
                return .array((0..<rng.below(5)).map { _ in tree(depth + 1) })
            }
            var object: [String: ConfigValue] = [:]
            for _ in 0..<rng.below(6) {
                object[codecNastyStrings[rng.below(codecNastyStrings.count)] + String(rng.below(3))] = tree(depth + 1)
            }
            return .object(object)
        }
        for _ in 0..<400 {
            let value = tree(0)
            let text = YAMLCodec.render(value)
            #expect(try parse(text) == value, "\(text)")
            #expect(YAMLCodec.render(value) == text)
        }
    }
}
