import ArgumentParser
import SvcConf
import SvcConfYAML

struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a config against its service's schema, listing every error; writes nothing.",
        discussion: """
        With SVC --env E: the latest version (or --version N) against the service's current schema.
        With --schema FILE CONFIG_FILE: a values file (.env, .yaml, .json) against a schema file, no
        store needed (values from a dotenv file are typed as the schema asks: "8080" -> 8080).
        Errors name the value by JSON Pointer and never show it. Exit 0 valid, 5 invalid.

        Examples:
          svcconf validate access-boston --env prod
          svcconf validate --schema schemas/services/access-boston.schema.json examples/access-boston/prod/.env
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("SERVICE (with --env), or the config file (with --schema).", valueName: "service-or-file"))
    var target: String

    @Option(name: .long, help: ArgumentHelp("The env.", valueName: "env"))
    var env: String?

    @Option(name: .long, help: ArgumentHelp("A variant inside the env.", valueName: "variant"))
    var variant: String?

    @Option(name: .long, help: ArgumentHelp("Version (default: the latest).", valueName: "n"))
    var version: Int64?

    @Option(name: .long, help: ArgumentHelp("Validate CONFIG_FILE against this schema file instead.", valueName: "file"))
    var schema: String?

    @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format"))
    var format: ReportFormat = .text

    func run() async throws {
        let issues: [ServiceSchema.Issue]
        let label: String
        if let schema {
            guard env == nil, variant == nil, version == nil else {
                throw SvcConfError(.usage, "--schema FILE takes a config file, not --env/--variant/--version")
            }
            let compiled = try ServiceSchema(document: try SchemaFile.read(schema))
            let values = compiled.coerce(try ValuesCodec.readValues(try InputFiles.read(target), format: try InputFiles.format(of: target), source: target))
            issues = compiled.validate(Config(values: values))
            label = target
        } else {
            guard let env else { throw SvcConfError(.usage, "give SVC --env E, or --schema FILE CONFIG_FILE") }
            let address = try ConfigAddress(service: target, env: env, variant: variant)
            let report = try await global.repository().validate(address, version: version)
            guard report.schema != nil else {
                Terminal.out("\(address) version \(report.info.version): \(address.service) has no schema; nothing to check")
                return
            }
            issues = report.issues
            label = "\(address) version \(report.info.version)"
        }
        switch format {
        case .json:
            Terminal.out(JSON.pretty(.object(["valid": .bool(issues.isEmpty), "errors": .array(issues.map(\.jsonValue))])))
        case .text:
            Terminal.out(issues.isEmpty ? "\(label): valid" : "\(label): \(issues.count) error\(issues.count == 1 ? "" : "s")\n"
                         + issues.map { "  " + $0.description }.joined(separator: "\n"))
        }
        if !issues.isEmpty { throw ExitCode(ExitStatus.code(for: .validationFailed)) }
    }
}

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "For CI: every config's latest version opens and matches its schema. Prints no plaintext.",
        discussion: """
        One line per config; exit 0 when all pass, else the exit status of the first failure class
        (5 invalid, 6 no key, 7 tampered).

        Example:
          svcconf check --store file:.svcconf
        """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format"))
    var format: ReportFormat = .text

    func run() async throws {
        let results = try await global.repository().check()
        var worst: SvcConfError.Kind?
        var json: [ConfigValue] = []
        var lines: [String] = []
        for r in results {
            if let f = r.failure {
                worst = worst ?? f.kind
                lines.append("FAIL \(r.address): \(f.message)")
                json.append(.object(["config": .string(r.address.description), "ok": false, "error": .string(f.message)]))
            } else if let report = r.report {
                let schemaText = report.schema.map { "schema \($0.number)" } ?? "no schema"
                if report.isValid {
                    lines.append("ok   \(r.address) version \(report.info.version) (\(schemaText))")
                } else {
                    worst = worst ?? .validationFailed
                    lines.append("FAIL \(r.address) version \(report.info.version): \(report.issues.count) schema error(s)")
                    lines += report.issues.map { "       " + $0.description }
                }
                json.append(.object(["config": .string(r.address.description), "version": .int(report.info.version),
                                     "ok": .bool(report.isValid), "errors": .array(report.issues.map(\.jsonValue))]))
            }
        }
        switch format {
        case .json: Terminal.out(JSON.pretty(.array(json)))
        case .text: Terminal.out(lines.isEmpty ? "no configs" : lines.joined(separator: "\n"))
        }
        if let worst { throw ExitCode(ExitStatus.code(for: worst)) }
    }
}
