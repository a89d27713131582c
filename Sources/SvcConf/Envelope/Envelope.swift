import SvcConfCrypto

/// Seals and opens versions: envelope encryption of a config under a fresh data key.
///
/// Seal: a random 256-bit data key K and 12-byte nonce N; macKey = HKDF(K, "", "svcconf-sealed/v1 header");
/// payloadKey = HKDF(K, N, "svcconf-sealed/v1 payload"); every recipient wraps K into a stanza; the MAC is
/// HMAC-SHA256(macKey, magic+header) and the payload is AES-256-GCM(payloadKey, N, payload, aad: magic+header).
/// Open checks, in order: strict format, that the header names the address and number it was fetched
/// as, a stanza that one of our identities unwraps, the header MAC (so a key that is not the one the
/// header was made with is caught before decryption, as in age), then the GCM tag.
public enum Envelope {
    static let macInfo = Array("svcconf-sealed/v1 header".utf8)
    static let payloadInfo = Array("svcconf-sealed/v1 payload".utf8)

    /// Seals `payload` for `recipients`. `header`'s nonce and recipients are filled in here.
    static func seal(_ payload: Payload, header template: SealedHeader, recipients: [any Recipient]) async throws -> [UInt8] {
        guard !recipients.isEmpty else { throw SvcConfError(.keyUnavailable, "no recipients to seal \(template.service)/\(template.env) for") }
        guard recipients.count <= SealedCodec.maxRecipients else {
            throw SvcConfError(.usage, "a version can have at most \(SealedCodec.maxRecipients) recipients")
        }
        var header = template
        header.nonce = try SecureRandom.bytes(count: 12)
        let ctx = WrapContext(service: header.service, env: header.env)
        var stanzas: [Stanza] = []
        // A recipient that can make data keys (KMS GenerateDataKey) makes it and wraps it in one call;
        // otherwise the key comes from the local CSPRNG. The others wrap the same key.
        let dataKey: SymmetricKey
        var rest = recipients[...]
        if let generator = recipients.first as? any DataKeyGenerator {
            let (key, stanza) = try await generator.generateDataKey(for: ctx)
            dataKey = key
            stanzas.append(stanza)
            rest = rest.dropFirst()
        } else {
            dataKey = try SymmetricKey.random()
        }
        for r in rest { stanzas.append(try await r.wrap(dataKey, for: ctx)) }
        header.recipients = stanzas
        let auth = SealedCodec.authenticatedBytes(of: header)
        let (macKey, payloadKey) = try deriveKeys(dataKey, nonce: header.nonce)
        let mac = HMACSHA256.authenticationCode(for: auth, key: macKey)
        var plain = payload.encoded()
        defer { secureZero(&plain) }
        let ct = try AESGCM.seal(plain, key: payloadKey, nonce: header.nonce, authenticating: auth)
        return SealedCodec.encode(header: header, mac: mac, ciphertext: ct)
    }

    static func deriveKeys(_ k: SymmetricKey, nonce: [UInt8]) throws -> (SymmetricKey, SymmetricKey) {
        (try HKDF.deriveKey(from: k, salt: [], info: macInfo), try HKDF.deriveKey(from: k, salt: nonce, info: payloadInfo))
    }

    /// Checks that a parsed header is the one stored at `address`/`version` (not a copy from elsewhere).
    static func checkLabel(_ h: SealedHeader, address: ConfigAddress, version: Int64) throws(SvcConfError) {
        guard h.service == address.service, h.env == address.env, h.variant == address.variant, h.version == version else {
            let claimed = [h.service, h.env, h.variant].compactMap { $0 }.joined(separator: "/")
            throw SvcConfError(.tampered, "version \(version) of \(address) is labelled as version \(h.version) of \(claimed): it was copied or re-labelled")
        }
    }

    /// Opens a sealed version fetched as `address`/`version` with any of `identities`, tried in order
    /// (local keys before KMS, so a break-glass key works offline). An identity that fails (KMS
    /// unreachable, access denied) does not stop the others; when nothing opens the version, the
    /// most telling failure is reported: tampering first, then the identities' own errors, then "no key".
    static func open(_ bytes: [UInt8], address: ConfigAddress, version: Int64,
                     identities: [any Identity]) async throws -> (SealedCodec.Parsed, Payload) {
        let parsed = try SealedCodec.parse(bytes)
        try checkLabel(parsed.header, address: address, version: version)
        let ctx = WrapContext(service: address.service, env: address.env)
        var failures: [SvcConfError] = []
        for id in identities {
            for stanza in parsed.header.recipients {
                do {
                    if let k = try await id.unwrap(stanza, for: ctx) {
                        return (parsed, try decrypt(parsed, dataKey: k, address: address, version: version))
                    }
                } catch let e as SvcConfError {
                    if e.kind == .tampered { throw e }
                    failures.append(e)
                }
            }
        }
        if let first = failures.first {
            throw SvcConfError(first.kind, first.message,
                               hint: "no other key opens it: " + noKey(parsed, address: address, version: version,
                                                                     tried: identities.map(\.label)).hint!)
        }
        throw noKey(parsed, address: address, version: version, tried: identities.map(\.label))
    }

    /// The same with local keys only, without suspending: the container-start fast path.
    static func openLocally(_ bytes: [UInt8], address: ConfigAddress, version: Int64,
                            keys: [LocalKey]) throws -> (SealedCodec.Parsed, Payload) {
        let parsed = try SealedCodec.parse(bytes)
        try checkLabel(parsed.header, address: address, version: version)
        let ctx = WrapContext(service: address.service, env: address.env)
        for stanza in parsed.header.recipients {
            for key in keys {
                if let k = try key.unwrapSync(stanza, for: ctx) {
                    return (parsed, try decrypt(parsed, dataKey: k, address: address, version: version))
                }
            }
        }
        throw noKey(parsed, address: address, version: version, tried: keys.map(\.label))
    }

    static func noKey(_ parsed: SealedCodec.Parsed, address: ConfigAddress, version: Int64, tried: [String]) -> SvcConfError {
        SvcConfError(.keyUnavailable, "no key opens version \(version) of \(address)",
                     hint: "it is sealed to " + describeRecipients(parsed.header.recipients)
                         + (tried.isEmpty ? "; no key was given (--key-file or SVCCONF_KEY_FILE)" : "; tried " + tried.joined(separator: ", ")))
    }

    static func decrypt(_ parsed: SealedCodec.Parsed, dataKey: SymmetricKey, address: ConfigAddress, version: Int64) throws -> Payload {
        let (macKey, payloadKey) = try deriveKeys(dataKey, nonce: parsed.header.nonce)
        guard HMACSHA256.isValid(parsed.mac, for: parsed.authenticatedBytes, key: macKey) else {
            throw SvcConfError(.tampered, "version \(version) of \(address) failed its header check: it was tampered with")
        }
        var plain: [UInt8]
        do {
            plain = try AESGCM.open(parsed.ciphertext, key: payloadKey, nonce: parsed.header.nonce,
                                    authenticating: parsed.authenticatedBytes)
        } catch {
            throw SvcConfError(.tampered, "version \(version) of \(address) failed authentication: it was tampered with")
        }
        defer { secureZero(&plain) }
        return try Payload.decode(plain)
    }

    /// `local key 1a2b... , kms:alias/x` — public facts about stanzas, for hints.
    static func describeRecipients(_ stanzas: [Stanza]) -> String {
        stanzas.map { s in
            switch s.type {
            case "local": return "local key \(s.args.first ?? "?")"
            case "kms": return "kms:\(s.args.first ?? "?")"
            default: return s.type
            }
        }.joined(separator: ", ")
    }
}
