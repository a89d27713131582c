import ArgumentParser
import SvcConf

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List a config's versions: author, time, message, schema digest (no key needed).",
        discussion: """
        Each version names its parent's digest; a break in that chain (a version replaced or removed
        in the store) is flagged and the command exits 7.

        Examples:
          svcconf history access-boston --env prod
          svcconf history access-boston --env prod --format json
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: TargetOptions

    @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format"))
    var format: ReportFormat = .text

    func run() async throws {
        let address = try target.address()
        let entries = try await global.repository().history(address)
        switch format {
        case .json:
            Terminal.out(JSON.pretty(.array(entries.reversed().map { e in
                var o = e.info.jsonValue.objectValue ?? [:]
                o["chainIntact"] = .bool(e.chainIntact)
                return .object(o)
            })))
        case .text:
            var rows = [["VERSION", "TIME", "AUTHOR", "SCHEMA", "MESSAGE"]]
            for e in entries.reversed() {
                rows.append([String(e.info.version) + (e.chainIntact ? "" : " !"), e.info.time.description, e.info.author,
                             e.info.schema?.short ?? "-", e.info.message.split(separator: "\n").first.map(String.init) ?? ""])
            }
            Terminal.out(Table.render(rows))
        }
        if let broken = entries.first(where: { !$0.chainIntact }) {
            throw SvcConfError(.tampered, "the version chain of \(address) is broken at version \(broken.info.version): a version was replaced or removed in the store")
        }
    }
}

struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Write a new version equal to an older one (history is never rewritten).",
        discussion: """
        Example:
          svcconf rollback access-boston --env prod --to 4 -m "undo the redis move"
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: TargetOptions

    @Option(name: .long, help: ArgumentHelp("The version to return to.", valueName: "n"))
    var to: Int64

    @Option(name: .shortAndLong, help: ArgumentHelp("Change message (default: rollback to version N).", valueName: "message"))
    var message: String?

    func run() async throws {
        let address = try target.address()
        let result = try await global.repository().rollback(address, to: to, message: message)
        Report.update(result, address)
    }
}

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the services, envs and variants in the store with their latest versions.",
        discussion: """
        Examples:
          svcconf list
          svcconf list --store file:/srv/configs --format json
        """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format"))
    var format: ReportFormat = .text

    func run() async throws {
        let (infos, problems) = try await global.repository().list()
        switch format {
        case .json:
            Terminal.out(JSON.pretty(.array(infos.map(\.jsonValue))))
        case .text:
            var rows = [["SERVICE", "ENV", "VARIANT", "VERSION", "TIME", "AUTHOR"]]
            for i in infos {
                rows.append([i.address.service, i.address.env, i.address.variant ?? "-", String(i.version), i.time.description, i.author])
            }
            Terminal.out(Table.render(rows))
        }
        // Unreadable configs are reported after the table (one error line each); the last decides the exit status.
        for p in problems.dropLast() { Terminal.writeAll(2, Array(ExitStatus.diagnostics(p).utf8)) }
        if let last = problems.last { throw last }
    }
}

/// Left-aligned columns separated by two spaces.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        var widths = [Int](repeating: 0, count: first.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count - 1 { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            r.enumerated().map { i, c in i < r.count - 1 ? c + String(repeating: " ", count: widths[i] - c.count) : c }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
