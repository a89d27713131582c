import Foundation

#if canImport(Glibc)
import Glibc
#endif

// Processes of the server tests (the servers, the CLI, the load clients, chromium) are started with
// posix_spawn, not Foundation's `Process`: on Linux, swift-corelibs-foundation's `Process.run()`
// (Swift 6.3.1) intermittently crashes reading past a buffer in findMaximumOpenFromProcSelfFD()
// (swiftlang/swift-corelibs-foundation#5472); the CLI tests' runProcess (SvcConfCLITests/Support.swift)
// does the same for the same reason.

@_silgen_name("pipe2") private func c_pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func c_addclosefrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

/// A pipe whose both ends are close-on-exec (the child gets its end by dup2).
func cloexecPipe() throws -> (read: Int32, write: Int32) {
    var fds: [Int32] = [-1, -1]
    guard c_pipe2(&fds, O_CLOEXEC) == 0 else { throw SpawnError("cannot make a pipe: \(String(cString: strerror(errno)))") }
    return (fds[0], fds[1])
}

struct SpawnError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Starts `executable` with `args` and exactly `env`; stdin is /dev/null, stdout and stderr are the
/// given descriptors (dup2'd), every other descriptor is closed in the child, signal dispositions and
/// mask are the defaults. Returns the pid.
func spawn(_ executable: String, _ args: [String], env: [String: String], stdout: Int32, stderr: Int32) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, stdout, 1)
    posix_spawn_file_actions_adddup2(&actions, stderr, 2)
    _ = c_addclosefrom(&actions, 3)
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var defaults = sigset_t()
    sigfillset(&defaults)
    sigdelset(&defaults, SIGKILL)
    sigdelset(&defaults, SIGSTOP)
    posix_spawnattr_setsigdefault(&attr, &defaults)
    var mask = sigset_t()
    sigemptyset(&mask)
    posix_spawnattr_setsigmask(&attr, &mask)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
    var argv: [UnsafeMutablePointer<CChar>?] = ([executable] + args).map { strdup($0) } + [nil]
    var envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for p in argv + envp { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, executable, &actions, &attr, &argv, &envp)
    guard rc == 0 else { throw SpawnError("cannot start \(executable): \(String(cString: strerror(rc)))") }
    return pid
}

/// Waits for `pid`; its exit status, or 128 + the signal that ended it.
func waitExit(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
}

/// Waits up to `seconds` for `pid`; its exit status as ``waitExit(_:)`` gives it, or nil if it is
/// still running then.
func waitExit(_ pid: pid_t, within seconds: TimeInterval) -> Int32? {
    let deadline = Date().addingTimeInterval(seconds)
    var status: Int32 = 0
    while true {
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F) }
        if r < 0 && errno != EINTR { return -1 }
        if Date() >= deadline { return nil }
        usleep(20_000)
    }
}

/// Bytes read on another thread.
final class Drained: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    /// Reads `fd` to its end on a thread of its own, then closes it.
    init(_ fd: Int32) {
        Thread.detachNewThread { [self] in
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 { lock.withLock { data.append(contentsOf: buf[0..<n]) }; continue }
                if n < 0 && errno == EINTR { continue }
                break
            }
            close(fd)
            done.signal()
        }
    }

    /// Everything, once the writers closed their ends.
    func wait() -> Data {
        done.wait()
        done.signal()
        return lock.withLock { data }
    }
}

/// Runs `work` on a thread of its own and awaits it, so a blocking wait (a child process) does not
/// hold one of the few threads of Swift's cooperative pool.
func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}
