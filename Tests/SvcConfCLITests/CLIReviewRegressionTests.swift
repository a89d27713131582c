import Foundation
import SvcConf
import Testing

/// Regression tests for the findings of the first security review: each one failed before its fix.
@Suite struct CLIReviewRegressionTests {
    /// The fast launcher and svcconf-cli must read every exec command line the same way: whatever
    /// the launcher accepts must behave exactly as svcconf-cli does (same exit code, same output).
    @Test func launcherAndFullCLIAgreeOnExecLines() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "app", "--env", "staging", "HOST=h", "PASSWORD=canary-pw"])
        let cli = URL(fileURLWithPath: sb.binary).deletingLastPathComponent().appendingPathComponent("svcconf-cli").path
        let child = ["--", "/bin/sh", "-c", "echo ran $HOST"]
        let lines: [[String]] = [
            ["app", "--env", "staging"] + child,
            ["--env", "staging", "app"] + child,
            ["app", "--env=staging"] + child,
            ["app", "--env", "staging", "--env-file", "--", "--", "/bin/echo", "started"],
            ["app", "--env", "staging", "--files-dir", "--", "--", "/bin/echo"],
            ["app", "--env", "staging", "--author", "-x"] + child,
            ["app", "--env", "staging", "--key-file", "-k"] + child,
            ["app", "--env", "staging", "--version", "-1"] + child,
            ["app", "--env", "staging", "--version", "0"] + child,
            ["app", "--env", "staging", "--version=1"] + child,
            ["app", "--env", "staging", "--version", "x"] + child,
            ["app", "--env"] + child,
            ["app", "--env", "staging", "--env", "prod"] + child,
            ["app", "app2", "--env", "staging"] + child,
            ["app", "--env", "staging", "--bogus", "1"] + child,
            ["app", "--env", "staging", "-h"] + child,
            ["app", "--env", "staging", "--"],
            ["app", "--env", "staging"],
            ["--env", "staging"] + child,
            ["app", "--env", "", "--"] + child.dropFirst(),
            ["app", "--env", "staging", "--variant", "-"] + child,
        ]
        for line in lines {
            let fast = sb.run(["exec"] + line)
            let full = runProcess(cli, ["exec"] + line, stdin: nil, env: sb.environment([:]), cwd: sb.root)
            #expect(fast.code == full.code && fast.out == full.out,
                    "exec \(line): launcher \(fast.code) \(fast.out)\(fast.err) vs svcconf-cli \(full.code) \(full.out)\(full.err)")
        }
        #expect(!sb.exists("--"), "no stray env file named --")
    }

    /// A staging key holder must not get a guess oracle for prod's fingerprints.
    @Test func fingerprintKeysAreNotSharedAcrossRecipientSets() throws {
        let sb = try Sandbox()
        sb.ok(["init", "--recipient", "local:staging.key", "--rule", "*/prod=local:prod.key"])
        sb.ok(["set", "app", "--env", "prod", "--secret", "DB_PASSWORD", "--key-file", "prod.key", "--key-file", "staging.key"],
              stdin: "canary-hunter2")
        sb.ok(["set", "app", "--env", "staging", "--secret", "GUESS", "--key-file", "staging.key"], stdin: "canary-hunter2")
        let prod = sb.ok(["show", "app", "--env", "prod", "--format", "json", "--key-file", "prod.key"])
        let staging = sb.ok(["show", "app", "--env", "staging", "--format", "json", "--key-file", "staging.key"])
        let fpProd = try parseJSON(prod)["values"]?["DB_PASSWORD"]?.stringValue
        let fpGuess = try parseJSON(staging)["values"]?["GUESS"]?.stringValue
        #expect(fpProd != nil && fpGuess != nil && fpProd != fpGuess)

        // Same recipients: the fingerprint key is shared, so equal values compare across envs.
        let sb2 = try Sandbox()
        sb2.initStore()
        sb2.ok(["set", "app", "--env", "prod", "--secret", "A"], stdin: "canary-same")
        sb2.ok(["set", "app", "--env", "staging", "--secret", "B"], stdin: "canary-same")
        let a = try parseJSON(sb2.ok(["show", "app", "--env", "prod", "--format", "json"]))["values"]?["A"]
        let b = try parseJSON(sb2.ok(["show", "app", "--env", "staging", "--format", "json"]))["values"]?["B"]
        #expect(a != nil && a == b)
    }

    /// A config that input accepts must also open; one too large to seal is refused before writing.
    @Test func writesNeverStoreAnUnopenableVersion() throws {
        let sb = try Sandbox()
        sb.initStore()
        let deep = String(repeating: "[", count: 511) + String(repeating: "]", count: 511)
        sb.ok(["set", "app", "--env", "deep", "X:=\(deep)"])
        sb.ok(["show", "app", "--env", "deep"])
        sb.ok(["set", "app", "--env", "deep", "Y=1"])

        let chunk = Data(repeating: 0x41, count: 16 << 20)
        for i in 1...4 { try sb.write("big\(i).bin", chunk) }
        sb.expectFailure(["set", "app", "--env", "big", "--file", "big1.bin", "--file", "big2.bin", "--file", "big3.bin",
                          "--file", "big4.bin"], code: 10, mentions: "too large")
        #expect(sb.versionNumbers("app", "big").isEmpty)
    }

    /// A FIFO planted where a version should be fails at once (exit 7) instead of hanging exec.
    @Test func specialFileInStoreFailsClosed() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "app", "--env", "staging", "A=1"])
        let v1 = sb.path(sb.versionFile("app", "staging", 1))
        try FileManager.default.removeItem(atPath: v1)
        #expect(mkfifo(v1, 0o600) == 0)
        sb.expectFailure(["exec", "app", "--env", "staging", "--", "/bin/echo", "started"], code: 7)
        sb.expectFailure(["show", "app", "--env", "staging"], code: 7)
    }

    /// exec leaves no plaintext behind when it fails after deciding to write files.
    @Test func failedExecLeavesNoFiles() throws {
        let sb = try Sandbox()
        sb.initStore()
        try sb.write("cert.pem", "canary-cert")
        sb.ok(["set", "app", "--env", "staging", "--file", "cert.pem", #"BAD:="a'b`c\"d\\""#])
        try sb.write("noint.sh", "#!/nonexistent/interpreter\n", mode: 0o755)
        try FileManager.default.removeItem(atPath: sb.path("cert.pem"))
        // A value dotenv cannot represent: refused before anything is written.
        let r1 = sb.run(["exec", "app", "--env", "staging", "--files-dir", "fd1", "--env-file", "fd1/.env", "--", "/bin/echo", "x"])
        #expect(r1.code == 10)
        #expect(!sb.exists("fd1/cert.pem") && !sb.exists("fd1/.env"))
        // execve itself fails (missing interpreter): what was written is removed again.
        let r2 = sb.run(["exec", "app", "--env", "staging", "--files-dir", "fd2", "--", "./noint.sh"])
        #expect(r2.code == 126, "\(r2.err)")
        #expect(!sb.exists("fd2/cert.pem"))
        #expect(sb.filesContaining("canary-cert").isEmpty)
    }

    /// A group-writable --files-dir is refused: someone else could swap the certificates.
    @Test func sharedFilesDirIsRefused() throws {
        let sb = try Sandbox()
        sb.initStore()
        try sb.write("cert.pem", "canary-cert")
        sb.ok(["set", "app", "--env", "staging", "--file", "cert.pem"])
        try FileManager.default.createDirectory(atPath: sb.path("shared"), withIntermediateDirectories: false)
        #expect(chmod(sb.path("shared"), 0o777) == 0)
        sb.expectFailure(["exec", "app", "--env", "staging", "--files-dir", "shared", "--", "/bin/echo", "x"], code: 8)
    }

    /// Values compare by their bytes: the Kelvin sign is not the letter K.
    @Test func valuesCompareByBytes() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "app", "--env", "staging", "K=\u{212A}"])
        let out = sb.ok(["set", "app", "--env", "staging", "K=K"])
        #expect(out.contains("wrote version 2"), "\(out)")
        let d = sb.run(["diff", "app", "--env", "staging"])
        #expect(d.code == 1)
    }

    /// Top-level keys must be environment names whatever the input format; errors stay one line.
    @Test func topLevelKeysAreEnvironmentNames() throws {
        let sb = try Sandbox()
        sb.initStore()
        try sb.write("bad.json", #"{"X\nsvcconf: error: fake": "canary-v"}"#)
        sb.expectFailure(["set", "app", "--env", "staging", "--from", "bad.json"], code: 10)
        try sb.write("bad.env", "A.B=canary-v\n")
        sb.expectFailure(["set", "app", "--env", "staging", "--from", "bad.env"], code: 10)
    }

    /// svcconf's own variables (a key file path) are not handed to the child.
    @Test func childDoesNotInheritSvcconfVariables() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "app", "--env", "staging", "A=1"])
        let r = sb.run(["exec", "app", "--env", "staging", "--", "/bin/sh", "-c", "echo \"[$SVCCONF_KEY_FILE][$SVCCONF_STORE]\""],
                       env: ["SVCCONF_KEY_FILE": sb.defaultKey, "SVCCONF_STORE": "file:.svcconf"])
        #expect(r.code == 0 && r.out == "[][]\n", "\(r.out)\(r.err)")
    }

    /// Metadata that could fool a terminal is refused when written.
    @Test func authorAndMessageMustBePrintable() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.expectFailure(["set", "app", "--env", "staging", "A=1", "--author", "alice\u{9B}31m"], code: 2)
        sb.expectFailure(["set", "app", "--env", "staging", "A=1", "-m", "ok \u{202E}evil"], code: 2)
    }

    /// A negative --expect-version is a usage error, not a conflict.
    @Test func negativeExpectVersionIsUsage() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.expectFailure(["set", "app", "--env", "staging", "A=1", "--expect-version=-1"], code: 2)
    }
}
