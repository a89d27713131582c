import Foundation
import Testing

@testable import SvcConf

@Suite struct CodecShellExportTests {
    @Test func rendersSortedSingleQuotedLines() throws {
        let values: [String: ConfigValue] = [
            "B": "it's", "A": "plain", "N": 7, "O": ["k": "v"], "Z": nil, "E": "", "L": "x\ny",
        ]
        #expect(try ShellExport.render(values) == """
            export A='plain'
            export B='it'\\''s'
            export E=''
            export L='x
            y'
            export N='7'
            export O='{"k":"v"}'
            export Z=''

            """)
        #expect(try ShellExport.render([:]) == "")
    }

    @Test func refusesBadNamesAndNulBytes() {
        for key in ["a-b", "9", "A.B", ""] {
            codecExpectError("\(Names.quoted(key)) is not a valid environment variable name") {
                _ = try ShellExport.render([key: .string(codecCanary)])
            }
        }
        codecExpectError("the value of \"K\" contains a nul byte") {
            _ = try ShellExport.render(["K": .string(codecCanary + "\0")])
        }
    }

    /// Sources the rendered file with `/bin/sh` and reads every variable back, byte for byte.
    @Test func shellReadsBackExactly() throws {
        var values: [String: String] = [:]
        for (i, s) in codecNastyStrings.enumerated() { values["V\(i)"] = s }
        values["V_QUOTES"] = #"'''"\`$(echo pwned)`'\''"#
        values["V_TRAILING_NEWLINES"] = "x\n\n\n"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("codec-shell-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("env.sh")
        try ShellExport.render(values.mapValues { .string($0) }).write(to: file, atomically: true, encoding: .utf8)

        let keys = JSON.sortedKeys(values)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", ". \"$1\"; printf '%s\\0' " + keys.map { "\"$\($0)\"" }.joined(separator: " "), "sh", file.path]
        process.environment = ["PATH": "/usr/bin:/bin", "LC_ALL": "C"]
        let out = Pipe()
        process.standardOutput = out
        try runSerialized(process)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let read = data.split(separator: 0, omittingEmptySubsequences: false).dropLast().map {
            String(decoding: $0, as: UTF8.self)
        }
        #expect(read == keys.map { values[$0]! })
    }
}
