import Hummingbird
import SvcConf
import SvcConfAuth
import SvcConfYAML

/// The `/v1` routes: each parses its input, checks access, calls ONE core use-case of
/// ``ConfigRepository`` and renders its answer. No business logic lives here.
struct ConfigRoutes: Sendable {
    let repo: ConfigRepository
    let access: Access
    let settings: ServerSettings
    let metrics: ServerMetrics
    /// Rendered `GET .../config` bodies (plaintext, in memory only; see ``RenderedBodyCache``).
    let bodies = RenderedBodyCache()

    func register(on router: Router<ServerContext>) {
        let v1 = router.group("v1")
        v1.get("services", use: authed(listConfigs))
        v1.get("services/:svc/envs/:env", use: authed(metadata))
        v1.get("services/:svc/envs/:env/config", use: authed(plaintext))
        v1.put("services/:svc/envs/:env/config", use: authed(write))
        v1.get("services/:svc/envs/:env/view", use: authed(view))
        v1.get("services/:svc/envs/:env/versions", use: authed(versions))
        v1.get("services/:svc/envs/:env/diff", use: authed(diffVersions))
        v1.get("services/:svc/diff", use: authed(diffEnvs))
        v1.post("validate", use: authed(validate))
    }

    typealias Handler = @Sendable (Request, ServerContext, TokenFile.Entry) async throws -> Response

    /// Authentication (and rate limiting) before anything else the route does.
    func authed(_ handler: @escaping Handler) -> @Sendable (Request, ServerContext) async throws -> Response {
        { [access] request, context in
            let entry = try access.authenticate(request, context)
            return try await handler(request, context, entry)
        }
    }

    // MARK: input

    /// The config the path names (plus `?variant=`): invalid names are 400 before any I/O.
    func address(_ request: Request, _ context: ServerContext) throws -> ConfigAddress {
        let service = context.parameters.get("svc") ?? ""
        let env = context.parameters.get("env") ?? ""
        let variant = try query(request, "variant")
        let a = try ConfigAddress(service: service, env: env, variant: variant)
        context.facts.update { $0.service = a.service; $0.env = a.env; $0.variant = a.variant }
        return a
    }

    /// A query parameter given at most once.
    func query(_ request: Request, _ name: String) throws -> String? {
        let all = request.uri.queryParameters[values: Substring(name)]
        guard all.count <= 1 else { throw APIError.badRequest("query parameter \(name) is given more than once") }
        return all.first.map(String.init)
    }

    /// A version number parameter (`?version=N`, `?from=N`): an integer, `minimum` or more.
    func number(_ request: Request, _ name: String, minimum: Int64 = 1) throws -> Int64? {
        guard let text = try query(request, name) else { return nil }
        guard let n = Int64(text), n >= minimum else {
            throw APIError.badRequest("query parameter \(name) must be a version number (\(minimum) or more)")
        }
        return n
    }

    /// The request body, at most `maxBodyBytes` (413 beyond, before reading when Content-Length
    /// says so), parsed as one JSON object by the core's strict reader (400 when malformed).
    func jsonBody(_ request: Request) async throws -> [String: ConfigValue] {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > settings.maxBodyBytes {
            throw APIError.tooLarge(limit: settings.maxBodyBytes)
        }
        var buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: settings.maxBodyBytes)
        } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
            throw APIError.tooLarge(limit: settings.maxBodyBytes)
        }
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        let doc: ConfigValue
        do {
            doc = try JSON.parse(bytes)
        } catch {
            throw SvcConfError(.invalidInput, "the request body is not valid JSON: \(error.description)")
        }
        guard case .object(let o) = doc else { throw SvcConfError(.invalidInput, "the request body must be a JSON object") }
        return o
    }

    static func etag(_ version: Int64) -> String { "\"\(version)\"" }

    func opened(_ context: ServerContext, _ v: OpenedVersion) {
        context.facts.update { $0.version = v.info.version; $0.opened += v.layerCount }
    }

    // MARK: routes

    /// `GET /v1/services`: every config the token may review, with its latest version's metadata.
    @Sendable func listConfigs(_ request: Request, _ context: ServerContext, _ who: TokenFile.Entry) async throws -> Response {
        let (infos, _) = try await repo.list()
        let visible = infos.filter { who.allows(.review, service: $0.address.service, env: $0.address.env) }
        return JSONReply.json(.object(["configs": .array(visible.map(\.jsonValue))]))
    }

    /// `GET .../envs/{env}`: metadata of the latest version (or `?version=N`) of the layer; no key needed.
    @Sendable func metadata(_ request: Request, _ context: ServerContext, _ who: TokenFile.Entry) async throws -> Response {
        let a = try address(request, context)
        try access.authorize(who, .review, a)
        let n: Int64
        if let v = try number(request, "version") { n = v } else { n = try await latest(a) }
        let info = try await repo.info(a, version: n)
        context.facts.update { $0.version = n }
        return JSONReply.json(info.jsonValue, headers: [.eTag: Self.etag(n)])
    }

    func latest(_ a: ConfigAddress) async throws -> Int64 {
        guard let n = try await repo.latestVersion(a) else {
            throw SvcConfError(.notFound, "\(a) has no versions")
        }
        return n
    }

    /// `GET .../config`: the plaintext config a program gets (the layer merged over the layers below
    /// it), as JSON or dotenv. `read` scope only.
    @Sendable func plaintext(_ request: Request, _ context: ServerContext, _ who: TokenFile.Entry) async throws -> Response {
        let a = try address(request, context)
        try access.authorize(who, .plaintext, a)
        let format = try query(request, "format") ?? "json"
        guard format == "json" || format == "env" else { throw APIError.badRequest("format must be json or env") }
        let version = try number(request, "version")
        let v = try await repo.openEffective(a, version: version)
        opened(context, v)
        var headers: HTTPFields = [.eTag: Self.etag(v.info.version), .cacheControl: "no-store"]
        let key = RenderedBodyCache.Key(format: format, layers: v.layerDigests)
        let body = try bodies.body(key) {
            if format == "env" {
                return ByteBuffer(string: try ValuesCodec.render(v.config.values, format: .env))
            }
            var doc = v.config.revealedDocument.objectValue ?? [:]
            doc["version"] = v.info.jsonValue
            doc["layers"] = .array(v.layers.map { ConfigRoutes.layerRef($0.info) })
            var bytes = JSON.canonical(.object(doc))
            bytes.append(0x0A)
            return ByteBuffer(bytes: bytes)
        }
        headers[.contentType] = format == "env" ? "text/plain; charset=utf-8" : "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    static func layerRef(_ info: VersionInfo) -> ConfigValue {
        .object(["service": .string(info.address.service), "env": .string(info.address.env),
                 "variant": info.address.variant.map { .string($0) } ?? .null, "version": .int(info.version)])
    }

    /// `GET .../view`: the same config redacted (secrets as keyed fingerprints).
    @Sendable func view(_ request: Request, _ context: ServerContext, _ who: TokenFile.Entry) async throws -> Response {
        let a = try address(request, context)
        try access.authorize(who, .review, a)
        let v = try await repo.openEffective(a, version: try number(request, "version"))
        opened(context, v)
        let redactor = await repo.redactor(for: [v])
        var doc = redactor.redactedDocument(v.config).objectValue ?? [:]
        doc["version"] = v.info.jsonValue
        doc["layers"] = .array(v.layers.map { ConfigRoutes.layerRef($0.info) })
        return JSONReply.json(.object(doc), headers: [.eTag: Self.etag(v.info.version)])
    }

    /// `GET .../versions`: the layer's history, oldest first, with the chain check.
    @Sendable func versions(_ request: Request, _ context: ServerContext, _ who: TokenFile.Entry) async throws -> Response {
        let a = try address(request, context)
        try access.authorize(who, .review, a)
        let history = try await repo.history(a)
        return JSONReply.json(.object(["versions": .array(history.map { e in
            var o = e.info.jsonValue.objectValue ?? [:]
            o["chainIntact"] = .bool(e.chainIntact)
            return .object(o)
        })]))
    }

    /// `GET .../envs/{env}/diff?from=N&to=M`: the redacted diff of two versions of the layer.
    @Sendable func diffVersions(_ request: Request, _ context: ServerContext, _ who: TokenFile.Entry) async throws -> Response {
        let a = try address(request, context)
        try access.authorize(who, .review, a)
        let from = try number(request, "from", minimum: 0)
        let to = try number(request, "to")
        let format = try diffFormat(request)
        let d = try await repo.diffVersions(a, from: from, to: to)
        context.facts.update { $0.opened += (from == 0 ? 1 : 2) }
        return render(d, format: format)
    }

    /// `GET /v1/services/{svc}/diff?env=A&env=B`: the redacted diff of two envs' effective configs.
    @Sendable func diffEnvs(_ request: Request, _ context: ServerContext, _ who: TokenFile.Entry) async throws -> Response {
        let service = context.parameters.get("svc") ?? ""
        let envs = request.uri.queryParameters[values: "env"].map(String.init)
        guard envs.count == 2 else { throw APIError.badRequest("give exactly two env parameters: ?env=A&env=B") }
        let variant = try query(request, "variant")
        let a = try ConfigAddress(service: service, env: envs[0], variant: variant)
        let b = try ConfigAddress(service: service, env: envs[1], variant: variant)
        context.facts.update { $0.service = service; $0.env = "\(envs[0]),\(envs[1])"; $0.variant = variant }
        try access.authorize(who, .review, a)
        try access.authorize(who, .review, b)
        let format = try diffFormat(request)
        let d = try await repo.diffEnvs(a, b)
        context.facts.update { $0.opened += 2 }
        return render(d, format: format)
    }

    func diffFormat(_ request: Request) throws -> String {
        let f = try query(request, "format") ?? "json"
        guard f == "json" || f == "text" else { throw APIError.badRequest("format must be json or text") }
        return f
    }

    func render(_ d: ConfigRepository.DiffResult, format: String) -> Response {
        if format == "text" {
            return JSONReply.text(d.diff.renderText(oldLabel: d.oldLabel, newLabel: d.newLabel), contentType: "text/plain; charset=utf-8")
        }
        return JSONReply.json(d.diff.jsonValue(old: d.oldRef, new: d.newRef))
    }

    /// `PUT .../config` with `If-Match: "N"`: the body is the layer's full new content. Written only
    /// when the layer is still at version N (412 otherwise, 428 without If-Match) and every merge it
    /// affects satisfies the schema (422 with every error).
    @Sendable func write(_ request: Request, _ context: ServerContext, _ who: TokenFile.Entry) async throws -> Response {
        let a = try address(request, context)
        try access.authorize(who, .write, a)
        let expected = try Self.ifMatch(request)
        let body = try await jsonBody(request)
        let config = try Config(layerDocument: .object(body), source: "the request body", allowedExtraMembers: ["message"])
        let message: String
        switch body["message"] {
        case nil, .null?: message = "written with svcconf-server by \(who.name)"
        case .string(let m)?: message = m
        default: throw SvcConfError(.invalidInput, "message must be a string")
        }
        var writer = repo
        let author = who.name
        writer.authorResolver = { author }
        let result = try await writer.update(a, expectedVersion: expected, message: message, attempts: 1) { $0 = config }
        switch result {
        case .written(let info):
            metrics.sealed()
            context.facts.update { $0.version = info.version }
            var location = "/v1/services/\(a.service)/envs/\(a.env)?version=\(info.version)"
            if let v = a.variant { location += "&variant=\(v)" }
            return JSONReply.json(info.jsonValue, status: .created, headers: [.eTag: Self.etag(info.version), .location: location])
        case .unchanged(let n):
            context.facts.update { $0.version = n }
            guard let n else { return JSONReply.json(.object(["unchanged": true, "version": .null])) }
            var o = try await repo.info(a, version: n).jsonValue.objectValue ?? [:]
            o["unchanged"] = true
            return JSONReply.json(.object(o), headers: [.eTag: Self.etag(n)])
        }
    }

    /// `If-Match: "N"` (a strong ETag as GET returns it; `"0"`: the layer has no versions yet).
    static func ifMatch(_ request: Request) throws -> Int64 {
        let values = request.headers[values: .ifMatch]
        guard !values.isEmpty else { throw APIError.preconditionRequired() }
        guard values.count == 1 else { throw APIError.badRequest("give one If-Match value") }
        let v = values[0].trimmingSpaces
        guard v.count >= 3, v.hasPrefix("\""), v.hasSuffix("\""), let n = Int64(v.dropFirst().dropLast()), n >= 0 else {
            throw APIError.badRequest("If-Match must be one version in quotes, e.g. \"3\"", hint: "weak tags and * are not accepted: a write names the version it is based on")
        }
        return n
    }

    /// `POST /v1/validate`: checks a candidate layer (`service`, `env`, optional `variant`, plus the
    /// layer document) the way a write would — typed by the schema, validated on every merge it
    /// affects — and writes nothing. 200 with `{"valid": bool, "errors": [...]}`.
    @Sendable func validate(_ request: Request, _ context: ServerContext, _ who: TokenFile.Entry) async throws -> Response {
        let body = try await jsonBody(request)
        func name(_ key: String, optional: Bool = false) throws -> String? {
            switch body[key] {
            case .string(let s)?: return s
            case nil, .null? where optional: return nil
            default: throw SvcConfError(.invalidInput, "\(key) must be a string")
            }
        }
        let a = try ConfigAddress(service: try name("service") ?? "", env: try name("env") ?? "", variant: try name("variant", optional: true))
        context.facts.update { $0.service = a.service; $0.env = a.env; $0.variant = a.variant }
        try access.authorize(who, .review, a)
        var layer = body
        for k in ["service", "env", "variant"] { layer.removeValue(forKey: k) }
        let config = try Config(layerDocument: .object(layer), source: "the request body")
        do {
            _ = try await repo.checkLayer(a, config: config)
            return JSONReply.json(.object(["valid": true, "errors": .array([])]))
        } catch let e as SvcConfError where e.kind == .validationFailed {
            return JSONReply.json(.object(["valid": false, "message": .string(e.message), "errors": .array(e.details.map { .string($0) })]))
        }
    }
}

extension String {
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}
