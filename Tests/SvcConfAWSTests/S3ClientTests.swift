// S3Client and RetryPolicy against an in-process fake transport: request shapes (paths, query,
// headers), response parsing, error mapping, retries and pagination. No network.

import Foundation
import SvcConfAWS
import SvcConfCrypto
import Testing

/// A scripted transport: records every request and answers from `handler` (attempt numbers are
/// 1-based and count every request the fake has seen).
final class S3FakeTransport: HTTPTransport, Sendable {
    typealias Handler = @Sendable (_ request: HTTPRequest, _ n: Int) throws -> HTTPResponse
    let log = S3FakeLog()
    let handler: Handler

    init(_ handler: @escaping Handler) { self.handler = handler }

    func send(_ request: HTTPRequest, timeout: Double) async throws -> HTTPResponse {
        let n = await log.record(request)
        return try handler(request, n)
    }

    var requests: [HTTPRequest] { get async { await log.requests } }
}

actor S3FakeLog {
    var requests: [HTTPRequest] = []
    func record(_ r: HTTPRequest) -> Int { requests.append(r); return requests.count }
}

/// Collects the backoff delays a policy asked for.
actor S3SleepLog {
    var delays: [Double] = []
    func add(_ d: Double) { delays.append(d) }
}

/// A synchronous counter (the signing `now` closure cannot await).
final class S3Counter: @unchecked Sendable {
    private var n = 0
    private let lock = NSLock()
    func next() -> Int { lock.lock(); defer { lock.unlock() }; n += 1; return n }
}

enum S3T {
    static let creds = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let date = SigV4Date(secondsSinceEpoch: 1_440_938_160)  // 20150830T123600Z

    static func response(_ status: Int, _ body: String = "", headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: headers, body: Array(body.utf8))
    }

    static func errorBody(_ code: String, _ message: String, requestId: String = "REQ123") -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>\(code)</Code><Message>\(message)</Message>"
            + "<Key>secret/key</Key><RequestId>\(requestId)</RequestId><HostId>abc</HostId></Error>"
    }

    /// A policy that never sleeps and records its delays; `random` returns the upper bound.
    static func fastPolicy(_ log: S3SleepLog, maxAttempts: Int = 4) -> RetryPolicy {
        RetryPolicy(maxAttempts: maxAttempts, random: { $0 }, sleep: { await log.add($0) })
    }

    static func client(_ transport: any HTTPTransport, region: String = "us-east-1", endpoint: String? = "http://127.0.0.1:9000",
                       style: S3Client.AddressingStyle = .automatic, policy: RetryPolicy = .none,
                       credentials: S3Client.CredentialsSource? = nil) throws -> S3Client {
        try S3Client(transport: transport, credentials: credentials ?? { creds }, region: region, endpoint: endpoint,
                     addressingStyle: style, retryPolicy: policy, now: { date })
    }

    static func hex(_ b: [UInt8]) -> String { b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }

    static func query(_ r: HTTPRequest) -> [String: String] {
        Dictionary(r.query.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    static func expectAWSError(_ kind: AWSError.Kind, _ body: () async throws -> Void,
                               sourceLocation: SourceLocation = #_sourceLocation) async -> AWSError? {
        do {
            try await body()
            Issue.record("expected an AWSError(.\(kind))", sourceLocation: sourceLocation)
            return nil
        } catch let e as AWSError {
            #expect(e.kind == kind, "got \(e)", sourceLocation: sourceLocation)
            return e
        } catch {
            Issue.record("expected AWSError, got \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }
}

@Suite("S3 endpoints and addressing")
struct S3EndpointTests {
    @Test func endpointResolutionOrder() {
        let env = ["AWS_ENDPOINT_URL_S3": "http://s3only:1", "AWS_ENDPOINT_URL": "http://general:2"]
        #expect(S3Client.endpoint(environment: env, explicit: "http://flag:3") == "http://flag:3")
        #expect(S3Client.endpoint(environment: env, explicit: nil) == "http://s3only:1")
        #expect(S3Client.endpoint(environment: env, explicit: "") == "http://s3only:1")
        #expect(S3Client.endpoint(environment: ["AWS_ENDPOINT_URL": "http://general:2"], explicit: nil) == "http://general:2")
        #expect(S3Client.endpoint(environment: ["AWS_ENDPOINT_URL_S3": "", "AWS_ENDPOINT_URL": "http://g:2"], explicit: nil) == "http://g:2")
        #expect(S3Client.endpoint(environment: [:], explicit: nil) == nil)
        let ignoring = env.merging(["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"]) { a, _ in a }
        #expect(S3Client.endpoint(environment: ignoring, explicit: nil) == nil)
        #expect(S3Client.endpoint(environment: ignoring, explicit: "http://flag:3") == "http://flag:3")
    }

    @Test func awsDefaultIsVirtualHosted() throws {
        let c = try S3T.client(S3FakeTransport { _, _ in S3T.response(200) }, region: "eu-west-1", endpoint: nil)
        #expect(c.endpoint == "https://s3.eu-west-1.amazonaws.com")
        #expect(!c.endpointIsOverridden)
        let r = try c.request(method: "GET", bucket: "my-bucket", key: "dir/a b+c.txt")
        #expect(r.scheme == "https")
        #expect(r.host == "my-bucket.s3.eu-west-1.amazonaws.com")
        #expect(r.path == "/dir/a%20b%2Bc.txt")
        #expect(r.url == "https://my-bucket.s3.eu-west-1.amazonaws.com/dir/a%20b%2Bc.txt")
        let list = try c.request(method: "GET", bucket: "my-bucket", key: nil)
        #expect(list.host == "my-bucket.s3.eu-west-1.amazonaws.com" && list.path == "/")
        // Dots in the bucket name would break the TLS wildcard: path-style on AWS too.
        let dotted = try c.request(method: "GET", bucket: "my.bucket", key: "k")
        #expect(dotted.host == "s3.eu-west-1.amazonaws.com" && dotted.path == "/my.bucket/k")
        let cn = try S3T.client(S3FakeTransport { _, _ in S3T.response(200) }, region: "cn-north-1", endpoint: nil)
        #expect(cn.endpoint == "https://s3.cn-north-1.amazonaws.com.cn")
    }

    @Test func overriddenEndpointIsPathStyle() throws {
        let c = try S3T.client(S3FakeTransport { _, _ in S3T.response(200) }, endpoint: "http://127.0.0.1:5000/")
        #expect(c.endpoint == "http://127.0.0.1:5000")
        let r = try c.request(method: "GET", bucket: "b-1", key: "a/b c/ü~_.-x")
        #expect(r.host == "127.0.0.1:5000")
        #expect(r.path == "/b-1/a/b%20c/%C3%BC~_.-x")
        let bucketOp = try c.request(method: "PUT", bucket: "b-1", key: nil)
        #expect(bucketOp.path == "/b-1")
        // Configurable either way.
        let v = try S3T.client(S3FakeTransport { _, _ in S3T.response(200) }, endpoint: "http://minio.local:9000", style: .virtualHosted)
        #expect(try v.request(method: "GET", bucket: "b-1", key: "k").host == "b-1.minio.local:9000")
        let p = try S3T.client(S3FakeTransport { _, _ in S3T.response(200) }, endpoint: nil, style: .path)
        let pr = try p.request(method: "GET", bucket: "b-1", key: "k")
        #expect(pr.host == "s3.us-east-1.amazonaws.com" && pr.path == "/b-1/k")
    }

    @Test func endpointNormalisation() throws {
        func ep(_ s: String) throws -> String { try S3T.client(S3FakeTransport { _, _ in S3T.response(200) }, endpoint: s).endpoint }
        #expect(try ep("http://LOCALHOST:80") == "http://localhost")
        #expect(try ep("https://s3.example.com:443/") == "https://s3.example.com")
        #expect(try ep("https://gw.example.com/s3/") == "https://gw.example.com/s3")
        #expect(try ep("http://[::1]:9000") == "http://[::1]:9000")
        let c = try S3T.client(S3FakeTransport { _, _ in S3T.response(200) }, endpoint: "https://gw.example.com/s3")
        #expect(try c.request(method: "GET", bucket: "bkt", key: "k").path == "/s3/bkt/k")
        for bad in ["ftp://x", "127.0.0.1:9000", "http://user:pw@host", "http://host/?q=1", "http://host:0", "http://host:99999",
                    "http://ho st", "http://", "http://host:12ab", "http://host#frag"] {
            #expect(throws: AWSError.self, "\(bad)") { _ = try S3T.client(S3FakeTransport { _, _ in S3T.response(200) }, endpoint: bad) }
        }
        #expect(throws: AWSError.self) { _ = try S3T.client(S3FakeTransport { _, _ in S3T.response(200) }, region: "us-east-1.evil.com") }
        #expect(throws: AWSError.self) { _ = try S3T.client(S3FakeTransport { _, _ in S3T.response(200) }, region: "") }
    }

    @Test func invalidNamesAreRefusedBeforeSending() async throws {
        let t = S3FakeTransport { _, _ in S3T.response(200) }
        let c = try S3T.client(t)
        for bucket in ["ab", "Upper", "under_score", "-lead", "trail-", "a..b", "sp ace", "a/b", String(repeating: "a", count: 64)] {
            let e = await S3T.expectAWSError(.invalidRequest) { _ = try await c.getObject(bucket: bucket, key: "k") }
            #expect(e?.message.contains("bucket") == true)
        }
        for key in ["", "a/../b", "./a", "a/.", "..", String(repeating: "k", count: 1025)] {
            _ = await S3T.expectAWSError(.invalidRequest) { _ = try await c.getObject(bucket: "bkt", key: key) }
        }
        _ = await S3T.expectAWSError(.invalidRequest) { _ = try await c.listObjectsV2(bucket: "bkt", maxKeys: 1001) }
        _ = await S3T.expectAWSError(.invalidRequest) {
            _ = try await c.putObject(bucket: "bkt", key: "k", body: [], ifMatch: "\"a\"\r\nX-Evil: 1")
        }
        #expect(await t.requests.isEmpty)
        // Keys that are fine: dots inside names, empty segments, 1024 bytes.
        #expect(try c.request(method: "GET", bucket: "bkt", key: "a/.hidden/..x/b..").path == "/bkt/a/.hidden/..x/b..")
        #expect(try c.request(method: "GET", bucket: "bkt", key: "a//b").path == "/bkt/a//b")
        _ = try c.request(method: "GET", bucket: "bkt", key: String(repeating: "k", count: 1024))
    }
}

@Suite("S3 operations (fake transport)")
struct S3OperationTests {
    @Test func getObjectRequestAndResult() async throws {
        let t = S3FakeTransport { _, _ in
            S3T.response(200, "hello", headers: [("ETag", "\"5d41402abc4b2a76b9719d911017c592\""), ("Content-Length", "5")])
        }
        let c = try S3T.client(t)
        let (bytes, etag) = try await c.getObject(bucket: "bkt", key: "svc/prod/config 1.env")
        #expect(bytes == Array("hello".utf8))
        #expect(etag == "\"5d41402abc4b2a76b9719d911017c592\"")
        let r = try #require(await t.requests.first)
        #expect(r.method == "GET")
        #expect(r.url == "http://127.0.0.1:9000/bkt/svc/prod/config%201.env")
        #expect(r.body.isEmpty)
        #expect(r.header("x-amz-date") == "20150830T123600Z")
        #expect(r.header("x-amz-content-sha256") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let auth = try #require(r.header("authorization"))
        #expect(auth.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="))
        #expect(r.header("content-type") == nil)
    }

    @Test func putObjectHeadersAndBody() async throws {
        let t = S3FakeTransport { _, _ in S3T.response(200, headers: [("ETag", "\"new\"")]) }
        let c = try S3T.client(t)
        let body = Array("sealed bytes".utf8)
        #expect(try await c.putObject(bucket: "bkt", key: "a/b", body: body, contentType: "application/vnd.svcconf", ifNoneMatch: true) == "\"new\"")
        #expect(try await c.putObject(bucket: "bkt", key: "a/b", body: body, ifMatch: "\"old\"") == "\"new\"")
        #expect(try await c.putObject(bucket: "bkt", key: "a/b", body: []) == "\"new\"")
        let rs = await t.requests
        #expect(rs.count == 3)
        #expect(rs[0].method == "PUT" && rs[0].path == "/bkt/a/b" && rs[0].body == body)
        #expect(rs[0].header("content-type") == "application/vnd.svcconf")
        #expect(rs[0].header("if-none-match") == "*" && rs[0].header("if-match") == nil)
        #expect(rs[0].header("x-amz-content-sha256") == S3T.hex(SHA256.hash(body)))
        #expect(rs[0].header("authorization")?.contains("SignedHeaders=content-type;host;if-none-match;x-amz-content-sha256;x-amz-date,") == true)
        #expect(rs[1].header("if-match") == "\"old\"" && rs[1].header("if-none-match") == nil)
        #expect(rs[1].header("content-type") == "application/octet-stream")
        #expect(rs[2].body.isEmpty && rs[2].header("if-match") == nil && rs[2].header("if-none-match") == nil)
    }

    @Test func sessionTokenIsSent() async throws {
        let t = S3FakeTransport { _, _ in S3T.response(204) }
        let c = try S3T.client(t, credentials: { AWSCredentials(accessKeyId: "ASIAX", secretAccessKey: "s", sessionToken: "TOKEN") })
        try await c.deleteObject(bucket: "bkt", key: "k")
        let r = try #require(await t.requests.first)
        #expect(r.method == "DELETE" && r.path == "/bkt/k")
        #expect(r.header("x-amz-security-token") == "TOKEN")
    }

    @Test func headObjectParsesHeaders() async throws {
        let t = S3FakeTransport { _, _ in
            S3T.response(200, headers: [("ETag", "\"e\""), ("Content-Length", "1234"), ("Content-Type", "text/plain"),
                                       ("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT"), ("x-amz-version-id", "v1")])
        }
        let info = try await S3T.client(t).headObject(bucket: "bkt", key: "k")
        #expect(info == S3ObjectInfo(etag: "\"e\"", contentLength: 1234, contentType: "text/plain",
                                     lastModified: "Wed, 21 Oct 2015 07:28:00 GMT", versionId: "v1"))
        #expect(await t.requests.first?.method == "HEAD")
    }

    @Test func missingETagIsMalformed() async throws {
        let c = try S3T.client(S3FakeTransport { _, _ in S3T.response(200, "x") })
        _ = await S3T.expectAWSError(.malformedResponse) { _ = try await c.getObject(bucket: "bkt", key: "k") }
        _ = await S3T.expectAWSError(.malformedResponse) { _ = try await c.putObject(bucket: "bkt", key: "k", body: [1]) }
    }

    @Test func createBucketOutsideUSEast1SendsLocation() async throws {
        let t = S3FakeTransport { _, n in
            n == 1 ? S3T.response(200) : S3T.response(409, S3T.errorBody("BucketAlreadyOwnedByYou", "yours"))
        }
        let c = try S3T.client(t, region: "eu-central-1")
        try await c.createBucket(bucket: "new-bucket")
        try await c.createBucket(bucket: "new-bucket")  // already ours: fine
        let r = try #require(await t.requests.first)
        #expect(r.method == "PUT" && r.path == "/new-bucket")
        #expect(String(decoding: r.body, as: UTF8.self).contains("<LocationConstraint>eu-central-1</LocationConstraint>"))
        #expect(r.header("content-type") == "application/xml")
        let east = S3FakeTransport { _, _ in S3T.response(200) }
        try await S3T.client(east).createBucket(bucket: "new-bucket")
        #expect(await east.requests.first?.body.isEmpty == true)
        let taken = try S3T.client(S3FakeTransport { _, _ in S3T.response(409, S3T.errorBody("BucketAlreadyExists", "taken")) })
        let e = await S3T.expectAWSError(.service) { try await taken.createBucket(bucket: "new-bucket") }
        #expect(e?.code == "BucketAlreadyExists")
    }

    @Test func credentialFailuresAreCredentialErrors() async throws {
        struct Boom: Error {}
        let t = S3FakeTransport { _, _ in S3T.response(200) }
        let c = try S3T.client(t, policy: .default, credentials: { throw Boom() })
        _ = await S3T.expectAWSError(.credentials) { _ = try await c.getObject(bucket: "bkt", key: "k") }
        let c2 = try S3T.client(t, credentials: { throw AWSError.credentialsNotConfigured("no credentials") })
        let e = await S3T.expectAWSError(.credentials) { _ = try await c2.getObject(bucket: "bkt", key: "k") }
        #expect(e?.isCredentialsNotConfigured == true)
        #expect(await t.requests.isEmpty)
    }
}

@Suite("S3 errors")
struct S3ErrorTests {
    @Test func noSuchKeyIsNotFound() async throws {
        let t = S3FakeTransport { _, _ in
            S3T.response(404, S3T.errorBody("NoSuchKey", "The specified key does not exist."), headers: [("x-amz-request-id", "HDR")])
        }
        let e = try #require(await S3T.expectAWSError(.service) { _ = try await S3T.client(t).getObject(bucket: "bkt", key: "k") })
        #expect(e.status == 404 && e.code == "NoSuchKey" && e.requestId == "REQ123")
        #expect(e.isNotFound && !e.isPreconditionFailed)
        #expect(e.message == "get s3://bkt/k: The specified key does not exist.")
        #expect(e.description == "NoSuchKey (404): get s3://bkt/k: The specified key does not exist. [request id REQ123]")
    }

    @Test func headErrorsMapByStatus() async throws {
        for (status, code) in [(404, "NotFound"), (403, "Forbidden"), (412, "PreconditionFailed"), (400, "BadRequest")] {
            let t = S3FakeTransport { _, _ in S3T.response(status, headers: [("x-amz-request-id", "HREQ"), ("Content-Length", "99")]) }
            let e = try #require(await S3T.expectAWSError(.service) { _ = try await S3T.client(t).headObject(bucket: "bkt", key: "k") })
            #expect(e.status == status && e.code == code && e.requestId == "HREQ")
            #expect(e.isNotFound == (status == 404))
        }
    }

    @Test func missingBucketIsNotAMissingKey() async throws {
        let t = S3FakeTransport { _, _ in S3T.response(404, S3T.errorBody("NoSuchBucket", "The specified bucket does not exist")) }
        let e = try #require(await S3T.expectAWSError(.service) { _ = try await S3T.client(t).getObject(bucket: "bkt", key: "k") })
        #expect(e.code == "NoSuchBucket" && !e.isNotFound)
    }

    @Test func preconditionFailed() async throws {
        let t = S3FakeTransport { _, _ in
            S3T.response(412, S3T.errorBody("PreconditionFailed", "At least one of the pre-conditions you specified did not hold"))
        }
        let e = try #require(await S3T.expectAWSError(.service) {
            _ = try await S3T.client(t).putObject(bucket: "bkt", key: "k", body: [1], ifNoneMatch: true)
        })
        #expect(e.isPreconditionFailed && e.status == 412 && e.code == "PreconditionFailed")
        let conflict = AWSError(.service, "x", status: 409, code: "ConditionalRequestConflict")
        #expect(conflict.isPreconditionFailed)
        #expect(!AWSError(.service, "x", status: 409, code: "BucketNotEmpty").isPreconditionFailed)
    }

    @Test func errorsNeverCarryRequestBodiesOrHeaders() async throws {
        let secretBody = Array("DB_PASSWORD=hunter2-very-secret".utf8)
        let t = S3FakeTransport { _, _ in S3T.response(403, S3T.errorBody("AccessDenied", "Access Denied")) }
        let c = try S3T.client(t, credentials: {
            AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "SECRETSECRET", sessionToken: "SESSIONTOKEN")
        })
        let e = try #require(await S3T.expectAWSError(.service) {
            _ = try await c.putObject(bucket: "bkt", key: "k", body: secretBody, ifMatch: "\"etag\"")
        })
        let text = e.description + e.message
        for forbidden in ["hunter2", "SECRETSECRET", "SESSIONTOKEN", "Signature=", "AWS4-HMAC", "secret/key", "etag"] {
            #expect(!text.contains(forbidden), "\(forbidden) leaked into \(text)")
        }
        #expect(e.code == "AccessDenied")
    }

    @Test func oddErrorBodies() {
        // Not XML (a proxy's HTML page): the status speaks.
        let html = S3Errors.error(from: S3T.response(502, "<html><body>Bad Gateway</html>"), what: "get s3://b/k")
        #expect(html.kind == .service && html.status == 502 && html.code == nil)
        #expect(html.message.hasPrefix("get s3://b/k: HTTP 502"))
        // A redirect names the bucket's region.
        let moved = S3Errors.error(from: S3T.response(301, S3T.errorBody("PermanentRedirect", "Use the right endpoint."),
                                                      headers: [("x-amz-bucket-region", "eu-west-2")]), what: "get s3://b/k")
        #expect(moved.code == "PermanentRedirect" && moved.message.contains("eu-west-2"))
        // Control characters and huge messages from the server are tamed.
        let long = String(repeating: "m", count: 5000)
        let wild = S3Errors.error(from: S3T.response(400, "<Error><Code>X&#x1B;[31m</Code><Message>\(long)</Message></Error>"), what: "w")
        #expect(wild.code == "X [31m")
        #expect(wild.message.count < 600)
        // A raw control character makes the XML invalid: the status speaks.
        #expect(S3Errors.error(from: S3T.response(400, "<Error><Code>X\u{1B}</Code></Error>"), what: "w").code == "BadRequest")
        #expect(S3Errors.code(of: S3T.response(503, S3T.errorBody("SlowDown", "slow"))) == "SlowDown")
        #expect(S3Errors.code(of: S3T.response(503, "garbage")) == nil)
    }
}

@Suite("S3 listing")
struct S3ListTests {
    static func page(_ keys: [String], prefixes: [String] = [], truncated: Bool, next: String?, encoded: Bool = true) -> String {
        var s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        s += "<Name>bkt</Name><Prefix></Prefix><KeyCount>\(keys.count)</KeyCount><MaxKeys>2</MaxKeys>"
        if encoded { s += "<EncodingType>url</EncodingType>" }
        s += "<IsTruncated>\(truncated)</IsTruncated>"
        for k in keys {
            s += "<Contents><Key>\(k)</Key><LastModified>2025-01-02T03:04:05.000Z</LastModified>"
            s += "<ETag>&quot;e-\(k)&quot;</ETag><Size>\(k.utf8.count)</Size><StorageClass>STANDARD</StorageClass></Contents>"
        }
        for p in prefixes { s += "<CommonPrefixes><Prefix>\(p)</Prefix></CommonPrefixes>" }
        if let next { s += "<NextContinuationToken>\(next)</NextContinuationToken>" }
        return s + "</ListBucketResult>"
    }

    @Test func listRequestShapeAndDecoding() async throws {
        let t = S3FakeTransport { _, _ in
            S3T.response(200, Self.page(["dir/a+b.txt", "dir/x%2By%26z", "dir/%C3%BC%0A"], prefixes: ["dir/sub+dir/"], truncated: false, next: nil))
        }
        let c = try S3T.client(t)
        let p = try await c.listObjectsV2(bucket: "bkt", prefix: "dir/", delimiter: "/", startAfter: "dir/0", maxKeys: 2, continuationToken: "tok/en=")
        #expect(p.objects.map(\.key) == ["dir/a b.txt", "dir/x+y&z", "dir/ü\n"])
        #expect(p.objects.first?.etag == "\"e-dir/a+b.txt\"")
        #expect(p.objects.first?.lastModified == "2025-01-02T03:04:05.000Z")
        #expect(p.commonPrefixes == ["dir/sub dir/"])
        #expect(!p.isTruncated && p.nextContinuationToken == nil)
        let r = try #require(await t.requests.first)
        #expect(r.method == "GET" && r.path == "/bkt")
        #expect(S3T.query(r) == ["list-type": "2", "encoding-type": "url", "prefix": "dir/", "delimiter": "/",
                                 "start-after": "dir/0", "max-keys": "2", "continuation-token": "tok/en="])
        #expect(r.url == "http://127.0.0.1:9000/bkt?continuation-token=tok%2Fen%3D&delimiter=%2F&encoding-type=url&list-type=2&max-keys=2&prefix=dir%2F&start-after=dir%2F0")
    }

    @Test func unencodedListingsAreTakenLiterally() async throws {
        let t = S3FakeTransport { _, _ in S3T.response(200, Self.page(["a+b%20c"], truncated: false, next: nil, encoded: false)) }
        let p = try await S3T.client(t).listObjectsV2(bucket: "bkt")
        #expect(p.objects.map(\.key) == ["a+b%20c"])
        #expect(S3T.query(try #require(await t.requests.first)) == ["list-type": "2", "encoding-type": "url"])
    }

    @Test func paginationOverThreePages() async throws {
        let t = S3FakeTransport { r, _ in
            switch S3T.query(r)["continuation-token"] {
            case nil: return S3T.response(200, Self.page(["k1", "k2"], truncated: true, next: "T1"))
            case "T1": return S3T.response(200, Self.page(["k3", "k4"], truncated: true, next: "T2"))
            case "T2": return S3T.response(200, Self.page(["k5"], truncated: false, next: nil))
            default: return S3T.response(400, S3T.errorBody("InvalidArgument", "bad token"))
            }
        }
        let listing = try await S3T.client(t).listAllObjects(bucket: "bkt", prefix: "k", startAfter: "k0", pageSize: 2)
        #expect(listing.objects.map(\.key) == ["k1", "k2", "k3", "k4", "k5"])
        #expect(listing.pages == 3)
        let qs = await t.requests.map(S3T.query)
        #expect(qs.count == 3)
        #expect(qs[0]["start-after"] == "k0" && qs[0]["continuation-token"] == nil)
        #expect(qs[1]["start-after"] == nil && qs[1]["continuation-token"] == "T1")
        #expect(qs[2]["continuation-token"] == "T2")
        #expect(qs.allSatisfy { $0["max-keys"] == "2" && $0["prefix"] == "k" })
    }

    @Test func loopingOrTokenlessServersAreRefused() async throws {
        let loop = S3FakeTransport { _, _ in S3T.response(200, Self.page(["k"], truncated: true, next: "SAME")) }
        let e = await S3T.expectAWSError(.malformedResponse) { _ = try await S3T.client(loop).listAllObjects(bucket: "bkt") }
        #expect(e?.message.contains("repeated") == true)
        #expect(await loop.requests.count == 2)
        let tokenless = S3FakeTransport { _, _ in S3T.response(200, Self.page(["k"], truncated: true, next: nil)) }
        _ = await S3T.expectAWSError(.malformedResponse) { _ = try await S3T.client(tokenless).listAllObjects(bucket: "bkt") }
    }

    @Test func malformedListings() async throws {
        for body in ["<Other/>", "<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>",
                     "<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>",
                     "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>%ZZ</Key><Size>1</Size></Contents></ListBucketResult>",
                     "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>%FF</Key><Size>1</Size></Contents></ListBucketResult>",
                     "not xml"] {
            let t = S3FakeTransport { _, _ in S3T.response(200, body) }
            _ = await S3T.expectAWSError(.malformedResponse) { _ = try await S3T.client(t).listObjectsV2(bucket: "bkt") }
        }
    }
}

@Suite("S3 retries")
struct S3RetryTests {
    @Test func backoffIsCappedExponentialWithFullJitter() {
        let top = RetryPolicy(random: { $0 })
        #expect([1, 2, 3, 4, 5, 6, 10, 100].map(top.delay(beforeRetry:)) == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0])
        let bottom = RetryPolicy(random: { _ in 0 })
        #expect(bottom.delay(beforeRetry: 3) == 0)
        let wild = RetryPolicy(random: { $0 * 10 })  // a broken random source cannot exceed the ceiling
        #expect(wild.delay(beforeRetry: 1) == 0.1)
        let real = RetryPolicy()
        for n in 1...8 {
            let d = real.delay(beforeRetry: n)
            #expect(d >= 0 && d <= min(2.0, 0.1 * Double(1 << (n - 1))))
        }
        #expect(RetryPolicy().maxAttempts == 4 && RetryPolicy().baseDelay == 0.1 && RetryPolicy().maxDelay == 2.0)
    }

    @Test func idempotency() {
        func r(_ m: String, _ h: [(name: String, value: String)] = []) -> HTTPRequest {
            HTTPRequest(method: m, scheme: "http", host: "h", path: "/b/k", headers: h)
        }
        #expect(RetryPolicy.isIdempotent(r("GET")) && RetryPolicy.isIdempotent(r("HEAD")) && RetryPolicy.isIdempotent(r("DELETE")))
        #expect(RetryPolicy.isIdempotent(r("PUT")) && RetryPolicy.isIdempotent(r("PUT", [("If-None-Match", "*")])))
        #expect(RetryPolicy.isIdempotent(r("PUT", [("If-Match", "\"e\"")])))
        #expect(!RetryPolicy.isIdempotent(r("POST")) && !RetryPolicy.isIdempotent(r("PATCH")))
    }

    @Test func retriesA503ThenSucceeds() async throws {
        let sleeps = S3SleepLog()
        let t = S3FakeTransport { _, n in
            n == 1 ? S3T.response(503, S3T.errorBody("ServiceUnavailable", "busy")) : S3T.response(200, "ok", headers: [("ETag", "\"e\"")])
        }
        let c = try S3T.client(t, policy: S3T.fastPolicy(sleeps))
        let got = try await c.getObject(bucket: "bkt", key: "k")
        #expect(got.bytes == Array("ok".utf8))
        let rs = await t.requests
        #expect(rs.count == 2)
        #expect(await sleeps.delays == [0.1])
        // Each attempt is signed afresh.
        #expect(rs[0].header("authorization") != nil && rs[1].header("authorization") != nil)
        #expect(rs[0].headers.filter { $0.name.lowercased() == "authorization" }.count == 1)
        #expect(rs[1].headers.filter { $0.name.lowercased() == "x-amz-date" }.count == 1)
    }

    @Test func eachAttemptGetsANewDateAndFreshCredentials() async throws {
        let sleeps = S3SleepLog()
        let t = S3FakeTransport { _, n in n < 3 ? S3T.response(500, S3T.errorBody("InternalError", "oops")) : S3T.response(204) }
        let ticks = S3Counter(), fetches = S3Counter()
        let c = try S3Client(transport: t, credentials: {
            AWSCredentials(accessKeyId: "AKID\(fetches.next())", secretAccessKey: "s")
        }, region: "us-east-1", endpoint: "http://127.0.0.1:9000", retryPolicy: S3T.fastPolicy(sleeps), now: {
            SigV4Date(secondsSinceEpoch: 1_440_938_160 + Int64(ticks.next()))
        })
        try await c.deleteObject(bucket: "bkt", key: "k")
        let rs = await t.requests
        #expect(rs.count == 3)
        #expect(rs.compactMap { $0.header("x-amz-date") } == ["20150830T123601Z", "20150830T123602Z", "20150830T123603Z"])
        for (i, r) in rs.enumerated() {
            #expect(r.header("authorization")?.contains("Credential=AKID\(i + 1)/20150830/") == true)
        }
        #expect(await sleeps.delays == [0.1, 0.2])
    }

    @Test func slowDownInternalErrorAndRequestTimeoutAreRetried() async throws {
        for (status, code) in [(503, "SlowDown"), (500, "InternalError"), (400, "RequestTimeout"), (502, "BadGateway"), (504, "GatewayTimeout")] {
            let sleeps = S3SleepLog()
            let t = S3FakeTransport { _, n in n == 1 ? S3T.response(status, S3T.errorBody(code, "again")) : S3T.response(204) }
            try await S3T.client(t, policy: S3T.fastPolicy(sleeps)).deleteObject(bucket: "bkt", key: "k")
            #expect(await t.requests.count == 2, "\(code)")
        }
    }

    @Test func otherClientErrorsAreFinal() async throws {
        for (status, code) in [(403, "AccessDenied"), (400, "InvalidArgument"), (404, "NoSuchKey"), (412, "PreconditionFailed"),
                               (409, "OperationAborted"), (429, "TooManyRequests"), (501, "NotImplemented")] {
            let sleeps = S3SleepLog()
            let t = S3FakeTransport { _, _ in S3T.response(status, S3T.errorBody(code, "no")) }
            let e = await S3T.expectAWSError(.service) {
                _ = try await S3T.client(t, policy: S3T.fastPolicy(sleeps)).getObject(bucket: "bkt", key: "k")
            }
            #expect(e?.code == code)
            #expect(await t.requests.count == 1, "\(code)")
            #expect(await sleeps.delays.isEmpty)
        }
    }

    @Test func giveUpAfterFourAttempts() async throws {
        let sleeps = S3SleepLog()
        let t = S3FakeTransport { _, _ in S3T.response(503, S3T.errorBody("SlowDown", "Please reduce your request rate.")) }
        let e = await S3T.expectAWSError(.service) {
            _ = try await S3T.client(t, policy: S3T.fastPolicy(sleeps)).getObject(bucket: "bkt", key: "k")
        }
        #expect(e?.code == "SlowDown" && e?.status == 503)
        #expect(await t.requests.count == 4)
        #expect(await sleeps.delays == [0.1, 0.2, 0.4])
    }

    @Test func connectionErrorsRetryIdempotentRequests() async throws {
        for kind in [AWSError.Kind.connection, .timeout] {
            let sleeps = S3SleepLog()
            let t = S3FakeTransport { _, n in
                if n == 1 { throw AWSError(kind, "reset") }
                return S3T.response(200, "x", headers: [("ETag", "\"e\"")])
            }
            let c = try S3T.client(t, policy: S3T.fastPolicy(sleeps))
            _ = try await c.getObject(bucket: "bkt", key: "k")
            _ = try await c.putObject(bucket: "bkt", key: "k", body: [1])
            #expect(await t.requests.count == 3)
        }
    }

    @Test func truncatedBodyFromTheTransportIsRetriedThenReported() async throws {
        let sleeps = S3SleepLog()
        let t = S3FakeTransport { _, _ in throw AWSError(.connection, "GET http://127.0.0.1:9000/bkt/k: response body cut off (10 of 100 bytes)") }
        let e = await S3T.expectAWSError(.connection) {
            _ = try await S3T.client(t, policy: S3T.fastPolicy(sleeps)).getObject(bucket: "bkt", key: "k")
        }
        #expect(e?.message.contains("cut off") == true)
        #expect(e?.message.hasPrefix("get s3://bkt/k: ") == true)
        #expect(await t.requests.count == 4)
    }

    @Test func noRetryOfANonIdempotentRequestAfterAConnectionError() async throws {
        let sleeps = S3SleepLog()
        let t = S3FakeTransport { _, _ in throw AWSError(.connection, "connection lost") }
        let policy = S3T.fastPolicy(sleeps)
        let post = HTTPRequest(method: "POST", scheme: "http", host: "h", path: "/bkt", query: [("delete", "")])
        _ = await S3T.expectAWSError(.connection) {
            _ = try await policy.send(using: t, timeout: 1) { _ in post }
        }
        #expect(await t.requests.count == 1)
        // ...unless the caller says it is safe.
        _ = await S3T.expectAWSError(.connection) {
            _ = try await policy.send(using: t, timeout: 1, idempotent: true) { _ in post }
        }
        #expect(await t.requests.count == 5)
        // A POST answered with 503 is retried: the server said it did not do it.
        let busy = S3FakeTransport { _, n in n == 1 ? S3T.response(503) : S3T.response(200) }
        let out = try await policy.send(using: busy, timeout: 1) { _ in post }
        #expect(out.response.status == 200 && out.attempts == 2 && out.unansweredAttempts == 0)
    }

    @Test func invalidRequestsAndCancellationAreNotRetried() async throws {
        let sleeps = S3SleepLog()
        let t = S3FakeTransport { _, _ in throw AWSError(.invalidRequest, "bad header") }
        _ = await S3T.expectAWSError(.invalidRequest) {
            _ = try await S3T.client(t, policy: S3T.fastPolicy(sleeps)).getObject(bucket: "bkt", key: "k")
        }
        #expect(await t.requests.count == 1)
    }

    @Test func conditionalPutWhoseFirstAttemptLandedSucceeds() async throws {
        // Attempt 1 is written but its answer is lost; attempt 2 then fails the condition. The client
        // reads the object back, finds its own bytes, and reports success.
        let body = Array("v2 sealed".utf8)
        for stored in [body, Array("someone else".utf8)] {
            let sleeps = S3SleepLog()
            let t = S3FakeTransport { r, n in
                switch (r.method, n) {
                case ("PUT", 1): throw AWSError(.connection, "connection lost")
                case ("PUT", _): return S3T.response(412, S3T.errorBody("PreconditionFailed", "At least one of the pre-conditions you specified did not hold"))
                default: return S3T.response(200, String(decoding: stored, as: UTF8.self), headers: [("ETag", "\"stored\"")])
                }
            }
            let c = try S3T.client(t, policy: S3T.fastPolicy(sleeps))
            if stored == body {
                #expect(try await c.putObject(bucket: "bkt", key: "k", body: body, ifNoneMatch: true) == "\"stored\"")
            } else {
                let e = await S3T.expectAWSError(.service) { _ = try await c.putObject(bucket: "bkt", key: "k", body: body, ifMatch: "\"old\"") }
                #expect(e?.isPreconditionFailed == true)
            }
            #expect(await t.requests.map(\.method) == ["PUT", "PUT", "GET"])
        }
        // Without a lost attempt a 412 is reported as is, with no read-back.
        let plain = S3FakeTransport { _, _ in S3T.response(412, S3T.errorBody("PreconditionFailed", "no")) }
        let e = await S3T.expectAWSError(.service) { _ = try await S3T.client(plain).putObject(bucket: "bkt", key: "k", body: body, ifNoneMatch: true) }
        #expect(e?.isPreconditionFailed == true)
        #expect(await plain.requests.count == 1)
    }
}
