import Foundation
import SvcConf
import Testing

@Suite("CLI token mint")
struct CLITokenTests {
    @Test("token mint prints the token once on stdout and its token-file line (the SHA-256, never the token) on stderr")
    func mintToStderr() throws {
        let s = try Sandbox()
        let r = s.run(["token", "mint", "--name", "app-prod", "--scope", "read:access-boston/prod", "--scope", "review:*/*"])
        #expect(r.code == 0, "\(r.err)")
        let token = r.out.trimmingCharacters(in: .newlines)
        #expect(token.hasPrefix("svcconf_") && token.utf8.count == 72)
        let line = r.err.trimmingCharacters(in: .newlines)
        let fields = line.split(separator: " ").map(String.init)
        #expect(fields.count == 4)
        #expect(fields[0].count == 64)
        #expect(fields[1] == "app-prod")
        #expect(fields[2...] == ["read:access-boston/prod", "review:*/*"])
        #expect(!r.err.contains(token))
    }

    @Test("token mint --entry-file appends lines (created 0600), refuses a name already there (exit 4) and bad grants (exit 2)")
    func mintToFile() throws {
        let s = try Sandbox()
        let a = s.run(["token", "mint", "--name", "a", "--scope", "admin:*/*", "--entry-file", "tokens"])
        #expect(a.code == 0, "\(a.err)")
        #expect(a.err.isEmpty)
        #expect(try s.mode("tokens") == 0o600)
        let b = s.run(["token", "mint", "--name", "b", "--scope", "write:*/staging", "--entry-file", "tokens"])
        #expect(b.code == 0)
        let text = String(decoding: try s.read("tokens"), as: UTF8.self)
        #expect(text.split(separator: "\n").count == 2)
        #expect(!text.contains(a.out.trimmingCharacters(in: .newlines)))
        let dup = s.run(["token", "mint", "--name", "a", "--scope", "read:*/*", "--entry-file", "tokens"])
        #expect(dup.code == 4)
        #expect(dup.out.isEmpty)
        #expect(String(decoding: try s.read("tokens"), as: UTF8.self) == text)
        for bad in ["read", "sudo:*/*", "read:../x", "read:a"] {
            let r = s.run(["token", "mint", "--name", "c", "--scope", bad])
            #expect(r.code == 2, "\(bad): \(r.err)")
            #expect(r.out.isEmpty)
        }
        #expect(s.run(["token", "mint", "--name", "c"]).code == 2)
        #expect(s.run(["token", "mint", "--name", "bad name", "--scope", "read:*/*"]).code == 2)
    }
}
