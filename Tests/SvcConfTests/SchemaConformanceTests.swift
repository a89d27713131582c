import Foundation
import Testing

@testable import SvcConf

/// Runs the official JSON-Schema-Test-Suite (draft2020-12) against ``SchemaValidator``.
///
/// The suite is found through `SVCCONF_ORACLES` (a folder holding `JSON-Schema-Test-Suite`, or the
/// suite itself), else `../shared/oracles/JSON-Schema-Test-Suite` next to the repository, else
/// `.build-oracles/JSON-Schema-Test-Suite` (written by `scripts/fetch-json-schema-suite`). Without
/// any of them the test prints a notice and passes.
///
/// Parts: `required` (tests/draft2020-12/*.json: every case must pass), `optional`
/// (optional/*.json) and `format` (optional/format/*.json, formats asserted): each at least 95%.
/// Every case runs through both `isValid` and `validate`, which must agree.
@Suite("Schema conformance (JSON-Schema-Test-Suite)")
struct SchemaConformanceTests {
    struct PartResult {
        var passed = 0
        var failed = 0
        var skipped = 0
        var present = 0
        var failures: [String] = []
    }

    static func suiteRoot() -> URL? {
        let fm = FileManager.default
        func isSuite(_ u: URL) -> Bool { fm.fileExists(atPath: u.appendingPathComponent("tests/draft2020-12").path) }
        if let env = ProcessInfo.processInfo.environment["SVCCONF_ORACLES"], !env.isEmpty {
            let u = URL(fileURLWithPath: env)
            if isSuite(u.appendingPathComponent("JSON-Schema-Test-Suite")) { return u.appendingPathComponent("JSON-Schema-Test-Suite") }
            if isSuite(u) { return u }
        }
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
                let shared = dir.deletingLastPathComponent().appendingPathComponent("shared/oracles/JSON-Schema-Test-Suite")
                if isSuite(shared) { return shared }
                let local = dir.appendingPathComponent(".build-oracles/JSON-Schema-Test-Suite")
                if isSuite(local) { return local }
                return nil
            }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    static func parse(_ url: URL) throws -> ConfigValue {
        let data = try Data(contentsOf: url)
        return try JSON.parse([UInt8](data), limits: .init(maxDepth: 512, maxBytes: 64 << 20, rejectDuplicateKeys: false))
    }

    static func registry(_ root: URL) throws -> SchemaRegistry {
        var reg = SchemaRegistry.standard
        let remotes = root.appendingPathComponent("remotes")
        let base = remotes.standardizedFileURL.path
        guard let e = FileManager.default.enumerator(at: remotes, includingPropertiesForKeys: nil) else { return reg }
        for case let u as URL in e where u.pathExtension == "json" {
            let rel = String(u.standardizedFileURL.path.dropFirst(base.count + 1))
            reg = try reg.adding(uri: "http://localhost:1234/" + rel, schema: try parse(u))
        }
        return reg
    }

    static func run(files: [URL], assertFormat: Bool, registry: SchemaRegistry) throws -> PartResult {
        var r = PartResult()
        for file in files {
            guard case .array(let groups) = try parse(file) else { continue }
            for g in groups {
                guard case .object(let group) = g, case .array(let tests)? = group["tests"], let schema = group["schema"] else { continue }
                let gdesc = group["description"]?.stringValue ?? "?"
                r.present += tests.count
                let validator: SchemaValidator
                do {
                    validator = try SchemaValidator(schema: schema, options: .init(assertFormat: assertFormat), registry: registry)
                } catch {
                    r.failed += tests.count
                    r.failures.append("\(file.lastPathComponent) | \(gdesc) | (all \(tests.count) cases) | does not compile: \(error)")
                    continue
                }
                for t in tests {
                    guard case .object(let test) = t, let data = test["data"], case .bool(let expected)? = test["valid"] else { continue }
                    let fast = validator.isValid(data)
                    let full = validator.validate(data)
                    if fast == expected && full.isValid == expected {
                        r.passed += 1
                    } else {
                        r.failed += 1
                        let tdesc = test["description"]?.stringValue ?? "?"
                        r.failures.append("\(file.lastPathComponent) | \(gdesc) | \(tdesc) | expected \(expected), isValid \(fast), validate \(full.isValid)"
                                          + (full.errors.first.map { " (\($0.schemaLocation): \($0.message))" } ?? ""))
                    }
                }
            }
        }
        return r
    }

    static func jsonFiles(_ dir: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test("draft2020-12: required all pass, optional and format >= 95%")
    func conformance() throws {
        guard let root = Self.suiteRoot() else {
            print("notice: JSON-Schema-Test-Suite not found; run scripts/fetch-json-schema-suite")
            return
        }
        print("json-schema-test-suite: \(root.path)")
        let registry = try Self.registry(root)
        let tests = root.appendingPathComponent("tests/draft2020-12")
        let parts: [(String, [URL], Bool)] = [
            ("required", try Self.jsonFiles(tests), false),
            ("optional", try Self.jsonFiles(tests.appendingPathComponent("optional")), false),
            ("format", try Self.jsonFiles(tests.appendingPathComponent("optional/format")), true),
        ]
        for (name, files, assertFormat) in parts {
            let r = try Self.run(files: files, assertFormat: assertFormat, registry: registry)
            print("json-schema-test-suite \(name): \(r.passed) passed, \(r.failed) failed, \(r.skipped) skipped")
            for f in r.failures { print("  FAIL \(name): \(f)") }
            #expect(r.present > 0, "no cases found in \(name)")
            #expect(r.passed + r.failed + r.skipped == r.present, "\(name): ran \(r.passed + r.failed + r.skipped) of \(r.present) cases")
            if name == "required" {
                #expect(r.failed == 0, "required cases failed: \(r.failed)")
            } else {
                #expect(Double(r.passed) >= 0.95 * Double(r.present), "\(name): \(r.passed)/\(r.present) is below 95%")
            }
        }
    }
}
