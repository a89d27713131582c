#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A value guarded by a pthread mutex: the project's one lock for process-wide caches (the SigV4
/// key, opened versions, compiled schemas, the file store's latest versions, the server's rendered
/// bodies). `Synchronization.Mutex` would need macOS 15; this keeps the core's types synchronous
/// `Sendable` values on every platform. Hold it only to read or store, never while computing.
public final class Locked<State>: @unchecked Sendable {
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
    @usableFromInline var state: State

    /// A lock around `state`.
    public init(_ state: State) {
        self.state = state
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` on the state with the lock held (inlinable: callers in other modules get it
    /// specialized, which the servers' per-request cache lookups need).
    @inlinable
    public func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }
}
