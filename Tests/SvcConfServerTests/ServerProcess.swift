import Foundation
import SvcConfTestSupport
import SvcConf
import SvcConfAuth
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real `svcconf-server` process on 127.0.0.1 (port 0: the one it prints), stopped with SIGTERM.
/// Started with posix_spawn (Spawn.swift). Its stderr (one JSON log line per request) goes to a file
/// (``logPath``), never to a pipe nobody reads: a busy server would block writing its log once the
/// pipe's 64 KB are full. The rest of its stdout is drained on a thread of its own.
final class ServerProcess: @unchecked Sendable {
    let pid: pid_t
    let port: Int
    /// The server's stderr, removed when this object goes.
    let logPath: String
    private let stdoutDrain: Drained
    private let lock = NSLock()
    private var status: Int32?
    var base: String { "http://127.0.0.1:\(port)" }

    init(arguments: [String], environment extra: [String: String] = [:]) throws {
        var env = ProcessInfo.processInfo.environment
        for k in env.keys where k.hasPrefix("SVCCONF_") { env.removeValue(forKey: k) }
        env.merge(extra) { $1 }
        let bin = try serverBinary()
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("svcconf-server-log-\(UUID().uuidString)").path
        let logFd = open(logPath, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard logFd >= 0 else { throw SpawnError("cannot create \(logPath): \(String(cString: strerror(errno)))") }
        defer { close(logFd) }
        let out = try cloexecPipe()
        let pid: pid_t
        do {
            pid = try spawn(bin, arguments + ["--host", "127.0.0.1", "--port", "0"], env: env, stdout: out.write, stderr: logFd)
        } catch {
            close(out.read)
            close(out.write)
            unlink(logPath)
            throw error
        }
        close(out.write)
        self.pid = pid
        self.logPath = logPath
        var line: [UInt8] = []
        while true {
            var c: UInt8 = 0
            let n = read(out.read, &c, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || c == 0x0A { break }
            line.append(c)
        }
        stdoutDrain = Drained(out.read)
        let first = String(decoding: line, as: UTF8.self)
        guard first.hasPrefix("svcconf-server: listening on http://127.0.0.1:"), let p = Int(first.split(separator: ":").last ?? "") else {
            kill(pid, SIGKILL)
            let code = waitExit(pid)
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            unlink(logPath)
            throw SvcConfError(.unavailable, "svcconf-server did not start (exit \(code)): \(first) \(log.suffix(500))")
        }
        port = p
    }

    /// SIGTERM, then wait up to 10 s for the graceful shutdown, then SIGKILL (the status then says
    /// 137); only once. Returns the exit status (128 + N for signal N).
    @discardableResult
    func stop() -> Int32 {
        lock.withLock {
            if let status { return status }
            kill(pid, SIGTERM)
            var s = waitExit(pid, within: 10)
            if s == nil {
                kill(pid, SIGKILL)
                s = waitExit(pid)
            }
            status = s
            return s!
        }
    }

    /// Everything the server wrote on stderr; stops it first.
    var stderrText: String {
        stop()
        return (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    deinit {
        if status == nil {
            kill(pid, SIGKILL)
            _ = waitExit(pid)
        }
        unlink(logPath)
    }
}

/// A temp directory with a file store (one local key), a token file and helpers for binaries.
struct BinarySandbox {
    let dir: String
    let keyPath: String
    var storeURL: String { "file:" + dir + "/store" }

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("svcconf-bin-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        keyPath = dir + "/server.key"
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    /// A store holding access-boston prod (two versions, a canary secret and a secret file) and staging.
    func seedFileStore() async throws {
        let store = FileStore(path: dir + "/store")
        _ = try await ConfigRepository(store: store, keyring: Keyring(localKeys: []), author: "t").initialize(recipients: ["local:" + keyPath])
        let repo = ConfigRepository(store: store, keyring: try Keyring.load(paths: [keyPath]), author: "setup")
        _ = try await repo.setSchema("access-boston", document: testSchema)
        let prod = try ConfigAddress(service: "access-boston", env: "prod"), staging = try ConfigAddress(service: "access-boston", env: "staging")
        _ = try await repo.update(prod, message: "first") {
            $0.values = ["PING_HOST": "sso.example.test", "DB_PASSWORD": .string(canarySecret), "PORT": 8080]
            $0.files = ["server.key": Array(canaryFile.utf8), "notes.txt": Array("hello".utf8)]
        }
        _ = try await repo.update(prod, message: "second") { $0.values["PING_HOST"] = "sso2.example.test"; $0.values["DB_PASSWORD"] = .string(canarySecret + "-2") }
        _ = try await repo.update(staging, message: "staging") {
            $0.values = ["PING_HOST": "sso.staging.test", "DB_PASSWORD": .string(canarySecret + "-staging")]
        }
    }

    /// Mints tokens (name → grants), writes the token file (0600) and each token to `NAME.token` (0600).
    func tokens(_ grants: [String: [String]]) throws -> [String: String] {
        var out: [String: String] = [:]
        var lines = ""
        for (name, g) in grants.sorted(by: { $0.key < $1.key }) {
            let t = try AccessToken.mint()
            out[name] = t
            lines += try TokenFile.Entry(hash: AccessToken.hash(of: t), name: name, grants: try g.map { try Grant(parsing: $0) }).line + "\n"
            _ = FileManager.default.createFile(atPath: "\(dir)/\(name).token", contents: Data((t + "\n").utf8), attributes: [.posixPermissions: 0o600])
        }
        _ = FileManager.default.createFile(atPath: dir + "/tokens", contents: Data(lines.utf8), attributes: [.posixPermissions: 0o600])
        return out
    }

    func startServer(_ extra: [String] = [], environment: [String: String] = [:]) throws -> ServerProcess {
        try ServerProcess(arguments: ["--store", storeURL, "--key-file", keyPath, "--tokens", dir + "/tokens", "--rate-limit", "1000", "--rate-burst", "100000"] + extra,
                          environment: environment)
    }
}

/// Runs a program (posix_spawn, stdin /dev/null) with `environment` (default: this process's);
/// returns exit status, stdout and stderr. Killed after `timeout` seconds. It blocks: from async
/// code that waits long, call it through ``onThread(_:)``.
func runProgram(_ path: String, _ args: [String], environment: [String: String]? = nil, timeout: TimeInterval = 900) throws -> (code: Int32, out: String, err: String) {
    let out = try cloexecPipe(), err = try cloexecPipe()
    let pid: pid_t
    do {
        pid = try spawn(path, args, env: environment ?? ProcessInfo.processInfo.environment, stdout: out.write, stderr: err.write)
    } catch {
        for fd in [out.read, out.write, err.read, err.write] { close(fd) }
        throw error
    }
    close(out.write)
    close(err.write)
    let o = Drained(out.read), e = Drained(err.read)
    let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
    let code = waitExit(pid)
    watchdog.cancel()
    return (code, String(decoding: o.wait(), as: UTF8.self), String(decoding: e.wait(), as: UTF8.self))
}

/// The built `svcconf` launcher: `$SVCCONF_BIN`, else `.build/debug/svcconf`.
func svcconfBinary() throws -> String {
    if let bin = ProcessInfo.processInfo.environment["SVCCONF_BIN"], !bin.isEmpty { return bin }
    let bin = OpenAPI.path + "/.build/debug/svcconf"
    guard FileManager.default.isExecutableFile(atPath: bin) else { throw SvcConfError(.notFound, "\(bin) does not exist: run `swift build` first") }
    return bin
}
