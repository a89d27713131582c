import Foundation
import SvcConf
import SvcConfAuth
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real `svcconf-server` process on 127.0.0.1 (port 0: the one it prints), stopped with SIGTERM.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let stderrPipe = Pipe()
    var base: String { "http://127.0.0.1:\(port)" }

    init(arguments: [String], environment extra: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: try serverBinary())
        process.arguments = arguments + ["--host", "127.0.0.1", "--port", "0"]
        var env = ProcessInfo.processInfo.environment
        for k in env.keys where k.hasPrefix("SVCCONF_") { env.removeValue(forKey: k) }
        env.merge(extra) { $1 }
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = stderrPipe
        try runSerialized(process)
        var line: [UInt8] = []
        let fd = out.fileHandleForReading.fileDescriptor
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            var c: UInt8 = 0
            if read(fd, &c, 1) <= 0 || c == 0x0A { break }
            line.append(c)
        }
        let first = String(decoding: line, as: UTF8.self)
        guard first.hasPrefix("svcconf-server: listening on http://127.0.0.1:"), let p = Int(first.split(separator: ":").last ?? "") else {
            process.terminate()
            throw SvcConfError(.unavailable, "svcconf-server did not start: \(first)")
        }
        port = p
    }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    deinit { if process.isRunning { process.terminate() } }
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

/// Runs a program; returns exit status, stdout and stderr.
func runProgram(_ path: String, _ args: [String], environment: [String: String]? = nil) throws -> (code: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    if let environment { p.environment = environment }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try runSerialized(p)
    let group = DispatchGroup()
    nonisolated(unsafe) var o = Data(), e = Data()
    group.enter()
    DispatchQueue.global().async { o = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    e = err.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// The built `svcconf` launcher: `$SVCCONF_BIN`, else `.build/debug/svcconf`.
func svcconfBinary() throws -> String {
    if let bin = ProcessInfo.processInfo.environment["SVCCONF_BIN"], !bin.isEmpty { return bin }
    let bin = OpenAPI.path + "/.build/debug/svcconf"
    guard FileManager.default.isExecutableFile(atPath: bin) else { throw SvcConfError(.notFound, "\(bin) does not exist: run `swift build` first") }
    return bin
}
