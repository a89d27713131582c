import Foundation
import SvcConf
import Testing

/// Layers through the real binary: base < env < variant, what exec gets, explain, and validation of
/// every merged config a layer write affects.
@Suite struct CLILayeringTests {
    @Test func execGetsTheMergeAndExplainSaysWhere() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "app", "--env", "base", "HOST=base.example", "PORT=80", #"LOG:={"level":"info","fmt":"json"}"#, "-m", "base"])
        sb.ok(["set", "app", "--env", "staging", "HOST=stg.example", #"LOG:={"level":"debug"}"#])
        sb.ok(["set", "app", "--env", "staging", "--variant", "dev", "HOST=dev.example", "PORT:=null"])
        try sb.write("base.crt", "BASE CERT")
        sb.ok(["set", "app", "--env", "base", "--file", "server.crt=base.crt"])

        // The launcher (static) and svcconf-cli give the child the same merged environment.
        let script = #"echo "$HOST|$LOG|${PORT-unset}"; cat files/server.crt"#
        try FileManager.default.createDirectory(atPath: sb.path("files"), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        for bin in [sb.binary, sb.binary + "-cli"] {
            let r = runProcess(bin, ["exec", "app", "--env", "staging", "--variant", "dev", "--files-dir", "files", "--", "/bin/sh", "-c", script],
                               stdin: nil, env: sb.environment([:]), cwd: sb.root)
            #expect(r.code == 0, "\(bin): \(r.err)")
            #expect(r.out == "dev.example|{\"fmt\":\"json\",\"level\":\"debug\"}|unset\nBASE CERT", "\(bin)")
            try? FileManager.default.removeItem(atPath: sb.path("files/server.crt"))
        }
        #expect(sb.ok(["get", "app", "--env", "staging", "PORT"]) == "80\n")
        sb.expectFailure(["get", "app", "--env", "staging", "--variant", "dev", "PORT"], code: 3)
        let explain = sb.ok(["explain", "app", "--env", "staging", "--variant", "dev"])
            .split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(explain.contains("HOST app/staging/dev v1 (overrides app/base, app/staging)"), "\(explain)")
        #expect(explain.contains("PORT deleted by app/staging/dev v1 (overrides app/base)"), "\(explain)")
        #expect(explain.contains("file server.crt app/base v2"), "\(explain)")
        #expect(explain.contains { $0.hasPrefix("LOG merged from app/base, app/staging") }, "\(explain)")
        let doc = try parseJSON(sb.ok(["explain", "app", "--env", "staging", "LOG.fmt", "--format", "json"]))
        #expect(doc["values"]?["LOG.fmt"]?["layer"] == .string("app/base"))
        // show merges by default; --layer shows the layer's own content with its deletions.
        let own = sb.ok(["show", "app", "--env", "staging", "--variant", "dev", "--layer", "--format", "json", "--reveal"])
        #expect(try parseJSON(own)["values"]?["PORT"] == .null)
        let merged = try parseJSON(sb.ok(["show", "app", "--env", "staging", "--variant", "dev", "--format", "json", "--reveal"]))
        #expect(merged["values"]?["PORT"] == nil && merged["values"]?["HOST"] == .string("dev.example"))
        sb.expectFailure(["set", "app", "--env", "base", "--variant", "dev", "A=1"], code: 2, mentions: "base layer has no variants")
    }

    @Test func unsetOfAnInheritedKeyOrFileRecordsADeletion() throws {
        let sb = try Sandbox()
        sb.initStore()
        try sb.write("ca.pem", "CA")
        sb.ok(["set", "app", "--env", "base", "A=1", "B=2", "--file", "ca.pem=ca.pem"])
        sb.ok(["set", "app", "--env", "prod", "C=3"])
        sb.ok(["unset", "app", "--env", "prod", "A", "--file", "ca.pem"])
        let own = try parseJSON(sb.ok(["show", "app", "--env", "prod", "--layer", "--reveal", "--format", "json"]))
        #expect(own["values"] == ["A": nil, "C": "3"] && own["deletedFiles"] == ["ca.pem"], "\(own)")
        let merged = try parseJSON(sb.ok(["export", "app", "--env", "prod", "--format", "json"]))
        #expect(merged == ["B": "2", "C": "3"])
        sb.expectFailure(["get", "app", "--env", "prod", "--file", "ca.pem"], code: 3)
        // Already deleted, or in no layer: not found, nothing written.
        sb.expectFailure(["unset", "app", "--env", "prod", "A"], code: 3)
        sb.expectFailure(["unset", "app", "--env", "prod", "NOPE"], code: 3)
        // Setting the file again in the layer undoes its deletion.
        try sb.write("ca2.pem", "CA2")
        sb.ok(["set", "app", "--env", "prod", "--file", "ca.pem=ca2.pem"])
        #expect(sb.ok(["get", "app", "--env", "prod", "--file", "ca.pem"]) == "CA2")
        // A key only in this layer is simply removed.
        sb.ok(["unset", "app", "--env", "prod", "C"])
        #expect(try parseJSON(sb.ok(["show", "app", "--env", "prod", "--layer", "--reveal", "--format", "json"]))["values"] == ["A": nil])
    }

    @Test func writesAreValidatedOnEveryMergeTheyAffect() throws {
        let sb = try Sandbox()
        sb.initStore()
        try sb.write("s.json", #"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","required":["HOST","PORT"],"properties":{"HOST":{"type":"string"},"PORT":{"type":"integer"},"TOKEN":{"type":"string","writeOnly":true}}}"#)
        sb.ok(["schema", "set", "app", "s.json"])
        // The base alone lacks HOST: fine, a base is never run alone.
        sb.ok(["set", "app", "--env", "base", "PORT=8080"])
        // An env that supplies HOST is valid merged with the base (PORT comes from it, typed).
        sb.ok(["set", "app", "--env", "prod", "HOST=prod.example"])
        sb.ok(["set", "app", "--env", "prod", "--variant", "canary", "HOST=canary.example"])
        // Removing PORT from the base would break prod and prod/canary: refused, nothing written.
        let r = sb.expectFailure(["unset", "app", "--env", "base", "PORT"], code: 5, mentions: "would make app/prod")
        #expect(r.err.contains("required"), "\(r.err)")
        // A variant that deletes a required key is refused too.
        sb.expectFailure(["set", "app", "--env", "prod", "--variant", "canary", "PORT:=null"], code: 5)
        // An env that does not supply HOST, with nothing below to supply it, is refused.
        sb.expectFailure(["set", "app", "--env", "staging", "TOKEN=canary-layer-secret"], code: 5)
        // validate and check look at the merge.
        sb.ok(["validate", "app", "--env", "prod", "--variant", "canary"])
        let check = sb.ok(["check"])
        #expect(check.contains("app/prod") && !check.contains("app/base"), "\(check)")
        sb.expectFailure(["validate", "app", "--env", "base"], code: 2, mentions: "base layer")
        // diff of two envs compares what the programs get.
        sb.ok(["set", "app", "--env", "staging", "HOST=stg.example"])
        let diff = sb.run(["diff", "app", "--env", "staging", "--env", "prod"])
        #expect(diff.code == 1 && diff.out.contains("HOST") && !diff.out.contains("PORT"), "\(diff.out)")
    }
}
