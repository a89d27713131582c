import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts `process` while holding a process-wide lock (flock on a file, so it also serializes the
/// other test targets linked into the same test binary). swift-corelibs-foundation's `Process.run()`
/// crashed (memcpy, bad pointer) when tests launched processes from several threads at once; only
/// the launch is serialized, the processes still run in parallel.
func runSerialized(_ process: Process) throws {
    let fd = open("/tmp/svcconf-tests-spawn.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o666)
    if fd >= 0 { while flock(fd, LOCK_EX) != 0 && errno == EINTR {} }
    defer { if fd >= 0 { flock(fd, LOCK_UN); close(fd) } }
    try process.run()
}
