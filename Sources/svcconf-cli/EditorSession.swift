#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SvcConf

/// statfs(2) (not exported by the Glibc module).
@_silgen_name("statfs")
private func linux_statfs(_ path: UnsafePointer<CChar>, _ buf: UnsafeMutableRawPointer) -> Int32

/// The private place an `edit` buffer lives, and the editor run on it.
///
/// - The buffer is a file 0600 in a fresh directory 0700 (`mkdtemp`) on a tmpfs: `$XDG_RUNTIME_DIR`,
///   else `/dev/shm`; anywhere else (a persistent disk) only with `--allow-disk`.
/// - The directory and everything in it (editor swap and backup files included) is removed on every
///   way out svcconf controls: success, errors, an editor that fails or crashes, SIGINT, SIGTERM and
///   SIGHUP (caught, the editor is stopped, then svcconf exits 128+signal). A SIGKILL of svcconf or a
///   power cut leaves the file on the tmpfs until reboot — never on disk.
/// - Core dumps are off for the whole process (RLIMIT_CORE 0, and PR_SET_DUMPABLE 0 at start).
final class EditorSession {
    let directory: String
    let path: String
    private var removed = false

    /// Creates the private directory; `name` is the buffer's file name (e.g. `app-prod.yaml`).
    init(name: String, allowDisk: Bool) throws {
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
        let parent = try Self.privateParent(allowDisk: allowDisk)
        var template = Array((parent + "/svcconf-edit-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SvcConfError(.unavailable, "cannot create a private directory in \(parent) (\(String(cString: strerror(errno))))")
        }
        directory = String(cString: made)
        path = directory + "/" + name
        Interrupts.install()
        Interrupts.current = self
    }

    deinit { remove() }

    /// `$XDG_RUNTIME_DIR` or `/dev/shm` when on tmpfs/ramfs; with `allowDisk`, also `$TMPDIR` or `/tmp`.
    static func privateParent(allowDisk: Bool) throws -> String {
        var candidates: [String] = []
        if let x = getenv("XDG_RUNTIME_DIR"), x.pointee != 0 { candidates.append(String(cString: x)) }
        candidates.append("/dev/shm")
        for c in candidates where isMemoryFilesystem(c) && access(c, W_OK | X_OK) == 0 { return c }
        if allowDisk {
            let tmp = getenv("TMPDIR").flatMap { $0.pointee == 0 ? nil : String(cString: $0) } ?? "/tmp"
            return tmp
        }
        throw SvcConfError(.usage, "no private memory filesystem for the plaintext buffer (XDG_RUNTIME_DIR and /dev/shm are not a writable tmpfs)",
                           hint: "set XDG_RUNTIME_DIR to a tmpfs directory, or pass --allow-disk to accept plaintext on disk")
    }

    static func isMemoryFilesystem(_ path: String) -> Bool {
        // struct statfs (Linux, 64-bit): `f_type` (a long) is its first member; 256 bytes cover it all.
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 8)
        defer { buffer.deallocate() }
        guard linux_statfs(path, buffer) == 0 else { return false }
        let type = UInt64(truncatingIfNeeded: buffer.load(as: Int.self))
        return type == 0x0102_1994 /* TMPFS_MAGIC */ || type == 0x8584_58F6 /* RAMFS_MAGIC */
    }

    /// Writes the buffer (0600, exclusive create the first time, then truncate in place).
    func write(_ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SvcConfError(.unavailable, "cannot write the edit buffer (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        _ = fchmod(fd, 0o600)
        let bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, bytes.count - off) }
            if n < 0 { if errno == EINTR { continue }; throw SvcConfError(.unavailable, "cannot write the edit buffer") }
            off += n
        }
    }

    /// Reads the buffer back (the editor may have replaced the file).
    func read() throws -> [UInt8] {
        try FileInput.read(path, limit: 64 << 20)
    }

    /// Runs the editor on the buffer and waits. Throws `.aborted` when it exits non-zero or dies.
    func runEditor() throws {
        let editor = Self.editorCommand()
        var pid: pid_t = 0
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in Interrupts.signals { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        // As git does: the editor string may carry arguments (`code --wait`); the path is "$1".
        let argv = ["/bin/sh", "-c", "exec " + editor + " \"$1\"", editor, path]
        var cargs = argv.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        let rc = posix_spawn(&pid, "/bin/sh", nil, &attr, &cargs, environ)
        guard rc == 0 else { throw SvcConfError(.aborted, "cannot start the editor (\(String(cString: strerror(rc)))); nothing was written") }
        var status: Int32 = 0
        // Poll: in a multi-threaded process the signal may land on another thread, so a blocking
        // waitpid is not reliably interrupted.
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if let sig = Interrupts.pending {
                kill(pid, SIGTERM)
                _ = waitpid(pid, &status, 0)
                throw Interrupted(signal: sig)
            }
            var pause = timespec(tv_sec: 0, tv_nsec: 20_000_000)
            nanosleep(&pause, nil)
        }
        if let sig = Interrupts.pending { throw Interrupted(signal: sig) }
        // WIFEXITED / WEXITSTATUS / WIFSIGNALED by hand (macros are not imported).
        if status & 0x7F == 0 {
            let code = (status >> 8) & 0xFF
            guard code == 0 else { throw SvcConfError(.aborted, "the editor exited with status \(code); nothing was written") }
        } else {
            throw SvcConfError(.aborted, "the editor was killed by signal \(status & 0x7F); nothing was written")
        }
    }

    /// `$VISUAL`, else `$EDITOR`, else `vi`.
    static func editorCommand() -> String {
        for name in ["VISUAL", "EDITOR"] {
            if let v = getenv(name), v.pointee != 0 {
                let s = String(cString: v)
                if !s.allSatisfy({ $0 == " " || $0 == "\t" }) { return s }
            }
        }
        return "vi"
    }

    /// Removes the directory and everything in it (idempotent).
    func remove() {
        guard !removed else { return }
        removed = true
        if let dir = opendir(directory) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
                }
                if name == "." || name == ".." { continue }
                _ = unlink(directory + "/" + name)
            }
            closedir(dir)
        }
        _ = rmdir(directory)
        if Interrupts.current === self { Interrupts.current = nil }
    }
}

/// A caught SIGINT, SIGTERM or SIGHUP: unwinds (removing the buffer), then exits 128+signal.
struct Interrupted: Error {
    let signal: Int32
}

/// SIGINT/SIGTERM/SIGHUP while an edit is open: the handler only records the signal (async-signal
/// safe); the waits for the editor and for an answer poll ``pending``.
enum Interrupts {
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    nonisolated(unsafe) static var caught: sig_atomic_t = 0
    nonisolated(unsafe) static var current: EditorSession?
    nonisolated(unsafe) static var installed = false

    static var pending: Int32? { caught == 0 ? nil : Int32(caught) }

    static func install() {
        guard !installed else { return }
        installed = true
        for s in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { sig in Interrupts.caught = sig_atomic_t(sig) }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0  // no SA_RESTART: blocking reads and waits return EINTR
            sigaction(s, &action, nil)
        }
    }

    /// Throws ``Interrupted`` if a signal arrived.
    static func check() throws {
        if let sig = pending { throw Interrupted(signal: sig) }
    }
}
