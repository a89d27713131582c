import Testing
import SvcConfCrypto
@testable import SvcConfAWS

/// Unit tests of the signer's rules beyond the published vectors.
@Suite struct SigV4SignerTests {
    static let credentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let date = SigV4Date(amzDate: "20260101T000000Z")!
    static let s3 = SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
    static let kms = SigV4Signer(credentials: credentials, region: "us-east-1", service: "kms")

    static func s3Put() -> HTTPRequest {
        HTTPRequest(method: "PUT", scheme: "https", host: "s3.us-east-1.amazonaws.com", path: "/bucket/svc/config.json",
                    query: [("x-id", "PutObject")], headers: [("Content-Type", "application/octet-stream")],
                    body: Array("hello".utf8))
    }

    static func kmsDecrypt() -> HTTPRequest {
        HTTPRequest(method: "POST", scheme: "https", host: "kms.us-east-1.amazonaws.com", path: "/",
                    headers: [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "TrentService.Decrypt")],
                    body: Array(#"{"CiphertextBlob": "AQID"}"#.utf8))
    }

    static func signed(_ signer: SigV4Signer, _ request: HTTPRequest, date: SigV4Date = date) -> HTTPRequest {
        var r = request
        signer.sign(&r, date: date)
        return r
    }

    static func signature(_ request: HTTPRequest) -> String {
        String(request.header("Authorization")?.split(separator: "=").last ?? "")
    }

    // MARK: - Headers set by sign()

    @Test func setsDateContentHashAndAuthorization() {
        let r = Self.signed(Self.s3, Self.s3Put())
        #expect(r.header("X-Amz-Date") == "20260101T000000Z")
        #expect(r.header("X-Amz-Content-SHA256") == hexString(SHA256.hash(Array("hello".utf8))))
        #expect(r.header("X-Amz-Security-Token") == nil)
        let auth = r.header("Authorization") ?? ""
        #expect(auth.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request, "
                               + "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature="))
        #expect(Self.signature(r).count == 64)
        #expect(r.headers.count == 4)
    }

    @Test func nonS3ServicesGetNoContentHashHeader() {
        let trace = traceSign(Self.kms, Self.kmsDecrypt(), date: Self.date)
        #expect(trace.request.header("X-Amz-Content-SHA256") == nil)
        #expect(trace.canonicalRequest.hasSuffix("\n" + hexString(SHA256.hash(Self.kmsDecrypt().body))))
        #expect(trace.authorization.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-target,"))
    }

    @Test func sessionTokenIsSetAndSigned() {
        let creds = AWSCredentials(accessKeyId: "ASIAEXAMPLE", secretAccessKey: "secret", sessionToken: "FwoGZXIvYXdzE//token+/=")
        let signer = SigV4Signer(credentials: creds, region: "us-east-1", service: "kms")
        var request = Self.kmsDecrypt()
        request.headers.append(("x-amz-security-token", "stale"))  // replaced, not duplicated
        let trace = traceSign(signer, request, date: Self.date)
        #expect(trace.request.header("X-Amz-Security-Token") == "FwoGZXIvYXdzE//token+/=")
        #expect(trace.request.headers.filter { $0.name.lowercased() == "x-amz-security-token" }.count == 1)
        #expect(trace.canonicalRequest.contains("\nx-amz-security-token:FwoGZXIvYXdzE//token+/=\n"))
        #expect(trace.authorization.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target,"))
        #expect(trace.authorization.contains("Credential=ASIAEXAMPLE/20260101/us-east-1/kms/aws4_request,"))
        // The token is part of the signature.
        let other = SigV4Signer(credentials: AWSCredentials(accessKeyId: "ASIAEXAMPLE", secretAccessKey: "secret", sessionToken: "other"),
                                region: "us-east-1", service: "kms")
        #expect(Self.signature(Self.signed(other, request)) != trace.signature)
    }

    @Test func headerValuesAreTrimmedAndCollapsed() {
        var request = Self.kmsDecrypt()
        request.headers.append(("My-Header", "  a   b \t c  "))
        request.headers.append(("MY-HEADER", "\tsecond "))
        request.headers.append(("Empty", "   "))
        let trace = traceSign(Self.kms, request, date: Self.date)
        #expect(trace.canonicalRequest.contains("\nempty:\n"))
        #expect(trace.canonicalRequest.contains("\nmy-header:a b c,second\n"))
        #expect(trace.authorization.contains("SignedHeaders=content-type;empty;host;my-header;x-amz-date;x-amz-target,"))
        // Same value written differently, same signature.
        var tidy = Self.kmsDecrypt()
        tidy.headers.append(("my-header", "a b c"))
        tidy.headers.append(("my-header", "second"))
        tidy.headers.append(("empty", ""))
        #expect(Self.signature(Self.signed(Self.kms, tidy)) == trace.signature)
        #expect(SigV4Signer.trimmed("  x \r\n y  ") == "x y")
        #expect(SigV4Signer.trimmed("") == "")
        #expect(SigV4Signer.trimmed(" \t ") == "")
        #expect(Self.kms.signedHeaderList(trace.request) == "content-type;empty;host;my-header;x-amz-date;x-amz-target")
        #expect(Self.kms.signedHeaderList(trace.request, signedHeaders: .hostOnly) == "host")
    }

    @Test func unsignedPayloadIsKept() {
        var request = Self.s3Put()
        request.headers.append(("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"))
        let trace = traceSign(Self.s3, request, date: Self.date)
        #expect(trace.request.header("X-Amz-Content-SHA256") == "UNSIGNED-PAYLOAD")
        #expect(trace.canonicalRequest.hasSuffix("\nUNSIGNED-PAYLOAD"))
        #expect(trace.canonicalRequest.contains("\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n"))
        // The body is then not part of the signature.
        var otherBody = request
        otherBody.body = Array("something else".utf8)
        #expect(Self.signature(Self.signed(Self.s3, otherBody)) == trace.signature)
    }

    @Test func hostComesFromRequestHostAndAuthorizationIsNeverSigned() {
        var request = Self.kmsDecrypt()
        let plain = Self.signature(Self.signed(Self.kms, request))
        request.headers.append(("Host", "evil.example.com"))
        request.headers.append(("authorization", "garbage"))
        let r = Self.signed(Self.kms, request)
        #expect(Self.signature(r) == plain)
        #expect(r.headers.filter { $0.name.lowercased() == "authorization" }.count == 1)
    }

    // MARK: - Re-signing

    @Test func signingTwiceGivesIdenticalResults() {
        for (signer, request) in [(Self.s3, Self.s3Put()), (Self.kms, Self.kmsDecrypt())] {
            let once = Self.signed(signer, request)
            let twice = Self.signed(signer, once)
            #expect(once.headers.map(\.name) == twice.headers.map(\.name))
            #expect(once.headers.map(\.value) == twice.headers.map(\.value))
            // A fresh date on retry replaces the date and signature, nothing accumulates.
            let later = Self.signed(signer, once, date: SigV4Date(secondsSinceEpoch: Self.date.secondsSinceEpoch + 90))
            #expect(later.headers.count == once.headers.count)
            #expect(later.header("X-Amz-Date") == "20260101T000130Z")
            #expect(Self.signature(later) != Self.signature(once))
        }
    }

    @Test func headersAddedAfterSigningAreNotSigned() {
        var r = Self.signed(Self.s3, Self.s3Put())
        let before = r.header("Authorization")
        r.headers.append(("Content-Length", "5"))  // what the transport adds
        #expect(r.header("Authorization") == before)
    }

    // MARK: - Every signed part matters

    @Test func changingAnySignedPartChangesTheSignature() {
        for (signer, base) in [(Self.s3, Self.s3Put()), (Self.kms, Self.kmsDecrypt())] {
            let reference = Self.signature(Self.signed(signer, base))
            var variants: [(String, HTTPRequest)] = []
            var r = base; r.method = base.method == "POST" ? "PUT" : "POST"; variants.append(("method", r))
            r = base; r.host = "other.amazonaws.com"; variants.append(("host", r))
            r = base; r.path = base.path + "x"; variants.append(("path", r))
            r = base; r.query.append(("a", "b")); variants.append(("query added", r))
            r = base; r.query = [("x-id", "GetObject")]; variants.append(("query value", r))
            r = base; r.body.append(0x21); variants.append(("body", r))
            r = base; r.headers[0].value += "x"; variants.append(("header value", r))
            r = base; r.headers[0].name += "x"; variants.append(("header name", r))
            r = base; r.headers.append(("X-Extra", "1")); variants.append(("header added", r))
            r = base; r.headers.removeFirst(); variants.append(("header removed", r))
            for (what, variant) in variants {
                #expect(Self.signature(Self.signed(signer, variant)) != reference, "\(signer.service): changing the \(what) kept the signature")
            }
            let otherDay = Self.signed(signer, base, date: SigV4Date(secondsSinceEpoch: Self.date.secondsSinceEpoch + 86_400))
            #expect(Self.signature(otherDay) != reference)
            let otherRegion = SigV4Signer(credentials: Self.credentials, region: "eu-west-1", service: signer.service)
            #expect(Self.signature(Self.signed(otherRegion, base)) != reference)
            let otherSecret = SigV4Signer(credentials: AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "x"),
                                          region: "us-east-1", service: signer.service)
            #expect(Self.signature(Self.signed(otherSecret, base)) != reference)
        }
    }

    // MARK: - Canonical URI

    @Test func s3PathIsSignedAsSent() {
        for path in ["/bucket/a%20b", "/bucket/my-object//example//photo.user", "/bucket/./x/../y", "/bucket/%E1%88%B4", ""] {
            let request = HTTPRequest(method: "GET", scheme: "https", host: "s3.amazonaws.com", path: path)
            let line = Self.s3.canonicalRequest(request, payloadHash: "UNSIGNED-PAYLOAD").split(separator: "\n", omittingEmptySubsequences: false)[1]
            #expect(line == (path.isEmpty ? "/" : path))
        }
    }

    @Test func otherServicesNormalizeAndEncodeOnceMore() {
        let cases: [(String, String)] = [
            ("/", "/"), ("", "/"), ("//", "/"), ("/a//b/", "/a/b/"), ("/a/./b/../c", "/a/c"), ("/../a", "/a"),
            ("/a/..", "/"), ("/a%20b", "/a%2520b"), ("/a b", "/a%20b"), ("/$x", "/%24x"), ("/ሴ", "/%E1%88%B4"),
            ("/-._~azAZ09", "/-._~azAZ09"),
        ]
        for (path, expected) in cases {
            let request = HTTPRequest(method: "GET", scheme: "https", host: "kms.amazonaws.com", path: path)
            let line = Self.kms.canonicalRequest(request, payloadHash: "x").split(separator: "\n", omittingEmptySubsequences: false)[1]
            #expect(line == expected, "path \(path)")
        }
    }

    // MARK: - Keys

    @Test func cachedKeyMatchesFreshDerivationAcrossDays() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "kms")
        for days in [0, 1, 0, 400, -1] {
            let date = SigV4Date(secondsSinceEpoch: Self.date.secondsSinceEpoch + Int64(days) * 86_400 + 3_599)
            let request = Self.kmsDecrypt()
            let trace = traceSign(signer, request, date: date)
            #expect(trace.signature == signer.signature(stringToSign: trace.stringToSign, date: date))
            let message = Array("svcconf".utf8)
            #expect(signer.cachedSigningKey(date: date).authenticationCode(for: message)
                    == HMACSHA256.authenticationCode(for: message, key: signer.signingKey(date: date)))
        }
    }

    @Test func padHMACMatchesHMACSHA256() throws {
        for (keyLength, messageLength) in [(32, 0), (32, 1), (32, 55), (32, 56), (32, 64), (32, 200), (0, 10), (64, 1000), (20, 3)] {
            let key = try SecureRandom.bytes(count: keyLength)
            let message = try SecureRandom.bytes(count: messageLength)
            #expect(HMACSHA256.PreparedKey(key: key).authenticationCode(for: message) == HMACSHA256.authenticationCode(for: message, key: key))
        }
    }

    @Test func copiesAndConcurrentUseAgree() async {
        let signer = Self.kms
        let reference = Self.signature(Self.signed(signer, Self.kmsDecrypt()))
        let results = await withTaskGroup(of: [String].self) { group in
            for t in 0 ..< 8 {
                group.addTask {
                    var out: [String] = []
                    let copy = signer
                    for i in 0 ..< 200 {
                        // Alternate days so the shared cache is replaced under contention.
                        let date = SigV4Date(secondsSinceEpoch: Self.date.secondsSinceEpoch + Int64((i + t) % 2) * 86_400)
                        let s = Self.signature(Self.signed(copy, Self.kmsDecrypt(), date: date))
                        if date == Self.date { out.append(s) }
                    }
                    return out
                }
            }
            var all: [String] = []
            for await r in group { all += r }
            return all
        }
        #expect(!results.isEmpty)
        #expect(results.allSatisfy { $0 == reference })
    }

    // MARK: - SigV4Date

    @Test func dateFormatting() {
        let d = SigV4Date(secondsSinceEpoch: 1_440_938_160)
        #expect(d.amzDate == "20150830T123600Z")
        #expect(d.dateStamp == "20150830")
        #expect(SigV4Date(amzDate: "20150830T123600Z") == d)
        #expect(SigV4Date(secondsSinceEpoch: 0).amzDate == "19700101T000000Z")
        #expect(SigV4Date(secondsSinceEpoch: -1).amzDate == "19691231T235959Z")
        #expect(SigV4Date(secondsSinceEpoch: 951_782_400).amzDate == "20000229T000000Z")
        #expect(SigV4Date(secondsSinceEpoch: 4_107_542_399).amzDate == "21000228T235959Z")
        #expect(SigV4Date(secondsSinceEpoch: .max).amzDate == "99991231T235959Z")
        #expect(SigV4Date(secondsSinceEpoch: .min).amzDate == "00000101T000000Z")
    }

    @Test func dateParsingRoundTripsAndRejects() {
        for s in ["20150830T123600Z", "20240229T235959Z", "19700101T000000Z", "19691231T235959Z", "00000101T000000Z", "99991231T235959Z"] {
            #expect(SigV4Date(amzDate: s)?.amzDate == s, "\(s)")
        }
        for s in ["", "20150830T123600", "20150830T123600ZZ", "2015083OT123600Z", "20150830 123600Z", "20150230T000000Z",
                  "21000229T000000Z", "20151301T000000Z", "20150100T000000Z", "20150830T240000Z", "20150830T126000Z",
                  "20150830T123660Z", "+0150830T123600Z", "20150830t123600z"] {
            #expect(SigV4Date(amzDate: s) == nil, "\(s)")
        }
        // Every day of a leap-year cycle round-trips.
        var seconds: Int64 = 946_684_800  // 2000-01-01
        for _ in 0 ..< 1_461 {
            let d = SigV4Date(secondsSinceEpoch: seconds + 45_296)
            #expect(SigV4Date(amzDate: d.amzDate) == d)
            seconds += 86_400
        }
    }

    @Test func nowIsRecent() {
        let now = SigV4Date.now()
        #expect(now.secondsSinceEpoch > 1_735_689_600)  // after 2025-01-01
        #expect(now.amzDate.count == 16)
    }
}
