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
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: TargetOptions

    @Option(name: .customLong("env-file"), help: ArgumentHelp("Also write the values as a dotenv file (0600) here.", valueName: "path"))
    var envFile: String?

    @Option(name: .customLong("files-dir"), help: ArgumentHelp("Write the config's files (0600) into this directory.", valueName: "dir"))
    var filesDir: String?

    @Option(name: .long, help: ArgumentHelp("Version (default: the latest).", valueName: "n"))
    var version: Int64?

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after --.", valueName: "command"))
    var command: [String] = []

    func run() async throws {
        let address = try target.address()
        guard let cmd = command.first else { throw SvcConfError(.usage, "no command given", hint: "svcconf exec SVC --env E -- CMD ARGS...") }
        let repo = try global.repository()
        let opened = try await repo.openForExec(address, version: version)
        try Launcher.exec(opened.config, Launcher.Request(command: cmd, arguments: Array(command.dropFirst()),
                                                          envFile: envFile, filesDir: filesDir))
    }
}
