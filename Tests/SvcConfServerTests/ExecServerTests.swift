import Foundation
import SvcConf
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `svcconf exec --server URL --token-file F ...`: the real `svcconf` launcher (which hands the line
/// to svcconf-cli) against the real svcconf-server, and against a stub for the odd answers.
@Suite("ExecServer: svcconf exec --server")
struct ExecServerTests {
    /// The environment for the binaries: no SVCCONF_* from outside.
    static var cleanEnv: [String: String] {
        var env = ProcessInfo.processInfo.environment
        for k in env.keys where k.hasPrefix("SVCCONF_") { env.removeValue(forKey: k) }
        return env
    }

    @Test("ExecServer: fetches the config with a read token and execs the command with values and files; refusals start nothing")
    func againstServer() async throws {
        let sb = try BinarySandbox()
        defer { sb.remove() }
        try await sb.seedFileStore()
        _ = try sb.tokens(["app": ["read:access-boston/prod"], "ci": ["review:*/*"]])
        let server = try sb.startServer()
        defer { server.stop() }
        let bin = try svcconfBinary()
        let files = sb.dir + "/app"
        let marker = sb.dir + "/started"

        let ok = try runProgram(bin, ["exec", "--server", server.base, "--token-file", sb.dir + "/app.token", "access-boston", "--env", "prod",
                                      "--files-dir", files, "--env-file", sb.dir + "/app/.env", "--",
                                      "/bin/sh", "-c", "printf '%s|%s|%s|' \"$PING_HOST\" \"$DB_PASSWORD\" \"$PORT\"; cat \"$0/server.key\"", files],
                                 environment: Self.cleanEnv)
        #expect(ok.code == 0, "\(ok.err)")
        #expect(ok.out == "sso2.example.test|\(canarySecret)-2|8080|\(canaryFile)")
        let mode = try FileManager.default.attributesOfItem(atPath: files + "/server.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try String(contentsOfFile: sb.dir + "/app/.env", encoding: .utf8).contains("PING_HOST="))

        // An older version.
        let v1 = try runProgram(bin, ["exec", "--server", server.base, "--token-file", sb.dir + "/app.token", "access-boston", "--env", "prod", "--version", "1",
                                      "--files-dir", files, "--", "/bin/sh", "-c", "printf %s \"$PING_HOST\""], environment: Self.cleanEnv)
        #expect(v1.code == 0 && v1.out == "sso.example.test", "\(v1.err)")

        func refused(_ args: [String], token: String = "app", sourceLocation: SourceLocation = #_sourceLocation) throws -> (Int32, String) {
            let r = try runProgram(bin, ["exec", "--server", server.base, "--token-file", sb.dir + "/\(token).token"] + args
                                   + ["--files-dir", files, "--", "/bin/sh", "-c", "touch \(marker)"], environment: Self.cleanEnv)
            #expect(!FileManager.default.fileExists(atPath: marker), "the command was started", sourceLocation: sourceLocation)
            #expect(!r.err.contains("canary") && !r.err.contains("svcconf_"), sourceLocation: sourceLocation)
            #expect(r.err.hasPrefix("svcconf: error: "), "\(r.err)", sourceLocation: sourceLocation)
            #expect(r.out.isEmpty, sourceLocation: sourceLocation)
            return (r.code, r.err)
        }
        // 403: the token has no read scope there; 401: unknown token; 404: no such config.
        let (c403, e403) = try refused(["access-boston", "--env", "staging"])
        #expect(c403 == 8 && e403.contains("answered 403"), "\(e403)")
        let (c403b, _) = try refused(["access-boston", "--env", "prod"], token: "ci")
        #expect(c403b == 8)
        let unknown = sb.dir + "/unknown.token"
        _ = FileManager.default.createFile(atPath: unknown, contents: Data(("svcconf_" + String(repeating: "0f", count: 32)).utf8), attributes: [.posixPermissions: 0o600])
        let (c401, e401) = try refused(["access-boston", "--env", "prod"], token: "unknown")
        #expect(c401 == 8 && e401.contains("answered 401"), "\(e401)")
        let (c404, _) = try refused(["access-boston", "--env", "prod", "--version", "9"])
        #expect(c404 == 3)
        // The token file: missing, readable by others, not a token.
        let (cMissing, _) = try refused(["access-boston", "--env", "prod"], token: "nope")
        #expect(cMissing == 3)
        chmod(sb.dir + "/app.token", 0o644)
        let (cMode, eMode) = try refused(["access-boston", "--env", "prod"])
        #expect(cMode == 8 && eMode.contains("chmod 600"), "\(eMode)")
        chmod(sb.dir + "/app.token", 0o600)
        _ = FileManager.default.createFile(atPath: sb.dir + "/junk.token", contents: Data("hello".utf8), attributes: [.posixPermissions: 0o600])
        let (cJunk, _) = try refused(["access-boston", "--env", "prod"], token: "junk")
        #expect(cJunk == 10)
        // Usage: --server without --token-file, with --store, a bad URL.
        let noToken = try runProgram(bin, ["exec", "--server", server.base, "access-boston", "--env", "prod", "--", "/bin/true"], environment: Self.cleanEnv)
        #expect(noToken.code == 2 && noToken.err.contains("--token-file"))
        let withStore = try runProgram(bin, ["exec", "--server", server.base, "--token-file", sb.dir + "/app.token", "--store", sb.storeURL,
                                             "access-boston", "--env", "prod", "--", "/bin/true"], environment: Self.cleanEnv)
        #expect(withStore.code == 2)
        let badURL = try runProgram(bin, ["exec", "--server", "ftp://x", "--token-file", sb.dir + "/app.token", "access-boston", "--env", "prod", "--", "/bin/true"],
                                    environment: Self.cleanEnv)
        #expect(badURL.code == 2)
        // Unreachable: the server is gone.
        #expect(server.stop() == 0)
        let (c9, e9) = try refused(["access-boston", "--env", "prod"])
        #expect(c9 == 9 && e9.contains("cannot reach"), "\(e9)")
        #expect(e9.split(separator: "\n").filter { $0.hasPrefix("svcconf: error:") }.count == 1)
    }

    @Test("ExecServer: 5xx, 422, 429 and answers that are not the requested config start nothing")
    func oddAnswers() throws {
        let sb = try BinarySandbox()
        defer { sb.remove() }
        _ = try sb.tokens(["app": ["read:*/*"]])
        // A stub server: the service name says what to answer.
        let stub = """
        import http.server, json, sys
        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a): pass
            def do_GET(self):
                svc = self.path.split('/')[3]
                body, status = b'', 200
                if svc == 's500': status, body = 500, json.dumps({"error": {"kind": "internal", "message": "internal error"}}).encode()
                elif svc == 's503': status, body = 503, b'{"error":{"kind":"unavailable","message":"store\\nunreachable"}}'
                elif svc == 's422': status, body = 422, b'{"error":{"kind":"validationFailed","message":"does not match"}}'
                elif svc == 's429': status, body = 429, b'{}'
                elif svc == 'sbad': body = b'<html>not json</html>'
                elif svc == 'sshape': body = b'{"values": [], "files": {}}'
                elif svc == 'sother': body = json.dumps({"values": {"A": "canary-other"}, "files": {}, "version": {"service": "elsewhere", "env": "prod", "variant": None, "version": 1}}).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)
        s = http.server.HTTPServer(('127.0.0.1', 0), H)
        print(s.server_address[1], flush=True)
        s.serve_forever()
        """
        let script = sb.dir + "/stub.py"
        try stub.write(toFile: script, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script]
        let out = Pipe()
        p.standardOutput = out
        try runSerialized(p)
        // SIGKILL: the test process may ignore SIGTERM, and children inherit ignored signals.
        defer { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        var line: [UInt8] = []
        while true {
            var c: UInt8 = 0
            if read(out.fileHandleForReading.fileDescriptor, &c, 1) <= 0 || c == 0x0A { break }
            line.append(c)
        }
        let port = try #require(Int(String(decoding: line, as: UTF8.self)))
        let bin = try svcconfBinary()
        let marker = sb.dir + "/started"
        for (svc, code) in [("s500", 9), ("s503", 9), ("s422", 5), ("s429", 9), ("sbad", 10), ("sshape", 10), ("sother", 10)] as [(String, Int32)] {
            let r = try runProgram(bin, ["exec", "--server", "http://127.0.0.1:\(port)", "--token-file", sb.dir + "/app.token", svc, "--env", "prod",
                                         "--", "/bin/sh", "-c", "touch \(marker)"], environment: Self.cleanEnv)
            #expect(r.code == code, "\(svc): \(r.code) \(r.err)")
            #expect(!FileManager.default.fileExists(atPath: marker))
            #expect(r.err.split(separator: "\n").filter { $0.hasPrefix("svcconf: error:") }.count == 1, "\(svc): \(r.err)")
            #expect(!r.err.contains("canary"))
        }
    }
}
