import Synchronization

/// A token bucket per token name: each holds up to `burst` requests and refills at `perSecond`.
/// Token names come from the token file, so the table is bounded by it.
final class RateLimiter: Sendable {
    private struct Bucket {
        var available: Double
        var last: ContinuousClock.Instant
    }

    private let limit: ServerSettings.RateLimit
    private let buckets = Mutex<[String: Bucket]>([:])

    init(_ limit: ServerSettings.RateLimit) {
        self.limit = limit
    }

    /// Takes one request from `key`'s bucket: nil when allowed, else the whole seconds until one is
    /// available again (for `Retry-After`).
    func take(_ key: String, now: ContinuousClock.Instant = .now) -> Int? {
        buckets.withLock { table in
            var b = table[key] ?? Bucket(available: limit.burst, last: now)
            let elapsed = now - b.last
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            b.available = min(limit.burst, b.available + seconds * limit.perSecond)
            b.last = now
            defer { table[key] = b }
            if b.available >= 1 {
                b.available -= 1
                return nil
            }
            let wait = (1 - b.available) / max(limit.perSecond, 1e-9)
            return max(1, Int(wait.rounded(.up)))
        }
    }
}
