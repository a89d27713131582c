import Hummingbird
import HummingbirdCore
import NIOCore
import Logging
import SvcConf
import SvcConfAuth

/// Everything the server needs to answer requests; `main` and the tests build the same one.
public struct ServerDependencies: Sendable {
    /// The core use-cases over the store (see ``ServerRepository``).
    public var repository: ConfigRepository
    /// Who may do what.
    public var tokens: TokenFile
    /// Limits and where to listen.
    public var settings: ServerSettings
    /// The request log (one line per request).
    public var logger: Logger
    /// `/metrics`.
    public var metrics: ServerMetrics

    /// Memberwise initializer.
    public init(repository: ConfigRepository, tokens: TokenFile, settings: ServerSettings = .init(), logger: Logger, metrics: ServerMetrics) {
        self.repository = repository
        self.tokens = tokens
        self.settings = settings
        self.logger = logger
        self.metrics = metrics
    }
}

/// The router: the pipeline (errors as JSON, metrics, one log line) around the operational routes
/// (`/healthz`, `/readyz`, `/metrics`: no token) and the `/v1` API (bearer tokens). The routes and
/// their statuses are documented in `openapi/svcconf-server.yaml`; a test keeps the two equal.
public func buildRouter(_ deps: ServerDependencies) -> Router<ServerContext> {
    let router = Router(context: ServerContext.self)
    // Added before the routes, so it wraps each of them and the not-found responder.
    router.add(middleware: RequestPipeline(logger: deps.logger, metrics: deps.metrics, maxBodyBytes: deps.settings.maxBodyBytes))
    OperationalRoutes(repo: deps.repository, metrics: deps.metrics).register(on: router)
    let access = Access(tokens: deps.tokens, limiter: RateLimiter(deps.settings.rateLimit), metrics: deps.metrics)
    ConfigRoutes(repo: deps.repository, access: access, settings: deps.settings, metrics: deps.metrics).register(on: router)
    UIRoutes(repo: deps.repository, access: access, settings: deps.settings).register(on: router)
    return router
}

/// The application: HTTP/1.1 with the header-size and idle limits of `deps.settings`, bound to its
/// host and port. `onServerRunning` receives the bound port (the executable prints it).
public func buildApplication(_ deps: ServerDependencies, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
    let s = deps.settings
    let http1 = HTTP1Channel.Configuration(
        idleTimeout: .seconds(s.idleTimeoutSeconds),
        httpDecoderConfiguration: .init(maxHeaderFieldSize: s.maxHeaderBytes, maxHeaderListSize: s.maxHeaderBytes, maxHeaderFieldCount: s.maxHeaderFields))
    // Hummingbird's own logger: warnings and worse only (the request log is the pipeline's line).
    var frameworkLogger = deps.logger
    frameworkLogger.logLevel = .warning
    return Application(
        router: buildRouter(deps),
        server: .http1(configuration: http1),
        configuration: .init(address: .hostname(s.host, port: s.port), serverName: nil),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? s.port) },
        logger: frameworkLogger)
}

/// `/healthz`, `/readyz`, `/metrics`: for orchestrators and Prometheus, without a token. They say
/// nothing about any config.
struct OperationalRoutes: Sendable {
    let repo: ConfigRepository
    let metrics: ServerMetrics

    func register(on router: Router<ServerContext>) {
        router.get("healthz") { _, _ in JSONReply.json(.object(["status": "ok"])) }
        router.get("readyz") { [repo] _, _ in
            // Ready when the store answers and is initialized: the policy reads.
            do {
                guard try await repo.store.latestPolicy() != nil else {
                    throw SvcConfError(.notFound, "store \(repo.store.url) is not initialized")
                }
                return JSONReply.json(.object(["status": "ready"]))
            } catch {
                let e = HTTPStatusMap.apiError(for: error, conditional: false, maxBodyBytes: 0)
                return JSONReply.error(APIError(.serviceUnavailable, kind: e.kind, e.message, hint: e.hint))
            }
        }
        router.get("metrics") { [metrics] _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: metrics.render())))
        }
    }
}
