// Support for the credential and KMS tests: a small HTTP server of the tests' own (Python's
// http.server on 127.0.0.1, a free port chosen by the OS) and transport doubles that never touch the
// network.

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Foundation
import Testing
@testable import SvcConfAWS
import SvcConfHTTP

/// One canned answer of ``CTServer``.
struct CTRoute: Codable {
    var method: String
    var path: String
    var status: Int = 200
    var body: String = ""
    var headers: [String: String] = [:]
    /// Headers the request must carry with exactly these values, else 401.
    var require: [String: String] = [:]
}

/// A request ``CTServer`` received.
struct CTLoggedRequest: Codable {
    var method: String
    var path: String
    var headers: [String: String]
}

enum CTServerError: Error { case startFailed(String) }

/// A Python http.server on 127.0.0.1 serving fixed routes; it logs every request it receives.
final class CTServer: @unchecked Sendable {
    let process: Process
    let port: Int
    let logPath: String
    let dir: URL
    let stdin: Pipe

    static let script = #"""
import json, os, signal, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Foundation's Process starts children with the spawning (Dispatch) thread's signal mask, which blocks
# SIGTERM: undo that, and also exit when the test process goes away (our stdin closes).
signal.pthread_sigmask(signal.SIG_SETMASK, [])
signal.signal(signal.SIGTERM, signal.SIG_DFL)
def watchdog():
    sys.stdin.buffer.read()
    os._exit(0)
threading.Thread(target=watchdog, daemon=True).start()

routes = json.load(open(sys.argv[1]))
log_path = sys.argv[2]
lock = threading.Lock()

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n: self.rfile.read(n)
        with lock:
            with open(log_path, "a") as f:
                f.write(json.dumps({"method": self.command, "path": self.path,
                                    "headers": {k.lower(): v for k, v in self.headers.items()}}) + "\n")
        for r in routes:
            if r["method"] == self.command and r["path"] == self.path:
                for k, v in r.get("require", {}).items():
                    if self.headers.get(k) != v:
                        return self.reply(401, "unauthorized", {})
                return self.reply(r.get("status", 200), r.get("body", ""), r.get("headers", {}))
        self.reply(404, "not found", {})
    def reply(self, status, body, headers):
        b = body.encode()
        self.send_response(status)
        for k, v in headers.items(): self.send_header(k, v)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    do_GET = do_PUT = do_POST = do_DELETE = handle_any

srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""#

    /// Starts the server; the port is read from its first line of output.
    init(routes: [CTRoute]) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("svcconf-ct-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let scriptPath = dir.appendingPathComponent("server.py").path
        let routesPath = dir.appendingPathComponent("routes.json").path
        logPath = dir.appendingPathComponent("requests.log").path
        try CTServer.script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        try JSONEncoder().encode(routes).write(to: URL(fileURLWithPath: routesPath))
        _ = FileManager.default.createFile(atPath: logPath, contents: Data())

        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-u", scriptPath, routesPath, logPath]
        let out = Pipe()
        let input = Pipe()
        p.standardOutput = out
        p.standardInput = input
        p.standardError = FileHandle.nullDevice
        try runSerialized(p)
        process = p
        stdin = input
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let text = String(data: line, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(p.processIdentifier, SIGKILL)
            throw CTServerError.startFailed("no port from the test server")
        }
        self.port = port
    }

    /// `http://127.0.0.1:PORT`.
    var base: String { "http://127.0.0.1:\(port)" }

    /// The requests received so far.
    func requests() -> [CTLoggedRequest] {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(CTLoggedRequest.self, from: Data($0.utf8)) }
    }

    /// Stops the server (SIGKILL to its own pid: a spawned child may have SIGTERM blocked) and removes
    /// its files.
    func stop() {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            // Not waitUntilExit(): on Linux it can hang when called on a Dispatch thread.
            var waited = 0
            while process.isRunning && waited < 5000 {
                usleep(2000)
                waited += 2
            }
        }
        try? FileManager.default.removeItem(at: dir)
    }

    deinit { stop() }
}

/// Records requests and answers from a closure; never touches the network.
final class CTRecordingTransport: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var _requests: [HTTPRequest] = []
    let answer: @Sendable (HTTPRequest) throws -> HTTPResponse

    init(answer: @escaping @Sendable (HTTPRequest) throws -> HTTPResponse) {
        self.answer = answer
    }

    var requests: [HTTPRequest] { lock.withLock { _requests } }

    func send(_ request: HTTPRequest, timeout: Double) async throws -> HTTPResponse {
        lock.withLock { _requests.append(request) }
        return try answer(request)
    }
}

/// The transport the network tests use: SvcConfHTTP's.
let ctTransport: any HTTPTransport = URLSessionTransport()

/// A retry policy without waiting.
let ctFastRetry = RetryPolicy(maxAttempts: 3, baseDelay: 0, maxDelay: 0, random: { _ in 0 }, sleep: { _ in })

/// An in-memory file reader.
func ctFiles(_ files: [String: String]) -> AWSFileReader {
    { path in files[path] }
}

/// A thread-safe mutable value (a fixed clock the test moves, a counter).
final class CTBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var _value: T
    init(_ value: T) { _value = value }
    var value: T {
        get { lock.withLock { _value } }
        set { lock.withLock { _value = newValue } }
    }
    func update<R>(_ body: (inout T) -> R) -> R { lock.withLock { body(&_value) } }
}

/// A JSON credentials document as ECS and IMDS send it.
func ctCredentialsJSON(keyId: String = "ASIATESTKEY", secret: String = "test/secret+key", token: String = "tok==",
                       expiration: String = "2030-01-02T03:04:05Z", extra: String = "") -> String {
    #"{"AccessKeyId":"\#(keyId)","SecretAccessKey":"\#(secret)","Token":"\#(token)","Expiration":"\#(expiration)"\#(extra)}"#
}

@Suite struct CredentialsTestServerTests {
    @Test func serverAnswersAndLogs() async throws {
        let server = try CTServer(routes: [CTRoute(method: "GET", path: "/x", body: "hello", require: ["X-Test": "1"])])
        defer { server.stop() }
        let ok = try await ctTransport.send(HTTPRequest(method: "GET", scheme: "http", host: "127.0.0.1:\(server.port)", path: "/x",
                                                        headers: [("X-Test", "1")]), timeout: 5)
        #expect(ok.status == 200)
        #expect(String(decoding: ok.body, as: UTF8.self) == "hello")
        let denied = try await ctTransport.send(HTTPRequest(method: "GET", scheme: "http", host: "127.0.0.1:\(server.port)", path: "/x"), timeout: 5)
        #expect(denied.status == 401)
        #expect(server.requests().count == 2)
    }
}
