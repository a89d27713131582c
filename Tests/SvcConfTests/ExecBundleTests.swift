import Testing
@testable import SvcConf

/// The exec bundle's framing: exact round trip, and anything else is no bundle (never a crash,
/// never partial data).
@Suite struct ExecBundleTests {
    let sample = ExecBundle(generation: 7,
                            layers: [nil, .init(number: 3, bytes: Array("base\nbytes\n".utf8)), .init(number: 12, bytes: [0, 0x0A, 0xFF, 0x0A])],
                            schema: .init(number: 2, bytes: Array("{}".utf8)))

    @Test func roundTrip() {
        #expect(ExecBundle.parse(sample.encoded(), layerCount: 3) == sample)
        var noSchema = sample
        noSchema.schema = nil
        #expect(ExecBundle.parse(noSchema.encoded(), layerCount: 3) == noSchema)
        let text = String(decoding: noSchema.encoded(), as: UTF8.self)
        #expect(text.hasPrefix("svcconf-exec-bundle 1\ngeneration 0000000007\nlayer none\nlayer 0000000003 11\nbase\nbytes\n\n"))
        #expect(text.hasSuffix("\nschema none\nend\n"))
    }

    @Test func everyTruncationAndExtensionIsRefused() {
        let bytes = sample.encoded()
        for n in 0..<bytes.count { #expect(ExecBundle.parse(Array(bytes.prefix(n)), layerCount: 3) == nil, "prefix \(n)") }
        #expect(ExecBundle.parse(bytes + [0x0A], layerCount: 3) == nil)
        #expect(ExecBundle.parse(bytes + Array("end\n".utf8), layerCount: 3) == nil)
        #expect(ExecBundle.parse(bytes, layerCount: 2) == nil)
        #expect(ExecBundle.parse(bytes, layerCount: 4) == nil)
        #expect(ExecBundle.parse(bytes, layerCount: 0) == nil)
    }

    @Test func fieldsAreExact() {
        func with(_ old: String, _ new: String) -> [UInt8] {
            let b = sample.encoded(), o = Array(old.utf8)
            guard let i = (0...(b.count - o.count)).first(where: { Array(b[$0..<($0 + o.count)]) == o }) else { return b }
            return Array(b[..<i]) + Array(new.utf8) + Array(b[(i + o.count)...])
        }
        for (old, new) in [("generation 0000000007", "generation 7"), ("generation 0000000007", "generation 0000000000"),
                           ("generation 0000000007", "generation  000000007"), ("layer 0000000003 11", "layer 0000000003 011"),
                           ("layer 0000000003 11", "layer 0000000003 +11"), ("layer 0000000003 11", "layer 0000000003 12"),
                           ("layer 0000000003 11", "layer 0000000003 10"), ("layer 0000000003 11", "layer -000000003 11"),
                           ("layer none", "layer"), ("layer none", "layer None"), ("schema 0000000002 2", "schema 0000000002 -2"),
                           ("\nend\n", "\nend \n"), ("svcconf-exec-bundle 1", "svcconf-exec-bundle 2")] {
            #expect(ExecBundle.parse(with(old, new), layerCount: 3) == nil, "\(old) -> \(new)")
        }
        // The config's own layer cannot be `none`.
        let noTop = ExecBundle(generation: 1, layers: [nil], schema: nil)
        #expect(ExecBundle.parse(noTop.encoded(), layerCount: 1) == nil)
    }
}
