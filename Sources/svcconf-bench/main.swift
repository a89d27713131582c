// svcconf-bench — in-process micro-benchmarks for svcconf (build with -c release).
//
//   svcconf-bench crypto [--seconds S]
//   svcconf-bench schema --schema FILE --corpus DIR [--repeats N] [--suite DIR] [--name NAME] [--modes LIST]
//   svcconf-bench schema-memory        peak memory growth while validating a 50 MB instance (its own process,
//                                      so nothing else moves the process-wide high-water mark)
//   svcconf-bench sigv4 [--seconds S]  SigV4 signing rate, the request shapes of peers/sigv4.py
//
// Output lines starting with "RESULT" are machine-readable:
//   RESULT <name> <value> <unit>
// To add a subcommand: write a `run<Name>Bench(_ args: [String])` function and
// add a `case` to the switch at the bottom (and a line to `usage`).

import SvcConf
import SvcConfCrypto
import SvcConfAWS
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
      schema --schema FILE --corpus DIR [--repeats N] [--suite DIR]
                             JSON Schema validation rate on DIR/configs.jsonl (from gen_configs.py):
                             is_valid with formats asserted, every error, formats as annotations;
                             median of N timed samples of >= 0.1 s (default 7); --suite DIR also
                             times the cases prepared by scripts/bench-schema from the test suite;
                             --name NAME reports mode M as NAME_M (another schema + corpus, e.g.
                             access_boston); --modes LIST (comma-separated) times only those modes of
                             is_valid_fmt,all_errors_fmt,is_valid_nofmt,is_valid_fmt_valid_half,
                             is_valid_fmt_invalid_half (default: all)
      sigv4 [--seconds S]    SigV4 signatures/s for the shapes of peers/sigv4.py (S3 PUT of 1 KiB, KMS
                             Decrypt), each signature on a fresh unsigned request; 3 rounds of ~S
                             seconds of signing (default 1), best round reported

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

// MARK: - schema

/// Reads a text file through the core's size-limited reader.
func readText(_ path: String, limit: Int = 256 << 20) throws -> [UInt8] {
    try FileInput.read(path, limit: limit)
}

/// The lines of `bytes` (no empty last line).
func splitLines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
    bytes.split(separator: 0x0A, omittingEmptySubsequences: true)
}

/// Times `repeats` samples of `body` over `items` (after a warmup pass); returns rates per second.
/// A sample is as many whole passes over `items` as fit in ~0.1 s (at least one), so that one sample
/// spans about as long as one pass of the Python peer and a brief stall of this shared machine does
/// not decide it.
func timedPasses<T>(_ items: [T], repeats: Int, _ body: (T) -> Int) -> [Double] {
    var sink = 0
    for x in items { sink &+= body(x) }
    var rates: [Double] = []
    for _ in 0..<repeats {
        let t0 = now()
        var passes = 0
        var elapsed = 0.0
        repeat {
            for x in items { sink &+= body(x) }
            passes += 1
            elapsed = now() - t0
        } while elapsed < 0.1
        rates.append(Double(items.count * passes) / elapsed)
    }
    if sink == Int.min { print("# sink \(sink)") }
    return rates
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Prints "RESULT schema.svcconf.<name>.per_s ..." lines for one mode.
func reportRates(_ name: String, _ rates: [Double], count: Int) {
    let med = median(rates)
    let pad = String(repeating: " ", count: max(0, 26 - name.count))
    print("   \(name)\(pad) median \(Int(med.rounded())) validations/s (\(format1(1e6 / med)) us each)   min \(Int(rates.min()!.rounded()))   max \(Int(rates.max()!.rounded()))   (n=\(count) per pass)")
    print("RESULT schema.svcconf.\(name).per_s \(Int(med.rounded())) validations/s")
    print("RESULT schema.svcconf.\(name).per_s_min \(Int(rates.min()!.rounded())) validations/s")
    print("RESULT schema.svcconf.\(name).per_s_max \(Int(rates.max()!.rounded())) validations/s")
    print("RESULT schema.svcconf.\(name).us_each \(format1(1e6 / med)) us")
}

func runSchemaBench(_ args: [String]) throws {
    var schemaPath: String?
    var corpusDir: String?
    var suiteDir: String?
    var repeats = 7
    var name: String?
    let allModes = ["is_valid_fmt", "all_errors_fmt", "is_valid_nofmt", "is_valid_fmt_valid_half", "is_valid_fmt_invalid_half"]
    var modes = allModes
    var rest = args[...]
    while let arg = rest.popFirst() {
        switch arg {
        case "--schema": schemaPath = rest.popFirst()
        case "--corpus": corpusDir = rest.popFirst()
        case "--suite": suiteDir = rest.popFirst()
        case "--repeats":
            guard let v = rest.popFirst().flatMap(Int.init), v > 0 else { fail("--repeats needs a positive integer") }
            repeats = v
        case "--name":
            guard let v = rest.popFirst(), !v.isEmpty else { fail("--name needs a value") }
            name = v
        case "--modes":
            guard let v = rest.popFirst() else { fail("--modes needs a comma-separated list") }
            let list = v.split(separator: ",").map(String.init)
            let unknown = list.filter { !allModes.contains($0) }
            guard !list.isEmpty, unknown.isEmpty else {
                fail("--modes: unknown mode(s) \(unknown) in '\(v)' (known: \(allModes.joined(separator: ",")))")
            }
            modes = allModes.filter { list.contains($0) }
        default: fail("schema: unknown option '\(arg)'")
        }
    }
    guard let schemaPath, let corpusDir else { fail("schema: --schema FILE and --corpus DIR are required") }

    let schema = try JSON.parse(readText(schemaPath))
    let corpus = try splitLines(readText(corpusDir + "/configs.jsonl")).map { try JSON.parse(Array($0)) }
    // index<TAB>valid<TAB>mutation<TAB>format_only
    let expected: [(valid: Bool, formatOnly: Bool)] = try splitLines(readText(corpusDir + "/configs.expected.tsv")).map {
        let f = $0.split(separator: 0x09, omittingEmptySubsequences: false)
        return (f.count > 1 && f[1].first == 0x31, f.count > 3 && f[3].first == 0x31)
    }
    guard expected.count == corpus.count, !corpus.isEmpty else { fail("schema: corpus and expectations differ in length") }

    let t0 = now()
    let vFmt = try SchemaValidator(schema: schema, options: .init(assertFormat: true))
    let compileMs = (now() - t0) * 1000
    let vNo = try SchemaValidator(schema: schema)

    print("== svcconf-bench schema: \(corpus.count) configs, schema \(schemaPath), compiled in \(format1(compileMs)) ms (incl. metaschema check)")
    // correctness against the generator's expectations (the same checks as the peer script)
    var bad: [Int] = []
    var nErrors = 0
    for (i, c) in corpus.enumerated() {
        let fast = vFmt.isValid(c)
        let full = vFmt.validate(c)
        nErrors += full.errors.count
        if fast != expected[i].valid || full.isValid != expected[i].valid
            || vNo.isValid(c) != (expected[i].valid || expected[i].formatOnly)
        {
            bad.append(i)
        }
    }
    guard bad.isEmpty else { throw SvcConfError(.internal, "validation disagrees with the generator at configs \(bad.prefix(10))") }
    let nValid = expected.filter { $0.valid }.count
    print("   sanity: formats asserted -> \(nValid) valid / \(corpus.count - nValid) invalid; \(nErrors) errors in total (all_errors mode)")
    print("   \(repeats) timed samples per mode (each: whole passes over the corpus for >= 0.1 s); validator built once")

    let validHalf = zip(corpus, expected).filter { $0.1.valid }.map { $0.0 }
    let invalidHalf = zip(corpus, expected).filter { !$0.1.valid }.map { $0.0 }
    let label = { (mode: String) in name.map { "\($0)_\(mode)" } ?? mode }
    for mode in modes {
        switch mode {
        case "is_valid_fmt":
            reportRates(label(mode), timedPasses(corpus, repeats: repeats) { vFmt.isValid($0) ? 1 : 0 }, count: corpus.count)
        case "all_errors_fmt":
            reportRates(label(mode), timedPasses(corpus, repeats: repeats) { vFmt.validate($0).errors.count }, count: corpus.count)
        case "is_valid_nofmt":
            reportRates(label(mode), timedPasses(corpus, repeats: repeats) { vNo.isValid($0) ? 1 : 0 }, count: corpus.count)
        case "is_valid_fmt_valid_half":
            reportRates(label(mode), timedPasses(validHalf, repeats: repeats) { vFmt.isValid($0) ? 1 : 0 }, count: validHalf.count)
        default:  // is_valid_fmt_invalid_half
            reportRates(label(mode), timedPasses(invalidHalf, repeats: repeats) { vFmt.isValid($0) ? 1 : 0 }, count: invalidHalf.count)
        }
    }

    if let suiteDir { try runSuiteWorkload(suiteDir, repeats: repeats) }
}

/// The second workload: the largest schema/instance pairs of the JSON-Schema-Test-Suite (by encoded
/// size of schema + instance), each validated with every error collected.
func runSuiteWorkload(_ suiteDir: String, repeats: Int) throws {
    let listing = try readText(suiteDir + "/largest-cases.jsonl")
    var cases: [(SchemaValidator, ConfigValue)] = []
    var registry = SchemaRegistry.standard
    for line in splitLines(try readText(suiteDir + "/remotes.jsonl")) {
        guard case .object(let o) = try JSON.parse(Array(line)), case .string(let uri)? = o["uri"], let s = o["schema"] else { continue }
        registry = try registry.adding(uri: uri, schema: s)
    }
    for line in splitLines(listing) {
        guard case .object(let o) = try JSON.parse(Array(line), limits: .init(maxDepth: 512, maxBytes: 64 << 20, rejectDuplicateKeys: false)),
              let s = o["schema"], let d = o["data"] else { continue }
        cases.append((try SchemaValidator(schema: s, registry: registry), d))
    }
    print("== suite workload: \(cases.count) largest cases of the JSON-Schema-Test-Suite (every error collected)")
    reportRates("suite_largest", timedPasses(cases, repeats: repeats) { $0.0.validate($0.1).errors.count }, count: cases.count)
}

// MARK: - schema-memory

/// Builds a ~50 MB instance (50,000 objects of ~1 KB), then validates it twice (is_valid and every
/// error) and prints how much the peak resident set grew meanwhile: a validator that copied the
/// instance or kept per-item state would grow by about the instance's size.
func runSchemaMemory(_ args: [String]) throws {
    let filler = String(repeating: "abcdefghij", count: 100)
    var items: [ConfigValue] = []
    items.reserveCapacity(50_000)
    for i in 0..<50_000 {
        items.append(.object(["id": .int(Int64(i)), "name": .string(filler + String(i % 10)), "ok": .bool(true)]))
    }
    let instance = ConfigValue.array(items)
    items = []
    let v = try SchemaValidator(schema: try JSON.parse(#"""
    {"type": "array", "items": {"type": "object", "required": ["id", "name"], "additionalProperties": false,
      "properties": {"id": {"type": "integer", "minimum": 0}, "name": {"type": "string", "pattern": "^[a-j]+[0-9]$", "maxLength": 2000},
                     "ok": {"type": "boolean"}}}}
    """#))
    func peakRSS() -> Int {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return u.ru_maxrss * 1024
    }
    let before = peakRSS()
    let valid = v.isValid(instance) && v.validate(instance).isValid
    let grown = peakRSS() - before
    let size = JSON.canonical(instance).count
    print("RESULT schema_memory.instance_bytes \(size) bytes")
    print("RESULT schema_memory.valid \(valid ? 1 : 0) bool")
    print("RESULT schema_memory.peak_rss_growth \(grown) bytes")
}

// MARK: - sigv4

/// The request shapes of `peers/sigv4.py`: an S3 PUT (path-style, 1 KiB body, Content-Type) and a KMS
/// Decrypt (X-Amz-Target, JSON body with a 150-byte base64 blob), with the peer's credentials.
enum SigV4BenchShapes {
    static let credentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let body1k: [UInt8] = (0 ..< 1024).map { UInt8(($0 * 7 + 3) % 256) }
    /// `{"CiphertextBlob": "<base64 of sha256(b"svcconf-peer-kms-blob") * 4 + b"\x01" * 22>"}`, as the peer's.
    static let kmsBody: [UInt8] = Array(#"{"CiphertextBlob": "ryuds2ws0ca4KzxdHfICPdrAZiw5yqEP3zRwZFu8XqqvK52zbCzRxrgrPF0d8gI92sBmLDnKoQ/fNHBkW7xeqq8rnbNsLNHGuCs8XR3yAj3awGYsOcqhD980cGRbvF6qryuds2ws0ca4KzxdHfICPdrAZiw5yqEP3zRwZFu8XqoBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"}"#.utf8)

    static func s3Put() -> HTTPRequest {
        HTTPRequest(method: "PUT", scheme: "https", host: "s3.us-east-1.amazonaws.com", path: "/svcconf-peer/svc/config.json",
                    headers: [("Content-Type", "application/octet-stream")], body: body1k)
    }

    static func kmsDecrypt() -> HTTPRequest {
        HTTPRequest(method: "POST", scheme: "https", host: "kms.us-east-1.amazonaws.com", path: "/",
                    headers: [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "TrentService.Decrypt")],
                    body: kmsBody)
    }

    static let all: [(name: String, service: String, build: @Sendable () -> HTTPRequest)] = [
        ("s3_put", "s3", s3Put), ("kms_decrypt", "kms", kmsDecrypt),
    ]
}

/// Signs batches of fresh, unsigned requests (built before each timed batch, as the peer does) for
/// ~`seconds` of signing time and returns signatures per second. `newSigner` builds a signer per
/// request, as a client that does not keep its signer would (no signing-key cache hits).
func sigV4Rate(seconds: Double, service: String, build: () -> HTTPRequest, newSigner: Bool = false) -> Double {
    let signer = SigV4Signer(credentials: SigV4BenchShapes.credentials, region: "us-east-1", service: service)
    let batch = 10_000
    var signed = 0
    var timed = 0.0
    var sink = 0
    repeat {
        var requests = (0 ..< batch).map { _ in build() }
        let t0 = now()
        if newSigner {
            for i in requests.indices {
                SigV4Signer(credentials: SigV4BenchShapes.credentials, region: "us-east-1", service: service)
                    .sign(&requests[i], date: .now())
            }
        } else {
            for i in requests.indices { signer.sign(&requests[i], date: .now()) }
        }
        timed += now() - t0
        signed += batch
        sink &+= requests[batch - 1].headers.count
        guard requests[batch - 1].header("Authorization")?.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") == true else {
            printError("svcconf-bench: sigv4: request not signed\n")
            exit(1)
        }
    } while timed < seconds
    if sink == Int.min { print("# sink \(sink)") }
    return Double(signed) / timed
}

func runSigV4Bench(_ args: [String]) {
    var seconds = 1.0
    var rest = args[...]
    while let arg = rest.popFirst() {
        switch arg {
        case "--seconds":
            guard let value = rest.popFirst().flatMap(Double.init), value > 0 else { fail("--seconds needs a positive number") }
            seconds = value
        default:
            fail("sigv4: unknown option '\(arg)'")
        }
    }
    print("== svcconf-bench sigv4: 3 rounds x ~\(format1(seconds)) s of signing per shape, fresh unsigned request per signature, date = SigV4Date.now()")
    for shape in SigV4BenchShapes.all {
        _ = sigV4Rate(seconds: 0.05, service: shape.service, build: shape.build)  // warm-up
        var rounds: [Double] = []
        for _ in 0 ..< 3 { rounds.append(sigV4Rate(seconds: seconds, service: shape.service, build: shape.build)) }
        let best = rounds.max()!
        let fresh = sigV4Rate(seconds: min(seconds, 0.5), service: shape.service, build: shape.build, newSigner: true)
        let pad = String(repeating: " ", count: max(0, 12 - shape.name.count))
        print("   \(shape.name)\(pad) sign: best \(Int(best.rounded())) sig/s (\(format1(1e6 / best)) us/sig)   rounds \(rounds.map { String(Int($0.rounded())) }.joined(separator: " "))   | new signer per request \(Int(fresh.rounded())) sig/s")
        print("RESULT sigv4.svcconf.\(shape.name).sign_per_s \(Int(best.rounded())) sig/s")
        print("RESULT sigv4.svcconf.\(shape.name).us_per_sig \(format1(1e6 / best)) us")
        print("RESULT sigv4.svcconf.\(shape.name).new_signer_sign_per_s \(Int(fresh.rounded())) sig/s")
    }
}

// MARK: - main

let arguments = CommandLine.arguments
guard arguments.count >= 2 else { fail("missing command") }
do {
    switch arguments[1] {
    case "crypto":
        try runCryptoBench(Array(arguments.dropFirst(2)))
    case "schema":
        try runSchemaBench(Array(arguments.dropFirst(2)))
    case "schema-memory":
        try runSchemaMemory(Array(arguments.dropFirst(2)))
    case "sigv4":
        runSigV4Bench(Array(arguments.dropFirst(2)))
    case "-h", "--help", "help":
        print(usage, terminator: "")
    default:
        fail("unknown command '\(arguments[1])'")
    }
} catch {
    printError("svcconf-bench: \(error)\n")
    exit(1)
}
