/// When and how often an AWS request is tried again: capped exponential backoff with full jitter
/// (delay before retry *n* is uniform in `0 ... min(maxDelay, baseDelay * 2^n)`).
///
/// Retried:
/// - no response (``AWSError/Kind/connection``, ``AWSError/Kind/timeout``), only when the request is
///   idempotent (``isIdempotent(_:)``): it may have been carried out already;
/// - HTTP 500, 502, 503 and 504, and the S3 error codes `SlowDown`, `InternalError` and
///   `RequestTimeout` (the last comes with a 400).
///
/// Nothing else: other 4xx answers are final. Each attempt gets a freshly built and signed request (a
/// new date, current credentials), so a retry after a long backoff is not rejected as stale.
/// Randomness and sleeping are injectable so tests are fast and deterministic.
public struct RetryPolicy: Sendable {
    /// Attempts in total, the first included (1 disables retries).
    public var maxAttempts: Int
    /// The backoff before the first retry, in seconds (before jitter).
    public var baseDelay: Double
    /// The largest backoff, in seconds (before jitter).
    public var maxDelay: Double
    /// Returns a uniformly random value in `0 ... upperBound`.
    public var random: @Sendable (_ upperBound: Double) -> Double
    /// Waits this many seconds.
    public var sleep: @Sendable (_ seconds: Double) async throws -> Void

    /// A policy; the defaults are base 100 ms, cap 2 s, 4 attempts, system randomness, `Task.sleep`.
    public init(maxAttempts: Int = 4, baseDelay: Double = 0.1, maxDelay: Double = 2.0,
                random: @escaping @Sendable (_ upperBound: Double) -> Double = { $0 > 0 ? Double.random(in: 0...$0) : 0 },
                sleep: @escaping @Sendable (_ seconds: Double) async throws -> Void = { s in
                    try await Task.sleep(nanoseconds: UInt64((s.isFinite ? min(max(0, s), 3_600) : 0) * 1_000_000_000))
                }) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.random = random
        self.sleep = sleep
    }

    /// Base 100 ms, cap 2 s, 4 attempts.
    public static var `default`: RetryPolicy { RetryPolicy() }

    /// One attempt only.
    public static var none: RetryPolicy { RetryPolicy(maxAttempts: 1) }

    /// The S3 error codes that are retried whatever their status.
    public static let retryableErrorCodes: Set<String> = ["SlowDown", "InternalError", "RequestTimeout"]

    /// The statuses that are retried.
    public static let retryableStatuses: Set<Int> = [500, 502, 503, 504]

    /// The backoff before retry number `retry` (1 for the first retry): full jitter over
    /// `min(maxDelay, baseDelay * 2^(retry-1))`.
    public func delay(beforeRetry retry: Int) -> Double {
        let exponent = min(max(retry - 1, 0), 30)
        let ceiling = max(0, min(maxDelay, baseDelay * Double(1 << exponent)))
        let d = random(ceiling)
        return d.isFinite ? min(max(d, 0), ceiling) : ceiling
    }

    /// Whether repeating `request` after an unanswered attempt is safe: GET, HEAD, DELETE and PUT
    /// (S3 PUTs write a fixed key, with or without `If-None-Match`/`If-Match`, so a repeat has the same
    /// effect); POST and anything else is not.
    public static func isIdempotent(_ request: HTTPRequest) -> Bool {
        switch request.method.uppercased() {
        case "GET", "HEAD", "DELETE", "PUT", "OPTIONS": return true
        default: return false
        }
    }

    /// Whether an answer is worth another attempt: a retryable status, or an error body whose code
    /// (found by `errorCode`) is one of ``retryableErrorCodes``.
    public static func isRetryable(_ response: HTTPResponse, errorCode: (HTTPResponse) -> String?) -> Bool {
        if retryableStatuses.contains(response.status) { return true }
        guard response.status >= 400, !response.body.isEmpty, let code = errorCode(response) else { return false }
        return retryableErrorCodes.contains(code)
    }

    /// What ``send(using:timeout:idempotent:errorCode:prepare:)`` ended with.
    public struct Outcome: Sendable {
        /// The final answer (possibly an error status, when out of attempts or not retryable).
        public var response: HTTPResponse
        /// How many attempts were made.
        public var attempts: Int
        /// How many earlier attempts got no answer (connection error or timeout): when positive, an
        /// earlier attempt may have been carried out, so a 412 to a conditional write can be the
        /// consequence of our own earlier write.
        public var unansweredAttempts: Int
    }

    /// Sends a request until it gets a final answer. `prepare(attempt)` builds and signs the request
    /// for each attempt (1-based). Throws the last ``AWSError`` when no attempt got an answer, or at
    /// once when the request is not idempotent (`idempotent`, else ``isIdempotent(_:)``). Errors other
    /// than ``AWSError`` from `prepare` (or `.credentials`, `.invalidRequest`) are not retried.
    public func send(using transport: any HTTPTransport, timeout: Double, idempotent: Bool? = nil,
                     errorCode: (HTTPResponse) -> String? = S3Errors.code(of:),
                     prepare: (_ attempt: Int) async throws -> HTTPRequest) async throws -> Outcome {
        var unanswered = 0
        var attempt = 0
        while true {
            attempt += 1
            let request = try await prepare(attempt)
            let last = attempt >= maxAttempts
            do {
                let response = try await transport.send(request, timeout: timeout)
                if last || !RetryPolicy.isRetryable(response, errorCode: errorCode) {
                    return Outcome(response: response, attempts: attempt, unansweredAttempts: unanswered)
                }
            } catch let error as AWSError where error.kind == .connection || error.kind == .timeout {
                let canRepeat = idempotent ?? RetryPolicy.isIdempotent(request)
                if last || !canRepeat { throw error }
                unanswered += 1
            }
            try Task.checkCancellation()
            try await sleep(delay(beforeRetry: attempt))
        }
    }
}
