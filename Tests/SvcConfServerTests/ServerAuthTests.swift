import SvcConf
import SvcConfAuth
import SvcConfCrypto
import Testing

@testable import SvcConfServer

@Suite("Server tokens")
struct ServerAuthTests {
    @Test("minted tokens: svcconf_ + 64 hex, distinct, well-formed; the file stores the SHA-256 only")
    func mint() throws {
        let a = try AccessToken.mint(), b = try AccessToken.mint()
        #expect(a != b)
        #expect(a.hasPrefix("svcconf_") && a.utf8.count == 72)
        #expect(AccessToken.isWellFormed(a))
        #expect(!AccessToken.isWellFormed(a.uppercased()))
        #expect(!AccessToken.isWellFormed(String(a.dropLast())))
        #expect(!AccessToken.isWellFormed(a + "0"))
        let e = try TokenFile.Entry(hash: AccessToken.hash(of: a), name: "ci", grants: [try Grant(parsing: "review:*/*")])
        #expect(!e.line.contains(a))
        #expect(e.line == Hex.encode(SHA256.hash(Array(a.utf8))) + " ci review:*/*")
    }

    @Test("token file: parsed with comments and blank lines; lookups by token; malformed lines name their line number")
    func tokenFile() throws {
        let t1 = try AccessToken.mint(), t2 = try AccessToken.mint()
        let text = """
        # svcconf-server tokens
        \(Hex.encode(AccessToken.hash(of: t1))) app-prod read:access-boston/prod read:registry-certs/prod

        \(Hex.encode(AccessToken.hash(of: t2)))\tci\treview:*/*  write:*/staging\r
        """
        let file = try TokenFile(parsing: text)
        #expect(file.entries.count == 2)
        #expect(file.entry(for: t1)?.name == "app-prod")
        #expect(file.entry(for: t2)?.name == "ci")
        #expect(file.entry(for: try AccessToken.mint()) == nil)
        let ci = try #require(file.entry(for: t2))
        #expect(ci.allows(.review, service: "x", env: "prod"))
        #expect(ci.allows(.write, service: "x", env: "staging"))
        #expect(!ci.allows(.write, service: "x", env: "prod"))
        #expect(!ci.allows(.plaintext, service: "x", env: "staging"))
        let app = try #require(file.entry(for: t1))
        #expect(app.allows(.plaintext, service: "access-boston", env: "prod"))
        #expect(!app.allows(.review, service: "access-boston", env: "prod"))
        #expect(!app.allows(.plaintext, service: "access-boston", env: "staging"))

        let h = Hex.encode(AccessToken.hash(of: t1))
        for (bad, mention) in [
            ("\(t1) n read:*/*", "line 1: the first field must be the token's SHA-256"),
            ("\(h) n", "line 1: expected"),
            ("\(h) n read", "line 1: invalid grant"),
            ("\(h) n sudo:*/*", "line 1: unknown scope"),
            ("\(h) n read:../x", "line 1: invalid pattern"),
            ("\(h) n read:a", "line 1: invalid pattern"),
            ("\(h) bad/name read:*/*", "line 1: invalid token name"),
            ("# c\n\(h) a read:*/*\n\(h) b read:*/*", "line 3: the same token hash"),
            ("\(h) a read:*/*\n\(Hex.encode(AccessToken.hash(of: t2))) a read:*/*", "line 2: token name a is used twice"),
        ] {
            #expect(throws: SvcConfError.self, "\(mention)") { try TokenFile(parsing: bad) }
            do { _ = try TokenFile(parsing: bad) } catch {
                let e = error
                #expect(e.message.contains(mention), "\(e.message)")
                #expect(!e.message.contains(t1))
            }
        }
    }

    @Test("scopes: read = plaintext only; review = metadata; write = review + write; admin = all")
    func scopes() {
        #expect(Scope.read.allows(.plaintext) && !Scope.read.allows(.review) && !Scope.read.allows(.write))
        #expect(!Scope.review.allows(.plaintext) && Scope.review.allows(.review) && !Scope.review.allows(.write))
        #expect(!Scope.write.allows(.plaintext) && Scope.write.allows(.review) && Scope.write.allows(.write))
        #expect(Scope.admin.allows(.plaintext) && Scope.admin.allows(.review) && Scope.admin.allows(.write))
    }

    @Test("HTTP status map: every core kind has a status; conflicts are 412 on a conditional request")
    func statusMap() {
        for k in SvcConfError.Kind.allCases {
            let s = HTTPStatusMap.status(for: k, conditional: false).code
            #expect((400...599).contains(s))
        }
        #expect(HTTPStatusMap.status(for: .conflict, conditional: true).code == 412)
        #expect(HTTPStatusMap.status(for: .conflict, conditional: false).code == 409)
        #expect(HTTPStatusMap.status(for: .validationFailed, conditional: false).code == 422)
        #expect(HTTPStatusMap.status(for: .usage, conditional: false).code == 400)
        #expect(HTTPStatusMap.status(for: .notFound, conditional: false).code == 404)
        #expect(HTTPStatusMap.status(for: .unavailable, conditional: false).code == 503)
        let internalError = HTTPStatusMap.apiError(for: CancellationError(), conditional: false, maxBodyBytes: 1)
        #expect(internalError.status.code == 500 && internalError.message == "internal error")
    }

    @Test("rate limiter: a bucket of `burst`, refilled at `perSecond`")
    func limiter() {
        let l = RateLimiter(.init(perSecond: 2, burst: 2))
        let t0 = ContinuousClock.now
        #expect(l.take("a", now: t0) == nil)
        #expect(l.take("a", now: t0) == nil)
        #expect(l.take("a", now: t0) == 1)
        #expect(l.take("b", now: t0) == nil)
        #expect(l.take("a", now: t0 + .milliseconds(600)) == nil)
        #expect(l.take("a", now: t0 + .milliseconds(600)) != nil)
    }
}
