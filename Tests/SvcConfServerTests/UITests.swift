import Foundation
import Hummingbird
import HummingbirdTesting
import SvcConf
import Testing

@testable import SvcConfServer

/// The review pages in-process: sign-in, cookie flags, CSP, scopes, redaction and escaping.
@Suite("UI review pages")
struct UITests {
    static func cookie(_ token: String) -> HTTPFields { [.cookie: "\(UIRoutes.cookieName)=\(token)"] }
    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    /// What every page must carry.
    static func checkPage(_ r: ServerFixture.Client.Reply, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.headers[.contentType] == "text/html; charset=utf-8", sourceLocation: sourceLocation)
        let csp = r.headers[.contentSecurityPolicy] ?? ""
        #expect(csp.hasPrefix("default-src 'none'; style-src 'sha256-"), "\(csp)", sourceLocation: sourceLocation)
        #expect(!csp.contains("unsafe") && !csp.contains("script-src"), sourceLocation: sourceLocation)
        #expect(r.headers[.cacheControl] == "no-store", sourceLocation: sourceLocation)
        #expect(!r.text.contains("<script"), sourceLocation: sourceLocation)
        #expect(r.text.hasPrefix("<!DOCTYPE html>"), sourceLocation: sourceLocation)
    }

    @Test("sign-in: the form, a known token gets an HttpOnly SameSite=Strict /ui cookie (Secure behind TLS), bad tokens and cross-origin posts are refused")
    func signIn() async throws {
        let f = try await ServerFixture()
        let reviewer = f.tokens["reviewer"]!
        try await f.run { c in
            let anonymous = try await c.send(.get, "/ui")
            #expect(anonymous.status == 401)
            #expect(anonymous.text.contains("<form method=\"post\" action=\"/ui/login\">"))
            Self.checkPage(anonymous)
            Self.checkPage(try await c.send(.get, "/ui/login"))

            let ok = try await c.send(.post, "/ui/login", headers: Self.form, body: "token=\(reviewer)")
            #expect(ok.status == 303)
            #expect(ok.headers[.location] == "/ui/")
            #expect(ok.headers[.setCookie] == "svcconf_ui=\(reviewer); Path=/ui; HttpOnly; SameSite=Strict")
            #expect(!ok.headers[.location]!.contains(reviewer))

            var tls = Self.form
            tls[HTTPFields.Element.Name("X-Forwarded-Proto")!] = "https"
            let secure = try await c.send(.post, "/ui/login", headers: tls, body: "token=\(reviewer)")
            #expect(secure.headers[.setCookie]?.hasSuffix("; Secure") == true)

            let unknown = try await c.send(.post, "/ui/login", headers: Self.form, body: "token=svcconf_" + String(repeating: "ab", count: 32))
            #expect(unknown.status == 401)
            #expect(unknown.headers[.setCookie] == nil)
            #expect(try await c.send(.post, "/ui/login", headers: Self.form, body: "token=nope").status == 401)
            #expect(try await c.send(.post, "/ui/login", headers: Self.form, body: "").status == 401)

            var cross = Self.form
            cross[.origin] = "https://evil.example"
            let refused = try await c.send(.post, "/ui/login", headers: cross, body: "token=\(reviewer)")
            #expect(refused.status == 403)
            #expect(refused.headers[.setCookie] == nil)
            // A same-origin post (Origin = the Host the browser used) is what the browser test sends.

            let big = try await c.send(.post, "/ui/login", headers: Self.form, body: "token=" + String(repeating: "a", count: 5000))
            #expect(big.status == 413)

            // A stale or forged cookie shows the form again and clears the cookie.
            let stale = try await c.send(.get, "/ui", headers: Self.cookie("svcconf_" + String(repeating: "cd", count: 32)))
            #expect(stale.status == 401)
            #expect(stale.headers[.setCookie]?.contains("Max-Age=0") == true)

            let out = try await c.send(.post, "/ui/logout", headers: Self.cookie(reviewer))
            #expect(out.status == 303)
            #expect(out.headers[.setCookie] == "svcconf_ui=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0")
        }
    }

    @Test("index and history: only what the token may review; by cookie or bearer header")
    func indexAndHistory() async throws {
        let f = try await ServerFixture()
        try await f.run { c in
            let byCookie = try await c.send(.get, "/ui", headers: Self.cookie(f.tokens["reviewer"]!))
            #expect(byCookie.status == 200)
            Self.checkPage(byCookie)
            #expect(byCookie.text.contains("href=\"/ui/services/access-boston/envs/prod\""))
            #expect(byCookie.text.contains("href=\"/ui/services/access-boston/envs/staging\""))
            #expect(byCookie.text.contains("action=\"/ui/logout\""))
            #expect(byCookie.text.contains("action=\"/ui/services/access-boston/diff\""))

            let byHeader = try await c.get("/ui/", as: "reviewer")
            #expect(byHeader.status == 200)
            #expect(!byHeader.text.contains("action=\"/ui/logout\""))

            let reader = try await c.get("/ui", as: "reader")
            #expect(reader.status == 200)
            #expect(reader.text.contains("may review no config"))
            #expect(!reader.text.contains("access-boston"))

            let history = try await c.get("/ui/services/access-boston/envs/prod", as: "reviewer")
            #expect(history.status == 200)
            Self.checkPage(history)
            #expect(history.text.contains("<td>second</td>") && history.text.contains("<td>first</td>"))
            #expect(history.text.contains("href=\"/ui/services/access-boston/envs/prod/diff?from=1&amp;to=2\""))

            let forbidden = try await c.get("/ui/services/access-boston/envs/prod", as: "reader")
            #expect(forbidden.status == 403)
            Self.checkPage(forbidden)
            #expect(try await c.get("/ui/services/access-boston/envs/prod", as: "other").status == 403)
            #expect(try await c.get("/ui/services/access-boston/envs/nope", as: "reviewer").status == 404)
            let invalid = try await c.get("/ui/services/..%2Fx/envs/prod", as: "reviewer")
            #expect(invalid.status == 400)
            Self.checkPage(invalid)
            #expect(f.log.all.last?.contains("\"error\":\"") == true, "the error kind reaches the log line")
        }
    }

    @Test("diffs of two versions and of two envs: changed key names and fingerprints, never a secret")
    func diffs() async throws {
        let f = try await ServerFixture()
        try await f.run { c in
            let versions = try await c.get("/ui/services/access-boston/envs/prod/diff?from=1&to=2", as: "reviewer")
            #expect(versions.status == 200)
            Self.checkPage(versions)
            #expect(versions.text.contains("<code class=\"key\">PING_HOST</code>"))
            #expect(versions.text.contains("&quot;sso.example.test&quot;") && versions.text.contains("&quot;sso2.example.test&quot;"))
            #expect(versions.text.contains("<code>DB_PASSWORD</code> <span class=\"secret\">unchanged</span>"))

            let envs = try await c.get("/ui/services/access-boston/diff?env=prod&env=staging", as: "reviewer")
            #expect(envs.status == 200)
            Self.checkPage(envs)
            #expect(envs.text.contains("<code class=\"key\">DB_PASSWORD</code> <span class=\"secret\">(secret)</span>"))
            #expect(envs.text.contains("<span class=\"secret fp\">secret fp:"))
            #expect(envs.text.contains("<code class=\"key\">file server.key</code>"))
            #expect(!envs.text.contains("canary"))

            let first = try await c.get("/ui/services/access-boston/envs/prod/diff?from=0&to=1", as: "reviewer")
            #expect(first.status == 200)
            #expect(!first.text.contains("canary"))
            #expect(try await c.get("/ui/services/access-boston/envs/prod/diff?from=x", as: "reviewer").status == 400)
            #expect(try await c.get("/ui/services/access-boston/diff?env=prod", as: "reviewer").status == 400)
            #expect(try await c.get("/ui/services/access-boston/diff?env=prod&env=staging", as: "stagingReader").status == 403)
        }
    }

    @Test("everything a page shows is escaped")
    func escaping() async throws {
        let f = try await ServerFixture()
        let keyring = try Keyring.load(paths: [f.keyPath])
        let setup = ConfigRepository(store: f.spy.base, keyring: keyring, author: "<img src=x onerror=alert(1)>")
        _ = try await setup.update(f.staging, message: "<script>alert('m')</script>") {
            $0.values["PING_HOST"] = "<b>\"bold\"</b> & 'x'"
        }
        try await f.run { c in
            let history = try await c.get("/ui/services/access-boston/envs/staging", as: "reviewer")
            #expect(history.status == 200)
            #expect(!history.text.contains("<script>") && !history.text.contains("<img"))
            #expect(history.text.contains("&lt;script&gt;alert(&#39;m&#39;)&lt;/script&gt;"))
            #expect(history.text.contains("&lt;img src=x onerror=alert(1)&gt;"))
            let diff = try await c.get("/ui/services/access-boston/envs/staging/diff", as: "reviewer")
            #expect(diff.status == 200)
            #expect(!diff.text.contains("<b>"))
            #expect(diff.text.contains("&lt;b&gt;\\&quot;bold\\&quot;&lt;/b&gt; &amp; &#39;x&#39;"))
            let index = try await c.get("/ui", as: "reviewer")
            #expect(!index.text.contains("<script>") && !index.text.contains("<img"))
        }
    }

    @Test("HTML helpers: escape and URL components")
    func helpers() {
        #expect(HTML.escape("<a href=\"x\">'&'</a>") == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
        #expect(HTML.urlComponent("a b/c?d") == "a%20b%2Fc%3Fd")
        #expect(UIRoutes.formValue("a=1&token=svcconf_%41b+c", "token") == "svcconf_Ab c")
        #expect(UIRoutes.formValue("token=%zz", "token") == nil)
        #expect(HTML.contentSecurityPolicy.contains(HTML.cssHash))
    }
}
