import Foundation
import SvcConf
import Testing

// End-to-end tests of `rotate`, `rotate --all` (run ids, --resume) and `recipients list|add|remove`
// on the real binary.


private let secretOld = "canary-rot-old-7c1e"

private extension Sandbox {
    /// The key id `init`/`recipients add` printed for a generated key, read back from the policy.
    func keyIds() throws -> [String: String] {
        let doc = try parseJSON(ok(["recipients", "list", "--format", "json"]))
        var out: [String: String] = [:]
        for rule in doc["rules"]?.arrayValue ?? [] {
            for r in rule["recipients"]?.arrayValue ?? [] {
                if let uri = r["uri"]?.stringValue, let id = r["keyId"]?.stringValue { out[uri] = id }
            }
        }
        return out
    }

    /// Every file under the sandbox whose bytes contain a canary.
    func leaks(_ canaries: [String]) -> [String] { canaries.flatMap { filesContaining($0) } }

    /// The number of policy versions in the default store.
    var policyCount: Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: path(".svcconf/policy"))) ?? []).filter { $0.hasSuffix(".json") }.count
    }
}

private func expectNoCanary(_ r: RunResult, _ canaries: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    for c in canaries {
        #expect(!r.out.contains(c) && !r.err.contains(c), "a secret leaked: \(r.out)\(r.err)", sourceLocation: sourceLocation)
    }
}

@Suite struct CLIRotateTests {
    @Test func rotateResealsLatestAsNewVersion() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "HOST=a.example", "--secret", "PASSWORD"], stdin: secretOld)
        let id = try #require(try sb.keyIds().values.first)
        let before = try sb.read(sb.versionFile("svc-a", "staging", 1))
        let r = sb.run(["rotate", "svc-a", "--env", "staging"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out == "rotated svc-a/staging 1 -> 2; sealed to local key \(id)\n")
        expectNoCanary(r, [secretOld])
        #expect(sb.versionNumbers("svc-a", "staging") == [1, 2])
        #expect(try sb.read(sb.versionFile("svc-a", "staging", 1)) == before, "history is never rewritten")
        #expect(sb.ok(["get", "svc-a", "--env", "staging", "PASSWORD"]) == secretOld + "\n")
        #expect(sb.run(["diff", "svc-a", "--env", "staging", "--from", "1", "--to", "2"]).code == 0, "same content")
        // The same recipients: the fingerprint key is carried, so fingerprints stay comparable.
        let show1 = sb.ok(["show", "svc-a", "--env", "staging", "--version", "1", "--format", "json"])
        let show2 = sb.ok(["show", "svc-a", "--env", "staging", "--format", "json"])
        #expect(try parseJSON(show1)["values"] == parseJSON(show2)["values"])
        let history = try #require(try parseJSON(sb.ok(["history", "svc-a", "--env", "staging", "--format", "json"])).arrayValue)
        #expect(history.first?["message"] == "rotate")
        #expect(history.allSatisfy { $0["chainIntact"] == true })

        // -m, a variant, JSON output.
        sb.ok(["set", "svc-a", "--env", "staging", "--variant", "dev", "X=1"])
        let j = try parseJSON(sb.ok(["rotate", "svc-a", "--env", "staging", "--variant", "dev", "-m", "quarterly", "--format", "json"]))
        #expect(j["status"] == "rotated" && j["from"] == 1 && j["to"] == 2 && j["config"] == "svc-a/staging/dev")
        #expect(j["recipients"] == .array([.string("local key \(id)")]))
        #expect(try parseJSON(sb.ok(["history", "svc-a", "--env", "staging", "--variant", "dev", "--format", "json"])).arrayValue?.first?["message"] == "quarterly")
        #expect(sb.leaks([secretOld]).isEmpty)
    }

    @Test func rotateKeepsTheSchemaDigestOfItsContent() throws {
        let sb = try Sandbox()
        sb.initStore()
        try sb.write("s1.json", #"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"PORT":{"type":"integer"}}}"#)
        try sb.write("s2.json", #"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","required":["NEW"]}"#)
        sb.ok(["schema", "set", "svc-a", "s1.json"])
        sb.ok(["set", "svc-a", "--env", "prod", "PORT=8080"])
        sb.ok(["schema", "set", "svc-a", "s2.json"])  // the current config no longer matches
        sb.ok(["rotate", "svc-a", "--env", "prod"])   // a key rotation is not blocked by it
        let h = try #require(try parseJSON(sb.ok(["history", "svc-a", "--env", "prod", "--format", "json"])).arrayValue)
        #expect(h.count == 2 && h[0]["schema"] == h[1]["schema"] && h[0]["schema"] != .null)
    }

    @Test func rotateFailures() throws {
        let sb = try Sandbox()
        sb.expectFailure(["rotate", "svc-a", "--env", "staging"], code: 3, mentions: "does not exist")
        sb.expectFailure(["rotate", "--all"], code: 3, mentions: "not initialized")
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "--secret", "PASSWORD"], stdin: secretOld)
        sb.expectFailure(["rotate", "svc-a", "--env", "prod"], code: 3, mentions: "no versions")
        sb.expectFailure(["rotate", "svc-a"], code: 2)
        sb.expectFailure(["rotate", "../x", "--env", "staging"], code: 2, mentions: "invalid service name")
        sb.expectFailure(["rotate", "svc-a", "--env", "staging", "--resume", "r-20261126T193000Z-3fa2"], code: 2, mentions: "--resume")
        sb.expectFailure(["rotate", "--all", "svc-a"], code: 2)
        sb.expectFailure(["rotate", "--all", "--resume", "not-a-run"], code: 2, mentions: "invalid run id")
        sb.expectFailure(["rotate", "svc-a", "--env", "staging", "-m", "bad\u{1b}[31m"], code: 2, mentions: "control characters")
        // The policy's key is gone: nothing opens, nothing is written.
        try FileManager.default.moveItem(atPath: sb.defaultKey, toPath: sb.path("moved.key"))
        sb.expectFailure(["rotate", "svc-a", "--env", "staging"], code: 6)
        let all = sb.run(["rotate", "--all"])
        #expect(all.code == 6 && all.err.hasPrefix("svcconf: error: 1 of 1 config(s) were not rotated"), "\(all.err)")
        #expect(all.out.contains("failed  svc-a/staging: ") && !all.out.contains(canaryPrefix) && !all.err.contains(canaryPrefix))
        #expect(sb.versionNumbers("svc-a", "staging") == [1])
    }

    @Test func rotateAllThenResumeAfterAFailure() throws {
        let sb = try Sandbox()
        sb.ok(["init", "--recipient", "local:a.key", "--rule", "svc-b/*=local:b.key"])
        sb.ok(["set", "svc-a", "--env", "staging", "--secret", "P"], stdin: "canary-rot-a1")
        sb.ok(["set", "svc-a", "--env", "base", "--secret", "P"], stdin: "canary-rot-a2")
        sb.ok(["set", "svc-a", "--env", "staging", "--variant", "dev", "--secret", "P"], stdin: "canary-rot-a3")
        sb.ok(["set", "svc-b", "--env", "prod", "--secret", "P"], stdin: "canary-rot-b1")
        sb.ok(["set", "svc-c", "--env", "prod", "--secret", "P"], stdin: "canary-rot-c1")
        let canaries = ["canary-rot-a1", "canary-rot-a2", "canary-rot-a3", "canary-rot-b1", "canary-rot-c1"]

        // svc-b's key is not here: that config fails, the others are rotated.
        try FileManager.default.moveItem(atPath: sb.path("b.key"), toPath: sb.path("b.key.away"))
        let r = sb.run(["rotate", "--all"])
        #expect(r.code == 6, "\(r.err)")
        expectNoCanary(r, canaries)
        let lines = r.out.split(separator: "\n").map(String.init)
        let first = try #require(lines.first)
        #expect(first.hasPrefix("rotation run r-"))
        let run = String(first.dropFirst("rotation run ".count))
        #expect(lines.count == 6, "\(r.out)")
        #expect(lines.contains { $0.hasPrefix("rotated svc-a/base 1 -> 2; sealed to local key ") })
        #expect(lines.contains { $0.hasPrefix("rotated svc-a/staging 1 -> 2") })
        #expect(lines.contains { $0.hasPrefix("rotated svc-a/staging/dev 1 -> 2") })
        #expect(lines.contains { $0.hasPrefix("failed  svc-b/prod: no key opens version 1 of svc-b/prod") })
        #expect(lines.contains { $0.hasPrefix("rotated svc-c/prod 1 -> 2") })
        let errLines = r.err.split(separator: "\n")
        #expect(errLines.first == "svcconf: error: 1 of 5 config(s) were not rotated (run \(run))")
        #expect(errLines.dropFirst().allSatisfy { $0.hasPrefix("svcconf: hint: ") } && r.err.contains("--resume \(run)"))
        #expect(sb.versionNumbers("svc-b", "prod") == [1])
        let h = try #require(try parseJSON(sb.ok(["history", "svc-a", "--env", "base", "--format", "json"])).arrayValue)
        #expect(h.first?["message"] == .string("rotate (run \(run))"))

        // Resumed with the key back: only svc-b is rotated.
        try FileManager.default.moveItem(atPath: sb.path("b.key.away"), toPath: sb.path("b.key"))
        let resumed = sb.run(["rotate", "--all", "--resume", run, "--format", "json"])
        #expect(resumed.code == 0, "\(resumed.err)")
        expectNoCanary(resumed, canaries)
        let doc = try parseJSON(resumed.out)
        #expect(doc["run"] == .string(run) && doc["resumed"] == true)
        let results = try #require(doc["results"]?.arrayValue)
        let status = Dictionary(uniqueKeysWithValues: results.map { ($0["config"]!.stringValue!, $0["status"]!.stringValue!) })
        #expect(status == ["svc-a/base": "skipped", "svc-a/staging": "skipped", "svc-a/staging/dev": "skipped",
                           "svc-b/prod": "rotated", "svc-c/prod": "skipped"])
        #expect(sb.versionNumbers("svc-a", "staging") == [1, 2])
        #expect(sb.versionNumbers("svc-b", "prod") == [1, 2])
        #expect(sb.versionNumbers("svc-c", "prod") == [1, 2])
        // Resuming a finished run writes nothing; a new run rotates everything again.
        #expect(!sb.ok(["rotate", "--all", "--resume", run]).split(separator: "\n").contains { $0.hasPrefix("rotated ") })
        let again = sb.ok(["rotate", "--all"])
        #expect(again.split(separator: "\n").filter { $0.hasPrefix("rotated ") }.count == 5)
        #expect(sb.ok(["get", "svc-b", "--env", "prod", "P"]) == "canary-rot-b1\n")
        #expect(sb.leaks(canaries).isEmpty)
    }

    @Test func addedKeyOpensOnlyVersionsRotatedAfter() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "--secret", "PASSWORD"], stdin: secretOld)
        let out = sb.ok(["recipients", "add", "local:k2.key"])
        #expect(out.contains("generated key k2.key") && out.contains("rotate"))
        #expect(try sb.mode("k2.key") == 0o600)
        let ids = try sb.keyIds()
        let k2 = try #require(ids["local:k2.key"])
        #expect(ids.count == 2)
        // Not yet rotated: k2 does not open the latest version.
        sb.expectFailure(["get", "svc-a", "--env", "staging", "PASSWORD", "--key-file", "k2.key"], code: 6)
        let r = sb.ok(["rotate", "svc-a", "--env", "staging"])
        #expect(r.contains("local key \(k2)") && r.contains("1 -> 2"))
        // The new key alone opens the new version, not the old one.
        #expect(sb.ok(["get", "svc-a", "--env", "staging", "PASSWORD", "--key-file", "k2.key"]) == secretOld + "\n")
        sb.expectFailure(["get", "svc-a", "--env", "staging", "PASSWORD", "--version", "1", "--key-file", "k2.key"], code: 6)
        #expect(sb.ok(["get", "svc-a", "--env", "staging", "PASSWORD", "--version", "1", "--key-file", sb.defaultKey]) == secretOld + "\n")
        // A key that exists is added as it is (not overwritten); adding it again changes nothing.
        let keyBytes = try sb.read("k2.key")
        let count = sb.policyCount
        #expect(sb.ok(["recipients", "add", "local:k2.key"]).contains("no changes"))
        let keyAfter = try sb.read("k2.key")
        #expect(sb.policyCount == count && keyAfter == keyBytes)
        #expect(sb.leaks([secretOld]).isEmpty)
    }

    @Test func removedKeyNoLongerOpensNewVersions() throws {
        let sb = try Sandbox()
        sb.ok(["init", "--recipient", "local:k1.key", "--recipient", "local:k2.key"])
        sb.ok(["set", "svc-a", "--env", "prod", "--secret", "PASSWORD"], stdin: secretOld)
        let before = try sb.keyIds()
        let out = sb.ok(["recipients", "remove", "local:k1.key"])
        #expect(out.contains("removed local:k1.key") && out.contains("policy 2"))
        #expect(try sb.keyIds() == ["local:k2.key": before["local:k2.key"]!])
        let r = sb.ok(["rotate", "svc-a", "--env", "prod"])
        #expect(r == "rotated svc-a/prod 1 -> 2; sealed to local key \(before["local:k2.key"]!) (recipients changed: new fingerprint key)\n")
        sb.expectFailure(["get", "svc-a", "--env", "prod", "PASSWORD", "--key-file", "k1.key"], code: 6)
        #expect(sb.ok(["get", "svc-a", "--env", "prod", "PASSWORD", "--version", "1", "--key-file", "k1.key"]) == secretOld + "\n")
        #expect(sb.ok(["get", "svc-a", "--env", "prod", "PASSWORD", "--key-file", "k2.key"]) == secretOld + "\n")
        // The new version has a fingerprint key k1's holder never saw.
        let fp1 = try parseJSON(sb.ok(["show", "svc-a", "--env", "prod", "--version", "1", "--format", "json", "--key-file", "k2.key"]))["values"]?["PASSWORD"]
        let fp2 = try parseJSON(sb.ok(["show", "svc-a", "--env", "prod", "--format", "json", "--key-file", "k2.key"]))["values"]?["PASSWORD"]
        #expect(fp1 != nil && fp1 != fp2)
        // A removed key file that is lost is still named by its path.
        try FileManager.default.removeItem(atPath: sb.path("k1.key"))
        sb.ok(["recipients", "add", "local:k3.key", "--match", "*/prod"])
        sb.ok(["recipients", "add", "local:k1b.key"])
        try FileManager.default.removeItem(atPath: sb.path("k1b.key"))
        sb.ok(["recipients", "remove", "local:k1b.key"])
        #expect(try sb.keyIds().keys.sorted() == ["local:k2.key", "local:k3.key"])
        #expect(sb.leaks([secretOld]).isEmpty)
    }

    @Test func recipientsListAndRules() throws {
        let sb = try Sandbox()
        sb.ok(["init", "--recipient", "local:k1.key"])
        let added = try parseJSON(sb.ok(["recipients", "add", "kms:alias/{service}-prod", "--match", "*/prod", "--format", "json"]))
        #expect(added["changed"] == true && added["createdRule"] == true && added["policy"] == 2 && added["generated"] == .null)
        sb.ok(["recipients", "add", "local:bg.key", "--match", "*/prod"])
        let text = sb.ok(["recipients", "list"])
        #expect(text.hasPrefix("policy 3 of file:.svcconf"))
        #expect(text.contains("  */prod: kms:alias/{service}-prod, local:bg.key (key id "))
        let doc = try parseJSON(sb.ok(["recipients", "list", "--format", "json"]))
        let rules = try #require(doc["rules"]?.arrayValue)
        #expect(rules.map { $0["match"] } == ["*/*", "*/prod"])
        #expect(rules[1]["recipients"]?.arrayValue?.map { $0["uri"] } == ["kms:alias/{service}-prod", "local:bg.key"])
        #expect(!text.contains("SVCCONF-LOCAL-KEY") && !JSON.canonicalString(doc).contains("SVCCONF-LOCAL-KEY"))
        // A new prod version is sealed to the prod rule's local key (the KMS one needs AWS: exit 6, nothing written).
        sb.expectFailure(["set", "svc-a", "--env", "prod", "A=1"], code: 6, mentions: "kms:alias/svc-a-prod")
        sb.ok(["recipients", "remove", "kms:alias/{service}-prod", "--match", "*/prod"])
        sb.ok(["set", "svc-a", "--env", "prod", "A=1", "--key-file", "bg.key"])
        sb.expectFailure(["get", "svc-a", "--env", "prod", "A", "--key-file", "k1.key"], code: 6)
    }

    @Test func recipientsFailures() throws {
        let sb = try Sandbox()
        // Not initialized: nothing is generated.
        sb.expectFailure(["recipients", "add", "local:new.key"], code: 3, mentions: "not initialized")
        sb.expectFailure(["recipients", "list"], code: 3)
        sb.ok(["init", "--recipient", "local:k1.key"])
        sb.expectFailure(["recipients", "remove", "local:k1.key"], code: 2, mentions: "no recipients")
        sb.expectFailure(["recipients", "remove", "local:other.key"], code: 3, mentions: "is not a recipient of rule */*")
        sb.expectFailure(["recipients", "remove", "kms:alias/x"], code: 3)
        sb.expectFailure(["recipients", "remove", "local:k1.key", "--match", "*/prod"], code: 3, mentions: "no rule */prod")
        sb.expectFailure(["recipients", "add", "k1.key"], code: 2, mentions: "invalid recipient")
        sb.expectFailure(["recipients", "add", "local:"], code: 2)
        sb.expectFailure(["recipients", "add", "kms:"], code: 2)
        sb.expectFailure(["recipients", "add", "local:x.key", "--match", "prod"], code: 2, mentions: "invalid rule match")
        sb.expectFailure(["recipients", "add", "local:x.key", "--match", "../*"], code: 2)
        sb.expectFailure(["recipients", "add"], code: 2)
        sb.expectFailure(["recipients", "frobnicate"], code: 2)
        try sb.write("loose.key", "SVCCONF-LOCAL-KEY-V1:" + String(repeating: "ab", count: 32) + "\n", mode: 0o644)
        sb.expectFailure(["recipients", "add", "local:loose.key"], code: 6, hint: "chmod 600")
        try sb.write("bad.key", "canary-rot-notakey\n", mode: 0o600)
        sb.expectFailure(["recipients", "add", "local:bad.key"], code: 6)
        #expect(sb.policyCount == 1)
    }

    @Test func concurrentRecipientAddsAllLand() throws {
        let sb = try Sandbox()
        sb.initStore()
        let n = 4
        let results = inParallel(n) { i in sb.run(["recipients", "add", "local:p\(i).key"]) }
        #expect(results.allSatisfy { $0.code == 0 }, "\(results.map(\.err))")
        let ids = try sb.keyIds()
        #expect(Set(ids.keys) == Set((0..<n).map { "local:p\($0).key" } + ["local:" + sb.defaultKey]))
        #expect(sb.policyCount == 1 + n)
        for i in 0..<n { #expect(try sb.mode("p\(i).key") == 0o600) }
    }

    @Test func rotateRacingWritersLosesNothing() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "BASE=0"])
        let results = inParallel(6) { i in
            i % 2 == 0 ? sb.run(["rotate", "svc-a", "--env", "staging"]) : sb.run(["set", "svc-a", "--env", "staging", "K\(i)=v"])
        }
        #expect(results.allSatisfy { $0.code == 0 }, "\(results.map(\.err))")
        #expect(sb.versionNumbers("svc-a", "staging") == Array(1...7))
        let values = try parseJSON(sb.ok(["export", "svc-a", "--env", "staging", "--format", "json"]))
        #expect(values == .object(["BASE": "0", "K1": "v", "K3": "v", "K5": "v"]))
        let h = try #require(try parseJSON(sb.ok(["history", "svc-a", "--env", "staging", "--format", "json"])).arrayValue)
        #expect(h.allSatisfy { $0["chainIntact"] == true })
        #expect(h.filter { $0["message"] == "rotate" }.count == 3)
    }
}
