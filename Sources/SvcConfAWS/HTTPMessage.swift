/// An HTTP request as the AWS clients build it and the signer signs it. Transport-independent (no
/// Foundation): a ``HTTPTransport`` turns it into bytes on the wire.
public struct HTTPRequest: Sendable {
    /// `GET`, `PUT`, `HEAD`, `DELETE`, `POST`.
    public var method: String
    /// `http` or `https`.
    public var scheme: String
    /// The Host header value: `host` or `host:port` (a port only when not the scheme's default).
    public var host: String
    /// The path exactly as it goes on the wire, already percent-encoded (`/bucket/a%20b`).
    public var path: String
    /// Query parameters, not encoded; ``AWSEncoding/queryString(_:)`` encodes them for the wire and the
    /// signer in one canonical way (sorted by name, then value; RFC 3986 unreserved characters kept).
    public var query: [(name: String, value: String)]
    /// Headers in the order set; names as given (the signer lower-cases them).
    public var headers: [(name: String, value: String)]
    /// The body.
    public var body: [UInt8]

    /// Memberwise initializer.
    public init(method: String, scheme: String, host: String, path: String, query: [(name: String, value: String)] = [],
                headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.scheme = scheme
        self.host = host
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// The full URL as sent: `scheme://host/path?query`.
    public var url: String {
        scheme + "://" + host + path + (query.isEmpty ? "" : "?" + AWSEncoding.queryString(query))
    }

    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.first { $0.name.lowercased() == n }?.value
    }

    /// Sets a header, replacing any of the same name (case-insensitive).
    public mutating func setHeader(_ name: String, _ value: String) {
        let n = name.lowercased()
        headers.removeAll { $0.name.lowercased() == n }
        headers.append((name, value))
    }
}

/// An HTTP response.
public struct HTTPResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Headers; names lower-cased.
    public var headers: [(name: String, value: String)]
    /// The body.
    public var body: [UInt8]

    /// Memberwise initializer (names are lower-cased here).
    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers.map { ($0.name.lowercased(), $0.value) }
        self.body = body
    }

    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.first { $0.name == n }?.value
    }
}

/// Sends one request. Implementations: `URLSessionTransport` (module SvcConfHTTP) and test doubles.
/// A transport does not retry and does not follow redirects; it sends exactly the headers given (plus
/// what HTTP itself needs: Host, Content-Length) and never decompresses bodies.
public protocol HTTPTransport: Sendable {
    /// Sends `request`, failing with ``AWSError`` (`.connection` or `.timeout`) when no complete
    /// response arrives within `timeout` seconds. Non-2xx statuses are responses, not errors.
    func send(_ request: HTTPRequest, timeout: Double) async throws -> HTTPResponse
}

/// Percent-encoding as SigV4 and S3 want it.
public enum AWSEncoding {
    /// RFC 3986 percent-encoding of every byte except the unreserved `A-Z a-z 0-9 - . _ ~`, upper-case
    /// hex; `/` is kept when `keepSlash` (for S3 object keys in paths).
    public static func uriEncode(_ s: String, keepSlash: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for b in s.utf8 {
            let unreserved = (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
                || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E
            if unreserved || (keepSlash && b == 0x2F) {
                out.append(b)
            } else {
                out.append(0x25); out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `name=value&...`, each encoded with ``uriEncode(_:keepSlash:)``, sorted by encoded name then
    /// value: the canonical query string of SigV4, also used on the wire so what is signed is what is sent.
    public static func queryString(_ query: [(name: String, value: String)]) -> String {
        query.map { (uriEncode($0.name), uriEncode($0.value)) }
            .sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }
}
