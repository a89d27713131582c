import Foundation
import SvcConf
import Testing

/// The review pages in a real headless Chromium against the real svcconf-server binary. Runs when
/// `SVCCONF_TEST_BROWSER=1` (scripts/test sets it and installs Debian's chromium when it can).
@Suite("UI in a real browser")
struct UIBrowserTests {
    static func chromium() -> String? {
        if let c = ProcessInfo.processInfo.environment["SVCCONF_CHROMIUM"], !c.isEmpty { return c }
        return ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test("UI browser: sign in through the form, the cookie is HttpOnly+SameSite=Strict, pages show the redacted diff and never the canary")
    func browser() async throws {
        guard ProcessInfo.processInfo.environment["SVCCONF_TEST_BROWSER"] == "1" else {
            print("notice: SVCCONF_TEST_BROWSER not set (scripts/test sets it); skipping the browser test")
            return
        }
        guard let chromium = Self.chromium() else {
            print("notice: chromium is not installed (apt-get install -y chromium); skipping the browser test")
            return
        }
        let sb = try BinarySandbox()
        defer { sb.remove() }
        try await sb.seedFileStore()
        _ = try sb.tokens(["reviewer": ["review:*/*"]])
        let server = try sb.startServer()
        defer { server.stop() }

        let out = sb.dir + "/browser.json"
        let envDiff = "/ui/services/access-boston/diff?env=prod&env=staging"
        let versionDiff = "/ui/services/access-boston/envs/prod/diff?from=1&to=2"
        let history = "/ui/services/access-boston/envs/prod"
        let r = try runProgram("/usr/bin/env", ["python3", OpenAPI.path + "/scripts/ui-browser.py", chromium, server.base, sb.dir + "/reviewer.token", out,
                                                "/ui/", history, versionDiff, envDiff])
        #expect(r.code == 0, "ui-browser.py: \(r.err)")
        guard r.code == 0 else { return }
        let doc = try JSON.parse(Array(try Data(contentsOf: URL(fileURLWithPath: out))))

        // Signed in through the form: redirected to /ui/, the cookie is HttpOnly and SameSite=Strict,
        // scripts cannot read it, and no URL ever held the token.
        #expect(doc["after"]?.stringValue == server.base + "/ui/")
        let cookies = doc["cookies"]?.arrayValue ?? []
        #expect(cookies.count == 1)
        #expect(cookies.first?["name"]?.stringValue == "svcconf_ui")
        #expect(cookies.first?["httpOnly"] == .bool(true))
        #expect(cookies.first?["sameSite"]?.stringValue == "Strict")
        #expect(cookies.first?["path"]?.stringValue == "/ui")
        #expect(cookies.first?["session"] == .bool(true))
        #expect(doc["documentCookie"]?.stringValue == "")

        let token = try String(contentsOfFile: sb.dir + "/reviewer.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        for (path, page) in doc["pages"]?.objectValue ?? [:] {
            let html = page["html"]?.stringValue ?? ""
            #expect(page["url"]?.stringValue == server.base + path)
            #expect(!html.contains("canary"), "the canary in the DOM of \(path)")
            #expect(!html.contains(token), "the token in the DOM of \(path)")
            #expect(html.contains("token: reviewer"), "\(path) is shown signed in")
            #expect(!html.contains("Sign in</h1>"), "\(path) shows the sign-in form")
        }
        let index = doc["pages"]?["/ui/"]?["html"]?.stringValue ?? ""
        #expect(index.contains("access-boston") && index.contains(">staging</a>") && index.contains(">prod</a>"))
        let versions = doc["pages"]?[versionDiff]?["html"]?.stringValue ?? ""
        #expect(versions.contains("<code class=\"key\">PING_HOST</code>"))
        #expect(versions.contains("<code class=\"key\">DB_PASSWORD</code> <span class=\"secret\">(secret)</span>"))
        #expect(versions.contains("secret fp:"))
        #expect(versions.contains("1 added") == false && versions.contains("2 changed"))
        let envs = doc["pages"]?[envDiff]?["html"]?.stringValue ?? ""
        #expect(envs.contains("<code class=\"key\">DB_PASSWORD</code>") && envs.contains("secret fp:"))
        #expect(envs.contains("<code class=\"key\">file server.key</code>"))
        #expect((doc["pages"]?[history]?["html"]?.stringValue ?? "").contains("<td>second</td>"))

        // Plain --dump-dom, without a session: the page loads and asks for a sign-in; no canary.
        let dump = try runProgram(chromium, ["--headless=new", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + sb.dir + "/dump-profile",
                                             "--dump-dom", server.base + envDiff])
        #expect(dump.out.contains("Sign in</h1>") && dump.out.contains("input id=\"token\""), "dump-dom: \(dump.out.prefix(300)) \(dump.err.suffix(300))")
        #expect(!dump.out.contains("canary"))
        #expect(server.stop() == 0)
        let log = server.stderrText
        #expect(!log.contains("canary") && !log.contains(token))
    }
}
