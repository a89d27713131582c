import Foundation
import SvcConfCrypto
import Testing

@testable import SvcConf

// Shared fixtures of the core tests (Envelope*, Store*, Policy*, Diff*, Repository*, Support* files).
// Every name here starts with `core` or lives in `CoreFix` so it cannot clash with other suites.

/// A fresh private temporary directory, removed (recursively) when the value goes away.
final class CoreTempDir: Sendable {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/svcconf-core-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw SvcConfError(.internal, "mkdtemp failed") }
        path = String(cString: template)
    }

    deinit {
        // Make everything writable again first, in case a test removed permissions.
        _ = try? FileManager.default.removeItem(atPath: path)
    }

    /// `path/name`.
    func sub(_ name: String) -> String { path + "/" + name }
}

/// Runs `body`, expects an `SvcConfError` of `kind` (and, when given, exactly `message` or a message
/// containing `contains`). Returns the error for further checks.
@discardableResult
func coreExpectError(
    _ kind: SvcConfError.Kind, _ message: String? = nil, contains: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) -> SvcConfError? {
    do {
        try body()
        Issue.record("expected a .\(kind) error, got success", sourceLocation: sourceLocation)
        return nil
    } catch let e as SvcConfError {
        coreCheck(e, kind, message, contains, sourceLocation)
        return e
    } catch {
        Issue.record("expected SvcConfError .\(kind), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// The async form of ``coreExpectError(_:_:contains:sourceLocation:_:)``.
@discardableResult
func coreExpectErrorAsync(
    _ kind: SvcConfError.Kind, _ message: String? = nil, contains: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async -> SvcConfError? {
    do {
        try await body()
        Issue.record("expected a .\(kind) error, got success", sourceLocation: sourceLocation)
        return nil
    } catch let e as SvcConfError {
        coreCheck(e, kind, message, contains, sourceLocation)
        return e
    } catch {
        Issue.record("expected SvcConfError .\(kind), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

private func coreCheck(_ e: SvcConfError, _ kind: SvcConfError.Kind, _ message: String?, _ contains: String?,
                       _ loc: SourceLocation) {
    #expect(e.kind == kind, "error: \(e.message)", sourceLocation: loc)
    if let message { #expect(e.message == message, sourceLocation: loc) }
    if let contains { #expect(e.message.contains(contains), "message: \(e.message)", sourceLocation: loc) }
}

/// The error `body` throws as an `SvcConfError`, or nil when it succeeds (any other error is recorded).
func coreCatch(_ body: () async throws -> Void) async -> SvcConfError? {
    do {
        try await body()
        return nil
    } catch let e as SvcConfError {
        return e
    } catch {
        Issue.record("unexpected non-SvcConfError \(error)")
        return SvcConfError(.internal, "\(error)")
    }
}

enum CoreFix {
    /// The fixed clock of the tests: 2023-11-14T22:13:20Z.
    static let time = Timestamp(secondsSinceEpoch: 1_700_000_000)

    /// A local key held in memory, from 32 bytes of `seed`.
    static func key(_ seed: UInt8, path: String? = nil) -> LocalKey {
        try! LocalKey(path: path ?? "mem-\(seed).key", keyBytes: [UInt8](repeating: seed, count: 32))
    }

    static func address(_ service: String = "access-boston", _ env: String = "prod", _ variant: String? = nil) -> ConfigAddress {
        try! ConfigAddress(service: service, env: env, variant: variant)
    }

    /// A small config with a planted secret.
    static let config = Config(values: ["DB_URL": "postgres://db:5432/app", "PASSWORD": "hunter2-planted", "PORT": 8080,
                                        "NESTED": ["a": [1, 2, nil], "b": true]],
                               files: ["tls.crt": Array("-----BEGIN CERTIFICATE-----\n".utf8), "blob.bin": [0, 255, 1]])

    static let fingerprintKey = [UInt8](repeating: 7, count: 32)

    /// A header template (nonce and recipients are filled in by `Envelope.seal`).
    static func header(_ a: ConfigAddress, version: Int64 = 1, parent: Digest? = nil, schema: Digest? = nil,
                       author: String = "alice@example.com", message: String = "initial") -> SealedHeader {
        SealedHeader(service: a.service, env: a.env, variant: a.variant, version: version,
                     parent: parent ?? (version == 1 ? nil : Digest(of: Array("parent of \(version)".utf8))),
                     schema: schema, author: author, time: time, message: message, nonce: [], recipients: [])
    }

    /// Seals `config` as `version` of `address` for `recipients`.
    static func seal(_ config: Config = config, _ a: ConfigAddress = address(), version: Int64 = 1,
                     parent: Digest? = nil, schema: Digest? = nil, message: String = "initial",
                     to recipients: [any Recipient]) async throws -> [UInt8] {
        try await Envelope.seal(Payload(config: config, fingerprintKey: fingerprintKey),
                                header: header(a, version: version, parent: parent, schema: schema, message: message),
                                recipients: recipients)
    }

    /// Seals by hand, with full control: the given data key and header (nonce and stanzas as given),
    /// and optionally a MAC key other than the one derived from the data key.
    static func manualSeal(_ payload: Payload, header: SealedHeader, dataKey: SymmetricKey,
                           macKey: SymmetricKey? = nil) throws -> [UInt8] {
        let auth = SealedCodec.authenticatedBytes(of: header)
        let (derivedMac, payloadKey) = try Envelope.deriveKeys(dataKey, nonce: header.nonce)
        let mac = HMACSHA256.authenticationCode(for: auth, key: macKey ?? derivedMac)
        let ct = try AESGCM.seal(payload.encoded(), key: payloadKey, nonce: header.nonce, authenticating: auth)
        return SealedCodec.encode(header: header, mac: mac, ciphertext: ct)
    }

    /// Opens with the given keys as `version` of `address`, through both ways of opening (the async
    /// one for any identity, and the synchronous local-key one the file store uses), which must agree
    /// on the outcome.
    static func open(_ bytes: [UInt8], _ a: ConfigAddress = address(), version: Int64 = 1,
                     with keys: [LocalKey], sourceLocation: SourceLocation = #_sourceLocation) async throws -> Payload {
        var viaAsync: Result<Payload, SvcConfError>
        do { viaAsync = .success(try await Envelope.open(bytes, address: a, version: version, identities: keys).1) } catch let e as SvcConfError {
            viaAsync = .failure(e)
        }
        var viaSync: Result<Payload, SvcConfError>
        do { viaSync = .success(try Envelope.openLocally(bytes, address: a, version: version, keys: keys).1) } catch let e as SvcConfError {
            viaSync = .failure(e)
        }
        #expect(viaAsync == viaSync, "Envelope.open and Envelope.openLocally disagree", sourceLocation: sourceLocation)
        return try viaAsync.get()
    }
}

/// A sealed object split into its four parts (magic line, header line, MAC line, ciphertext).
struct CoreSealedParts {
    var magic: [UInt8]
    var header: [UInt8]
    var macLine: [UInt8]
    var ciphertext: [UInt8]

    init(_ bytes: [UInt8]) {
        let nl1 = bytes.firstIndex(of: 0x0A)!
        let nl2 = bytes[(nl1 + 1)...].firstIndex(of: 0x0A)!
        magic = Array(bytes[..<nl1])
        header = Array(bytes[(nl1 + 1)..<nl2])
        macLine = Array(bytes[(nl2 + 1)..<(nl2 + 50)])
        ciphertext = Array(bytes[(nl2 + 50)...])
    }

    var bytes: [UInt8] { magic + [0x0A] + header + [0x0A] + macLine + ciphertext }

    /// Offset of the header line inside `bytes`.
    var headerOffset: Int { magic.count + 1 }
    /// Offset of the MAC line inside `bytes`.
    var macOffset: Int { magic.count + 1 + header.count + 1 }
    /// Offset of the ciphertext inside `bytes`.
    var ciphertextOffset: Int { macOffset + macLine.count }

    var headerText: String {
        get { String(decoding: header, as: UTF8.self) }
        set { header = Array(newValue.utf8) }
    }

    /// The header as a JSON object.
    var headerObject: [String: ConfigValue] {
        get { try! JSON.parse(header).objectValue! }
        set { header = JSON.canonical(.object(newValue)) }
    }
}

/// `bytes` with the header edited as a JSON object and written back canonically (the MAC and the
/// ciphertext stay as they were).
func coreEditHeader(_ bytes: [UInt8], _ edit: (inout [String: ConfigValue]) -> Void) -> [UInt8] {
    var p = CoreSealedParts(bytes)
    var o = p.headerObject
    edit(&o)
    p.headerObject = o
    return p.bytes
}

/// `bytes` with the header line replaced by `text` verbatim.
func coreReplaceHeader(_ bytes: [UInt8], _ text: String) -> [UInt8] {
    var p = CoreSealedParts(bytes)
    p.headerText = text
    return p.bytes
}

/// A JSON object text written member by member in the given order (for non-canonical headers).
func coreObjectText(_ members: [(String, ConfigValue)], separator: String = ",", colon: String = ":") -> String {
    "{" + members.map { JSON.canonicalString(.string($0.0)) + colon + JSON.canonicalString($0.1) }.joined(separator: separator) + "}"
}

/// The members of a canonical header, in canonical order.
func coreMembers(_ bytes: [UInt8]) -> [(String, ConfigValue)] {
    let o = CoreSealedParts(bytes).headerObject
    return JSON.sortedKeys(o).map { ($0, o[$0]!) }
}

/// A policy sealing everything for the given local keys.
func corePolicy(_ keys: [LocalKey]) -> StorePolicy {
    StorePolicy(rules: [.init(match: "*/*", recipients: keys.map { .init(uri: "local:\($0.path)", keyId: $0.keyId) })])
}

/// Writes `text` to `path` with `mode`.
func coreWriteFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws {
    #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
    #expect(chmod(path, mode) == 0)
}

/// Mode bits of `path` (`st_mode & 0o7777`).
func coreMode(_ path: String) -> UInt32? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return UInt32(st.st_mode) & 0o7777
}

/// Entry names in `dir` (empty when it does not exist).
func coreList(_ dir: String) -> [String] {
    (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
}
