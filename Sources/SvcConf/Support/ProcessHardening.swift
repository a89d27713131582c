#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if os(Linux)
// <sys/prctl.h> is not part of the Glibc module; prctl(2) takes integer arguments only.
@_silgen_name("prctl")
private func linux_prctl(_ option: Int32, _ a2: UInt, _ a3: UInt, _ a4: UInt, _ a5: UInt) -> Int32
#endif

/// Process-level protections for a process that holds keys and plaintext.
public enum ProcessHardening {
    /// Marks this process non-dumpable (Linux `PR_SET_DUMPABLE` = 0): no core dump can carry keys or
    /// plaintext to disk, and other processes of the same user cannot ptrace it or read its memory
    /// and environment through /proc. The flag is reset by `execve`, so a child started by `exec`
    /// keeps its normal behaviour.
    public static func apply() {
        #if os(Linux)
        _ = linux_prctl(4 /* PR_SET_DUMPABLE */, 0, 0, 0, 0)
        #endif
    }

    /// Writes all of `bytes` to a file descriptor (stdout, stderr), retrying short writes and EINTR.
    public static func writeAll(fd: Int32, _ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, bytes.count - off) }
            if n < 0 { if errno == EINTR { continue }; return }
            off += n
        }
    }
}
