#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

// Child processes of the CLI and server tests are started with posix_spawn, not Foundation's
// `Process`: on Linux, swift-corelibs-foundation's `Process.run()` (Swift 6.3.1) intermittently
// crashes reading past a buffer in findMaximumOpenFromProcSelfFD()
// (swiftlang/swift-corelibs-foundation#5472), and these tests start hundreds of processes.
// Shared by the test targets (which cannot share code with each other).

@_silgen_name("pipe2") private func c_pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32
@_silgen_name("posix_spawn_file_actions_addchdir_np")
private func c_addchdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: UnsafePointer<CChar>) -> Int32
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func c_addclosefrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

/// Why a child could not be started.
public struct SpawnError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// A pipe whose both ends are close-on-exec (a child gets its end by dup2).
public func cloexecPipe() throws -> (read: Int32, write: Int32) {
    var fds: [Int32] = [-1, -1]
    guard c_pipe2(&fds, O_CLOEXEC) == 0 else { throw SpawnError("cannot make a pipe: \(String(cString: strerror(errno)))") }
    return (fds[0], fds[1])
}

/// Starts `executable` with `args` and exactly `env`, in `cwd` (default: this process's). Its stdin
/// is `stdin` (default /dev/null), stdout and stderr the given descriptors (dup2'd); every other
/// descriptor is closed in the child (a descriptor another thread has open for writing — a script
/// being written — must not leak into a long-lived child, or exec'ing that script fails with
/// ETXTBSY); signal dispositions and mask are the defaults (SIGPIPE ignored here is not inherited).
/// Returns the pid.
public func spawnProcess(_ executable: String, _ args: [String], env: [String: String], cwd: String? = nil,
                         stdin: Int32? = nil, stdout: Int32, stderr: Int32) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if let stdin { posix_spawn_file_actions_adddup2(&actions, stdin, 0) }
    else { posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) }
    posix_spawn_file_actions_adddup2(&actions, stdout, 1)
    posix_spawn_file_actions_adddup2(&actions, stderr, 2)
    if let cwd { _ = c_addchdir(&actions, cwd) }
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

/// A `waitpid` status as an exit code: the exit status, or 128 + the signal that ended the process.
public func exitCode(status: Int32) -> Int32 {
    status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
}

/// Waits for `pid`; its ``exitCode(status:)``.
public func waitExit(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return exitCode(status: status)
}
