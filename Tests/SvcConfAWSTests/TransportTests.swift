// URLSessionTransport against a tiny local Python HTTP server (started by each test on 127.0.0.1):
// what goes on the wire, and that cut-off bodies, resets, redirects, compressed bodies and timeouts
// come back as the right errors (and that S3Client retries a GET after them).

import Foundation
import SvcConfAWS
import SvcConfHTTP
import Testing

/// A local HTTP server with scripted misbehaviour. Routes (first path segment):
/// - `/echo...`: 200, JSON of the request as received (raw path, headers in order and case, body).
/// - `/short`: Content-Length 100, 10 bytes, then FIN.      - `/reset`: 1000 of 100000 bytes, then RST.
/// - `/resetnow`: RST before any answer.                      - `/chunkcut`: chunked, cut mid-stream.
/// - `/redirect`: 301 to /echo.                               - `/gzip`: a gzip body, Content-Encoding gzip.
/// - `/hang`: no answer for 30 s.                            - `/count/<route>`: how often <route> was asked.
/// - `/flaky/<n>/<mode>/<id>`: `<mode>` for the first n requests of that path, then echo.
/// The server exits when its stdin closes, so it never outlives the test process.
final class TransportTestServer: @unchecked Sendable {
    static let script = #"""
import http.server, socketserver, socket, struct, sys, json, threading, gzip, time, os
counts = {}
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers: self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)
    def rst(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()
    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        route = self.path.split("?")[0]
        with lock:
            counts[route] = counts.get(route, 0) + 1
            count = counts[route]
        parts = route.strip("/").split("/")
        mode = parts[0]
        if mode == "flaky":
            mode = parts[2] if count <= int(parts[1]) else "echo"
        if mode == "echo":
            out = json.dumps({"method": self.command, "path": self.path, "count": count,
                              "headers": [[k, v] for k, v in self.headers.raw_items()],
                              "body": body.decode("latin-1")}).encode()
            self.answer(200, out, [("Content-Type", "application/json"), ("ETag", '"e-1"'), ("X-Amz-Request-Id", "R1"), ("X-Mixed-CASE", "v")])
        elif mode == "count":
            self.answer(200, str(counts.get("/" + "/".join(parts[1:]), 0)).encode())
        elif mode == "short":
            self.send_response(200); self.send_header("Content-Length", "100"); self.end_headers()
            self.wfile.write(b"x" * 10); self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_WR)
        elif mode == "reset":
            self.send_response(200); self.send_header("Content-Length", "100000"); self.end_headers()
            self.wfile.write(b"x" * 1000); self.wfile.flush(); time.sleep(0.05)
            self.rst()
        elif mode == "resetnow":
            self.rst()
        elif mode == "chunkcut":
            self.send_response(200); self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
            self.wfile.write(b"a\r\n0123456789\r\n"); self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_WR)
        elif mode == "redirect":
            self.answer(301, b"", [("Location", "/echo/redirected")])
        elif mode == "gzip":
            self.answer(200, gzip.compress(b"hello hello hello hello"), [("Content-Encoding", "gzip")])
        elif mode == "hang":
            time.sleep(30)
        else:
            self.answer(404)
    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
def watch_parent():
    sys.stdin.read()
    os._exit(0)
threading.Thread(target=watch_parent, daemon=True).start()
s = S(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""#

    let process = Process()
    let stdin = Pipe()
    let lock = NSLock()
    var stopped = false
    let port: Int
    let scriptURL: URL

    init() throws {
        scriptURL = FileManager.default.temporaryDirectory.appendingPathComponent("svcconf-transport-\(UUID().uuidString).py")
        try Self.script.write(to: scriptURL, atomically: true, encoding: .utf8)
        let stdout = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-u", scriptURL.path]
        process.standardInput = stdin
        process.standardOutput = stdout
        try runSerialized(process)
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let p = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL)
            throw AWSError(.connection, "the test server did not start")
        }
        port = p
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }

    func request(_ method: String, _ path: String, query: [(name: String, value: String)] = [],
                 headers: [(name: String, value: String)] = [], body: [UInt8] = []) -> HTTPRequest {
        HTTPRequest(method: method, scheme: "http", host: "127.0.0.1:\(port)", path: path, query: query, headers: headers, body: body)
    }

    /// How many requests `route` received.
    func count(_ route: String) async throws -> Int {
        let r = try await URLSessionTransport().send(request("GET", "/count" + route), timeout: 5)
        return Int(String(decoding: r.body, as: UTF8.self)) ?? -1
    }

    /// Closing stdin makes the server exit. (Not `terminate()`: a child started by Foundation's Process
    /// from a Swift concurrency thread inherits that thread's blocked signal mask, SIGTERM included.)
    func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        try? stdin.fileHandleForWriting.close()
        for _ in 0..<100 where process.isRunning { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: scriptURL)
    }

    deinit { stop() }
}

/// The echo server's JSON view of a request.
struct TransportEcho: Decodable {
    var method: String
    var path: String
    var count: Int
    var headers: [[String]]
    var body: String

    func header(_ name: String) -> [String] {
        headers.filter { $0[0].lowercased() == name.lowercased() }.map { $0[1] }
    }

    static func decode(_ r: HTTPResponse) throws -> TransportEcho {
        try JSONDecoder().decode(TransportEcho.self, from: Data(r.body))
    }
}

enum TransportT {
    static func expectError(_ kind: AWSError.Kind, sourceLocation: SourceLocation = #_sourceLocation,
                            _ body: () async throws -> Void) async -> AWSError? {
        do {
            try await body()
            Issue.record("expected AWSError(.\(kind))", sourceLocation: sourceLocation)
        } catch let e as AWSError {
            #expect(e.kind == kind, "got \(e)", sourceLocation: sourceLocation)
            return e
        } catch {
            Issue.record("expected AWSError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    static func fastPolicy() -> RetryPolicy { RetryPolicy(maxAttempts: 4, random: { $0 }, sleep: { _ in }) }

    static func s3(_ server: TransportTestServer, policy: RetryPolicy = fastPolicy()) throws -> S3Client {
        try S3Client(transport: URLSessionTransport(), credentials: { AWSCredentials(accessKeyId: "AKIDTEST", secretAccessKey: "secret") },
                     region: "us-east-1", endpoint: server.endpoint, retryPolicy: policy)
    }
}

@Suite("URLSession transport (local server)", .serialized)
struct TransportTests {
    @Test func sendsTheURLAndHeadersExactly() async throws {
        let server = try TransportTestServer()
        defer { server.stop() }
        let t = URLSessionTransport()
        let path = "/echo/a%20b/c%2Fd~e!f(g)*h'i;j/%2B%25//%C3%BC"
        let r = try await t.send(server.request("GET", path, query: [("prefix", "a/b c+d"), ("list-type", "2"), ("empty", "")],
                                                headers: [("x-amz-date", "20150830T123600Z"), ("X-Amz-Meta-Case", "KeepValue  as is")]),
                                 timeout: 5)
        #expect(r.status == 200)
        let echo = try TransportEcho.decode(r)
        #expect(echo.path == path + "?empty=&list-type=2&prefix=a%2Fb%20c%2Bd")
        #expect(echo.header("host") == ["127.0.0.1:\(server.port)"])
        #expect(echo.header("accept-encoding") == ["identity"])
        #expect(echo.header("x-amz-date") == ["20150830T123600Z"])
        #expect(echo.header("x-amz-meta-case") == ["KeepValue  as is"])
        #expect(echo.header("content-type").isEmpty)
        #expect(echo.header("cookie").isEmpty)
        // Response names lower-cased, values intact.
        #expect(r.headers.allSatisfy { $0.name == $0.name.lowercased() })
        #expect(r.header("etag") == "\"e-1\"")
        #expect(r.header("x-mixed-case") == "v")
        #expect(r.header("X-Amz-Request-Id") == "R1")
    }

    @Test func bodiesAndContentTypes() async throws {
        let server = try TransportTestServer()
        defer { server.stop() }
        let t = URLSessionTransport()
        let body = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let put = try TransportEcho.decode(try await t.send(server.request("PUT", "/echo/k", body: body), timeout: 5))
        #expect(put.method == "PUT" && Array(put.body.unicodeScalars.map { UInt8($0.value) }) == body)
        #expect(put.header("content-length") == ["70000"])
        #expect(put.header("content-type") == ["application/octet-stream"])
        let typed = try TransportEcho.decode(try await t.send(server.request("PUT", "/echo/k", headers: [("Content-Type", "text/plain")], body: [1]), timeout: 5))
        #expect(typed.header("content-type") == ["text/plain"])
        let post = try TransportEcho.decode(try await t.send(server.request("POST", "/echo/p", body: Array("a=b".utf8)), timeout: 5))
        #expect(post.header("content-type") == ["application/octet-stream"])  // never URLSession's form type
        let emptyPut = try TransportEcho.decode(try await t.send(server.request("PUT", "/echo/empty"), timeout: 5))
        #expect(emptyPut.header("content-length") == ["0"] && emptyPut.body.isEmpty)
        let del = try TransportEcho.decode(try await t.send(server.request("DELETE", "/echo/k"), timeout: 5))
        #expect(del.method == "DELETE" && del.header("content-type").isEmpty)
    }

    @Test func headAnswersHaveNoBody() async throws {
        let server = try TransportTestServer()
        defer { server.stop() }
        let r = try await URLSessionTransport().send(server.request("HEAD", "/echo/k"), timeout: 5)
        #expect(r.status == 200 && r.body.isEmpty)
        #expect(Int(r.header("content-length") ?? "") ?? 0 > 0)
    }

    @Test func shortBodyIsAnError() async throws {
        let server = try TransportTestServer()
        defer { server.stop() }
        let e = await TransportT.expectError(.connection) { _ = try await URLSessionTransport().send(server.request("GET", "/short"), timeout: 5) }
        #expect(e?.message.hasPrefix("GET http://127.0.0.1:\(server.port)/short: ") == true)
    }

    @Test func resetMidBodyIsAnError() async throws {
        let server = try TransportTestServer()
        defer { server.stop() }
        let t = URLSessionTransport()
        _ = await TransportT.expectError(.connection) { _ = try await t.send(server.request("GET", "/reset"), timeout: 5) }
        _ = await TransportT.expectError(.connection) { _ = try await t.send(server.request("GET", "/resetnow"), timeout: 5) }
        _ = await TransportT.expectError(.connection) { _ = try await t.send(server.request("GET", "/chunkcut"), timeout: 5) }
        // The session is still usable afterwards.
        #expect(try await t.send(server.request("GET", "/echo/after"), timeout: 5).status == 200)
    }

    @Test func redirectsAreNotFollowed() async throws {
        let server = try TransportTestServer()
        defer { server.stop() }
        let r = try await URLSessionTransport().send(server.request("GET", "/redirect"), timeout: 5)
        #expect(r.status == 301)
        #expect(r.header("location") == "/echo/redirected")
        #expect(try await server.count("/echo/redirected") == 0)
    }

    @Test func compressedBodiesAreRefusedNotDecoded() async throws {
        let server = try TransportTestServer()
        defer { server.stop() }
        let e = await TransportT.expectError(.malformedResponse) { _ = try await URLSessionTransport().send(server.request("GET", "/gzip"), timeout: 5) }
        #expect(e?.message.contains("Content-Encoding gzip") == true)
    }

    @Test func timeoutsAndRefusedConnections() async throws {
        let server = try TransportTestServer()
        defer { server.stop() }
        let t = URLSessionTransport()
        let e = await TransportT.expectError(.timeout) { _ = try await t.send(server.request("GET", "/hang"), timeout: 0.5) }
        #expect(e?.message.contains("0.5 s") == true)
        let refused = HTTPRequest(method: "GET", scheme: "http", host: "127.0.0.1:1", path: "/x")
        _ = await TransportT.expectError(.connection) { _ = try await t.send(refused, timeout: 5) }
    }

    @Test func requestsItWillNotSendAsIs() async throws {
        let t = URLSessionTransport()
        let base = HTTPRequest(method: "GET", scheme: "http", host: "127.0.0.1:1", path: "/a")
        var injected = base
        injected.headers = [("X-Test", "a\r\nX-Evil: 1")]
        _ = await TransportT.expectError(.invalidRequest) { _ = try await t.send(injected, timeout: 1) }
        var badName = base
        badName.headers = [("Bad Name", "v")]
        _ = await TransportT.expectError(.invalidRequest) { _ = try await t.send(badName, timeout: 1) }
        var raw = base
        raw.path = "/a b"  // would have to be re-encoded: refused, never sent differently from what was signed
        _ = await TransportT.expectError(.invalidRequest) { _ = try await t.send(raw, timeout: 1) }
    }

    @Test func s3GetIsRetriedAfterAResetAndAShortBody() async throws {
        let server = try TransportTestServer()
        defer { server.stop() }
        let s3 = try TransportT.s3(server)
        for mode in ["reset", "short", "resetnow", "chunkcut"] {
            let key = "1/\(mode)/\(UUID().uuidString)"
            let (bytes, etag) = try await s3.getObject(bucket: "flaky", key: key)
            let echo = try JSONDecoder().decode(TransportEcho.self, from: Data(bytes))
            #expect(echo.count == 2, "\(mode)")
            #expect(etag == "\"e-1\"")
            #expect(echo.header("authorization").count == 1)
        }
        // Failing every time: an error after four attempts, never a short body.
        let e = await TransportT.expectError(.connection) { _ = try await s3.getObject(bucket: "flaky", key: "9/short/always") }
        #expect(e?.message.hasPrefix("get s3://flaky/9/short/always: ") == true)
        #expect(try await server.count("/flaky/9/short/always") == 4)
    }

    @Test func aNonIdempotentRequestIsNotRetriedAfterAReset() async throws {
        let server = try TransportTestServer()
        defer { server.stop() }
        let path = "/flaky/1/resetnow/\(UUID().uuidString)"
        let post = server.request("POST", path, headers: [("Content-Type", "application/xml")], body: Array("<Delete/>".utf8))
        _ = await TransportT.expectError(.connection) {
            _ = try await TransportT.fastPolicy().send(using: URLSessionTransport(), timeout: 5) { _ in post }
        }
        #expect(try await server.count(path) == 1)
        // The same request as a GET is retried and succeeds.
        let getPath = "/flaky/1/resetnow/\(UUID().uuidString)"
        let out = try await TransportT.fastPolicy().send(using: URLSessionTransport(), timeout: 5) { _ in server.request("GET", getPath) }
        #expect(out.response.status == 200 && out.attempts == 2 && out.unansweredAttempts == 1)
    }
}
