/// The strict wire codec of sealed versions (docs/sealed-format.md is the normative text).
///
/// ```
/// svcconf-sealed/v1\n                 magic line: format id and version
/// {"author":...,"version":3}\n        header line: canonical JSON, <= 64 KiB
/// --- <base64 HMAC-SHA256>\n          header MAC line
/// <ciphertext || 16-byte tag>         AES-256-GCM payload
/// ```
/// Parsing accepts exactly what ``encode(header:mac:ciphertext:)`` produces: parse then encode gives
/// the same bytes, and any other input is an error.
public enum SealedCodec {
    /// The magic line (without its newline).
    public static let magic = "svcconf-sealed/v1"
    /// Largest header line, in bytes.
    public static let maxHeaderBytes = 64 * 1024
    /// Largest ciphertext (payload plus tag), in bytes.
    public static let maxCiphertextBytes = 64 << 20
    /// Most recipient stanzas in one version.
    public static let maxRecipients = 16
    /// Largest author, in bytes.
    public static let maxAuthorBytes = 256
    /// Largest message, in bytes.
    public static let maxMessageBytes = 4096

    /// A parsed sealed version: the header, the exact authenticated bytes, the MAC and the ciphertext.
    public struct Parsed: Sendable {
        /// The decoded header.
        public let header: SealedHeader
        /// Magic line and header line, newlines included: the GCM additional data and MAC input.
        public let authenticatedBytes: [UInt8]
        /// The 32-byte header MAC.
        public let mac: [UInt8]
        /// Ciphertext with the 16-byte tag appended.
        public let ciphertext: [UInt8]
    }

    /// The magic line and canonical header line (with newlines): what the MAC and GCM authenticate.
    public static func authenticatedBytes(of header: SealedHeader) -> [UInt8] {
        var out = Array(magic.utf8)
        out.append(0x0A)
        out.append(contentsOf: JSON.canonical(headerValue(header)))
        out.append(0x0A)
        return out
    }

    /// The full sealed object.
    public static func encode(header: SealedHeader, mac: [UInt8], ciphertext: [UInt8]) -> [UInt8] {
        var out = authenticatedBytes(of: header)
        out.append(contentsOf: Array("--- ".utf8))
        out.append(contentsOf: Array(Base64.encode(mac).utf8))
        out.append(0x0A)
        out.append(contentsOf: ciphertext)
        return out
    }

    /// Strictly parses a sealed object. Throws `.tampered` for anything malformed.
    public static func parse(_ bytes: [UInt8]) throws(SvcConfError) -> Parsed {
        guard bytes.count <= maxHeaderBytes + maxCiphertextBytes + 128 else {
            throw .tampered("sealed version is larger than the format allows")
        }
        guard let nl1 = bytes.firstIndex(of: 0x0A) else {
            throw .tampered("not a sealed svcconf version (no format line)")
        }
        let first = String(decoding: bytes[0..<nl1], as: UTF8.self)
        guard first == magic else {
            if first.hasPrefix("svcconf-sealed/") {
                // Only a plausible format id (`v` + digits) is named and suggests upgrading; anything
                // else (a CRLF-mangled line, control characters) is not echoed.
                let id = first.utf8.dropFirst(15)
                if (2...10).contains(id.count), id.first == 0x76, id.dropFirst().allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
                    throw SvcConfError(.tampered, "unknown sealed format version \"\(first.dropFirst(15))\"",
                                       hint: "this version was written by a newer svcconf; upgrade to open it")
                }
                throw .tampered("unknown sealed format version (the format line is malformed)")
            }
            throw .tampered("not a sealed svcconf version (bad format line)")
        }
        let hStart = nl1 + 1
        let searchEnd = min(bytes.count, hStart + maxHeaderBytes + 1)
        guard let nl2 = bytes[hStart..<searchEnd].firstIndex(of: 0x0A) else {
            throw .tampered("sealed header is missing or larger than \(maxHeaderBytes) bytes")
        }
        let headerLine = Array(bytes[hStart..<nl2])
        let header = try decodeHeader(headerLine)
        let auth = Array(bytes[0...nl2])
        // MAC line: "--- " + 44 base64 chars + "\n"
        let m0 = nl2 + 1
        guard bytes.count >= m0 + 49, bytes[m0..<(m0 + 4)].elementsEqual("--- ".utf8), bytes[m0 + 48] == 0x0A,
              let mac = Base64.decode(Array(bytes[(m0 + 4)..<(m0 + 48)])), mac.count == 32
        else { throw .tampered("sealed header MAC line is missing or malformed") }
        let ct = Array(bytes[(m0 + 49)...])
        guard ct.count >= 16 else { throw .tampered("sealed payload is truncated") }
        guard ct.count <= maxCiphertextBytes else { throw .tampered("sealed payload is larger than the format allows") }
        if authenticatedBytes(of: header) != auth {
            throw .tampered("sealed header is not in canonical form")
        }
        return Parsed(header: header, authenticatedBytes: auth, mac: mac, ciphertext: ct)
    }

    // MARK: - header <-> JSON

    static func headerValue(_ h: SealedHeader) -> ConfigValue {
        .object([
            "author": .string(h.author),
            "env": .string(h.env),
            "message": .string(h.message),
            "nonce": .string(Base64.encode(h.nonce)),
            "parent": h.parent.map { .string($0.description) } ?? .null,
            "recipients": .array(h.recipients.map { s in
                .object(["type": .string(s.type), "args": .array(s.args.map { .string($0) }),
                         "body": .string(Base64.encode(s.body))])
            }),
            "schema": h.schema.map { .string($0.description) } ?? .null,
            "service": .string(h.service),
            "time": .string(h.time.description),
            "variant": h.variant.map { .string($0) } ?? .null,
            "version": .number(.int(h.version)),
        ])
    }

    static let headerFields: Set<String> = ["author", "env", "message", "nonce", "parent", "recipients", "schema",
                                            "service", "time", "variant", "version"]

    static func decodeHeader(_ line: [UInt8]) throws(SvcConfError) -> SealedHeader {
        let v: ConfigValue
        do {
            v = try JSON.parse(line, limits: .init(maxDepth: 8, maxBytes: maxHeaderBytes, rejectDuplicateKeys: true))
        } catch {
            throw .tampered("sealed header is not valid JSON (\(error.reason))")
        }
        guard case .object(let o) = v else { throw .tampered("sealed header is not a JSON object") }
        try exactFields(o, headerFields, "header")
        let service = try name(o["service"], "service")
        let env = try name(o["env"], "env")
        let variant: String? = o["variant"] == .null ? nil : try name(o["variant"], "variant")
        guard case .number(.int(let version)) = o["version"]!, version >= 1, version < (1 << 53) else {
            throw .tampered("sealed header field \"version\" is not a positive integer")
        }
        let parent = try digest(o["parent"]!, "parent")
        if (version == 1) != (parent == nil) {
            throw .tampered("sealed header field \"parent\" must be null exactly for version 1")
        }
        let schema = try digest(o["schema"]!, "schema")
        let author = try text(o["author"]!, "author", max: maxAuthorBytes, newlines: false)
        let message = try text(o["message"]!, "message", max: maxMessageBytes, newlines: true)
        guard case .string(let ts) = o["time"]!, let time = Timestamp(rfc3339: ts) else {
            throw .tampered("sealed header field \"time\" is not a UTC RFC 3339 time")
        }
        guard case .string(let n64) = o["nonce"]!, let nonce = Base64.decode(n64), nonce.count == 12 else {
            throw .tampered("sealed header field \"nonce\" is not 12 base64-encoded bytes")
        }
        guard case .array(let rs) = o["recipients"]!, (1...maxRecipients).contains(rs.count) else {
            throw .tampered("sealed header must list 1 to \(maxRecipients) recipients")
        }
        var stanzas: [Stanza] = []
        for r in rs { stanzas.append(try stanza(r)) }
        return SealedHeader(service: service, env: env, variant: variant, version: version, parent: parent,
                            schema: schema, author: author, time: time, message: message, nonce: nonce,
                            recipients: stanzas)
    }

    static func exactFields(_ o: [String: ConfigValue], _ fields: Set<String>, _ what: String) throws(SvcConfError) {
        for k in JSON.sortedKeys(o) where !fields.contains(k) {
            throw .tampered("sealed \(what) has an unknown field" + (k.utf8.count <= 32 && Names.isValidFileName(k) ? " \"\(k)\"" : ""))
        }
        for k in fields.sorted() where o[k] == nil {
            throw .tampered("sealed \(what) is missing the field \"\(k)\"")
        }
    }

    static func name(_ v: ConfigValue?, _ field: String) throws(SvcConfError) -> String {
        guard case .string(let s)? = v, Names.isValid(s) else {
            throw .tampered("sealed header field \"\(field)\" is not a valid name")
        }
        return s
    }

    static func digest(_ v: ConfigValue, _ field: String) throws(SvcConfError) -> Digest? {
        if v == .null { return nil }
        guard case .string(let s) = v, let d = Digest(parsing: s) else {
            throw .tampered("sealed header field \"\(field)\" is not null or a sha256 digest")
        }
        return d
    }

    static func text(_ v: ConfigValue, _ field: String, max: Int, newlines: Bool) throws(SvcConfError) -> String {
        guard case .string(let s) = v, s.utf8.count <= max, Names.isPrintableText(s, allowNewlines: newlines)
        else { throw .tampered("sealed header field \"\(field)\" is not text of at most \(max) bytes") }
        return s
    }

    static let stanzaFields: Set<String> = ["args", "body", "type"]

    static func stanza(_ v: ConfigValue) throws(SvcConfError) -> Stanza {
        guard case .object(let o) = v else { throw .tampered("sealed recipient stanza is not an object") }
        try exactFields(o, stanzaFields, "recipient stanza")
        guard case .string(let type) = o["type"]!, isStanzaType(type) else {
            throw .tampered("sealed recipient stanza has an invalid type")
        }
        guard case .array(let av) = o["args"]!, av.count <= 8 else {
            throw .tampered("sealed recipient stanza has too many arguments")
        }
        var args: [String] = []
        for a in av {
            guard case .string(let s) = a, !s.isEmpty, s.utf8.count <= 2048,
                  s.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
            else { throw .tampered("sealed recipient stanza has an invalid argument") }
            args.append(s)
        }
        guard case .string(let b64) = o["body"]!, let body = Base64.decode(b64), body.count <= 4096 else {
            throw .tampered("sealed recipient stanza body is not base64 of at most 4096 bytes")
        }
        return Stanza(type: type, args: args, body: body)
    }

    static func isStanzaType(_ t: String) -> Bool {
        let u = Array(t.utf8)
        guard (1...32).contains(u.count), u[0] >= 0x61 && u[0] <= 0x7A else { return false }
        return u.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }
}
