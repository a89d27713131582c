import SvcConf
import SvcConfCrypto

/// The server's token file: one token per line, `SHA256-HEX NAME GRANT...` separated by spaces,
/// where GRANT is `SCOPE:SERVICE/ENV`; blank lines and lines starting with `#` are ignored. It holds
/// only hashes (see ``AccessToken``), so it is not a secret, but it decides who may read what:
/// keep it writable by the operator only.
///
/// ```
/// # name        scopes
/// 5f1d...e2a9 access-boston-prod read:access-boston/prod
/// 0b7c...41d3 ci-review review:*/*
/// ```
public struct TokenFile: Sendable {
    /// One line.
    public struct Entry: Sendable {
        /// SHA-256 of the token (32 bytes).
        public let hash: [UInt8]
        /// Who holds it: logged with every request (`ci-review`).
        public let name: String
        /// What it may do.
        public let grants: [Grant]

        /// An entry.
        public init(hash: [UInt8], name: String, grants: [Grant]) throws(SvcConfError) {
            guard hash.count == 32 else { throw SvcConfError(.invalidInput, "a token hash is 32 bytes") }
            guard TokenFile.isValidName(name) else {
                throw SvcConfError(.usage, "invalid token name \(Names.quoted(name))", hint: "1-64 characters of a-z, A-Z, 0-9, '.', '_', '@' and '-'")
            }
            guard !grants.isEmpty else { throw SvcConfError(.usage, "token \(name) has no grants", hint: "give at least one --scope SCOPE:SERVICE/ENV") }
            self.hash = hash
            self.name = name
            self.grants = grants
        }

        /// The entry's line (without a newline).
        public var line: String {
            ([Hex.encode(hash), name] + grants.map(\.description)).joined(separator: " ")
        }

        /// True when one of the grants allows `permission` on `service`/`env`.
        public func allows(_ permission: Permission, service: String, env: String) -> Bool {
            grants.contains { $0.allows(permission, service: service, env: env) }
        }
    }

    /// The entries, in file order.
    public let entries: [Entry]

    /// Entries.
    public init(entries: [Entry]) { self.entries = entries }

    /// Parses a token file. Every malformed line is an error naming its line number (never its
    /// content beyond the token name); a name or a hash used twice is an error too.
    public init(parsing text: String, source: String = "token file") throws(SvcConfError) {
        var entries: [Entry] = []
        var names = Set<String>()
        var hashes = Set<[UInt8]>()
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if fields.isEmpty || fields[0].hasPrefix("#") { continue }
            let at = "\(source) line \(i + 1)"
            guard fields.count >= 3 else {
                throw SvcConfError(.invalidInput, "\(at): expected SHA256-HEX NAME SCOPE:SERVICE/ENV...")
            }
            guard fields[0].utf8.count == 64, let hash = Hex.decode(fields[0].lowercased()) else {
                throw SvcConfError(.invalidInput, "\(at): the first field must be the token's SHA-256 (64 hex digits)",
                                   hint: "mint tokens with `svcconf token mint`; the file holds hashes, never tokens")
            }
            var grants: [Grant] = []
            for g in fields[2...] {
                do { grants.append(try Grant(parsing: g)) } catch { throw SvcConfError(.invalidInput, "\(at): \(error.message)", hint: error.hint) }
            }
            let entry: Entry
            do { entry = try Entry(hash: hash, name: fields[1], grants: grants) } catch { throw SvcConfError(.invalidInput, "\(at): \(error.message)", hint: error.hint) }
            guard names.insert(entry.name).inserted else { throw SvcConfError(.invalidInput, "\(at): token name \(entry.name) is used twice") }
            guard hashes.insert(hash).inserted else { throw SvcConfError(.invalidInput, "\(at): the same token hash is listed twice") }
            entries.append(entry)
        }
        self.entries = entries
    }

    /// The entry whose hash is the SHA-256 of `token`, or nil. Compares against every entry in
    /// constant time per entry and without stopping early, so the time taken does not say which
    /// entry (if any) matched, nor how many bytes of a hash did.
    public func entry(for token: String) -> Entry? {
        let presented = AccessToken.hash(of: token)
        var found: Entry?
        for e in entries where constantTimeEquals(e.hash, presented) {
            if found == nil { found = e }
        }
        return found
    }

    /// Token names: 1-64 characters of `A-Za-z0-9._@-`.
    public static func isValidName(_ name: String) -> Bool {
        let u = Array(name.utf8)
        return (1...64).contains(u.count) && u.allSatisfy {
            ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x5F || $0 == 0x40 || $0 == 0x2D
        }
    }
}
