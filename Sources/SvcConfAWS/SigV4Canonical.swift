#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The canonical request of SigV4 and the byte-level helpers of the signer's hot path.
//
// Signing is on the path of every S3 and KMS call, so the canonical request, the string to sign and
// the HMAC inputs are written into scratch buffers from `withUnsafeTemporaryAllocation` (on the stack
// when small) through `SigV4Writer`, whose every write is bounds-checked against a size computed up
// front. The only heap allocations left per signature are the strings that end up on the request and
// the digests SvcConfCrypto returns.

/// Which headers a canonical request signs.
enum SigV4SignedHeaders {
    /// `host` and every header on the request except `Authorization` (header-based auth).
    case all
    /// `host` only (presigned URLs).
    case hostOnly
}

/// Lower-case hex (SvcConf's `Hex` lives in the core, above this module).
enum SigV4Hex {
    /// The lower-case hex of `bytes`.
    static func string(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            var w = SigV4Writer(out)
            w.putHex(bytes)
            return w.count
        }
    }

    /// The lower-case hex of `bytes`.
    static func string(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { string($0) }
    }
}

/// Calls `body` with the UTF-8 bytes of `s` (without copying when the string is native).
@inline(__always)
func withUTF8Bytes<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    if let r = s.utf8.withContiguousStorageIfAvailable(body) { return r }
    return Array(s.utf8).withUnsafeBufferPointer(body)
}

/// Writes bytes into a buffer whose size was computed beforehand; every write is bounds-checked.
struct SigV4Writer {
    let buffer: UnsafeMutableBufferPointer<UInt8>
    private(set) var count = 0

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) { self.buffer = buffer }

    /// The bytes written so far.
    var written: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: buffer[0 ..< count]) }

    @inline(__always)
    mutating func put(_ byte: UInt8) {
        precondition(count < buffer.count, "svcconf: SigV4Writer overflow")
        buffer[count] = byte
        count += 1
    }

    mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        precondition(bytes.count <= buffer.count - count, "svcconf: SigV4Writer overflow")
        (buffer.baseAddress! + count).update(from: base, count: bytes.count)
        count += bytes.count
    }

    mutating func put(_ s: StaticString) {
        put(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    mutating func put(_ s: String) {
        withUTF8Bytes(s) { put($0) }
    }

    /// The first `n` bytes of `s`.
    mutating func put(_ s: String, prefix n: Int) {
        withUTF8Bytes(s) { put(UnsafeBufferPointer(rebasing: $0.prefix(n))) }
    }

    /// `bytes` in lower-case hex.
    ///
    /// A signature writes 96 bytes as hex (payload hash, canonical-request hash, MAC): an index loop
    /// over raw pointers (one bounds check up front) instead of `enumerated()` over the buffer.
    mutating func putHex(_ bytes: UnsafeRawBufferPointer) {
        let digits = ("0123456789abcdef" as StaticString).utf8Start
        precondition(2 * bytes.count <= buffer.count - count, "svcconf: SigV4Writer overflow")
        guard let out = buffer.baseAddress.map({ $0 + count }), let source = bytes.baseAddress else { return }
        let input = source.assumingMemoryBound(to: UInt8.self)
        for i in 0 ..< bytes.count {
            let b = input[i]
            out[2 * i] = digits[Int(b >> 4)]
            out[2 * i + 1] = digits[Int(b & 0x0F)]
        }
        count += 2 * bytes.count
    }

    /// `bytes` lower-cased (ASCII; other bytes unchanged): a header name of the canonical request.
    mutating func putLowercased(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        precondition(bytes.count <= buffer.count - count, "svcconf: SigV4Writer overflow")
        let out = buffer.baseAddress! + count
        for i in 0 ..< bytes.count { out[i] = SigV4Signer.lower(source[i]) }
        count += bytes.count
    }

    /// `v` trimmed, every inner run of whitespace collapsed to one space (never longer than `v`).
    ///
    /// Nearly every value needs no change (no whitespace at either end, inner whitespace only as
    /// single spaces): one scan checks that and the value is copied whole; otherwise the
    /// word-by-word loop below rebuilds it.
    mutating func putTrimmed(_ v: UnsafeBufferPointer<UInt8>) {
        if Self.isCanonicalValue(v) {
            put(v)
            return
        }
        var i = 0
        var first = true
        while i < v.count {
            while i < v.count, SigV4Signer.isSpace(v[i]) { i += 1 }
            guard i < v.count else { break }
            let start = i
            while i < v.count, !SigV4Signer.isSpace(v[i]) { i += 1 }
            if !first { put(0x20) }
            put(UnsafeBufferPointer(rebasing: v[start ..< i]))
            first = false
        }
    }

    mutating func putTrimmed(_ s: String) {
        withUTF8Bytes(s) { putTrimmed($0) }
    }

    /// Whether `v` is already trimmed and collapsed: no whitespace first or last, and no whitespace
    /// inside but single spaces.
    @inline(__always)
    static func isCanonicalValue(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = v.first, let last = v.last else { return true }
        if SigV4Signer.isSpace(first) || SigV4Signer.isSpace(last) { return false }
        var previousWasSpace = false
        for b in v {
            // Bytes above 0x20 are never whitespace: one comparison for almost every byte.
            if b > 0x20 { previousWasSpace = false; continue }
            if b != 0x20 { if SigV4Signer.isSpace(b) { return false } else { previousWasSpace = false; continue } }
            if previousWasSpace { return false }
            previousWasSpace = true
        }
        return true
    }

    /// `bytes` percent-encoded as SigV4 wants (RFC 3986 unreserved and `/` kept, upper-case hex):
    /// at most three times as long.
    mutating func putURIEncoded(_ bytes: UnsafeBufferPointer<UInt8>) {
        let hex: StaticString = "0123456789ABCDEF"
        for b in bytes {
            let unreserved = (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
                || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E || b == 0x2F
            if unreserved {
                put(b)
            } else {
                put(0x25)
                put(hex.utf8Start[Int(b >> 4)])
                put(hex.utf8Start[Int(b & 15)])
            }
        }
    }
}

/// A header of the canonical request: its lower-cased name at `pool[nameStart ..< valueStart]`, its
/// trimmed value at `pool[valueStart ..< valueEnd]`, and its position in the request's headers (-1 for
/// `host`).
struct HeaderEntry {
    var nameStart: Int
    var valueStart: Int
    var valueEnd: Int
    var index: Int
}

extension SigV4Signer {
    /// Whether `name` equals `lowercased` (ASCII, case-insensitive; `lowercased` must be lower case).
    @inline(__always)
    static func nameIs(_ name: String, _ lowercased: StaticString) -> Bool {
        let count = lowercased.utf8CodeUnitCount
        guard name.utf8.count == count else { return false }
        let target = lowercased.utf8Start
        // Over the bytes, not `name.utf8` (see `putLowercased` in `withCanonicalRequest`).
        return withUTF8Bytes(name) { bytes in
            for i in 0 ..< count where lower(bytes[i]) != target[i] { return false }
            return true
        }
    }

    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 { b &- 0x41 < 26 ? b | 0x20 : b }

    /// SigV4 header-value whitespace: space, tab, LF, VT, FF, CR (what botocore's `str.split()` drops).
    @inline(__always)
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    /// `value` trimmed and collapsed as in a canonical header.
    static func trimmed(_ value: String) -> String {
        String(unsafeUninitializedCapacity: value.utf8.count) { out in
            var w = SigV4Writer(out)
            w.putTrimmed(value)
            return w.count
        }
    }

    /// Writes the canonical URI of `path`.
    ///
    /// S3: the path exactly as sent (the client has percent-encoded it once; no normalization, so
    /// `a//b` and `./` in object keys survive). Every other service: dot segments resolved and empty
    /// segments dropped (RFC 3986 §5.2.4 plus AWS's `//` rule; a trailing `/` is kept), then every byte
    /// but the unreserved ones and `/` percent-encoded, so a wire path that already holds `%20`
    /// is signed as `%2520`, as those services expect. An empty path is `/`.
    /// Writes at most `3 * path.utf8.count + 2` bytes.
    static func putCanonicalURI(_ path: String, isS3: Bool, to w: inout SigV4Writer) {
        if path.isEmpty { w.put(0x2F); return }
        if isS3 { w.put(path); return }
        withUTF8Bytes(path) { bytes in
            // Segment boundaries of the normalized path, as a stack of (start, end) in `bytes`.
            withUnsafeTemporaryAllocation(of: (Int, Int).self, capacity: bytes.count / 2 + 1) { kept in
                var depth = 0
                var i = 0
                while i < bytes.count {
                    while i < bytes.count, bytes[i] == 0x2F { i += 1 }
                    let start = i
                    while i < bytes.count, bytes[i] != 0x2F { i += 1 }
                    let length = i - start
                    if length == 0 || (length == 1 && bytes[start] == 0x2E) { continue }
                    if length == 2, bytes[start] == 0x2E, bytes[start + 1] == 0x2E {
                        if depth > 0 { depth -= 1 }
                        continue
                    }
                    kept[depth] = (start, i)
                    depth += 1
                }
                w.put(0x2F)
                for k in 0 ..< depth {
                    if k > 0 { w.put(0x2F) }
                    w.putURIEncoded(UnsafeBufferPointer(rebasing: bytes[kept[k].0 ..< kept[k].1]))
                }
                if bytes.last == 0x2F, depth > 0 { w.put(0x2F) }
            }
        }
    }

    /// Calls `body` with the canonical request of `request` and the signed-headers list within it
    /// (`host;x-amz-date`), both in scratch memory valid only during the call.
    ///
    /// Headers: `host` is `request.host` (a `Host` entry in `request.headers` is ignored: the
    /// transport sends `request.host`); `Authorization` is never signed; with `.all`, every other header
    /// on the request is, under its lower-cased name, values trimmed and collapsed, repeated names
    /// joined with `,` in the order they were set.
    func withCanonicalRequest<R>(_ request: HTTPRequest, payloadHash: UnsafeBufferPointer<UInt8>, signedHeaders selection: SigV4SignedHeaders,
                                 _ body: (_ canonical: UnsafeBufferPointer<UInt8>, _ signedHeaders: UnsafeBufferPointer<UInt8>) -> R) -> R {
        Self.withCanonicalRequest(request, isS3: isS3, payloadHash: payloadHash, signedHeaders: selection, body)
    }

    /// ``withCanonicalRequest(_:payloadHash:signedHeaders:_:)`` without `self` (no signer copies in
    /// the closures below).
    static func withCanonicalRequest<R>(_ request: HTTPRequest, isS3: Bool, payloadHash: UnsafeBufferPointer<UInt8>,
                                        signedHeaders selection: SigV4SignedHeaders,
                                        _ body: (_ canonical: UnsafeBufferPointer<UInt8>, _ signedHeaders: UnsafeBufferPointer<UInt8>) -> R) -> R {
        let query = request.query.isEmpty ? "" : AWSEncoding.queryString(request.query)
        let all: Bool
        if case .all = selection { all = true } else { all = false }
        return request.headers.withUnsafeBufferPointer { headers in
            // Pass 1: sizes. `host` comes from request.host; Host and Authorization entries are skipped.
            var entryCount = 1, poolBytes = 4 + request.host.utf8.count
            // Index loops that read the fields in place: `for h in headers` would copy each tuple out
            // of the buffer and retain (then release) both strings.
            if all {
                for i in headers.indices where !isUnsigned(headers[i].name) {
                    entryCount += 1
                    poolBytes += headers[i].name.utf8.count + headers[i].value.utf8.count
                }
            }
            return withUnsafeTemporaryAllocation(of: HeaderEntry.self, capacity: entryCount) { entries in
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: poolBytes) { poolBuffer in
                    // Pass 2: lower-cased names and trimmed values into the pool.
                    var pool = SigV4Writer(poolBuffer)
                    pool.put("host" as StaticString)
                    pool.putTrimmed(request.host)
                    entries[0] = HeaderEntry(nameStart: 0, valueStart: 4, valueEnd: pool.count, index: -1)
                    var n = 1
                    if all {
                        for i in headers.indices where !isUnsigned(headers[i].name) {
                            let start = pool.count
                            // Over the UTF-8 bytes, not `name.utf8`: iterating the view of a small
                            // (inline) string extracts its bytes one at a time, several times slower.
                            withUTF8Bytes(headers[i].name) { pool.putLowercased($0) }
                            let valueStart = pool.count
                            pool.putTrimmed(headers[i].value)
                            entries[n] = HeaderEntry(nameStart: start, valueStart: valueStart, valueEnd: pool.count, index: i)
                            n += 1
                        }
                    }
                    return withSortedEntries(entries, count: n, pool: UnsafeBufferPointer(poolBuffer)) { name, value in
                        // method \n uri \n query \n (name:value\n)* \n signed \n payload
                        let bound = request.method.utf8.count + 1 + 3 * request.path.utf8.count + 2 + 1 + query.utf8.count + 1
                            + pool.count + 2 * n + 1 + pool.count + n + 1 + payloadHash.count
                        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bound) { out in
                            var w = SigV4Writer(out)
                            w.put(request.method)
                            w.put(0x0A)
                            putCanonicalURI(request.path, isS3: isS3, to: &w)
                            w.put(0x0A)
                            w.put(query)
                            w.put(0x0A)
                            var k = 0
                            while k < n {
                                let first = name(k)
                                w.put(first)
                                w.put(0x3A)
                                w.put(value(k))
                                k += 1
                                while k < n, bytesEqual(name(k), first) {
                                    w.put(0x2C)
                                    w.put(value(k))
                                    k += 1
                                }
                                w.put(0x0A)
                            }
                            w.put(0x0A)
                            let signedStart = w.count
                            k = 0
                            while k < n {
                                let first = name(k)
                                if k > 0 { w.put(0x3B) }
                                w.put(first)
                                k += 1
                                while k < n, bytesEqual(name(k), first) { k += 1 }
                            }
                            let signedEnd = w.count
                            w.put(0x0A)
                            w.put(payloadHash)
                            let written = w.written
                            return body(written, UnsafeBufferPointer(rebasing: written[signedStart ..< signedEnd]))
                        }
                    }
                }
            }
        }
    }

    /// Whether `a` and `b` hold the same bytes (`elementsEqual` goes through the generic iterator).
    @inline(__always)
    static func bytesEqual(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        guard a.count > 0, let x = a.baseAddress, let y = b.baseAddress else { return true }
        return memcmp(x, y, a.count) == 0
    }

    /// Whether a header is left out of the signed headers: `Host` (request.host is signed instead)
    /// and `Authorization`.
    @inline(__always)
    static func isUnsigned(_ name: String) -> Bool {
        let n = name.utf8.count
        return (n == 4 && nameIs(name, "host")) || (n == 13 && nameIs(name, "authorization"))
    }

    /// Sorts `entries[0 ..< count]` by (name, position) and calls `body` with accessors for the k-th
    /// entry's name and value in `pool`.
    static func withSortedEntries<R>(_ entries: UnsafeMutableBufferPointer<HeaderEntry>, count n: Int, pool: UnsafeBufferPointer<UInt8>,
                                     _ body: (_ name: (Int) -> UnsafeBufferPointer<UInt8>, _ value: (Int) -> UnsafeBufferPointer<UInt8>) -> R) -> R {
        func name(_ e: HeaderEntry) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: pool[e.nameStart ..< e.valueStart]) }
        func precedes(_ a: HeaderEntry, _ b: HeaderEntry) -> Bool {
            let x = name(a), y = name(b)
            for k in 0 ..< min(x.count, y.count) where x[k] != y[k] { return x[k] < y[k] }
            return x.count != y.count ? x.count < y.count : a.index < b.index
        }
        var k = 1
        while k < n {  // insertion sort: a handful of headers
            let e = entries[k]
            var j = k
            while j > 0, precedes(e, entries[j - 1]) {
                entries[j] = entries[j - 1]
                j -= 1
            }
            entries[j] = e
            k += 1
        }
        return body({ name(entries[$0]) }, { UnsafeBufferPointer(rebasing: pool[entries[$0].valueStart ..< entries[$0].valueEnd]) })
    }

    /// The length of the credential scope (the date stamp is 8 bytes).
    var scopeLength: Int { Self.scopeLength(region: region, service: service) }

    static func scopeLength(region: String, service: String) -> Int { 8 + 1 + region.utf8.count + 1 + service.utf8.count + 13 }

    /// The length of the string to sign.
    var stringToSignLength: Int { Self.stringToSignLength(region: region, service: service) }

    static func stringToSignLength(region: String, service: String) -> Int { 17 + 16 + 1 + scopeLength(region: region, service: service) + 1 + 64 }

    /// Writes `20150830/us-east-1/service/aws4_request`.
    static func putScope(amzDate: String, region: String, service: String, to w: inout SigV4Writer) {
        w.put(amzDate, prefix: 8)
        w.put(0x2F)
        w.put(region)
        w.put(0x2F)
        w.put(service)
        w.put("/aws4_request" as StaticString)
    }

    /// Writes `AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex canonical request hash>` (``stringToSignLength`` bytes).
    static func putStringToSign(canonicalRequestHash: UnsafeRawBufferPointer, amzDate: String, region: String, service: String, to w: inout SigV4Writer) {
        w.put("AWS4-HMAC-SHA256\n" as StaticString)
        w.put(amzDate)
        w.put(0x0A)
        putScope(amzDate: amzDate, region: region, service: service, to: &w)
        w.put(0x0A)
        w.putHex(canonicalRequestHash)
    }
}
