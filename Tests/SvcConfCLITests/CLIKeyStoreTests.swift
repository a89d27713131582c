import Foundation
import SvcConf
import Testing

private func seeded() throws -> Sandbox {
    let sb = try Sandbox()
    sb.initStore()
    sb.ok(["set", "svc-a", "--env", "staging", "PASSWORD=" + canary])
    return sb
}

/// The commands that need a key; each must fail with `code`.
private func expectKeyFailure(_ sb: Sandbox, keyArgs: [String], env: [String: String] = [:], hint: String? = nil,
                              sourceLocation: SourceLocation = #_sourceLocation) {
    for (args, tail) in [(["show", "svc-a", "--env", "staging", "--reveal"], []),
                         (["get", "svc-a", "--env", "staging", "PASSWORD"], []),
                         (["set", "svc-a", "--env", "staging", "OTHER=canary-new"], []),
                         (["exec", "svc-a", "--env", "staging"], ["--", "/bin/sh", "-c", "echo started > started.txt"])] {
        sb.expectFailure(args + keyArgs + tail, code: 6, env: env, hint: hint, sourceLocation: sourceLocation)
    }
    #expect(!sb.exists("started.txt"), sourceLocation: sourceLocation)
}

@Suite struct CLIKeyTests {
    @Test func wrongKeyFile() throws {
        let sb = try seeded()
        sb.ok(["init", "--store", "file:other", "--recipient", "local:other.key"])
        expectKeyFailure(sb, keyArgs: ["--key-file", "other.key"])
        expectKeyFailure(sb, keyArgs: [], env: ["SVCCONF_KEY_FILE": "other.key"])
        // The right key still works, alone or next to the wrong one.
        #expect(sb.ok(["get", "svc-a", "--env", "staging", "PASSWORD", "--key-file", "other.key", "--key-file", sb.defaultKey]) == canary + "\n")
    }

    @Test func missingKeyFile() throws {
        let sb = try seeded()
        expectKeyFailure(sb, keyArgs: ["--key-file", "missing.key"])
        // The default key (named by the policy) removed.
        try FileManager.default.removeItem(atPath: sb.defaultKey)
        expectKeyFailure(sb, keyArgs: [])
    }

    @Test func looseModeOnGivenKeyFile() throws {
        let sb = try seeded()
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: sb.defaultKey)
        expectKeyFailure(sb, keyArgs: ["--key-file", sb.defaultKey], hint: "chmod 600")
        expectKeyFailure(sb, keyArgs: [], env: ["SVCCONF_KEY_FILE": sb.defaultKey], hint: "chmod 600")
    }

    @Test func looseModeOnPolicyDefaultKey() throws {
        let sb = try seeded()
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: sb.defaultKey)
        expectKeyFailure(sb, keyArgs: [], hint: "chmod 600")
    }

    @Test(arguments: [
        "hello\n",
        "SVCCONF-LOCAL-KEY-V1:0123\n",
        "SVCCONF-LOCAL-KEY-V1:" + String(repeating: "g", count: 64) + "\n",
        "# only a comment\n",
        "",
    ])
    func malformedKeyFile(text: String) throws {
        let sb = try seeded()
        try sb.write("bad.key", text, mode: 0o600)
        expectKeyFailure(sb, keyArgs: ["--key-file", "bad.key"])
    }

    @Test func twoKeysInOneFileIsMalformed() throws {
        let sb = try seeded()
        let key = try #require(String(decoding: try sb.read(sb.defaultKey), as: UTF8.self)
            .split(separator: "\n").first { $0.hasPrefix("SVCCONF-LOCAL-KEY-V1:") })
        try sb.write("double.key", "\(key)\n\(key)\n", mode: 0o600)
        expectKeyFailure(sb, keyArgs: ["--key-file", "double.key"])
    }
}

@Suite struct CLIStoreTests {
    @Test func storePathIsAFile() throws {
        let sb = try Sandbox()
        try sb.write("somefile", "not a store\n")
        for args in [["init"], ["set", "svc-a", "--env", "staging", "A=canary-a"], ["show", "svc-a", "--env", "staging"],
                     ["list"], ["history", "svc-a", "--env", "staging"], ["exec", "svc-a", "--env", "staging"]] {
            let tail = args[0] == "exec" ? ["--", "/bin/sh", "-c", "echo started > started.txt"] : []
            sb.expectFailure(args + ["--store", "file:somefile"] + tail, code: 9)
            sb.expectFailure(args + tail, code: 9, env: ["SVCCONF_STORE": "file:somefile"])
        }
    }

    @Test func storeNotInitialized() throws {
        let sb = try Sandbox()
        for args in [["set", "svc-a", "--env", "staging", "A=canary-a"], ["show", "svc-a", "--env", "staging"],
                     ["list"], ["history", "svc-a", "--env", "staging"],
                     ["exec", "svc-a", "--env", "staging", "--", "true"]] {
            sb.expectFailure(args, code: 3, hint: "svcconf init")
        }
        #expect(!sb.exists(".svcconf"))
        // An empty store directory (no policy) is not initialized either.
        try FileManager.default.createDirectory(atPath: sb.path(".svcconf"), withIntermediateDirectories: true)
        for args in [["set", "svc-a", "--env", "staging", "A=canary-a"], ["list"]] {
            sb.expectFailure(args, code: 3, hint: "svcconf init")
        }
    }

    @Test func storeFromEnvironment() throws {
        let sb = try Sandbox()
        sb.ok(["init"], env: ["SVCCONF_STORE": "file:envstore"])
        sb.ok(["set", "svc-a", "--env", "staging", "A=1"], env: ["SVCCONF_STORE": "file:envstore"])
        #expect(sb.exists(sb.versionFile("svc-a", "staging", 1, store: "envstore")))
        #expect(!sb.exists(".svcconf"))
    }
}

@Suite struct CLINameTests {
    static let badNames = ["../x", "A", "", String(repeating: "a", count: 64), "-x", "a/b", "a b", "x\n"]

    @Test(arguments: badNames)
    func invalidNamesAreUsageErrorsAndCreateNothing(name: String) throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "A=1"])
        for target in [[name, "--env", "staging"], ["svc-a", "--env", name], ["svc-a", "--env", "staging", "--variant", name]] {
            sb.expectFailure(["set"] + target + ["A=canary-a"], code: 2)
            sb.expectFailure(["show"] + target, code: 2)
            sb.expectFailure(["history"] + target, code: 2)
            sb.expectFailure(["exec"] + target + ["--", "true"], code: 2)
        }
    }

    @Test func namesAreCheckedBeforeAnyIO() throws {
        let sb = try Sandbox()
        // Not initialized: an invalid name is still a usage error, not "not found".
        sb.expectFailure(["show", "../x", "--env", "staging"], code: 2)
        sb.expectFailure(["set", "svc-a", "--env", "../../etc", "A=1"], code: 2)
        #expect(String(repeating: "a", count: 63).count == 63)
        sb.initStore()
        sb.ok(["set", String(repeating: "a", count: 63), "--env", "0-x", "--variant", "v-1", "A=1"])
    }

    @Test(arguments: ["1BAD=x", "BAD-KEY=x", "=x", "A B=x", "NOEQUALS"])
    func invalidKeysAreUsageErrors(assignment: String) throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.expectFailure(["set", "svc-a", "--env", "staging", assignment], code: 2)
    }

    @Test func unknownFlagIsUsageError() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.expectFailure(["show", "svc-a", "--env", "staging", "--bogus"], code: 2)
        sb.expectFailure(["show", "svc-a"], code: 2)
        sb.expectFailure(["frobnicate"], code: 2)
        sb.expectFailure(["show", "svc-a", "--env", "staging", "--format", "xml"], code: 2)
    }
}

@Suite struct CLIBadInputTests {
    @Test(arguments: [
        ("bad.yaml", "A: ok\nB: [canary-5f1d9b\n"),
        ("bad2.yaml", "A: ok\nB: \"canary-5f1d9b\n"),
        ("bad3.yaml", "A: ok\n  canary-5f1d9b: x: y\n"),
        ("list.yaml", "- canary-5f1d9b\n"),
        ("bad.json", "{\"A\": \"ok\",\n \"B\": \"canary-5f1d9b\" x}"),
        ("dup.json", "{\"B\": \"canary-5f1d9b\", \"B\": \"canary-5f1d9b\"}"),
        ("array.json", "[\"canary-5f1d9b\"]"),
        ("bad.env", "A=ok\nB=\"canary-5f1d9b\n"),
        ("bad2.env", "A=ok\ncanary-5f1d9b\n"),
        ("bad3.env", "A=ok\nB=canary-5f1d9b\u{0}x\n"),
        ("bad4.env", "A=ok\n1B=canary-5f1d9b\n"),
        ("latin1.env", "A=ok\nB=canary-5f1d9b\u{FF}\n"),
    ])
    func malformedFromFile(name: String, text: String) throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "A=1"])
        var data = Data(text.utf8)
        if name.hasPrefix("latin1") { data = Data(text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }) }
        try sb.write(name, data)
        sb.expectFailure(["set", "svc-a", "--env", "staging", "--from", name], code: 10)
        sb.expectFailure(["set", "svc-a", "--env", "fresh", "--from", name], code: 10)
    }

    @Test func malformedJSONAssignment() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.expectFailure(["set", "svc-a", "--env", "staging", "A:={\"x\": canary-5f1d9b}"], code: 10)
    }

    @Test func missingFromFileAndUnknownFormat() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.expectFailure(["set", "svc-a", "--env", "staging", "--from", "missing.env"], code: 3)
        try sb.write("values.txt", "A=canary-a\n")
        sb.expectFailure(["set", "svc-a", "--env", "staging", "--from", "values.txt"], code: 2)
    }

    @Test func nothingToSet() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.expectFailure(["set", "svc-a", "--env", "staging"], code: 2)
        sb.expectFailure(["unset", "svc-a", "--env", "staging"], code: 2)
    }
}

@Suite struct CLIHelpTests {
    static let subcommands = ["init", "set", "unset", "show", "get", "diff", "history", "rollback", "export", "list", "exec"]

    @Test(arguments: subcommands)
    func subcommandHelp(name: String) throws {
        let sb = try Sandbox()
        let r = sb.run([name, "--help"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("Example"), "\(name) --help: \(r.out)")
        #expect(r.out.contains("USAGE") || r.out.contains("Usage") || r.out.lowercased().contains("usage"))
        let viaHelp = sb.run(["help", name])
        #expect(viaHelp.code == 0 && viaHelp.out.contains("Example"))
    }

    @Test func rootHelpListsCommands() throws {
        let sb = try Sandbox()
        let r = sb.run(["--help"])
        #expect(r.code == 0)
        for name in Self.subcommands { #expect(r.out.contains(name)) }
    }

    @Test func completionScript() throws {
        let sb = try Sandbox()
        let r = sb.run(["--generate-completion-script", "bash"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("complete") && r.out.contains("svcconf"))
        #expect(r.out.count > 200)
    }
}
