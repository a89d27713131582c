/// The embedded default store: a directory (`file:.svcconf`).
///
/// ```
/// ROOT/policy/0000000001.json                                  store policy, versioned
/// ROOT/configs/SERVICE/ENV/versions/0000000001.sealed          versions of SERVICE/ENV
/// ROOT/configs/SERVICE/ENV/variants/VARIANT/versions/...       versions of a variant
/// ROOT/schemas/SERVICE/0000000001.json                         the service's JSON Schema, versioned
/// ```
/// Every object is written to a temporary file, fsynced, then `link(2)`ed to its final name, which
/// fails when the name exists: two writers can never both create version N, and a crash leaves no
/// partial version. Directories are 0700 and files 0600 (the bytes are sealed, but their metadata is
/// the team's business).
public struct FileStore: ConfigStore, SynchronousStoreReader {
    /// The root directory.
    public let path: String
    /// The latest version of each address read so far, kept exact by inotify (see ``FileStoreLatestCache``).
    let latestCache: FileStoreLatestCache

    /// A store rooted at `path` (nothing is touched until used).
    public init(path: String) { self.init(path: path, latestCache: FileStoreLatestCache()) }

    init(path: String, latestCache: FileStoreLatestCache) {
        self.path = path
        self.latestCache = latestCache
    }

    /// `file:PATH`.
    public var url: String { "file:\(path)" }

    /// Every read of a file store is local.
    public var synchronousReader: (any SynchronousStoreReader)? { self }

    func checkRoot() throws(SvcConfError) {
        guard let info = try LocalFS.info(path) else {
            throw SvcConfError(.notFound, "store \(url) does not exist", hint: "create it with `svcconf init --store \(url)`")
        }
        guard info.isDirectory else { throw SvcConfError(.unavailable, "store path \(path) is not a directory") }
    }

    func dir(_ a: ConfigAddress) -> String {
        var d = "\(path)/configs/\(a.service)/\(a.env)"
        if let v = a.variant { d += "/variants/\(v)" }
        return d + "/versions"
    }

    public func latestPolicy() async throws -> (number: Int64, policy: StorePolicy)? {
        try latestPolicyNow()
    }

    /// ``latestPolicy()`` without suspending.
    public func latestPolicyNow() throws(SvcConfError) -> (number: Int64, policy: StorePolicy)? {
        if try LocalFS.info(path) == nil { return nil }
        try checkRoot()
        guard let names = try LocalFS.list("\(path)/policy") else { return nil }
        guard let n = names.compactMap({ VersionName.parse($0, suffix: ".json") }).max() else { return nil }
        let file = "\(path)/policy/\(VersionName.name(n, suffix: ".json"))"
        do {
            return (n, try StorePolicy.decode(try LocalFS.read(file, limit: 1 << 20), source: file))
        } catch where error.kind == .invalidInput {
            throw SvcConfError(.tampered, error.message, hint: "the store's policy file is corrupt; restore it from a backup")
        }
    }

    public func createPolicy(_ policy: StorePolicy, number: Int64) async throws {
        if let info = try LocalFS.info(path), !info.isDirectory {
            throw SvcConfError(.unavailable, "store path \(path) is not a directory")
        }
        try LocalFS.makeDirectories("\(path)/policy")
        try LocalFS.writeAtomically("\(path)/policy/\(VersionName.name(number, suffix: ".json"))", policy.encoded(),
                                    mode: 0o600, exclusive: true,
                                    onConflict: SvcConfError(.conflict, "the store policy of \(url) was changed by someone else meanwhile",
                                                             hint: "run the command again"))
    }

    public func versionNumbers(of address: ConfigAddress) async throws -> [Int64] {
        try versionNumbersNow(of: address)
    }

    /// ``versionNumbers(of:)`` without suspending.
    public func versionNumbersNow(of address: ConfigAddress) throws(SvcConfError) -> [Int64] {
        try checkRoot()
        guard let names = try LocalFS.list(dir(address)) else { return [] }
        return names.compactMap { VersionName.parse($0, suffix: ".sealed") }.sorted()
    }

    public func latestVersion(of address: ConfigAddress) async throws -> Int64? {
        try await versionNumbers(of: address).last
    }

    public func read(_ address: ConfigAddress, version: Int64) async throws -> [UInt8] {
        try readNow(address, version: version)
    }

    /// ``read(_:version:)`` without suspending.
    public func readNow(_ address: ConfigAddress, version: Int64) throws(SvcConfError) -> [UInt8] {
        try checkRoot()
        let file = versionFile(address, version)
        guard try LocalFS.info(file) != nil else {
            throw SvcConfError(.notFound, "version \(version) of \(address) does not exist in \(url)")
        }
        do {
            return try LocalFS.read(file, limit: SealedCodec.maxCiphertextBytes + SealedCodec.maxHeaderBytes + 128)
        } catch where error.kind == .invalidInput {
            // Not a regular file, or larger than any sealed version can be: the store was tampered with.
            throw SvcConfError(.tampered, "version \(version) of \(address) in \(url) is not a sealed version (\(error.message))")
        }
    }

    func versionFile(_ address: ConfigAddress, _ version: Int64) -> String {
        "\(dir(address))/\(VersionName.name(version, suffix: ".sealed"))"
    }

    public func create(_ address: ConfigAddress, version: Int64, bytes: [UInt8]) async throws {
        try checkRoot()
        let d = dir(address)
        try LocalFS.makeDirectories(d)
        try LocalFS.writeAtomically("\(d)/\(VersionName.name(version, suffix: ".sealed"))", bytes, mode: 0o600, exclusive: true,
                                    onConflict: SvcConfError(.conflict, "version \(version) of \(address) already exists: someone else wrote it meanwhile"))
    }

    public func addresses() async throws -> [ConfigAddress] {
        try checkRoot()
        var out: [ConfigAddress] = []
        let root = "\(path)/configs"
        for svc in try LocalFS.list(root) ?? [] where Names.isValid(svc) {
            for env in try LocalFS.list("\(root)/\(svc)") ?? [] where Names.isValid(env) {
                let a = try ConfigAddress(service: svc, env: env)
                if try await !versionNumbers(of: a).isEmpty { out.append(a) }
                for v in try LocalFS.list("\(root)/\(svc)/\(env)/variants") ?? [] where Names.isValid(v) {
                    let va = try ConfigAddress(service: svc, env: env, variant: v)
                    if try await !versionNumbers(of: va).isEmpty { out.append(va) }
                }
            }
        }
        return out.sorted()
    }

    // MARK: schemas

    func schemaDir(_ service: String) -> String { "\(path)/schemas/\(service)" }

    public func schemaNumbers(of service: String) async throws -> [Int64] {
        try schemaNumbersNow(of: service)
    }

    /// ``schemaNumbers(of:)`` without suspending.
    public func schemaNumbersNow(of service: String) throws(SvcConfError) -> [Int64] {
        try checkRoot()
        try Names.check(service, as: "service")
        guard let names = try LocalFS.list(schemaDir(service)) else { return [] }
        return names.compactMap { VersionName.parse($0, suffix: ".json") }.sorted()
    }

    public func readSchema(of service: String, number: Int64) async throws -> [UInt8] {
        try readSchemaNow(of: service, number: number)
    }

    /// ``readSchema(of:number:)`` without suspending.
    public func readSchemaNow(of service: String, number: Int64) throws(SvcConfError) -> [UInt8] {
        try checkRoot()
        try Names.check(service, as: "service")
        let file = "\(schemaDir(service))/\(VersionName.name(number, suffix: ".json"))"
        guard try LocalFS.info(file) != nil else {
            throw SvcConfError(.notFound, "schema \(number) of \(service) does not exist in \(url)")
        }
        do {
            return try LocalFS.read(file, limit: 4 << 20)
        } catch where error.kind == .invalidInput {
            throw SvcConfError(.tampered, "schema \(number) of \(service) in \(url) is not a schema file (\(error.message))")
        }
    }

    public func createSchema(of service: String, number: Int64, bytes: [UInt8]) async throws {
        try checkRoot()
        try Names.check(service, as: "service")
        let d = schemaDir(service)
        try LocalFS.makeDirectories(d)
        try LocalFS.writeAtomically("\(d)/\(VersionName.name(number, suffix: ".json"))", bytes, mode: 0o600, exclusive: true,
                                    onConflict: SvcConfError(.conflict, "schema \(number) of \(service) already exists: someone else set it meanwhile"))
    }

    public func latestVersionBytes(of address: ConfigAddress) async throws -> (number: Int64, bytes: [UInt8])? {
        try latestVersionBytesNow(of: address)
    }

    /// ``latestVersionBytes(of:)`` without suspending. Answers from ``latestCache`` while nothing
    /// it was read from has changed (see ``FileStoreLatestCache``); otherwise lists and reads.
    public func latestVersionBytesNow(of address: ConfigAddress) throws(SvcConfError) -> (number: Int64, bytes: [UInt8])? {
        switch latestCache.lookup(address) {
        case .latest(let n, let bytes)?: return (n, bytes)
        case .none?: return nil
        case nil: break
        }
        // Watched BEFORE listing (and the file before reading): a change after that is an event,
        // and an answer read while one arrived is not remembered.
        let ticket = latestCache.watch(address, root: path, dir: dir(address))
        guard let n = try versionNumbersNow(of: address).last else {
            if let ticket { latestCache.remember(address, latest: nil, ticket) }
            return nil
        }
        let fileTicket = ticket.flatMap { latestCache.watchFile(versionFile(address, n), $0) }
        let bytes = try readNow(address, version: n)
        if let fileTicket { latestCache.remember(address, latest: (n, bytes), fileTicket) }
        return (n, bytes)
    }

    public func latestSchema(of service: String, verified: Bool) async throws -> (number: Int64, bytes: [UInt8])? {
        guard let n = try schemaNumbersNow(of: service).last else { return nil }
        return (n, try readSchemaNow(of: service, number: n))
    }
}
