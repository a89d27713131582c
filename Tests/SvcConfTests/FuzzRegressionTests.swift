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

    /// The regression inputs and the committed seed corpus (Fuzz/corpus) of the other targets, with
    /// the fuzz targets' own checks: accepted inputs round-trip; the seeds are known-good inputs.
    @Test func sealedJSONDotenvAndSchemaSeedsAndRegressions() throws {
        let corpus = Self.root.deletingLastPathComponent().appendingPathComponent("corpus")
        func all(_ t: String) -> [(String, [UInt8])] {
            let dir = corpus.appendingPathComponent(t)
            let seeds = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
                .compactMap { n in (try? Data(contentsOf: dir.appendingPathComponent(n))).map { (n, [UInt8]($0)) } }
            return seeds + Self.inputs(t)
        }
        let sealed = all("sealed"), json = all("json"), dotenv = all("dotenv"), schema = all("schema")
        #expect(!sealed.isEmpty && !json.isEmpty && !dotenv.isEmpty && !schema.isEmpty, "seed corpus missing under \(corpus.path)")
        for (name, bytes) in sealed {
            let p = try SealedCodec.parse(bytes)  // seeds are real sealed versions
            #expect(SealedCodec.encode(header: p.header, mac: p.mac, ciphertext: p.ciphertext) == bytes, "\(name)")
        }
        for (name, bytes) in json {
            let v = try JSON.parse(bytes)
            #expect(try JSON.parse(JSON.canonical(v)) == v, "\(name)")
        }
        for (name, bytes) in dotenv { #expect((try? Dotenv.parse(bytes, source: name)) != nil, "\(name)") }
        for (name, bytes) in schema {
            let doc = try JSON.parse(bytes)
            let v = try SchemaValidator(schema: doc, options: .init(assertFormat: true))
            _ = v.validate(doc)
        }
    }
}
