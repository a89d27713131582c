import Hummingbird
import SvcConf

/// An error answered over HTTP: a status and the JSON body `{"error": {"kind", "message", "hint",
/// "details"}}`. Everything the server answers with a failure status is one of these; the core's
/// errors become one through ``HTTPStatusMap``. Messages are the core's one-line messages (never a
/// value) or the server's own fixed texts.
public struct APIError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status.
    public let status: HTTPResponse.Status
    /// `notFound`, `validationFailed`, `unauthorized`, ... (the core's kinds plus the server's own).
    public let kind: String
    /// One line.
    public let message: String
    /// What the client can do about it.
    public let hint: String?
    /// One line per item (every schema error of a 422).
    public let details: [String]
    /// Extra response headers (`WWW-Authenticate`, `Retry-After`).
    public let headers: HTTPFields

    /// An error.
    public init(_ status: HTTPResponse.Status, kind: String, _ message: String, hint: String? = nil,
                details: [String] = [], headers: HTTPFields = [:]) {
        self.status = status
        self.kind = kind
        self.message = message
        self.hint = hint
        self.details = details
        self.headers = headers
    }

    /// `kind: message`.
    public var description: String { "\(kind): \(message)" }

    /// The JSON body.
    public var jsonValue: ConfigValue {
        var e: [String: ConfigValue] = ["kind": .string(kind), "message": .string(message)]
        if let hint { e["hint"] = .string(hint) }
        if !details.isEmpty { e["details"] = .array(details.map { .string($0) }) }
        return .object(["error": .object(e)])
    }

    // The server's own failures (authentication, limits, HTTP preconditions).

    /// 401: no, malformed or unknown bearer token.
    static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, kind: "unauthorized", message, hint: "send Authorization: Bearer TOKEN (a token minted with `svcconf token mint`)",
                 headers: [.wwwAuthenticate: "Bearer realm=\"svcconf\", error=\"invalid_token\""])
    }

    /// 403: a valid token without the needed scope for this service/env.
    static func forbidden(_ message: String) -> APIError {
        APIError(.forbidden, kind: "forbidden", message)
    }

    /// 429: the token's request budget is spent.
    static func rateLimited(retryAfterSeconds: Int) -> APIError {
        var h = HTTPFields()
        h[.retryAfter] = String(retryAfterSeconds)
        return APIError(.tooManyRequests, kind: "rateLimited", "too many requests for this token", hint: "retry after \(retryAfterSeconds) s", headers: h)
    }

    /// 413: the body is larger than the server accepts.
    static func tooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, kind: "tooLarge", "the request body is larger than \(limit) bytes")
    }

    /// 428: a write without `If-Match`.
    static func preconditionRequired() -> APIError {
        APIError(.preconditionRequired, kind: "preconditionRequired", "a write needs If-Match: \"VERSION\" (the version it is based on)",
                 hint: "GET the config's metadata for its ETag; \"0\" creates a config that has no versions yet")
    }

    /// 400 for bad HTTP-level input (query parameters, headers).
    static func badRequest(_ message: String, hint: String? = nil) -> APIError {
        APIError(.badRequest, kind: "usage", message, hint: hint)
    }
}

/// The one place where failure classes become HTTP statuses (the CLI's counterpart is the core's
/// `ExitStatus`). The README's server section lists the same table.
public enum HTTPStatusMap {
    /// The status of a core failure class. `conditional`: the request carried `If-Match`, so a
    /// conflict means the precondition failed (412) rather than a plain conflict (409).
    public static func status(for kind: SvcConfError.Kind, conditional: Bool) -> HTTPResponse.Status {
        switch kind {
        case .usage: return .badRequest
        case .invalidInput: return .badRequest
        case .notFound: return .notFound
        case .conflict: return conditional ? .preconditionFailed : .conflict
        case .validationFailed: return .unprocessableContent
        // The server holds no key that opens this version, or the stored data is corrupt: the
        // server's problem, not the client's.
        case .keyUnavailable, .tampered, .internal, .aborted, .commandNotFound, .commandNotExecutable:
            return .internalServerError
        // The store (or KMS) refused the server's credentials.
        case .accessDenied: return .badGateway
        // The store (or KMS) cannot be reached.
        case .unavailable: return .serviceUnavailable
        }
    }

    /// Any error as an ``APIError``: the core's with their kind, message, hint and details; the HTTP
    /// framework's (no such route, body too large) with a fixed message; anything else as an internal
    /// error whose text is not shown (it could hold anything).
    public static func apiError(for error: any Error, conditional: Bool, maxBodyBytes: Int) -> APIError {
        switch error {
        case let e as APIError:
            return e
        case let e as SvcConfError:
            return APIError(status(for: e.kind, conditional: conditional), kind: e.kind.rawValue, e.message, hint: e.hint, details: e.details)
        case let e as any HTTPResponseError:
            switch e.status {
            case .contentTooLarge: return .tooLarge(limit: maxBodyBytes)
            case .notFound: return APIError(.notFound, kind: "notFound", "no such route", hint: "see openapi/svcconf-server.yaml")
            case .methodNotAllowed: return APIError(.methodNotAllowed, kind: "usage", "method not allowed on this route")
            default:
                return APIError(e.status, kind: e.status.code < 500 ? "usage" : "internal", e.status.reasonPhrase.lowercased())
            }
        default:
            return APIError(.internalServerError, kind: "internal", "internal error")
        }
    }
}
