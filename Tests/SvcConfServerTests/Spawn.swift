import Foundation
import SvcConfTestSupport

#if canImport(Glibc)
import Glibc
#endif

// Processes of the server tests (the servers, the CLI, the load clients, chromium) are started with
// SvcConfTestSupport's spawnProcess (posix_spawn; see there why not Foundation's `Process`).

/// ``spawnProcess`` with stdin /dev/null.
func spawn(_ executable: String, _ args: [String], env: [String: String], stdout: Int32, stderr: Int32) throws -> pid_t {
    try spawnProcess(executable, args, env: env, stdout: stdout, stderr: stderr)
}

/// Waits up to `seconds` for `pid`; its exit status as ``waitExit(_:)`` gives it, or nil if it is
/// still running then.
func waitExit(_ pid: pid_t, within seconds: TimeInterval) -> Int32? {
    let deadline = Date().addingTimeInterval(seconds)
    var status: Int32 = 0
    while true {
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { return exitCode(status: status) }
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
