import Foundation
import SvcConf
import Testing

// `svcconf textconv` as a git diff driver, on a real git repository.

private let schema = #"""
{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",
 "properties":{"PING_HOST":{"type":"string"},"PORT":{"type":"integer"},"PASSWORD":{"type":"string","writeOnly":true},
   "NESTED":{"type":"object"}},
 "x-files":{"type":"object","properties":{"notes.txt":{"type":"string"},"cert.pem":{"type":"string","writeOnly":true}}}}
"""#

private let oldSecret = "canary-rot-txt-old"
private let newSecret = "canary-rot-txt-new"
private let fileSecret = "canary-rot-txt-file"

private extension Sandbox {
    /// Runs git in `dir` with a fixed identity and no system or global configuration.
    func git(_ args: [String], in dir: String, env: [String: String] = [:]) -> RunResult {
        var e = environment(env)
        e["GIT_CONFIG_NOSYSTEM"] = "1"
        e["GIT_CONFIG_GLOBAL"] = "/dev/null"
        for k in ["GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"] { e[k] = "test" }
        for k in ["GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"] { e[k] = "test@example.test" }
        return runProcess("/usr/bin/git", args, stdin: nil, env: e, cwd: path(dir))
    }

    @discardableResult
    func gitOK(_ args: [String], in dir: String, env: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let r = git(args, in: dir, env: env)
        #expect(r.code == 0, "git \(args.joined(separator: " ")) exited \(r.code): \(r.err)", sourceLocation: sourceLocation)
        return r.out
    }

    /// A store with two versions of svc-a/staging under a schema, and a git repository `repo` whose
    /// history holds version 1 and whose worktree holds version 2 of the sealed file.
    func gitRepoWithTwoVersions() throws {
        initStore()
        try write("schema.json", schema)
        ok(["schema", "set", "svc-a", "schema.json"])
        try write("notes.txt", "line one\nline two\n")
        try write("cert.pem", fileSecret + "\n")
        ok(["set", "svc-a", "--env", "staging", "PING_HOST=a.example", "PORT=80", "NESTED:={\"a\":[1,2]}",
            "--file", "notes.txt", "--file", "cert.pem", "--secret", "PASSWORD", "-m", "first\nsecond line"], stdin: oldSecret)
        try FileManager.default.createDirectory(atPath: path("repo"), withIntermediateDirectories: true)
        gitOK(["init", "-q"], in: "repo")
        try write("repo/.gitattributes", "*.sealed diff=svcconf\n")
        gitOK(["config", "diff.svcconf.textconv", "\(binary) textconv"], in: "repo")
        try write("repo/svc-a-staging.sealed", try read(versionFile("svc-a", "staging", 1)))
        gitOK(["add", "."], in: "repo")
        gitOK(["commit", "-q", "-m", "v1"], in: "repo")
        try write("notes.txt", "line one\nline 2\n")
        ok(["set", "svc-a", "--env", "staging", "PING_HOST=b.example", "--file", "notes.txt", "--secret", "PASSWORD"], stdin: newSecret)
        try write("repo/svc-a-staging.sealed", try read(versionFile("svc-a", "staging", 2)))
    }
}

private func expectNoSecrets(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    for c in [oldSecret, newSecret, fileSecret, canaryPrefix] {
        #expect(!text.contains(c), "a secret leaked: \(text)", sourceLocation: sourceLocation)
    }
}

@Suite struct CLITextconvTests {
    @Test func gitDiffShowsRedactedChanges() throws {
        let sb = try Sandbox()
        try sb.gitRepoWithTwoVersions()
        let store = ["SVCCONF_STORE": "file:" + sb.path(".svcconf")]
        let diff = sb.gitOK(["diff", "--no-color"], in: "repo", env: store)
        expectNoSecrets(diff)
        let lines = diff.split(separator: "\n").map(String.init)
        #expect(lines.contains("-version: 1") && lines.contains("+version: 2"), "\(diff)")
        #expect(lines.contains("-  PING_HOST = \"a.example\"") && lines.contains("+  PING_HOST = \"b.example\""), "\(diff)")
        #expect(lines.contains("-    | line two") && lines.contains("+    | line 2"), "\(diff)")
        #expect(lines.contains("-message: first") && lines.contains("-message: second line"), "\(diff)")
        let oldFP = try #require(lines.first { $0.hasPrefix("-  PASSWORD = <secret fp:") })
        let newFP = try #require(lines.first { $0.hasPrefix("+  PASSWORD = <secret fp:") })
        #expect(oldFP.dropFirst() != newFP.dropFirst(), "a changed secret shows a changed fingerprint")
        // Unchanged values and the secret file are context, not changes.
        #expect(!lines.contains { ($0.hasPrefix("-") || $0.hasPrefix("+")) && ($0.contains("PORT") || $0.contains("cert.pem") || $0.contains("NESTED")) }, "\(diff)")

        // textconv itself: deterministic, header, values (nested as pointers), files.
        let file = sb.versionFile("svc-a", "staging", 1)
        let a = sb.ok(["textconv", file]), b = sb.ok(["textconv", file])
        #expect(a == b)
        expectNoSecrets(a)
        let tl = a.split(separator: "\n").map(String.init)
        #expect(Array(tl.prefix(5)) == ["svcconf sealed version", "service: svc-a", "env: staging", "variant: -", "version: 1"])
        #expect(tl.contains("author: test") && tl.contains { $0.hasPrefix("time: ") } && tl.contains { $0.hasPrefix("schema: sha256:") })
        #expect(tl.contains { $0.hasPrefix("recipients: local key ") })
        #expect(tl.contains("  NESTED/a/0 = 1") && tl.contains("  NESTED/a/1 = 2") && tl.contains("  PORT = 80"))
        #expect(tl.contains { $0.hasPrefix("  cert.pem: <secret file, \(fileSecret.count + 1) bytes, fp:") })
        #expect(tl.contains { $0.hasPrefix("  notes.txt: 18 bytes, fp:") } && tl.contains("    | line one"))
        // log -p goes through the driver too.
        sb.gitOK(["commit", "-q", "-am", "v2"], in: "repo")
        let log = sb.gitOK(["log", "-p", "--no-color"], in: "repo", env: store)
        expectNoSecrets(log)
        #expect(log.contains("+  PING_HOST = \"b.example\""))
    }

    @Test func withoutAKeyGitStillDiffs() throws {
        let sb = try Sandbox()
        try sb.gitRepoWithTwoVersions()
        sb.ok(["init", "--store", "file:other", "--recipient", "local:other.key"])
        let env = ["SVCCONF_STORE": "file:" + sb.path("nowhere"), "SVCCONF_KEY_FILE": sb.path("other.key")]
        let r = sb.git(["diff", "--no-color"], in: "repo", env: env)
        #expect(r.code == 0, "\(r.err)")
        expectNoSecrets(r.out + r.err)
        #expect(r.out.contains("-version: 1") && r.out.contains("+version: 2") && r.out.contains(" (sealed: no key available)"), "\(r.out)")
        #expect(!r.out.contains("values:"))
        let t = sb.run(["textconv", sb.versionFile("svc-a", "staging", 2)], env: env)
        #expect(t.code == 0 && t.err.isEmpty)
        #expect(t.out.hasSuffix("recipients: " + (t.out.split(separator: "\n").first { $0.hasPrefix("recipients: ") }.map { String($0.dropFirst(12)) } ?? "?")
                                + "\n(sealed: no key available)\n"), "\(t.out)")
    }

    @Test func withoutASchemaEverythingIsSecret() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-b", "--env", "prod", "--variant", "dev", "HOST=canary-rot-host", "--secret", "PASSWORD"], stdin: oldSecret)
        let out = sb.ok(["textconv", sb.versionFile("svc-b", "prod", 1, variant: "dev")])
        expectNoSecrets(out)
        #expect(out.contains("variant: dev\n") && out.contains("  HOST = <secret fp:") && out.contains("  PASSWORD = <secret fp:"))
        #expect(out.hasSuffix("files:\n"))
    }

    @Test func oddInputs() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "--secret", "PASSWORD"], stdin: oldSecret)
        // Not a sealed file: one line, exit 0 (git must not fail).
        try sb.write("plain.sealed", "hello\n")
        #expect(sb.ok(["textconv", "plain.sealed"]) == "(not a sealed svcconf version: not a sealed svcconf version (bad format line))\n")
        try sb.write("empty.sealed", "")
        #expect(sb.ok(["textconv", "empty.sealed"]).hasPrefix("(not a sealed svcconf version"))
        // Tampered ciphertext: the header, and why it does not open.
        var bytes = [UInt8](try sb.read(sb.versionFile("svc-a", "staging", 1)))
        bytes[bytes.count - 1] ^= 1
        try sb.write("tampered.sealed", Data(bytes))
        let t = sb.ok(["textconv", "tampered.sealed"])
        #expect(t.contains("version: 1\n") && t.contains("(sealed: does not open: ") && !t.contains("values:"))
        expectNoSecrets(t)
        // A file that is not there is the caller's error.
        sb.expectFailure(["textconv", "missing.sealed"], code: 3)
        sb.expectFailure(["textconv"], code: 2)
    }
}
