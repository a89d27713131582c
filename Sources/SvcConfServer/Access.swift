import Hummingbird
import SvcConf
import SvcConfAuth

/// Authentication (bearer token → token file entry), per-token rate limiting and authorization
/// (scope × SERVICE/ENV pattern). Deny by default: a route runs only for a known token whose grants
/// allow the route's permission on the addressed config.
struct Access: Sendable {
    let tokens: TokenFile
    let limiter: RateLimiter
    let metrics: ServerMetrics

    /// The caller's token entry: 401 without `Authorization: Bearer TOKEN`, with a malformed token, or
    /// an unknown one; 429 when the token's budget is spent. Records the token name for the log line.
    func authenticate(_ request: Request, _ context: ServerContext) throws -> TokenFile.Entry {
        guard let header = request.headers[.authorization] else {
            metrics.refused(reason: "unauthorized")
            throw APIError.unauthorized("missing bearer token")
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer", AccessToken.isWellFormed(String(parts[1])) else {
            metrics.refused(reason: "unauthorized")
            throw APIError.unauthorized("malformed bearer token")
        }
        guard let entry = tokens.entry(for: String(parts[1])) else {
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

    /// 403 unless `entry` may do `permission` on `address` (its service and env; a variant is
    /// covered by its env's grants).
    func authorize(_ entry: TokenFile.Entry, _ permission: Permission, _ address: ConfigAddress) throws {
        guard entry.allows(permission, service: address.service, env: address.env) else {
            metrics.refused(reason: "forbidden")
            throw APIError.forbidden("token \(entry.name) has no \(Self.describe(permission)) access to \(address.service)/\(address.env)")
        }
    }

    static func describe(_ p: Permission) -> String {
        switch p {
        case .plaintext: return "read (plaintext)"
        case .review: return "review"
        case .write: return "write"
        }
    }
}
