import SvcConfCrypto

/// AWS Signature Version 4 (`AWS4-HMAC-SHA256`): header-based signing and presigned URLs.
///
/// A `Sendable` value holding the credentials, region and service; the date is a parameter so tests
/// can pin it. Pure and synchronous: no I/O, no clock reads except in ``SigV4Date/now()``.
///
/// What gets signed (``sign(_:date:)``):
/// - `host` from ``HTTPRequest/host`` and every header present on the request at that moment except
///   `Authorization` (a `Host` entry in ``HTTPRequest/headers`` is ignored in favour of
///   ``HTTPRequest/host``). Headers the transport adds later (`Content-Length`) are not signed.
/// - Header names lower-cased; values trimmed, inner whitespace runs (space, tab, CR, LF) collapsed
///   to one space; repeated names joined with `,` in the order they were set.
/// - The query in ``AWSEncoding/queryString(_:)`` form (the same string goes on the wire).
/// - The path: for service `s3` exactly as sent (``HTTPRequest/path`` is already percent-encoded by
///   the client; never normalized, so keys like `a//b` survive); for every other service normalized
///   (`.`/`..` resolved, `//` collapsed) and percent-encoded once more (a wire `%20` is signed as
///   `%2520`), as AWS specifies for non-S3 services.
/// - The payload: the value of an `X-Amz-Content-SHA256` header when the request has one (e.g.
///   `UNSIGNED-PAYLOAD`), else the hex SHA-256 of the body.
///
/// The signing key (four chained HMACs) depends only on the credentials, region, service and the
/// day, so a signer derives it once per day and keeps it in a small lock-protected cache shared by its
/// copies: keep one signer per credentials/region/service to benefit (a fresh signer per request is
/// correct, just slower).
public struct SigV4Signer: Sendable {
    let credentials: AWSCredentials
    let region: String
    let service: String
    let isS3: Bool
    let keyCache: SigV4KeyCache

    /// A signer for `service` (`s3`, `kms`, `sts`, ...) in `region` (`us-east-1`).
    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.isS3 = service == "s3"
        self.keyCache = SigV4KeyCache()
    }

    /// Signs `request` in place for `date`: sets `X-Amz-Date`, `X-Amz-Security-Token` (when the
    /// credentials have a session token), for service `s3` also `X-Amz-Content-SHA256` (the hex SHA-256
    /// of the body, unless the request already has that header, e.g. `UNSIGNED-PAYLOAD`), then
    /// `Authorization`, replacing any earlier values of those headers. Signing again gives the same
    /// headers, so a retried request can be re-signed with a fresh date.
    public func sign(_ request: inout HTTPRequest, date: SigV4Date) {
        sign(&request, date: date, trace: nil)
    }

    /// ``sign(_:date:)``, handing the canonical request and the string to sign to `trace` (tests).
    ///
    /// The hot path of every S3 and KMS call. Besides the strings that end up on the request
    /// (`X-Amz-Date`, `X-Amz-Content-SHA256` for S3, `Authorization`) it allocates nothing: the
    /// digests, their hex, the canonical request and the string to sign live in scratch memory, and
    /// the final HMAC starts from the cached key's pad states (``SigV4KeyCache``).
    func sign(_ request: inout HTTPRequest, date: SigV4Date,
              trace: ((_ canonicalRequest: [UInt8], _ stringToSign: [UInt8]) -> Void)?) {
        let amzDate = date.amzDate
        let given = Self.prepareHeaders(&request.headers, amzDate: amzDate, sessionToken: credentials.sessionToken)
        let key = cachedSigningKey(date: date)
        // The steps that read the request are direct calls taking it as a (borrowed) argument, not
        // closures capturing the `inout` request: reading a captured `inout` copies the request,
        // which retains and later releases each of its seven fields.
        let authorization: String
        if let given {
            authorization = authorizationValue(request, payloadHash: Self.trimmed(given), key: key, amzDate: amzDate, trace: trace)
        } else if isS3 {
            // S3 sends the payload hash as X-Amz-Content-SHA256: hash straight into that string.
            let payloadHex = Self.payloadHashHex(request.body)
            request.headers.append(("X-Amz-Content-SHA256", payloadHex))
            authorization = authorizationValue(request, payloadHash: payloadHex, key: key, amzDate: amzDate, trace: trace)
        } else {
            authorization = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { payloadHex in
                _ = Self.putPayloadHash(request.body, into: payloadHex)
                return authorizationValue(request, payloadHash: UnsafeBufferPointer(payloadHex), key: key, amzDate: amzDate, trace: trace)
            }
        }
        request.headers.append(("Authorization", authorization))
    }

    /// Writes the hex SHA-256 of `body` to `out[0 ..< 64]` and returns 64.
    static func putPayloadHash(_ body: [UInt8], into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: SHA256.byteCount) { digest in
            let digest = UnsafeMutableRawBufferPointer(digest)
            body.withUnsafeBytes { SHA256.hash($0, into: digest) }
            var w = SigV4Writer(out)
            w.putHex(UnsafeRawBufferPointer(digest))
            return w.count
        }
    }

    /// The hex SHA-256 of `body`.
    static func payloadHashHex(_ body: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: 64) { putPayloadHash(body, into: $0) }
    }

    /// ``authorizationValue(_:payloadHash:key:amzDate:trace:)`` for a payload hash held in a string.
    func authorizationValue(_ request: HTTPRequest, payloadHash: String, key: HMACSHA256.PreparedKey, amzDate: String,
                            trace: ((_ canonicalRequest: [UInt8], _ stringToSign: [UInt8]) -> Void)?) -> String {
        withUTF8Bytes(payloadHash) { authorizationValue(request, payloadHash: $0, key: key, amzDate: amzDate, trace: trace) }
    }

    /// The `Authorization` value of `request` (headers already prepared) for `payloadHash`: the
    /// canonical request, its hash, the string to sign, its MAC under `key`, all in scratch memory.
    func authorizationValue(_ request: HTTPRequest, payloadHash: UnsafeBufferPointer<UInt8>, key: HMACSHA256.PreparedKey, amzDate: String,
                            trace: ((_ canonicalRequest: [UInt8], _ stringToSign: [UInt8]) -> Void)?) -> String {
        // Locals, not `self`, in the closures: capturing the signer would copy it (and retain its fields).
        let accessKeyId = credentials.accessKeyId, region = region, service = service
        // Scratch: [0, 32) a digest, then the string to sign.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32 + stringToSignLength) { scratch in
            let digest = UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: scratch[0 ..< 32]))
            let stringToSign = UnsafeMutableBufferPointer(rebasing: scratch[32...])
            return Self.withCanonicalRequest(request, isS3: isS3, payloadHash: payloadHash, signedHeaders: .all) { canonical, signedHeaders in
                SHA256.hash(UnsafeRawBufferPointer(canonical), into: digest)
                var w = SigV4Writer(stringToSign)
                Self.putStringToSign(canonicalRequestHash: UnsafeRawBufferPointer(digest), amzDate: amzDate,
                                     region: region, service: service, to: &w)
                key.authenticationCode(for: UnsafeRawBufferPointer(w.written), into: digest)
                if let trace { trace(Array(canonical), Array(w.written)) }
                return Self.authorizationValue(accessKeyId: accessKeyId, region: region, service: service, amzDate: amzDate,
                                               signedHeaders: signedHeaders, mac: UnsafeRawBufferPointer(digest))
            }
        }
    }

    /// A presigned URL for `request` (query-string authentication), valid for `seconds` from `date`
    /// (S3 accepts 1...604800).
    ///
    /// Adds `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`,
    /// `X-Amz-Security-Token` (with a session token) and `X-Amz-SignedHeaders=host` to the request's
    /// query and appends `X-Amz-Signature`. Only `host` is signed: whoever uses the URL sends no
    /// particular headers. The payload is `UNSIGNED-PAYLOAD` for S3, the body's SHA-256 otherwise.
    public func presignedURL(_ request: HTTPRequest, date: SigV4Date, expires seconds: Int) -> String {
        let amzDate = date.amzDate
        var presigned = request
        presigned.query.append(("X-Amz-Algorithm", "AWS4-HMAC-SHA256"))
        presigned.query.append(("X-Amz-Credential", credentials.accessKeyId + "/" + credentialScope(date: date)))
        presigned.query.append(("X-Amz-Date", amzDate))
        presigned.query.append(("X-Amz-Expires", String(seconds)))
        if let token = credentials.sessionToken { presigned.query.append(("X-Amz-Security-Token", token)) }
        presigned.query.append(("X-Amz-SignedHeaders", "host"))
        let key = cachedSigningKey(date: date)
        let region = region, service = service, isS3 = isS3, stringToSignLength = stringToSignLength
        let signature = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 96 + stringToSignLength) { scratch in
            let payloadHex = UnsafeMutableBufferPointer(rebasing: scratch[0 ..< 64])
            let digest = UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: scratch[64 ..< 96]))
            let stringToSign = UnsafeMutableBufferPointer(rebasing: scratch[96...])
            func finish(payloadHash: UnsafeBufferPointer<UInt8>) -> String {
                Self.withCanonicalRequest(presigned, isS3: isS3, payloadHash: payloadHash, signedHeaders: .hostOnly) { canonical, _ in
                    SHA256.hash(UnsafeRawBufferPointer(canonical), into: digest)
                    var w = SigV4Writer(stringToSign)
                    Self.putStringToSign(canonicalRequestHash: UnsafeRawBufferPointer(digest), amzDate: amzDate,
                                         region: region, service: service, to: &w)
                    key.authenticationCode(for: UnsafeRawBufferPointer(w.written), into: digest)
                    return SigV4Hex.string(UnsafeRawBufferPointer(digest))
                }
            }
            if isS3 { return finish(payloadHash: UnsafeBufferPointer(start: ("UNSIGNED-PAYLOAD" as StaticString).utf8Start, count: 16)) }
            request.body.withUnsafeBytes { SHA256.hash($0, into: digest) }
            var w = SigV4Writer(payloadHex)
            w.putHex(UnsafeRawBufferPointer(digest))
            return finish(payloadHash: UnsafeBufferPointer(payloadHex))
        }
        return presigned.scheme + "://" + presigned.host + (presigned.path.isEmpty ? "/" : presigned.path)
            + "?" + AWSEncoding.queryString(presigned.query) + "&X-Amz-Signature=" + signature
    }

    // MARK: - The steps, each testable (`@testable import SvcConfAWS`)

    /// The canonical request of `request` as it stands (sign a copy first to see what ``sign(_:date:)``
    /// signs), with `payloadHash` as its last line.
    func canonicalRequest(_ request: HTTPRequest, payloadHash: String, signedHeaders: SigV4SignedHeaders = .all) -> String {
        withUTF8Bytes(payloadHash) { payload in
            withCanonicalRequest(request, payloadHash: payload, signedHeaders: signedHeaders) { canonical, _ in String(decoding: canonical, as: UTF8.self) }
        }
    }

    /// The signed-headers list of `request` (`host;x-amz-date`).
    func signedHeaderList(_ request: HTTPRequest, signedHeaders: SigV4SignedHeaders = .all) -> String {
        withCanonicalRequest(request, payloadHash: UnsafeBufferPointer(start: nil, count: 0), signedHeaders: signedHeaders) { _, signed in
            String(decoding: signed, as: UTF8.self)
        }
    }

    /// `AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex SHA-256 of the canonical request>`.
    func stringToSign(canonicalRequest: String, date: SigV4Date) -> String {
        String(decoding: SHA256.hash(Array(canonicalRequest.utf8)).withUnsafeBytes {
            Self.stringToSignBytes(canonicalRequestHash: $0, amzDate: date.amzDate, region: region, service: service)
        }, as: UTF8.self)
    }

    /// The signing key for `date`: the HMAC chain over "AWS4" + secret, the date stamp, region, service
    /// and `aws4_request`. Derived afresh on every call (``sign(_:date:)`` uses ``cachedSigningKey(date:)``).
    func signingKey(date: SigV4Date) -> [UInt8] {
        var key = Array(("AWS4" + credentials.secretAccessKey).utf8)
        for part in [Array(date.dateStamp.utf8), Array(region.utf8), Array(service.utf8), Array("aws4_request".utf8)] {
            var next = HMACSHA256.authenticationCode(for: part, key: key)
            swap(&key, &next)
            secureZero(&next)
        }
        return key
    }

    /// The signing key for `date`, prepared for HMAC (its pad states), from the per-day cache.
    func cachedSigningKey(date: SigV4Date) -> HMACSHA256.PreparedKey {
        keyCache.key(day: date.dayNumber) {
            var key = signingKey(date: date)
            defer { secureZero(&key) }
            return HMACSHA256.PreparedKey(key: key)
        }
    }

    /// The hex signature of `stringToSign` for `date` (HMAC-SHA256 under ``signingKey(date:)``).
    func signature(stringToSign: String, date: SigV4Date) -> String {
        SigV4Hex.string(HMACSHA256.authenticationCode(for: Array(stringToSign.utf8), key: signingKey(date: date)))
    }

    /// `20150830/us-east-1/service/aws4_request`.
    func credentialScope(date: SigV4Date) -> String {
        String(unsafeUninitializedCapacity: scopeLength) { buffer in
            var w = SigV4Writer(buffer)
            Self.putScope(amzDate: date.amzDate, region: region, service: service, to: &w)
            return w.count
        }
    }

    // MARK: - Pieces

    /// One pass over the headers before signing: drops `Authorization`, sets `X-Amz-Date` and (with a
    /// token) `X-Amz-Security-Token` (replacing the first of each name in place, dropping repeats,
    /// appending when absent), and returns the value of an `X-Amz-Content-SHA256` header, if any.
    static func prepareHeaders(_ headers: inout [(name: String, value: String)], amzDate: String, sessionToken: String?) -> String? {
        var hasDate = false, hasToken = false
        var contentHash: String?
        var i = 0
        while i < headers.count {
            // One look at each name (`headers[i].name` in place: binding it to a local would retain it).
            switch SpecialHeader(headers[i].name) {
            case .authorization:
                headers.remove(at: i)
                continue
            case .date:
                if hasDate { headers.remove(at: i); continue }
                headers[i] = ("X-Amz-Date", amzDate)
                hasDate = true
            case .securityToken:
                guard let sessionToken else { break }
                if hasToken { headers.remove(at: i); continue }
                headers[i] = ("X-Amz-Security-Token", sessionToken)
                hasToken = true
            case .contentSHA256:
                if contentHash == nil { contentHash = headers[i].value }
            case .other:
                break
            }
            i += 1
        }
        headers.reserveCapacity(headers.count + 4)
        if !hasDate { headers.append(("X-Amz-Date", amzDate)) }
        if let sessionToken, !hasToken { headers.append(("X-Amz-Security-Token", sessionToken)) }
        return contentHash
    }

    /// The headers ``prepareHeaders(_:amzDate:sessionToken:)`` acts on, told apart by length first
    /// (most names match none of the lengths 10, 13 and 20).
    enum SpecialHeader {
        case authorization, date, securityToken, contentSHA256, other

        init(_ name: String) {
            switch name.utf8.count {
            case 10: self = nameIs(name, "x-amz-date") ? .date : .other
            case 13: self = nameIs(name, "authorization") ? .authorization : .other
            case 20:
                self = nameIs(name, "x-amz-security-token") ? .securityToken
                    : nameIs(name, "x-amz-content-sha256") ? .contentSHA256 : .other
            default: self = .other
            }
        }
    }

    /// The string to sign as bytes.
    static func stringToSignBytes(canonicalRequestHash: UnsafeRawBufferPointer, amzDate: String, region: String, service: String) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: stringToSignLength(region: region, service: service)) { buffer, count in
            var w = SigV4Writer(buffer)
            Self.putStringToSign(canonicalRequestHash: canonicalRequestHash, amzDate: amzDate, region: region, service: service, to: &w)
            count = w.count
        }
    }

    /// `AWS4-HMAC-SHA256 Credential=<akid>/<scope>, SignedHeaders=<list>, Signature=<hex>`.
    static func authorizationValue(accessKeyId: String, region: String, service: String, amzDate: String,
                                   signedHeaders: UnsafeBufferPointer<UInt8>, mac: UnsafeRawBufferPointer) -> String {
        let prefix: StaticString = "AWS4-HMAC-SHA256 Credential="
        let middle: StaticString = ", SignedHeaders="
        let suffix: StaticString = ", Signature="
        let length = prefix.utf8CodeUnitCount + accessKeyId.utf8.count + 1 + scopeLength(region: region, service: service)
            + middle.utf8CodeUnitCount + signedHeaders.count + suffix.utf8CodeUnitCount + 2 * mac.count
        return String(unsafeUninitializedCapacity: length) { buffer in
            var w = SigV4Writer(buffer)
            w.put(prefix)
            w.put(accessKeyId)
            w.put(0x2F)
            Self.putScope(amzDate: amzDate, region: region, service: service, to: &w)
            w.put(middle)
            w.put(signedHeaders)
            w.put(suffix)
            w.putHex(mac)
            return w.count
        }
    }
}

