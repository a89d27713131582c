#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SvcConf
import SvcConfAuth

/// Reads the token file from disk. It holds only hashes, but it decides who may read what, so a
/// file that others can write is refused.
public enum TokenFileLoader {
    /// The parsed token file at `path`.
    public static func load(path: String) throws -> TokenFile {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw SvcConfError(.notFound, "cannot read the token file \(path): \(String(cString: strerror(errno)))",
                               hint: "create it with `svcconf token mint --name NAME --scope SCOPE:SERVICE/ENV --entry-file \(path)`")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw SvcConfError(.usage, "the token file \(path) is not a regular file") }
        guard st.st_mode & 0o022 == 0 else {
            throw SvcConfError(.accessDenied, "the token file \(path) is writable by group or others", hint: "chmod go-w \(path)")
        }
        guard let f = fopen(path, "r") else {
            throw SvcConfError(.accessDenied, "cannot read the token file \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            bytes += chunk[0..<n]
            if bytes.count > 16 << 20 { throw SvcConfError(.invalidInput, "the token file \(path) is larger than 16 MiB") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw SvcConfError(.invalidInput, "the token file \(path) is not UTF-8") }
        return try TokenFile(parsing: text, source: path)
    }
}
