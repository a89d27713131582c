import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import SvcConf
import SvcConfAuth
import SvcConfYAML
import Testing

@testable import SvcConfServer

/// Secrets planted in the store: they may appear only in the plaintext route's 200 answer.
let canarySecret = "canary-srv-9c1e4d77"
let canaryFile = "canary-file-5be0a1"

/// The schema of the test service: PING_HOST shown, DB_PASSWORD secret, PORT an integer, server.key a secret file.
let testSchema: ConfigValue = [
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["PING_HOST"],
    "properties": [
        "PING_HOST": ["type": "string", "minLength": 3],
        "DB_PASSWORD": ["type": "string", "writeOnly": true],
        "PORT": ["type": "integer", "minimum": 1, "maximum": 65535],
    ],
    "x-files": [
        "type": "object",
        "properties": ["server.key": ["writeOnly": true], "notes.txt": ["writeOnly": false]],
    ],
]

/// Lines a logger wrote.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ s: String) { lines.withLock { $0.append(s) } }
    var all: [String] { lines.withLock { $0 } }
    var count: Int { lines.withLock { $0.count } }
}

/// A store that counts every call (to prove a request never reached it).
struct SpyStore: ConfigStore {
    final class Counter: Sendable { let n = Mutex<Int>(0) }
    let base: FileStore
    let calls = Counter()
    var url: String { base.url }
    var count: Int { calls.n.withLock { $0 } }
    private func hit() { calls.n.withLock { $0 += 1 } }
    func latestPolicy() async throws -> (number: Int64, policy: StorePolicy)? { hit(); return try await base.latestPolicy() }
    func createPolicy(_ policy: StorePolicy, number: Int64) async throws { hit(); try await base.createPolicy(policy, number: number) }
    func versionNumbers(of address: ConfigAddress) async throws -> [Int64] { hit(); return try await base.versionNumbers(of: address) }
    func latestVersion(of address: ConfigAddress) async throws -> Int64? { hit(); return try await base.latestVersion(of: address) }
    func read(_ address: ConfigAddress, version: Int64) async throws -> [UInt8] { hit(); return try await base.read(address, version: version) }
    func create(_ address: ConfigAddress, version: Int64, bytes: [UInt8]) async throws { hit(); try await base.create(address, version: version, bytes: bytes) }
    func latestVersionBytes(of address: ConfigAddress) async throws -> (number: Int64, bytes: [UInt8])? { hit(); return try await base.latestVersionBytes(of: address) }
    func addresses() async throws -> [ConfigAddress] { hit(); return try await base.addresses() }
    func latestLayerBytes(of address: ConfigAddress) async throws -> (number: Int64, bytes: [UInt8])? { hit(); return try await base.latestLayerBytes(of: address) }
    func schemaNumbers(of service: String) async throws -> [Int64] { hit(); return try await base.schemaNumbers(of: service) }
    func readSchema(of service: String, number: Int64) async throws -> [UInt8] { hit(); return try await base.readSchema(of: service, number: number) }
    func createSchema(of service: String, number: Int64, bytes: [UInt8]) async throws { hit(); try await base.createSchema(of: service, number: number, bytes: bytes) }
    func latestSchema(of service: String, verified: Bool) async throws -> (number: Int64, bytes: [UInt8])? { hit(); return try await base.latestSchema(of: service, verified: verified) }
}

/// The OpenAPI document, parsed once.
enum OpenAPI {
    static let path: String = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { dir = dir.deletingLastPathComponent() }
        return dir.path
    }()

    static let document: ConfigValue = {
        let text = try! String(contentsOfFile: path + "/openapi/svcconf-server.yaml", encoding: .utf8)
        return try! YAMLCodec.parse(text, source: "openapi/svcconf-server.yaml")
    }()

    /// `METHOD PATH` of every operation.
    static var operations: Set<String> {
        var out = Set<String>()
        for (p, item) in document["paths"]?.objectValue ?? [:] {
            for (m, _) in item.objectValue ?? [:] where ["get", "put", "post", "delete", "patch", "head"].contains(m) {
                out.insert("\(m.uppercased()) \(p)")
            }
        }
        return out
    }

    /// The documented response codes of one operation.
    static func statuses(_ method: String, _ path: String) -> Set<String> {
        Set(document["paths"]?[path]?[method.lowercased()]?["responses"]?.objectValue?.keys.map { $0 } ?? [])
    }
}

/// A store with configs, a token file with one token per role, and the server's dependencies.
struct ServerFixture {
    let dir: String
    let keyPath: String
    let spy: SpyStore
    let deps: ServerDependencies
    let log: LogLines
    /// Token by name: reader (read access-boston/prod), reviewer (review access-boston/*),
    /// writer (write access-boston/*), admin (admin */*), other (admin other/*), stagingReader
    /// (read access-boston/staging).
    let tokens: [String: String]
    let prod = try! ConfigAddress(service: "access-boston", env: "prod")
    let staging = try! ConfigAddress(service: "access-boston", env: "staging")

    /// Default settings with a rate limit high enough for tests that send hundreds of requests.
    static var relaxed: ServerSettings {
        var s = ServerSettings()
        s.rateLimit = .init(perSecond: 1000, burst: 100_000)
        return s
    }

    init(settings: ServerSettings = ServerFixture.relaxed) async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("svcconf-server-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        keyPath = dir + "/keys/server.key"
        let fileStore = FileStore(path: dir + "/store")
        let bootstrap = ConfigRepository(store: fileStore, keyring: Keyring(localKeys: []), author: "setup")
        _ = try await bootstrap.initialize(recipients: ["local:" + keyPath])
        let keyring = try Keyring.load(paths: [keyPath])
        let setup = ConfigRepository(store: fileStore, keyring: keyring, author: "setup")
        _ = try await setup.setSchema("access-boston", document: testSchema)
        let prod = prod, staging = staging
        _ = try await setup.update(prod, message: "first") {
            $0.values = ["PING_HOST": "sso.example.test", "DB_PASSWORD": .string(canarySecret), "PORT": 8080]
            $0.files = ["server.key": Array(canaryFile.utf8), "notes.txt": Array("hello".utf8)]
        }
        _ = try await setup.update(prod, message: "second") { $0.values["PING_HOST"] = "sso2.example.test" }
        _ = try await setup.update(staging, message: "staging") {
            $0.values = ["PING_HOST": "sso.staging.test", "DB_PASSWORD": .string(canarySecret + "-staging")]
        }
        spy = SpyStore(base: fileStore)
        let metrics = ServerMetrics()
        let repo = ServerRepository.make(store: spy, keyring: keyring, metrics: metrics)
        var tokens: [String: String] = [:]
        var entries: [TokenFile.Entry] = []
        for (name, grants) in [("reader", ["read:access-boston/prod"]), ("reviewer", ["review:access-boston/*"]),
                               ("writer", ["write:access-boston/*"]), ("admin", ["admin:*/*"]), ("other", ["admin:other/*"]),
                               ("stagingReader", ["read:access-boston/staging"])] {
            let t = try AccessToken.mint()
            tokens[name] = t
            entries.append(try TokenFile.Entry(hash: AccessToken.hash(of: t), name: name, grants: try grants.map { try Grant(parsing: $0) }))
        }
        self.tokens = tokens
        let log = LogLines()
        self.log = log
        let logger = Logger(label: "svcconf-server") { JSONLogHandler(label: $0, level: .info, sink: { log.append($0) }) }
        deps = ServerDependencies(repository: repo, tokens: TokenFile(entries: entries), settings: settings, logger: logger, metrics: metrics)
    }

    /// The core's view of the store (to check what was written).
    func versions(_ a: ConfigAddress) async throws -> [Int64] { try await spy.base.versionNumbers(of: a) }

    /// Runs `body` against the application in-process.
    func run(_ body: @Sendable (Client) async throws -> Void) async throws {
        let app = buildApplication(deps)
        let f = self
        try await app.test(.router) { client in try await body(Client(client: client, fixture: f)) }
    }

    /// Sends requests and checks what every answer must satisfy.
    struct Client: Sendable {
        let client: any TestClientProtocol
        let fixture: ServerFixture

        struct Reply {
            let status: Int
            let headers: HTTPFields
            let text: String
            var json: ConfigValue { (try? JSON.parse(text)) ?? .null }
            var errorKind: String? { json["error"]?["kind"]?.stringValue }
        }

        /// One request. Checks: exactly one log line was written, holding no canary and no token;
        /// the status is documented for the route in the OpenAPI document; the body holds no canary
        /// unless it is a 200 of the plaintext route; an error body has kind and message.
        @discardableResult
        func send(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, headers: HTTPFields = [:], body: String? = nil,
                  sourceLocation: SourceLocation = #_sourceLocation) async throws -> Reply {
            var h = headers
            if let token { h[.authorization] = "Bearer \(token)" }
            let before = fixture.log.count
            let r = try await client.execute(uri: uri, method: method, headers: h, body: body.map { ByteBuffer(string: $0) })
            let reply = Reply(status: r.status.code, headers: r.headers, text: String(buffer: r.body))
            let lines = Array(fixture.log.all[before...])
            #expect(lines.count == 1, "one log line per request, got \(lines.count)", sourceLocation: sourceLocation)
            for line in lines {
                #expect(!line.contains("canary"), "a canary in a log line: \(line)", sourceLocation: sourceLocation)
                for t in fixture.tokens.values { #expect(!line.contains(t), "a token in a log line", sourceLocation: sourceLocation) }
                let entry = try JSON.parse(line)
                #expect(entry["status"]?.stringValue == String(reply.status), sourceLocation: sourceLocation)
                if let route = entry["route"]?.stringValue, route.hasPrefix("/") {
                    let documented = OpenAPI.statuses(method.rawValue, route)
                    #expect(documented.contains(String(reply.status)), "\(method) \(route) answered \(reply.status), not in the OpenAPI document",
                            sourceLocation: sourceLocation)
                }
            }
            let plaintextRoute = method == .get && uri.split(separator: "?")[0].hasSuffix("/config")
            if !(plaintextRoute && reply.status == 200) {
                #expect(!reply.text.contains("canary"), "a canary in a \(reply.status) answer to \(method) \(uri)", sourceLocation: sourceLocation)
            }
            for t in fixture.tokens.values { #expect(!reply.text.contains(t), sourceLocation: sourceLocation) }
            if reply.status >= 400 && reply.headers[.contentType]?.hasPrefix("text/html") != true {  // the review pages answer HTML
                #expect(reply.json["error"]?["kind"]?.stringValue != nil, "error body: \(reply.text)", sourceLocation: sourceLocation)
                #expect(reply.json["error"]?["message"]?.stringValue != nil, sourceLocation: sourceLocation)
            }
            return reply
        }

        func get(_ uri: String, as name: String?, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Reply {
            try await send(.get, uri, token: name.map { fixture.tokens[$0]! }, sourceLocation: sourceLocation)
        }
    }
}

/// Builds a JSON body.
func body(_ v: ConfigValue) -> String { JSON.canonicalString(v) }
