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
    buildRoutes(deps).router
}

/// The router, and the pipeline and config routes it was built with (for ``ServerResponder``).
func buildRoutes(_ deps: ServerDependencies) -> (router: Router<ServerContext>, pipeline: RequestPipeline, config: ConfigRoutes) {
    let router = Router(context: ServerContext.self)
    let pipeline = RequestPipeline(logger: deps.logger, metrics: deps.metrics, maxBodyBytes: deps.settings.maxBodyBytes)
    // Added before the routes, so it wraps each of them and the not-found responder.
    router.add(middleware: pipeline)
    OperationalRoutes(repo: deps.repository, metrics: deps.metrics).register(on: router)
    let access = Access(tokens: deps.tokens, limiter: RateLimiter(deps.settings.rateLimit), metrics: deps.metrics)
    let config = ConfigRoutes(repo: deps.repository, access: access, settings: deps.settings, metrics: deps.metrics)
    config.register(on: router)
    UIRoutes(repo: deps.repository, access: access, settings: deps.settings).register(on: router)
    return (router, pipeline, config)
}

/// The router's responder with the hottest route first: `GET /v1/services/SVC/envs/ENV/config`
/// (every container start) is recognized by hand and handled exactly as the router would — same
/// pipeline, same route parameters and template, same handler — without resolving the route trie,
/// about a twentieth of the server's CPU per request. Any other path, or that one with characters
/// other than a plain name's (percent-encoding, empty segments), goes to the router.
public struct ServerResponder: HTTPResponder {
    public typealias Context = ServerContext
    let router: RouterResponder<ServerContext>
    let pipeline: RequestPipeline
    let config: ConfigRoutes
    static let configTemplate = "/v1/services/{svc}/envs/{env}/config"

    init(_ deps: ServerDependencies) {
        let (router, pipeline, config) = buildRoutes(deps)
        self.router = router.buildResponder()
        self.pipeline = pipeline
        self.config = config
    }

    public func respond(to request: Request, context: ServerContext) async throws -> Response {
        if request.method == .get, let (svc, env) = Self.configPath(request.uri.path) {
            var context = context
            context.coreContext.parameters = ["svc": svc, "env": env]
            context.coreContext.endpointPath.value = Self.configTemplate
            let handler = config.authed(config.plaintext)
            return try await pipeline.handle(request, context: context, next: handler)
        }
        return try await router.respond(to: request, context: context)
    }

    /// SVC and ENV of `/v1/services/SVC/envs/ENV/config` when both are non-empty runs of
    /// `A-Za-z0-9._-` (the router would match exactly these paths the same way); else nil.
    static func configPath(_ path: String) -> (Substring, Substring)? {
        let prefix = "/v1/services/"
        guard path.hasPrefix(prefix), path.hasSuffix("/config") else { return nil }
        let middle = path.dropFirst(prefix.count).dropLast("/config".count)
        let parts = middle.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1] == "envs" else { return nil }
        func plain(_ s: Substring) -> Bool {
            !s.isEmpty && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
        }
        guard plain(parts[0]), plain(parts[2]) else { return nil }
        return (parts[0], parts[2])
    }
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
        responder: ServerResponder(deps),
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
