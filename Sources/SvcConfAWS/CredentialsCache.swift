/// Caches another provider's credentials: returns the cached ones until ``refreshMargin`` seconds
/// before their expiration (credentials without an expiration are kept until ``invalidate()``), then
/// asks the provider again. Only one refresh runs at a time; concurrent callers wait for it.
///
/// If a refresh fails while the cached credentials have not actually expired yet, those are returned
/// (the next call tries again). The clock is injectable so tests fix it.
public actor AWSCredentialsCache: AWSCredentialsProvider {
    /// The wrapped provider.
    public let provider: any AWSCredentialsProvider
    /// Seconds before expiration at which credentials are refreshed (5 minutes by default).
    public let refreshMargin: Int64
    /// Seconds since the epoch.
    public let clock: @Sendable () -> Int64

    private var cached: AWSCredentials?
    private var refreshing: Task<AWSCredentials, any Error>?

    /// A cache over `provider`.
    public init(_ provider: any AWSCredentialsProvider, refreshMargin: Int64 = 300,
                clock: @escaping @Sendable () -> Int64 = AWSSystem.now) {
        self.provider = provider
        self.refreshMargin = refreshMargin
        self.clock = clock
    }

    /// Whether `c` can be handed out at `now` without a refresh.
    private func isFresh(_ c: AWSCredentials, _ now: Int64) -> Bool {
        guard let exp = c.expiration else { return true }
        return now < exp - refreshMargin
    }

    /// Cached credentials, refreshed when due.
    public func credentials() async throws -> AWSCredentials {
        if let c = cached, isFresh(c, clock()) { return c }
        let task: Task<AWSCredentials, any Error>
        if let running = refreshing {
            task = running
        } else {
            let provider = self.provider
            task = Task { try await provider.credentials() }
            refreshing = task
        }
        do {
            let fresh = try await task.value
            if refreshing == task { refreshing = nil }
            if let exp = fresh.expiration, exp <= clock() {
                throw AWSError(.credentials, "the credentials provider returned credentials that expired at "
                    + CredentialsSupport.formatRFC3339(exp))
            }
            cached = fresh
            return fresh
        } catch {
            if refreshing == task { refreshing = nil }
            if let c = cached, let exp = c.expiration, clock() < exp { return c }
            throw error
        }
    }

    /// Forgets the cached credentials (e.g. after AWS answered `ExpiredTokenException`).
    public func invalidate() {
        cached = nil
    }
}
