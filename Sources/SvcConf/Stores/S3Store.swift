import SvcConfAWS

/// The store on S3 (`s3://BUCKET[/PREFIX]`), with exactly the file store's semantics.
///
/// ```
/// PREFIX/policy/0000000001.json                              store policy, versioned
/// PREFIX/configs/SERVICE/ENV[/variants/V]/versions/0000000001.sealed
/// PREFIX/schemas/SERVICE/0000000001.json
/// .../latest                                                 beside each series: a copy of its newest object
/// PREFIX/configs/SERVICE/_generations/0000000001             one marker per write of the service (exec fast path)
/// PREFIX/configs/SERVICE/ENV[/variants/V]/exec-bundle        what exec needs, stamped with a generation
/// ```
/// - **No lost update.** Object N of a series is created with `If-None-Match: *`; S3 refuses the
///   second writer of N with 412, which becomes a conflict, as `link(2)` does in the file store.
/// - **Latest in two requests.** Each series keeps a `latest` object: the 10-digit number of its
///   newest object, a newline, and a copy of that object. A reader GETs `latest` and HEADs object N+1;
///   404 proves N is the newest (a writer that crashed between creating N+1 and updating `latest`, or
///   lost the race to update it, is caught by the HEAD and the reader walks forward). The copy is
///   checked like any version (its header must say version N of this config, and it is authenticated
///   when opened).
/// - **`exec` in two requests, every layer and the schema included.** Each env and variant has an
///   exec bundle: the latest copies of its own series, its lower layers and the service's schema,
///   stamped with generation G of the service. Every write creates its object, then generation
///   marker G+1, then rebuilds the service's bundles. `exec` GETs the bundle and HEADs marker G+1: a
///   404 proves the bundle current (the argument is in `S3Store+ExecBundle.swift`); otherwise, or
///   without a well-formed bundle, it reads layer by layer (the latest copies above, 2 requests per
///   layer that exists, 1 per missing lower layer, 1 for the schema).
/// - Listings (history, list) use ListObjectsV2 with pagination.
public struct S3Store: ConfigStore {
    /// The bucket.
    public let bucket: String
    /// The key prefix, empty or ending in `/`.
    public let prefix: String
    let client: S3Client

    /// `s3://bucket/prefix`.
    public var url: String { "s3://\(bucket)" + (prefix.isEmpty ? "" : "/" + prefix.dropLast()) }

    /// Parses `s3://BUCKET[/PREFIX]` (bucket names per S3's rules; the prefix made of name characters
    /// and `/`, without `.` or `..` segments).
    public init(url: String, client: S3Client) throws(SvcConfError) {
        guard url.hasPrefix("s3://") else { throw SvcConfError(.usage, "not an s3:// store url") }
        let rest = url.dropFirst(5)
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let bucket = String(parts[0])
        guard S3Store.isValidBucket(bucket) else {
            throw SvcConfError(.usage, "invalid S3 bucket name \(Names.quoted(bucket))", hint: "bucket names are 3-63 characters of a-z, 0-9, '.' and '-'")
        }
        var prefix = parts.count > 1 ? String(parts[1]) : ""
        while prefix.hasSuffix("/") { prefix.removeLast() }
        if !prefix.isEmpty {
            let segments = prefix.split(separator: "/", omittingEmptySubsequences: false)
            guard prefix.utf8.count <= 512, segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && Names.isValidFileName(String($0)) }) else {
                throw SvcConfError(.usage, "invalid S3 store prefix \(Names.quoted(prefix))", hint: "use letters, digits, '.', '_', '-' and '/'")
            }
            prefix += "/"
        }
        self.bucket = bucket
        self.prefix = prefix
        self.client = client
    }

    static func isValidBucket(_ b: String) -> Bool {
        let u = Array(b.utf8)
        guard (3...63).contains(u.count), let f = u.first, let l = u.last else { return false }
        func alnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) }
        return alnum(f) && alnum(l) && u.allSatisfy { alnum($0) || $0 == 0x2D || $0 == 0x2E }
    }

    // MARK: series of numbered objects

    func configDir(_ a: ConfigAddress) -> String {
        var d = "\(prefix)configs/\(a.service)/\(a.env)/"
        if let v = a.variant { d += "variants/\(v)/" }
        return d + "versions/"
    }
    func schemaDir(_ service: String) -> String { "\(prefix)schemas/\(service)/" }
    var policyDir: String { "\(prefix)policy/" }

    func map(_ e: any Error, _ what: String) -> any Error {
        guard let aws = e as? AWSError else { return e }
        if aws.code == "NoSuchBucket" {
            return SvcConfError(.notFound, "bucket \(bucket) does not exist (\(what))", hint: "check the store url; create the bucket first")
        }
        return AWSErrors.map(aws, doing: what)
    }

    static func isNotFound(_ e: any Error) -> Bool {
        guard let aws = e as? AWSError else { return false }
        return aws.status == 404 && aws.code != "NoSuchBucket"
    }

    /// Whether object `n` of the series exists (HEAD).
    func exists(_ dir: String, _ n: Int64, _ suffix: String) async throws -> Bool {
        do {
            _ = try await client.headObject(bucket: bucket, key: dir + VersionName.name(n, suffix: suffix))
            return true
        } catch where Self.isNotFound(error) {
            return false
        } catch {
            throw map(error, "reading \(url)")
        }
    }

    /// The newest number of a series and its bytes, or nil for an empty series (see the type's doc).
    /// `verify: false` trusts the latest copy without the HEAD of N+1 (one request fewer; used for the
    /// schema at container start, where a copy one schema behind after a crashed `schema set` is
    /// harmless: the version was validated against that schema when written).
    func latest(_ dir: String, _ suffix: String, verify: Bool = true, missingCopyMeansEmpty: Bool = false) async throws -> (number: Int64, bytes: [UInt8])? {
        var hint: (Int64, [UInt8])?
        do {
            let (body, _) = try await client.getObject(bucket: bucket, key: dir + "latest")
            guard body.count > 11, body[10] == 0x0A, let n = Int64(String(decoding: body[0..<10], as: UTF8.self)), n >= 1 else {
                throw SvcConfError(.tampered, "\(url): \(dir)latest is not a svcconf latest-copy object")
            }
            hint = (n, Array(body[11...]))
        } catch where Self.isNotFound(error) {
            hint = nil
        } catch let e as SvcConfError {
            throw e
        } catch {
            throw map(error, "reading \(url)")
        }
        if hint == nil && missingCopyMeansEmpty { return nil }
        if !verify { return hint }  // no latest copy: no schema (or one whose writer crashed before the copy)
        var n = hint?.0 ?? 0
        // Walk forward while a newer object exists (normally zero steps: one HEAD that answers 404).
        var steps = 0
        while try await exists(dir, n + 1, suffix) {
            n += 1
            steps += 1
            if steps > 10_000 { throw SvcConfError(.unavailable, "\(url): \(dir) has too many objects past its latest copy") }
        }
        if n == 0 { return nil }
        if let hint, hint.0 == n { return (n, hint.1) }
        return (n, try await read(dir, n, suffix))
    }

    func read(_ dir: String, _ n: Int64, _ suffix: String) async throws -> [UInt8] {
        do {
            return try await client.getObject(bucket: bucket, key: dir + VersionName.name(n, suffix: suffix)).bytes
        } catch where Self.isNotFound(error) {
            throw SvcConfError(.notFound, "\(dir)\(VersionName.name(n, suffix: suffix)) does not exist in \(url)")
        } catch {
            throw map(error, "reading \(url)")
        }
    }

    func numbers(_ dir: String, _ suffix: String) async throws -> [Int64] {
        do {
            let listing = try await client.listAllObjects(bucket: bucket, prefix: dir)
            return listing.objects.compactMap { o -> Int64? in
                guard o.key.hasPrefix(dir) else { return nil }
                return VersionName.parse(String(o.key.dropFirst(dir.count)), suffix: suffix)
            }.sorted()
        } catch {
            throw map(error, "listing \(url)")
        }
    }

    /// Creates object `n` (412 → `conflict`), then refreshes the series' latest copy.
    func create(_ dir: String, _ n: Int64, _ suffix: String, _ bytes: [UInt8], conflict: SvcConfError) async throws {
        do {
            _ = try await client.putObject(bucket: bucket, key: dir + VersionName.name(n, suffix: suffix), body: bytes,
                                           contentType: "application/octet-stream", ifNoneMatch: true)
        } catch let e as AWSError where e.status == 412 {
            throw conflict
        } catch {
            throw map(error, "writing \(url)")
        }
        // The latest copy is a hint readers verify; failing to refresh it loses nothing.
        var body = Array(VersionName.name(n, suffix: "\n").utf8)
        body.append(contentsOf: bytes)
        _ = try? await client.putObject(bucket: bucket, key: dir + "latest", body: body, contentType: "application/octet-stream")
    }

    // MARK: ConfigStore

    public func latestPolicy() async throws -> (number: Int64, policy: StorePolicy)? {
        guard let (n, bytes) = try await latest(policyDir, ".json") else { return nil }
        do {
            return (n, try StorePolicy.decode(bytes, source: "\(url)/policy/\(VersionName.name(n, suffix: ".json"))"))
        } catch {
            throw SvcConfError(.tampered, error.message, hint: "the store's policy object is corrupt; restore it from a bucket version")
        }
    }

    public func createPolicy(_ policy: StorePolicy, number: Int64) async throws {
        try await create(policyDir, number, ".json", policy.encoded(),
                         conflict: SvcConfError(.conflict, "the store policy of \(url) was changed by someone else meanwhile", hint: "run the command again"))
    }

    public func versionNumbers(of address: ConfigAddress) async throws -> [Int64] {
        try await numbers(configDir(address), ".sealed")
    }

    public func latestVersion(of address: ConfigAddress) async throws -> Int64? {
        try await latest(configDir(address), ".sealed")?.number
    }

    public func latestVersionBytes(of address: ConfigAddress) async throws -> (number: Int64, bytes: [UInt8])? {
        try await latest(configDir(address), ".sealed")
    }

    /// A lower layer at container start: no latest copy means no layer (one GET that answers 404).
    /// The window this leaves: a layer whose first writer crashed between creating version 1 and
    /// writing the copy is ignored by `exec` until its next write (every other reader sees it).
    public func latestLayerBytes(of address: ConfigAddress) async throws -> (number: Int64, bytes: [UInt8])? {
        try await latest(configDir(address), ".sealed", missingCopyMeansEmpty: true)
    }

    public func read(_ address: ConfigAddress, version: Int64) async throws -> [UInt8] {
        do {
            return try await read(configDir(address), version, ".sealed")
        } catch let e as SvcConfError where e.kind == .notFound {
            throw SvcConfError(.notFound, "version \(version) of \(address) does not exist in \(url)")
        }
    }

    public func create(_ address: ConfigAddress, version: Int64, bytes: [UInt8]) async throws {
        try await create(configDir(address), version, ".sealed", bytes,
                         conflict: SvcConfError(.conflict, "version \(version) of \(address) already exists: someone else wrote it meanwhile"))
        try await publish(address.service, written: String((configDir(address) + VersionName.name(version, suffix: ".sealed")).dropFirst(prefix.count)))
    }

    public func addresses() async throws -> [ConfigAddress] {
        let root = "\(prefix)configs/"
        let listing: S3Listing
        do { listing = try await client.listAllObjects(bucket: bucket, prefix: root) } catch { throw map(error, "listing \(url)") }
        var found = Set<ConfigAddress>()
        for o in listing.objects where o.key.hasPrefix(root) && o.key.hasSuffix(".sealed") {
            let parts = o.key.dropFirst(root.count).split(separator: "/").map(String.init)
            // SERVICE/ENV/versions/N.sealed or SERVICE/ENV/variants/V/versions/N.sealed
            if parts.count == 4, parts[2] == "versions", let a = try? ConfigAddress(service: parts[0], env: parts[1]) {
                found.insert(a)
            } else if parts.count == 6, parts[2] == "variants", parts[4] == "versions",
                      let a = try? ConfigAddress(service: parts[0], env: parts[1], variant: parts[3]) {
                found.insert(a)
            }
        }
        return found.sorted()
    }

    public func schemaNumbers(of service: String) async throws -> [Int64] {
        try Names.check(service, as: "service")
        return try await numbers(schemaDir(service), ".json")
    }

    public func readSchema(of service: String, number: Int64) async throws -> [UInt8] {
        try Names.check(service, as: "service")
        return try await read(schemaDir(service), number, ".json")
    }

    public func createSchema(of service: String, number: Int64, bytes: [UInt8]) async throws {
        try Names.check(service, as: "service")
        try await create(schemaDir(service), number, ".json", bytes,
                         conflict: SvcConfError(.conflict, "schema \(number) of \(service) already exists: someone else set it meanwhile"))
        try await publish(service, written: "schema \(number)")
    }

    public func latestSchema(of service: String, verified: Bool) async throws -> (number: Int64, bytes: [UInt8])? {
        try Names.check(service, as: "service")
        return try await latest(schemaDir(service), ".json", verify: verified)
    }
}
