import Hummingbird
import SvcConf
import SvcConfAuth

/// The review pages (`/ui/...`): plain server-rendered HTML over the same core use-cases as the
/// `/v1` routes (``ConfigRepository/list()``, ``ConfigRepository/history(_:)``,
/// ``ConfigRepository/diffVersions(_:from:to:)``, ``ConfigRepository/diffEnvs(_:_:)``). Only what
/// the `review` scope allows: metadata, history and redacted diffs (secrets as keyed fingerprints).
///
/// The token comes from `Authorization: Bearer TOKEN` (tools, proxies) or from the cookie
/// `svcconf_ui` that the login form (`POST /ui/login`) sets: HttpOnly, SameSite=Strict, Path=/ui,
/// a session cookie, Secure when the request reached the server over TLS (a TLS-terminating proxy
/// says so with `X-Forwarded-Proto: https`). A token never goes into a URL. POSTs are refused when
/// their `Origin` is another origin (login CSRF).
struct UIRoutes: Sendable {
    let repo: ConfigRepository
    let access: Access
    let settings: ServerSettings

    static let cookieName = "svcconf_ui"
    /// Largest login form body.
    static let maxFormBytes = 4096

    func register(on router: Router<ServerContext>) {
        let ui = router.group("ui")
        ui.get("", use: page(index))
        ui.get("login", use: page(loginForm))
        ui.post("login", use: page(login))
        ui.post("logout", use: page(logout))
        ui.get("services/:svc/envs/:env", use: page(history))
        ui.get("services/:svc/envs/:env/diff", use: page(diffVersions))
        ui.get("services/:svc/diff", use: page(diffEnvs))
    }

    // MARK: plumbing

    /// Who is asking, and how they proved it.
    struct Caller {
        let entry: TokenFile.Entry
        let byCookie: Bool
    }

    /// Failures render as an HTML page with the status of ``HTTPStatusMap`` (401 shows the login
    /// form). The error kind still reaches the request's log line.
    func page(_ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response) -> @Sendable (Request, ServerContext) async throws -> Response {
        { [settings] request, context in
            do {
                return try await handler(request, context)
            } catch {
                let e = HTTPStatusMap.apiError(for: error, conditional: false, maxBodyBytes: settings.maxBodyBytes)
                context.facts.update { $0.errorKind = e.kind }
                if e.status == .unauthorized {
                    return UIRoutes.loginPage(status: .unauthorized, problem: e.message, clearCookie: request.cookies[UIRoutes.cookieName] != nil)
                }
                var body = "<p class=\"err\">\(HTML.escape(e.message))</p>"
                if let hint = e.hint { body += "<p class=\"muted\">hint: \(HTML.escape(hint))</p>" }
                for d in e.details { body += "<p><code>\(HTML.escape(d))</code></p>" }
                body += "<p><a href=\"/ui/\">back to the configs</a></p>"
                var h = e.headers
                h[.wwwAuthenticate] = nil
                return HTML.response(HTML.page(title: "\(e.status.code) \(e.status.reasonPhrase)", body: body), status: e.status, headers: h)
            }
        }
    }

    /// The caller's token: the bearer header when present, else the cookie. Same checks as the
    /// API (well-formed, known, rate limit); 401 otherwise.
    func authenticate(_ request: Request, _ context: ServerContext) throws -> Caller {
        if request.headers[.authorization] != nil {
            return Caller(entry: try access.authenticate(request, context), byCookie: false)
        }
        guard let token = request.cookies[Self.cookieName]?.value, !token.isEmpty else {
            access.metrics.refused(reason: "unauthorized")
            throw APIError.unauthorized("sign in with a review token")
        }
        return Caller(entry: try access.authenticate(token: token, context), byCookie: true)
    }

    /// The config the path names (plus `?variant=`): invalid names are 400 before any I/O.
    func address(_ request: Request, _ context: ServerContext) throws -> ConfigAddress {
        let a = try ConfigAddress(service: context.parameters.get("svc") ?? "", env: context.parameters.get("env") ?? "",
                                  variant: try query(request, "variant"))
        context.facts.update { $0.service = a.service; $0.env = a.env; $0.variant = a.variant }
        return a
    }

    func query(_ request: Request, _ name: String) throws -> String? {
        let all = request.uri.queryParameters[values: Substring(name)]
        guard all.count <= 1 else { throw APIError.badRequest("query parameter \(name) is given more than once") }
        guard let v = all.first, !v.isEmpty else { return nil }
        return String(v)
    }

    func number(_ request: Request, _ name: String, minimum: Int64) throws -> Int64? {
        guard let text = try query(request, name) else { return nil }
        guard let n = Int64(text), n >= minimum else {
            throw APIError.badRequest("query parameter \(name) must be a version number (\(minimum) or more)")
        }
        return n
    }

    /// A POST must come from a page of this server: an `Origin` naming another origin is refused.
    func checkOrigin(_ request: Request) throws {
        if let site = request.headers[HTTPFields.Element.Name("Sec-Fetch-Site")!], site != "same-origin" && site != "none" {
            access.metrics.refused(reason: "forbidden")
            throw APIError.forbidden("cross-site form posts are refused")
        }
        guard let origin = request.headers[.origin] else { return }
        let host = request.head.authority ?? ""
        guard origin == "http://\(host)" || origin == "https://\(host)" else {
            access.metrics.refused(reason: "forbidden")
            throw APIError.forbidden("cross-origin form posts are refused")
        }
    }

    static func isTLS(_ request: Request) -> Bool {
        request.head.scheme == "https" || request.headers[HTTPFields.Element.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    static func cookie(_ value: String, secure: Bool, clear: Bool = false) -> String {
        var c = "\(cookieName)=\(value); Path=/ui; HttpOnly; SameSite=Strict"
        if clear { c += "; Max-Age=0" }
        if secure { c += "; Secure" }
        return c
    }

    static func redirect(_ location: String, cookie: String? = nil) -> Response {
        var h: HTTPFields = [.location: location]
        if let cookie { h[.setCookie] = cookie }
        return HTML.response(HTML.page(title: "See other", body: "<p><a href=\"\(HTML.escape(location))\">continue</a></p>"),
                             status: .seeOther, headers: h)
    }

    // MARK: sign-in

    static func loginPage(status: HTTPResponse.Status = .ok, problem: String? = nil, clearCookie: Bool = false) -> Response {
        var body = ""
        if let problem { body += "<p class=\"err\">\(HTML.escape(problem))</p>" }
        body += """
        <form method="post" action="/ui/login">
        <p><label for="token">Token (from <code>svcconf token mint</code>, with the review scope)</label><br>
        <input id="token" name="token" type="password" autocomplete="off" size="80" required></p>
        <p><button type="submit">Sign in</button></p>
        </form>
        <p class="muted">The token is kept in an HttpOnly, SameSite=Strict session cookie for /ui only. Tools may send
        <code>Authorization: Bearer TOKEN</code> instead.</p>
        """
        var h: HTTPFields = [:]
        if clearCookie { h[.setCookie] = cookie("", secure: false, clear: true) }
        return HTML.response(HTML.page(title: "Sign in", body: body), status: status, headers: h)
    }

    @Sendable func loginForm(_ request: Request, _ context: ServerContext) async throws -> Response {
        Self.loginPage()
    }

    /// `POST /ui/login` with `token=...` (a form): a known token gets the cookie and goes to `/ui/`.
    @Sendable func login(_ request: Request, _ context: ServerContext) async throws -> Response {
        try checkOrigin(request)
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > Self.maxFormBytes {
            throw APIError.tooLarge(limit: Self.maxFormBytes)
        }
        var buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Self.maxFormBytes)
        } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
            throw APIError.tooLarge(limit: Self.maxFormBytes)
        }
        let text = buffer.readString(length: buffer.readableBytes) ?? ""
        let token = Self.formValue(text, "token")?.trimmingSpaces ?? ""
        guard !token.isEmpty else { throw APIError.unauthorized("give a token") }
        let entry = try access.authenticate(token: String(token), context)
        _ = entry
        return Self.redirect("/ui/", cookie: Self.cookie(String(token), secure: Self.isTLS(request)))
    }

    /// `POST /ui/logout`: clears the cookie.
    @Sendable func logout(_ request: Request, _ context: ServerContext) async throws -> Response {
        try checkOrigin(request)
        return Self.redirect("/ui/login", cookie: Self.cookie("", secure: Self.isTLS(request), clear: true))
    }

    /// One value of an `application/x-www-form-urlencoded` body (`+` is a space, `%XX` a byte).
    static func formValue(_ body: String, _ name: String) -> String? {
        for pair in body.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, decodeForm(kv[0]) == name else { continue }
            return decodeForm(kv[1])
        }
        return nil
    }

    static func decodeForm(_ s: Substring) -> String? {
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "+") { bytes.append(0x20); continue }
            guard b == UInt8(ascii: "%") else { bytes.append(b); continue }
            guard it.count >= 2, let n = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else { return nil }
            bytes.append(n)
            it = it.dropFirst(2)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    // MARK: pages

    static func configLink(_ a: ConfigAddress) -> String {
        var s = "/ui/services/\(HTML.urlComponent(a.service))/envs/\(HTML.urlComponent(a.env))"
        if let v = a.variant { s += "?variant=\(HTML.urlComponent(v))" }
        return s
    }

    static func versionDiffLink(_ a: ConfigAddress, from: Int64, to: Int64) -> String {
        var s = "/ui/services/\(HTML.urlComponent(a.service))/envs/\(HTML.urlComponent(a.env))/diff?from=\(from)&to=\(to)"
        if let v = a.variant { s += "&variant=\(HTML.urlComponent(v))" }
        return s
    }

    /// `GET /ui/`: every config the token may review, latest versions, and a form to compare two envs.
    @Sendable func index(_ request: Request, _ context: ServerContext) async throws -> Response {
        let who = try authenticate(request, context)
        let (infos, problems) = try await repo.list()
        let visible = infos.filter { who.entry.allows(.review, service: $0.address.service, env: $0.address.env) }
        var body = ""
        if visible.isEmpty {
            body += "<p>This token may review no config.</p>"
        } else {
            body += "<table id=\"configs\"><thead><tr><th>service</th><th>env</th><th>variant</th><th>latest</th><th>author</th><th>time</th><th>message</th></tr></thead><tbody>"
            for i in visible {
                let a = i.address
                body += "<tr><td>\(HTML.escape(a.service))</td><td><a href=\"\(HTML.escape(Self.configLink(a)))\">\(HTML.escape(a.env))</a></td>"
                body += "<td>\(HTML.escape(a.variant ?? ""))</td><td>\(i.version)</td><td>\(HTML.escape(i.author))</td>"
                body += "<td>\(HTML.escape(i.time.description))</td><td>\(HTML.escape(i.message))</td></tr>"
            }
            body += "</tbody></table>"
        }
        // Compare two envs of one service.
        var envsByService: [String: [String]] = [:]
        for i in visible where i.address.variant == nil { envsByService[i.address.service, default: []].append(i.address.env) }
        let comparable = envsByService.filter { $0.value.count >= 2 }.sorted { $0.key < $1.key }
        if !comparable.isEmpty {
            body += "<h2>Compare two envs</h2>"
            for (service, envs) in comparable {
                let sorted = envs.sorted()
                func options(_ selected: String) -> String {
                    sorted.map { "<option value=\"\(HTML.escape($0))\"\($0 == selected ? " selected" : "")>\(HTML.escape($0))</option>" }.joined()
                }
                body += "<form method=\"get\" action=\"/ui/services/\(HTML.escape(HTML.urlComponent(service)))/diff\"><p><strong>\(HTML.escape(service))</strong> "
                body += "<select name=\"env\" aria-label=\"first env\">\(options(sorted[0]))</select> vs "
                body += "<select name=\"env\" aria-label=\"second env\">\(options(sorted[1]))</select> "
                body += "<button type=\"submit\">Compare</button></p></form>"
            }
        }
        if !problems.isEmpty {
            body += "<p class=\"err\">\(problems.count) config(s) could not be listed.</p>"
        }
        return HTML.response(HTML.page(title: "Configs", who: who.entry.name, signedInByCookie: who.byCookie, body: body))
    }

    /// `GET /ui/services/{svc}/envs/{env}`: the layer's history, newest first, with links to the
    /// diff of each version against the one before, and a form to compare any two.
    @Sendable func history(_ request: Request, _ context: ServerContext) async throws -> Response {
        let who = try authenticate(request, context)
        let a = try address(request, context)
        try access.authorize(who.entry, .review, a)
        let entries = try await repo.history(a)
        var body = "<table id=\"history\"><thead><tr><th>version</th><th>time</th><th>author</th><th>message</th><th>schema</th><th>chain</th><th>diff</th></tr></thead><tbody>"
        for e in entries.reversed() {
            let i = e.info
            body += "<tr><td>\(i.version)</td><td>\(HTML.escape(i.time.description))</td><td>\(HTML.escape(i.author))</td>"
            body += "<td>\(HTML.escape(i.message))</td><td><code>\(HTML.escape(i.schema?.description ?? "-"))</code></td>"
            body += "<td>\(e.chainIntact ? "intact" : "<strong>BROKEN</strong>")</td>"
            body += "<td><a href=\"\(HTML.escape(Self.versionDiffLink(a, from: i.version - 1, to: i.version)))\">vs \(i.version - 1 == 0 ? "empty" : String(i.version - 1))</a></td></tr>"
        }
        body += "</tbody></table>"
        if let latest = entries.last?.info.version, latest >= 2 {
            func options(_ selected: Int64) -> String {
                entries.reversed().map { "<option value=\"\($0.info.version)\"\($0.info.version == selected ? " selected" : "")>\($0.info.version)</option>" }.joined()
            }
            body += "<h2>Compare two versions</h2><form method=\"get\" action=\"/ui/services/\(HTML.escape(HTML.urlComponent(a.service)))/envs/\(HTML.escape(HTML.urlComponent(a.env)))/diff\"><p>"
            if let v = a.variant { body += "<input type=\"hidden\" name=\"variant\" value=\"\(HTML.escape(v))\">" }
            body += "from <select name=\"from\">\(options(latest - 1))</select> to <select name=\"to\">\(options(latest))</select> "
            body += "<button type=\"submit\">Compare</button></p></form>"
        }
        return HTML.response(HTML.page(title: "History of \(a)", who: who.entry.name, signedInByCookie: who.byCookie, body: body))
    }

    /// `GET /ui/services/{svc}/envs/{env}/diff?from=N&to=M`: two versions of a layer side by side.
    @Sendable func diffVersions(_ request: Request, _ context: ServerContext) async throws -> Response {
        let who = try authenticate(request, context)
        let a = try address(request, context)
        try access.authorize(who.entry, .review, a)
        let from = try number(request, "from", minimum: 0)
        let to = try number(request, "to", minimum: 1)
        let d = try await repo.diffVersions(a, from: from, to: to)
        let body = "<p><a href=\"\(HTML.escape(Self.configLink(a)))\">history of \(HTML.escape(a.description))</a></p>" + Self.render(d)
        return HTML.response(HTML.page(title: "Diff of \(a)", who: who.entry.name, signedInByCookie: who.byCookie, body: body))
    }

    /// `GET /ui/services/{svc}/diff?env=A&env=B`: two envs' effective configs side by side.
    @Sendable func diffEnvs(_ request: Request, _ context: ServerContext) async throws -> Response {
        let who = try authenticate(request, context)
        let service = context.parameters.get("svc") ?? ""
        let envs = request.uri.queryParameters[values: "env"].map(String.init)
        guard envs.count == 2 else { throw APIError.badRequest("give exactly two env parameters: ?env=A&env=B") }
        let variant = try query(request, "variant")
        let a = try ConfigAddress(service: service, env: envs[0], variant: variant)
        let b = try ConfigAddress(service: service, env: envs[1], variant: variant)
        context.facts.update { $0.service = service; $0.env = "\(envs[0]),\(envs[1])"; $0.variant = variant }
        try access.authorize(who.entry, .review, a)
        try access.authorize(who.entry, .review, b)
        let d = try await repo.diffEnvs(a, b)
        return HTML.response(HTML.page(title: "Diff of \(a) and \(b)", who: who.entry.name, signedInByCookie: who.byCookie, body: Self.render(d)))
    }

    // MARK: rendering a diff

    /// The diff as a table: one row per changed value or file, old and new side by side; secrets
    /// only as fingerprints; then the unchanged count and the unchanged secrets by name.
    static func render(_ r: ConfigRepository.DiffResult) -> String {
        let d = r.diff
        var s = "<table id=\"diff\"><thead><tr><th>key</th><th>change</th><th>\(HTML.escape(r.oldLabel))</th><th>\(HTML.escape(r.newLabel))</th></tr></thead><tbody>"
        for e in d.entries {
            let name = e.isFile ? "file \(e.path[0])" : ConfigDiff.display(e.path)
            s += "<tr class=\"\(e.change.rawValue)\"><td><code class=\"key\">\(HTML.escape(name))</code>\(e.secret ? " <span class=\"secret\">(secret)</span>" : "")</td>"
            s += "<td>\(e.change.rawValue)</td><td>\(shown(e.old, secret: e.secret))</td><td>\(shown(e.new, secret: e.secret))</td></tr>"
        }
        s += "</tbody></table>"
        let n = { (c: ConfigDiff.Change) in d.entries.filter { $0.change == c }.count }
        s += "<p id=\"summary\">"
        s += d.isEmpty ? "no differences" : "\(n(.changed)) changed, \(n(.added)) added, \(n(.removed)) removed"
        s += "; \(d.unchangedCount) unchanged</p>"
        if !d.unchangedSecrets.isEmpty {
            s += "<p>Secrets unchanged: " + d.unchangedSecrets.map { "<code>\(HTML.escape($0))</code> <span class=\"secret\">unchanged</span>" }.joined(separator: ", ") + "</p>"
        }
        return s
    }

    static func shown(_ side: ConfigDiff.Shown?, secret: Bool) -> String {
        guard let side else { return "<span class=\"muted\">(absent)</span>" }
        switch side {
        case .value(let v):
            return "<span class=\"v\">\(HTML.escape(JSON.canonicalString(v)))</span>"
        case .secret(let fp):
            return "<span class=\"secret fp\">secret \(HTML.escape(fp))</span>"
        case .file(let bytes, let fp, let text):
            var out = "<span class=\"\(secret ? "secret " : "")fp\">\(secret ? "secret " : "")file, \(bytes) bytes, \(HTML.escape(fp))</span>"
            if !secret, let text, text.utf8.count <= 4096 { out += "<pre class=\"v\">\(HTML.escape(text))</pre>" }
            return out
        }
    }
}

extension Access {
    /// ``authenticate(_:_:)`` for a token that did not come in the `Authorization` header (the
    /// review pages' cookie and login form): the same checks, the same refusals.
    func authenticate(token: String, _ context: ServerContext) throws -> TokenFile.Entry {
        guard AccessToken.isWellFormed(token) else {
            metrics.refused(reason: "unauthorized")
            throw APIError.unauthorized("malformed token")
        }
        guard let entry = tokens.entry(for: token) else {
            metrics.refused(reason: "unauthorized")
            throw APIError.unauthorized("unknown token")
        }
        context.facts.update { $0.who = entry.name }
        if let wait = limiter.take(entry.name) {
            metrics.refused(reason: "rateLimited")
            throw APIError.rateLimited(retryAfterSeconds: wait)
        }
        return entry
    }
}
