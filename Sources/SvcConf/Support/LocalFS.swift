#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin POSIX file operations with the durability steps svcconf relies on (fsync of file and
/// directory, exclusive create by `link(2)`), mapping `errno` to ``SvcConfError`` classes.
/// Paths in errors are the caller's; contents never appear in an error.
enum LocalFS {
    /// Maps an errno from `op` on `path` to an error class.
    static func error(_ op: String, _ path: String, _ code: Int32 = errno) -> SvcConfError {
        let reason = String(cString: strerror(code)).lowercased()
        switch code {
        case ENOENT: return SvcConfError(.notFound, "\(op) \(path): \(reason)")
        case EACCES, EPERM, EROFS: return SvcConfError(.accessDenied, "\(op) \(path): \(reason)")
        case EEXIST: return SvcConfError(.conflict, "\(op) \(path): \(reason)")
        default: return SvcConfError(.unavailable, "\(op) \(path): \(reason)")
        }
    }

    struct FileInfo {
        var isDirectory: Bool
        var isRegular: Bool
        var mode: UInt32
        var size: Int
        var uid: UInt32

        init(_ st: stat) {
            let fmt = UInt32(st.st_mode) & UInt32(S_IFMT)
            isDirectory = fmt == UInt32(S_IFDIR)
            isRegular = fmt == UInt32(S_IFREG)
            mode = UInt32(st.st_mode) & 0o7777
            size = Int(st.st_size)
            uid = UInt32(st.st_uid)
        }
    }

    /// `stat(2)`; nil when the path does not exist.
    static func info(_ path: String) throws(SvcConfError) -> FileInfo? {
        var st = stat()
        if stat(path, &st) != 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw error("stat", path)
        }
        return FileInfo(st)
    }

    /// Reads a whole regular file, refusing files larger than `limit`. Opens without blocking and
    /// checks the type on the open descriptor, so a FIFO or device planted in its place fails at once
    /// instead of hanging the reader.
    static func read(_ path: String, limit: Int = 64 << 20) throws(SvcConfError) -> [UInt8] {
        try readChecked(path, limit: limit).bytes
    }

    /// ``read(_:limit:)`` that also returns the file's status as seen on the open descriptor (for
    /// permission checks without a race between checking and reading).
    static func readChecked(_ path: String, limit: Int) throws(SvcConfError) -> (bytes: [UInt8], info: FileInfo) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        if fd < 0 { throw error("cannot read", path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw error("cannot read", path) }
        let info = FileInfo(st)
        guard info.isRegular else { throw SvcConfError(.invalidInput, "cannot read \(path): not a regular file") }
        let size = info.size
        guard size <= limit else { throw SvcConfError(.invalidInput, "cannot read \(path): larger than \(limit) bytes") }
        var out = [UInt8](repeating: 0, count: size)
        var got = 0
        while got < size {
            let n = out.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + got, size - got) }
            if n < 0 { if errno == EINTR || errno == EAGAIN { continue }; throw error("cannot read", path) }
            if n == 0 { break }
            got += n
        }
        if got < size { out.removeLast(size - got) }
        return (out, info)
    }

    /// Reads all of a file descriptor (stdin) up to `limit` bytes.
    static func readAll(fd: Int32, limit: Int) throws(SvcConfError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw error("cannot read", "standard input") }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit { throw SvcConfError(.invalidInput, "standard input is larger than \(limit) bytes") }
        }
    }

    static func writeAll(fd: Int32, _ bytes: [UInt8], path: String) throws(SvcConfError) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, bytes.count - off) }
            if n < 0 { if errno == EINTR { continue }; throw error("cannot write", path) }
            off += n
        }
    }

    static func fsyncDirectory(_ dir: String) {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }

    static func dirname(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Writes a temporary file beside `path` (mode `mode`), fsyncs it, then either renames it over
    /// `path` (`exclusive == false`) or links it to `path` failing with `.conflict` if `path` exists
    /// (`exclusive == true`, throwing `onConflict` if given); finally fsyncs the directory. A crash leaves either the old state or the
    /// complete new file, never a partial one (a stray `.tmp-*` file at worst).
    /// `durable: false` skips the fsyncs (the rename stays atomic): for files `exec` hands to a program
    /// that reads them at once, where surviving a power cut does not matter but start-up time does.
    static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600, exclusive: Bool,
                                onConflict: SvcConfError? = nil, durable: Bool = true) throws(SvcConfError) {
        let dir = dirname(path)
        var rnd = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { rnd[i] = UInt8.random(in: 0...255) }
        let tmp = "\(dir)/.tmp-\(Hex.encode(rnd))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if fd < 0 { throw error("cannot create", tmp) }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        do {
            try writeAll(fd: fd, bytes, path: tmp)
        } catch {
            close(fd)
            throw error
        }
        if durable && fsync(fd) != 0 { let e = errno; close(fd); throw error("cannot sync", tmp, e) }
        if close(fd) != 0 { throw error("cannot close", tmp) }
        if exclusive {
            if link(tmp, path) != 0 {
                let e = errno
                if e == EEXIST { throw onConflict ?? SvcConfError(.conflict, "\(path) already exists") }
                throw error("cannot create", path, e)
            }
            unlink(tmp)
        } else {
            if rename(tmp, path) != 0 { throw error("cannot replace", path) }
        }
        ok = true
        if durable { fsyncDirectory(dir) }
    }

    /// Creates `path` and missing parents with `mode`; fine if it already is a directory. Each new
    /// directory's parent is fsynced, so the new entry survives a crash.
    static func makeDirectories(_ path: String, mode: mode_t = 0o700) throws(SvcConfError) {
        if let i = try info(path) {
            if i.isDirectory { return }
            throw SvcConfError(.unavailable, "\(path) exists and is not a directory")
        }
        let parent = dirname(path)
        if parent != path && parent != "." && parent != "/" { try makeDirectories(parent, mode: mode) }
        if mkdir(path, mode) != 0 {
            if errno == EEXIST, let i = try info(path), i.isDirectory { return }
            throw error("cannot create directory", path)
        }
        fsyncDirectory(parent)
    }

    /// Entry names of a directory (without `.` and `..`); nil when it does not exist.
    static func list(_ path: String) throws(SvcConfError) -> [String]? {
        guard let d = opendir(path) else {
            if errno == ENOENT { return nil }
            throw error("cannot list", path)
        }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func remove(_ path: String) {
        unlink(path)
    }
}
