import ArgumentParser
import SvcConf
import SvcConfYAML

struct SchemaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Store, show and list a service's JSON Schema (draft 2020-12), which every write and exec must satisfy.",
        discussion: """
        The schema types the values (top-level keys become environment variables), marks secrets with
        "writeOnly": true or "x-secret": true (everything the schema describes without marking it is
        shown in views and diffs), asserts formats (uri, email, hostname, ...), and describes files
        under "x-files" (a file with contentMediaType application/yaml or application/json is parsed
        and checked against its contentSchema).

        Examples:
          svcconf schema set access-boston schemas/services/access-boston.schema.json
          svcconf schema show access-boston
          svcconf schema history access-boston
        """,
        subcommands: [SchemaSetCommand.self, SchemaShowCommand.self, SchemaHistoryCommand.self])
}

struct SchemaSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Store a new schema for a service (checked against the 2020-12 metaschema first).",
        discussion: """
        Example:
          svcconf schema set access-boston schemas/services/access-boston.schema.json
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The service.", valueName: "service"))
    var service: String

    @Argument(help: ArgumentHelp("The schema file (.json, .yaml or .yml).", valueName: "file"))
    var file: String

    func run() async throws {
        try Names.check(service, as: "service")
        let document = try SchemaFile.read(file)
        let repo = try global.repository()
        let (stored, changed) = try await repo.setSchema(service, document: document)
        Terminal.out(changed ? "\(service): stored schema \(stored.number) (\(stored.schema.digest))"
                             : "\(service): no changes; schema \(stored.number) is already this document")
        // Tell the writer which current configs the new schema refuses (exec would refuse them too).
        for result in (try? await repo.check(service: service)) ?? [] {
            if let report = result.report, !report.isValid {
                Terminal.note("warning: \(result.address) version \(report.info.version) does not match schema \(stored.number) (\(report.issues.count) error(s)); `svcconf validate \(service) --env \(result.address.env)` lists them; exec refuses it until it is fixed")
            }
        }
    }
}

struct SchemaShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a service's schema (the latest, or --number N).",
        discussion: """
        Example:
          svcconf schema show access-boston > access-boston.schema.json
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The service.", valueName: "service"))
    var service: String

    @Option(name: .long, help: ArgumentHelp("Schema number (default: the latest).", valueName: "n"))
    var number: Int64?

    func run() async throws {
        try Names.check(service, as: "service")
        let repo = try global.repository()
        let stored: ConfigRepository.StoredSchema
        if let number {
            stored = try await repo.schema(service, number: number)
        } else {
            guard let current = try await repo.currentSchema(service) else {
                throw SvcConfError(.notFound, "\(service) has no schema", hint: "set one with `svcconf schema set \(service) FILE`")
            }
            stored = current
        }
        Terminal.out(JSON.pretty(stored.schema.document))
    }
}

struct SchemaHistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List a service's schemas with their digests (versions record the digest they were validated against).",
        discussion: """
        Example:
          svcconf schema history access-boston
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The service.", valueName: "service"))
    var service: String

    func run() async throws {
        try Names.check(service, as: "service")
        let all = try await global.repository().schemaHistory(service)
        guard !all.isEmpty else { throw SvcConfError(.notFound, "\(service) has no schema") }
        var rows = [["NUMBER", "DIGEST"]]
        for s in all.reversed() { rows.append([String(s.number), s.schema.digest.description]) }
        Terminal.out(Table.render(rows))
    }
}

/// A schema document from a JSON or YAML file.
enum SchemaFile {
    static func read(_ path: String) throws -> ConfigValue {
        let bytes = try InputFiles.read(path)
        switch ConfigFormat.guess(fromFileName: path) {
        case .json?: 
            do { return try JSON.parse(bytes) } catch { throw SvcConfError(.invalidInput, "\(path): \(error)") }
        case .yaml?:
            guard let text = String(validating: bytes, as: UTF8.self) else { throw SvcConfError(.invalidInput, "\(path): not valid UTF-8") }
            return try YAMLCodec.parse(text, source: path)
        default:
            throw SvcConfError(.usage, "cannot tell the format of \(path) from its name", hint: "name it *.json, *.yaml or *.yml")
        }
    }
}
