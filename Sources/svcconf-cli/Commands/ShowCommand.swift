import ArgumentParser
import SvcConf
import SvcConfYAML

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a config; secrets are shown as keyed fingerprints unless --reveal.",
        discussion: """
        Examples:
          svcconf show access-boston --env prod
          svcconf show access-boston --env prod --version 3 --format json
          svcconf show access-boston --env staging --reveal
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: TargetOptions

    @Option(name: .long, help: ArgumentHelp("Version to show (default: the latest).", valueName: "n"))
    var version: Int64?

    @Flag(name: .long, help: "Show secret values in plaintext.")
    var reveal = false

    @Option(name: .long, help: ArgumentHelp("Output format: yaml, json or env.", valueName: "format"))
    var format: OutputFormat = .yaml

    func run() async throws {
        let address = try target.address()
        let repo = try global.repository()
        let opened = try await repo.open(address, version: version)
        let redactor = await repo.redactor(for: [opened])
        let doc = reveal ? opened.config.revealedDocument : redactor.redactedDocument(opened.config)
        let banner = "\(address) version \(opened.info.version) (\(opened.info.time), \(opened.info.author))" +
            (reveal ? ": PLAINTEXT" : ": secrets redacted; --reveal shows them")
        switch format {
        case .json:
            Terminal.out(JSON.pretty(doc))
        case .yaml:
            Terminal.out("# \(banner)\n" + YAMLCodec.render(doc))
        case .env:
            var text = "# \(banner)\n"
            text += try Dotenv.render(doc["values"]?.objectValue ?? [:])
            for (name, shown) in (doc["files"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                text += "# file \(name): " + (reveal ? "\(opened.config.files[name]?.count ?? 0) bytes (see `svcconf get --file \(name)`)" : shown.stringValue ?? "") + "\n"
            }
            Terminal.out(text)
        }
    }
}

struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Print one value (or file) in plaintext, for scripts.",
        discussion: """
        Strings print as they are, other values as JSON; --file prints a file's bytes unchanged.

        Examples:
          svcconf get access-boston --env staging PING_HOST
          svcconf get access-boston --env staging --file apps.yaml > apps.yaml
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: TargetOptions

    @Argument(help: ArgumentHelp("The key.", valueName: "key"))
    var key: String?

    @Option(name: .customLong("file"), help: ArgumentHelp("Print this file instead of a value.", valueName: "name"))
    var file: String?

    @Option(name: .long, help: ArgumentHelp("Version (default: the latest).", valueName: "n"))
    var version: Int64?

    func run() async throws {
        let address = try target.address()
        guard (key == nil) != (file == nil) else { throw SvcConfError(.usage, "give either KEY or --file NAME") }
        let opened = try await global.repository().open(address, version: version)
        if let file {
            guard let bytes = opened.config.files[file] else {
                throw SvcConfError(.notFound, "\(address) version \(opened.info.version) has no file \(Names.quoted(file))")
            }
            Terminal.outRaw(bytes)
            return
        }
        guard let key, let v = opened.config.values[key] else {
            throw SvcConfError(.notFound, "\(address) version \(opened.info.version) has no key \(Names.quoted(key ?? ""))")
        }
        if case .string(let s) = v { Terminal.out(s) } else { Terminal.out(JSON.canonicalString(v)) }
    }
}

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print the values in plaintext as env, json, yaml or shell, for tools that need a file.",
        discussion: """
        The output is plaintext: redirect it only to a private place.

        Examples:
          svcconf export access-boston --env staging --format env > /dev/shm/app.env
          eval "$(svcconf export access-boston --env staging --format shell)"
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: TargetOptions

    @Option(name: .long, help: ArgumentHelp("env, json, yaml or shell.", valueName: "format"))
    var format: ConfigFormat

    @Option(name: .long, help: ArgumentHelp("Version (default: the latest).", valueName: "n"))
    var version: Int64?

    func run() async throws {
        let address = try target.address()
        let opened = try await global.repository().open(address, version: version)
        Terminal.out(try ValuesCodec.render(opened.config.values, format: format))
        if !opened.config.files.isEmpty {
            Terminal.note("note: \(opened.config.files.count) file(s) not included; use `svcconf get --file NAME` or `exec --files-dir`")
        }
    }
}

extension ConfigFormat: ExpressibleByArgument {}
