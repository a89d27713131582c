import Hummingbird
import Logging
import SvcConf

/// Wraps every request (matched or not): renders any failure as the JSON error document with its
/// status, records the request in `/metrics`, and writes ONE structured log line — who (token
/// name), method, route template, service, env, variant, version, status, duration, error kind.
/// Never a value, a body, a query string or a token.
struct RequestPipeline: RouterMiddleware {
    typealias Context = ServerContext
    let logger: Logger
    let metrics: ServerMetrics
    let maxBodyBytes: Int

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var response: Response
        var errorKind: String?
        do {
            response = try await next(request, context)
        } catch {
            let e = HTTPStatusMap.apiError(for: error, conditional: request.headers[.ifMatch] != nil, maxBodyBytes: maxBodyBytes)
            errorKind = e.kind
            response = JSONReply.error(e)
        }
        let duration = ContinuousClock.now - start
        let route = context.endpointPath ?? "unmatched"
        let f = context.facts.fields
        metrics.request(route: route, method: request.method.rawValue, status: response.status.code, duration: duration)
        if f.opened > 0 { metrics.opened(f.opened) }
        var meta: Logger.Metadata = [
            "who": .string(f.who ?? "-"), "method": .string(request.method.rawValue), "route": .string(route),
            "status": .stringConvertible(response.status.code),
            "duration_ms": .string(Self.milliseconds(duration)),
        ]
        if let s = f.service { meta["service"] = .string(s) }
        if let e = f.env { meta["env"] = .string(e) }
        if let v = f.variant { meta["variant"] = .string(v) }
        if let n = f.version { meta["version"] = .stringConvertible(n) }
        if let errorKind = errorKind ?? f.errorKind { meta["error"] = .string(errorKind) }
        logger.info("request", metadata: meta)
        return response
    }

    /// `12.345`: milliseconds with three decimals.
    static func milliseconds(_ d: Duration) -> String {
        let micros = d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000
        let frac = String(micros % 1000)
        return "\(micros / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }
}
