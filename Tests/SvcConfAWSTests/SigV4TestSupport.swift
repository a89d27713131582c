import Foundation
@testable import SvcConfAWS

// Shared helpers of the SigV4 tests: finding the shared oracles/peers, parsing the AWS test suite's
// raw `.req` files into `HTTPRequest`s, and signing with a trace of the intermediate strings.

/// The AWS SigV4 test suite's credentials, region, service and date.
enum SigV4SuiteConstants {
    static let credentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE",
                                            secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let region = "us-east-1"
    static let service = "service"
    static let date = SigV4Date(amzDate: "20150830T123600Z")!
}

/// `../shared/<subpath>` next to the repository (the nearest ancestor of this file holding
/// `Package.swift`), or nil. `environment` names a variable that overrides the `../shared/<first>`
/// folder (e.g. `SVCCONF_ORACLES` for `oracles`).
func sharedPath(_ subpath: String, environment: String?) -> String? {
    let fm = FileManager.default
    var components = subpath.split(separator: "/").map(String.init)
    if let environment, let env = ProcessInfo.processInfo.environment[environment], !env.isEmpty {
        components.removeFirst()
        let path = ([env] + components).joined(separator: "/")
        return fm.fileExists(atPath: path) ? path : nil
    }
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while dir.path != "/" {
        if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            let path = dir.deletingLastPathComponent().appendingPathComponent("shared/" + subpath).path
            return fm.fileExists(atPath: path) ? path : nil
        }
        dir = dir.deletingLastPathComponent()
    }
    return nil
}

/// One case of the AWS SigV4 test suite: `<dir>/<name>/<name>.{req,creq,sts,authz,sreq}`.
struct SigV4SuiteCase {
    let name: String
    let directory: String

    func file(_ ext: String) throws -> String {
        let path = directory + "/" + name + "." + ext
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SigV4TestError("\(name): cannot read \(path)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Every directory under `root` that holds a `<dirname>.req` (cases nest: `normalize-path/get-space`).
    static func all(under root: String) -> [SigV4SuiteCase] {
        let fm = FileManager.default
        var cases: [SigV4SuiteCase] = []
        var stack = [root]
        while let dir = stack.popLast() {
            guard let entries = try? fm.contentsOfDirectory(atPath: dir) else { continue }
            let name = (dir as NSString).lastPathComponent
            if entries.contains(name + ".req") { cases.append(SigV4SuiteCase(name: name, directory: dir)) }
            for entry in entries {
                var isDirectory: ObjCBool = false
                let path = dir + "/" + entry
                if fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { stack.append(path) }
            }
        }
        return cases.sorted { $0.directory < $1.directory }
    }
}

struct SigV4TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Parses a raw HTTP request of the AWS test suite into an `HTTPRequest`.
///
/// - Request line `METHOD target HTTP/1.1`; the target may contain raw spaces (`/example space/`), so
///   the method ends at the first space and the version starts at the last.
/// - `HTTPRequest.path` is the target's path **verbatim**: the suite writes paths un-encoded (raw
///   spaces, raw UTF-8, `$`), i.e. as the path a client would percent-encode once for the wire, and its
///   expected canonical URIs are that path encoded once (`/example%20space/`, `/%E1%88%B4`). For a
///   non-S3 service the signer encodes `HTTPRequest.path` once, so the suite's paths go in as written.
///   (On the wire the clients put `/example%20space/` in `path`, which a non-S3 service signs as
///   `%2520`: the same single extra encoding AWS specifies.)
/// - The query is split at `&` and `=` and percent-decoded into `HTTPRequest.query` (which holds
///   decoded names and values; the signer re-encodes them canonically).
/// - Headers in order, duplicates kept as separate entries; a line starting with a space or tab
///   continues the previous header's value (obs-fold, joined with a space; the signer collapses the
///   whitespace). `Host` becomes `HTTPRequest.host` and is removed from the headers.
/// - After the first empty line, the rest of the file is the body.
func parseSuiteRequest(_ text: String) throws -> HTTPRequest {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
        $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
    }
    guard !lines.isEmpty else { throw SigV4TestError("empty request") }
    let requestLine = lines.removeFirst()
    guard let firstSpace = requestLine.firstIndex(of: " "), let lastSpace = requestLine.lastIndex(of: " "),
          firstSpace < lastSpace else { throw SigV4TestError("bad request line: \(requestLine)") }
    let method = String(requestLine[..<firstSpace])
    let target = String(requestLine[requestLine.index(after: firstSpace) ..< lastSpace])

    var headers: [(name: String, value: String)] = []
    var bodyLines: [String]? = nil
    for (i, line) in lines.enumerated() {
        if line.isEmpty {
            bodyLines = Array(lines[(i + 1)...])
            break
        }
        if line.first == " " || line.first == "\t" {
            guard !headers.isEmpty else { throw SigV4TestError("continuation line before any header") }
            headers[headers.count - 1].value += " " + line
            continue
        }
        guard let colon = line.firstIndex(of: ":") else { throw SigV4TestError("bad header line: \(line)") }
        headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
    }
    let body = Array((bodyLines ?? []).joined(separator: "\n").utf8)

    guard let hostIndex = headers.firstIndex(where: { $0.name.lowercased() == "host" }) else {
        throw SigV4TestError("no Host header")
    }
    let host = headers[hostIndex].value.trimmingCharacters(in: .whitespaces)
    headers.remove(at: hostIndex)

    var path = target
    var query: [(name: String, value: String)] = []
    if let q = target.firstIndex(of: "?") {
        path = String(target[..<q])
        for pair in target[target.index(after: q)...].split(separator: "&", omittingEmptySubsequences: true) {
            if let eq = pair.firstIndex(of: "=") {
                query.append((percentDecode(pair[..<eq]), percentDecode(pair[pair.index(after: eq)...])))
            } else {
                query.append((percentDecode(pair), ""))
            }
        }
    }
    return HTTPRequest(method: method, scheme: "https", host: host, path: path, query: query, headers: headers, body: body)
}

/// `%XX` decoded to bytes (everything else kept as is).
func percentDecode<S: StringProtocol>(_ s: S) -> String {
    var out: [UInt8] = []
    let bytes = Array(s.utf8)
    var i = 0
    func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30 ... 0x39: return b - 0x30
        case 0x41 ... 0x46: return b - 0x41 + 10
        case 0x61 ... 0x66: return b - 0x61 + 10
        default: return nil
        }
    }
    while i < bytes.count {
        if bytes[i] == 0x25, i + 2 < bytes.count, let h = hexValue(bytes[i + 1]), let l = hexValue(bytes[i + 2]) {
            out.append(h << 4 | l)
            i += 3
        } else {
            out.append(bytes[i])
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// What signing produced: the canonical request and string to sign the signer used, and the headers.
struct SigV4Trace {
    var canonicalRequest = ""
    var stringToSign = ""
    var request: HTTPRequest
    var authorization: String { request.header("Authorization") ?? "" }
    var signature: String { String(authorization.split(separator: "=").last ?? "") }
}

/// Signs a copy of `request` and returns what the signer hashed and signed.
func traceSign(_ signer: SigV4Signer, _ request: HTTPRequest, date: SigV4Date) -> SigV4Trace {
    var trace = SigV4Trace(request: request)
    var canonical: [UInt8] = [], toSign: [UInt8] = []
    signer.sign(&trace.request, date: date) { canonical = $0; toSign = $1 }
    trace.canonicalRequest = String(decoding: canonical, as: UTF8.self)
    trace.stringToSign = String(decoding: toSign, as: UTF8.self)
    return trace
}

/// Lower-case hex (test side).
func hexString(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
