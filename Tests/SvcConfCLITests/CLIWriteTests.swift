import Foundation
import SvcConf
import Testing

/// init, set, unset: the commands that create things.
@Suite struct CLIWriteTests {
    @Test func initGeneratesDefaultKeyAndPolicy() throws {
        let sb = try Sandbox()
        let out = sb.ok(["init"])
        #expect(out.contains("generated key"))
        #expect(out.contains("initialized file:.svcconf"))
        #expect(sb.exists(".svcconf/policy/0000000001.json"))
        #expect(try sb.mode(sb.defaultKey) == 0o600)
        // A second init refuses (the policy exists) and changes nothing.
        sb.expectFailure(["init"], code: 4)
    }

    @Test func initWithLocalRecipientGeneratesThatKey() throws {
        let sb = try Sandbox()
        sb.ok(["init", "--store", "file:other", "--recipient", "local:other.key"])
        #expect(sb.exists("other/policy/0000000001.json"))
        #expect(try sb.mode("other.key") == 0o600)
        #expect(!sb.exists(sb.defaultKey))
        sb.ok(["set", "svc-a", "--env", "staging", "--store", "file:other", "--key-file", "other.key", "A=1"])
        #expect(sb.exists(sb.versionFile("svc-a", "staging", 1, store: "other")))
    }

    @Test func setKeyValueAndJSON() throws {
        let sb = try Sandbox()
        sb.initStore()
        #expect(sb.ok(["set", "svc-a", "--env", "staging", "HOST=sso.example.test", #"PORTS:=[80,{"tls":true}]"#, "N:=42"])
            .contains("svc-a/staging: wrote version 1"))
        #expect(sb.exists(sb.versionFile("svc-a", "staging", 1)))
        let values = try parseJSON(sb.ok(["export", "svc-a", "--env", "staging", "--format", "json"]))
        #expect(values == ["HOST": "sso.example.test", "PORTS": [80, ["tls": true]], "N": 42])
    }

    @Test func setVariant() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "--variant", "dev", "A=dev"])
        #expect(sb.exists(sb.versionFile("svc-a", "staging", 1, variant: "dev")))
        #expect(sb.ok(["get", "svc-a", "--env", "staging", "--variant", "dev", "A"]) == "dev\n")
        sb.expectFailure(["get", "svc-a", "--env", "staging", "A"], code: 3)
    }

    @Test func setSecretFromStdinOneKey() throws {
        let sb = try Sandbox()
        sb.initStore()
        let out = sb.ok(["set", "svc-a", "--env", "prod", "--secret", "PASSWORD"], stdin: canary + "\n")
        #expect(!out.contains(canaryPrefix))
        #expect(sb.ok(["get", "svc-a", "--env", "prod", "PASSWORD"]) == canary + "\n")
        // Without a trailing newline the value is taken as is.
        sb.ok(["set", "svc-a", "--env", "prod", "--secret", "PASSWORD"], stdin: "canary-no-newline")
        #expect(sb.ok(["get", "svc-a", "--env", "prod", "PASSWORD"]) == "canary-no-newline\n")
    }

    @Test func setSecretFromStdinSeveralKeys() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "prod", "--secret", "K1", "--secret", "K2", "PLAIN=x"],
              stdin: "canary-one\ncanary-two with spaces\n")
        let values = try parseJSON(sb.ok(["export", "svc-a", "--env", "prod", "--format", "json"]))
        #expect(values == ["K1": "canary-one", "K2": "canary-two with spaces", "PLAIN": "x"])
        // The wrong number of lines is refused.
        sb.expectFailure(["set", "svc-a", "--env", "prod", "--secret", "K1", "--secret", "K2"], code: 2, stdin: "canary-only-one\n")
    }

    @Test(arguments: [
        ("values.env", "A=from-env\nB=\"two words\"\n# comment\nexport C=c\n", ["A": "from-env", "B": "two words", "C": "c"] as ConfigValue),
        ("values.yaml", "A: from-yaml\nB:\n  nested: [1, 2]\nC: true\n", ["A": "from-yaml", "B": ["nested": [1, 2]], "C": true] as ConfigValue),
        ("values.json", #"{"A": "from-json", "B": {"x": null}, "C": 1.5}"#, ["A": "from-json", "B": [:], "C": .number(.double(1.5))] as ConfigValue),  // null deletes
    ])
    func setFromFile(name: String, text: String, expected: ConfigValue) throws {
        let sb = try Sandbox()
        sb.initStore()
        try sb.write(name, text)
        sb.ok(["set", "svc-a", "--env", "staging", "--from", name])
        #expect(try parseJSON(sb.ok(["export", "svc-a", "--env", "staging", "--format", "json"])) == expected)
    }

    @Test func setFileNamedAndByBaseName() throws {
        let sb = try Sandbox()
        sb.initStore()
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        try sb.write("in/cert.pem", pem)
        try sb.write("in/apps.yaml", "apps: [a, b]\n")
        sb.ok(["set", "svc-a", "--env", "staging", "--file", "tls.pem=in/cert.pem", "--file", "in/apps.yaml"])
        #expect(sb.ok(["get", "svc-a", "--env", "staging", "--file", "tls.pem"]) == pem)
        #expect(sb.ok(["get", "svc-a", "--env", "staging", "--file", "apps.yaml"]) == "apps: [a, b]\n")
        sb.expectFailure(["get", "svc-a", "--env", "staging", "--file", "cert.pem"], code: 3)
    }

    @Test func setWithoutChangeWritesNothing() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "A=1", "B=2"])
        let before = sb.snapshot()
        let out = sb.ok(["set", "svc-a", "--env", "staging", "A=1"])
        #expect(out.contains("no changes"))
        #expect(sb.snapshot() == before)
        #expect(sb.versionNumbers("svc-a", "staging") == [1])
    }

    @Test func unsetRemovesKeyAndMissingKeyIsNotFound() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "A=1", "B=" + canary])
        #expect(sb.ok(["unset", "svc-a", "--env", "staging", "B"]).contains("wrote version 2"))
        #expect(try parseJSON(sb.ok(["export", "svc-a", "--env", "staging", "--format", "json"])) == ["A": "1"])
        sb.expectFailure(["unset", "svc-a", "--env", "staging", "NOPE"], code: 3, mentions: "NOPE")
        #expect(sb.versionNumbers("svc-a", "staging") == [1, 2])
    }

    @Test func rollbackWritesNewVersionEqualToOld() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "A=canary-v1", "B:=[1]"])
        sb.ok(["set", "svc-a", "--env", "staging", "A=canary-v2", "C=new"])
        #expect(sb.ok(["rollback", "svc-a", "--env", "staging", "--to", "1"]).contains("wrote version 3"))
        #expect(sb.versionNumbers("svc-a", "staging") == [1, 2, 3])
        let v1 = sb.ok(["export", "svc-a", "--env", "staging", "--format", "json", "--version", "1"])
        let v3 = sb.ok(["export", "svc-a", "--env", "staging", "--format", "json"])
        #expect(v1 == v3)
        #expect(sb.run(["diff", "svc-a", "--env", "staging", "--from", "1", "--to", "3"]).code == 0)
        let history = try parseJSON(sb.ok(["history", "svc-a", "--env", "staging", "--format", "json"]))
        #expect(history.arrayValue?.first?["message"] == "rollback to version 1")
    }

    @Test func conflictWhenExpectedVersionIsStale() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "A=1"])
        sb.ok(["set", "svc-a", "--env", "staging", "A=2", "--expect-version", "1"])
        sb.expectFailure(["set", "svc-a", "--env", "staging", "A=canary-3", "--expect-version", "1"], code: 4)
        sb.expectFailure(["set", "svc-a", "--env", "staging", "A=canary-3", "--expect-version", "0"], code: 4)
        sb.expectFailure(["unset", "svc-a", "--env", "staging", "A", "--expect-version", "1"], code: 4)
        #expect(sb.versionNumbers("svc-a", "staging") == [1, 2])
    }

    @Test func noPlaintextOnDisk() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "prod", "--secret", "PASSWORD"], stdin: canary + "\n")
        sb.ok(["set", "svc-a", "--env", "prod", "TOKEN=canary-argv-7c21"])
        // Reading commands write nothing either.
        sb.ok(["show", "svc-a", "--env", "prod", "--reveal"])
        sb.ok(["export", "svc-a", "--env", "prod", "--format", "env"])
        sb.ok(["get", "svc-a", "--env", "prod", "PASSWORD"])
        sb.ok(["history", "svc-a", "--env", "prod"])
        _ = sb.run(["diff", "svc-a", "--env", "prod"])
        for needle in [canary, "canary-argv-7c21", canaryPrefix] {
            #expect(sb.filesContaining(needle) == [], "plaintext \(needle) on disk")
        }
        // The store is private: directories 0700, files 0600.
        for (rel, e) in sb.snapshot() where rel.hasPrefix(".svcconf") {
            #expect(e.mode == (e.isDirectory ? 0o700 : 0o600), "\(rel) has mode \(String(e.mode, radix: 8))")
        }
    }
}
