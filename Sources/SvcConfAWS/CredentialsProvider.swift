#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A source of AWS credentials: the environment, the shared files, the ECS container endpoint, EC2
/// instance metadata, a fixed pair, or a chain or cache of those.
///
/// A provider that finds nothing to use throws ``AWSError/credentialsNotConfigured(_:)`` (so a
/// ``AWSCredentialsChain`` moves on); any other error means the source is configured but broken, and
/// the chain reports it.
public protocol AWSCredentialsProvider: Sendable {
    /// Loads credentials.
    func credentials() async throws -> AWSCredentials
}

/// Reads a file: the contents as UTF-8 text, nil when the file does not exist, throws for any other
/// failure. Injected into providers so tests need no real HOME.
public typealias AWSFileReader = @Sendable (_ path: String) throws -> String?

/// A provider that returns one fixed pair (for tests, and for keys passed explicitly).
public struct StaticCredentialsProvider: AWSCredentialsProvider {
    /// The credentials returned.
    public let value: AWSCredentials
    /// Wraps `credentials`.
    public init(_ credentials: AWSCredentials) { value = credentials }
    /// Returns the fixed credentials.
    public func credentials() async throws -> AWSCredentials { value }
}

extension AWSError {
    /// The ``code`` of the error a provider throws when its source is not configured at all.
    public static let credentialsNotConfiguredCode = "CredentialsNotConfigured"

    /// "This provider has nothing to offer here": a ``Kind/credentials`` error a chain skips.
    public static func credentialsNotConfigured(_ message: String) -> AWSError {
        AWSError(.credentials, message, code: credentialsNotConfiguredCode)
    }

    /// Whether this is a ``credentialsNotConfigured(_:)`` error.
    public var isCredentialsNotConfigured: Bool {
        kind == .credentials && code == AWSError.credentialsNotConfiguredCode
    }
}

/// The real process environment, file system and clock, for the default providers.
public enum AWSSystem {
    /// The process environment (`environ`) as a dictionary.
    public static func environment() -> [String: String] {
        var out: [String: String] = [:]
        #if canImport(Glibc) || canImport(Musl) || canImport(Darwin)
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") {
                let name = String(s[..<eq])
                if out[name] == nil { out[name] = String(s[s.index(after: eq)...]) }
            }
            p += 1
        }
        #endif
        return out
    }

    /// Largest file ``readFile`` reads (the AWS files and tokens are tiny).
    public static let maxFileBytes = 1 << 20

    /// Reads a UTF-8 text file; nil when it (or a directory on its path) does not exist.
    public static let readFile: AWSFileReader = { path in
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            if e == ENOENT || e == ENOTDIR { return nil }
            throw AWSError(.credentials, "cannot read \(path): \(String(cString: strerror(e)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw AWSError(.credentials, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > maxFileBytes {
                throw AWSError(.credentials, "cannot read \(path): larger than \(maxFileBytes) bytes")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw AWSError(.credentials, "cannot read \(path): not UTF-8 text")
        }
        return text
    }

    /// Seconds since the epoch (the real-time clock).
    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }
}
