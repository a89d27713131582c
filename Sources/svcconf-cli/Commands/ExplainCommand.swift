import ArgumentParser
import SvcConf

struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Say which layer (base, env, variant) each value and file of a config comes from.",
        discussion: """
        A config is its env layer merged over the service's base layer (--env base), and a variant \
        merged over both: maps merge key by key, anything else replaces, null deletes; files replace \
        whole files, deletedFiles removes them. explain prints the layer and version that set each \
        key (or KEY, a top-level key or a dotted path into nested values) and what it overrides. \
        It never prints a value.

        Examples:
          svcconf explain access-boston --env staging --variant dev
          svcconf explain access-boston --env prod PING_HOST
          svcconf explain access-boston --env prod --format json
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: TargetOptions

    @Argument(help: ArgumentHelp("A key, or a dotted path into nested values (default: every key and file).", valueName: "key"))
    var key: String?

    @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format"))
    var format: ReportFormat = .text

    func run() async throws {
        let address = try target.address()
        let path = key.map { $0.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }
        if let path, path.contains(where: \.isEmpty) { throw SvcConfError(.usage, "invalid key path \(Names.quoted(key ?? ""))") }
        let e = try await global.repository().explain(address, path: path)
        func describe(_ o: Layering.Origin) -> String {
            if !o.mergedFrom.isEmpty {
                return "merged from " + o.mergedFrom.map(\.description).joined(separator: ", ") + " (explain KEY.MEMBER for each member)"
            }
            return (o.deleted ? "deleted by " : "") + "\(o.layer) v\(o.version)"
                + (o.overrides.isEmpty ? "" : " (overrides " + o.overrides.map(\.description).joined(separator: ", ") + ")")
        }
        func json(_ o: Layering.Origin) -> ConfigValue {
            .object(["layer": .string(o.layer.description), "version": .int(o.version), "deleted": .bool(o.deleted),
                     "mergedFrom": .array(o.mergedFrom.map { .string($0.description) }),
                     "overrides": .array(o.overrides.map { .string($0.description) })])
        }
        switch format {
        case .json:
            Terminal.out(JSON.pretty(.object([
                "layers": .array(e.layers.map { .object(["layer": .string($0.address.description), "version": .int($0.version)]) }),
                "values": .object(Dictionary(uniqueKeysWithValues: e.values.map { ($0.path.joined(separator: "."), json($0.origin)) })),
                "files": .object(Dictionary(uniqueKeysWithValues: e.files.map { ($0.name, json($0.origin)) })),
            ])))
        case .text:
            var text = "# layers: " + e.layers.map { "\($0.address) v\($0.version)" }.joined(separator: " < ") + "\n"
            let width = (e.values.map { $0.path.joined(separator: ".").count } + e.files.map { $0.name.count + 5 }).max() ?? 0
            func pad(_ s: String) -> String { s + String(repeating: " ", count: max(1, width + 2 - s.count)) }
            for (path, origin) in e.values { text += pad(path.joined(separator: ".")) + describe(origin) + "\n" }
            for (name, origin) in e.files { text += pad("file " + name) + describe(origin) + "\n" }
            Terminal.out(text)
        }
    }
}
