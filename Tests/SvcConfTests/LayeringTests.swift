import SvcConf
import Testing

/// Layer merging is JSON Merge Patch (RFC 7396) on values; files replace or are deleted by name.
@Suite("Layering") struct LayeringTests {
    static func obj(_ text: String) throws -> [String: ConfigValue] {
        try #require(try JSON.parse(text).objectValue)
    }

    /// RFC 7396 Appendix A, every case whose target and patch are objects (top-level values are
    /// always objects here).
    @Test func rfc7396AppendixA() throws {
        let cases: [(String, String, String)] = [
            (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
            (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
            (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
            (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
            (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
            (#"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
            (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
            (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
            (#"{"e":null}"#, #"{"a":1}"#, #"{"e":null,"a":1}"#),
            (#"{}"#, #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
        ]
        for (target, patch, expected) in cases {
            // The first layer is merged over nothing: like the RFC's target, it keeps its own nulls
            // only when given as the target; here the target goes in as-is via a patch-free base.
            let merged = Layering.merge([Config(values: try Self.obj(target)), Config(values: try Self.obj(patch))])
            var want = try Self.obj(expected)
            // Our merge starts from an empty config, so a null in the lowest layer is dropped too.
            want = want.filter { $0.value != .null }
            #expect(merged.values == want, "\(target) + \(patch)")
        }
    }

    @Test func filesReplaceWholeAndDeletionsRemove() {
        let base = Config(values: [:], files: ["apps.yaml": Array("base".utf8), "server.crt": [1]])
        let env = Config(values: [:], files: ["apps.yaml": Array("env".utf8)])
        let variant = Config(values: [:], files: ["notice.txt": [2]], deletedFiles: ["server.crt"])
        let merged = Layering.merge([base, env, variant])
        #expect(merged.files == ["apps.yaml": Array("env".utf8), "notice.txt": [2]])
        #expect(merged.deletedFiles.isEmpty)
    }

    @Test func listsReplaceAndNestedObjectsMerge() throws {
        let merged = Layering.merge([Config(values: try Self.obj(#"{"CORS":["a","b"],"LOG":{"level":"info","fmt":"json"}}"#)),
                                     Config(values: try Self.obj(#"{"CORS":["c"],"LOG":{"level":"debug"}}"#))])
        #expect(merged.values == (try Self.obj(#"{"CORS":["c"],"LOG":{"level":"debug","fmt":"json"}}"#)))
    }

    @Test func originsNameTheLayer() throws {
        let base = try ConfigAddress(service: "app", env: "base"), env = try ConfigAddress(service: "app", env: "staging")
        let dev = try ConfigAddress(service: "app", env: "staging", variant: "dev")
        let layers: [(address: ConfigAddress, version: Int64, config: Config)] = [
            (base, 3, Config(values: try Self.obj(#"{"A":1,"B":2,"LOG":{"fmt":"json"}}"#), files: ["f": [1]])),
            (env, 5, Config(values: try Self.obj(#"{"A":10,"LOG":{"level":"info"}}"#))),
            (dev, 1, Config(values: try Self.obj(#"{"B":null}"#), deletedFiles: ["f"])),
        ]
        let a = try #require(Layering.origin(ofValue: ["A"], in: layers))
        #expect(a.layer == env && a.version == 5 && a.overrides == [base] && !a.deleted)
        let b = try #require(Layering.origin(ofValue: ["B"], in: layers))
        #expect(b.layer == dev && b.deleted && b.overrides == [base])
        let log = try #require(Layering.origin(ofValue: ["LOG"], in: layers))
        #expect(log.mergedFrom == [base, env])
        let fmt = try #require(Layering.origin(ofValue: ["LOG", "fmt"], in: layers))
        #expect(fmt.layer == base && fmt.mergedFrom.isEmpty)
        let f = try #require(Layering.origin(ofFile: "f", in: layers))
        #expect(f.layer == dev && f.deleted)
        #expect(Layering.origin(ofValue: ["NOPE"], in: layers) == nil)
    }

    @Test func baseLayerAddresses() throws {
        let dev = try ConfigAddress(service: "app", env: "staging", variant: "dev")
        #expect(dev.lowerLayers.map(\.description) == ["app/base", "app/staging"])
        #expect(try ConfigAddress(service: "app", env: "base").lowerLayers.isEmpty)
        #expect(throws: SvcConfError.self) { try ConfigAddress(service: "app", env: "base", variant: "dev") }
    }
}

/// The three-way merge behind `edit`'s re-open after a concurrent write.
@Suite("ConfigMerge") struct ConfigMergeTests {
    @Test func myChangesLandOnTheirsAndCollisionsKeepTheirs() {
        let base = Config(values: ["A": "1", "B": "1", "C": "1", "D": "1"], files: ["f": [1], "g": [1]])
        let mine = Config(values: ["A": "mine", "B": "1", "C": "mine", "E": "new"], files: ["f": [2], "g": [1]], deletedFiles: ["h"])
        let theirs = Config(values: ["A": "1", "B": "theirs", "C": "theirs", "D": "1"], files: ["f": [1], "g": [3]])
        let (merged, collisions) = ConfigMerge.threeWay(base: base, mine: mine, theirs: theirs)
        #expect(merged.values == ["A": "mine", "B": "theirs", "C": "theirs", "E": "new"])  // D: I deleted it, they did not touch it
        #expect(merged.files == ["f": [2], "g": [3]])
        #expect(merged.deletedFiles == ["h"])
        #expect(collisions == ["C"])
        // The same change on both sides is not a collision.
        let same = ConfigMerge.threeWay(base: base, mine: theirs, theirs: theirs)
        #expect(same.merged == theirs && same.collisions.isEmpty)
    }
}
