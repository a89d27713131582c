import ArgumentParser
import SvcConf

struct RecipientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipients",
        abstract: "List or edit the store's sealing policy: who can open new versions.",
        discussion: """
        The policy lives in the store, so every writer seals the same way. It is a list of rules,
        MATCH -> recipients, where MATCH is SERVICE/ENV with * wildcards (*/*, */prod,
        access-boston/*); the most specific rule wins, and `{service}` / `{env}` in a recipient are
        replaced (kms:alias/{service}-prod). A recipient is local:PATH (a key file) or kms:KEY.
        Every edit writes a new policy version; concurrent edits all land.

        An edit applies to versions written from then on. Existing versions stay sealed to the
        recipients they were written for until `svcconf rotate SVC --env E` (or `rotate --all`)
        reseals them: after `add`, run rotate so the new key opens the current configs; after
        `remove`, run rotate so the removed key no longer opens them (it still opens the versions
        written before).

        Examples:
          svcconf recipients list
          svcconf recipients add local:ops2.key
          svcconf recipients add kms:alias/{service}-prod --match '*/prod'
          svcconf recipients remove local:ops1.key && svcconf rotate --all
        """,
        subcommands: [RecipientsList.self, RecipientsAdd.self, RecipientsRemove.self])

    static func refJSON(_ r: StorePolicy.RecipientRef) -> ConfigValue {
        .object(["uri": .string(r.uri), "keyId": r.keyId.map { .string($0) } ?? .null])
    }

    static func policyJSON(_ number: Int64, _ p: StorePolicy) -> [String: ConfigValue] {
        ["policy": .int(number),
         "rules": .array(p.rules.map { .object(["match": .string($0.match), "recipients": .array($0.recipients.map(refJSON))]) })]
    }

    static func render(_ p: StorePolicy) -> [String] {
        p.rules.map { "  \($0.match): " + $0.recipients.map(\.description).joined(separator: ", ") }
    }
}

struct RecipientsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Print the sealing policy's rules and recipients (key ids and KMS key names, no key material).",
        discussion: """
        Examples:
          svcconf recipients list
          svcconf recipients list --store s3://cob-config/svcconf --format json
        """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format"))
    var format: ReportFormat = .text

    func run() async throws {
        let repo = try global.repository()
        let (n, policy) = try await repo.currentPolicy()
        switch format {
        case .json: Terminal.out(JSON.pretty(.object(RecipientsCommand.policyJSON(n, policy))))
        case .text: Terminal.out((["policy \(n) of \(repo.store.url); new versions are sealed for:"] + RecipientsCommand.render(policy)).joined(separator: "\n"))
        }
    }
}

struct RecipientsAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a recipient to a rule (created when missing); new versions are sealed for it too.",
        discussion: """
        A local:PATH that does not exist is generated (mode 0600), as `init` does: back it up. A new
        rule more specific than */* replaces */*'s recipients for the configs it matches, so give it
        every recipient those configs need. Existing versions are resealed for the new recipient by
        `svcconf rotate`.

        Examples:
          svcconf recipients add local:ops2.key && svcconf rotate --all
          svcconf recipients add kms:alias/{service}-prod --match '*/prod'
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("local:PATH or kms:KEY.", valueName: "recipient"))
    var recipient: String

    @Option(name: .long, help: ArgumentHelp("The rule, SERVICE/ENV with * wildcards (default: */*).", valueName: "pattern"))
    var match: String = "*/*"

    @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format"))
    var format: ReportFormat = .text

    func run() async throws {
        let c = try await global.repository().addRecipient(recipient, match: match)
        RecipientsEdit.report(c, verb: "added", format: format)
    }
}

struct RecipientsRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a recipient from a rule; new versions are no longer sealed for it.",
        discussion: """
        A local:PATH is recognized by the path the policy names, or by the key id of the key file at
        PATH. A rule is never left without recipients (exit 2); a recipient the rule does not have
        is an error (exit 3). The removed key still opens the versions written before: run
        `svcconf rotate` to reseal the current ones without it, and change the secrets it could read.

        Examples:
          svcconf recipients remove local:ops1.key && svcconf rotate --all
          svcconf recipients remove kms:alias/old-prod --match '*/prod'
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("local:PATH or kms:KEY.", valueName: "recipient"))
    var recipient: String

    @Option(name: .long, help: ArgumentHelp("The rule, SERVICE/ENV with * wildcards (default: */*).", valueName: "pattern"))
    var match: String = "*/*"

    @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format"))
    var format: ReportFormat = .text

    func run() async throws {
        let c = try await global.repository().removeRecipient(recipient, match: match)
        RecipientsEdit.report(c, verb: "removed", format: format)
    }
}

enum RecipientsEdit {
    static func report(_ c: ConfigRepository.RecipientsChange, verb: String, format: ReportFormat) {
        switch format {
        case .json:
            var o = RecipientsCommand.policyJSON(c.number, c.policy)
            o["changed"] = .bool(c.changed)
            o["match"] = .string(c.match)
            o["recipient"] = RecipientsCommand.refJSON(c.recipient)
            o["createdRule"] = .bool(c.createdRule)
            o["generated"] = c.generated.map { .object(["path": .string($0.path), "keyId": .string($0.keyId)]) } ?? .null
            Terminal.out(JSON.pretty(.object(o)))
        case .text:
            var lines: [String] = []
            if let g = c.generated {
                lines.append("generated key \(g.path) (key id \(g.keyId), mode 0600): back it up; it opens everything sealed for it")
            }
            if c.changed {
                lines.append("\(verb) \(c.recipient) \(verb == "added" ? "to" : "from") rule \(c.match)\(c.createdRule ? " (new rule)" : ""); policy \(c.number):")
            } else {
                lines.append("rule \(c.match) already has \(c.recipient); no changes (policy \(c.number)):")
            }
            lines += RecipientsCommand.render(c.policy)
            if c.changed { lines.append("existing versions are unchanged: run `svcconf rotate --all` to reseal them") }
            Terminal.out(lines.joined(separator: "\n"))
        }
    }
}
