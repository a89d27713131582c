#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SvcConfCrypto

/// A 256-bit key in a local file (`local:PATH`): both a ``Recipient`` and an ``Identity``.
///
/// File format (text, one key line, optional `#` comment lines):
/// ```
/// # svcconf local key: keep it secret (mode 0600)
/// SVCCONF-LOCAL-KEY-V1:<64 lower-case hex digits>
/// ```
/// A stanza is `local` with args `[keyId, nonce]`, body = AES-256-GCM(wrapKey, nonce, dataKey,
/// aad: "svcconf local stanza v1\0" + service + "\0" + env), where wrapKey and keyId are HKDF-SHA256
/// outputs of the file key with distinct info strings. The key id lets a reader pick the right key
/// without trial decryption and reveals nothing about the key.
public struct LocalKey: Recipient, Identity {
    static let prefix = "SVCCONF-LOCAL-KEY-V1:"
    /// The path as given by the user.
    public let path: String
    /// 16 hex digits identifying the key (public).
    public let keyId: String
    private let wrapKey: SymmetricKey

    /// `local:PATH`.
    public var label: String { "local:\(path)" }

    /// Loads a key file: must be a regular file, mode 0600 or stricter, with exactly one key line.
    public init(path: String) throws(SvcConfError) {
        let resolved = LocalKey.expand(path)
        guard let info = try LocalFS.info(resolved) else {
            throw SvcConfError(.keyUnavailable, "key file \(path) does not exist",
                               hint: "pass the right --key-file, or create one with `svcconf init --recipient local:\(path)`")
        }
        guard info.isRegular else { throw SvcConfError(.keyUnavailable, "key file \(path) is not a regular file") }
        // Read, then check the mode of the file actually read (fstat on the open descriptor).
        let read = Result { () throws(SvcConfError) in try LocalFS.readChecked(resolved, limit: 4096) }
        let bytes: [UInt8], opened: LocalFS.FileInfo
        switch read {
        case .success(let r): (bytes, opened) = r
        case .failure(let e):
            throw SvcConfError(.keyUnavailable, "key file \(e.message)", hint: "a key file is a small file holding one line SVCCONF-LOCAL-KEY-V1:<64 hex digits>")
        }
        var raw = bytes
        if opened.mode & 0o077 != 0 {
            secureZero(&raw)
            throw SvcConfError(.keyUnavailable,
                               "key file \(path) is accessible by other users (mode \(String(opened.mode, radix: 8)))",
                               hint: "chmod 600 \(path)")
        }
        let parsed = Result { () throws(SvcConfError) -> [UInt8] in try LocalKey.parseKeyFile(raw, path: path) }
        secureZero(&raw)
        var keyBytes = try parsed.get()
        let derived = Result { () throws(SvcConfError) in try LocalKey.derive(keyBytes) }
        secureZero(&keyBytes)
        (wrapKey, keyId) = try derived.get()
        self.path = path
    }

    /// A key from its 32 bytes (tests, `init`).
    init(path: String, keyBytes: [UInt8]) throws(SvcConfError) {
        (wrapKey, keyId) = try LocalKey.derive(keyBytes)
        self.path = path
    }

    static func derive(_ keyBytes: [UInt8]) throws(SvcConfError) -> (SymmetricKey, String) {
        do {
            let fileKey = try SymmetricKey(bytes: keyBytes)
            let wrapKey = try HKDF.deriveKey(from: fileKey, salt: [], info: Array("svcconf local wrap v1".utf8))
            let id = try HKDF.deriveBytes(inputKeyMaterial: keyBytes, salt: [], info: Array("svcconf local key id v1".utf8),
                                          outputByteCount: 8)
            return (wrapKey, Hex.encode(id))
        } catch {
            throw SvcConfError(.internal, "cannot derive local key: \(error)")
        }
    }

    static func parseKeyFile(_ raw: [UInt8], path: String) throws(SvcConfError) -> [UInt8] {
        var found: [UInt8]?
        for line in raw.split(separator: 0x0A, omittingEmptySubsequences: true) {
            var l = Array(line)
            if l.last == 0x0D { l.removeLast() }
            if l.isEmpty || l.first == 0x23 { continue }
            let prefix = Array(prefix.utf8)
            guard found == nil, l.count == prefix.count + 64, l.starts(with: prefix),
                  let k = Hex.decode(String(decoding: l[prefix.count...], as: UTF8.self))
            else {
                throw SvcConfError(.keyUnavailable, "key file \(path) is not a svcconf key file",
                                   hint: "a key file holds one line SVCCONF-LOCAL-KEY-V1:<64 hex digits>")
            }
            found = k
        }
        guard let found else { throw SvcConfError(.keyUnavailable, "key file \(path) holds no key") }
        return found
    }

    /// Creates a new key file at `path` (mode 0600, refusing to overwrite) and returns the key.
    public static func generate(at path: String, now: Timestamp) throws -> LocalKey {
        let resolved = expand(path)
        var key = try SecureRandom.bytes(count: 32)
        defer { secureZero(&key) }
        let dir = LocalFS.dirname(resolved)
        if dir != "." { try LocalFS.makeDirectories(dir, mode: 0o700) }
        let k = try LocalKey(path: path, keyBytes: key)
        var text = Array("# svcconf local key: keep it secret; anyone with this file can open what it seals\n# created \(now), key id \(k.keyId)\n\(prefix)\(Hex.encode(key))\n".utf8)
        defer { secureZero(&text) }
        try LocalFS.writeAtomically(resolved, text, mode: 0o600, exclusive: true)
        return k
    }

    /// `~/x` → `$HOME/x`.
    static func expand(_ path: String) -> String {
        if path == "~" || path.hasPrefix("~/"), let home = getenv("HOME") {
            return String(cString: home) + path.dropFirst()
        }
        return path
    }

    static func aad(_ c: WrapContext) -> [UInt8] {
        Array("svcconf local stanza v1\0\(c.service)\0\(c.env)".utf8)
    }

    /// Wraps the data key under this key file.
    public func wrap(_ dataKey: SymmetricKey, for context: WrapContext) async throws -> Stanza {
        let nonce = try SecureRandom.bytes(count: 12)
        var plain = dataKey.withUnsafeBytes { Array($0) }
        defer { secureZero(&plain) }
        let body = try AESGCM.seal(plain, key: wrapKey, nonce: nonce, authenticating: LocalKey.aad(context))
        return Stanza(type: "local", args: [keyId, Base64.encode(nonce)], body: body)
    }

    /// Unwraps a `local` stanza with this key id.
    public func unwrap(_ stanza: Stanza, for context: WrapContext) async throws -> SymmetricKey? {
        try unwrapSync(stanza, for: context)
    }

    func unwrapSync(_ stanza: Stanza, for context: WrapContext) throws(SvcConfError) -> SymmetricKey? {
        guard stanza.type == "local", stanza.args.first == keyId else { return nil }
        guard stanza.args.count == 2, let nonce = Base64.decode(stanza.args[1]), nonce.count == 12,
              stanza.body.count == 48
        else { throw .tampered("local recipient stanza for key \(keyId) is malformed") }
        do {
            var plain = try AESGCM.open(stanza.body, key: wrapKey, nonce: nonce, authenticating: LocalKey.aad(context))
            defer { secureZero(&plain) }
            return try SymmetricKey(bytes: plain)
        } catch {
            throw SvcConfError(.tampered, "the data key sealed to local key \(keyId) does not unwrap: the version was tampered with or re-labelled")
        }
    }
}
