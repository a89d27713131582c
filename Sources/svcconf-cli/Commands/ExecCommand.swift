import ArgumentParser
import SvcConf

struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Container entrypoint: open the config and replace this process with CMD, config in its environment.",
        discussion: """
        Fetches and opens the latest version (or --version), checks it against the service's current
        schema (refusing to start CMD when it does not match), then execve(2)s CMD with the inherited
        environment plus the config's top-level values (strings as they are, other values as JSON;
        the config wins over inherited variables). Files go into --files-dir (0600). Fails closed:
        on any error CMD is not started and the exit status says why (127: command not found).

        Examples:
          svcconf exec access-boston --env prod -- node server.js
          svcconf exec access-boston --env staging --variant dev --files-dir /app --env-file /app/.env -- npm start
          svcconf exec --server http://svcconf.internal:8080 --token-file /run/secrets/svcconf.token access-boston --env prod -- node server.js

        With --server, the config comes from a svcconf-server (GET .../config, a token with the read
        scope, read from --token-file: never from the command line or the environment) instead of the
        store: no store, key or KMS access is needed in the container. Exit 8 when the server refuses
        the token (401/403), 3 not found, 5 validation failed (422), 9 server unreachable or failing
        (5xx, 429), 10 an answer that is not the requested config.
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: TargetOptions

    @Option(name: .customLong("env-file"), help: ArgumentHelp("Also write the values as a dotenv file (0600) here.", valueName: "path"))
    var envFile: String?

    @Option(name: .customLong("files-dir"), help: ArgumentHelp("Write the config's files (0600) into this directory.", valueName: "dir"))
    var filesDir: String?

    @Option(name: .long, help: ArgumentHelp("Version (default: the latest).", valueName: "n"))
    var version: Int64?

    @Option(name: .long, help: ArgumentHelp("Fetch the config from this svcconf-server (http[s]://HOST:PORT) instead of the store.", valueName: "url"))
    var server: String?

    @Option(name: .customLong("token-file"), help: ArgumentHelp("With --server: the file holding the token (read scope; mode 0600).", valueName: "path"))
    var tokenFile: String?

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after --.", valueName: "command"))
    var command: [String] = []

    func run() async throws {
        let address = try target.address()
        guard let cmd = command.first else { throw SvcConfError(.usage, "no command given", hint: "svcconf exec SVC --env E -- CMD ARGS...") }
        if let server {
            guard let tokenFile else {
                throw SvcConfError(.usage, "--server needs --token-file", hint: "put the token from `svcconf token mint` in a 0600 file")
            }
            guard global.store == nil, global.keyFiles.isEmpty else {
                throw SvcConfError(.usage, "--server cannot be combined with --store or --key-file", hint: "the server opens the config with its own keys")
            }
            let config = try await ServerExec.fetch(server: server, tokenFile: tokenFile, address: address, version: version)
            try Launcher.exec(config, Launcher.Request(command: cmd, arguments: Array(command.dropFirst()), envFile: envFile, filesDir: filesDir))
        }
        guard tokenFile == nil else { throw SvcConfError(.usage, "--token-file is only for --server") }
        let repo = try global.repository()
        let opened = try await repo.openForExec(address, version: version)
        try Launcher.exec(opened.config, Launcher.Request(command: cmd, arguments: Array(command.dropFirst()),
                                                          envFile: envFile, filesDir: filesDir))
    }
}
