import Foundation
import SvcConf
import SvcConfYAML
import Testing

/// Inputs libFuzzer found (scripts/fuzz), replayed with the same checks as the fuzz targets: every
/// input is accepted or refused with an error, and what is accepted round-trips. Files live in
/// Fuzz/regressions/TARGET/.
@Suite struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/regressions")

    static func inputs(_ target: String) -> [(String, [UInt8])] {
        let dir = root.appendingPathComponent(target)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
        return names.compactMap { n in (try? Data(contentsOf: dir.appendingPathComponent(n))).map { (n, [UInt8]($0)) } }
    }

    @Test func yamlRoundTrips() throws {
        let cases = Self.inputs("yaml")
        #expect(!cases.isEmpty, "no regression inputs found under \(Self.root.path)/yaml")
        for (name, bytes) in cases {
            guard let text = String(validating: bytes, as: UTF8.self), let v = try? YAMLCodec.parse(text, source: name) else { continue }
            let rendered = YAMLCodec.render(v)
            let back = try? YAMLCodec.parse(rendered, source: name)
            #expect(back == v, "\(name): \(v) rendered as \(rendered.debugDescription) reads back as \(String(describing: back))")
        }
    }

    @Test func sealedJSONDotenvAndSchemaNeverCrash() {
        for (_, bytes) in Self.inputs("sealed") { _ = try? SealedCodec.parse(bytes) }
        for (_, bytes) in Self.inputs("json") { _ = try? JSON.parse(bytes) }
        for (_, bytes) in Self.inputs("dotenv") { _ = try? Dotenv.parse(bytes, source: "fuzz") }
        for (_, bytes) in Self.inputs("schema") {
            if let doc = try? JSON.parse(bytes), let v = try? SchemaValidator(schema: doc, options: .init(assertFormat: true)) { _ = v.validate(doc) }
        }
    }
}
