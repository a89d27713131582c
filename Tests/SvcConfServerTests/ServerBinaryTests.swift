import Foundation
import SvcConf
import SvcConfAuth
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The built `svcconf-server`: `$SVCCONF_SERVER_BIN`, else `.build/debug/svcconf-server`.
func serverBinary() throws -> String {
    if let bin = ProcessInfo.processInfo.environment["SVCCONF_SERVER_BIN"], !bin.isEmpty { return bin }
    let bin = OpenAPI.path + "/.build/debug/svcconf-server"
    guard FileManager.default.isExecutableFile(atPath: bin) else {
        throw SvcConfError(.notFound, "\(bin) does not exist: run `swift build` first (or set SVCCONF_SERVER_BIN)")
    }
    return bin
}

/// A loopback TCP connection to `port` (receive timeout `timeout` seconds).
func connectLoopback(port: Int, timeout: Int = 20) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw SvcConfError(.unavailable, "socket") }
    var tv = timeval(tv_sec: timeout, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard ok == 0 else { close(fd); throw SvcConfError(.unavailable, "connect to 127.0.0.1:\(port)") }
    return fd
}

/// One HTTP/1.1 request over a fresh loopback connection; returns the status and the body.
func httpGet(port: Int, path: String, token: String?, method: String = "GET", headers: [String] = []) throws -> (status: Int, body: String) {
    let fd = try connectLoopback(port: port)
    defer { close(fd) }
    var req = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    if let token { req += "Authorization: Bearer \(token)\r\n" }
    for h in headers { req += h + "\r\n" }
    req += "\r\n"
    let bytes = Array(req.utf8)
    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = recv(fd, &buf, buf.count, 0)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    let text = String(decoding: out, as: UTF8.self)
    let statusLine = text.split(separator: "\r\n").first ?? ""
    let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
    let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
    return (status, body)
}

@Suite("Server binary")
struct ServerBinaryTests {
    @Test("svcconf-server on 127.0.0.1 port 0: prints its address, answers /healthz and a read token's config, exits 0 on SIGTERM")
    func smoke() async throws {
        let bin = try serverBinary()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("svcconf-server-bin-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let keyPath = dir + "/server.key"
        let store = FileStore(path: dir + "/store")
        _ = try await ConfigRepository(store: store, keyring: Keyring(localKeys: []), author: "t").initialize(recipients: ["local:" + keyPath])
        let repo = ConfigRepository(store: store, keyring: try Keyring.load(paths: [keyPath]), author: "t")
        let a = try ConfigAddress(service: "access-boston", env: "prod")
        _ = try await repo.update(a, message: "m") { $0.values = ["PING_HOST": "sso.example.test", "DB_PASSWORD": .string(canarySecret)] }
        let token = try AccessToken.mint(), ops = try AccessToken.mint()
        let entry = try TokenFile.Entry(hash: AccessToken.hash(of: token), name: "app", grants: [try Grant(parsing: "read:access-boston/prod")])
        let opsEntry = try TokenFile.Entry(hash: AccessToken.hash(of: ops), name: "ops", grants: [try Grant(parsing: "admin:*/*")])
        _ = FileManager.default.createFile(atPath: dir + "/tokens", contents: Data((entry.line + "\n" + opsEntry.line + "\n").utf8), attributes: [.posixPermissions: 0o600])

        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = ["--store", "file:" + dir + "/store", "--key-file", keyPath, "--tokens", dir + "/tokens", "--host", "127.0.0.1", "--port", "0", "--idle-timeout", "2"]
        var env = ProcessInfo.processInfo.environment
        for k in env.keys where k.hasPrefix("SVCCONF_") { env.removeValue(forKey: k) }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try runSerialized(p)
        defer { if p.isRunning { p.terminate() } }

        // The first stdout line names the bound address.
        var line: [UInt8] = []
        let deadline = Date().addingTimeInterval(60)
        let outFD = out.fileHandleForReading.fileDescriptor
        while Date() < deadline {
            var c: UInt8 = 0
            let n = read(outFD, &c, 1)
            if n <= 0 { break }
            if c == 0x0A { break }
            line.append(c)
        }
        let first = String(decoding: line, as: UTF8.self)
        #expect(first.hasPrefix("svcconf-server: listening on http://127.0.0.1:"), "stdout: \(first)")
        let port = try #require(Int(first.split(separator: ":").last ?? ""))
        #expect(port > 0)

        let health = try httpGet(port: port, path: "/healthz", token: nil)
        #expect(health.status == 200)
        let config = try httpGet(port: port, path: "/v1/services/access-boston/envs/prod/config", token: token)
        #expect(config.status == 200)
        #expect(config.body.contains(canarySecret))
        let denied = try httpGet(port: port, path: "/v1/services/access-boston/envs/prod/view", token: token)
        #expect(denied.status == 403)
        // A declared body over the limit is refused before it is read.
        let big = try httpGet(port: port, path: "/v1/services/access-boston/envs/prod/config", token: ops, method: "PUT",
                              headers: ["If-Match: \"1\"", "Content-Type: application/json", "Content-Length: 999999999"])
        #expect(big.status == 413)
        // A connection that sends nothing is closed after the idle timeout (2 s here).
        let idle = try connectLoopback(port: port, timeout: 15)
        let started = Date()
        var byte: UInt8 = 0
        let n = recv(idle, &byte, 1, 0)
        close(idle)
        #expect(n == 0, "the server closes an idle connection")
        #expect(Date().timeIntervalSince(started) < 12)

        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit)
        #expect(p.terminationStatus == 0)
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let requestLines = log.split(separator: "\n").filter { $0.contains("\"message\":\"request\"") }
        #expect(requestLines.count == 4, "\(log)")
        #expect(!log.contains(canarySecret))
        #expect(!log.contains(token) && !log.contains(ops))
    }

    @Test("svcconf-server refuses to start without a token file, and with one others can write")
    func refusals() throws {
        let bin = try serverBinary()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("svcconf-server-bin-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func run(_ args: [String]) throws -> (Int32, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: bin)
            p.arguments = args
            var env = ProcessInfo.processInfo.environment
            for k in env.keys where k.hasPrefix("SVCCONF_") { env.removeValue(forKey: k) }
            p.environment = env
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try runSerialized(p)
            let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, e)
        }
        let (c1, e1) = try run(["--store", "file:" + dir, "--port", "0"])
        #expect(c1 == 2)
        #expect(e1.contains("svcconf-server: error: no token file"))
        _ = FileManager.default.createFile(atPath: dir + "/tokens", contents: Data(), attributes: [.posixPermissions: 0o666])
        chmod(dir + "/tokens", 0o666)
        let (c2, e2) = try run(["--store", "file:" + dir, "--tokens", dir + "/tokens", "--port", "0"])
        #expect(c2 == 8)
        #expect(e2.contains("writable by group or others"))
    }
}
