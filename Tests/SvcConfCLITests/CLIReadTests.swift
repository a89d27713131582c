import Foundation
import SvcConf
import Testing

/// A store with svc-a/staging at version 2 (a secret changed, one added) and svc-a/prod at version 1.
private func seeded() throws -> Sandbox {
    let sb = try Sandbox()
    sb.initStore()
    sb.ok(["set", "svc-a", "--env", "staging", "HOST=canary-host-1", #"NESTED:={"a":[1,"canary-nested"]}"#])
    sb.ok(["set", "svc-a", "--env", "staging", "--secret", "PASSWORD", "HOST=canary-host-2"], stdin: canary + "\n")
    sb.ok(["set", "svc-a", "--env", "prod", "HOST=canary-host-2", "ONLY_PROD=canary-prod"])
    return sb
}

/// show, get, export, list: the commands that read.
@Suite struct CLIReadTests {
    @Test(arguments: ["yaml", "json", "env"])
    func showRedactsEverySecret(format: String) throws {
        let sb = try seeded()
        let out = sb.ok(["show", "svc-a", "--env", "staging", "--format", format])
        #expect(!out.contains(canaryPrefix), "plaintext in show --format \(format): \(out)")
        for key in ["HOST", "NESTED", "PASSWORD"] { #expect(out.contains(key)) }
        #expect(out.contains("fp:"))
    }

    @Test func showRedactedJSONHasFingerprintsThatCompare() throws {
        let sb = try seeded()
        let staging = try parseJSON(sb.ok(["show", "svc-a", "--env", "staging", "--format", "json"]))
        let prod = try parseJSON(sb.ok(["show", "svc-a", "--env", "prod", "--format", "json"]))
        let v1 = try parseJSON(sb.ok(["show", "svc-a", "--env", "staging", "--format", "json", "--version", "1"]))
        // Same value, same fingerprint (within a service); a changed value, a different one.
        #expect(staging["values"]?["HOST"] != nil)
        #expect(staging["values"]?["HOST"] == prod["values"]?["HOST"])
        #expect(staging["values"]?["HOST"] != v1["values"]?["HOST"])
    }

    @Test func showReveal() throws {
        let sb = try seeded()
        let json = try parseJSON(sb.ok(["show", "svc-a", "--env", "staging", "--reveal", "--format", "json"]))
        #expect(json["values"] == ["HOST": "canary-host-2", "NESTED": ["a": [1, "canary-nested"]], "PASSWORD": .string(canary)])
        let yaml = sb.ok(["show", "svc-a", "--env", "staging", "--reveal", "--format", "yaml"])
        #expect(yaml.contains("canary-host-2") && yaml.contains(canary) && yaml.contains("canary-nested"))
        let env = sb.ok(["show", "svc-a", "--env", "staging", "--reveal", "--format", "env"])
        #expect(env.contains("HOST=") && env.contains("canary-host-2") && env.contains(canary))
    }

    @Test func showOlderVersion() throws {
        let sb = try seeded()
        let out = sb.ok(["show", "svc-a", "--env", "staging", "--version", "1", "--reveal", "--format", "json"])
        #expect(try parseJSON(out)["values"] == ["HOST": "canary-host-1", "NESTED": ["a": [1, "canary-nested"]]])
        sb.expectFailure(["show", "svc-a", "--env", "staging", "--version", "3"], code: 3)
        sb.expectFailure(["show", "svc-a", "--env", "qa"], code: 3)
    }

    @Test func getPrintsOneValue() throws {
        let sb = try seeded()
        #expect(sb.ok(["get", "svc-a", "--env", "staging", "PASSWORD"]) == canary + "\n")
        #expect(sb.ok(["get", "svc-a", "--env", "staging", "NESTED"]) == #"{"a":[1,"canary-nested"]}"# + "\n")
        #expect(sb.ok(["get", "svc-a", "--env", "staging", "HOST", "--version", "1"]) == "canary-host-1\n")
        sb.expectFailure(["get", "svc-a", "--env", "staging", "MISSING"], code: 3)
    }

    @Test func exportFormats() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "A=plain value", "B=canary-b", "C:=7", #"D:={"x":[true,null]}"#])
        let expected: ConfigValue = ["A": "plain value", "B": "canary-b", "C": 7, "D": ["x": [true, nil]]]
        #expect(try parseJSON(sb.ok(["export", "svc-a", "--env", "staging", "--format", "json"])) == expected)
        // yaml and env read back through `set --from` to the same values.
        for format in ["yaml", "json"] {
            try sb.write("round.\(format)", sb.ok(["export", "svc-a", "--env", "staging", "--format", format]))
            sb.ok(["set", "svc-a", "--env", "rt-\(format)", "--from", "round.\(format)"])
            #expect(try parseJSON(sb.ok(["export", "svc-a", "--env", "rt-\(format)", "--format", "json"])) == expected)
        }
        let env = sb.ok(["export", "svc-a", "--env", "staging", "--format", "env"])
        try sb.write("round.env", env)
        sb.ok(["set", "svc-a", "--env", "rt-env", "--from", "round.env"])
        #expect(try parseJSON(sb.ok(["export", "svc-a", "--env", "rt-env", "--format", "json"]))
            == ["A": "plain value", "B": "canary-b", "C": "7", "D": #"{"x":[true,null]}"#])
    }

    @Test func exportShellRoundTripsThroughSh() throws {
        let sb = try Sandbox()
        sb.initStore()
        let values: [(String, String)] = [
            ("QUOTES", #"it's "quoted" $HOME `echo no` \ back"#),
            ("NEWLINES", "line1\nline2\n\nline4"),
            ("UNICODE", "héllo ✓ 🙂"),
            ("EMPTY", ""),
            ("SPACES", "  lead and trail  "),
            ("GLOB", "* ? [a] ~ ; & | > <"),
        ]
        sb.ok(["set", "svc-a", "--env", "staging"] + values.map { "\($0.0)=\($0.1)" } + [#"JSON:={"a":[1,"b"]}"#])
        let script = sb.ok(["export", "svc-a", "--env", "staging", "--format", "shell"])
        let keys = values.map(\.0) + ["JSON"]
        let printer = "\n" + "printf '%s\\0' " + keys.map { "\"$\($0)\"" }.joined(separator: " ") + "\n"
        let r = runProcess("/bin/sh", ["-c", script + printer], stdin: nil, env: ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent"],
                           cwd: sb.root)
        #expect(r.code == 0, "sh failed: \(r.err)")
        var got = r.out.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
        #expect(got.last == "")
        got = Array(got.dropLast())
        #expect(got == values.map(\.1) + [#"{"a":[1,"b"]}"#])
    }

    @Test func listTextAndJSON() throws {
        let sb = try seeded()
        sb.ok(["set", "svc-b", "--env", "staging", "--variant", "dev", "X=1"])
        let text = sb.ok(["list"])
        #expect(text.contains("SERVICE") && text.contains("svc-a") && text.contains("svc-b") && text.contains("dev"))
        #expect(!text.contains(canaryPrefix))
        let json = try parseJSON(sb.ok(["list", "--format", "json"]))
        let rows = try #require(json.arrayValue)
        let summary = rows.map { "\($0["service"]?.stringValue ?? "?")/\($0["env"]?.stringValue ?? "?")/\($0["variant"]?.stringValue ?? "-")@\($0["version"].map { JSON.canonicalString($0) } ?? "?")" }
        #expect(summary == ["svc-a/prod/-@1", "svc-a/staging/-@2", "svc-b/staging/dev@1"])
    }
}

/// diff and history.
@Suite struct CLIDiffHistoryTests {
    @Test func diffOfTwoVersionsIsRedactedAndExitsOne() throws {
        let sb = try seeded()
        let r = sb.run(["diff", "svc-a", "--env", "staging"])
        #expect(r.code == 1, "\(r.err)")
        #expect(!r.out.contains(canaryPrefix) && !r.err.contains(canaryPrefix))
        #expect(r.out.contains("HOST") && r.out.contains("PASSWORD"))
        let explicit = sb.run(["diff", "svc-a", "--env", "staging", "--from", "1", "--to", "2"])
        #expect(explicit.code == 1 && explicit.out == r.out)
    }

    @Test func diffOfSameContentExitsZero() throws {
        let sb = try seeded()
        let r = sb.run(["diff", "svc-a", "--env", "staging", "--from", "2", "--to", "2"])
        #expect(r.code == 0, "\(r.err)")
        #expect(!r.out.contains(canaryPrefix))
    }

    @Test func diffJSONParsesAndHoldsNoSecret() throws {
        let sb = try seeded()
        let r = sb.run(["diff", "svc-a", "--env", "staging", "--format", "json"])
        #expect(r.code == 1)
        #expect(!r.out.contains(canaryPrefix))
        let json = try parseJSON(r.out)
        let changes = try #require(json["changes"]?.arrayValue)
        #expect(Set(changes.compactMap { $0["path"]?.stringValue }) == ["HOST", "PASSWORD"])
        #expect(json["identical"] == false)
    }

    @Test func diffOfTwoEnvs() throws {
        let sb = try seeded()
        let r = sb.run(["diff", "svc-a", "--env", "staging", "--env", "prod"])
        #expect(r.code == 1, "\(r.err)")
        #expect(!r.out.contains(canaryPrefix))
        #expect(r.out.contains("ONLY_PROD") && r.out.contains("PASSWORD"))
        sb.ok(["set", "svc-b", "--env", "a", "X=canary-same"])
        sb.ok(["set", "svc-b", "--env", "b", "X=canary-same"])
        let same = sb.run(["diff", "svc-b", "--env", "a", "--env", "b"])
        #expect(same.code == 0, "\(same.out)\(same.err)")
        #expect(!same.out.contains(canaryPrefix))
    }

    @Test func diffFromEmpty() throws {
        let sb = try seeded()
        let r = sb.run(["diff", "svc-a", "--env", "staging", "--from", "0", "--format", "json"])
        #expect(r.code == 1)
        #expect(!r.out.contains(canaryPrefix))
        let changes = try #require(try parseJSON(r.out)["changes"]?.arrayValue)
        #expect(Set(changes.compactMap { $0["path"]?.stringValue }) == ["HOST", "NESTED", "PASSWORD"])
        #expect(changes.allSatisfy { $0["change"] == "added" })
    }

    @Test func historyTextAndJSON() throws {
        let sb = try seeded()
        sb.ok(["set", "svc-a", "--env", "staging", "X=1", "-m", "third change"])
        let text = sb.ok(["history", "svc-a", "--env", "staging"])
        #expect(text.contains("third change") && text.contains("test") && !text.contains(canaryPrefix))
        let lines = text.split(separator: "\n")
        #expect(lines.count == 4, "\(text)")
        let json = try #require(try parseJSON(sb.ok(["history", "svc-a", "--env", "staging", "--format", "json"])).arrayValue)
        #expect(json.map { $0["version"] } == [3, 2, 1])
        #expect(json.allSatisfy { $0["author"] == "test" && $0["chainIntact"] == true })
        #expect(json.first?["message"] == "third change")
        #expect(json.last?["parent"] == .null)
        #expect(json[0]["parent"] == json[1]["digest"])
    }
}
