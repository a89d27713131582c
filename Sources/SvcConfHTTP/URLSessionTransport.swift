#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Foundation
import SvcConfAWS

/// The production ``HTTPTransport``: Foundation's URLSession (system libcurl on Linux).
///
/// It owns its session, with an ephemeral configuration: no cookies, no cache, no credential storage,
/// no redirects (a delegate refuses them, so a 3xx comes back as the response), and
/// `Accept-Encoding: identity` on every request so no body is ever decompressed (S3 objects stored with
/// a Content-Encoding keep their bytes and ETags). It sends `request.url` unchanged (already
/// percent-encoded by the AWS clients; URLSession sends such paths and queries byte for byte) with
/// exactly the request's headers, plus Host and Content-Length, and a Content-Type of
/// `application/octet-stream` on a PUT or POST that has none (URLSession would otherwise send a form
/// type on POST).
///
/// Failures are ``AWSError``: `.timeout` when nothing complete arrives within the timeout, otherwise
/// `.connection` (refused, reset, DNS, TLS, cut-off bodies). A body shorter or longer than its
/// Content-Length is an error, never a short body. Response header names are lower-cased.
public final class URLSessionTransport: HTTPTransport, @unchecked Sendable {
    // @unchecked: `session` is immutable after init and URLSession is thread-safe.
    private let session: URLSession
    private let delegate: RedirectRefuser

    /// A transport with its own session. `maxConnectionsPerHost` bounds parallel connections.
    public init(maxConnectionsPerHost: Int = 8) {
        // swift-corelibs-foundation creates ~/.cache/org.swift.foundation.URLCache/<program> and
        // ~/.local/share/<program> as soon as a configuration is made, even an ephemeral one without a
        // cache. Point the XDG directories at a path that cannot be created while making it, so svcconf
        // leaves nothing in the user's (or the container's) home.
        let configuration = Self.withoutXDGDirectories { URLSessionConfiguration.ephemeral }
        configuration.httpCookieAcceptPolicy = .never
        configuration.httpShouldSetCookies = false
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.urlCredentialStorage = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalAndRemoteCacheData
        configuration.httpMaximumConnectionsPerHost = maxConnectionsPerHost
        configuration.httpAdditionalHeaders = [:]
        delegate = RedirectRefuser()
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: queue)
    }

    deinit {
        session.invalidateAndCancel()
    }

    static let xdgLock = NSLock()
    nonisolated(unsafe) private static var keepHomeCleanFlag = false

    /// Executables (svcconf-cli, svcconf-server) call this once at start: from then on, making a
    /// session briefly points XDG_CACHE_HOME/XDG_DATA_HOME at a path that cannot be created, so
    /// Foundation leaves no directories in the user's (or container's) home. It changes the process
    /// environment (setenv), which is only safe while no other thread may be starting a process —
    /// true in the executables, not in a test process that runs tests in parallel, so libraries and
    /// tests leave it off.
    public static func keepHomeClean() {
        xdgLock.lock()
        keepHomeCleanFlag = true
        xdgLock.unlock()
    }

    static func withoutXDGDirectories<T>(_ body: () -> T) -> T {
        xdgLock.lock()
        defer { xdgLock.unlock() }
        guard keepHomeCleanFlag else { return body() }
        let names = ["XDG_CACHE_HOME", "XDG_DATA_HOME"]
        let saved = names.map { getenv($0).map { String(cString: $0) } }
        for n in names { setenv(n, "/proc/nonexistent/svcconf", 1) }
        defer {
            for (n, v) in zip(names, saved) {
                if let v { setenv(n, v, 1) } else { unsetenv(n) }
            }
        }
        return body()
    }

    /// Sends `request`; see the type's documentation.
    public func send(_ request: HTTPRequest, timeout: Double) async throws -> HTTPResponse {
        let urlRequest = try Self.urlRequest(for: request, timeout: timeout)
        let method = request.method.uppercased()
        let data: Data
        let response: URLResponse
        do {
            if request.body.isEmpty {
                (data, response) = try await withDeadline(timeout, request) { [session] in try await session.data(for: urlRequest) }
            } else {
                let body = Data(request.body)
                (data, response) = try await withDeadline(timeout, request) { [session] in try await session.upload(for: urlRequest, from: body) }
            }
        } catch let error as AWSError {
            throw error
        } catch {
            throw Self.map(error, request: request, timeout: timeout)
        }
        guard let http = response as? HTTPURLResponse else {
            throw AWSError(.connection, "\(method) \(Self.target(request)): not an HTTP response")
        }
        let bodyBytes = [UInt8](data)
        // libcurl under URLSession decodes any Content-Encoding it knows, whatever Accept-Encoding said
        // (S3 serves objects stored with `Content-Encoding: gzip` that way): the raw bytes are gone, so
        // refuse rather than hand back different bytes.
        if method != "HEAD", !bodyBytes.isEmpty, let encoding = http.value(forHTTPHeaderField: "Content-Encoding"),
           !encoding.isEmpty, encoding.lowercased() != "identity" {
            throw AWSError(.malformedResponse, "\(method) \(Self.target(request)): body sent with Content-Encoding \(encoding.prefix(40)), which URLSession decodes; the stored bytes are not available through this transport")
        }
        // A body shorter or longer than announced is an error (libcurl catches most; this is the backstop).
        // Content-Length describes the representation for HEAD and is absent or 0 for 204/304.
        if method != "HEAD", http.statusCode != 204, http.statusCode != 304, http.statusCode >= 200,
           let declared = http.value(forHTTPHeaderField: "Content-Length") {
            guard let expected = Int(declared.trimmingCharacters(in: .whitespaces)), expected >= 0 else {
                throw AWSError(.connection, "\(method) \(Self.target(request)): invalid Content-Length in the response")
            }
            if expected != bodyBytes.count {
                let what = bodyBytes.count < expected ? "cut off" : "longer than its Content-Length"
                throw AWSError(.connection, "\(method) \(Self.target(request)): response body \(what) (\(bodyBytes.count) of \(expected) bytes)")
            }
        }
        return HTTPResponse(status: http.statusCode, headers: Self.headers(of: http), body: bodyBytes)
    }

    /// Builds the URLRequest: the URL byte for byte, the given headers, the transport's own.
    static func urlRequest(for request: HTTPRequest, timeout: Double) throws -> URLRequest {
        let method = request.method.uppercased()
        let urlString = request.url
        // URL(string:) keeps valid percent-escapes and characters URLs allow; anything it would have to
        // re-encode is refused rather than sent differently from what was signed.
        guard let url = URL(string: urlString), url.absoluteString == urlString,
              let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw AWSError(.invalidRequest, "\(method) \(target(request)): URL that cannot be sent as is")
        }
        let idle = timeout.isFinite ? min(max(timeout, 0.001), 86_400) : 86_400
        var r = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalAndRemoteCacheData, timeoutInterval: idle)
        r.httpMethod = method
        r.httpShouldHandleCookies = false
        for (name, value) in request.headers {
            let lower = name.lowercased()
            if lower == "host" || lower == "content-length" { continue }  // set below / by URLSession
            guard Self.isToken(name), !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw AWSError(.invalidRequest, "\(method) \(target(request)): invalid header \(name)")
            }
            r.setValue(value, forHTTPHeaderField: name)
        }
        r.setValue(request.host, forHTTPHeaderField: "Host")
        if request.header("accept-encoding") == nil { r.setValue("identity", forHTTPHeaderField: "Accept-Encoding") }
        if request.header("content-type") == nil && (method == "PUT" || method == "POST") {
            r.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        }
        return r
    }

    /// `METHOD scheme://host/path` for messages (no query, no headers, no body).
    static func target(_ request: HTTPRequest) -> String {
        request.scheme + "://" + request.host + request.path
    }

    static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || "!#$%&'*+-.^_`|~".utf8.contains(c)
        }
    }

    /// Response headers with lower-cased names. `allHeaderFields` re-cases names inconsistently, so each
    /// value is read back through `value(forHTTPHeaderField:)` (case-insensitive).
    static func headers(of response: HTTPURLResponse) -> [(name: String, value: String)] {
        var seen: Set<String> = []
        var out: [(name: String, value: String)] = []
        for key in response.allHeaderFields.keys {
            guard let name = key as? String else { continue }
            let lower = name.lowercased()
            guard seen.insert(lower).inserted, let value = response.value(forHTTPHeaderField: name) else { continue }
            out.append((lower, value))
        }
        out.sort { $0.name < $1.name }
        return out
    }

    /// URLSession's errors as ``AWSError``: timeouts as `.timeout`, the rest as `.connection`.
    static func map(_ error: Error, request: HTTPRequest, timeout: Double) -> AWSError {
        let what = "\(request.method.uppercased()) \(target(request))"
        if let urlError = error as? URLError {
            switch urlError.code {
            case .timedOut:
                return AWSError(.timeout, "\(what): no complete response within \(timeout) s")
            case .cancelled:
                return AWSError(.connection, "\(what): cancelled")
            case .cannotConnectToHost:
                return AWSError(.connection, "\(what): connection refused")
            case .cannotFindHost, .dnsLookupFailed:
                return AWSError(.connection, "\(what): host not found")
            case .networkConnectionLost:
                return AWSError(.connection, "\(what): connection lost")
            case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
                 .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot, .clientCertificateRejected:
                return AWSError(.connection, "\(what): TLS failure (\(urlError.code.rawValue))")
            default:
                return AWSError(.connection, "\(what): \(urlError.localizedDescription) (\(urlError.code.rawValue))")
            }
        }
        if error is CancellationError { return AWSError(.connection, "\(what): cancelled") }
        let ns = error as NSError
        return AWSError(.connection, "\(what): \(ns.domain) \(ns.code)")
    }

    /// Runs `body`, failing with `.timeout` when it has not finished after `seconds` (URLSession's own
    /// timeout is an idle timeout: a server trickling bytes would never trip it).
    private func withDeadline<T: Sendable>(_ seconds: Double, _ request: HTTPRequest,
                                           _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                // Clamped: a NaN, infinite or absurd timeout must not trap the conversion.
                let bounded = seconds.isFinite ? min(max(seconds, 0.001), 86_400) : 86_400
                try await Task.sleep(nanoseconds: UInt64(bounded * 1_000_000_000))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            guard let value = first else {
                throw AWSError(.timeout, "\(request.method.uppercased()) \(Self.target(request)): no complete response within \(seconds) s")
            }
            return value
        }
    }
}

/// Refuses every redirect, so the 3xx answer itself is returned.
private final class RedirectRefuser: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}

/// A ``URLSessionTransport`` made on first use: commands that never talk to AWS never initialize
/// URLSession (which also creates Foundation's cache directories under the user's home).
public final class LazyURLSessionTransport: HTTPTransport, @unchecked Sendable {
    // @unchecked: `made` is only touched under `lock`.
    private let lock = NSLock()
    private var made: URLSessionTransport?

    /// A transport that makes its session on the first request.
    public init() {}

    /// Sends `request` through the (possibly new) session.
    public func send(_ request: HTTPRequest, timeout: Double) async throws -> HTTPResponse {
        let transport = lock.withLock { () -> URLSessionTransport in
            if let made { return made }
            let t = URLSessionTransport()
            made = t
            return t
        }
        return try await transport.send(request, timeout: timeout)
    }
}
