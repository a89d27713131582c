import Foundation
import Testing

/// Validating a 50 MB instance needs bounded extra memory. Measured by `svcconf-bench schema-memory`
/// in a process of its own: a peak-RSS high-water mark is process-wide, and the test runner runs
/// other suites in parallel.
@Suite struct CLISchemaMemoryTests {
    @Test func fiftyMegabyteInstanceInBoundedMemory() throws {
        let bench = URL(fileURLWithPath: try svcconfBinary()).deletingLastPathComponent().appendingPathComponent("svcconf-bench").path
        try #require(FileManager.default.isExecutableFile(atPath: bench), "build svcconf-bench first (swift build)")
        let r = runProcess(bench, ["schema-memory"], stdin: nil, env: ProcessInfo.processInfo.environment, cwd: "/tmp", timeout: 300)
        #expect(r.code == 0, "\(r.err)")
        var results: [String: Int] = [:]
        for line in r.out.split(separator: "\n") where line.hasPrefix("RESULT ") {
            let parts = line.split(separator: " ")
            if parts.count >= 3, let n = Int(parts[2]) { results[String(parts[1])] = n }
        }
        let size = try #require(results["schema_memory.instance_bytes"])
        let grown = try #require(results["schema_memory.peak_rss_growth"])
        #expect(size > 50_000_000)
        #expect(results["schema_memory.valid"] == 1)
        // the instance is ~60 MB in memory: validating must not copy it or keep per-item state
        #expect(grown < 16 << 20, "peak RSS grew by \(grown >> 20) MiB while validating a \(size >> 20) MiB instance")
    }
}
