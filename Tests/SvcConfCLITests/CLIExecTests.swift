import Foundation
import SvcConf
import Testing

/// Parses `env -0` output.
private func environment(_ out: String) -> [String: String] {
    var env: [String: String] = [:]
    for entry in out.split(separator: "\0") {
        guard let eq = entry.firstIndex(of: "=") else { continue }
        env[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
    }
    return env
}

@Suite struct CLIExecTests {
    @Test func childSeesConfigAsEnvironment() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "HOST=canary-host", "LINES=a\nb", "PORT:=8080",
               #"NESTED:={"a":[1,"x"],"b":null}"#, "FLAG:=true", "NOTHING:=null", "SHARED=from-config"])
        let r = sb.run(["exec", "svc-a", "--env", "staging", "--", "env", "-0"],
                       env: ["SHARED": "inherited", "INHERITED_ONLY": "kept"])
        #expect(r.code == 0, "\(r.err)")
        let env = environment(r.out)
        #expect(env["HOST"] == "canary-host")
        #expect(env["LINES"] == "a\nb")
        #expect(env["PORT"] == "8080")
        #expect(env["NESTED"] == #"{"a":[1,"x"]}"#, "null deletes (JSON Merge Patch, see Layering)")
        #expect(env["FLAG"] == "true")
        #expect(env["NOTHING"] == nil, "a null value is a deletion, not an empty variable")
        #expect(env["SHARED"] == "from-config", "the config wins over the inherited environment")
        #expect(env["INHERITED_ONLY"] == "kept")
        #expect(!r.err.contains(canaryPrefix))
    }

    @Test func argumentsPassVerbatimAndVersionAndStoreFlagsWork() throws {
        let sb = try Sandbox()
        sb.ok(["init", "--store", "file:other", "--recipient", "local:keys/other.key"])
        let flags = ["--store", "file:other", "--key-file", "keys/other.key"]
        sb.ok(["set", "svc-a", "--env", "staging", "--variant", "dev", "V=one"] + flags)
        sb.ok(["set", "svc-a", "--env", "staging", "--variant", "dev", "V=two"] + flags)
        let args = ["a b", "--", "-x", "--env", "$V", ""]
        let r = sb.run(["exec", "svc-a", "--env", "staging", "--variant", "dev"] + flags + ["--version", "1", "--",
                        "/bin/sh", "-c", #"printf '%s|' "$V" "$@""#, "sh"] + args)
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out == "one|" + args.map { $0 + "|" }.joined())
        let latest = sb.run(["exec", "svc-a", "--env", "staging", "--variant", "dev"] + flags + ["--", "/bin/sh", "-c", #"printf %s "$V""#])
        #expect(latest.code == 0 && latest.out == "two", "\(latest.err)")
    }

    @Test func filesDirAndEnvFileAreWrittenPrivately() throws {
        let sb = try Sandbox()
        sb.initStore()
        try sb.write("in/cert.pem", "canary-cert-bytes\n")
        sb.ok(["set", "svc-a", "--env", "staging", "A=canary-a", "B=b", "--file", "in/cert.pem", "--file", "app.yaml=in/cert.pem"])
        let r = sb.run(["exec", "svc-a", "--env", "staging", "--files-dir", "app", "--env-file", "app/.env", "--",
                        "/bin/sh", "-c", "cat app/cert.pem; echo \"A=$A\""])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out == "canary-cert-bytes\nA=canary-a\n")
        #expect(try sb.read("app/cert.pem") == Data("canary-cert-bytes\n".utf8))
        #expect(try sb.read("app/app.yaml") == Data("canary-cert-bytes\n".utf8))
        for f in ["app/cert.pem", "app/app.yaml", "app/.env"] { #expect(try sb.mode(f) == 0o600, "\(f)") }
        // The env file is dotenv that `set --from` reads back to the same values.
        sb.ok(["set", "svc-a", "--env", "copy", "--from", "app/.env"])
        #expect(try parseJSON(sb.ok(["export", "svc-a", "--env", "copy", "--format", "json"])) == ["A": "canary-a", "B": "b"])
    }

    @Test(arguments: [0, 3, 42]) func exitCodeOfChildPassesThrough(code: Int) throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "A=1"])
        let r = sb.run(["exec", "svc-a", "--env", "staging", "--", "sh", "-c", "exit \(code)"])
        #expect(r.code == Int32(code))
        #expect(r.err.isEmpty, "\(r.err)")
    }

    @Test func missingCommandStartsNothingAndWritesNoFiles() throws {
        let sb = try Sandbox()
        sb.initStore()
        try sb.write("cert.pem", "canary-cert\n")
        sb.ok(["set", "svc-a", "--env", "staging", "A=canary-a", "--file", "cert.pem"])
        try FileManager.default.createDirectory(atPath: sb.path("out"), withIntermediateDirectories: true)
        sb.expectFailure(["exec", "svc-a", "--env", "staging", "--files-dir", "out", "--env-file", "out/.env", "--",
                          "no-such-command-8d2f"], code: 127)
        sb.expectFailure(["exec", "svc-a", "--env", "staging", "--files-dir", "out2", "--", "./missing-script.sh"], code: 127)
        #expect(try FileManager.default.contentsOfDirectory(atPath: sb.path("out")) == [])
        #expect(!sb.exists("out2"))
    }

    @Test func nonExecutableCommandIs126() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "A=canary-a"])
        try sb.write("script.sh", "#!/bin/sh\necho started > started.txt\n", mode: 0o644)
        sb.expectFailure(["exec", "svc-a", "--env", "staging", "--", "./script.sh"], code: 126)
        #expect(!sb.exists("started.txt"))
    }

    @Test func configWithFilesNeedsFilesDir() throws {
        let sb = try Sandbox()
        sb.initStore()
        try sb.write("cert.pem", "canary-cert\n")
        sb.ok(["set", "svc-a", "--env", "staging", "--file", "cert.pem"])
        sb.expectFailure(["exec", "svc-a", "--env", "staging", "--", "/bin/sh", "-c", "echo started > started.txt"],
                         code: 2, hint: "--files-dir")
    }

    @Test func noCommandIsUsageError() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "A=1"])
        sb.expectFailure(["exec", "svc-a", "--env", "staging"], code: 2)
    }
}
