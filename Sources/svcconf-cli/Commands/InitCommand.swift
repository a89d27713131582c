import ArgumentParser
import SvcConf

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a store and its sealing policy (generating local key files that don't exist).",
        discussion: """
        With no --recipient, generates a local key at $XDG_CONFIG_HOME/svcconf/default.key
        (~/.config/svcconf/default.key) and seals everything for it.

        Examples:
          svcconf init
          svcconf init --store file:/srv/configs --recipient local:ops.key --recipient local:breakglass.key
        """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("recipient"), help: ArgumentHelp("Who can open new versions: local:PATH or kms:KEY (repeatable).", valueName: "recipient"))
    var recipients: [String] = []

    func run() async throws {
        let repo = try global.repository()
        let result = try await repo.initialize(recipients: recipients)
        for g in result.generated {
            Terminal.out("generated key \(g.path) (key id \(g.keyId), mode 0600): back it up; it opens everything sealed for it")
        }
        Terminal.out("initialized \(repo.store.url): new versions are sealed for " +
                     result.policy.rules[0].recipients.map(\.description).joined(separator: ", "))
    }
}
