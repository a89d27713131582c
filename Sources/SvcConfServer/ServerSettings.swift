/// How the server listens and what it accepts. The defaults are the documented limits (README,
/// "Server").
public struct ServerSettings: Sendable {
    /// Interface to bind (`127.0.0.1`; `0.0.0.0` for every interface).
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks a free one (printed at start).
    public var port: Int = 8080
    /// Largest request body accepted; larger ones get 413 (before reading when Content-Length says so).
    public var maxBodyBytes: Int = 8 << 20
    /// Largest request head (all header fields together); larger ones are refused by the HTTP parser.
    public var maxHeaderBytes: Int = 16 << 10
    /// Most header fields in one request.
    public var maxHeaderFields: Int = 100
    /// A connection on which nothing is received or sent for this long is closed: covers slow or
    /// stalled request heads and bodies as well as idle keep-alive connections.
    public var idleTimeoutSeconds: Int64 = 30
    /// Per-token request budget.
    public var rateLimit = RateLimit()

    /// Defaults.
    public init() {}

    /// A token bucket per token: `burst` requests at once, refilled at `perSecond`.
    public struct RateLimit: Sendable {
        /// Refill rate (requests per second).
        public var perSecond: Double = 20
        /// Bucket size (requests that may arrive at once).
        public var burst: Double = 60

        /// 20 per second, bursts of 60.
        public init(perSecond: Double = 20, burst: Double = 60) {
            self.perSecond = perSecond
            self.burst = burst
        }
    }
}
