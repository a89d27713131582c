import Testing

@testable import SvcConf

@Suite("Support: Base64 and Hex")
struct SupportEncodingTests {
    @Test("RFC 4648 §10 test vectors", arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ])
    func vectors(_ plain: String, _ encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test("all byte values and lengths round trip")
    func roundTrip() {
        #expect(Base64.encode(Array(0...255)).hasPrefix("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"))
        #expect(Base64.encode([0xFB, 0xFF, 0xBF]) == "+/+/")
        var g = SystemRandomNumberGenerator()
        for n in 0..<100 {
            let b = (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) }
            #expect(Base64.decode(Base64.encode(b)) == b)
        }
    }

    @Test("non-canonical or malformed base64 is rejected", arguments: [
        "Zg", "Zg=", "Zg===", "Zh==", "Zm9=", "Zm8", "Zm9vY", "Zg==Zg==", "Zm8=Zm9v", "Z===", "====", "=Zg=", "Zg=a",
        "Zm9v\n", " Zm9v", "Zm 9v", "Zm9-", "Zm9_", "Zm9v\0", "Zm9vYg==\n", "Zm9vYg", "Zm9vYmF", "Zm9vYmE", "Zm9vYmF=",
        "Zm9v=", "Zm\u{e9}v",
    ])
    func rejects(_ s: String) {
        #expect(Base64.decode(s) == nil, "\(s.debugDescription)")
    }

    @Test("every one-character change of the last quantum that changes the trailing bits is rejected")
    func trailingBits() {
        // "Zg==" ('f'): the second character carries 4 unused bits; only Zg/Zw/ZQ/ZA-like values with
        // zero low bits are canonical. Exactly one second character decodes to 0x66.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let ok1 = alphabet.filter { Base64.decode("Z\($0)==") == [0x66] }
        #expect(ok1 == ["g"])
        let ok2 = alphabet.filter { Base64.decode("Zm\($0)=") == [0x66, 0x6F] }
        #expect(ok2 == ["8"])
        // Canonical ⇔ re-encoding gives the same text.
        for c in alphabet {
            for s in ["Z\(c)==", "Zm\(c)="] {
                if let d = Base64.decode(s) { #expect(Base64.encode(d) == s) }
            }
        }
    }

    @Test("Hex: lower-case only, even length")
    func hex() {
        #expect(Hex.encode([]) == "" && Hex.encode([0x00, 0x0F, 0xAB, 0xFF]) == "000fabff")
        #expect(Hex.decode("000fabff") == [0x00, 0x0F, 0xAB, 0xFF])
        #expect(Hex.decode("") == [])
        for bad in ["0", "abc", "AB", "aB", "0g", "zz", " 00", "00 ", "0x00", "-1", "٠٠"] {
            #expect(Hex.decode(bad) == nil, "\(bad)")
        }
        let all = Array(UInt8.min...UInt8.max)
        #expect(Hex.decode(Hex.encode(all)) == all)
    }

    @Test("Digest: sha256:<64 lower hex>")
    func digest() {
        let d = Digest(of: Array("abc".utf8))
        #expect(d.description == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(d.short == "ba7816bf8f01")
        #expect(Digest(parsing: d.description) == d)
        for bad in [d.description.uppercased(), "sha256:" + String(repeating: "a", count: 63), "sha256:" + String(repeating: "a", count: 66),
                    "SHA256:" + Hex.encode(d.bytes), Hex.encode(d.bytes), "sha256:" + Hex.encode(d.bytes).uppercased(), ""] {
            #expect(Digest(parsing: bad) == nil, "\(bad)")
        }
    }
}

@Suite("Support: Timestamp")
struct SupportTimestampTests {
    @Test("known instants", arguments: [
        (Int64(0), "1970-01-01T00:00:00Z"), (1_700_000_000, "2023-11-14T22:13:20Z"), (951_782_400, "2000-02-29T00:00:00Z"),
        (951_868_799, "2000-02-29T23:59:59Z"), (1_709_164_800, "2024-02-29T00:00:00Z"), (4_107_542_400, "2100-03-01T00:00:00Z"),
        (253_402_300_799, "9999-12-31T23:59:59Z"), (86_399, "1970-01-01T23:59:59Z"), (68_169_600, "1972-02-29T00:00:00Z"),
        (1_234_567_890, "2009-02-13T23:31:30Z"), (2_147_483_648, "2038-01-19T03:14:08Z"),
    ])
    func known(_ seconds: Int64, _ text: String) {
        #expect(Timestamp(secondsSinceEpoch: seconds).description == text)
        #expect(Timestamp(rfc3339: text)?.secondsSinceEpoch == seconds)
    }

    @Test("round trip across many days, including every leap day 1970-2400")
    func roundTrip() {
        var t: Int64 = 0
        while t < 13_569_465_600 {  // 2400-01-01
            let ts = Timestamp(secondsSinceEpoch: t)
            #expect(Timestamp(rfc3339: ts.description) == ts, "\(t)")
            t += 86_400 * 7 + 3_601
        }
        for y in 1970...2400 {
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
            let s = "\(y)-02-29T12:00:00Z"
            #expect((Timestamp(rfc3339: s) != nil) == leap, "\(s)")
            if let ts = Timestamp(rfc3339: s) { #expect(ts.description == s) }
        }
    }

    @Test("before 1970 prints correctly (floor division)")
    func negative() {
        #expect(Timestamp(secondsSinceEpoch: -1).description == "1969-12-31T23:59:59Z")
        #expect(Timestamp(secondsSinceEpoch: -86_400).description == "1969-12-31T00:00:00Z")
        #expect(Timestamp(secondsSinceEpoch: -86_401).description == "1969-12-30T23:59:59Z")
    }

    @Test("invalid times are refused", arguments: [
        "", "2023-11-14", "2023-11-14T22:13:20", "2023-11-14T22:13:20z", "2023-11-14t22:13:20Z", "2023-11-14 22:13:20Z",
        "2023-11-14T22:13:20.5Z", "2023-11-14T22:13:20+00:00", "2023-13-01T00:00:00Z", "2023-00-01T00:00:00Z",
        "2023-01-00T00:00:00Z", "2023-01-32T00:00:00Z", "2023-04-31T00:00:00Z", "2023-02-29T00:00:00Z", "2100-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z", "2023-11-14T24:00:00Z", "2023-11-14T23:60:00Z", "2023-12-31T23:59:60Z", "1969-12-31T23:59:59Z",
        "0000-01-01T00:00:00Z", "+023-11-14T22:13:20Z", "2023-1-14T22:13:20Z ", "2023-11-14T22:13:2xZ", "2023/11/14T22:13:20Z",
        "２023-11-14T22:13:20Z", " 2023-11-14T22:13:20Z", "2023-11-14T-2:13:20Z",
    ])
    func invalid(_ s: String) {
        #expect(Timestamp(rfc3339: s) == nil, "\(s)")
    }

    @Test("ordering")
    func ordering() {
        #expect(Timestamp(secondsSinceEpoch: 1) < Timestamp(secondsSinceEpoch: 2))
        #expect(Timestamp(rfc3339: "2023-01-01T00:00:00Z")! < Timestamp(rfc3339: "2023-01-01T00:00:01Z")!)
        #expect(Timestamp.now().secondsSinceEpoch > 1_700_000_000)
    }
}

@Suite("Support: Names")
struct SupportNamesTests {
    @Test("valid names", arguments: ["a", "0", "access-boston", "a-", "a--b", "9lives", String(repeating: "a", count: 63), "prod", "eu-west-1"])
    func valid(_ n: String) throws {
        #expect(Names.isValid(n))
        #expect(throws: Never.self) { try Names.check(n, as: "service") }
        _ = try ConfigAddress(service: n, env: n, variant: n)
    }

    @Test("invalid names are refused before any I/O", arguments: [
        "", "../x", "..", ".", "A", "Access", "-a", "a_b", "a.b", "a b", "a/b", "a\\b", String(repeating: "a", count: 64),
        "é", "ａ", "a\u{0}", "a\n", "ab\u{301}", "🎉", "~", "*",
    ])
    func invalid(_ n: String) {
        #expect(!Names.isValid(n))
        let e = coreExpectError(.usage) { try Names.check(n, as: "env") }
        #expect(e?.message.hasPrefix("invalid env name ") == true)
        #expect(e?.hint?.contains("1-63 characters") == true)
        // Unprintable names are not echoed, only measured.
        if n.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value >= 0x7F }) {
            #expect(e?.message == "invalid env name (\(n.utf8.count) bytes)")
        }
        coreExpectError(.usage) { _ = try ConfigAddress(service: n, env: "prod") }
        coreExpectError(.usage) { _ = try ConfigAddress(service: "svc", env: n) }
        coreExpectError(.usage) { _ = try ConfigAddress(service: "svc", env: "prod", variant: n) }
    }

    @Test("file names and environment names")
    func otherNames() {
        for ok in ["a", "tls.crt", "apps.yaml", "A_b-c.D", ".env", "..a", String(repeating: "x", count: 255)] {
            #expect(Names.isValidFileName(ok), "\(ok)")
        }
        for bad in ["", ".", "..", "a/b", "../a", "a b", "é", String(repeating: "x", count: 256), "a\0"] {
            #expect(!Names.isValidFileName(bad), "\(bad)")
        }
        for ok in ["A", "_", "a1", "DB_URL", "_X9"] { #expect(Names.isEnvironmentName(ok), "\(ok)") }
        for bad in ["", "1A", "A-B", "A.B", "A B", "É", "A=B"] { #expect(!Names.isEnvironmentName(bad), "\(bad)") }
    }

    @Test("ConfigAddress: description and ordering")
    func address() {
        let a = CoreFix.address("svc", "prod"), b = CoreFix.address("svc", "prod", "dev"), c = CoreFix.address("svc", "dev")
        #expect(a.description == "svc/prod" && b.description == "svc/prod/dev")
        #expect([b, a, c].sorted() == [c, a, b])
        #expect(a != b && a == CoreFix.address("svc", "prod"))
    }
}

@Suite("Support: JSON")
struct SupportJSONTests {
    func parse(_ s: String) throws -> ConfigValue { try JSON.parse(s) }

    func rejects(_ s: String, _ reason: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let v = try JSON.parse(s)
            Issue.record("accepted \(s.debugDescription) as \(v)", sourceLocation: sourceLocation)
        } catch {
            if let reason { #expect(error.reason == reason, "\(s.debugDescription)", sourceLocation: sourceLocation) }
        }
    }

    @Test("accepts RFC 8259 JSON")
    func accepts() throws {
        #expect(try parse(#" {"a" : [1, -2.5e3, true, false, null, "x"], "b": {}} "#)
                == ["a": [1, .number(.double(-2500)), true, false, nil, "x"], "b": [:]])
        #expect(try parse("0") == 0 && parse("-0") == 0 && parse("\"\"") == "" && parse("[]") == [] && parse("\t\r\n null \n") == nil)
        #expect(try parse(#""\"\\\/\b\f\n\r\t\u00e9\ud83c\udf89""#) == .string("\"\\/\u{8}\u{c}\n\r\té🎉"))
        #expect(try parse("1E2") == 100 && parse("1e+2") == 100 && parse("1.5e-1") == .number(.double(0.15)))
        #expect(try parse(#""\u0000""#) == .string("\0"))
        #expect(try parse("\"é🎉\u{7f}\"") == .string("é🎉\u{7f}"))
    }

    @Test("rejects what RFC 8259 does not allow", arguments: [
        ("[1,]", "unexpected character"), (#"{"a":1,}"#, "expected a string key"), ("[,1]", "unexpected character"),
        ("01", "leading zero in number"), ("-01", "leading zero in number"), ("00", "leading zero in number"), ("[01]", "leading zero in number"),
        ("1.", "expected digits after '.'"), (".5", "unexpected character"), ("+1", "unexpected character"), ("1e", "expected digits in exponent"),
        ("-", "unexpected end of input in number"), ("0x10", "unexpected data after the JSON value"), ("NaN", "unexpected character"),
        ("Infinity", "unexpected character"), ("-Infinity", "invalid number"), ("1e400", "number out of range"), ("-1e400", "number out of range"),
        (#""\ud800""#, "lone surrogate in \\u escape"), (#""\udc00""#, "lone surrogate in \\u escape"),
        (#""\ud800x""#, "lone surrogate in \\u escape"), (#""\ud800\u0041""#, "invalid surrogate pair"),
        (#""\ud800\ud800""#, "invalid surrogate pair"), (#""\u12""#, "unexpected end of input in \\u escape"), (#""\u12zz""#, "invalid \\u escape"), (#""\u12G4""#, "invalid \\u escape"),
        (#""\x""#, "invalid escape"), (#""\'""#, "invalid escape"), ("\"a\u{1}b\"", "raw control character in string"),
        ("\"a\tb\"", "raw control character in string"), ("\"a\nb\"", "raw control character in string"),
        ("\"\\n\u{1f}\"", "raw control character in string"), (#"{"a":1,"a":2}"#, "duplicate key"), (#"{"a":1,"\u0061":2}"#, "duplicate key"),
        ("", "unexpected end of input"), ("  ", "unexpected end of input"), ("[1 2]", "expected ',' or ']'"), (#"{"a" 1}"#, "expected ':'"),
        (#"{"a":1 "b":2}"#, "expected ',' or '}'"), ("{1:2}", "expected a string key"), ("[1]]", "unexpected data after the JSON value"),
        ("// c\n1", "unexpected character"), ("/* c */ 1", "unexpected character"), ("tru", "unexpected end of input"), ("nul", "unexpected end of input"),
        ("True", "unexpected character"), ("truex", "unexpected data after the JSON value"), ("\"abc", "unterminated string"),
        ("\"ab\\", "unterminated escape"), ("[", "unexpected end of input"), (#"{"a":"#, "unexpected end of input"),
        ("\u{feff}1", "unexpected character"), ("'a'", "unexpected character"), ("1 2", "unexpected data after the JSON value"),
        ("\u{a0}1", "unexpected character"),
    ])
    func rejectsInvalid(_ s: String, _ reason: String) {
        rejects(s, reason)
    }

    @Test("invalid UTF-8 in strings is rejected")
    func invalidUTF8() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0x5C, 0x6E, 0xFF, 0x22],
                               [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22]] {
            #expect(throws: JSON.SyntaxError.self) { try JSON.parse(bytes) }
        }
    }

    @Test("duplicate keys are allowed only when asked; the last one wins")
    func duplicatesOptIn() throws {
        let lenient = JSON.Limits(maxDepth: 10, maxBytes: 100, rejectDuplicateKeys: false)
        #expect(try JSON.parse(#"{"a":1,"a":2}"#, limits: lenient) == ["a": 2])
    }

    @Test("depth limit: 10,000-deep arrays and objects give an error, not a crash")
    func depth() {
        let deepArray = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        rejects(deepArray, "nesting deeper than 512")
        let deepObject = String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000)
        rejects(deepObject, "nesting deeper than 512")
        rejects(String(repeating: "[", count: 100_000), "nesting deeper than 512")
        // Exactly at the limit is fine; one more is not.
        #expect(throws: Never.self) { try JSON.parse(String(repeating: "[", count: 512) + String(repeating: "]", count: 512)) }
        rejects(String(repeating: "[", count: 513) + String(repeating: "]", count: 513), "nesting deeper than 512")
        let small = JSON.Limits(maxDepth: 2, maxBytes: 1000, rejectDuplicateKeys: true)
        #expect(throws: Never.self) { try JSON.parse(#"{"a":[1]}"#, limits: small) }
        #expect(throws: JSON.SyntaxError.self) { try JSON.parse(#"{"a":[[1]]}"#, limits: small) }
    }

    @Test("size limit")
    func size() {
        let lim = JSON.Limits(maxDepth: 10, maxBytes: 5, rejectDuplicateKeys: true)
        #expect(throws: Never.self) { try JSON.parse("12345", limits: lim) }
        #expect(throws: JSON.SyntaxError.self) { try JSON.parse("123456", limits: lim) }
    }

    @Test("errors never quote the input")
    func errorsDoNotQuote() {
        do {
            _ = try JSON.parse(#"{"password":"hunter2-secret","#)
            Issue.record("accepted")
        } catch {
            #expect(!error.description.contains("hunter2"))
            #expect(error.description.hasPrefix("invalid JSON at byte "))
        }
    }

    @Test("canonical output: sorted by UTF-8 bytes, no whitespace, minimal escapes")
    func canonical() throws {
        let v: ConfigValue = ["b": 1, "a": [true, nil, "x"], "B": [:], "": [], "é": 0, "\u{FF61}": 1, "\u{1F600}": 2, "aa": -3]
        // U+FF61 (EF BD A1) sorts before U+1F600 (F0 9F 98 80) by UTF-8 bytes (but not by UTF-16).
        #expect(JSON.canonicalString(v) == #"{"":[],"B":{},"a":[true,null,"x"],"aa":-3,"b":1,"é":0,"｡":1,"😀":2}"#)
        #expect(JSON.canonicalString(.string("\"\\/\u{8}\u{c}\n\r\t\u{0}\u{1f}\u{7f}é\u{2028}"))
                == "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f\u{7f}é\u{2028}\"")
        // Escapes between runs of plain text (each run copied whole), at both ends, and none at all.
        #expect(JSON.canonicalString(.string("ab\"cd\\ef\u{1}gh é")) == #""ab\"cd\\ef\u0001gh é""#)
        #expect(JSON.canonicalString(.string("\nx\n")) == #""\nx\n""#)
        #expect(JSON.canonicalString(.string("plain text, no escape")) == #""plain text, no escape""#)
        // Canonical output parses back to the same value and re-encodes identically.
        let doc: ConfigValue = ["x": ["nested": [1, 2, ["k": "v\n"]], "n": .number(.double(0.1))], "y": "\u{0}"]
        let bytes = JSON.canonical(doc)
        #expect(try JSON.parse(bytes) == doc)
        #expect(JSON.canonical(try JSON.parse(bytes)) == bytes)
        // Pretty output is the same value.
        #expect(try JSON.parse(JSON.pretty(doc)) == doc)
        #expect(JSON.pretty(["a": [1]]) == "{\n  \"a\": [\n    1\n  ]\n}\n")
    }

    @Test("numbers: 1 == 1.0, int64 overflow to double, -0, large integers")
    func numbers() throws {
        #expect(try parse("1") == parse("1.0"))
        #expect(try parse("1") == parse("1e0") && parse("100") == parse("1e2"))
        #expect(Set([try parse("1"), try parse("1.0")]).count == 1)  // equal values hash equally
        #expect(try parse("1") != parse("1.5"))
        #expect(try parse("9223372036854775807") == .number(.int(Int64.max)))
        #expect(try parse("-9223372036854775808") == .number(.int(Int64.min)))
        guard case .number(.double(let big)) = try parse("9223372036854775808") else { Issue.record("expected a double"); return }
        #expect(big == 9_223_372_036_854_775_808.0)
        guard case .number(.double(let small)) = try parse("-9223372036854775809") else { Issue.record("expected a double"); return }
        #expect(small == -9_223_372_036_854_775_808.0)
        // 2^63 as a double is not equal to Int64.max, and 2^53+1 as an int is not 2^53 as a double.
        #expect(try parse("9223372036854775808") != .number(.int(Int64.max)))
        #expect(ConfigNumber.int((1 << 53) + 1) != .double(9_007_199_254_740_992))
        #expect(ConfigNumber.int(1 << 53) == .double(9_007_199_254_740_992))
        // -0: parses, equals 0, prints as 0.
        #expect(try parse("-0") == 0 && parse("-0.0") == 0)
        #expect(JSON.canonicalString(try parse("-0.0")) == "0")
        #expect(JSON.canonicalString(try parse("-0")) == "0")
        #expect(Set([try parse("-0.0"), try parse("0")]).count == 1)
        // Canonical number text.
        #expect(JSON.canonicalString(try parse("1.0")) == "1")
        #expect(JSON.canonicalString(try parse("1e2")) == "100")
        #expect(JSON.canonicalString(try parse("0.1")) == "0.1")
        #expect(JSON.canonicalString(try parse("1.5e300")) == "1.5e+300")
        // Every canonical number text parses back to an equal number.
        for text in ["9223372036854775808", "1e21", "1e-7", "123456789012345678901234567890", "-2.5", "9007199254740993"] {
            let v = try parse(text)
            #expect(try parse(JSON.canonicalString(v)) == v, "\(text)")
        }
        #expect(ConfigNumber.int(3).isInteger && ConfigNumber.double(3).isInteger && !ConfigNumber.double(3.5).isInteger)
    }

    @Test("equal numbers have one canonical text (integral doubles in int64 range are written as integers)", arguments: [
        "1e18", "1E18", "1000000000000000000.0", "9007199254740992.0", "-9.007199254740994e15", "4611686018427387904.0", "-9223372036854775808.0",
    ])
    func canonicalIntegralDoubles(_ text: String) throws {
        let asDouble = try JSON.parse(text)
        guard case .number(.double(let d)) = asDouble, let i = Int64(exactly: d) else {
            Issue.record("\(text) should parse as an integral double"); return
        }
        let asInt = ConfigValue.number(.int(i))
        #expect(asDouble == asInt)
        // Equal values must encode to the same bytes (docs/sealed-format.md §5), so that equal configs
        // seal the same payload and equal secrets show the same fingerprint.
        #expect(JSON.canonicalString(asDouble) == String(i))
        let fp = Fingerprinter(key: [UInt8](repeating: 1, count: 32))
        #expect(fp.fingerprint(asDouble) == fp.fingerprint(asInt))
    }
}
