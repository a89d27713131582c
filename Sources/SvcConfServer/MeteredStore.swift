import SvcConf
import SvcConfAWS

/// A store that counts its failures (by error kind) for `/metrics` and forwards everything else.
/// "Not found" and "conflict" are answers, not failures, and are not counted.
struct MeteredStore: ConfigStore {
    let base: any ConfigStore
    let metrics: ServerMetrics
    /// The base's synchronous reads (a file store's), metered the same way.
    let synchronous: MeteredSynchronousReader?

    init(base: any ConfigStore, metrics: ServerMetrics) {
        self.base = base
        self.metrics = metrics
        synchronous = base.synchronousReader.map { MeteredSynchronousReader(base: $0, metrics: metrics) }
    }

    var url: String { base.url }
    var synchronousReader: (any SynchronousStoreReader)? { synchronous }

    private func metered<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let e as SvcConfError {
            if e.kind != .notFound && e.kind != .conflict { metrics.storeError(kind: e.kind.rawValue) }
            throw e
        } catch {
            metrics.storeError(kind: "internal")
            throw error
        }
    }

    func latestPolicy() async throws -> (number: Int64, policy: StorePolicy)? { try await metered { try await base.latestPolicy() } }
    func createPolicy(_ policy: StorePolicy, number: Int64) async throws { try await metered { try await base.createPolicy(policy, number: number) } }
    func versionNumbers(of address: ConfigAddress) async throws -> [Int64] { try await metered { try await base.versionNumbers(of: address) } }
    func latestVersion(of address: ConfigAddress) async throws -> Int64? { try await metered { try await base.latestVersion(of: address) } }
    func read(_ address: ConfigAddress, version: Int64) async throws -> [UInt8] { try await metered { try await base.read(address, version: version) } }
    func create(_ address: ConfigAddress, version: Int64, bytes: [UInt8]) async throws {
        try await metered { try await base.create(address, version: version, bytes: bytes) }
    }
    func latestVersionBytes(of address: ConfigAddress) async throws -> (number: Int64, bytes: [UInt8])? {
        try await metered { try await base.latestVersionBytes(of: address) }
    }
    func addresses() async throws -> [ConfigAddress] { try await metered { try await base.addresses() } }
    func latestLayerBytes(of address: ConfigAddress) async throws -> (number: Int64, bytes: [UInt8])? {
        try await metered { try await base.latestLayerBytes(of: address) }
    }
    func schemaNumbers(of service: String) async throws -> [Int64] { try await metered { try await base.schemaNumbers(of: service) } }
    func readSchema(of service: String, number: Int64) async throws -> [UInt8] { try await metered { try await base.readSchema(of: service, number: number) } }
    func createSchema(of service: String, number: Int64, bytes: [UInt8]) async throws {
        try await metered { try await base.createSchema(of: service, number: number, bytes: bytes) }
    }
    func latestSchema(of service: String, verified: Bool) async throws -> (number: Int64, bytes: [UInt8])? {
        try await metered { try await base.latestSchema(of: service, verified: verified) }
    }
}

/// A store's synchronous reads, counting failures like ``MeteredStore`` (a class, so handing it out
/// as an existential allocates nothing).
final class MeteredSynchronousReader: SynchronousStoreReader {
    let base: any SynchronousStoreReader
    let metrics: ServerMetrics

    init(base: any SynchronousStoreReader, metrics: ServerMetrics) {
        self.base = base
        self.metrics = metrics
    }

    private func metered<T>(_ body: () throws(SvcConfError) -> T) throws(SvcConfError) -> T {
        do {
            return try body()
        } catch {
            if error.kind != .notFound && error.kind != .conflict { metrics.storeError(kind: error.kind.rawValue) }
            throw error
        }
    }

    func latestPolicyNow() throws(SvcConfError) -> (number: Int64, policy: StorePolicy)? { try metered { () throws(SvcConfError) in try base.latestPolicyNow() } }
    func versionNumbersNow(of address: ConfigAddress) throws(SvcConfError) -> [Int64] { try metered { () throws(SvcConfError) in try base.versionNumbersNow(of: address) } }
    func readNow(_ address: ConfigAddress, version: Int64) throws(SvcConfError) -> [UInt8] { try metered { () throws(SvcConfError) in try base.readNow(address, version: version) } }
    func latestVersionBytesNow(of address: ConfigAddress) throws(SvcConfError) -> (number: Int64, bytes: [UInt8])? {
        try metered { () throws(SvcConfError) in try base.latestVersionBytesNow(of: address) }
    }
    func schemaNumbersNow(of service: String) throws(SvcConfError) -> [Int64] { try metered { () throws(SvcConfError) in try base.schemaNumbersNow(of: service) } }
    func readSchemaNow(of service: String, number: Int64) throws(SvcConfError) -> [UInt8] {
        try metered { () throws(SvcConfError) in try base.readSchemaNow(of: service, number: number) }
    }
}

/// The KMS client's transport, counting failed requests (no response, or a 4xx/5xx) for `/metrics`.
struct MeteredTransport: HTTPTransport {
    let base: any HTTPTransport
    let metrics: ServerMetrics

    func send(_ request: HTTPRequest, timeout: Double) async throws -> HTTPResponse {
        do {
            let response = try await base.send(request, timeout: timeout)
            if response.status >= 400 { metrics.kmsError(kind: String(response.status)) }
            return response
        } catch let e as AWSError {
            metrics.kmsError(kind: e.kind.rawValue)
            throw e
        } catch {
            metrics.kmsError(kind: "connection")
            throw error
        }
    }
}
