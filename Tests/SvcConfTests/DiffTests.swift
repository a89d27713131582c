import Testing

@testable import SvcConf

/// A secrecy policy that marks exactly the listed value paths (and their subtrees) and files secret.
struct SomeSecret: SecrecyPolicy {
    let paths: Set<[String]>
    let files: Set<String>
    func isSecret(valuePath path: [String]) -> Bool { paths.contains(path) }
    func isSecret(file name: String) -> Bool { files.contains(name) }
}

@Suite("Diff, Redactor, Fingerprinter")
struct DiffTests {
    static let planted = "s3cr3t-PLANTED"
    let fp = Fingerprinter(key: [UInt8](repeating: 1, count: 32))
    var redactor: Redactor {
        Redactor(secrecy: SomeSecret(paths: [["PASSWORD"], ["db", "password"], ["CREDS"], ["SERVERS", "1", "token"], ["LIST"]],
                                     files: ["tls.key"]), fingerprinter: fp)
    }

    func diff(_ old: [String: ConfigValue], _ new: [String: ConfigValue],
              oldFiles: [String: [UInt8]] = [:], newFiles: [String: [UInt8]] = [:]) -> ConfigDiff {
        ConfigDiff.compare(Config(values: old, files: oldFiles), Config(values: new, files: newFiles), redactor: redactor)
    }

    @Test("added, removed, changed, unchanged: sorted by path, values before files")
    func basics() {
        let d = diff(["A": "1", "B": "2", "C": "3", "Z": 1], ["B": "2", "C": "4", "D": "5", "Z": .number(.double(1.0))])
        #expect(d.entries.map(\.path) == [["A"], ["C"], ["D"]])
        #expect(d.entries.map(\.change) == [.removed, .changed, .added])
        #expect(d.entries[0].old == .value("1") && d.entries[0].new == nil)
        #expect(d.entries[1].old == .value("3") && d.entries[1].new == .value("4"))
        #expect(d.entries[2].old == nil && d.entries[2].new == .value("5"))
        #expect(d.entries.allSatisfy { !$0.secret && !$0.isFile })
        #expect(d.unchangedCount == 2)  // B, and Z (1 == 1.0)
        #expect(!d.isEmpty)
        let same = diff(["A": "1"], ["A": "1"])
        #expect(same.isEmpty && same.unchangedCount == 1)
        #expect(diff([:], [:]).isEmpty && diff([:], [:]).unchangedCount == 0)
    }

    @Test("non-secret objects are compared member by member; secret ones as wholes")
    func nested() {
        let old: [String: ConfigValue] = ["db": ["host": "a", "port": 5432, "password": "old-pw", "opts": ["ssl": true]],
                                          "CREDS": ["user": "u", "key": "k1"]]
        let new: [String: ConfigValue] = ["db": ["host": "b", "port": 5432, "password": "new-pw", "opts": ["ssl": false], "pool": 5],
                                          "CREDS": ["user": "u", "key": "k2"]]
        let d = diff(old, new)
        #expect(d.entries.map(\.path) == [["CREDS"], ["db", "host"], ["db", "opts", "ssl"], ["db", "password"], ["db", "pool"]])
        #expect(d.entries.map(\.change) == [.changed, .changed, .changed, .changed, .added])
        #expect(d.entries.map(\.secret) == [true, false, false, true, false])
        #expect(d.entries[0].old == .secret(fingerprint: fp.fingerprint(["user": "u", "key": "k1"])))
        #expect(d.entries[3].old == .secret(fingerprint: fp.fingerprint("old-pw")))
        #expect(d.entries[3].new == .secret(fingerprint: fp.fingerprint("new-pw")))
        #expect(d.unchangedCount == 1)  // db.port
        // An object replaced by a scalar (or the reverse) is one change of the whole.
        let e = diff(["X": ["a": 1]], ["X": 5])
        #expect(e.entries.map(\.path) == [["X"]] && e.entries[0].old == .value(["a": 1]) && e.entries[0].new == .value(5))
        // An added non-secret object containing a secret shows the secret as a placeholder.
        let f = diff([:], ["db": ["host": "h", "password": .string(Self.planted)]])
        #expect(f.entries.count == 1 && f.entries[0].path == ["db"])
        #expect(f.entries[0].new == .value(["host": "h", "password": .string("<secret \(fp.fingerprint(.string(Self.planted)))>")]))
    }

    @Test("arrays are compared as wholes, with secrets inside them redacted")
    func arrays() {
        let d = diff(["ARR": [1, 2, 3], "LIST": ["a"]], ["ARR": [1, 2, 4], "LIST": ["b"]])
        #expect(d.entries.map(\.path) == [["ARR"], ["LIST"]])
        #expect(d.entries[0].old == .value([1, 2, 3]) && d.entries[0].new == .value([1, 2, 4]))
        #expect(d.entries[1].secret)
        let servers: ConfigValue = [["host": "a", "token": .string(Self.planted)], ["host": "b", "token": .string(Self.planted)]]
        let e = diff([:], ["SERVERS": servers])
        // Only SERVERS[1].token is secret in this policy; [0].token is not.
        guard case .value(let shown)? = e.entries.first?.new, case .array(let items) = shown else {
            Issue.record("expected a shown array"); return
        }
        #expect(items[0]["token"] == .string(Self.planted))
        #expect(items[1]["token"] == .string("<secret \(fp.fingerprint(.string(Self.planted)))>"))
        #expect(items[1]["host"] == "b")
        #expect(diff(["ARR": []], ["ARR": []]).unchangedCount == 1)
    }

    @Test("files: added, removed, changed, unchanged; secret files never show content")
    func files() {
        let d = diff([:], [:], oldFiles: ["a.txt": Array("old".utf8), "tls.key": Array("key-1".utf8), "same.txt": [1], "gone.txt": [2], "tls.crt": [3]],
                     newFiles: ["a.txt": Array("new".utf8), "tls.key": Array("key-2".utf8), "same.txt": [1], "new.bin": [0xFF, 0xFE], "tls.crt": [3]])
        #expect(d.entries.map(\.path) == [["a.txt"], ["gone.txt"], ["new.bin"], ["tls.key"]])
        #expect(d.entries.allSatisfy { $0.isFile })
        #expect(d.entries.map(\.change) == [.changed, .removed, .added, .changed])
        #expect(d.entries[0].old == .file(bytes: 3, fingerprint: fp.fingerprint(file: Array("old".utf8)), text: "old"))
        #expect(d.entries[2].new == .file(bytes: 2, fingerprint: fp.fingerprint(file: [0xFF, 0xFE]), text: nil))
        #expect(d.entries[3].secret && d.entries[3].new == .file(bytes: 5, fingerprint: fp.fingerprint(file: Array("key-2".utf8)), text: nil))
        #expect(d.unchangedCount == 2)
        // A file diff follows the values.
        let mixed = diff(["A": "1"], ["A": "2"], oldFiles: [:], newFiles: ["a": [1]])
        #expect(mixed.entries.map(\.isFile) == [false, true])
        // Unchanged secret files and values are counted and named.
        let u = diff(["PASSWORD": "x"], ["PASSWORD": "x"], oldFiles: ["tls.key": [1]], newFiles: ["tls.key": [1]])
        #expect(u.isEmpty && u.unchangedCount == 2 && u.unchangedSecrets == ["PASSWORD", "file tls.key"])
    }

    /// Everything secret in this config contains `planted`.
    var leakyOld: Config {
        Config(values: ["PASSWORD": .string(Self.planted), "db": ["password": .string(Self.planted + "-db"), "host": "h"],
                        "CREDS": ["k": .string(Self.planted + "-creds")], "LIST": [.string(Self.planted + "-list")],
                        "SERVERS": [["token": "t0"], ["token": .string(Self.planted + "-srv")]], "KEEP": .string("visible-value")],
               files: ["tls.key": Array((Self.planted + "-file").utf8), "notes.txt": Array("visible-note".utf8)])
    }

    @Test("no secret ever appears in renderText or jsonValue")
    func noLeaks() {
        let old = leakyOld
        var new = old
        new.values["PASSWORD"] = .string(Self.planted + "2")
        new.values["db"] = ["password": .string(Self.planted + "-db2"), "host": "h2"]
        new.values["CREDS"] = ["k": .string(Self.planted + "-creds2")]
        new.values["LIST"] = [.string(Self.planted + "-list2")]
        new.values["SERVERS"] = [["token": "t1"], ["token": .string(Self.planted + "-srv2")]]
        new.values["KEEP"] = "visible-new"
        new.files["tls.key"] = Array((Self.planted + "-file2").utf8)
        new.files["notes.txt"] = Array("visible-note2".utf8)
        for (a, b) in [(old, new), (Config(), new), (old, Config()), (old, old)] {
            let d = ConfigDiff.compare(a, b, redactor: redactor)
            let text = d.renderText(oldLabel: "old", newLabel: "new")
            let json = JSON.canonicalString(d.jsonValue(old: "a", new: "b"))
            let doc = JSON.canonicalString(redactor.redactedDocument(b))
            for out in [text, json, doc] {
                #expect(!out.contains("PLANTED"), "leak in: \(out)")
            }
            if a != b {
                // The test can fail: non-secret values are there.
                #expect(text.contains("visible") && json.contains("visible"))
            }
        }
        // With everything secret (no schema), nothing at all shows.
        let all = Redactor(secrecy: AllSecret(), fingerprinter: fp)
        let d = ConfigDiff.compare(old, new, redactor: all)
        let outs = [d.renderText(oldLabel: "o", newLabel: "n"), JSON.canonicalString(d.jsonValue(old: nil, new: nil)),
                    JSON.canonicalString(all.redactedDocument(new))]
        for out in outs { #expect(!out.contains("PLANTED") && !out.contains("visible-")) }
    }

    @Test("renderText format")
    func render() {
        let d = diff(["A": "1", "B": "x", "PASSWORD": "p1"], ["A": "2", "C": ["k": 1], "PASSWORD": "p2"],
                     oldFiles: ["tls.key": [1]], newFiles: ["tls.key": [1], "n.txt": Array("hi".utf8)])
        let text = d.renderText(oldLabel: "svc/prod version 1", newLabel: "svc/prod version 2")
        #expect(text == """
            --- svc/prod version 1
            +++ svc/prod version 2
            ~ A: "1" -> "2"
            - B: "x"
            + C: {"k":1}
            ~ PASSWORD: <secret \(fp.fingerprint("p1"))> -> <secret \(fp.fingerprint("p2"))>
            + file n.txt: "hi" (2 bytes, \(fp.fingerprint(file: Array("hi".utf8))))
            2 changed, 2 added, 1 removed; 1 unchanged (1 secret unchanged)

            """)
        #expect(diff(["A": "1"], ["A": "1"]).renderText(oldLabel: "a", newLabel: "b") == "--- a\n+++ b\nno differences; 1 unchanged\n")
        // A secret or multi-line file shows no text.
        let f = diff([:], [:], oldFiles: [:], newFiles: ["tls.key": [1, 2], "m.txt": Array("a\nb".utf8)])
        let t = f.renderText(oldLabel: "a", newLabel: "b")
        #expect(t.contains("+ file m.txt: <file, 3 bytes, fp:"))
        #expect(t.contains("+ file tls.key: <secret file, 2 bytes, fp:"))
    }

    @Test("jsonValue shape and JSON Pointer escaping")
    func jsonShape() {
        let d = diff(["a/b": ["c~d": 1]], ["a/b": ["c~d": 2]], oldFiles: [:], newFiles: ["tls.key": [1]])
        let v = d.jsonValue(old: ["version": 1], new: ["version": 2])
        #expect(v["identical"] == false && v["from"] == ["version": 1] && v["to"] == ["version": 2])
        let changes = v["changes"]?.arrayValue ?? []
        #expect(changes.count == 2)
        #expect(changes.first?["pointer"] == "/a~1b/c~0d")
        #expect(changes.first?["path"] == #"["a/b"]["c~d"]"#)
        #expect(changes.first?["old"] == ["value": 1] && changes.first?["new"] == ["value": 2])
        #expect(changes.first?["kind"] == "value" && changes.first?["change"] == "changed" && changes.first?["secret"] == false)
        #expect(changes.last?["kind"] == "file" && changes.last?["path"] == "tls.key" && changes.last?["old"] == .null)
        #expect(changes.last?["new"]?["secret"] == true && changes.last?["new"]?["text"] == nil)
        #expect(diff([:], [:]).jsonValue(old: nil, new: nil)["identical"] == true)
    }

    @Test("a non-secret binary file is not labelled secret (text and JSON agree with the entry)")
    func binaryFileNotSecret() {
        let d = diff([:], [:], oldFiles: [:], newFiles: ["new.bin": [0xFF, 0xFE], "tls.key": [0xFF, 0xFE]])
        #expect(d.entries.map(\.secret) == [false, true])
        let text = d.renderText(oldLabel: "a", newLabel: "b")
        #expect(text.contains("+ file new.bin: <file, 2 bytes, fp:"), "\(text)")
        #expect(text.contains("+ file tls.key: <secret file, 2 bytes, fp:"), "\(text)")
        let changes = d.jsonValue(old: nil, new: nil)["changes"]?.arrayValue ?? []
        #expect(changes.map { $0["secret"] } == [false, true])
        #expect(changes.map { $0["new"]?["secret"] } == [false, true])
    }

    @Test("fingerprints: equal for equal values, different for different values, keys and kinds")
    func fingerprints() {
        let other = Fingerprinter(key: [UInt8](repeating: 2, count: 32))
        #expect(fp.fingerprint("x") == fp.fingerprint("x"))
        #expect(fp.fingerprint(["a": 1, "b": [true, nil]]) == fp.fingerprint(["b": [true, nil], "a": 1]))
        #expect(fp.fingerprint(1) == fp.fingerprint(.number(.double(1.0))))
        #expect(fp.fingerprint("x") != fp.fingerprint("y"))
        #expect(fp.fingerprint("1") != fp.fingerprint(1))
        #expect(fp.fingerprint("x") != other.fingerprint("x"))
        #expect(fp.fingerprint(file: Array("x".utf8)) != other.fingerprint(file: Array("x".utf8)))
        #expect(fp.fingerprint(file: Array("\"x\"".utf8)) != fp.fingerprint("x"))  // a file is not a value
        #expect(fp.fingerprint(file: [1]) == fp.fingerprint(file: [1]) && fp.fingerprint(file: [1]) != fp.fingerprint(file: [2]))
        for f in [fp.fingerprint("x"), fp.fingerprint(file: [])] {
            #expect(f.hasPrefix("fp:") && f.count == 11 && Hex.decode(String(f.dropFirst(3)))?.count == 4)
        }
        // Not an unkeyed hash of the value.
        #expect(fp.fingerprint("x") != "fp:" + String(Digest(of: JSON.canonical("x")).short.prefix(8)))
        // Many different values get (almost always) different fingerprints.
        let many = Set((0..<1000).map { fp.fingerprint(.int(Int64($0))) })
        #expect(many.count >= 999)
    }

    @Test("display() of paths, including odd keys", arguments: [
        (["KEY"], "KEY"), (["KEY", "member"], "KEY.member"), (["KEY", "0"], "KEY[0]"), (["KEY", "a", "12", "b"], "KEY.a[12].b"),
        (["odd key"], #"["odd key"]"#), (["KEY", "odd-key"], #"KEY["odd-key"]"#), (["9LIVES"], #"["9LIVES"]"#),
        (["0"], #"["0"]"#), ([""], #"[""]"#), (["KEY", ""], #"KEY[""]"#), (["a\"b"], #"["a\"b"]"#),
        (["x.y"], #"["x.y"]"#), (["KEY", "a.b"], #"KEY["a.b"]"#), (["é"], #"["é"]"#), (["new\nline"], #"["new\nline"]"#),
        (["_private"], "_private"), (["KEY", "-1"], #"KEY["-1"]"#),
    ])
    func display(_ path: [String], _ expected: String) {
        #expect(ConfigDiff.display(path) == expected)
    }

    @Test("Redactor: secret subtrees replaced by placeholders, files by text or placeholder")
    func redactorDocument() {
        let r = redactor
        let doc = r.redactedDocument(Config(values: ["PASSWORD": "p", "db": ["password": "q", "host": "h"], "N": 1],
                                            files: ["tls.key": [1, 2], "a.txt": Array("hello".utf8), "b.bin": [0xFF]]))
        #expect(doc["values"]?["PASSWORD"] == .string("<secret \(fp.fingerprint("p"))>"))
        #expect(doc["values"]?["db"] == ["password": .string("<secret \(fp.fingerprint("q"))>"), "host": "h"])
        #expect(doc["values"]?["N"] == 1)
        #expect(doc["files"]?["tls.key"] == .string("<secret file, 2 bytes, \(fp.fingerprint(file: [1, 2]))>"))
        #expect(doc["files"]?["a.txt"] == "hello")
        // A binary file that is not secret is shown by size and fingerprint, not labelled secret.
        #expect(doc["files"]?["b.bin"] == .string("<file, 1 bytes, \(fp.fingerprint(file: [0xFF]))>"))
        #expect(r.placeholder("p") == "<secret \(fp.fingerprint("p"))>")
    }
}
