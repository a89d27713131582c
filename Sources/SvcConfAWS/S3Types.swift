/// What HeadObject says about an object.
public struct S3ObjectInfo: Sendable, Equatable {
    /// The ETag exactly as S3 sends it, quotes included (`"9b2cf535f27731c974343645a3985328"`): pass it
    /// back unchanged as `ifMatch`.
    public var etag: String
    /// The object's size in bytes.
    public var contentLength: Int
    /// The stored Content-Type, if any.
    public var contentType: String?
    /// The Last-Modified header as sent (an HTTP date), if any.
    public var lastModified: String?
    /// The version id, on a versioned bucket.
    public var versionId: String?

    /// Memberwise initializer.
    public init(etag: String, contentLength: Int, contentType: String? = nil, lastModified: String? = nil, versionId: String? = nil) {
        self.etag = etag
        self.contentLength = contentLength
        self.contentType = contentType
        self.lastModified = lastModified
        self.versionId = versionId
    }
}

/// One object of a listing.
public struct S3ObjectSummary: Sendable, Equatable {
    /// The full key (decoded).
    public var key: String
    /// The ETag as S3 sends it, quotes included.
    public var etag: String
    /// The size in bytes.
    public var size: Int
    /// LastModified as sent (ISO 8601, `2025-01-02T03:04:05.000Z`).
    public var lastModified: String

    /// Memberwise initializer.
    public init(key: String, etag: String, size: Int, lastModified: String) {
        self.key = key
        self.etag = etag
        self.size = size
        self.lastModified = lastModified
    }
}

/// One page of ListObjectsV2.
public struct S3ListPage: Sendable, Equatable {
    /// The objects on this page, in key order.
    public var objects: [S3ObjectSummary]
    /// The common prefixes (with a delimiter: the "folders"), decoded.
    public var commonPrefixes: [String]
    /// Whether more pages follow.
    public var isTruncated: Bool
    /// The token for the next page, when truncated.
    public var nextContinuationToken: String?

    /// Memberwise initializer.
    public init(objects: [S3ObjectSummary], commonPrefixes: [String], isTruncated: Bool, nextContinuationToken: String?) {
        self.objects = objects
        self.commonPrefixes = commonPrefixes
        self.isTruncated = isTruncated
        self.nextContinuationToken = nextContinuationToken
    }
}

/// Every page of a ListObjectsV2 listing, concatenated.
public struct S3Listing: Sendable, Equatable {
    /// Every object, in key order.
    public var objects: [S3ObjectSummary]
    /// Every common prefix, in order.
    public var commonPrefixes: [String]
    /// How many pages it took.
    public var pages: Int

    /// Memberwise initializer.
    public init(objects: [S3ObjectSummary], commonPrefixes: [String], pages: Int) {
        self.objects = objects
        self.commonPrefixes = commonPrefixes
        self.pages = pages
    }
}
