import Foundation
import SvcConfAWS
import Testing
@testable import SvcConf

/// The deployment examples are documents people copy: they must parse and say what the docs say.
@Suite struct ExamplesTests {
    static var repo: URL {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir
    }

    static func json(_ rel: String) throws -> ConfigValue {
        try JSON.parse(Array(try Data(contentsOf: repo.appendingPathComponent(rel))))
    }

    @Test func ecsDocumentsParse() throws {
        let dir = Self.repo.appendingPathComponent("examples/ecs")
        let files = try FileManager.default.subpathsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(files.count >= 4, "\(files)")
        for f in files { _ = try Self.json("examples/ecs/" + f) }
    }

    @Test func taskRoleIsLeastPrivilege() throws {
        let doc = try Self.json("examples/ecs/iam/task-role-access-boston-prod.json")
        let statements = try #require(doc["Statement"]?.arrayValue)
        var actions: Set<String> = []
        for s in statements {
            #expect(s["Effect"] == "Allow")
            switch s["Action"] {
            case .string(let a)?: actions.insert(a)
            case .array(let a)?: a.compactMap(\.stringValue).forEach { actions.insert($0) }
            default: Issue.record("statement without Action")
            }
            let resources = (s["Resource"]?.arrayValue ?? [s["Resource"] ?? .null]).compactMap(\.stringValue)
            #expect(!resources.contains { $0.hasSuffix(":*") || $0 == "*" }, "wildcard resource in \(resources)")
        }
        #expect(actions == ["s3:GetObject", "s3:ListBucket", "kms:Decrypt"])
        let kms = try #require(statements.first { $0["Action"] == "kms:Decrypt" })
        #expect(kms["Condition"]?["StringEquals"]?["kms:EncryptionContext:svcconf:service"] == "access-boston")
        // Its env and the service's base layer (merged under it at exec), nothing else.
        #expect(kms["Condition"]?["StringEquals"]?["kms:EncryptionContext:svcconf:env"] == .array(["prod", "base"]))
        // Objects: exactly what `exec` reads — its config (with its exec bundle), the base layer, the
        // service's generation markers (HEAD of the next one) and the schema; no other env or service.
        let store = "arn:aws:s3:::cob-digital-apps-prod-config/svcconf/"
        let readable = ["configs/access-boston/prod/*", "configs/access-boston/base/*", "configs/access-boston/_generations/*",
                        "schemas/access-boston/*"]
        let get = try #require(statements.first { $0["Action"] == "s3:GetObject" })
        #expect(Set((get["Resource"]?.arrayValue ?? []).compactMap(\.stringValue)) == Set(readable.map { store + $0 }))
        let list = try #require(statements.first { $0["Action"] == "s3:ListBucket" })
        let prefixes = (list["Condition"]?["StringLike"]?["s3:prefix"]?.arrayValue ?? []).compactMap(\.stringValue)
        #expect(Set(prefixes) == Set(readable.map { "svcconf/" + $0 }))
        // The layout those prefixes assume: where the S3 store puts what exec reads.
        let s3 = try S3Store(url: "s3://cob-digital-apps-prod-config/svcconf", client: S3Client(
            transport: NoTransport(), credentials: { AWSCredentials(accessKeyId: "x", secretAccessKey: "y") }, region: "us-east-1"))
        let prod = try ConfigAddress(service: "access-boston", env: "prod")
        for key in [s3.bundleKey(prod), s3.generationKey("access-boston", 1), s3.configDir(prod) + "latest",
                    s3.configDir(try ConfigAddress(service: "access-boston", env: "base")) + "latest", s3.schemaDir("access-boston") + "latest"] {
            #expect(readable.contains { key.hasPrefix("svcconf/" + $0.dropLast()) }, "\(key) not readable by the task role")
        }
    }

    @Test func dockerfileEntrypointIsSvcconfExec() throws {
        let text = try String(contentsOf: Self.repo.appendingPathComponent("examples/ecs/Dockerfile"), encoding: .utf8)
        #expect(text.contains(#"ENTRYPOINT ["svcconf", "exec", "access-boston", "--env", "prod""#))
        let task = try Self.json("examples/ecs/task-definition.json")
        let env = task["containerDefinitions"]?.arrayValue?.first?["environment"]?.arrayValue ?? []
        #expect(env.contains { $0["name"] == "SVCCONF_STORE" && $0["value"]?.stringValue?.hasPrefix("s3://") == true })
    }
}

/// A transport for clients that must not send anything.
struct NoTransport: HTTPTransport {
    func send(_ request: HTTPRequest, timeout: Double) async throws -> HTTPResponse {
        throw AWSError(.connection, "no network in this test")
    }
}
