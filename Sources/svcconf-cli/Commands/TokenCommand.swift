#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import SvcConf
import SvcConfAuth

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Bearer tokens for svcconf-server.",
        subcommands: [TokenMint.self])
}

struct TokenMint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mint",
        abstract: "Create a token: the token once on stdout, its token-file line (a hash, never the token) on stderr or appended to --entry-file.",
        discussion: """
        A token is `svcconf_` + 64 hex digits (256 random bits). The server's token file holds one
        line per token: its SHA-256, the name (logged with every request) and the grants. Scopes:
        read (plaintext config, for container start), review (metadata, history, redacted views and
        diffs), write (PUT, plus what review allows), admin (everything), each for a SERVICE/ENV
        pattern with * wildcards. The token is shown only now: store it in your secret manager.

        Examples:
          svcconf token mint --name access-boston-prod --scope read:access-boston/prod --entry-file /etc/svcconf/tokens
          svcconf token mint --name ci --scope review:*/* --scope write:*/staging 2>>tokens
        """)

    @Option(name: .long, help: ArgumentHelp("Who holds the token (1-64 of A-Z a-z 0-9 . _ @ -); logged with each request.", valueName: "name"))
    var name: String

    @Option(name: .long, help: ArgumentHelp("SCOPE:SERVICE/ENV (repeatable); SCOPE is read, review, write or admin.", valueName: "grant"))
    var scope: [String] = []

    @Option(name: .customLong("entry-file"), help: ArgumentHelp("Append the line to this token file (created 0600) instead of printing it on stderr.", valueName: "path"))
    var entryFile: String?

    func run() async throws {
        let grants = try scope.map { try Grant(parsing: $0) }
        let token = try AccessToken.mint()
        let entry = try TokenFile.Entry(hash: AccessToken.hash(of: token), name: name, grants: grants)
        if let entryFile {
            try append(entry, to: entryFile)
        } else {
            Terminal.writeAll(2, Array((entry.line + "\n").utf8))
        }
        Terminal.out(token)
    }

    /// Appends the line, refusing a name the file already has.
    func append(_ entry: TokenFile.Entry, to path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SvcConfError(.accessDenied, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw SvcConfError(.unavailable, "cannot lock \(path)") }
        var existing: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        _ = lseek(fd, 0, SEEK_SET)
        while true {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            existing += buf[0..<n]
        }
        let current = try TokenFile(parsing: String(decoding: existing, as: UTF8.self), source: path)
        if current.entries.contains(where: { $0.name == entry.name }) {
            throw SvcConfError(.conflict, "\(path) already has a token named \(entry.name)", hint: "choose another --name, or remove its line first")
        }
        var line = Array((entry.line + "\n").utf8)
        if let last = existing.last, last != 0x0A { line.insert(0x0A, at: 0) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw SvcConfError(.unavailable, "cannot write \(path): \(String(cString: strerror(errno)))") }
    }
}
