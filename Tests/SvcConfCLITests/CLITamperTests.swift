import Foundation
import SvcConf
import Testing

/// A store with svc-a/staging version 1 holding a canary secret.
private func seeded() throws -> Sandbox {
    let sb = try Sandbox()
    sb.initStore()
    sb.ok(["set", "svc-a", "--env", "staging", "PASSWORD=" + canary, "HOST=canary-host", "-m", "first"])
    return sb
}

/// Where the lines of a sealed version end: (end of magic line, end of header line, end of MAC line).
private func lineEnds(_ d: Data) throws -> (Int, Int, Int) {
    let bytes = [UInt8](d)
    var ends: [Int] = []
    for (i, b) in bytes.enumerated() where b == 0x0A {
        ends.append(i)
        if ends.count == 3 { break }
    }
    try #require(ends.count == 3, "a sealed version has three text lines")
    return (ends[0], ends[1], ends[2])
}

/// The commands that open a version; each must fail with `code` and change nothing.
private func expectUnopenable(_ sb: Sandbox, code: Int32 = 7, mentions: String? = nil,
                              sourceLocation: SourceLocation = #_sourceLocation) {
    for args in [["show", "svc-a", "--env", "staging"],
                 ["show", "svc-a", "--env", "staging", "--reveal", "--format", "json"],
                 ["get", "svc-a", "--env", "staging", "PASSWORD"],
                 ["export", "svc-a", "--env", "staging", "--format", "env"],
                 ["set", "svc-a", "--env", "staging", "OTHER=canary-new"],
                 ["exec", "svc-a", "--env", "staging", "--", "/bin/sh", "-c", "echo started > started.txt"]] {
        sb.expectFailure(args, code: code, mentions: mentions, sourceLocation: sourceLocation)
    }
    #expect(!sb.exists("started.txt"), "exec started the command", sourceLocation: sourceLocation)
}

@Suite struct CLITamperTests {
    enum Spot: String, CaseIterable, Sendable { case authorInHeader, messageInHeader, bitInHeader, versionInHeader, macLine, ciphertextFirst, ciphertextMiddle, tag }

    @Test(arguments: Spot.allCases)
    func flippedByteIsTampered(spot: Spot) throws {
        let sb = try seeded()
        let file = sb.versionFile("svc-a", "staging", 1)
        var d = try sb.read(file)
        let (l1, l2, l3) = try lineEnds(d)
        let header = String(decoding: d[(l1 + 1)..<l2], as: UTF8.self)
        func offset(of s: String) throws -> Int {
            let r = try #require(header.range(of: s), "header has \(s)")
            return l1 + 1 + header.utf8.distance(from: header.startIndex, to: r.lowerBound)
        }
        switch spot {
        case .authorInHeader: d[try offset(of: #""author":"test""#) + 10] = UInt8(ascii: "T")
        case .messageInHeader: d[try offset(of: #""message":"first""#) + 11] = UInt8(ascii: "F")
        case .bitInHeader: d[(l1 + l2) / 2] ^= 0x01
        case .versionInHeader: d[try offset(of: #""version":1"#) + 10] = UInt8(ascii: "2")
        case .macLine: d[l2 + 5] = d[l2 + 5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        case .ciphertextFirst: d[l3 + 1] ^= 0x80
        case .ciphertextMiddle: d[(l3 + d.count) / 2] ^= 0x01
        case .tag: d[d.count - 1] ^= 0x01
        }
        try sb.write(file, d, mode: 0o600)
        expectUnopenable(sb)
    }

    @Test func truncatedVersionIsTampered() throws {
        let sb = try seeded()
        let file = sb.versionFile("svc-a", "staging", 1)
        let full = try sb.read(file)
        let (l1, l2, l3) = try lineEnds(full)
        for length in [0, 1, l1, l1 + 1, (l1 + l2) / 2, l2, l2 + 1, l2 + 20, l3, l3 + 1, l3 + 9, full.count - 16, full.count - 1] {
            try sb.write(file, full.prefix(length), mode: 0o600)
            for args in [["show", "svc-a", "--env", "staging"], ["exec", "svc-a", "--env", "staging", "--", "true"]] {
                let r = sb.expectFailure(args, code: 7)
                #expect(r.code == 7, "truncated to \(length) of \(full.count) bytes")
            }
        }
    }

    @Test func relabelledToAnotherServiceEnvOrNumber() throws {
        let sb = try seeded()
        let v1 = try sb.read(sb.versionFile("svc-a", "staging", 1))
        try sb.write(sb.versionFile("svc-b", "staging", 1), v1, mode: 0o600)
        try sb.write(sb.versionFile("svc-a", "prod", 1), v1, mode: 0o600)
        try sb.write(sb.versionFile("svc-a", "staging", 1, variant: "dev"), v1, mode: 0o600)
        for (svc, env, variant) in [("svc-b", "staging", nil), ("svc-a", "prod", nil), ("svc-a", "staging", "dev")] as [(String, String, String?)] {
            let target = ["--env", env] + (variant.map { ["--variant", $0] } ?? [])
            sb.expectFailure(["show", svc] + target, code: 7)
            sb.expectFailure(["exec", svc] + target + ["--", "/bin/sh", "-c", "echo started > started.txt"], code: 7)
            sb.expectFailure(["history", svc] + target, code: 7)
        }
        // Version 1 copied as version 2 of the same config.
        try sb.write(sb.versionFile("svc-a", "staging", 2), v1, mode: 0o600)
        expectUnopenable(sb)
        sb.expectFailure(["show", "svc-a", "--env", "staging", "--version", "2"], code: 7)
        #expect(sb.run(["show", "svc-a", "--env", "staging", "--version", "1"]).code == 0)
    }

    @Test func unknownFormatVersion() throws {
        let sb = try seeded()
        let file = sb.versionFile("svc-a", "staging", 1)
        var d = try sb.read(file)
        let (l1, _, _) = try lineEnds(d)
        d.replaceSubrange(0..<l1, with: Data("svcconf-sealed/v9".utf8))
        try sb.write(file, d, mode: 0o600)
        expectUnopenable(sb, mentions: "v9")
    }

    @Test func garbageIsTampered() throws {
        let sb = try seeded()
        let file = sb.versionFile("svc-a", "staging", 1)
        var rng = SystemRandomNumberGenerator()
        let garbage: [Data] = [
            Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }),
            Data("not a sealed version\nat all\n--- nope\n".utf8),
            Data("svcconf-sealed/v1\n{}\n--- AAAA\n0123456789abcdef0123".utf8),
            Data("svcconf-sealed/v1\n".utf8) + Data(repeating: 0x7B, count: 70_000),
        ]
        for g in garbage {
            try sb.write(file, g, mode: 0o600)
            expectUnopenable(sb)
        }
    }

    @Test func historyFlagsARemovedMiddleVersion() throws {
        let sb = try seeded()
        sb.ok(["set", "svc-a", "--env", "staging", "A=2"])
        sb.ok(["set", "svc-a", "--env", "staging", "A=3"])
        #expect(sb.run(["history", "svc-a", "--env", "staging"]).code == 0)
        try FileManager.default.removeItem(atPath: sb.path(sb.versionFile("svc-a", "staging", 2)))
        let text = sb.run(["history", "svc-a", "--env", "staging"])
        #expect(text.code == 7)
        #expect(text.out.split(separator: "\n").contains { $0.hasPrefix("3 !") }, "version 3 flagged: \(text.out)")
        #expect(text.err.hasPrefix("svcconf: error: ") && text.err.contains("broken"))
        let json = sb.run(["history", "svc-a", "--env", "staging", "--format", "json"])
        #expect(json.code == 7)
        let entries = try #require(try parseJSON(json.out).arrayValue)
        #expect(entries.map { $0["version"] } == [3, 1])
        #expect(entries.map { $0["chainIntact"] } == [false, true])
    }

    @Test func historyFlagsAReplacedMiddleVersion() throws {
        let sb = try seeded()
        sb.ok(["set", "svc-a", "--env", "staging", "A=2"])
        sb.ok(["set", "svc-a", "--env", "staging", "A=3"])
        // Another store's version 2 of the same config: a valid seal, but not the parent of our 3.
        sb.ok(["init", "--store", "file:other", "--recipient", "local:" + sb.defaultKey])
        sb.ok(["set", "svc-a", "--env", "staging", "--store", "file:other", "A=x"])
        sb.ok(["set", "svc-a", "--env", "staging", "--store", "file:other", "A=y"])
        try sb.write(sb.versionFile("svc-a", "staging", 2), try sb.read(sb.versionFile("svc-a", "staging", 2, store: "other")), mode: 0o600)
        let r = sb.run(["history", "svc-a", "--env", "staging"])
        #expect(r.code == 7, "\(r.out)\(r.err)")
    }
}
