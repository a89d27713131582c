import ArgumentParser
import SvcConf

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what changed between two versions, or between two envs, without showing secrets.",
        discussion: """
        Secrets appear as keyed fingerprints: equal values have equal fingerprints. Exit status as
        diff(1): 0 same, 1 different, greater than 1 on error. --from 0 compares with an empty config.

        Examples:
          svcconf diff access-boston --env prod                 (previous version -> latest)
          svcconf diff access-boston --env prod --from 3 --to 5
          svcconf diff access-boston --env staging --env prod   (latest of each)
          svcconf diff access-boston --env prod --format json
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The service.", valueName: "service"))
    var service: String

    @Option(name: .long, help: ArgumentHelp("The env; give it twice to compare two envs.", valueName: "env"))
    var env: [String] = []

    @Option(name: .long, help: ArgumentHelp("A variant inside the env(s).", valueName: "variant"))
    var variant: String?

    @Option(name: .long, help: ArgumentHelp("Old version (default: the one before --to; 0 = empty).", valueName: "n"))
    var from: Int64?

    @Option(name: .long, help: ArgumentHelp("New version (default: the latest).", valueName: "n"))
    var to: Int64?

    @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format"))
    var format: ReportFormat = .text

    func run() async throws {
        guard (1...2).contains(env.count) else { throw SvcConfError(.usage, "give --env once (two versions) or twice (two envs)") }
        let repo = try global.repository()
        let result: ConfigRepository.DiffResult
        if env.count == 2 {
            guard from == nil, to == nil else { throw SvcConfError(.usage, "--from/--to compare versions of one env; not with two --env") }
            let a = try ConfigAddress(service: service, env: env[0], variant: variant)
            let b = try ConfigAddress(service: service, env: env[1], variant: variant)
            result = try await repo.diffEnvs(a, b)
        } else {
            let a = try ConfigAddress(service: service, env: env[0], variant: variant)
            result = try await repo.diffVersions(a, from: from, to: to)
        }
        switch format {
        case .text: Terminal.out(result.diff.renderText(oldLabel: result.oldLabel, newLabel: result.newLabel))
        case .json: Terminal.out(JSON.pretty(result.diff.jsonValue(old: result.oldRef, new: result.newRef)))
        }
        if !result.diff.isEmpty { throw ExitCode(ExitStatus.differences) }
    }
}
