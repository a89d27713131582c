import ArgumentParser
import SvcConf
import SvcConfAWS
import SvcConfHTTP

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Bring in today's layout (a folder or s3:// prefix: SERVICE/.env, files, variant sub-folders) as one env.",
        discussion: """
        SOURCE holds one folder per service. SERVICE/.env and SERVICE's other files become the env
        layer SERVICE --env E; each sub-folder SERVICE/VARIANT/ becomes the variant layer (its files,
        and, when it has its own .env, the values that differ from SERVICE/.env plus deletions of the
        keys it lacks). X_KMS_ENCRYPTED values are decrypted with AWS KMS and stored as X. Folders
        below SERVICE/VARIANT/ are refused. Everything is read, decrypted and validated before
        anything is written; a value that cannot be decrypted stops the import (exit 6) unless
        --skip-undecryptable. Importing again writes nothing ("unchanged").

        Examples:
          svcconf import s3://cob-digital-apps-staging-config --env staging --dry-run
          svcconf import s3://cob-digital-apps-staging-config --env staging --service access-boston
          svcconf import ./prod-config --env prod --format json -m "move to svcconf"
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("A local folder or s3://BUCKET[/PREFIX].", valueName: "source"))
    var source: String

    @Option(name: .long, help: ArgumentHelp("The env to import into (today one bucket is one env).", valueName: "env"))
    var env: String

    @Option(name: .long, help: ArgumentHelp("Only this service (repeatable; default: every service folder).", valueName: "service"))
    var service: [String] = []

    @Flag(name: .customLong("dry-run"), help: "Show what would be written, as redacted diffs; write nothing.")
    var dryRun = false

    @Flag(name: .customLong("skip-undecryptable"), help: "Import without the values that cannot be decrypted (they are listed).")
    var skipUndecryptable = false

    @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format"))
    var format: ReportFormat = .text

    @Option(name: .shortAndLong, help: ArgumentHelp("Change message (default: import from SOURCE).", valueName: "message"))
    var message: String?

    func run() async throws {
        try Names.check(env, as: "env")
        for s in service { try Names.check(s, as: "service") }
        let repo = try global.repository()
        let importSource: any ImportSource
        if source.hasPrefix("s3://") {
            let client: S3Client
            do {
                client = try S3Client.fromEnvironment(transport: LazyURLSessionTransport(), endpoint: global.endpointURL)
            } catch let e as AWSError {
                throw SvcConfError(.usage, "cannot set up S3 for \(source): \(e.message)",
                                   hint: "set AWS_REGION (or AWS_DEFAULT_REGION, or region in the AWS profile)")
            }
            importSource = try S3ImportSource(url: source, client: client)
        } else {
            importSource = try LocalImportSource(path: source.hasPrefix("file:") ? String(source.dropFirst(5)) : source)
        }
        let importer = Importer(repository: repo, source: importSource, decrypter: repo.keyring.kms.map { KMSImportDecrypter(client: $0) })
        let plan = try await importer.plan(.init(env: env, services: service, skipUndecryptable: skipUndecryptable, message: message))
        for w in plan.warnings { Terminal.note("warning: " + w) }
        for s in plan.skipped { Terminal.note("warning: skipped \(s.description)") }
        let outcomes = dryRun ? nil : try await importer.apply(plan)
        switch format {
        case .text: Terminal.out(Self.text(plan, outcomes))
        case .json: Terminal.out(JSON.pretty(Self.json(plan, outcomes)))
        }
    }

    static func text(_ plan: Importer.Plan, _ outcomes: [(address: ConfigAddress, outcome: Importer.Outcome)]?) -> String {
        var out = ""
        if let outcomes {
            for (address, outcome) in outcomes {
                switch outcome {
                case .created(let n): out += "\(address): created version \(n)\n"
                case .updated(let from, let to): out += "\(address): updated version \(from) -> \(to)\n"
                case .unchanged(let n): out += "\(address): unchanged" + (n.map { " (version \($0))" } ?? "") + "\n"
                }
            }
        } else {
            for layer in plan.layers {
                switch layer.action {
                case .create: out += "\(layer.address): would create version 1\n"
                case .update(let from): out += "\(layer.address): would update version \(from) -> \(from + 1)\n"
                case .unchanged(let n): out += "\(layer.address): unchanged (version \(n))\n"
                }
                if case .unchanged = layer.action {} else if !layer.diff.isEmpty {
                    out += layer.diff.renderText(oldLabel: layer.oldLabel, newLabel: layer.newLabel)
                        .split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "    " + $0 }
                        .joined(separator: "\n")
                }
            }
            out += "dry run: nothing was written\n"
        }
        return out
    }

    static func json(_ plan: Importer.Plan, _ outcomes: [(address: ConfigAddress, outcome: Importer.Outcome)]?) -> ConfigValue {
        func ref(_ a: ConfigAddress) -> [String: ConfigValue] {
            ["service": .string(a.service), "env": .string(a.env), "variant": a.variant.map { .string($0) } ?? .null]
        }
        var layers: [ConfigValue] = []
        if let outcomes {
            for (address, outcome) in outcomes {
                var o = ref(address)
                switch outcome {
                case .created(let n): o["result"] = .string("created"); o["version"] = .int(n); o["previousVersion"] = .null
                case .updated(let from, let to): o["result"] = .string("updated"); o["version"] = .int(to); o["previousVersion"] = .int(from)
                case .unchanged(let n): o["result"] = .string("unchanged"); o["version"] = n.map { .int($0) } ?? .null; o["previousVersion"] = o["version"]
                }
                layers.append(.object(o))
            }
        } else {
            for layer in plan.layers {
                var o = ref(layer.address)
                switch layer.action {
                case .create: o["result"] = .string("would create"); o["version"] = .int(1); o["previousVersion"] = .null
                case .update(let from): o["result"] = .string("would update"); o["version"] = .int(from + 1); o["previousVersion"] = .int(from)
                case .unchanged(let n): o["result"] = .string("unchanged"); o["version"] = .int(n); o["previousVersion"] = .int(n)
                }
                o["diff"] = layer.diff.jsonValue(old: .string(layer.oldLabel), new: .string(layer.newLabel))
                layers.append(.object(o))
            }
        }
        return .object([
            "source": .string(plan.source), "env": .string(plan.env), "dryRun": .bool(outcomes == nil),
            "message": .string(plan.message), "layers": .array(layers),
            "skipped": .array(plan.skipped.map(\.jsonValue)), "warnings": .array(plan.warnings.map { .string($0) }),
        ])
    }
}
