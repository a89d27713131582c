import Foundation
import Hummingbird
import HummingbirdTesting
import SvcConf
import Testing

@testable import SvcConfServer

/// ``ServerResponder`` answers `GET .../config` itself (without the route trie) for plain paths and
/// hands everything else to the router: for every path, both give the same answer and log the same
/// route.
@Suite("Server responder fast path")
struct ServerResponderTests {
    static let paths = [
        "/v1/services/access-boston/envs/prod/config",
        "/v1/services/access-boston/envs/prod/config?format=env",
        "/v1/services/access-boston/envs/prod/config?version=1",
        "/v1/services/access-boston/envs/staging/config",
        "/v1/services/access-boston/envs/prod/config?variant=canary",
        "/v1/services/Access-Boston/envs/prod/config",
        "/v1/services/access-boston/envs/no_such.env/config",
        "/v1/services/access%2Dboston/envs/prod/config",
        "/v1/services/access-boston/envs/prod/config/",
        "/v1/services//envs/prod/config",
        "/v1/services/access-boston/envs//config",
        "/v1/services/access-boston/envs/prod/../prod/config",
        "/v1/services/access-boston/envs/prod/configx",
        "/v1/services/a/b/envs/prod/config",
        "/v1/services/access-boston/env/prod/config",
        "/v1/services/access-boston/envs/prod",
    ]

    @Test("plain config paths are recognized; anything unusual is left to the router")
    func recognizes() {
        #expect(ServerResponder.configPath("/v1/services/access-boston/envs/prod/config")! == ("access-boston", "prod"))
        #expect(ServerResponder.configPath("/v1/services/Access-Boston/envs/no_such.env/config")! == ("Access-Boston", "no_such.env"))
        for p in ["/v1/services/access%2Dboston/envs/prod/config", "/v1/services/access-boston/envs/prod/config/",
                  "/v1/services//envs/prod/config", "/v1/services/a/b/envs/prod/config", "/v1/services/x/envs/prod/../config",
                  "/v1/services/x/env/prod/config", "/v1/services/x/envs/prod/configx"] {
            #expect(ServerResponder.configPath(p) == nil, "\(p)")
        }
    }

    @Test("the fast path and the router give the same status, headers, body and log line for every path and token")
    func sameAnswers() async throws {
        let f = try await ServerFixture()
        func answers(_ app: some ApplicationProtocol) async throws -> [String] {
            try await app.test(.router) { client in
                var out: [String] = []
                for path in Self.paths {
                    for who in ["reader", "reviewer", nil] as [String?] {
                        var headers: HTTPFields = [:]
                        if let who { headers[.authorization] = "Bearer \(f.tokens[who]!)" }
                        let before = f.log.count
                        let r = try await client.execute(uri: path, method: .get, headers: headers)
                        let line = try JSON.parse(f.log.all[before])
                        let route = line["route"]?.stringValue ?? "-"
                        let tag = r.headers[.eTag] ?? "-", type = r.headers[.contentType] ?? "-"
                        out.append("\(path) as \(who ?? "nobody"): \(r.status.code) \(tag) \(type) route=\(route) \(String(buffer: r.body))")
                    }
                }
                return out
            }
        }
        let fast = try await answers(buildApplication(f.deps))
        let routed = try await answers(Application(router: buildRouter(f.deps)))
        #expect(fast.count == Self.paths.count * 3)
        for (a, b) in zip(fast, routed) { #expect(a == b) }
        #expect(fast.contains { $0.hasPrefix("/v1/services/access-boston/envs/prod/config as reader: 200") })
    }
}
