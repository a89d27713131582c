import ArgumentParser
import SvcConf
import SvcConfYAML

struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a config against its service's schema, listing every error; writes nothing.",
        discussion: """
        With SVC --env E: the latest version (or --version N) against the service's current schema.
        With --schema FILE CONFIG_FILE [--file NAME=PATH]...: a values file (.env, .yaml, .json) and the
        config's files against a schema file, no store needed (values from a dotenv file are typed as
        the schema asks: "8080" -> 8080).
        Errors name the value by JSON Pointer and never show it. Exit 0 valid, 5 invalid.

        Examples:
          svcconf validate access-boston --env prod
          svcconf validate --schema schemas/services/access-boston.schema.json examples/access-boston/prod/.env \\
              --file apps.yaml=examples/access-boston/prod/apps.yaml
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

    @Option(name: .customLong("file"), help: ArgumentHelp("With --schema: a file of the config, NAME=PATH or PATH (repeatable).", valueName: "file"))
    var files: [String] = []

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
            var fileContents: [String: [UInt8]] = [:]
            for spec in files {
                let (name, path) = InputFiles.fileSpec(spec)
                fileContents[name] = try InputFiles.read(path)
            }
            issues = compiled.validate(Config(values: values, files: fileContents), parseYAML: YAMLFiles.parse)
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
        One line per config; exit 0 when all pass, else the exit status of the most severe failure
        (7 tampered or corrupt, then 6 no key, then 5 invalid, then any other).

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
                worst = Severity.worse(worst, f.kind)
                lines.append("FAIL \(r.address): \(f.message)")
                json.append(.object(["config": .string(r.address.description), "ok": false, "error": .string(f.message)]))
            } else if let report = r.report {
                let schemaText = report.schema.map { "schema \($0.number)" } ?? "no schema"
                if report.isValid {
                    lines.append("ok   \(r.address) version \(report.info.version) (\(schemaText))")
                } else {
                    worst = Severity.worse(worst, .validationFailed)
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

/// Which failure decides `check`'s exit status when several configs fail.
enum Severity {
    static func rank(_ k: SvcConfError.Kind) -> Int {
        switch k {
        case .tampered: return 4
        case .keyUnavailable: return 3
        case .validationFailed: return 2
        default: return 1
        }
    }

    static func worse(_ a: SvcConfError.Kind?, _ b: SvcConfError.Kind) -> SvcConfError.Kind {
        guard let a else { return b }
        return rank(b) > rank(a) ? b : a
    }
}
