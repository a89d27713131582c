import SvcConfAWS

/// Where sealed versions and the store policy live. Implementations hold only sealed bytes and the
/// policy; they never see plaintext.
///
/// The contract every store keeps (the file store with `link(2)`, the S3 store with conditional
/// writes): versions are immutable and numbered 1, 2, 3, ...; ``create(_:version:bytes:)`` fails with
/// `.conflict` when that number exists, which is how a write based on a stale version is refused.
public protocol ConfigStore: Sendable {
    /// The store's URL (`file:PATH`, `s3://BUCKET/PREFIX`).
    var url: String { get }
    /// The same reads without suspending, when the store answers them without network I/O (the
    /// file store, or a wrapper of one); nil otherwise (the default).
    var synchronousReader: (any SynchronousStoreReader)? { get }
    /// The latest policy and its number; nil when the store has not been initialized.
    func latestPolicy() async throws -> (number: Int64, policy: StorePolicy)?
    /// Writes policy number `number`; `.conflict` when it exists.
    func createPolicy(_ policy: StorePolicy, number: Int64) async throws
    /// Version numbers of one config, ascending; empty when it has none.
    func versionNumbers(of address: ConfigAddress) async throws -> [Int64]
    /// The highest version number of one config, or nil.
    func latestVersion(of address: ConfigAddress) async throws -> Int64?
    /// The sealed bytes of one version; `.notFound` when absent.
    func read(_ address: ConfigAddress, version: Int64) async throws -> [UInt8]
    /// Stores a new version; `.conflict` when that number exists.
    func create(_ address: ConfigAddress, version: Int64, bytes: [UInt8]) async throws
    /// The highest version number of one config and that version's bytes, or nil (for the S3 store,
    /// 2 requests: the container-start path).
    func latestVersionBytes(of address: ConfigAddress) async throws -> (number: Int64, bytes: [UInt8])?
    /// Every config that has at least one version.
    func addresses() async throws -> [ConfigAddress]
    /// ``latestVersionBytes(of:)`` for a lower layer read at container start: a store may answer nil
    /// from a cheaper check (S3: no latest copy means no layer, one request instead of two).
    func latestLayerBytes(of address: ConfigAddress) async throws -> (number: Int64, bytes: [UInt8])?
    /// Numbers of a service's stored schemas, ascending; empty when it has none.
    func schemaNumbers(of service: String) async throws -> [Int64]
    /// The bytes of schema number `number` of `service`; `.notFound` when absent.
    func readSchema(of service: String, number: Int64) async throws -> [UInt8]
    /// Stores schema number `number` of `service`; `.conflict` when that number exists.
    func createSchema(of service: String, number: Int64, bytes: [UInt8]) async throws
    /// The newest schema of `service` and its bytes, or nil. `verified: false` lets a store answer from
    /// a hint that may be one schema behind after a crashed writer (one request fewer at exec).
    func latestSchema(of service: String, verified: Bool) async throws -> (number: Int64, bytes: [UInt8])?
    /// The container-start fast path (optional): the latest versions of every layer an `exec` of
    /// `address` needs and the service's current schema, proven current together, or nil when the
    /// store has no such shortcut or cannot prove it now (the caller then reads layer by layer).
    /// The S3 store answers from the config's exec bundle in 2 requests.
    func execSnapshot(of address: ConfigAddress) async throws -> ExecSnapshot?
}

/// What an `exec` of one config needs, read at once (see ``ConfigStore/execSnapshot(of:)``).
public struct ExecSnapshot: Sendable {
    /// The layers that exist, lowest first; the last one is the addressed config itself.
    public let layers: [(address: ConfigAddress, number: Int64, bytes: [UInt8])]
    /// The service's current schema (number, stored bytes), or nil when it has none.
    public let schema: (number: Int64, bytes: [UInt8])?

    /// Memberwise initializer.
    public init(layers: [(address: ConfigAddress, number: Int64, bytes: [UInt8])], schema: (number: Int64, bytes: [UInt8])?) {
        self.layers = layers
        self.schema = schema
    }
}

/// Opens a store from its URL: `file:PATH`, a bare path, or (later) `s3://BUCKET[/PREFIX]`.
public enum StoreLocator {
    /// The default store, `file:.svcconf`.
    public static let defaultURL = "file:.svcconf"

    /// Parses `url` and returns the store. Throws `.usage` for an unknown scheme, and for `s3://`
    /// when no S3 client is given (the container launcher hands such stores to svcconf-cli).
    public static func open(_ url: String, s3: S3Client? = nil) throws(SvcConfError) -> any ConfigStore {
        if url.hasPrefix("file:") {
            let path = String(url.dropFirst(5))
            guard !path.isEmpty else { throw .usage("store url \"file:\" needs a path") }
            return FileStore(path: path)
        }
        if url.hasPrefix("s3://") {
            guard let s3 else {
                throw SvcConfError(.usage, "no S3 client to open \(url)", hint: "use svcconf-cli with AWS credentials and a region")
            }
            return try S3Store(url: url, client: s3)
        }
        if url.contains("://") { throw .usage("unknown store url scheme in \"\(url)\"", hint: "use file:PATH or s3://BUCKET/PREFIX") }
        return FileStore(path: url)
    }
}

enum VersionName {
    /// `0000000042` + suffix: zero-padded so names sort like numbers (also in S3 listings).
    static func name(_ n: Int64, suffix: String) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 10 - s.count)) + s + suffix
    }

    /// Parses a name made by ``name(_:suffix:)``; nil for anything else.
    static func parse(_ file: String, suffix: String) -> Int64? {
        guard file.hasSuffix(suffix) else { return nil }
        let digits = file.dropLast(suffix.count)
        guard digits.count >= 10, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int64(digits), n >= 1,
              name(n, suffix: suffix) == file
        else { return nil }
        return n
    }
}

/// Reads a store answers without suspending: container start (`svcconf exec` on a file store)
/// and a server's hot reads use them when ``ConfigStore/synchronousReader`` offers them. Each
/// answers exactly what its async counterpart in ``ConfigStore`` would.
public protocol SynchronousStoreReader: Sendable {
    /// ``ConfigStore/latestPolicy()``.
    func latestPolicyNow() throws(SvcConfError) -> (number: Int64, policy: StorePolicy)?
    /// ``ConfigStore/versionNumbers(of:)``.
    func versionNumbersNow(of address: ConfigAddress) throws(SvcConfError) -> [Int64]
    /// ``ConfigStore/read(_:version:)``.
    func readNow(_ address: ConfigAddress, version: Int64) throws(SvcConfError) -> [UInt8]
    /// ``ConfigStore/latestVersionBytes(of:)``.
    func latestVersionBytesNow(of address: ConfigAddress) throws(SvcConfError) -> (number: Int64, bytes: [UInt8])?
    /// ``ConfigStore/schemaNumbers(of:)``.
    func schemaNumbersNow(of service: String) throws(SvcConfError) -> [Int64]
    /// ``ConfigStore/readSchema(of:number:)``.
    func readSchemaNow(of service: String, number: Int64) throws(SvcConfError) -> [UInt8]
}

extension ConfigStore {
    /// By default none: every read goes through the async API.
    public var synchronousReader: (any SynchronousStoreReader)? { nil }

    /// By default no fast path.
    public func execSnapshot(of address: ConfigAddress) async throws -> ExecSnapshot? { nil }

    /// By default the same as ``latestVersionBytes(of:)``.
    public func latestLayerBytes(of address: ConfigAddress) async throws -> (number: Int64, bytes: [UInt8])? {
        try await latestVersionBytes(of: address)
    }
}
