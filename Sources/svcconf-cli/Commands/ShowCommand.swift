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

    @Flag(name: .long, help: "Show only this layer's own content (with its deletions: null values, deletedFiles), not the merge with base/env.")
    var layer = false

    @Option(name: .long, help: ArgumentHelp("Output format: yaml, json or env.", valueName: "format"))
    var format: OutputFormat = .yaml

    func run() async throws {
        let address = try target.address()
        let repo = try global.repository()
        let opened = layer ? try await repo.open(address, version: version) : try await repo.openEffective(address, version: version)
        let redactor = await repo.redactor(for: [opened])
        var doc = reveal ? opened.config.revealedDocument : redactor.redactedDocument(opened.config)
        if layer, !opened.config.deletedFiles.isEmpty, case .object(var o) = doc {
            o["deletedFiles"] = .array(opened.config.deletedFiles.sorted().map { .string($0) })
            doc = .object(o)
        }
        let over = opened.lowerLayers.map { "\($0.info.address) v\($0.info.version)" }
        let banner = "\(address) version \(opened.info.version) (\(opened.info.time), \(opened.info.author))"
            + (over.isEmpty ? "" : " over " + over.joined(separator: ", ")) + (layer ? " (this layer only)" : "") +
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
        let opened = try await global.repository().openEffective(address, version: version)
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
        let opened = try await global.repository().openEffective(address, version: version)
        Terminal.out(try ValuesCodec.render(opened.config.values, format: format))
        if !opened.config.files.isEmpty {
            Terminal.note("note: \(opened.config.files.count) file(s) not included; use `svcconf get --file NAME` or `exec --files-dir`")
        }
    }
}

extension ConfigFormat: ExpressibleByArgument {}
