import SvcConfCrypto
import Testing

@testable import SvcConf

/// Strict parsing of sealed versions: everything but the exact canonical form is `.tampered`.
@Suite("Envelope: strict parsing")
struct EnvelopeStrictnessTests {
    /// A real sealed version 1 (one local recipient) and version 3 (two recipients, a variant).
    static func samples() async throws -> (v1: [UInt8], v3: [UInt8]) {
        let v1 = try await CoreFix.seal(to: [CoreFix.key(1)])
        let v3 = try await CoreFix.seal(CoreFix.config, CoreFix.address("svc", "prod", "dev"), version: 3,
                                        to: [CoreFix.key(1), CoreFix.key(2)])
        return (v1, v3)
    }

    func expectTampered(_ bytes: [UInt8], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        coreExpectError(.tampered, message, sourceLocation: sourceLocation) { _ = try SealedCodec.parse(bytes) }
    }

    static let wrongMessages: [String: String] = [
        "author": #"sealed header field "author" is not text of at most 256 bytes"#,
        "env": #"sealed header field "env" is not a valid name"#,
        "message": #"sealed header field "message" is not text of at most 4096 bytes"#,
        "nonce": #"sealed header field "nonce" is not 12 base64-encoded bytes"#,
        "parent": #"sealed header field "parent" is not null or a sha256 digest"#,
        "recipients": "sealed header must list 1 to 16 recipients",
        "schema": #"sealed header field "schema" is not null or a sha256 digest"#,
        "service": #"sealed header field "service" is not a valid name"#,
        "time": #"sealed header field "time" is not a UTC RFC 3339 time"#,
        "variant": #"sealed header field "variant" is not a valid name"#,
        "version": #"sealed header field "version" is not a positive integer"#,
    ]

    @Test("the parser knows exactly these header fields")
    func fieldSet() {
        #expect(SealedCodec.headerFields == Set(Self.wrongMessages.keys))
    }

    @Test("every header field missing → tampered, naming the field")
    func missingField() async throws {
        let (v1, v3) = try await Self.samples()
        for sample in [v1, v3] {
            for field in SealedCodec.headerFields.sorted() {
                let bytes = coreEditHeader(sample) { $0[field] = nil }
                expectTampered(bytes, "sealed header is missing the field \"\(field)\"")
            }
        }
    }

    @Test("every header field duplicated → tampered (duplicate key)")
    func duplicatedField() async throws {
        let (_, v3) = try await Self.samples()
        let members = coreMembers(v3)
        for (i, m) in members.enumerated() {
            // Duplicate right after itself (with the same value), and at the end.
            var adjacent = members
            adjacent.insert(m, at: i + 1)
            expectTampered(coreReplaceHeader(v3, coreObjectText(adjacent)), "sealed header is not valid JSON (duplicate key)")
            var atEnd = members
            atEnd.append((m.0, m.0 == "version" ? 4 : m.1))
            expectTampered(coreReplaceHeader(v3, coreObjectText(atEnd)), "sealed header is not valid JSON (duplicate key)")
        }
    }

    @Test("every header field with a wrong type → tampered with that field's message")
    func wrongType() async throws {
        let (v1, v3) = try await Self.samples()
        let wrong: [ConfigValue] = [7, "text", true, [], [:], .number(.double(1.5)), .null]
        for sample in [v1, v3] {
            let original = CoreSealedParts(sample).headerObject
            for field in SealedCodec.headerFields.sorted() {
                for w in wrong where w != original[field] {
                    // Some replacements are valid values of the field: a null variant/schema/parent (v1),
                    // a string that happens to be fine. Skip those that are legitimately valid.
                    if w == .null && ["variant", "schema", "parent"].contains(field) { continue }
                    if case .number(.int) = w, field == "version" { continue }
                    if case .string = w, ["author", "message"].contains(field) { continue }
                    if case .string = w, ["service", "env", "variant"].contains(field) { continue }  // "text" is a valid name
                    let bytes = coreEditHeader(sample) { $0[field] = w }
                    expectTampered(bytes, Self.wrongMessages[field]!)
                }
            }
        }
    }

    @Test("an extra unknown header field → tampered, named when it is harmless to show")
    func extraField() async throws {
        let (v1, _) = try await Self.samples()
        expectTampered(coreEditHeader(v1) { $0["zzz"] = 1 }, #"sealed header has an unknown field "zzz""#)
        expectTampered(coreEditHeader(v1) { $0["Author"] = "x" }, #"sealed header has an unknown field "Author""#)
        // A field name that is not safe to echo is not echoed.
        expectTampered(coreEditHeader(v1) { $0["\u{1b}[31mred"] = 1 }, "sealed header has an unknown field")
        // Unknown stanza members too.
        let extraStanza = coreEditHeader(v1) { o in
            var s = o["recipients"]!.arrayValue![0].objectValue!
            s["extra"] = 1
            o["recipients"] = [.object(s)]
        }
        expectTampered(extraStanza, #"sealed recipient stanza has an unknown field "extra""#)
        let missingStanza = coreEditHeader(v1) { o in
            var s = o["recipients"]!.arrayValue![0].objectValue!
            s["body"] = nil
            o["recipients"] = [.object(s)]
        }
        expectTampered(missingStanza, #"sealed recipient stanza is missing the field "body""#)
    }

    @Test("non-canonical whitespace or member order → tampered")
    func nonCanonical() async throws {
        let (v1, v3) = try await Self.samples()
        for sample in [v1, v3] {
            let members = coreMembers(sample)
            let canonical = "sealed header is not in canonical form"
            // Sanity: the helper reproduces the canonical text.
            #expect(coreReplaceHeader(sample, coreObjectText(members)) == sample)
            expectTampered(coreReplaceHeader(sample, coreObjectText(members, separator: ", ")), canonical)
            expectTampered(coreReplaceHeader(sample, coreObjectText(members, colon: ": ")), canonical)
            expectTampered(coreReplaceHeader(sample, " " + coreObjectText(members)), canonical)
            expectTampered(coreReplaceHeader(sample, coreObjectText(members) + " "), canonical)
            expectTampered(coreReplaceHeader(sample, coreObjectText(members) + "\r"), canonical)
            expectTampered(coreReplaceHeader(sample, coreObjectText(members.reversed())), canonical)
            var swapped = members
            swapped.swapAt(0, 1)
            expectTampered(coreReplaceHeader(sample, coreObjectText(swapped)), canonical)
            // Escapes the canonical writer would not use.
            let text = coreObjectText(members)
            expectTampered(coreReplaceHeader(sample, text.replacingOccurrences("\"author\"", "\"\\u0061uthor\"")), canonical)
            expectTampered(coreReplaceHeader(sample, text.replacingOccurrences("\"env\"", "\"\\u0065nv\"")), canonical)
            // A number written as 3e0 / 3.0 is a double, not an integer version.
            let n = CoreSealedParts(sample).headerObject["version"]!
            expectTampered(coreReplaceHeader(sample, text.replacingOccurrences("\"version\":\(JSON.canonicalString(n))", "\"version\":\(JSON.canonicalString(n)).0")),
                           Self.wrongMessages["version"]!)
        }
    }

    @Test("bad nonce length or encoding → tampered", arguments: [0, 1, 11, 13, 16, 24])
    func badNonce(_ length: Int) async throws {
        let (v1, _) = try await Self.samples()
        let bytes = coreEditHeader(v1) { $0["nonce"] = .string(Base64.encode([UInt8](repeating: 1, count: length))) }
        expectTampered(bytes, Self.wrongMessages["nonce"]!)
    }

    @Test("version 0, negative, fractional, 2^53 or huge → tampered")
    func badVersion() async throws {
        let (_, v3) = try await Self.samples()
        for bad: ConfigValue in [0, -1, -3, .number(.double(3.5)), .number(.double(1e300)), .number(.int(1 << 53)),
                                 .number(.int(Int64.max)), "3", .null] {
            expectTampered(coreEditHeader(v3) { $0["version"] = bad }, Self.wrongMessages["version"]!)
        }
        // The largest allowed version still parses.
        let max = coreEditHeader(v3) { $0["version"] = .number(.int((1 << 53) - 1)) }
        #expect(try SealedCodec.parse(max).header.version == (1 << 53) - 1)
    }

    @Test("parent must be null exactly for version 1")
    func parentRule() async throws {
        let (v1, v3) = try await Self.samples()
        let message = #"sealed header field "parent" must be null exactly for version 1"#
        expectTampered(coreEditHeader(v3) { $0["parent"] = .null }, message)
        expectTampered(coreEditHeader(v1) { $0["parent"] = .string(Digest(of: [1]).description) }, message)
        // A version 1 relabelled as 2 without a parent, too.
        expectTampered(coreEditHeader(v1) { $0["version"] = 2 }, message)
        // Digest syntax: upper-case hex, short, other algorithm.
        let d = Digest(of: [1]).description
        for bad in [d.uppercased(), String(d.dropLast()), d.replacingOccurrences("sha256:", "sha512:"), "sha256:", d + "00"] {
            expectTampered(coreEditHeader(v3) { $0["parent"] = .string(bad) }, Self.wrongMessages["parent"]!)
            expectTampered(coreEditHeader(v3) { $0["schema"] = .string(bad) }, Self.wrongMessages["schema"]!)
        }
    }

    @Test("0 or 17 recipients → tampered; 16 is fine")
    func recipientCount() async throws {
        let (v1, _) = try await Self.samples()
        let stanza = CoreSealedParts(v1).headerObject["recipients"]!.arrayValue![0]
        expectTampered(coreEditHeader(v1) { $0["recipients"] = [] }, Self.wrongMessages["recipients"]!)
        expectTampered(coreEditHeader(v1) { $0["recipients"] = .array(Array(repeating: stanza, count: 17)) },
                       Self.wrongMessages["recipients"]!)
        let sixteen = coreEditHeader(v1) { $0["recipients"] = .array(Array(repeating: stanza, count: 16)) }
        #expect(try SealedCodec.parse(sixteen).header.recipients.count == 16)
    }

    /// v1 with extra `pad` stanzas (and a longer author) making the header line exactly `target` bytes.
    static func padded(_ v1: [UInt8], headerBytes target: Int) -> [UInt8] {
        func build(_ total: Int, _ extra: Int) -> [UInt8] {
            coreEditHeader(v1) { o in
                o["author"] = .string(o["author"]!.stringValue! + String(repeating: "x", count: extra))
                var stanzas = o["recipients"]!.arrayValue!
                var left = total
                while left > 0 {
                    var args: [ConfigValue] = []
                    while left > 0 && args.count < 8 {
                        let n = min(left, 2048)
                        args.append(.string(String(repeating: "p", count: n)))
                        left -= n
                    }
                    stanzas.append(["type": "pad", "args": .array(args), "body": ""])
                }
                o["recipients"] = .array(stanzas)
            }
        }
        for extra in 0..<32 {
            var guess = target - v1.count
            for _ in 0..<12 {
                let b = build(guess, extra)
                let len = CoreSealedParts(b).header.count
                if len == target { return b }
                guess += target - len
            }
        }
        fatalError("cannot pad to \(target)")
    }

    @Test("header line of exactly 64 KiB parses; one byte more → tampered")
    func oversizeHeader() async throws {
        let (v1, _) = try await Self.samples()
        let atLimit = Self.padded(v1, headerBytes: SealedCodec.maxHeaderBytes)
        #expect(CoreSealedParts(atLimit).header.count == 65536)
        #expect(try SealedCodec.parse(atLimit).header.recipients.count > 1)
        let over = Self.padded(v1, headerBytes: SealedCodec.maxHeaderBytes + 1)
        expectTampered(over, "sealed header is missing or larger than 65536 bytes")
        // A header line with no newline at all.
        expectTampered(Array("svcconf-sealed/v1\n{\"a\":1}".utf8), "sealed header is missing or larger than 65536 bytes")
    }

    @Test("non-canonical base64 anywhere → tampered")
    func badBase64() async throws {
        let (v1, _) = try await Self.samples()
        let p = CoreSealedParts(v1)
        let stanza = p.headerObject["recipients"]!.arrayValue![0].objectValue!
        let body = stanza["body"]!.stringValue!
        #expect(body.utf8.count == 64 && !body.hasSuffix("="))  // 48 bytes: no padding
        // Body: non-zero trailing bits, missing padding, whitespace, url-safe alphabet.
        for bad in [body + "QR==", body + "QQ", body + "QQ=", " " + body, body.replacingOccurrences("/", "_") + "_w==",
                    body + "\n"] {
            let bytes = coreEditHeader(v1) { o in
                var s = stanza
                s["body"] = .string(bad)
                o["recipients"] = [.object(s)]
            }
            expectTampered(bytes, "sealed recipient stanza body is not base64 of at most 4096 bytes")
        }
        // Nonce: canonical is 16 characters for 12 bytes; "=" padded forms of 12 bytes do not exist.
        let nonce = p.headerObject["nonce"]!.stringValue!
        for bad in [nonce + "====", String(nonce.dropLast()) + "=", nonce.lowercased() == nonce ? nonce.uppercased() : nonce.lowercased()] {
            if Base64.decode(bad)?.count == 12 { continue }  // case change that happens to stay valid
            expectTampered(coreEditHeader(v1) { $0["nonce"] = .string(bad) }, Self.wrongMessages["nonce"]!)
        }
        // MAC: 32 bytes end in one "=", the last character before it must have its 2 low bits zero.
        var macLine = p.macLine
        let last = macLine[46]  // "--- " + 42 chars, then the char before "="
        #expect(macLine[47] == UInt8(ascii: "="))
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        let idx = alphabet.firstIndex(of: last)!
        #expect(idx & 3 == 0)
        macLine[46] = alphabet[idx | 1]
        var q = p
        q.macLine = macLine
        expectTampered(q.bytes, "sealed header MAC line is missing or malformed")
    }

    @Test("stanza type must be [a-z][a-z0-9-]{0,31}", arguments: ["", "Local", "1abc", "-x", "a_b", "a b", "lo\u{e9}cal", String(repeating: "a", count: 33), "a.b"])
    func badStanzaType(_ type: String) async throws {
        let (v1, _) = try await Self.samples()
        let bytes = coreEditHeader(v1) { o in
            var s = o["recipients"]!.arrayValue![0].objectValue!
            s["type"] = .string(type)
            o["recipients"] = [.object(s)]
        }
        expectTampered(bytes, "sealed recipient stanza has an invalid type")
    }

    @Test("stanza args: at most 8 printable non-empty strings of at most 2048 bytes")
    func badStanzaArgs() async throws {
        let (v1, _) = try await Self.samples()
        func with(_ args: ConfigValue) -> [UInt8] {
            coreEditHeader(v1) { o in
                var s = o["recipients"]!.arrayValue![0].objectValue!
                s["args"] = args
                o["recipients"] = [.object(s)]
            }
        }
        expectTampered(with(.array(Array(repeating: "a", count: 9))), "sealed recipient stanza has too many arguments")
        expectTampered(with("a"), "sealed recipient stanza has too many arguments")
        for bad: ConfigValue in [[""], ["a b"], ["tab\t"], [1], [.string(String(repeating: "a", count: 2049))], ["é"]] {
            expectTampered(with(bad), "sealed recipient stanza has an invalid argument")
        }
        #expect(throws: Never.self) { try SealedCodec.parse(with(.array(Array(repeating: "a", count: 8)))) }
        #expect(throws: Never.self) { try SealedCodec.parse(with([.string(String(repeating: "a", count: 2048))])) }
    }

    @Test("wrong magic, missing magic, unknown format version")
    func magic() async throws {
        let (v1, _) = try await Self.samples()
        let rest = Array(v1[(CoreSealedParts(v1).magic.count)...])
        for bad in ["SVCCONF-SEALED/V1", "svcconf-sealed-v1", "", "\u{feff}svcconf-sealed/v1", "svcconf-sealed", "age-encryption.org/v1"] {
            expectTampered(Array(bad.utf8) + rest, "not a sealed svcconf version (bad format line)")
        }
        // `svcconf-sealed/` + anything else is an unknown format version (docs/sealed-format.md §2), but
        // only a plausible id is echoed or suggests upgrading.
        for bad in ["svcconf-sealed/v1 ", "svcconf-sealed/v1\r", "svcconf-sealed/", "svcconf-sealed/x1", "svcconf-sealed/v",
                    "svcconf-sealed/\u{1b}[2J", "svcconf-sealed/v1\u{0}", "svcconf-sealed/v12345678901"] {
            let e = coreExpectError(.tampered, "unknown sealed format version (the format line is malformed)") {
                _ = try SealedCodec.parse(Array(bad.utf8) + rest)
            }
            #expect(e?.hint == nil)
        }
        expectTampered(Array("svcconf-sealed/v1".utf8), "not a sealed svcconf version (no format line)")
        expectTampered([], "not a sealed svcconf version (no format line)")
        let e = coreExpectError(.tampered, #"unknown sealed format version "v2""#) {
            _ = try SealedCodec.parse(Array("svcconf-sealed/v2".utf8) + rest)
        }
        #expect(e?.hint?.contains("upgrade") == true)
        coreExpectError(.tampered, #"unknown sealed format version "v10""#) {
            _ = try SealedCodec.parse(Array("svcconf-sealed/v10".utf8) + rest)
        }
    }

    @Test("an unknown format line is never echoed with control characters")
    func magicEcho() async throws {
        let (v1, _) = try await Self.samples()
        let rest = Array(v1[(CoreSealedParts(v1).magic.count)...])
        let e = coreExpectError(.tampered) {
            _ = try SealedCodec.parse(Array("svcconf-sealed/\u{1b}[2J\u{7}".utf8) + rest)
        }
        #expect(e.map { !$0.message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F } } == true,
                "message: \(e?.message.debugDescription ?? "")")
    }

    @Test("MAC line and ciphertext framing")
    func framing() async throws {
        let (v1, _) = try await Self.samples()
        let p = CoreSealedParts(v1)
        let auth = p.magic + [0x0A] + p.header + [0x0A]
        let malformed = "sealed header MAC line is missing or malformed"
        expectTampered(auth, malformed)
        expectTampered(auth + Array("+++ ".utf8) + Array(p.macLine.dropFirst(4)) + p.ciphertext, malformed)
        expectTampered(auth + Array("---".utf8) + Array(p.macLine.dropFirst(4)) + p.ciphertext, malformed)
        expectTampered(auth + Array(p.macLine.dropLast()) + [0x20] + p.ciphertext, malformed)
        // 31-byte MAC: 44 characters, but decodes to the wrong length.
        expectTampered(auth + Array("--- ".utf8) + Array(Base64.encode([UInt8](repeating: 0, count: 31)).utf8) + [0x0A] + p.ciphertext, malformed)
        expectTampered(auth + p.macLine + Array(p.ciphertext.prefix(15)), "sealed payload is truncated")
        #expect(throws: Never.self) { try SealedCodec.parse(auth + p.macLine + Array(p.ciphertext.prefix(16))) }
    }

    @Test("oversize input is refused before any parsing")
    func oversizeInput() {
        var huge = [UInt8](repeating: 0x41, count: SealedCodec.maxHeaderBytes + SealedCodec.maxCiphertextBytes + 129)
        huge.replaceSubrange(0..<18, with: Array("svcconf-sealed/v1\n".utf8))
        expectTampered(huge, "sealed version is larger than the format allows")
    }

    @Test("different defects give different messages")
    func distinctMessages() async throws {
        let (v1, v3) = try await Self.samples()
        let p = CoreSealedParts(v1)
        var cases: [(String, [UInt8])] = SealedCodec.headerFields.sorted().map { f in ("missing \(f)", coreEditHeader(v3) { $0[f] = nil }) }
        cases += SealedCodec.headerFields.sorted().map { f in ("wrong \(f)", coreEditHeader(v3) { $0[f] = [:] }) }
        cases += [
            ("no format line", Array("svcconf-sealed/v1".utf8)),
            ("bad format line", Array("nope\n".utf8) + v1),
            ("unknown version", Array("svcconf-sealed/v9".utf8) + Array(v1[p.magic.count...])),
            ("not json", coreReplaceHeader(v1, "{")),
            ("not object", coreReplaceHeader(v1, "[]")),
            ("non-canonical", coreReplaceHeader(v1, coreObjectText(coreMembers(v1), separator: ", "))),
            ("no header end", Array("svcconf-sealed/v1\n{}".utf8)),
            ("unknown field", coreEditHeader(v1) { $0["zzz"] = 1 }),
            ("parent rule", coreEditHeader(v3) { $0["parent"] = .null }),
            ("bad mac line", p.magic + [0x0A] + p.header + [0x0A]),
            ("short ciphertext", p.magic + [0x0A] + p.header + [0x0A] + p.macLine),
            ("stanza type", coreEditHeader(v1) { o in
                var s = o["recipients"]!.arrayValue![0].objectValue!; s["type"] = "X"; o["recipients"] = [.object(s)] }),
            ("stanza arg", coreEditHeader(v1) { o in
                var s = o["recipients"]!.arrayValue![0].objectValue!; s["args"] = [""]; o["recipients"] = [.object(s)] }),
            ("stanza body", coreEditHeader(v1) { o in
                var s = o["recipients"]!.arrayValue![0].objectValue!; s["body"] = "!"; o["recipients"] = [.object(s)] }),
            ("stanza not object", coreEditHeader(v1) { $0["recipients"] = [1] }),
        ]
        var seen: [String: String] = [:]
        for (label, bytes) in cases {
            let e = coreExpectError(.tampered) { _ = try SealedCodec.parse(bytes) }
            guard let m = e?.message else { continue }
            #expect(seen[m] == nil, "\(label) and \(seen[m] ?? "") share the message \(m)")
            seen[m] = label
            // Sensible: one line of printable text starting with a lower-case word.
            #expect(m.first?.isLowercase == true && !m.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "message \(m)")
        }
    }
}

extension String {
    /// Replaces every occurrence (no Foundation needed in the helpers' callers).
    func replacingOccurrences(_ of: String, _ with: String) -> String {
        var s = self
        var from = s.startIndex
        while let r = s[from...].firstRange(of: of) {
            s.replaceSubrange(r, with: with)
            from = s.index(r.lowerBound, offsetBy: with.count)
        }
        return s
    }
}
