import Foundation
import Hummingbird
import SvcConf
import SvcConfAuth
import Testing

@testable import SvcConfServer

/// Every `/v1` route with a request that would succeed for the right token.
struct RouteCase: Sendable, CustomStringConvertible {
    let method: HTTPRequest.Method
    /// With `SVC` and `ENV` placeholders.
    let uri: String
    let permission: Permission
    let body: String?
    let headers: HTTPFields

    var description: String { "\(method) \(uri)" }

    func uri(svc: String = "access-boston", env: String = "prod") -> String {
        uri.replacingOccurrences(of: "SVC", with: svc).replacingOccurrences(of: "ENV", with: env)
    }

    func body(svc: String = "access-boston", env: String = "prod") -> String? {
        body?.replacingOccurrences(of: "SVC", with: svc).replacingOccurrences(of: "ENV", with: env)
    }

    static let all: [RouteCase] = [
        .init(method: .get, uri: "/v1/services/SVC/envs/ENV", permission: .review, body: nil, headers: [:]),
        .init(method: .get, uri: "/v1/services/SVC/envs/ENV/config", permission: .plaintext, body: nil, headers: [:]),
        .init(method: .put, uri: "/v1/services/SVC/envs/ENV/config", permission: .write,
              body: #"{"values": {"PING_HOST": "sso.attack.test", "DB_PASSWORD": "canary-srv-9c1e4d77"}}"#, headers: [.ifMatch: "\"2\""]),
        .init(method: .get, uri: "/v1/services/SVC/envs/ENV/view", permission: .review, body: nil, headers: [:]),
        .init(method: .get, uri: "/v1/services/SVC/envs/ENV/versions", permission: .review, body: nil, headers: [:]),
        .init(method: .get, uri: "/v1/services/SVC/envs/ENV/diff?from=1&to=2", permission: .review, body: nil, headers: [:]),
        .init(method: .get, uri: "/v1/services/SVC/diff?env=ENV&env=staging", permission: .review, body: nil, headers: [:]),
        .init(method: .post, uri: "/v1/validate", permission: .review, body: #"{"service": "SVC", "env": "ENV", "values": {"PING_HOST": "abc"}}"#, headers: [:]),
    ]
}

@Suite("Server attacks")
struct ServerAttackTests {
    @Test("the route cases cover every /v1 route but the list")
    func coverage() {
        let covered = Set(RouteCase.all.map { "\($0.method.rawValue) \($0.uri.split(separator: "?")[0].replacingOccurrences(of: "SVC", with: "{svc}").replacingOccurrences(of: "ENV", with: "{env}"))" }
            .map { $0 == "POST /v1/validate" ? $0 : $0 })
        let documented = OpenAPI.operations.filter { $0.contains("/v1/") && $0 != "GET /v1/services" }
        #expect(covered == documented)
    }

    @Test("each route succeeds for the right token (the baseline the refusals are measured against)")
    func baseline() async throws {
        let f = try await ServerFixture()
        try await f.run { c in
            for r in RouteCase.all {
                let token = r.permission == .plaintext ? "reader" : (r.permission == .write ? "writer" : "reviewer")
                let reply = try await c.send(r.method, r.uri(), token: f.tokens[token], headers: r.headers, body: r.body())
                #expect([200, 201].contains(reply.status), "\(r): \(reply.status) \(reply.text)")
            }
        }
    }

    @Test("no token, malformed tokens and unknown tokens: 401 with WWW-Authenticate on every route; the store is never touched")
    func unauthenticated() async throws {
        let f = try await ServerFixture()
        let unknown = try AccessToken.mint()
        let reader = f.tokens["reader"]!
        let malformed: [String] = [
            "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer \(reader.uppercased())", "Bearer \(reader)x", "Bearer \(reader.dropLast())",
            "Bearer svcconf_", "Bearer \(String(repeating: "a", count: 72))", "Bearer \(reader) extra", "bearer  ", "Token \(reader)",
        ]
        try await f.run { c in
            for r in RouteCase.all + [RouteCase(method: .get, uri: "/v1/services", permission: .review, body: nil, headers: [:])] {
                let before = f.spy.count
                let none = try await c.send(r.method, r.uri(), headers: r.headers, body: r.body())
                #expect(none.status == 401, "\(r) without a token")
                #expect(none.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                #expect(none.json["error"]?["message"]?.stringValue == "missing bearer token")
                for m in malformed {
                    var h = r.headers
                    h[.authorization] = m
                    let reply = try await c.send(r.method, r.uri(), headers: h, body: r.body())
                    #expect(reply.status == 401, "\(r) with Authorization: \(m.prefix(20))")
                }
                let u = try await c.send(r.method, r.uri(), token: unknown, headers: r.headers, body: r.body())
                #expect(u.status == 401)
                #expect(u.json["error"]?["message"]?.stringValue == "unknown token")
                #expect(f.spy.count == before, "\(r): the store was touched before authentication")
            }
        }
        #expect(try await f.versions(f.prod) == [1, 2])
    }

    @Test("a token for another service or env, and a token with the wrong scope: 403 on every route; the store is never touched")
    func forbidden() async throws {
        let f = try await ServerFixture()
        try await f.run { c in
            for r in RouteCase.all {
                // Tokens that must not pass, by route permission.
                var refused = ["other", "stagingReader"]
                switch r.permission {
                case .plaintext: refused += ["reviewer", "writer"]  // review and write never see plaintext
                case .review: refused += ["reader"]
                case .write: refused += ["reader", "reviewer"]
                }
                for name in refused {
                    let before = f.spy.count
                    let reply = try await c.send(r.method, r.uri(), token: f.tokens[name], headers: r.headers, body: r.body())
                    #expect(reply.status == 403, "\(r) as \(name): \(reply.status)")
                    #expect(reply.errorKind == "forbidden")
                    #expect(f.spy.count == before, "\(r) as \(name): the store was touched")
                }
            }
            // A variant is covered by its env's grants only.
            #expect(try await c.get("/v1/services/access-boston/envs/staging/config?variant=dev", as: "reader").status == 403)
        }
        #expect(try await f.versions(f.prod) == [1, 2])
    }

    @Test("path traversal and invalid names: 400 from the core's name check on every route; the store is never touched")
    func invalidNames() async throws {
        let f = try await ServerFixture()
        let bad = ["..", ".", "%2e%2e", "..%2F..%2Fetc", "A", "Access-Boston", "a_b", "-x", "a.b", String(repeating: "a", count: 64), "%00", "a%20b", "%C3%A9"]
        try await f.run { c in
            for r in RouteCase.all {
                for name in bad {
                    for (svc, env) in [(name, "prod"), ("access-boston", name)] {
                        if r.uri == "/v1/validate" {
                            // names come in the body there
                            let decoded = name.removingPercentEncoding ?? name
                            let before = f.spy.count
                            let reply = try await c.send(.post, "/v1/validate", token: f.tokens["admin"], body: body(["service": .string(svc == name ? decoded : svc), "env": .string(env == name ? decoded : env)]))
                            #expect(reply.status == 400, "validate \(svc)/\(env): \(reply.status)")
                            #expect(f.spy.count == before)
                            continue
                        }
                        let before = f.spy.count
                        let reply = try await c.send(r.method, r.uri(svc: svc, env: env), token: f.tokens["admin"], headers: r.headers, body: r.body(svc: svc, env: env))
                        #expect(reply.status == 400, "\(r) with \(svc)/\(env): \(reply.status) \(reply.text)")
                        #expect(reply.errorKind == "usage")
                        #expect(f.spy.count == before, "\(r) with \(svc)/\(env): the store was touched")
                    }
                }
                // ?variant= is checked the same way.
                let sep = r.uri.contains("?") ? "&" : "?"
                if r.uri != "/v1/validate" {
                    let before = f.spy.count
                    let reply = try await c.send(r.method, r.uri() + sep + "variant=..%2Fx", token: f.tokens["admin"], headers: r.headers, body: r.body())
                    #expect(reply.status == 400, "\(r) with variant ../x")
                    #expect(f.spy.count == before)
                }
            }
        }
        #expect(try await f.versions(f.prod) == [1, 2])
        #expect(!FileManager.default.fileExists(atPath: f.dir + "/x"))
    }

    @Test("no answer and no log line holds a canary or a token, except the plaintext route's 200 (checked on every request above); a dump of the whole log agrees")
    func wholeLog() async throws {
        let f = try await ServerFixture()
        try await f.run { c in
            for r in RouteCase.all {
                for name in f.tokens.keys.sorted() {
                    _ = try await c.send(r.method, r.uri(), token: f.tokens[name], headers: r.headers, body: r.body())
                }
            }
        }
        let log = f.log.all.joined(separator: "\n")
        #expect(!log.contains("canary"))
        for t in f.tokens.values { #expect(!log.contains(t)) }
        #expect(f.log.count == RouteCase.all.count * f.tokens.count)
    }
}

extension ServerAttackTests {
    /// What must never appear outside the plaintext route's 200: any canary (they all start with
    /// `canary`), the planted ones base64- or hex-encoded (a file shown as bytes), and any token.
    static func leaks(in text: String, _ f: ServerFixture, extra: [String] = []) -> [String] {
        var forbidden = ["canary"] + f.tokens.values
        for c in [canarySecret, canaryFile, canarySecret + "-staging"] + extra {
            forbidden.append(Data(c.utf8).base64EncodedString())
            forbidden.append(c.utf8.map { String(format: "%02x", $0) }.joined())
        }
        let lower = text.lowercased()
        return forbidden.filter { lower.contains($0.lowercased()) }.map { $0.hasPrefix("svcconf_") ? "a token" : $0 }
    }

    @Test("after traffic that carries every canary (plaintext reads, a PUT of a new secret, refused writes, a canary in a query string), GET /metrics and every /ui page a review token sees (index, histories, diffs of two versions and of two envs; by header and by cookie) hold no canary and no token")
    func metricsAndPagesHoldNoCanary() async throws {
        let f = try await ServerFixture()
        let written = canarySecret + "-put"
        let prodConfig = "/v1/services/access-boston/envs/prod/config"
        try await f.run { c in
            // The plaintext route carries the canaries (so they are live in the server's caches).
            for uri in [prodConfig, prodConfig + "?format=env", prodConfig + "?version=1"] {
                let r = try await c.get(uri, as: "reader")
                #expect(r.status == 200 && r.text.contains(canarySecret), "\(uri): \(r.status)")
            }
            let staging = try await c.get("/v1/services/access-boston/envs/staging/config", as: "stagingReader")
            #expect(staging.status == 200 && staging.text.contains(canarySecret + "-staging"))
            // A write of a new secret, and refused writes carrying one: 422 (schema), 412 (stale), 400 (query).
            let put = try await c.send(.put, prodConfig, token: f.tokens["writer"], headers: [.ifMatch: "\"2\""],
                                       body: body(["values": ["PING_HOST": "sso3.example.test", "DB_PASSWORD": .string(written)], "message": "third"]))
            #expect(put.status == 201, "\(put.text)")
            let invalid = try await c.send(.put, prodConfig, token: f.tokens["writer"], headers: [.ifMatch: "\"3\""],
                                           body: body(["values": ["PING_HOST": "x", "DB_PASSWORD": .string(canarySecret + "-422")]]))
            #expect(invalid.status == 422)
            let stale = try await c.send(.put, prodConfig, token: f.tokens["writer"], headers: [.ifMatch: "\"1\""],
                                         body: body(["values": ["PING_HOST": "sso4.example.test", "DB_PASSWORD": .string(canarySecret + "-412")]]))
            #expect(stale.status == 412)
            #expect(try await c.get(prodConfig + "?format=" + canarySecret + "-query", as: "reader").status == 400)
            #expect(try await c.get(prodConfig, as: "reader").text.contains(written))
            let r = try await c.get("/v1/services/access-boston/envs/prod/view", as: "reviewer")
            #expect(r.status == 200)

            // Every review page, by bearer header and by the sign-in cookie.
            let reviewer = f.tokens["reviewer"]!
            let pages: [(uri: String, shows: String)] = [
                ("/ui/", "href=\"/ui/services/access-boston/envs/prod\""),
                ("/ui/services/access-boston/envs/prod", "<td>third</td>"),
                ("/ui/services/access-boston/envs/staging", "<td>staging</td>"),
                ("/ui/services/access-boston/envs/prod/diff?from=0&to=1", "<code class=\"key\">file server.key</code>"),
                ("/ui/services/access-boston/envs/prod/diff?from=1&to=2", "<code>DB_PASSWORD</code> <span class=\"secret\">unchanged</span>"),
                ("/ui/services/access-boston/envs/prod/diff?from=2&to=3", "<code class=\"key\">DB_PASSWORD</code> <span class=\"secret\">(secret)</span>"),
                ("/ui/services/access-boston/envs/prod/diff", "<code class=\"key\">DB_PASSWORD</code> <span class=\"secret\">(secret)</span>"),
                ("/ui/services/access-boston/diff?env=prod&env=staging", "<code class=\"key\">DB_PASSWORD</code> <span class=\"secret\">(secret)</span>"),
                ("/ui/services/access-boston/diff?env=staging&env=prod", "<span class=\"secret fp\">secret fp:"),
            ]
            for page in pages {
                for (how, reply) in [("header", try await c.get(page.uri, as: "reviewer")),
                                     ("cookie", try await c.send(.get, page.uri, headers: UITests.cookie(reviewer)))] {
                    #expect(reply.status == 200, "\(page.uri) by \(how): \(reply.status)")
                    UITests.checkPage(reply)
                    #expect(reply.text.contains(page.shows), "\(page.uri) by \(how) does not show \(page.shows)")
                    let leaked = Self.leaks(in: reply.text, f, extra: [written])
                    #expect(leaked.isEmpty, "\(page.uri) by \(how) holds \(leaked)")
                }
            }

            // The metrics count all of it (so the text is not trivially clean) and hold none of it.
            let metrics = try await c.send(.get, "/metrics")
            #expect(metrics.status == 200)
            for counted in ["svcconf_http_requests_total", "status=\"422\"", "status=\"412\"", "route=\"/ui/services/{svc}/diff\"", "svcconf_opens_total", "svcconf_seals_total 1"] {
                #expect(metrics.text.contains(counted), "/metrics lacks \(counted)")
            }
            let leaked = Self.leaks(in: metrics.text, f, extra: [written])
            #expect(leaked.isEmpty, "/metrics holds \(leaked)")
            #expect(!metrics.text.contains("access-boston"), "/metrics names a service")
        }
    }
}
