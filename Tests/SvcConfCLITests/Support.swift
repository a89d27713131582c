import Foundation
import SvcConf
import SvcConfTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one run of a process gave back.
typealias RunResult = (code: Int32, out: String, err: String)

/// Every secret the tests plant starts with this; a failing command must never print it.
let canaryPrefix = "canary-"
let canary = "canary-5f1d9b"

/// Locates the svcconf binary: `$SVCCONF_BIN`, else `<repo>/.build/debug/svcconf`.
func svcconfBinary() throws -> String {
    if let bin = ProcessInfo.processInfo.environment["SVCCONF_BIN"], !bin.isEmpty {
        guard FileManager.default.isExecutableFile(atPath: bin) else {
            throw CLITestError("SVCCONF_BIN=\(bin) is not an executable file; run `swift build --product svcconf` first")
        }
        return bin
    }
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while dir.path != "/" {
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            let bin = dir.appendingPathComponent(".build/debug/svcconf").path
            guard FileManager.default.isExecutableFile(atPath: bin) else {
                throw CLITestError("\(bin) does not exist: run `swift build --product svcconf` first (or set SVCCONF_BIN)")
            }
            return bin
        }
        dir = dir.deletingLastPathComponent()
    }
    throw CLITestError("cannot find Package.swift above \(#filePath); set SVCCONF_BIN")
}

struct CLITestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Collects bytes read on another thread.
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var _data = Data()
    var data: Data { lock.withLock { _data } }
    func set(_ d: Data) { lock.withLock { _data = d } }
}

/// Reads a file descriptor to its end, retrying on EINTR (Foundation's readDataToEndOfFile traps on it).
func readToEnd(_ fd: Int32) -> Data {
    var out = Data()
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 { out.append(contentsOf: buf[0..<n]); continue }
        if n < 0 && errno == EINTR { continue }
        return out
    }
}

/// Writes all of `bytes`, retrying on EINTR; stops quietly when the reader is gone.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var off = 0
    while off < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, bytes.count - off) }
        if n > 0 { off += n } else if n < 0 && errno == EINTR { continue } else { return }
    }
}

/// Runs `executable` with `args` in `cwd` and the exact environment `env`; stdin is `/dev/null`
/// unless given. A process that runs for more than `timeout` seconds is killed.
///
/// Started with SvcConfTestSupport's spawnProcess (posix_spawn; see there why not Foundation's `Process`).
func runProcess(_ executable: String, _ args: [String], stdin: String?, env: [String: String], cwd: String,
                timeout: TimeInterval = 120) -> RunResult {
    signal(SIGPIPE, SIG_IGN)
    let out: (read: Int32, write: Int32), err: (read: Int32, write: Int32), input: (read: Int32, write: Int32)?
    do {
        out = try cloexecPipe()
        err = try cloexecPipe()
        input = stdin == nil ? nil : try cloexecPipe()
    } catch {
        return (-1, "", "\(error)")
    }
    let outFds = [out.read, out.write], errFds = [err.read, err.write], inFds = [input?.read ?? -1, input?.write ?? -1]
    let pid: pid_t
    do {
        pid = try spawnProcess(executable, args, env: env, cwd: cwd, stdin: input?.read, stdout: outFds[1], stderr: errFds[1])
    } catch {
        for fd in outFds + errFds + (stdin != nil ? inFds : []) { close(fd) }
        return (-1, "", "\(error)")
    }
    close(outFds[1]); close(errFds[1])
    if stdin != nil { close(inFds[0]) }
    if let stdin {
        writeAll(inFds[1], Array(stdin.utf8))
        close(inFds[1])
    }
    let errData = Collected()
    let group = DispatchGroup()
    group.enter()
    let errFd = errFds[0]
    Thread.detachNewThread {
        errData.set(readToEnd(errFd))
        group.leave()
    }
    let child = pid
    let watchdog = DispatchWorkItem { kill(child, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
    let outData = readToEnd(outFds[0])
    group.wait()
    let code = waitExit(pid)
    watchdog.cancel()
    close(outFds[0]); close(errFds[0])
    return (code, String(decoding: outData, as: UTF8.self), String(decoding: errData.data, as: UTF8.self))
}

/// One test's private world: a fresh temp directory that is the cwd, `$HOME` and (below it)
/// `$XDG_CONFIG_HOME` of every svcconf run. Removed when the test ends.
final class Sandbox: Sendable {
    let root: String
    let binary: String

    init() throws {
        binary = try svcconfBinary()
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("svcconf-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        root = base.resolvingSymlinksInPath().path
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    var xdg: String { root + "/xdg" }
    /// The key `svcconf init` generates without --recipient.
    var defaultKey: String { xdg + "/svcconf/default.key" }

    /// The environment of a run: inherited, minus svcconf's own settings (but `SVCCONF_CLI`, where the
    /// launcher finds the full CLI), plus the sandbox.
    func environment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for k in env.keys where (k.hasPrefix("SVCCONF_") && k != "SVCCONF_CLI") || k.hasPrefix("AWS_") { env[k] = nil }
        env["HOME"] = root
        env["XDG_CONFIG_HOME"] = xdg
        env["SVCCONF_AUTHOR"] = "test"
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// Runs svcconf with `args` in the sandbox.
    func run(_ args: [String], stdin: String? = nil, env: [String: String] = [:]) -> RunResult {
        runProcess(binary, args, stdin: stdin, env: environment(env), cwd: root)
    }

    /// Runs svcconf and requires exit 0 (recording stderr otherwise); returns stdout.
    @discardableResult
    func ok(_ args: [String], stdin: String? = nil, env: [String: String] = [:],
            sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let r = run(args, stdin: stdin, env: env)
        #expect(r.code == 0, "svcconf \(args.joined(separator: " ")) exited \(r.code): \(r.err)", sourceLocation: sourceLocation)
        return r.out
    }

    /// `svcconf init` with the default generated key.
    func initStore(sourceLocation: SourceLocation = #_sourceLocation) {
        ok(["init"], sourceLocation: sourceLocation)
    }

    // MARK: files

    func path(_ rel: String) -> String { rel.hasPrefix("/") ? rel : root + "/" + rel }

    func write(_ rel: String, _ text: String, mode: Int = 0o644) throws {
        try write(rel, Data(text.utf8), mode: mode)
    }

    func write(_ rel: String, _ data: Data, mode: Int = 0o644) throws {
        let p = path(rel)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: p))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: p)
    }

    func read(_ rel: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(rel))) }

    func exists(_ rel: String) -> Bool { FileManager.default.fileExists(atPath: path(rel)) }

    func mode(_ rel: String) throws -> Int {
        let attrs = try FileManager.default.attributesOfItem(atPath: path(rel))
        return (attrs[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// `.svcconf/configs/SVC/ENV[/variants/V]/versions/000000000N.sealed` (relative to the sandbox).
    func versionFile(_ service: String, _ env: String, _ n: Int, variant: String? = nil, store: String = ".svcconf") -> String {
        var d = "\(store)/configs/\(service)/\(env)"
        if let variant { d += "/variants/\(variant)" }
        return d + "/versions/" + String(format: "%010d.sealed", n)
    }

    /// The version numbers present in the store for a config.
    func versionNumbers(_ service: String, _ env: String, variant: String? = nil) -> [Int] {
        let dir = (path(versionFile(service, env, 1, variant: variant)) as NSString).deletingLastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.compactMap { $0.hasSuffix(".sealed") ? Int($0.dropLast(7)) : nil }.sorted()
    }

    /// Every entry under the sandbox with its kind, mode and contents.
    struct Entry: Equatable { var isDirectory: Bool; var mode: Int; var data: Data }
    func snapshot() -> [String: Entry] {
        var out: [String: Entry] = [:]
        let fm = FileManager.default
        guard let e = fm.enumerator(atPath: root) else { return out }
        while let rel = e.nextObject() as? String {
            let p = root + "/" + rel
            var isDir: ObjCBool = false
            _ = fm.fileExists(atPath: p, isDirectory: &isDir)
            let mode = ((try? fm.attributesOfItem(atPath: p))?[.posixPermissions] as? NSNumber)?.intValue ?? -1
            out[rel] = Entry(isDirectory: isDir.boolValue, mode: mode,
                             data: isDir.boolValue ? Data() : ((try? Data(contentsOf: URL(fileURLWithPath: p))) ?? Data()))
        }
        return out
    }

    /// Relative paths of the regular files under the sandbox whose bytes contain `needle`.
    func filesContaining(_ needle: String) -> [String] {
        snapshot().filter { !$0.value.isDirectory && $0.value.data.range(of: Data(needle.utf8)) != nil }.map(\.key).sorted()
    }

    /// Runs a command that must fail: exit `code`, nothing on stdout, one `svcconf: error:` line,
    /// then `svcconf:   ` detail lines (each containing one of `details`, when given), then only
    /// `svcconf: hint:` lines on stderr, no canary anywhere, and the sandbox unchanged.
    @discardableResult
    func expectFailure(_ args: [String], code: Int32, stdin: String? = nil, env: [String: String] = [:],
                       mentions: String? = nil, hint: String? = nil, details: [String] = [],
                       sourceLocation: SourceLocation = #_sourceLocation) -> RunResult {
        let before = snapshot()
        let r = run(args, stdin: stdin, env: env)
        let after = snapshot()
        let cmd = "svcconf " + args.joined(separator: " ")
        expectError(r, code: code, mentions: mentions, hint: hint, details: details, command: cmd, sourceLocation: sourceLocation)
        let changed = Set(before.keys).symmetricDifference(after.keys).union(before.keys.filter { before[$0] != after[$0] })
        #expect(changed.isEmpty, "\(cmd) changed files: \(changed.sorted())", sourceLocation: sourceLocation)
        return r
    }
}

/// The prefix of an error's detail lines (one per schema error of a validation failure).
let detailPrefix = "svcconf:   "

/// The detail lines of an error on stderr, without their prefix.
func errorDetails(_ err: String) -> [String] {
    err.split(separator: "\n").filter { $0.hasPrefix(detailPrefix) }.map { String($0.dropFirst(detailPrefix.count)) }
}

/// The shape of every error: exit `code`, empty stdout, `svcconf: error: ...`, then detail lines
/// (`svcconf:   ...`; each of `details` must be contained in one), then hints, no canary.
func expectError(_ r: RunResult, code: Int32, mentions: String? = nil, hint: String? = nil, details: [String] = [],
                 command: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.code == code, "\(command): exit \(r.code), expected \(code); stderr: \(r.err)", sourceLocation: sourceLocation)
    #expect(r.out.isEmpty, "\(command): stdout should be empty on error, got: \(r.out)", sourceLocation: sourceLocation)
    let lines = r.err.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(r.err.hasSuffix("\n") && lines.count >= 2, "\(command): stderr should be newline-terminated lines: \(r.err)",
            sourceLocation: sourceLocation)
    let body = lines.dropLast()
    #expect(body.first?.hasPrefix("svcconf: error: ") == true, "\(command): first stderr line: \(r.err)", sourceLocation: sourceLocation)
    let afterError = body.dropFirst()
    let detailLines = afterError.prefix { $0.hasPrefix(detailPrefix) }
    #expect(afterError.dropFirst(detailLines.count).allSatisfy { $0.hasPrefix("svcconf: hint: ") },
            "\(command): extra stderr lines: \(r.err)", sourceLocation: sourceLocation)
    for d in details {
        #expect(detailLines.contains { $0.contains(d) }, "\(command): no detail line contains \(d): \(r.err)",
                sourceLocation: sourceLocation)
    }
    #expect(!r.out.contains(canaryPrefix) && !r.err.contains(canaryPrefix), "\(command): a secret leaked: \(r.out)\(r.err)",
            sourceLocation: sourceLocation)
    if let mentions {
        #expect(body.first?.contains(mentions) == true, "\(command): error should mention \(mentions): \(r.err)", sourceLocation: sourceLocation)
    }
    if let hint {
        #expect(body.dropFirst().contains { $0.contains(hint) }, "\(command): a hint should contain \(hint): \(r.err)",
                sourceLocation: sourceLocation)
    }
}

/// Parses JSON output with the product's own strict parser.
func parseJSON(_ text: String) throws -> ConfigValue { try JSON.parse(text) }

/// Writes per process in the concurrency tests: small by default, `SVCCONF_HARDENING_WRITES`
/// (scripts/hardening sets 50) for the full pass.
func hardeningWrites(_ defaultCount: Int) -> Int {
    ProcessInfo.processInfo.environment["SVCCONF_HARDENING_WRITES"].flatMap(Int.init).map { max(1, $0) } ?? defaultCount
}
