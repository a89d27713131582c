import Testing
@testable import SvcConfAWS

/// The published examples of the S3 API reference, "Signature Calculations for the Authorization
/// Header: Transferring Payload in a Single Chunk (AWS Signature Version 4)" and "Authenticating
/// Requests: Using Query Parameters": bucket `examplebucket`, AKIAIOSFODNN7EXAMPLE, us-east-1,
/// 20130524T000000Z. Canonical requests, strings to sign and signatures as documented. (The document
/// prints the Authorization header without spaces after the commas; the signer writes `, ` as botocore
/// does, which S3 accepts. The signature is what matters and is asserted exactly.)
@Suite struct SigV4S3ExamplesTests {
    static let signer = SigV4Signer(
        credentials: AWSCredentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "s3")
    static let date = SigV4Date(amzDate: "20130524T000000Z")!
    static let host = "examplebucket.s3.amazonaws.com"
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    func check(_ request: HTTPRequest, canonical: String, canonicalHash: String, signedHeaders: String, signature: String,
               sourceLocation: SourceLocation = #_sourceLocation) {
        let trace = traceSign(Self.signer, request, date: Self.date)
        #expect(trace.canonicalRequest == canonical, sourceLocation: sourceLocation)
        #expect(trace.stringToSign == "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n" + canonicalHash,
                sourceLocation: sourceLocation)
        #expect(trace.authorization == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=\(signedHeaders), Signature=\(signature)", sourceLocation: sourceLocation)
        #expect(trace.request.header("x-amz-date") == "20130524T000000Z", sourceLocation: sourceLocation)
    }

    @Test func getObject() {
        let request = HTTPRequest(method: "GET", scheme: "https", host: Self.host, path: "/test.txt",
                                  headers: [("Range", "bytes=0-9")])
        check(request, canonical: """
            GET
            /test.txt

            host:examplebucket.s3.amazonaws.com
            range:bytes=0-9
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            x-amz-date:20130524T000000Z

            host;range;x-amz-content-sha256;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
              canonicalHash: "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
              signedHeaders: "host;range;x-amz-content-sha256;x-amz-date",
              signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func putObject() {
        // Key `test$file.text`: the client percent-encodes it for the path; S3 signs the path as sent.
        let request = HTTPRequest(method: "PUT", scheme: "https", host: Self.host,
                                  path: "/" + AWSEncoding.uriEncode("test$file.text", keepSlash: true),
                                  headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
                                  body: Array("Welcome to Amazon S3.".utf8))
        check(request, canonical: """
            PUT
            /test%24file.text

            date:Fri, 24 May 2013 00:00:00 GMT
            host:examplebucket.s3.amazonaws.com
            x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
            x-amz-date:20130524T000000Z
            x-amz-storage-class:REDUCED_REDUNDANCY

            date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class
            44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
            """,
              canonicalHash: "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
              signedHeaders: "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
              signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test func getBucketLifecycle() {
        let request = HTTPRequest(method: "GET", scheme: "https", host: Self.host, path: "/", query: [("lifecycle", "")])
        check(request, canonical: """
            GET
            /
            lifecycle=
            host:examplebucket.s3.amazonaws.com
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            x-amz-date:20130524T000000Z

            host;x-amz-content-sha256;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
              canonicalHash: "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
              signedHeaders: "host;x-amz-content-sha256;x-amz-date",
              signature: "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    }

    @Test func getBucketListObjects() {
        // Given out of order: the canonical (and wire) query sorts them.
        let request = HTTPRequest(method: "GET", scheme: "https", host: Self.host, path: "/",
                                  query: [("prefix", "J"), ("max-keys", "2")])
        check(request, canonical: """
            GET
            /
            max-keys=2&prefix=J
            host:examplebucket.s3.amazonaws.com
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            x-amz-date:20130524T000000Z

            host;x-amz-content-sha256;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
              canonicalHash: "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
              signedHeaders: "host;x-amz-content-sha256;x-amz-date",
              signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
        #expect(request.url == "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J")
    }

    @Test func presignedGetObject() {
        let request = HTTPRequest(method: "GET", scheme: "https", host: Self.host, path: "/test.txt")
        let url = Self.signer.presignedURL(request, date: Self.date, expires: 86400)
        #expect(url == "https://examplebucket.s3.amazonaws.com/test.txt"
                + "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")

        // The documented intermediate strings, through the internal steps.
        var query = request
        query.query = [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
                       ("X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"),
                       ("X-Amz-Date", "20130524T000000Z"), ("X-Amz-Expires", "86400"), ("X-Amz-SignedHeaders", "host")]
        let canonical = Self.signer.canonicalRequest(query, payloadHash: "UNSIGNED-PAYLOAD", signedHeaders: .hostOnly)
        #expect(canonical == """
            GET
            /test.txt
            X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host
            host:examplebucket.s3.amazonaws.com

            host
            UNSIGNED-PAYLOAD
            """)
        let toSign = Self.signer.stringToSign(canonicalRequest: canonical, date: Self.date)
        #expect(toSign == "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                + "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04")
        #expect(Self.signer.signature(stringToSign: toSign, date: Self.date)
                == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    /// Presigning ignores request headers (only `host` is signed) and adds a session token to the query.
    @Test func presignedWithHeadersAndToken() {
        let request = HTTPRequest(method: "GET", scheme: "https", host: Self.host, path: "/test.txt", headers: [("Range", "bytes=0-9")])
        #expect(Self.signer.presignedURL(request, date: Self.date, expires: 86400).hasSuffix("aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"))
        let withToken = SigV4Signer(credentials: AWSCredentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE",
                                                                 secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                                                 sessionToken: "tok/en+="),
                                    region: "us-east-1", service: "s3")
        let url = withToken.presignedURL(request, date: Self.date, expires: 86400)
        #expect(url.contains("&X-Amz-Security-Token=tok%2Fen%2B%3D&X-Amz-SignedHeaders=host&X-Amz-Signature="))
        #expect(!url.hasSuffix("aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"))
    }

    /// The signing key of the documented example (the S3 page gives the derivation, not the bytes; this
    /// pins the four-HMAC chain against the whole-signature vectors above by construction).
    @Test func signingKeyIsTheHMACChain() {
        let key = Self.signer.signingKey(date: Self.date)
        #expect(key.count == 32)
        #expect(key == Self.signer.signingKey(date: SigV4Date(amzDate: "20130524T235959Z")!))
        #expect(key != Self.signer.signingKey(date: SigV4Date(amzDate: "20130525T000000Z")!))
    }
}
