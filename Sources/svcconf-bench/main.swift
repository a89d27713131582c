// svcconf-bench — in-process micro-benchmarks for svcconf (build with -c release).
//
//   svcconf-bench crypto [--seconds S]
//
// Output lines starting with "RESULT" are machine-readable:
//   RESULT <name> <value> <unit>
// To add a subcommand: write a `run<Name>Bench(_ args: [String])` function and
// add a `case` to the switch at the bottom (and a line to `usage`).

import SvcConfCrypto
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let usage = """
    usage: svcconf-bench <command> [options]

    commands:
      crypto [--seconds S]   AES-256-GCM throughput (seal/open, 16 KiB and 1 MiB buffers);
                             each measurement runs 3 rounds of ~S seconds (default 2), best round reported

    """

/// Writes `text` to standard error (fd 2; the C `stderr` global is not Swift 6 concurrency-safe).
func printError(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// Prints `message` and the usage to standard error and exits with status 2.
func fail(_ message: String) -> Never {
    printError("svcconf-bench: \(message)\n\n\(usage)")
    exit(2)
}

/// Seconds from the monotonic clock.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Runs `body` (which processes `bytesPerCall` bytes) repeatedly for ~`seconds`,
/// three times, and returns the best throughput in MB/s (10^6 bytes per second).
func bestThroughput(seconds: Double, bytesPerCall: Int, _ body: () throws -> Void) rethrows -> Double {
    var best = 0.0
    for _ in 0 ..< 3 {
        var calls = 0
        let start = now()
        var elapsed = 0.0
        repeat {
            try body()
            calls += 1
            elapsed = now() - start
        } while elapsed < seconds
        best = max(best, Double(calls * bytesPerCall) / elapsed / 1e6)
    }
    return best
}

/// Prints `value` with one decimal (Foundation-free formatting).
func format1(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

// MARK: - crypto

func runCryptoBench(_ args: [String]) throws {
    var seconds = 2.0
    var rest = args[...]
    while let arg = rest.popFirst() {
        switch arg {
        case "--seconds":
            guard let value = rest.popFirst().flatMap(Double.init), value > 0 else { fail("--seconds needs a positive number") }
            seconds = value
        default:
            fail("crypto: unknown option '\(arg)'")
        }
    }

    let key = try SymmetricKey.random()
    let nonce = try SecureRandom.bytes(count: AESGCM.nonceByteCount)  // reused: fine for a benchmark only
    var sink: UInt8 = 0  // consumes outputs so no call can be considered dead

    func report(_ mode: String, _ size: Int, _ mbps: Double) {
        print("RESULT crypto.svcconf.\(mode).\(size) \(format1(mbps)) MB/s")
    }

    for size in [16 * 1024, 1024 * 1024] {
        let plaintext = try SecureRandom.bytes(count: size)
        var output = [UInt8](repeating: 0, count: AESGCM.sealedByteCount(plaintextByteCount: size))

        // Allocating API: a new [UInt8] per call.
        report("seal", size, try bestThroughput(seconds: seconds, bytesPerCall: size) {
            sink ^= try AESGCM.seal(plaintext, key: key, nonce: nonce, authenticating: [])[0]
        })
        // Caller-buffer API: one reused output buffer, no payload-sized allocation.
        report("seal_into", size, try plaintext.withUnsafeBytes { pt in
            try output.withUnsafeMutableBytes { out in
                try bestThroughput(seconds: seconds, bytesPerCall: size) {
                    try AESGCM.seal(pt, into: out, key: key, nonce: nonce, authenticating: [])
                    sink ^= out[0]
                }
            }
        })

        guard size == 1024 * 1024 else { continue }
        let sealed = try AESGCM.seal(plaintext, key: key, nonce: nonce, authenticating: [])
        report("open", size, try bestThroughput(seconds: seconds, bytesPerCall: size) {
            sink ^= try AESGCM.open(sealed, key: key, nonce: nonce, authenticating: [])[0]
        })
        report("open_into", size, try sealed.withUnsafeBytes { input in
            try output.withUnsafeMutableBytes { out in
                try bestThroughput(seconds: seconds, bytesPerCall: size) {
                    try AESGCM.open(input, into: out, key: key, nonce: nonce, authenticating: [])
                    sink ^= out[0]
                }
            }
        })
    }
    if sink == 0x5A { print("# sink \(sink)") }  // practically never printed; keeps results observable
}

// MARK: - main

let arguments = CommandLine.arguments
guard arguments.count >= 2 else { fail("missing command") }
do {
    switch arguments[1] {
    case "crypto":
        try runCryptoBench(Array(arguments.dropFirst(2)))
    case "-h", "--help", "help":
        print(usage, terminator: "")
    default:
        fail("unknown command '\(arguments[1])'")
    }
} catch {
    printError("svcconf-bench: \(error)\n")
    exit(1)
}
