import Foundation
import SvcConf
import Testing

/// Secret canaries through every CLI command: the canary may appear only where PRODUCT.md allows
/// (`show --reveal`, `get`, `export`, the environment and files `exec` hands its child, the edit
/// buffer while the editor runs); never in any other output, error, history, process arguments,
/// or any file left on disk outside the sealed store.
@Suite struct CLICanaryTests {
    static let canary = "canary-7f3a9c-secret"

    @Test func everyCommandKeepsTheCanaryWhereItBelongs() throws {
        let sb = try Sandbox()
        let canary = Self.canary
        let shm = "/dev/shm/svcconf-canary-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: shm, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: shm) }
        let env = ["XDG_RUNTIME_DIR": shm]
        sb.initStore()
        try sb.write("s.json", #"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"HOST":{"type":"string"},"TOKEN":{"type":"string","writeOnly":true}}}"#)
        sb.ok(["schema", "set", "app", "s.json"])
        sb.ok(["set", "app", "--env", "base", "HOST=base.example"])
        sb.ok(["set", "app", "--env", "prod", "HOST=prod.example", "--secret", "TOKEN"], stdin: canary + "\n", env: env)
        sb.ok(["set", "app", "--env", "staging", "HOST=stg.example", "--secret", "TOKEN"], stdin: canary + "-stg\n", env: env)
        sb.ok(["set", "app", "--env", "prod", "HOST=prod2.example"])
        try sb.write("editor.sh", """
            #!/bin/sh
            cat /proc/$$/cmdline /proc/$PPID/cmdline | tr '\\0' ' ' > "\(sb.path("editor-cmdlines"))"
            sed -i 's/prod2.example/prod3.example/' "$1"
            """, mode: 0o755)
        try FileManager.default.createDirectory(atPath: sb.path("files"), withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])

        let allowed: [[String]] = [
            ["show", "app", "--env", "prod", "--reveal"],
            ["get", "app", "--env", "prod", "TOKEN"],
            ["export", "app", "--env", "prod", "--format", "env"],
            ["exec", "app", "--env", "prod", "--", "/bin/sh", "-c", "echo $TOKEN; tr '\\0' ' ' < /proc/self/cmdline"],
        ]
        let forbidden: [[String]] = [
            ["show", "app", "--env", "prod"],
            ["show", "app", "--env", "prod", "--format", "json"],
            ["show", "app", "--env", "prod", "--layer", "--format", "env"],
            ["diff", "app", "--env", "prod"],
            ["diff", "app", "--env", "prod", "--from", "0", "--format", "json"],
            ["diff", "app", "--env", "staging", "--env", "prod"],
            ["history", "app", "--env", "prod"],
            ["history", "app", "--env", "prod", "--format", "json"],
            ["list"], ["list", "--format", "json"],
            ["check"], ["check", "--format", "json"],
            ["validate", "app", "--env", "prod"],
            ["explain", "app", "--env", "prod"],
            ["explain", "app", "--env", "prod", "--format", "json"],
            ["textconv", sb.path(".svcconf/configs/app/prod/versions/0000000001.sealed")],
            ["schema", "show", "app"],
            ["recipients", "list"],
            ["rotate", "app", "--env", "staging"],
            ["edit", "app", "--env", "prod", "--yes"],
            ["get", "app", "--env", "prod", "NOPE"],                       // errors
            ["set", "app", "--env", "prod", "TOKEN:=5"],                    // validation error
            ["exec", "app", "--env", "prod", "--", "/nonexistent/cmd"],
            ["diff", "app", "--env", "prod", "--from", "9"],
        ]
        var editorEnv = env
        editorEnv["EDITOR"] = sb.path("editor.sh")
        for args in allowed {
            let r = sb.run(args, env: env)
            #expect(r.code == 0, "\(args): \(r.err)")
            #expect(r.out.contains(canary), "\(args) should print the secret")
            #expect(!r.err.contains(canary), "\(args): secret on stderr")
            if args[0] == "exec" {
                #expect(r.out.split(separator: "\n").last.map { !$0.contains(canary) } == true, "secret in the child's argv")
            }
        }
        for args in forbidden {
            let r = sb.run(args, env: args[0] == "edit" ? editorEnv : env)
            #expect(!r.out.contains(canary) && !r.err.contains(canary), "\(args) leaked the secret (exit \(r.code))")
        }
        // The editor saw neither its own arguments nor svcconf's holding the secret.
        let cmdlines = try String(decoding: sb.read("editor-cmdlines"), as: UTF8.self)
        #expect(!cmdlines.isEmpty && !cmdlines.contains(canary), "\(cmdlines)")
        // Nothing on disk holds it: not the store, not the config dir, not the runtime dir.
        #expect(sb.filesContaining(canary).isEmpty, "\(sb.filesContaining(canary))")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: shm)) ?? []).isEmpty)
        let tmp = ((try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())) ?? []).filter { $0.hasPrefix("svcconf-edit") }
        #expect(tmp.isEmpty, "edit buffers left in the temp dir: \(tmp)")
    }
}
