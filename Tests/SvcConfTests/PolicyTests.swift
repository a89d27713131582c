import Testing

@testable import SvcConf

@Suite("StorePolicy")
struct PolicyTests {
    static let id1 = "1a2b3c4d5e6f7081", id2 = "0011223344556677"

    func rule(_ match: String, _ uri: String, keyId: String? = nil) -> StorePolicy.Rule {
        .init(match: match, recipients: [.init(uri: uri, keyId: keyId)])
    }

    func pick(_ p: StorePolicy, _ service: String, _ env: String) throws -> [String] {
        try p.recipients(for: CoreFix.address(service, env)).map(\.uri)
    }

    @Test("the most specific rule wins: */* < */prod < access-*/prod < access-boston/prod")
    func specificity() throws {
        let rules = [
            rule("*/*", "kms:all"), rule("*/prod", "kms:any-prod"),
            rule("access-*/prod", "kms:access-prod"), rule("access-boston/prod", "kms:boston-prod"),
        ]
        // Order in the document does not matter.
        for p in [StorePolicy(rules: rules), StorePolicy(rules: rules.reversed()), StorePolicy(rules: [rules[2], rules[0], rules[3], rules[1]])] {
            #expect(try pick(p, "access-boston", "prod") == ["kms:boston-prod"])
            #expect(try pick(p, "access-chicago", "prod") == ["kms:access-prod"])
            #expect(try pick(p, "billing", "prod") == ["kms:any-prod"])
            #expect(try pick(p, "access-boston", "staging") == ["kms:all"])
            #expect(try pick(p, "access", "prod") == ["kms:any-prod"])  // "access-*" needs the dash
        }
        #expect(StorePolicy.score("*/*", service: "a", env: "b") == 0)
        #expect(StorePolicy.score("*/prod", service: "a", env: "prod") == 2)
        #expect(StorePolicy.score("access-*/prod", service: "access-x", env: "prod") == 3)
        #expect(StorePolicy.score("access-boston/prod", service: "access-boston", env: "prod") == 4)
        #expect(StorePolicy.score("access-boston/prod", service: "access-boston", env: "prodx") == nil)
        #expect(StorePolicy.score("prod", service: "prod", env: "prod") == nil)
        #expect(StorePolicy.score("a/b/c", service: "a", env: "b") == nil)
    }

    @Test("glob matching", arguments: [
        ("*", "anything", true), ("a*", "a", true), ("a*", "ab-c", true), ("*a", "ba", true), ("*a", "ab", false),
        ("a*b*c", "axxbyyc", true), ("a*b*c", "axxbyy", false), ("*-prod", "eu-prod", true), ("*-prod", "prod", false),
        ("a*a", "a", false), ("a*a", "aa", true), ("**", "", true), ("x", "x", true), ("x", "xx", false), ("*x*", "axb", true),
        ("a*", "", false), ("", "", true), ("", "a", false),
    ])
    func glob(_ p: String, _ s: String, _ matches: Bool) {
        #expect(StorePolicy.glob(Array(p.utf8), Array(s.utf8)) == matches)
    }

    @Test("matches (the allocation-free test servers use per request) agrees with score on every pattern × name pair")
    func matchesAgreesWithScore() {
        let patterns = ["*/*", "access-boston/*", "*/prod", "access-*/prod", "a*b/*-prod", "prod", "a/b/c", "/", "*/", "/*", "**/**", "x/y"]
        let names = ["access-boston", "prod", "eu-prod", "ab", "a", "", "x", "y", "access-boston-2"]
        for p in patterns {
            for s in names {
                for e in names {
                    #expect(StorePolicy.matches(p, service: s, env: e) == (StorePolicy.score(p, service: s, env: e) != nil), "\(p) \(s)/\(e)")
                }
            }
        }
    }

    @Test("equally specific matching rules are an error, not a guess")
    func ambiguous() throws {
        let p = StorePolicy(rules: [rule("access-boston/*", "kms:a"), rule("*/prod", "kms:b")])
        let e = coreExpectError(.usage, contains: "ambiguous for access-boston/prod") { _ = try pick(p, "access-boston", "prod") }
        #expect(e?.message.contains("\"access-boston/*\"") == true && e?.message.contains("\"*/prod\"") == true)
        #expect(e?.hint?.contains("access-boston/prod") == true)
        // Two partial wildcards of equal weight.
        let q = StorePolicy(rules: [rule("access-*/*", "kms:a"), rule("*-boston/*", "kms:b")])
        coreExpectError(.usage) { _ = try pick(q, "access-boston", "prod") }
        // The same pattern twice.
        let r = StorePolicy(rules: [rule("*/*", "kms:a"), rule("*/*", "kms:b")])
        coreExpectError(.usage) { _ = try pick(r, "x", "y") }
        // A more specific rule resolves the tie, wherever it is.
        for extra in [0, 1, 2] {
            var rules = [rule("access-boston/*", "kms:a"), rule("*/prod", "kms:b")]
            rules.insert(rule("access-boston/prod", "kms:c"), at: extra)
            #expect(try pick(StorePolicy(rules: rules), "access-boston", "prod") == ["kms:c"])
        }
        // A tie below the winner does not matter.
        let s = StorePolicy(rules: [rule("a/*", "kms:1"), rule("a/b", "kms:w"), rule("*/b", "kms:2")])
        #expect(try pick(s, "a", "b") == ["kms:w"])
    }

    @Test("no matching rule is an error")
    func noMatch() {
        let p = StorePolicy(rules: [rule("*/prod", "kms:b")])
        let e = coreExpectError(.keyUnavailable, "the store policy has no rule for svc/dev") { _ = try pick(p, "svc", "dev") }
        #expect(e?.hint?.contains("svcconf recipients add") == true)
        coreExpectError(.keyUnavailable) { _ = try pick(StorePolicy(rules: []), "svc", "dev") }
    }

    @Test("{service} and {env} are expanded in uris, key ids kept")
    func placeholders() throws {
        let p = StorePolicy(rules: [.init(match: "*/*", recipients: [
            .init(uri: "kms:alias/{service}-{env}"), .init(uri: "local:keys/{service}/{env}/{service}.key", keyId: Self.id1),
            .init(uri: "kms:arn:aws:kms:us-east-1:1:alias/plain"),
        ])])
        let refs = try p.recipients(for: CoreFix.address("access-boston", "prod"))
        #expect(refs == [.init(uri: "kms:alias/access-boston-prod"),
                         .init(uri: "local:keys/access-boston/prod/access-boston.key", keyId: Self.id1),
                         .init(uri: "kms:arn:aws:kms:us-east-1:1:alias/plain")])
        // The policy itself is unchanged.
        #expect(p.rules[0].recipients[0].uri == "kms:alias/{service}-{env}")
        #expect("{service}{service}{env}{x}".replacingPlaceholders(service: "s", env: "e") == "sse{x}")
    }

    @Test("encode/decode round trip, canonical bytes")
    func roundTrip() throws {
        let p = StorePolicy(rules: [
            .init(match: "*/*", recipients: [.init(uri: "local:~/.config/svcconf/default.key", keyId: Self.id1)]),
            .init(match: "*/prod", recipients: [.init(uri: "kms:alias/{service}-prod"), .init(uri: "local:breakglass.key", keyId: Self.id2)]),
            .init(match: "access-*/prod", recipients: [.init(uri: "kms:k")]),
        ])
        let bytes = p.encoded()
        #expect(bytes.last == 0x0A)
        let back = try StorePolicy.decode(bytes, source: "test")
        #expect(back == p)
        #expect(back.encoded() == bytes)
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix(#"{"format":"svcconf-policy/v1","rules":[{"match":"*/*","recipients":[{"keyId":"1a2b3c4d5e6f7081","uri":"local:"#))
        // Whitespace is fine on input (it is a file people may look at).
        let pretty = Array(JSON.pretty(try JSON.parse(bytes)).utf8)
        #expect(try StorePolicy.decode(pretty, source: "test") == p)
    }

    static let validRecipient = #"{"uri":"kms:alias/x"}"#

    static func doc(_ rules: String, format: String = "svcconf-policy/v1") -> String {
        #"{"format":"\#(format)","rules":\#(rules)}"#
    }

    @Test("decode is strict", arguments: [
        ("not json", "{"),
        ("not an object", "[]"),
        ("unknown format", PolicyTests.doc("[]", format: "svcconf-policy/v2")),
        ("missing rules", #"{"format":"svcconf-policy/v1"}"#),
        ("extra top-level member", #"{"format":"svcconf-policy/v1","rules":[],"x":1}"#),
        ("rules not an array", PolicyTests.doc("{}")),
        ("rule not an object", PolicyTests.doc("[1]")),
        ("extra rule member", PolicyTests.doc(#"[{"match":"*/*","recipients":[\#(PolicyTests.validRecipient)],"x":1}]"#)),
        ("missing match", PolicyTests.doc(#"[{"recipients":[\#(PolicyTests.validRecipient)]}]"#)),
        ("empty recipients", PolicyTests.doc(#"[{"match":"*/*","recipients":[]}]"#)),
        ("pattern without env", PolicyTests.doc(#"[{"match":"svc","recipients":[\#(PolicyTests.validRecipient)]}]"#)),
        ("pattern with three parts", PolicyTests.doc(#"[{"match":"a/b/c","recipients":[\#(PolicyTests.validRecipient)]}]"#)),
        ("pattern with upper case", PolicyTests.doc(#"[{"match":"Svc/prod","recipients":[\#(PolicyTests.validRecipient)]}]"#)),
        ("pattern with empty side", PolicyTests.doc(#"[{"match":"/prod","recipients":[\#(PolicyTests.validRecipient)]}]"#)),
        ("pattern with dot-dot", PolicyTests.doc(#"[{"match":"../prod","recipients":[\#(PolicyTests.validRecipient)]}]"#)),
        ("pattern with question mark", PolicyTests.doc(#"[{"match":"a?/prod","recipients":[\#(PolicyTests.validRecipient)]}]"#)),
        ("pattern not a string", PolicyTests.doc(#"[{"match":1,"recipients":[\#(PolicyTests.validRecipient)]}]"#)),
        ("local recipient without keyId", PolicyTests.doc(#"[{"match":"*/*","recipients":[{"uri":"local:k.key"}]}]"#)),
        ("keyId too short", PolicyTests.doc(#"[{"match":"*/*","recipients":[{"uri":"local:k.key","keyId":"1a2b"}]}]"#)),
        ("keyId upper case", PolicyTests.doc(#"[{"match":"*/*","recipients":[{"uri":"local:k.key","keyId":"1A2B3C4D5E6F7081"}]}]"#)),
        ("keyId not a string", PolicyTests.doc(#"[{"match":"*/*","recipients":[{"uri":"local:k.key","keyId":1}]}]"#)),
        ("extra recipient member", PolicyTests.doc(#"[{"match":"*/*","recipients":[{"uri":"kms:x","why":"y"}]}]"#)),
        ("recipient without uri", PolicyTests.doc(#"[{"match":"*/*","recipients":[{"keyId":"1a2b3c4d5e6f7081"}]}]"#)),
        ("unknown uri scheme", PolicyTests.doc(#"[{"match":"*/*","recipients":[{"uri":"gpg:abc"}]}]"#)),
        ("recipient not an object", PolicyTests.doc(#"[{"match":"*/*","recipients":["kms:x"]}]"#)),
        ("duplicate member", #"{"format":"svcconf-policy/v1","format":"svcconf-policy/v1","rules":[]}"#),
    ])
    func strictDecode(_ label: String, _ text: String) {
        let e = coreExpectError(.invalidInput) { _ = try StorePolicy.decode(Array(text.utf8), source: "policy/0000000001.json") }
        #expect(e?.message.hasPrefix("store policy policy/0000000001.json: ") == true, "\(label): \(e?.message ?? "")")
    }

    @Test("decode refuses recipients that name no key (kms: or local: with nothing after)", arguments: [
        #"{"uri":"kms:"}"#, #"{"uri":"local:","keyId":"1a2b3c4d5e6f7081"}"#,
    ])
    func emptyRecipient(_ recipient: String) {
        let text = Self.doc(#"[{"match":"*/*","recipients":[\#(recipient)]}]"#)
        coreExpectError(.invalidInput) { _ = try StorePolicy.decode(Array(text.utf8), source: "p") }
    }

    @Test("valid patterns")
    func patterns() {
        for ok in ["*/*", "a/b", "access-*/prod", "*-x/*", "0/9", String(repeating: "a", count: 63) + "/*"] {
            #expect(StorePolicy.isValidPattern(ok), "\(ok)")
        }
        for bad in ["", "*", "a/", "/b", "a//b", "A/b", "a/b/c", "a b/c", "a_b/c", String(repeating: "a", count: 64) + "/*", "é/b"] {
            #expect(!StorePolicy.isValidPattern(bad), "\(bad)")
        }
    }
}
