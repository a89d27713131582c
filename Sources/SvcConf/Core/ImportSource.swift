import SvcConfAWS

/// Where `svcconf import` reads today's layout from: a tree of files, one folder per service.
public protocol ImportSource: Sendable {
    /// How the source is named in messages and in the default change message (`./old`, `s3://b/p`).
    var label: String { get }
    /// Every file under the source as a path relative to it with `/` separators
    /// (`access-boston/.env`, `access-boston/dev/apps.yaml`), sorted.
    func listFiles() async throws -> [String]
    /// The bytes of one listed file.
    func read(_ path: String) async throws -> [UInt8]
}

/// A local folder. Symbolic links are followed; anything that is neither a regular file nor a
/// folder (a FIFO, a socket, a broken link) is an error naming it.
public struct LocalImportSource: ImportSource {
    /// The folder, without a trailing `/`.
    public let root: String
    /// Largest file read (the sealed payload has its own, lower limit).
    static let fileLimit = 16 << 20

    /// The folder `path`; it must exist and be a folder.
    public init(path: String) throws(SvcConfError) {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        guard !p.isEmpty, let info = try LocalFS.info(p) else {
            throw SvcConfError(.notFound, "import source \(Names.quoted(path)) does not exist")
        }
        guard info.isDirectory else {
            throw SvcConfError(.usage, "import source \(Names.quoted(path)) is not a folder",
                               hint: "give a folder holding one sub-folder per service, or s3://BUCKET[/PREFIX]")
        }
        root = p
    }

    /// The folder.
    public var label: String { root }

    /// Every regular file below the folder (at most 8 levels deep: a symbolic-link loop is an error).
    public func listFiles() async throws -> [String] {
        var out: [String] = []
        try walk("", depth: 0, into: &out)
        return out.sorted()
    }

    func walk(_ rel: String, depth: Int, into out: inout [String]) throws(SvcConfError) {
        let dir = rel.isEmpty ? root : root + "/" + rel
        guard depth <= 8 else { throw SvcConfError(.invalidInput, "\(dir): folders nested more than 8 levels deep (a symbolic-link loop?)") }
        for name in (try LocalFS.list(dir) ?? []).sorted() {
            let r = rel.isEmpty ? name : rel + "/" + name
            guard let info = try LocalFS.info(root + "/" + r) else {
                throw SvcConfError(.invalidInput, "\(root)/\(r) is a broken symbolic link")
            }
            if info.isDirectory {
                try walk(r, depth: depth + 1, into: &out)
            } else if info.isRegular {
                out.append(r)
            } else {
                throw SvcConfError(.invalidInput, "\(root)/\(r) is neither a regular file nor a folder")
            }
        }
    }

    /// The bytes of `path` (relative to the folder).
    public func read(_ path: String) async throws -> [UInt8] {
        try LocalFS.read(root + "/" + path, limit: Self.fileLimit)
    }
}

/// A bucket, or a prefix in one (`s3://BUCKET[/PREFIX]`), read with ListObjectsV2 (every page) and
/// GetObject. Zero-byte "folder" objects whose keys end in `/` (made by GUI S3 clients) are ignored.
public struct S3ImportSource: ImportSource {
    /// The bucket.
    public let bucket: String
    /// The key prefix, empty or ending in `/`.
    public let prefix: String
    let client: S3Client

    /// Parses `s3://BUCKET[/PREFIX]`.
    public init(url: String, client: S3Client) throws(SvcConfError) {
        guard url.hasPrefix("s3://") else { throw SvcConfError(.usage, "not an s3:// url") }
        let parts = url.dropFirst(5).split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let bucket = String(parts[0])
        guard S3Store.isValidBucket(bucket) else {
            throw SvcConfError(.usage, "invalid S3 bucket name \(Names.quoted(bucket))", hint: "bucket names are 3-63 characters of a-z, 0-9, '.' and '-'")
        }
        var prefix = parts.count > 1 ? String(parts[1]) : ""
        while prefix.hasSuffix("/") { prefix.removeLast() }
        if !prefix.isEmpty {
            let segments = prefix.split(separator: "/", omittingEmptySubsequences: false)
            guard prefix.utf8.count <= 512, segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
                throw SvcConfError(.usage, "invalid S3 prefix \(Names.quoted(prefix))")
            }
            prefix += "/"
        }
        self.bucket = bucket
        self.prefix = prefix
        self.client = client
    }

    /// `s3://bucket/prefix`.
    public var label: String { "s3://\(bucket)" + (prefix.isEmpty ? "" : "/" + prefix.dropLast()) }

    func map(_ e: any Error, _ what: String) -> any Error {
        guard let aws = e as? AWSError else { return e }
        if aws.code == "NoSuchBucket" {
            return SvcConfError(.notFound, "bucket \(bucket) does not exist (\(what))", hint: "check the import source url")
        }
        return AWSErrors.map(aws, doing: what)
    }

    /// Every key under the prefix, relative to it.
    public func listFiles() async throws -> [String] {
        let listing: S3Listing
        do {
            listing = try await client.listAllObjects(bucket: bucket, prefix: prefix.isEmpty ? nil : prefix)
        } catch {
            throw map(error, "listing \(label)")
        }
        return listing.objects.map(\.key).filter { $0.hasPrefix(prefix) && !$0.hasSuffix("/") }
            .map { String($0.dropFirst(prefix.count)) }.sorted()
    }

    /// The object `prefix + path`.
    public func read(_ path: String) async throws -> [UInt8] {
        do {
            return try await client.getObject(bucket: bucket, key: prefix + path).bytes
        } catch {
            throw map(error, "reading \(label)/\(path)")
        }
    }
}

/// Decrypts the values the city stored as `X_KMS_ENCRYPTED` (made with `aws kms encrypt`).
public protocol ImportDecrypter: Sendable {
    /// The plaintext of `blob`. Throws ``SvcConfError``: `.unavailable` for a failure worth retrying
    /// later (network, throttling: import stops), any other kind when this value cannot be decrypted.
    func decrypt(_ blob: [UInt8]) async throws -> [UInt8]
}

/// ``ImportDecrypter`` over AWS KMS `Decrypt`, without an encryption context (`aws kms encrypt`
/// made the city's values without one); the key id comes from the ciphertext blob itself.
public struct KMSImportDecrypter: ImportDecrypter {
    let client: KMSClient

    /// Decrypts through `client`.
    public init(client: KMSClient) { self.client = client }

    /// The plaintext; errors carry AWS's code and message, never the ciphertext or the plaintext.
    public func decrypt(_ blob: [UInt8]) async throws -> [UInt8] {
        do {
            var r = try await client.decrypt(blob: blob, context: [:])
            let plaintext = r.plaintext
            r.wipe()
            return plaintext
        } catch let e as AWSError {
            switch e.code ?? "" {
            case "InvalidCiphertextException":
                throw SvcConfError(.keyUnavailable, "kms refused the ciphertext (InvalidCiphertextException: corrupt, not a KMS ciphertext, or encrypted with an encryption context)")
            case "IncorrectKeyException":
                throw SvcConfError(.keyUnavailable, "kms: the ciphertext is under another key (IncorrectKeyException)")
            default:
                throw AWSErrors.map(e, doing: "kms Decrypt")
            }
        }
    }
}
