import Foundation
import SvcConf
import Testing

/// `svcconf edit` driven by scripted editors on the real binary: the buffer lives only in a private
/// tmpfs directory and is gone afterwards on every path; validation re-opens; conflicts never lose
/// either change; signals clean up.
@Suite struct CLIEditTests {
    /// A private runtime dir on /dev/shm (tmpfs), removed at the end.
    final class RuntimeDir: Sendable {
        let path: String
        init() throws {
            path = "/dev/shm/svcconf-test-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        var entries: [String] { (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] }
    }

    /// Writes an editor script into the sandbox and returns the environment that selects it.
    func editor(_ sb: Sandbox, _ runtime: RuntimeDir, _ body: String) throws -> [String: String] {
        try sb.write("editor.sh", "#!/bin/sh\nset -e\nf=\"$1\"\n" + body + "\n", mode: 0o755)
        return ["EDITOR": sb.path("editor.sh"), "VISUAL": "", "XDG_RUNTIME_DIR": runtime.path]
    }

    /// No file under the sandbox or the runtime dir holds `canary`, and the runtime dir is empty.
    func expectNoPlaintextLeft(_ sb: Sandbox, _ runtime: RuntimeDir, _ canary: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(runtime.entries.isEmpty, "left in the runtime dir: \(runtime.entries)", sourceLocation: sourceLocation)
        #expect(sb.filesContaining(canary).isEmpty, "plaintext on disk: \(sb.filesContaining(canary))", sourceLocation: sourceLocation)
        let shm = ((try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? []).filter { $0.hasPrefix("svcconf-edit-") }
        for dir in shm {
            for f in (try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm/" + dir)) ?? [] {
                let data = (try? Data(contentsOf: URL(fileURLWithPath: "/dev/shm/\(dir)/\(f)"))) ?? Data()
                #expect(!String(decoding: data, as: UTF8.self).contains(canary), "plaintext left in /dev/shm/\(dir)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func scriptedEditWritesAndLeavesNothing() throws {
        let sb = try Sandbox(), rt = try RuntimeDir()
        sb.initStore()
        sb.ok(["set", "app", "--env", "prod", "HOST=old.example", "--secret", "TOKEN"], stdin: "canary-edit-token\n")
        let env = try editor(sb, rt, """
            stat -c '%a' "$f" > "\(sb.path("mode-file"))"; stat -c '%a' "$(dirname "$f")" > "\(sb.path("mode-dir"))"
            echo "$f" > "\(sb.path("where"))"
            sed -i 's/old.example/new.example/' "$f"
            """)
        let out = sb.ok(["edit", "app", "--env", "prod", "--yes", "-m", "move host"], env: env)
        #expect(out.contains("HOST") && !out.contains("canary-edit-token"), "\(out)")
        #expect(sb.ok(["get", "app", "--env", "prod", "HOST"]) == "new.example\n")
        #expect(sb.ok(["get", "app", "--env", "prod", "TOKEN"]) == "canary-edit-token\n")
        #expect(try String(decoding: sb.read("mode-file"), as: UTF8.self) == "600\n")
        #expect(try String(decoding: sb.read("mode-dir"), as: UTF8.self) == "700\n")
        #expect(try String(decoding: sb.read("where"), as: UTF8.self).hasPrefix(rt.path + "/svcconf-edit-"))
        #expect(sb.ok(["history", "app", "--env", "prod"]).contains("move host"))
        expectNoPlaintextLeft(sb, rt, "canary-edit-token")
        // Saving without a change writes nothing.
        let same = try editor(sb, rt, "true")
        let r = sb.run(["edit", "app", "--env", "prod", "--yes"], env: same)
        #expect(r.code == 0 && r.err.contains("no changes"), "\(r.err)")
        #expect(sb.versionNumbers("app", "prod") == [1, 2])
    }

    @Test func failingOrCrashingEditorAbortsWithNothingWritten() throws {
        let sb = try Sandbox(), rt = try RuntimeDir()
        sb.initStore()
        sb.ok(["set", "app", "--env", "prod", "--secret", "TOKEN"], stdin: "canary-edit-abort\n")
        for body in ["sed -i 's/edit-abort/changed/' \"$f\"; exit 3", "sed -i 's/edit-abort/changed/' \"$f\"; kill -SEGV $$"] {
            let env = try editor(sb, rt, body)
            let r = sb.run(["edit", "app", "--env", "prod", "--yes"], env: env)
            #expect(r.code == 11 && r.err.contains("svcconf: error: the editor") && r.out.isEmpty, "\(r.err)")
            expectNoPlaintextLeft(sb, rt, "canary-edit-abort")
        }
        // Declining the confirmation writes nothing (exit 11); end of input is a no.
        let env = try editor(sb, rt, "sed -i 's/edit-abort/edit-other/' \"$f\"")
        for answer in ["n\n", ""] {
            let r = sb.run(["edit", "app", "--env", "prod"], stdin: answer, env: env)
            #expect(r.code == 11, "\(r.err)")
            #expect(!r.out.contains("canary-edit"), "\(r.out)")
        }
        #expect(sb.versionNumbers("app", "prod") == [1])
        expectNoPlaintextLeft(sb, rt, "canary-edit-other")
    }

    @Test func invalidBufferReopensWithTheErrorsMarked() throws {
        let sb = try Sandbox(), rt = try RuntimeDir()
        sb.initStore()
        try sb.write("s.json", #"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"PORT":{"type":"integer"},"TOKEN":{"type":"string","writeOnly":true}}}"#)
        sb.ok(["schema", "set", "app", "s.json"])
        sb.ok(["set", "app", "--env", "prod", "PORT=80"])
        // First run: an invalid value; second run (the buffer now starts with the error notes): fix it.
        let env = try editor(sb, rt, """
            if grep -q '^#! ' "$f"; then grep '^#! ' "$f" > "\(sb.path("notes"))"; sed -i 's/PORT: .*/PORT: 8080/' "$f"
            else sed -i 's/PORT: .*/PORT: not-a-number/' "$f"; fi
            """)
        let r = sb.run(["edit", "app", "--env", "prod"], stdin: "y\ny\n", env: env)
        #expect(r.code == 0, "\(r.err)")
        #expect(r.err.contains("/PORT"), "\(r.err)")
        let notes = try String(decoding: sb.read("notes"), as: UTF8.self)
        #expect(notes.contains("does not match its schema") && notes.contains("/PORT"), "\(notes)")
        #expect(sb.ok(["get", "app", "--env", "prod", "PORT"]) == "8080\n")
        // Declining to re-open: the validation error's exit code, nothing written.
        let bad = try editor(sb, rt, "sed -i 's/PORT: .*/PORT: nope/' \"$f\"")
        let r5 = sb.run(["edit", "app", "--env", "prod"], stdin: "n\n", env: bad)
        #expect(r5.code == 5 && r5.err.contains("svcconf: error: app/prod does not match its schema"), "\(r5.err)")
        // A buffer that no longer parses: same offer; declined -> exit 10.
        let broken = try editor(sb, rt, "printf 'values: [unclosed\\n' > \"$f\"")
        let r10 = sb.run(["edit", "app", "--env", "prod"], stdin: "n\n", env: broken)
        #expect(r10.code == 10 && r10.err.contains("svcconf: error: the edited buffer"), "\(r10.err)")
        #expect(sb.versionNumbers("app", "prod") == [1, 2])
        #expect(rt.entries.isEmpty)
    }

    @Test func concurrentWriteIsNeverOverwritten() throws {
        let sb = try Sandbox(), rt = try RuntimeDir()
        sb.initStore()
        sb.ok(["set", "app", "--env", "prod", "A=1", "B=1", "C=1"])
        // While the editor is open someone else sets B and C; we change A and C.
        let env = try editor(sb, rt, """
            if grep -q '^#! ' "$f"; then grep '^#! ' "$f" > "\(sb.path("notes"))"; exit 0; fi
            SVCCONF_CLI= "\(sb.binary)" set app --env prod B=theirs C=theirs >/dev/null 2>&1
            sed -i -e 's/^  A: .*/  A: mine/' -e 's/^  C: .*/  C: mine/' "$f"
            """)
        let r = sb.run(["edit", "app", "--env", "prod", "--yes"], env: env)
        #expect(r.code == 0, "\(r.err)")
        #expect(r.err.contains("while you edited") && r.err.contains("collision"), "\(r.err)")
        let values = try parseJSON(sb.ok(["export", "app", "--env", "prod", "--format", "json"]))
        #expect(values == ["A": "mine", "B": "theirs", "C": "theirs"], "both changes land; the collision keeps theirs")
        #expect(sb.versionNumbers("app", "prod") == [1, 2, 3])
        let notes = try String(decoding: sb.read("notes"), as: UTF8.self)
        #expect(notes.contains("collision: C"), "\(notes)")
    }

    @Test(arguments: [("TERM", 143), ("HUP", 129), ("INT", 130)])
    func signalsRemoveTheBuffer(signal: String, code: Int32) throws {
        let sb = try Sandbox(), rt = try RuntimeDir()
        sb.initStore()
        sb.ok(["set", "app", "--env", "prod", "--secret", "TOKEN"], stdin: "canary-edit-signal\n")
        // The editor finds svcconf-cli among its ancestors and signals it, then keeps "editing".
        let env = try editor(sb, rt, """
            p=$PPID
            while [ "$p" -gt 1 ] && [ "$(cat /proc/$p/comm)" != "svcconf-cli" ]; do p=$(cut -d' ' -f4 /proc/$p/stat); done
            sed -i 's/edit-signal/edit-signal-changed/' "$f"
            kill -\(signal) "$p"
            exec sleep 10
            """)
        let r = sb.run(["edit", "app", "--env", "prod", "--yes"], env: env)
        #expect(r.code == code, "\(r.err)")
        #expect(r.err.contains("interrupted"), "\(r.err)")
        #expect(sb.versionNumbers("app", "prod") == [1])
        expectNoPlaintextLeft(sb, rt, "canary-edit-signal")
    }

    @Test func editsALayerAndValidatesTheMerge() throws {
        let sb = try Sandbox(), rt = try RuntimeDir()
        sb.initStore()
        sb.ok(["set", "app", "--env", "base", "A=base", "B=base"])
        sb.ok(["set", "app", "--env", "staging", "A=stg"])
        sb.ok(["set", "app", "--env", "staging", "--variant", "dev", "C=dev"])
        let env = try editor(sb, rt, "printf '  B: null\\n' >> \"$f\"")
        sb.ok(["edit", "app", "--env", "staging", "--variant", "dev", "--yes"], env: env)
        #expect(try parseJSON(sb.ok(["export", "app", "--env", "staging", "--variant", "dev", "--format", "json"])) == ["A": "stg", "C": "dev"])
    }
}
