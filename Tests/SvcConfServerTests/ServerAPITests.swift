import Foundation
import Hummingbird
import SvcConf
import SvcConfAuth
import Testing

@testable import SvcConfServer

@Suite("Server API")
struct ServerAPITests {
    @Test("OpenAPI: every route of the router is documented and every documented route exists; /v1 operations document 401, 429, 500, 503")
    func openAPIMatchesRouter() async throws {
        let f = try await ServerFixture()
        let router = buildRouter(f.deps)
        let routes = Set(router.routes.map { "\($0.method.rawValue) \($0.path.description)" })
        #expect(routes == OpenAPI.operations, "router only: \(routes.subtracting(OpenAPI.operations)); document only: \(OpenAPI.operations.subtracting(routes))")
        #expect(OpenAPI.document["openapi"]?.stringValue == "3.1.0")
        for op in OpenAPI.operations where op.contains("/v1/") {
            let parts = op.split(separator: " ").map(String.init)
            let codes = OpenAPI.statuses(parts[0], parts[1])
            for needed in ["200", "401", "429", "500", "503"] { #expect(codes.contains(needed), "\(op) lacks \(needed)") }
            if parts[1].contains("{env}") || parts[1].contains("{svc}") || parts[0] != "GET" {
                for needed in ["400", "403"] { #expect(codes.contains(needed), "\(op) lacks \(needed)") }
            }
        }
        #expect(OpenAPI.statuses("PUT", "/v1/services/{svc}/envs/{env}/config").isSuperset(of: ["201", "412", "413", "422", "428"]))
    }

    @Test("healthz, readyz and metrics need no token")
    func operational() async throws {
        let f = try await ServerFixture()
        try await f.run { c in
            #expect(try await c.get("/healthz", as: nil).status == 200)
            let ready = try await c.get("/readyz", as: nil)
            #expect(ready.status == 200)
            #expect(ready.json["status"]?.stringValue == "ready")
            _ = try await c.get("/v1/services/access-boston/envs/prod/config", as: "reader")
            _ = try await c.get("/v1/services/access-boston/envs/prod/config", as: nil)
            let m = try await c.get("/metrics", as: nil)
            #expect(m.status == 200)
            #expect(m.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(m.text.contains(#"svcconf_http_requests_total{route="/v1/services/{svc}/envs/{env}/config",method="GET",status="200"} 1"#))
            #expect(m.text.contains(#"svcconf_http_requests_total{route="/v1/services/{svc}/envs/{env}/config",method="GET",status="401"} 1"#))
            #expect(m.text.contains("svcconf_http_request_duration_seconds_bucket"))
            #expect(m.text.contains("svcconf_opens_total 1"))
            #expect(m.text.contains(#"svcconf_refused_requests_total{reason="unauthorized"} 1"#))
        }
    }

    @Test("readyz is 503 when the store is not initialized")
    func notReady() async throws {
        let f = try await ServerFixture()
        try FileManager.default.removeItem(atPath: f.dir + "/store/policy")
        try await f.run { c in
            let r = try await c.get("/readyz", as: nil)
            #expect(r.status == 503)
            #expect(r.errorKind == "notFound")
        }
    }

    @Test("read token: the plaintext config as JSON (merged, files, ETag, no-store) and as dotenv")
    func plaintext() async throws {
        let f = try await ServerFixture()
        try await f.run { c in
            let r = try await c.get("/v1/services/access-boston/envs/prod/config", as: "reader")
            #expect(r.status == 200)
            #expect(r.json["values"]?["DB_PASSWORD"]?.stringValue == canarySecret)
            #expect(r.json["values"]?["PING_HOST"]?.stringValue == "sso2.example.test")
            #expect(r.json["values"]?["PORT"] == 8080)
            #expect(r.json["files"]?["server.key"]?.stringValue == canaryFile)
            #expect(r.json["version"]?["version"] == 2)
            #expect(r.headers[.eTag] == "\"2\"")
            #expect(r.headers[.cacheControl] == "no-store")
            let env = try await c.get("/v1/services/access-boston/envs/prod/config?format=env", as: "reader")
            #expect(env.status == 200)
            #expect(env.text.contains("DB_PASSWORD=\(canarySecret)"))
            #expect(env.text.contains("PORT=8080"))
            let v1 = try await c.get("/v1/services/access-boston/envs/prod/config?version=1", as: "admin")
            #expect(v1.json["values"]?["PING_HOST"]?.stringValue == "sso.example.test")
            #expect(try await c.get("/v1/services/access-boston/envs/prod/config?format=xml", as: "reader").status == 400)
            #expect(try await c.get("/v1/services/access-boston/envs/prod/config?version=0", as: "reader").status == 400)
            #expect(try await c.get("/v1/services/access-boston/envs/prod/config?version=9", as: "reader").status == 404)
        }
        // The log line names who, the route, the config and the version, never a value.
        let line = try #require(f.log.all.first)
        let entry = try JSON.parse(line)
        #expect(entry["who"]?.stringValue == "reader")
        #expect(entry["route"]?.stringValue == "/v1/services/{svc}/envs/{env}/config")
        #expect(entry["service"]?.stringValue == "access-boston")
        #expect(entry["env"]?.stringValue == "prod")
        #expect(entry["version"]?.stringValue == "2")
        #expect(entry["status"]?.stringValue == "200")
        #expect(entry["duration_ms"]?.stringValue != nil)
        #expect(entry["method"]?.stringValue == "GET")
    }

    @Test("review: metadata with ETag, redacted view, history, diffs (json and text), all without a secret value")
    func review() async throws {
        let f = try await ServerFixture()
        try await f.run { c in
            let m = try await c.get("/v1/services/access-boston/envs/prod", as: "reviewer")
            #expect(m.status == 200)
            #expect(m.json["version"] == 2)
            #expect(m.json["message"]?.stringValue == "second")
            #expect(m.headers[.eTag] == "\"2\"")
            #expect(try await c.get("/v1/services/access-boston/envs/prod?version=1", as: "reviewer").json["message"]?.stringValue == "first")

            let v = try await c.get("/v1/services/access-boston/envs/prod/view", as: "reviewer")
            #expect(v.status == 200)
            #expect(v.json["values"]?["PING_HOST"]?.stringValue == "sso2.example.test")
            #expect(v.json["values"]?["DB_PASSWORD"]?.stringValue?.hasPrefix("<secret fp:") == true)
            #expect(v.json["files"]?["server.key"]?.stringValue?.hasPrefix("<secret file") == true)
            #expect(v.json["files"]?["notes.txt"]?.stringValue == "hello")

            let h = try await c.get("/v1/services/access-boston/envs/prod/versions", as: "reviewer")
            #expect(h.json["versions"]?.arrayValue?.count == 2)
            #expect(h.json["versions"]?.arrayValue?.first?["chainIntact"] == true)

            let d = try await c.get("/v1/services/access-boston/envs/prod/diff", as: "reviewer")
            #expect(d.status == 200)
            #expect(d.json["changes"]?.arrayValue?.count == 1)
            #expect(d.json["changes"]?.arrayValue?.first?["path"]?.stringValue == "PING_HOST")
            let d0 = try await c.get("/v1/services/access-boston/envs/prod/diff?from=0&to=2&format=text", as: "reviewer")
            #expect(d0.text.contains("+ DB_PASSWORD: <secret fp:"))
            let e = try await c.get("/v1/services/access-boston/diff?env=prod&env=staging", as: "reviewer")
            #expect(e.status == 200)
            #expect(e.json["identical"] == false)
            #expect(try await c.get("/v1/services/access-boston/diff?env=prod", as: "reviewer").status == 400)
            #expect(try await c.get("/v1/services/access-boston/envs/prod/diff?from=x", as: "reviewer").status == 400)
            #expect(try await c.get("/v1/services/access-boston/envs/prod/versions?variant=dev", as: "reviewer").status == 404)
        }
    }

    @Test("list shows only the configs the token may review")
    func list() async throws {
        let f = try await ServerFixture()
        try await f.run { c in
            let all = try await c.get("/v1/services", as: "admin")
            #expect(all.json["configs"]?.arrayValue?.count == 2)
            #expect(try await c.get("/v1/services", as: "reviewer").json["configs"]?.arrayValue?.count == 2)
            #expect(try await c.get("/v1/services", as: "other").json["configs"]?.arrayValue?.count == 0)
            #expect(try await c.get("/v1/services", as: "reader").json["configs"]?.arrayValue?.count == 0)
            #expect(try await c.get("/v1/services", as: nil).status == 401)
        }
    }

    @Test("PUT: 201 with the new version's metadata, written as the token's name; the same content again is 200 unchanged")
    func put() async throws {
        let f = try await ServerFixture()
        try await f.run { c in
            let doc = body(["values": ["PING_HOST": "sso3.example.test", "DB_PASSWORD": .string(canarySecret), "PORT": "9090"],
                            "files": ["server.key": ["base64": .string(Base64.encode(Array(canaryFile.utf8)))], "notes.txt": "hi"],
                            "message": "via api"])
            let r = try await c.send(.put, "/v1/services/access-boston/envs/prod/config", token: f.tokens["writer"], headers: [.ifMatch: "\"2\""], body: doc)
            #expect(r.status == 201)
            #expect(r.json["version"] == 3)
            #expect(r.json["author"]?.stringValue == "writer")
            #expect(r.json["message"]?.stringValue == "via api")
            #expect(r.headers[.eTag] == "\"3\"")
            #expect(r.headers[.location] == "/v1/services/access-boston/envs/prod?version=3")
            let got = try await c.get("/v1/services/access-boston/envs/prod/config", as: "reader")
            #expect(got.json["values"]?["PORT"] == 9090)  // typed by the schema, as the CLI does
            #expect(got.json["files"]?["notes.txt"]?.stringValue == "hi")
            let again = try await c.send(.put, "/v1/services/access-boston/envs/prod/config", token: f.tokens["writer"], headers: [.ifMatch: "\"3\""], body: doc)
            #expect(again.status == 200)
            #expect(again.json["unchanged"] == true)
            #expect(try await f.versions(f.prod) == [1, 2, 3])
        }
    }

    @Test("PUT: a new config with If-Match \"0\"; a variant layer with ?variant= merges over its env")
    func putNewAndVariant() async throws {
        let f = try await ServerFixture()
        try await f.run { c in
            let dev = try await c.send(.put, "/v1/services/access-boston/envs/staging/config?variant=dev", token: f.tokens["admin"],
                                       headers: [.ifMatch: "\"0\""], body: body(["values": ["PING_HOST": "sso.dev.test"]]))
            #expect(dev.status == 201)
            #expect(dev.json["variant"]?.stringValue == "dev")
            #expect(dev.headers[.location] == "/v1/services/access-boston/envs/staging?version=1&variant=dev")
            let merged = try await c.get("/v1/services/access-boston/envs/staging/config?variant=dev", as: "stagingReader")
            #expect(merged.json["values"]?["PING_HOST"]?.stringValue == "sso.dev.test")
            #expect(merged.json["values"]?["DB_PASSWORD"]?.stringValue == canarySecret + "-staging")
            #expect(merged.json["layers"]?.arrayValue?.count == 2)
            let stale = try await c.send(.put, "/v1/services/access-boston/envs/qa/config", token: f.tokens["admin"],
                                         headers: [.ifMatch: "\"1\""], body: body(["values": ["PING_HOST": "sso.qa.test"]]))
            #expect(stale.status == 412)
        }
    }

    @Test("PUT: 428 without If-Match, 400 on a malformed one, 412 on a stale one, 422 with every error; nothing written")
    func putRefusals() async throws {
        let f = try await ServerFixture()
        let uri = "/v1/services/access-boston/envs/prod/config"
        let good = body(["values": ["PING_HOST": "sso9.example.test"]])
        try await f.run { c in
            let w = f.tokens["writer"]
            #expect(try await c.send(.put, uri, token: w, body: good).status == 428)
            for bad in ["2", "W/\"2\"", "*", "\"two\"", "\"-1\"", "\"\""] {
                let r = try await c.send(.put, uri, token: w, headers: [.ifMatch: bad], body: good)
                #expect(r.status == 400, "If-Match \(bad)")
            }
            let stale = try await c.send(.put, uri, token: w, headers: [.ifMatch: "\"1\""], body: good)
            #expect(stale.status == 412)
            #expect(stale.errorKind == "conflict")
            let invalid = try await c.send(.put, uri, token: w, headers: [.ifMatch: "\"2\""],
                                           body: body(["values": ["PING_HOST": "x", "PORT": 70000, "DB_PASSWORD": .string(canarySecret + "-new")]]))
            #expect(invalid.status == 422)
            #expect(invalid.errorKind == "validationFailed")
            let details = invalid.json["error"]?["details"]?.arrayValue ?? []
            #expect(details.count == 2)
            #expect(details.contains { $0.stringValue?.contains("/PING_HOST") == true })
            #expect(details.contains { $0.stringValue?.contains("/PORT") == true })
        }
        #expect(try await f.versions(f.prod) == [1, 2])
    }

    @Test("bodies: malformed (400) and oversized (413) on every route that takes one; nothing written")
    func bodies() async throws {
        var settings = ServerFixture.relaxed
        settings.maxBodyBytes = 4096
        let f = try await ServerFixture(settings: settings)
        let put = "/v1/services/access-boston/envs/prod/config"
        try await f.run { c in
            let w = f.tokens["admin"]
            let malformed = ["", "{", "[]", "\"x\"", "{\"values\": [1]}", "{\"values\": {}, \"extra\": 1}", "{\"files\": {\"a\": {\"base64\": \"!!\"}}}",
                             "{\"files\": {\"../x\": \"t\"}, \"values\": {\"PING_HOST\": \"abc\"}}",
                             "{\"values\": {\"not-an-env-name\": 1, \"PING_HOST\": \"abc\"}}", "{\"message\": 3}",
                             "{\"values\": {\"A\": 1, \"A\": 2}}", "{\"deletedFiles\": [\"x\"], \"files\": {\"x\": \"y\"}}", "\u{FF}\u{FE}"]
            for m in malformed {
                let r = try await c.send(.put, put, token: w, headers: [.ifMatch: "\"2\""], body: m)
                #expect(r.status == 400, "PUT body \(m): \(r.status) \(r.text)")
                // The same for validate, with the config named (else the missing names decide).
                let named = m.hasPrefix("{\"") && !m.contains("message") ? "{\"service\": \"access-boston\", \"env\": \"prod\", " + m.dropFirst() : m
                let v = try await c.send(.post, "/v1/validate", token: w, body: named)
                #expect(v.status == 400, "validate body \(m): \(v.status)")
            }
            let big = body(["values": ["PING_HOST": .string(String(repeating: "a", count: 5000))]])
            #expect(try await c.send(.put, put, token: w, headers: [.ifMatch: "\"2\""], body: big).status == 413)
            #expect(try await c.send(.post, "/v1/validate", token: w, body: big).status == 413)
            // (A Content-Length over the limit is refused before reading: tested on the real binary.)
        }
        #expect(try await f.versions(f.prod) == [1, 2])
    }

    @Test("POST /v1/validate: valid, invalid with every error, no write; scope review on the named config")
    func validate() async throws {
        let f = try await ServerFixture()
        try await f.run { c in
            let ok = try await c.send(.post, "/v1/validate", token: f.tokens["reviewer"],
                                      body: body(["service": "access-boston", "env": "prod", "values": ["PING_HOST": "sso.example.test", "PORT": "80"]]))
            #expect(ok.status == 200)
            #expect(ok.json["valid"] == true)
            let bad = try await c.send(.post, "/v1/validate", token: f.tokens["reviewer"],
                                       body: body(["service": "access-boston", "env": "prod", "values": ["PORT": 0, "DB_PASSWORD": .string(canarySecret)]]))
            #expect(bad.json["valid"] == false)
            #expect(bad.json["errors"]?.arrayValue?.count == 2)
            #expect(try await c.send(.post, "/v1/validate", token: f.tokens["other"], body: body(["service": "access-boston", "env": "prod"])).status == 403)
            #expect(try await c.send(.post, "/v1/validate", token: f.tokens["reviewer"], body: body(["service": "../x", "env": "prod"])).status == 400)
            #expect(try await c.send(.post, "/v1/validate", token: f.tokens["reviewer"], body: body(["env": "prod"])).status == 400)
        }
        #expect(try await f.versions(f.prod) == [1, 2])
    }

    @Test("rate limit: a token's burst is spent, then 429 with Retry-After; other tokens unaffected")
    func rateLimit() async throws {
        var settings = ServerSettings()
        settings.rateLimit = .init(perSecond: 0.01, burst: 3)
        let f = try await ServerFixture(settings: settings)
        try await f.run { c in
            for _ in 0..<3 { #expect(try await c.get("/v1/services/access-boston/envs/prod", as: "reviewer").status == 200) }
            let limited = try await c.get("/v1/services/access-boston/envs/prod", as: "reviewer")
            #expect(limited.status == 429)
            #expect(limited.errorKind == "rateLimited")
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(try await c.get("/v1/services/access-boston/envs/prod", as: "admin").status == 200)
        }
    }

    @Test("unknown routes and methods: JSON errors")
    func unknownRoutes() async throws {
        let f = try await ServerFixture()
        try await f.run { c in
            let r = try await c.get("/v2/nothing", as: "admin")
            #expect(r.status == 404)
            #expect(r.errorKind == "notFound")
            let d = try await c.send(.delete, "/v1/services/access-boston/envs/prod/config", token: f.tokens["admin"])
            #expect([404, 405].contains(d.status))
        }
        #expect(try await f.versions(f.prod) == [1, 2])
    }
}
