/// A small S3 REST client: the object operations svcconf needs, SigV4-signed, over any
/// ``HTTPTransport``, with retries (``RetryPolicy``). Foundation-free.
///
/// - Endpoint: `https://s3.<region>.amazonaws.com` (`.amazonaws.com.cn` in `cn-` regions), or an
///   override (``endpoint(environment:explicit:)`` picks it) such as a local moto server.
/// - Addressing: virtual-hosted (`bucket.host/key`) for AWS, path-style (`host/bucket/key`) for an
///   overridden endpoint, unless configured; bucket names with dots use path-style on AWS too (their
///   TLS certificate would not match).
/// - Keys go in the path encoded with ``AWSEncoding/uriEncode(_:keepSlash:)``; keys with `.` or `..`
///   segments are refused (HTTP stacks normalise such paths, which would change the key and break the
///   signature).
/// - Errors are ``AWSError``: `.service` with S3's code, message and request id (see
///   ``AWSError/isNotFound`` and ``AWSError/isPreconditionFailed``), `.connection`/`.timeout` from the
///   transport after retries, `.credentials`, `.invalidRequest` for names it will not send,
///   `.malformedResponse`.
/// - ETags are returned exactly as S3 sends them, quotes included, and go back unchanged as `ifMatch`.
public struct S3Client: Sendable {
    /// How the bucket goes into the URL.
    public enum AddressingStyle: String, Sendable {
        /// Virtual-hosted for AWS endpoints (path-style for bucket names with dots), path-style for an
        /// overridden endpoint.
        case automatic
        /// `https://host/bucket/key`.
        case path
        /// `https://bucket.host/key`.
        case virtualHosted
    }

    /// Where credentials come from; called for every attempt, so refreshed credentials are picked up.
    public typealias CredentialsSource = @Sendable () async throws -> AWSCredentials

    /// The signing region.
    public let region: String
    /// The endpoint in use, normalised: `scheme://host[:port][/base]` (no default port, no trailing slash).
    public let endpoint: String
    /// Whether the endpoint is an override (not derived from the region).
    public let endpointIsOverridden: Bool
    /// The configured addressing style.
    public let addressingStyle: AddressingStyle
    /// The per-attempt timeout in seconds.
    public let timeout: Double
    /// The retry policy.
    public let retryPolicy: RetryPolicy

    let transport: any HTTPTransport
    let credentials: CredentialsSource
    let now: @Sendable () -> SigV4Date
    let scheme: String
    let host: String
    let basePath: String

    /// A client. `endpoint` overrides the AWS endpoint (`http://127.0.0.1:5000`); `now` supplies the
    /// signing date (tests pin it). Throws `.invalidRequest` for a malformed region or endpoint.
    public init(transport: any HTTPTransport, credentials: @escaping CredentialsSource, region: String,
                endpoint: String? = nil, addressingStyle: AddressingStyle = .automatic,
                retryPolicy: RetryPolicy = .default, timeout: Double = 30,
                now: @escaping @Sendable () -> SigV4Date = { SigV4Date.now() }) throws(AWSError) {
        guard AWSRegion.isValid(region) else {
            throw AWSError(.invalidRequest, "s3: \"\(String(region.prefix(64)))\" is not a valid AWS region name")
        }
        let url = endpoint ?? (region.hasPrefix("cn-") ? "https://s3.\(region).amazonaws.com.cn" : "https://s3.\(region).amazonaws.com")
        let parsed = try Self.parseEndpoint(url)
        self.transport = transport
        self.credentials = credentials
        self.region = region
        self.scheme = parsed.scheme
        self.host = parsed.host
        self.basePath = parsed.basePath
        self.endpoint = parsed.scheme + "://" + parsed.host + parsed.basePath
        self.endpointIsOverridden = endpoint != nil
        self.addressingStyle = addressingStyle
        self.retryPolicy = retryPolicy
        self.timeout = timeout
        self.now = now
    }

    /// A client whose credentials come from `provider` (e.g. an ``AWSCredentialsCache`` over the
    /// standard chain); otherwise as ``init(transport:credentials:region:endpoint:addressingStyle:retryPolicy:timeout:now:)``.
    public init(transport: any HTTPTransport, credentialsProvider provider: any AWSCredentialsProvider, region: String,
                endpoint: String? = nil, addressingStyle: AddressingStyle = .automatic,
                retryPolicy: RetryPolicy = .default, timeout: Double = 30) throws(AWSError) {
        try self.init(transport: transport, credentials: { try await provider.credentials() }, region: region,
                      endpoint: endpoint, addressingStyle: addressingStyle, retryPolicy: retryPolicy, timeout: timeout)
    }

    /// A client configured as the AWS CLI would be: region from ``AWSRegion/resolve(environment:readFile:)``
    /// (unless given), endpoint from ``endpoint(environment:explicit:)``, credentials from the standard
    /// chain behind a cache.
    public static func fromEnvironment(environment: [String: String] = AWSSystem.environment(),
                                       readFile: @escaping AWSFileReader = AWSSystem.readFile,
                                       transport: any HTTPTransport, region: String? = nil,
                                       endpoint explicit: String? = nil,
                                       addressingStyle: AddressingStyle = .automatic) throws -> S3Client {
        let r = try region ?? AWSRegion.resolve(environment: environment, readFile: readFile)
        let chain = AWSCredentialsChain.standard(environment: environment, readFile: readFile, transport: transport)
        return try S3Client(transport: transport, credentialsProvider: AWSCredentialsCache(chain), region: r,
                            endpoint: endpoint(environment: environment, explicit: explicit), addressingStyle: addressingStyle)
    }

    /// The S3 endpoint override to use, in the AWS CLI's order: `explicit` (`--endpoint-url`), then
    /// `AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL`; empty values count as unset, and
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` ignores the two variables. Nil: use AWS.
    public static func endpoint(environment: [String: String], explicit: String?) -> String? {
        AWSEndpointOverride.resolve(service: "S3", environment: environment, explicit: explicit)
    }

    // MARK: - Operations

    /// GetObject: the object's bytes and ETag. A missing key is `.service` 404 `NoSuchKey`
    /// (``AWSError/isNotFound``).
    public func getObject(bucket: String, key: String) async throws -> (bytes: [UInt8], etag: String) {
        let what = "get " + Self.s3URL(bucket, key)
        let outcome = try await perform(what: what, method: "GET", bucket: bucket, key: key)
        let response = outcome.response
        guard response.status == 200 else { throw S3Errors.error(from: response, what: what) }
        guard let etag = response.header("etag") else {
            throw AWSError(.malformedResponse, what + ": no ETag in the answer", status: response.status)
        }
        return (response.body, etag)
    }

    /// HeadObject: the object's ETag, size and metadata. A missing key is `.service` 404 `NotFound`
    /// (``AWSError/isNotFound``); HEAD errors have no body, so codes come from the status.
    public func headObject(bucket: String, key: String) async throws -> S3ObjectInfo {
        let what = "head " + Self.s3URL(bucket, key)
        let response = try await perform(what: what, method: "HEAD", bucket: bucket, key: key).response
        guard response.status == 200 else { throw S3Errors.error(from: response, what: what) }
        guard let etag = response.header("etag") else {
            throw AWSError(.malformedResponse, what + ": no ETag in the answer", status: response.status)
        }
        guard let length = response.header("content-length").flatMap({ Int($0) }), length >= 0 else {
            throw AWSError(.malformedResponse, what + ": no valid Content-Length in the answer", status: response.status)
        }
        return S3ObjectInfo(etag: etag, contentLength: length, contentType: response.header("content-type"),
                            lastModified: response.header("last-modified"), versionId: response.header("x-amz-version-id"))
    }

    /// PutObject; returns the new ETag. `ifNoneMatch` sends `If-None-Match: *` (create only);
    /// `ifMatch` sends `If-Match: <etag>` (replace only that version). A lost condition is `.service`
    /// 412 `PreconditionFailed` (``AWSError/isPreconditionFailed``).
    ///
    /// When an attempt got no answer and the retry then meets 412, the first attempt may have been the
    /// write that now fails the condition: the client reads the object back and, if it holds exactly
    /// `body`, reports success with its ETag.
    public func putObject(bucket: String, key: String, body: [UInt8], contentType: String = "application/octet-stream",
                          ifNoneMatch: Bool = false, ifMatch: String? = nil) async throws -> String {
        let what = "put " + Self.s3URL(bucket, key)
        var headers: [(name: String, value: String)] = [("Content-Type", contentType.isEmpty ? "application/octet-stream" : contentType)]
        if ifNoneMatch { headers.append(("If-None-Match", "*")) }
        if let ifMatch {
            guard !ifMatch.isEmpty, ifMatch.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
                throw AWSError(.invalidRequest, what + ": invalid If-Match ETag")
            }
            headers.append(("If-Match", ifMatch))
        }
        let outcome = try await perform(what: what, method: "PUT", bucket: bucket, key: key, headers: headers, body: body)
        let response = outcome.response
        if response.status == 200 {
            guard let etag = response.header("etag") else {
                throw AWSError(.malformedResponse, what + ": no ETag in the answer", status: response.status)
            }
            return etag
        }
        let error = S3Errors.error(from: response, what: what)
        if error.status == 412, outcome.unansweredAttempts > 0, ifNoneMatch || ifMatch != nil,
           let stored = try? await getObject(bucket: bucket, key: key), stored.bytes == body {
            return stored.etag
        }
        throw error
    }

    /// DeleteObject. Deleting a missing key succeeds (S3 answers 204 either way).
    public func deleteObject(bucket: String, key: String) async throws {
        let what = "delete " + Self.s3URL(bucket, key)
        let response = try await perform(what: what, method: "DELETE", bucket: bucket, key: key).response
        guard response.status == 204 || response.status == 200 else { throw S3Errors.error(from: response, what: what) }
    }

    /// One page of ListObjectsV2 (keys requested URL-encoded, `encoding-type=url`, and decoded here,
    /// so any key survives the XML). `maxKeys` is 0...1000 (nil: S3's 1000).
    public func listObjectsV2(bucket: String, prefix: String? = nil, delimiter: String? = nil, startAfter: String? = nil,
                              maxKeys: Int? = nil, continuationToken: String? = nil) async throws -> S3ListPage {
        let what = "list " + Self.s3URL(bucket, prefix ?? "")
        var query: [(name: String, value: String)] = [("list-type", "2"), ("encoding-type", "url")]
        if let prefix, !prefix.isEmpty { query.append(("prefix", prefix)) }
        if let delimiter, !delimiter.isEmpty { query.append(("delimiter", delimiter)) }
        if let startAfter, !startAfter.isEmpty { query.append(("start-after", startAfter)) }
        if let maxKeys {
            guard (0...1000).contains(maxKeys) else { throw AWSError(.invalidRequest, what + ": maxKeys must be 0...1000") }
            query.append(("max-keys", String(maxKeys)))
        }
        if let continuationToken { query.append(("continuation-token", continuationToken)) }
        let response = try await perform(what: what, method: "GET", bucket: bucket, key: nil, query: query).response
        guard response.status == 200 else { throw S3Errors.error(from: response, what: what) }
        return try Self.parseListPage(response.body, what: what)
    }

    /// Every page of a listing, following continuation tokens. Refuses a server that loops (a token
    /// seen before) or says "truncated" without a token.
    public func listAllObjects(bucket: String, prefix: String? = nil, delimiter: String? = nil, startAfter: String? = nil,
                               pageSize: Int? = nil) async throws -> S3Listing {
        var listing = S3Listing(objects: [], commonPrefixes: [], pages: 0)
        var token: String?
        var seen: Set<String> = []
        while true {
            let page = try await listObjectsV2(bucket: bucket, prefix: prefix, delimiter: delimiter,
                                               startAfter: token == nil ? startAfter : nil, maxKeys: pageSize,
                                               continuationToken: token)
            listing.pages += 1
            listing.objects += page.objects
            listing.commonPrefixes += page.commonPrefixes
            guard page.isTruncated else { return listing }
            guard let next = page.nextContinuationToken, !next.isEmpty else {
                throw AWSError(.malformedResponse, "list \(Self.s3URL(bucket, prefix ?? "")): truncated page without a continuation token")
            }
            guard seen.insert(next).inserted else {
                throw AWSError(.malformedResponse, "list \(Self.s3URL(bucket, prefix ?? "")): the server repeated a continuation token")
            }
            token = next
        }
    }

    /// CreateBucket (tests and admin), in the client's region. A bucket that already exists and is
    /// ours (`BucketAlreadyOwnedByYou`) counts as success.
    public func createBucket(bucket: String) async throws {
        let what = "create bucket s3://\(bucket)"
        var body: [UInt8] = []
        var headers: [(name: String, value: String)] = []
        if region != "us-east-1" {
            body = Array(("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                + "<LocationConstraint>\(region)</LocationConstraint></CreateBucketConfiguration>").utf8)
            headers.append(("Content-Type", "application/xml"))
        }
        let response = try await perform(what: what, method: "PUT", bucket: bucket, key: nil, headers: headers, body: body).response
        if response.status == 200 { return }
        let error = S3Errors.error(from: response, what: what)
        if error.code == "BucketAlreadyOwnedByYou" { return }
        throw error
    }

    // MARK: - Requests

    /// The unsigned request for an operation (public for tests and tools that want to see the shape).
    public func request(method: String, bucket: String, key: String?, query: [(name: String, value: String)] = [],
                        headers: [(name: String, value: String)] = [], body: [UInt8] = []) throws(AWSError) -> HTTPRequest {
        try Self.validateBucket(bucket)
        var encodedKey = ""
        if let key {
            try Self.validateKey(key)
            encodedKey = AWSEncoding.uriEncode(key, keepSlash: true)
        }
        let virtual: Bool
        switch addressingStyle {
        case .path: virtual = false
        case .virtualHosted: virtual = true
        case .automatic: virtual = !endpointIsOverridden && !bucket.contains(".")
        }
        let host = virtual ? bucket + "." + self.host : self.host
        var path = basePath + (virtual ? "" : "/" + bucket)
        if key != nil { path += "/" + encodedKey } else if virtual || path.isEmpty { path += "/" }
        return HTTPRequest(method: method, scheme: scheme, host: host, path: path, query: query, headers: headers, body: body)
    }

    func perform(what: String, method: String, bucket: String, key: String?, query: [(name: String, value: String)] = [],
                 headers: [(name: String, value: String)] = [], body: [UInt8] = []) async throws -> RetryPolicy.Outcome {
        let unsigned = try request(method: method, bucket: bucket, key: key, query: query, headers: headers, body: body)
        let credentials = self.credentials
        let region = self.region
        let now = self.now
        do {
            return try await retryPolicy.send(using: transport, timeout: timeout) { _ in
                let creds: AWSCredentials
                do {
                    creds = try await credentials()
                } catch let error as AWSError {
                    throw error
                } catch {
                    throw AWSError(.credentials, "could not load AWS credentials: \(error)")
                }
                var signed = unsigned
                SigV4Signer(credentials: creds, region: region, service: "s3").sign(&signed, date: now())
                return signed
            }
        } catch let error as AWSError where error.kind == .connection || error.kind == .timeout {
            throw AWSError(error.kind, what + ": " + error.message, status: error.status, code: error.code, requestId: error.requestId)
        }
    }

    // MARK: - Names

    /// `s3://bucket/key` for messages.
    static func s3URL(_ bucket: String, _ key: String) -> String { "s3://\(bucket)/\(key)" }

    /// S3's bucket naming rules: 3-63 characters of `a-z 0-9 . -`, starting and ending with a letter or
    /// digit, no `..`.
    static func validateBucket(_ bucket: String) throws(AWSError) {
        let b = Array(bucket.utf8)
        let ok = b.count >= 3 && b.count <= 63
            && b.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D }
            && b.first.map(isAlnum) == true && b.last.map(isAlnum) == true && !bucket.contains("..")
        guard ok else { throw AWSError(.invalidRequest, "s3: invalid bucket name \"\(String(bucket.unicodeScalars.prefix(80)))\"") }
    }

    /// Keys: 1...1024 UTF-8 bytes, no `.`/`..` path segments.
    static func validateKey(_ key: String) throws(AWSError) {
        let n = key.utf8.count
        guard n >= 1, n <= 1024 else { throw AWSError(.invalidRequest, "s3: object keys must be 1 to 1024 bytes") }
        guard !key.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == "." || $0 == ".." }) else {
            throw AWSError(.invalidRequest, "s3: object key with a '.' or '..' segment: \(key)")
        }
    }

    static func isAlnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) }

    /// Splits an endpoint URL into scheme, host (`host[:port]`, lower-case, default port dropped) and
    /// base path. Only `http` and `https`; no user info, query or fragment.
    static func parseEndpoint(_ url: String) throws(AWSError) -> (scheme: String, host: String, basePath: String) {
        func bad(_ why: String) -> AWSError { AWSError(.invalidRequest, "s3: invalid endpoint URL (\(why))") }
        let lower = url.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") { scheme = "https" } else if lower.hasPrefix("http://") { scheme = "http" } else {
            throw bad("it must start with http:// or https://")
        }
        var rest = Substring(url.dropFirst(scheme.count + 3))
        guard !rest.contains(where: { $0 == "?" || $0 == "#" || $0 == "@" || $0 == "\\" || $0 == " " }) else {
            throw bad("no user info, query, fragment or spaces")
        }
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[slash...])
            rest = rest[..<slash]
        }
        while path.hasSuffix("/") { path.removeLast() }
        guard path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw bad("path") }
        var host = rest.lowercased()
        var port: String?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw bad("IPv6 address") }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") { port = String(after.dropFirst()) } else if !after.isEmpty { throw bad("host") }
            host = String(host[...close])
            guard host.dropFirst().dropLast().allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { throw bad("IPv6 address") }
        } else {
            if let colon = host.firstIndex(of: ":") {
                port = String(host[host.index(after: colon)...])
                host = String(host[..<colon])
            }
            guard !host.isEmpty, host.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D }) else {
                throw bad("host")
            }
        }
        if let p = port {
            guard let n = Int(p), (1...65535).contains(n), p.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { throw bad("port") }
            if !((scheme == "http" && n == 80) || (scheme == "https" && n == 443)) { host += ":" + String(n) }
        }
        return (scheme, host, path)
    }

    // MARK: - Listing XML

    static func parseListPage(_ body: [UInt8], what: String) throws(AWSError) -> S3ListPage {
        let root: XMLReader.Element
        do { root = try XMLReader.parse(body) } catch { throw AWSError(.malformedResponse, what + ": " + error.message) }
        guard root.localName == "ListBucketResult" else {
            throw AWSError(.malformedResponse, what + ": expected ListBucketResult, got \(root.localName)")
        }
        let urlEncoded = root.childText("EncodingType") == "url"
        func decode(_ s: String) throws(AWSError) -> String {
            guard urlEncoded else { return s }
            guard let d = percentDecode(s) else { throw AWSError(.malformedResponse, what + ": badly URL-encoded key in the listing") }
            return d
        }
        var objects: [S3ObjectSummary] = []
        for c in root.children("Contents") {
            guard let key = c.childText("Key"), let size = c.childText("Size").flatMap({ Int($0) }) else {
                throw AWSError(.malformedResponse, what + ": an entry without Key or Size")
            }
            objects.append(S3ObjectSummary(key: try decode(key), etag: c.childText("ETag") ?? "", size: size,
                                           lastModified: c.childText("LastModified") ?? ""))
        }
        var prefixes: [String] = []
        for p in root.children("CommonPrefixes") {
            if let prefix = p.childText("Prefix") { prefixes.append(try decode(prefix)) }
        }
        let truncated: Bool
        switch root.childText("IsTruncated") {
        case "true": truncated = true
        case "false", nil: truncated = false
        default: throw AWSError(.malformedResponse, what + ": IsTruncated is neither true nor false")
        }
        return S3ListPage(objects: objects, commonPrefixes: prefixes, isTruncated: truncated,
                          nextContinuationToken: root.childText("NextContinuationToken"))
    }

    /// Decodes `%XX` escapes and `+` (S3's `encoding-type=url` writes spaces as `+`); nil when an
    /// escape is malformed or the result is not UTF-8.
    static func percentDecode(_ s: String) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == 0x2B { out.append(0x20); continue }
            guard c == 0x25 else { out.append(c); continue }
            guard let h = it.popFirst().flatMap(hexValue), let l = it.popFirst().flatMap(hexValue) else { return nil }
            out.append(h << 4 | l)
        }
        var decoder = UTF8()
        var bytes = out.makeIterator()
        var result = ""
        while true {
            switch decoder.decode(&bytes) {
            case .scalarValue(let v): result.unicodeScalars.append(v)
            case .emptyInput: return result
            case .error: return nil
            }
        }
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x37
        case 0x61...0x66: return c - 0x57
        default: return nil
        }
    }
}
