import ArgumentParser
import SvcConf

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a store and its sealing policy (generating local key files that don't exist).",
        discussion: """
        --recipient sets who opens every config (rule */*); --rule MATCH=R1,R2 adds a rule for
        matching SERVICE/ENV (the most specific rule wins). With neither, generates a local key at
        $XDG_CONFIG_HOME/svcconf/default.key (~/.config/svcconf/default.key) for everything.

        Examples:
          svcconf init
          svcconf init --store file:/srv/configs --recipient local:ops.key --recipient local:breakglass.key
          svcconf init --recipient local:staging.key --rule '*/prod=local:prod.key,local:breakglass.key'
        """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("recipient"), help: ArgumentHelp("Who can open new versions: local:PATH or kms:KEY (repeatable).", valueName: "recipient"))
    var recipients: [String] = []

    @Option(name: .customLong("rule"), help: ArgumentHelp("MATCH=R1[,R2...]: recipients for configs matching SERVICE/ENV (repeatable).", valueName: "rule"))
    var rules: [String] = []

    func run() async throws {
        var parsed: [(match: String, recipients: [String])] = []
        for r in rules {
            guard let eq = r.firstIndex(of: "=") else {
                throw SvcConfError(.usage, "a rule is MATCH=RECIPIENT[,RECIPIENT...]", hint: "e.g. --rule '*/prod=local:prod.key'")
            }
            parsed.append((String(r[..<eq]), r[r.index(after: eq)...].split(separator: ",").map(String.init)))
        }
        let repo = try global.repository()
        let result = try await repo.initialize(recipients: recipients, rules: parsed)
        for g in result.generated {
            Terminal.out("generated key \(g.path) (key id \(g.keyId), mode 0600): back it up; it opens everything sealed for it")
        }
        Terminal.out("initialized \(repo.store.url); new versions are sealed for:")
        for rule in result.policy.rules {
            Terminal.out("  \(rule.match): " + rule.recipients.map(\.description).joined(separator: ", "))
        }
    }
}
