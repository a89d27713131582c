import ArgumentParser

/// `svcconf`: the root command holds only configuration; each subcommand lives in its own file.
struct Root: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "svcconf",
        abstract: "Keep service configuration and secrets encrypted, versioned, validated and reviewable.",
        discussion: """
        A config is a set of values (which become environment variables) plus named files, \
        per service, env and optional variant. Every change is a new sealed version \
        (AES-256-GCM under a fresh data key, wrapped for each recipient in the store's policy); \
        secrets are shown only as keyed fingerprints unless you ask for them.

        Quick start:
          svcconf init
          svcconf set access-boston --env staging PING_HOST=sso.example.test
          svcconf show access-boston --env staging
          svcconf exec access-boston --env staging -- node app.js
        """,
        subcommands: [
            InitCommand.self, SetCommand.self, UnsetCommand.self, ShowCommand.self, GetCommand.self,
            DiffCommand.self, HistoryCommand.self, RollbackCommand.self, ExportCommand.self,
            ListCommand.self, ExecCommand.self, SchemaCommand.self, ValidateCommand.self, CheckCommand.self,
            ExplainCommand.self, EditCommand.self,
            RotateCommand.self,
            RecipientsCommand.self,
            TextconvCommand.self,
            ImportCommand.self,
            TokenCommand.self,
        ]
    )
}
