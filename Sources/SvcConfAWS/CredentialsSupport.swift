import SvcConfCrypto

/// Helpers shared by the credential providers, the region resolver and the KMS client.
enum CredentialsSupport {
    /// `environment[name]`, with empty values treated as unset (as the AWS SDKs do).
    static func value(_ environment: [String: String], _ name: String) -> String? {
        guard let v = environment[name], !v.isEmpty else { return nil }
        return v
    }

    /// The home directory: `HOME` (there is no fallback: a process without HOME has no `~/.aws`).
    static func home(_ environment: [String: String]) -> String? { value(environment, "HOME") }

    /// Expands a leading `~/` with HOME.
    static func expandHome(_ path: String, _ environment: [String: String]) -> String {
        guard path == "~" || path.hasPrefix("~/"), let home = home(environment) else { return path }
        return home + path.dropFirst()
    }

    /// Strips ASCII whitespace at both ends.
    static func trim<S: StringProtocol>(_ s: S) -> String {
        var scalars = Substring(s).unicodeScalars[...]
        while let f = scalars.first, f == " " || f == "\t" || f == "\n" || f == "\r" { scalars = scalars.dropFirst() }
        while let l = scalars.last, l == " " || l == "\t" || l == "\n" || l == "\r" { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }

    /// Whether `s` is safe as an HTTP header value (no CR, LF or other control characters but tab).
    static func isHeaderSafe(_ s: String) -> Bool {
        !s.utf8.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }
    }

    /// Parses an RFC 3339 timestamp (`2024-05-01T12:00:00Z`, fractional seconds and `±HH:MM` offsets
    /// accepted) into seconds since the epoch (fractions dropped).
    static func parseRFC3339(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var v = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(0x2D), let month = digits(2), expect(0x2D), let day = digits(2) else { return nil }
        guard i < b.count, b[i] == 0x54 || b[i] == 0x74 || b[i] == 0x20 else { return nil }
        i += 1
        guard let hour = digits(2), expect(0x3A), let minute = digits(2), expect(0x3A), let second = digits(2) else { return nil }
        if i < b.count, b[i] == 0x2E {
            i += 1
            let start = i
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 { i += 1 }
            guard i > start else { return nil }
        }
        var offset = 0
        guard i < b.count else { return nil }
        if b[i] == 0x5A || b[i] == 0x7A {
            i += 1
        } else if b[i] == 0x2B || b[i] == 0x2D {
            let sign = b[i] == 0x2D ? -1 : 1
            i += 1
            guard let oh = digits(2), expect(0x3A), let om = digits(2), oh < 24, om < 60 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour < 24, minute < 60, second <= 60 else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
    }

    /// Formats seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
    static func formatRFC3339(_ t: Int64) -> String {
        let days = Int(t >= 0 ? t / 86400 : (t - 86399) / 86400)
        let secs = Int(t - Int64(days) * 86400)
        // civil_from_days (H. Hinnant)
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func p(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(p(y, 4))-\(p(m, 2))-\(p(d, 2))T\(p(secs / 3600, 2)):\(p(secs % 3600 / 60, 2)):\(p(secs % 60, 2))Z"
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// days_from_civil (H. Hinnant): days since 1970-01-01.
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// Credentials from a JSON credential document (ECS endpoint, EC2 metadata): AccessKeyId,
    /// SecretAccessKey, Token, Expiration. `source` names the endpoint in errors.
    static func credentials(fromJSON body: [UInt8], source: String) throws -> AWSCredentials {
        let doc: AWSJSON
        do {
            doc = try AWSJSON.parse(body)
        } catch {
            throw AWSError(.malformedResponse, "\(source): \(error.message)")
        }
        guard doc.objectValue != nil else {
            throw AWSError(.malformedResponse, "\(source): the answer is not a JSON object")
        }
        if let code = doc["Code"]?.stringValue, code != "Success" {
            throw AWSError(.credentials, "\(source): the answer has Code \(String(code.prefix(100)))")
        }
        guard let keyId = doc["AccessKeyId"]?.stringValue, !keyId.isEmpty else {
            throw AWSError(.malformedResponse, "\(source): the answer has no AccessKeyId")
        }
        guard let secret = doc["SecretAccessKey"]?.stringValue, !secret.isEmpty else {
            throw AWSError(.malformedResponse, "\(source): the answer has no SecretAccessKey")
        }
        var token: String?
        if let t = doc["Token"] {
            guard case .string(let s) = t else { throw AWSError(.malformedResponse, "\(source): Token is not a string") }
            token = s.isEmpty ? nil : s
        }
        var expiration: Int64?
        if let e = doc["Expiration"] {
            guard case .string(let s) = e, let t = parseRFC3339(s) else {
                throw AWSError(.malformedResponse, "\(source): Expiration is not an RFC 3339 timestamp")
            }
            expiration = t
        }
        guard isHeaderSafe(keyId), isHeaderSafe(secret), isHeaderSafe(token ?? "") else {
            throw AWSError(.malformedResponse, "\(source): the credentials contain control characters")
        }
        return AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: token, expiration: expiration)
    }
}

/// A parsed `http(s)://host[:port][/path][?query]` URL, as the endpoint overrides and the ECS
/// container URI give it. Rejects user info, bad ports, spaces and control characters.
struct AWSURLParts: Sendable, Equatable {
    /// `http` or `https` (lower case).
    var scheme: String
    /// The host name or address, lower case, without IPv6 brackets.
    var hostname: String
    /// The explicit port, if any.
    var port: Int?
    /// The path, as given (percent-encoded), `/` when empty.
    var path: String
    /// The query, decoded.
    var query: [(name: String, value: String)]

    static func == (a: AWSURLParts, b: AWSURLParts) -> Bool {
        a.scheme == b.scheme && a.hostname == b.hostname && a.port == b.port && a.path == b.path
            && a.query.map { [$0.name, $0.value] } == b.query.map { [$0.name, $0.value] }
    }

    /// The Host header value: host (bracketed if IPv6), `:port` unless the scheme's default.
    var hostHeader: String {
        let h = hostname.contains(":") ? "[\(hostname)]" : hostname
        guard let port, port != (scheme == "https" ? 443 : 80) else { return h }
        return "\(h):\(port)"
    }

    /// Whether the host is a loopback address (`127.0.0.0/8`, `::1`) or `localhost`.
    var isLoopback: Bool {
        if hostname == "localhost" || hostname == "::1" || hostname == "0:0:0:0:0:0:0:1" { return true }
        guard let octets = AWSURLParts.ipv4(hostname) else { return false }
        return octets[0] == 127
    }

    /// The four octets of a dotted-quad IPv4 address.
    static func ipv4(_ s: String) -> [Int]? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [Int] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let v = Int(p), v <= 255 else { return nil }
            out.append(v)
        }
        return out
    }

    /// Parses `text`; nil when it is not an http(s) URL of the accepted shape.
    static func parse(_ text: String) -> AWSURLParts? {
        guard !text.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else { return nil }
        guard let sep = text.firstRange(of: "://") else { return nil }
        let scheme = text[..<sep.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        var rest = text[sep.upperBound...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        rest = rest[authorityEnd...]
        guard !authority.isEmpty, !authority.contains("@") else { return nil }

        var hostname: String
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostname = String(authority[authority.index(after: authority.startIndex)..<close]).lowercased()
            guard !hostname.isEmpty, hostname.utf8.allSatisfy({ isHex($0) || $0 == 0x3A || $0 == 0x2E }) else { return nil }
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                hostname = String(authority[..<colon]).lowercased()
                portText = authority[authority.index(after: colon)...]
            } else {
                hostname = authority.lowercased()
            }
            guard !hostname.isEmpty,
                  hostname.utf8.allSatisfy({ isAlnum($0) || $0 == 0x2D || $0 == 0x2E || $0 == 0x5F }) else { return nil }
        }
        var port: Int?
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let p = Int(portText), p >= 1, p <= 65535 else { return nil }
            port = p
        }

        var path = "/"
        var query: [(name: String, value: String)] = []
        let qmark = rest.firstIndex(of: "?")
        let pathPart = rest[..<(qmark ?? rest.endIndex)]
        if !pathPart.isEmpty { path = String(pathPart) }
        if let qmark {
            for pair in rest[rest.index(after: qmark)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let name = percentDecode(kv[0]), let value = percentDecode(kv.count > 1 ? kv[1] : "") else { return nil }
                query.append((name, value))
            }
        }
        return AWSURLParts(scheme: scheme, hostname: hostname, port: port, path: path, query: query)
    }

    private static func isHex(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
    }

    private static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
    }

    private static func percentDecode(_ s: Substring) -> String? {
        let b = Array(s.utf8)
        var out: [UInt8] = []
        var i = 0
        func hexValue(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x41...0x46: return c - 0x41 + 10
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        while i < b.count {
            if b[i] == 0x25 {
                guard i + 2 < b.count, let h = hexValue(b[i + 1]), let l = hexValue(b[i + 2]) else { return nil }
                out.append(h << 4 | l)
                i += 3
            } else if b[i] == 0x2B {
                out.append(0x20)
                i += 1
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    /// A request to this URL (path and query as parsed).
    func request(method: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []) -> HTTPRequest {
        HTTPRequest(method: method, scheme: scheme, host: hostHeader, path: path, query: query, headers: headers, body: body)
    }
}
