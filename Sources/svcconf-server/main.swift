#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SvcConf
import SvcConfServer
import SvcConfHTTP

/// `svcconf-server`: the HTTP API over the same store and keys as the CLI. Parses flags, builds the
/// application (`SvcConfServer.buildApplication`) and runs it until SIGTERM or SIGINT, which stop it
/// gracefully (in-flight requests finish) with exit 0.
@main
enum ServerMain {
    /// Runs Swift concurrency on NIO's event loops (as Vapor's template does): a request's tasks
    /// then run on the thread that reads and writes its connection, with no hop through Dispatch's
    /// pool (0.41x nginx instead of 0.30x in one `scripts/bench-server` run). Handlers never block
    /// for long: file-store reads are a few `stat(2)`s; a write's fsync briefly holds one event
    /// loop. `SVCCONF_SERVER_EXECUTOR=dispatch` keeps Swift's default pool.
    static func main() async {
        if ServerCommand.env("SVCCONF_SERVER_EXECUTOR") != "dispatch" {
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        await ServerCommand.main()
    }
}

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "svcconf-server",
        abstract: "Serve svcconf configs over HTTP (JSON) with bearer tokens.",
        discussion: """
        Prints `svcconf-server: listening on http://HOST:PORT` on stdout once it accepts connections;
        logs one JSON line per request on stderr. Routes: openapi/svcconf-server.yaml.

        Examples:
          svcconf-server --store s3://cob-config/svcconf --tokens /etc/svcconf/tokens --host 0.0.0.0 --port 8080
          SVCCONF_STORE=file:/srv/svcconf SVCCONF_KEY_FILE=/run/keys/server.key SVCCONF_TOKENS=/etc/svcconf/tokens svcconf-server
        """)

    @Option(name: .long, help: ArgumentHelp("Store URL (default: $SVCCONF_STORE, else file:.svcconf).", valueName: "url"))
    var store: String?

    @Option(name: .customLong("key-file"), help: ArgumentHelp("A local key file (repeatable; default: $SVCCONF_KEY_FILE, colon-separated, else the policy's key paths).", valueName: "path"))
    var keyFiles: [String] = []

    @Option(name: .long, help: ArgumentHelp("The token file (default: $SVCCONF_TOKENS).", valueName: "file"))
    var tokens: String?

    @Option(name: .long, help: ArgumentHelp("Interface to bind (default: $SVCCONF_HOST, else 127.0.0.1).", valueName: "host"))
    var host: String?

    @Option(name: .long, help: ArgumentHelp("Port (default: $SVCCONF_PORT, else 8080; 0 picks a free port).", valueName: "port"))
    var port: Int?

    @Option(name: .customLong("endpoint-url"), help: ArgumentHelp("S3 endpoint for s3:// stores (default: $AWS_ENDPOINT_URL_S3, else $AWS_ENDPOINT_URL).", valueName: "url"))
    var endpointURL: String?

    @Option(name: .customLong("max-body-bytes"), help: ArgumentHelp("Largest request body (default 8388608).", valueName: "n"))
    var maxBodyBytes: Int?

    @Option(name: .customLong("rate-limit"), help: ArgumentHelp("Requests per second per token (default 20).", valueName: "n"))
    var rateLimit: Double?

    @Option(name: .customLong("rate-burst"), help: ArgumentHelp("Burst of requests per token (default 60).", valueName: "n"))
    var rateBurst: Double?

    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp("Seconds before an idle or stalled connection is closed (default 30).", valueName: "s"))
    var idleTimeout: Int64?

    static func env(_ name: String) -> String? {
        guard let v = getenv(name), v.pointee != 0 else { return nil }
        return String(cString: v)
    }

    func run() async throws {
        URLSessionTransport.keepHomeClean()
        var settings = ServerSettings()
        settings.host = host ?? Self.env("SVCCONF_HOST") ?? settings.host
        if let p = port ?? Self.env("SVCCONF_PORT").flatMap({ Int($0) }) { settings.port = p }
        guard (0...65535).contains(settings.port) else { throw fail(SvcConfError(.usage, "--port must be 0-65535")) }
        if let maxBodyBytes { settings.maxBodyBytes = maxBodyBytes }
        if let rateLimit { settings.rateLimit.perSecond = rateLimit }
        if let rateBurst { settings.rateLimit.burst = rateBurst }
        if let idleTimeout { settings.idleTimeoutSeconds = idleTimeout }

        let level = Self.env("SVCCONF_LOG_LEVEL").flatMap { Logger.Level(rawValue: $0) } ?? .info
        let logger = Logger(label: "svcconf-server") { JSONLogHandler(label: $0, level: level) }
        let metrics = ServerMetrics()
        let deps: ServerDependencies
        do {
            guard let tokenPath = tokens ?? Self.env("SVCCONF_TOKENS") else {
                throw SvcConfError(.usage, "no token file", hint: "give --tokens FILE or SVCCONF_TOKENS (lines from `svcconf token mint`)")
            }
            let tokenFile = try TokenFileLoader.load(path: tokenPath)
            let storeURL = store ?? Self.env("SVCCONF_STORE") ?? StoreLocator.defaultURL
            let repo = try ServerRepository.make(storeURL: storeURL, keyFiles: keyFiles.isEmpty ? Keyring.pathsFromEnvironment() : keyFiles,
                                                 endpointURL: endpointURL, metrics: metrics)
            deps = ServerDependencies(repository: repo, tokens: tokenFile, settings: settings, logger: logger, metrics: metrics)
        } catch let e as SvcConfError {
            throw fail(e)
        }
        let host = settings.host
        let app = buildApplication(deps) { port in
            let line = Array("svcconf-server: listening on http://\(host):\(port)\n".utf8)
            _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        }
        var lifecycleLogger = logger
        lifecycleLogger.logLevel = .warning
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: lifecycleLogger))
        try await group.run()
    }

    func fail(_ e: SvcConfError) -> ExitCode {
        FileHandleStderr.emit(ExitStatus.diagnostics(e).replacingPrefix("svcconf:", with: "svcconf-server:"))
        return ExitCode(ExitStatus.code(for: e.kind))
    }
}

enum FileHandleStderr {
    static func emit(_ s: String) {
        let bytes = Array(s.utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}

extension String {
    func replacingPrefix(_ old: String, with new: String) -> String {
        split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasPrefix(old) ? new + $0.dropFirst(old.count) : String($0) }.joined(separator: "\n")
    }
}
