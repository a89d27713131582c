import Foundation
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
        #expect(kms["Condition"]?["StringEquals"]?["kms:EncryptionContext:svcconf:env"] == "prod")
    }

    @Test func dockerfileEntrypointIsSvcconfExec() throws {
        let text = try String(contentsOf: Self.repo.appendingPathComponent("examples/ecs/Dockerfile"), encoding: .utf8)
        #expect(text.contains(#"ENTRYPOINT ["svcconf", "exec", "access-boston", "--env", "prod""#))
        let task = try Self.json("examples/ecs/task-definition.json")
        let env = task["containerDefinitions"]?.arrayValue?.first?["environment"]?.arrayValue ?? []
        #expect(env.contains { $0["name"] == "SVCCONF_STORE" && $0["value"]?.stringValue?.hasPrefix("s3://") == true })
    }
}
