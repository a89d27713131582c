import Prometheus
import Synchronization

/// The server's Prometheus metrics (`GET /metrics`), in a registry of its own (no global metrics
/// system, so several servers in one test process do not mix). Labels are route templates, methods,
/// statuses and error kinds: never a service name from a path, a value or a token.
public final class ServerMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry

    private static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
    ]

    private let opens: Counter
    private let seals: Counter

    private struct RequestKey: Hashable {
        let route: String
        let method: String
        let status: Int
    }
    /// The request counter and latency histogram of each (route, method, status) seen, so a request
    /// records without the registry's name validation and lookup. Bounded by the route templates.
    private let requestMetrics = Mutex<[RequestKey: (Counter, DurationHistogram)]>([:])

    /// A fresh registry with the counters that exist from the start.
    public init() {
        registry = PrometheusCollectorRegistry()
        opens = registry.makeCounter(descriptor: .init(namespace: "svcconf", metricName: "opens", unitName: "total",
                                                       helpText: "Sealed versions opened (each layer counts)"), labels: [])
        seals = registry.makeCounter(descriptor: .init(namespace: "svcconf", metricName: "seals", unitName: "total",
                                                       helpText: "Versions sealed and written"), labels: [])
    }

    /// One answered request.
    func request(route: String, method: String, status: Int, duration: Duration) {
        let key = RequestKey(route: route, method: method, status: status)
        let known = requestMetrics.withLock { $0[key] }
        let (counter, histogram) = known ?? makeRequestMetrics(key)
        counter.increment()
        histogram.record(duration)
    }

    private func makeRequestMetrics(_ key: RequestKey) -> (Counter, DurationHistogram) {
        let (route, method, status) = (key.route, key.method, key.status)
        let made = (registry.makeCounter(descriptor: .init(namespace: "svcconf", subsystem: "http", metricName: "requests", unitName: "total",
                                               helpText: "HTTP requests by route template, method and status"),
                             labels: [("route", route), ("method", method), ("status", String(status))]),
        registry.makeDurationHistogram(descriptor: .init(namespace: "svcconf", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                                                         helpText: "HTTP request latency by route template"),
                                       labels: [("route", route)], buckets: Self.buckets))
        requestMetrics.withLock { $0[key] = made }
        return made
    }

    /// `count` sealed versions opened.
    func opened(_ count: Int) { opens.increment(by: Int64(count)) }

    /// One version sealed and written.
    func sealed() { seals.increment() }

    /// A store operation failed (by the core's error kind).
    func storeError(kind: String) {
        registry.makeCounter(descriptor: .init(namespace: "svcconf", metricName: "store_errors", unitName: "total",
                                               helpText: "Failed store operations by error kind"),
                             labels: [("kind", kind)]).increment()
    }

    /// A KMS request failed (`connection`, `timeout` or the HTTP status).
    func kmsError(kind: String) {
        registry.makeCounter(descriptor: .init(namespace: "svcconf", metricName: "kms_errors", unitName: "total",
                                               helpText: "Failed KMS requests by cause"),
                             labels: [("kind", kind)]).increment()
    }

    /// A request refused before reaching the core (`unauthorized`, `forbidden`, `rateLimited`).
    func refused(reason: String) {
        registry.makeCounter(descriptor: .init(namespace: "svcconf", metricName: "refused_requests", unitName: "total",
                                               helpText: "Requests refused by authentication, authorization or rate limiting"),
                             labels: [("reason", reason)]).increment()
    }

    /// The Prometheus text exposition.
    public func render() -> [UInt8] {
        var out: [UInt8] = []
        registry.emit(into: &out)
        return out
    }
}
