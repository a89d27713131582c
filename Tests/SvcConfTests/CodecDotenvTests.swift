import Foundation
import Testing

@testable import SvcConf

/// A port of `parse` from Node's `dotenv` 16 (lib/main.js): the reference the apps load `.env` with.
func codecNodeDotenvParse(_ source: String) -> [String: String] {
    let line = try! NSRegularExpression(
        pattern: #"(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)"#,
        options: [.anchorsMatchLines])
    let surroundingQuotes = try! NSRegularExpression(pattern: #"^(['"`])([\s\S]*)\1$"#, options: [.anchorsMatchLines])
    let lines = source.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
    let ns = lines as NSString
    var result: [String: String] = [:]
    for match in line.matches(in: lines, range: NSRange(location: 0, length: ns.length)) {
        let key = ns.substring(with: match.range(at: 1))
        let raw = match.range(at: 2).location == NSNotFound ? "" : ns.substring(with: match.range(at: 2))
        var value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        let maybeQuote = value.first
        value = surroundingQuotes.stringByReplacingMatches(
            in: value, range: NSRange(location: 0, length: (value as NSString).length), withTemplate: "$2")
        if maybeQuote == "\"" {
            value = value.replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\r", with: "\r")
        }
        result[key] = value
    }
    return result
}

@Suite struct CodecDotenvTests {
    func parse(_ text: String) throws -> [(key: String, value: String)] {
        try Dotenv.parse(Array(text.utf8), source: ".env")
    }

    func pairs(_ entries: [(key: String, value: String)]) -> [String] { entries.map { "\($0.key)=\($0.value)" } }

    @Test func parsesLinesInOrder() throws {
        let text = """
            # a comment
            ZED=last-but-first

              export EXPORTED = spaced out  
            PLAIN=a b c # trailing comment
            EMPTY=
            EMPTY_COMMENT= # nothing here
            HASH_INSIDE_QUOTES="a #b"
            DOTTED.name-x=1
            export=not-a-prefix
            URL=https://example.com/a?b=c&d=e
            """
        #expect(pairs(try parse(text)) == [
            "ZED=last-but-first", "EXPORTED=spaced out", "PLAIN=a b c", "EMPTY=", "EMPTY_COMMENT=",
            "HASH_INSIDE_QUOTES=a #b", "DOTTED.name-x=1", "export=not-a-prefix", "URL=https://example.com/a?b=c&d=e",
        ])
    }

    @Test func quotedValues() throws {
        let text = #"""
            SINGLE='lit\n $HOME "x" `y`'  # comment
            DOUBLE="a\nb\rc 'q' $HOME"
            BACKTICK=`it's "quoted"`
            SPACES='  padded  '
            EMPTY_SINGLE=''
            EMPTY_DOUBLE=""
            COMMENT_RIGHT_AFTER='x'#c
            """#
        let values = Dictionary(uniqueKeysWithValues: try parse(text).map { ($0.key, $0.value) })
        #expect(values == [
            "SINGLE": #"lit\n $HOME "x" `y`"#, "DOUBLE": "a\nb\rc 'q' $HOME", "BACKTICK": #"it's "quoted""#,
            "SPACES": "  padded  ", "EMPTY_SINGLE": "", "EMPTY_DOUBLE": "", "COMMENT_RIGHT_AFTER": "x",
        ])
        #expect(values == codecNodeDotenvParse(text))
    }

    @Test func multiLineQuotedValues() throws {
        let text = """
            CERT='-----BEGIN CERTIFICATE-----
            MIIB
            -----END CERTIFICATE-----'
            DOUBLE="first
              second\\n"
            TICK=`a
            b` # done
            AFTER=1
            """
        let expected = [
            "CERT=-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "DOUBLE=first\n  second\n",
            "TICK=a\nb", "AFTER=1",
        ]
        #expect(pairs(try parse(text)) == expected)
        #expect(Dictionary(uniqueKeysWithValues: try parse(text).map { ($0.key, $0.value) }) == codecNodeDotenvParse(text))
    }

    @Test func crlfAndByteOrderMark() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("A=1\r\nB='x\r\ny'\r\n# c\r\nC=\"q\"\r\n".utf8)
        #expect(pairs(try Dotenv.parse(bytes, source: ".env")) == ["A=1", "B=x\ny", "C=q"])
    }

    @Test func parseValuesGivesStrings() throws {
        #expect(try Dotenv.parseValues(Array("A=1\nB=true\n".utf8), source: ".env") == ["A": "1", "B": "true"])
    }

    @Test func errorsNameTheLineButNotTheValue() {
        let c = codecCanary
        let cases: [(String, String)] = [
            ("A=1\n1BAD=\(c)", "line 2: invalid key name"),
            ("MY KEY=\(c)", "line 1: invalid key name"),
            ("=\(c)", "line 1: invalid key name"),
            ("A\u{301}=\(c)", "line 1: invalid key name"),
            ("OK=1\n\(c)\n", "line 2: expected KEY=VALUE"),
            ("KEY: \(c)", "line 1: expected KEY=VALUE"),
            ("A=1\n\nA=\(c)", "line 3: duplicate key \"A\""),
            ("A='\(c)\nB=2\n", "line 1: unterminated quoted value"),
            ("X=1\nA=\"\(c)", "line 2: unterminated quoted value"),
            ("A=`\(c)", "line 1: unterminated quoted value"),
            ("A='\(c)' trailing", "line 1: unexpected text after the closing quote"),
            ("A=\"\(c)\"x", "line 1: unexpected text after the closing quote"),
            ("A=\(c)#frag", "line 1: '#' inside an unquoted value (dotenv starts a comment there); quote the value"),
            ("A=#\(c)", "line 1: '#' inside an unquoted value (dotenv starts a comment there); quote the value"),
            ("A=\"\(c)\\t\"", "line 1: unsupported escape in a double-quoted value (dotenv expands only \\n and \\r); use single quotes"),
            ("A=\"\(c)\\\"\"", "line 1: unsupported escape in a double-quoted value (dotenv expands only \\n and \\r); use single quotes"),
            ("A=\"\\\\\(c)\"", "line 1: unsupported escape in a double-quoted value (dotenv expands only \\n and \\r); use single quotes"),
            ("A=\"\(c)\\\nrest\"", "line 1: unsupported escape in a double-quoted value (dotenv expands only \\n and \\r); use single quotes"),
            ("A=1\nB=\(c)\0", "line 2: nul byte"),
            ("A=\(c)\rB=2", "line 1: carriage return without line feed"),
        ]
        for (text, problem) in cases {
            codecExpectError(".env: \(problem)") { _ = try parse(text) }
        }
        codecExpectError(".env: line 2: invalid utf-8") {
            _ = try Dotenv.parse(Array("A=1\nB=\(c)".utf8) + [0xC3, 0x28], source: ".env")
        }
    }

    @Test func rendersSortedAndQuoted() throws {
        let values: [String: ConfigValue] = [
            "BARE": "postgres://u@h:5432/db,x=1%20", "SPACE": "a b", "NEWLINE": "l1\nl2\r", "DQ": #"say "hi""#,
            "BS": #"C:\x"#, "BOTH": #"it's "q""#, "EMPTY": "", "NUM": 42, "FLOAT": .number(.double(1.5)),
            "BOOL": false, "NULL": nil, "OBJ": ["b": [1, "x"], "a": nil], "_U": "ok",
        ]
        #expect(try Dotenv.render(values) == #"""
            BARE=postgres://u@h:5432/db,x=1%20
            BOOL=false
            BOTH=`it's "q"`
            BS='C:\x'
            DQ='say "hi"'
            EMPTY=""
            FLOAT=1.5
            NEWLINE="l1\nl2\r"
            NULL=""
            NUM=42
            OBJ='{"a":null,"b":[1,"x"]}'
            SPACE="a b"
            _U=ok

            """#)
    }

    @Test func renderRefusesBadNamesAndValues() {
        for key in ["a-b", "1A", "A.B", "", "É", "A B"] {
            codecExpectError("\(Names.quoted(key)) is not a valid environment variable name") {
                _ = try Dotenv.render([key: .string(codecCanary)])
            }
        }
        codecExpectError("the value of \"K\" contains a nul byte") {
            _ = try Dotenv.render(["K": .string(codecCanary + "\0")])
        }
        for value in [#"' " `"#, "'\\`", "\"\r", "\\\r", "'\"\\", "\"x\\"] {
            #expect(!codecDotenvRepresentable(value))
            codecExpectError(
                "the value of \"K\" cannot be written as dotenv: no quoting style that node's dotenv reads represents it exactly"
            ) {
                _ = try Dotenv.render(["K": .string(codecCanary + value)])
            }
        }
    }

    @Test func renderThenParseRoundTripsForNodeAndUs() throws {
        var rng = CodecRNG(seed: 7)
        var corpus = codecNastyStrings
        for _ in 0..<500 {
            corpus.append((0..<rng.below(6)).map { _ in codecNastyStrings[rng.below(codecNastyStrings.count)] }.joined())
        }
        let representable = corpus.filter(codecDotenvRepresentable)
        #expect(representable.count > corpus.count / 2)
        let values = Dictionary(uniqueKeysWithValues: representable.enumerated().map { ("K\($0.offset)", $0.element) })
        let text = try Dotenv.render(values.mapValues { .string($0) })
        let ours = try Dotenv.parse(Array(text.utf8), source: ".env")
        #expect(ours.map(\.key) == JSON.sortedKeys(values))
        #expect(Dictionary(uniqueKeysWithValues: ours.map { ($0.key, $0.value) }) == values)
        #expect(codecNodeDotenvParse(text) == values)
    }
}

/// SplitMix64: a small seeded generator so property tests are reproducible.
struct CodecRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
