#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SvcConf
import SvcConfAuth
import SvcConfAWS
import SvcConfHTTP

/// `svcconf exec --server URL --token-file F ...`: the config from a svcconf-server
/// (`GET /v1/services/{svc}/envs/{env}/config?format=json`, read scope) instead of the store, for
/// containers that hold no KMS rights. The token is read from a file (never argv or the
/// environment) and sent only in the `Authorization` header. Any failure is one error with its
/// own exit status, and nothing is started:
/// 401/403 → access denied (8), 404 → not found (3), 422 → validation failed (5), 400 → usage (2),
/// unreachable, timeout, 429 or 5xx → unavailable (9), an answer that is not a config document for
/// the requested service/env/variant → invalid input (10).
enum ServerExec {
    /// Largest token file and largest answer accepted.
    static let maxTokenFileBytes = 4096
    static let maxAnswerBytes = 64 << 20

    /// The server's base URL: `http(s)://HOST[:PORT][/PREFIX]`, without query, fragment or credentials.
    struct Base {
        let scheme: String
        let host: String
        let prefix: String

        init(_ url: String) throws(SvcConfError) {
            let bad = SvcConfError(.usage, "--server must be an http:// or https:// URL (e.g. http://svcconf.internal:8080)")
            let scheme: String
            var rest: Substring
            if url.hasPrefix("http://") { scheme = "http"; rest = url.dropFirst(7) } else if url.hasPrefix("https://") { scheme = "https"; rest = url.dropFirst(8) } else { throw bad }
            guard !rest.contains("?"), !rest.contains("#"), !rest.contains("@"), !rest.contains(" ") else {
                throw SvcConfError(.usage, "--server must not hold a query, fragment or credentials", hint: "the token goes in --token-file")
            }
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            let host = String(rest[..<slash])
            guard !host.isEmpty, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw bad }
            var prefix = String(rest[slash...])
            while prefix.hasSuffix("/") { prefix.removeLast() }
            self.scheme = scheme
            self.host = host
            self.prefix = prefix
        }

        var display: String { "\(scheme)://\(host)\(prefix)" }
    }

    /// The token in `path`: a regular file, not accessible by group or others, holding one token.
    static func readToken(_ path: String) throws(SvcConfError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else {
            let code = errno
            let reason = String(cString: strerror(code)).lowercased()
            throw SvcConfError(code == ENOENT ? .notFound : .accessDenied, "cannot read token file \(path): \(reason)")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, UInt32(st.st_mode) & UInt32(S_IFMT) == UInt32(S_IFREG) else {
            throw SvcConfError(.invalidInput, "token file \(path) is not a regular file")
        }
        let mode = UInt32(st.st_mode) & 0o777
        guard mode & 0o077 == 0 else {
            throw SvcConfError(.accessDenied, "token file \(path) is accessible by other users (mode \(String(mode, radix: 8)))", hint: "chmod 600 \(path)")
        }
        guard Int(st.st_size) <= maxTokenFileBytes else { throw SvcConfError(.invalidInput, "token file \(path) is larger than \(maxTokenFileBytes) bytes") }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var got = 0
        while got < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard n > 0 else { break }
            got += n
        }
        var text = String(decoding: bytes[0..<got], as: UTF8.self)
        while let last = text.last, last == "\n" || last == "\r" || last == " " || last == "\t" { text.removeLast() }
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        guard AccessToken.isWellFormed(text) else {
            throw SvcConfError(.invalidInput, "token file \(path) does not hold one svcconf token", hint: "put the output of `svcconf token mint` in it")
        }
        return text
    }

    /// Fetches the effective plaintext config of `address` (`version`: nil for the latest).
    static func fetch(server: String, tokenFile: String, address: ConfigAddress, version: Int64?,
                      transport: any HTTPTransport = LazyURLSessionTransport(), timeout: Double = 30) async throws -> Config {
        let base = try Base(server)
        let token = try readToken(tokenFile)
        var path = base.prefix + "/v1/services/" + AWSEncoding.uriEncode(address.service) + "/envs/" + AWSEncoding.uriEncode(address.env) + "/config"
        if path.isEmpty { path = "/" }
        var query: [(name: String, value: String)] = [("format", "json")]
        if let v = address.variant { query.append(("variant", v)) }
        if let version { query.append(("version", String(version))) }
        let request = HTTPRequest(method: "GET", scheme: base.scheme, host: base.host, path: path, query: query,
                                  headers: [("Authorization", "Bearer " + token), ("Accept", "application/json"), ("Accept-Encoding", "identity")])
        let response: HTTPResponse
        do {
            response = try await transport.send(request, timeout: timeout)
        } catch let e as AWSError {
            throw SvcConfError(.unavailable, "cannot reach svcconf-server at \(base.display): \(e.message)", hint: "check --server and that the server is up (GET /healthz)")
        }
        guard response.status == 200 else { throw failure(response, base: base, address: address) }
        guard response.body.count <= maxAnswerBytes else { throw SvcConfError(.invalidInput, "the answer of \(base.display) is larger than \(maxAnswerBytes) bytes") }
        return try config(from: response.body, address: address, base: base)
    }

    /// The error for a non-200 answer, with the server's own one-line message when it sent one.
    static func failure(_ r: HTTPResponse, base: Base, address: ConfigAddress) -> SvcConfError {
        var said = ""
        if let doc = try? JSON.parse(r.body), let m = doc["error"]?["message"]?.stringValue {
            said = ": " + oneLine(m)
        }
        let what = "svcconf-server at \(base.display) answered \(r.status) for \(address)"
        switch r.status {
        case 401: return SvcConfError(.accessDenied, what + said, hint: "the token in --token-file is unknown to the server")
        case 403: return SvcConfError(.accessDenied, what + said, hint: "the token needs the read scope for \(address.service)/\(address.env)")
        case 404: return SvcConfError(.notFound, what + said)
        case 422: return SvcConfError(.validationFailed, what + said)
        case 400: return SvcConfError(.usage, what + said)
        case 429, 500...599: return SvcConfError(.unavailable, what + said)
        default: return SvcConfError(.unavailable, what + said)
        }
    }

    /// A message from the server on one line, at most 300 characters, printable ASCII and beyond only.
    static func oneLine(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars.prefix(300) { out.unicodeScalars.append(c.value < 0x20 || c.value == 0x7F ? " " : c) }
        return out
    }

    /// The config in an answer: `{"values": {...}, "files": {...}, "version": {service, env, variant,
    /// version, ...}, "layers": [...]}` whose version names the requested config.
    static func config(from body: [UInt8], address: ConfigAddress, base: Base) throws(SvcConfError) -> Config {
        let bad = { (why: String) in SvcConfError(.invalidInput, "the answer of svcconf-server at \(base.display) is not a config document: \(why)") }
        let doc: ConfigValue
        do { doc = try JSON.parse(body) } catch { throw bad("not JSON") }
        guard case .object(let o) = doc else { throw bad("not an object") }
        guard case .object? = o["values"] else { throw bad("values is not an object") }
        guard case .object? = o["files"] else { throw bad("files is not an object") }
        guard case .object(let v)? = o["version"], case .number(.int(let n))? = v["version"], n >= 1 else { throw bad("version is missing") }
        _ = n
        guard v["service"]?.stringValue == address.service, v["env"]?.stringValue == address.env,
              (v["variant"] ?? .null) == (address.variant.map { .string($0) } ?? .null) else {
            throw bad("it is for another config")
        }
        do {
            return try Config(layerDocument: .object(["values": o["values"]!, "files": o["files"]!]), source: "the server's answer")
        } catch {
            throw bad(error.message)
        }
    }
}
