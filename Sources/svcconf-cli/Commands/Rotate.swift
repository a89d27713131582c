import ArgumentParser
import SvcConf

struct RotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Reseal the latest version under a fresh data key and the policy's current recipients.",
        discussion: """
        Writes a new version with the same config, sealed under a fresh data key for the recipients
        the store policy names now (`svcconf recipients`): after adding a key, the new version opens
        with it; after removing one, the new version no longer opens with it. Older versions are
        never rewritten and stay sealed to whoever could open them. When the recipients changed, the
        new version also gets a new fingerprint key (secret fingerprints change once). A concurrent
        write is never lost: the newer version is resealed instead.

        --all rotates every config in the store (every service, env and variant, `base` layers
        included), one line each (rotated N -> M, skipped, or failed: reason), going on past
        failures; the exit status is that of the most severe failure (7 tampered, then 6 no key,
        then any other). It prints a run id first, and every version it writes says
        `rotate (run ID)`: `--resume ID` finishes an interrupted or partly failed run, skipping the
        configs that run already rotated.

        Examples:
          svcconf rotate access-boston --env prod
          svcconf rotate access-boston --env staging --variant dev -m "quarterly key rotation"
          svcconf rotate --all
          svcconf rotate --all --resume r-20261126T193000Z-3fa2 --format json
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The service (not with --all).", valueName: "service"))
    var service: String?

    @Option(name: .long, help: ArgumentHelp("The environment.", valueName: "env"))
    var env: String?

    @Option(name: .long, help: ArgumentHelp("A variant inside the environment.", valueName: "variant"))
    var variant: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Change message (default: rotate).", valueName: "message"))
    var message: String?

    @Flag(name: .long, help: "Rotate every config in the store.")
    var all = false

    @Option(name: .long, help: ArgumentHelp("With --all: finish run ID, skipping configs it already rotated.", valueName: "run-id"))
    var resume: String?

    @Option(name: .long, help: ArgumentHelp("text or json.", valueName: "format"))
    var format: ReportFormat = .text

    func run() async throws {
        if all {
            guard service == nil, env == nil, variant == nil, message == nil else {
                throw SvcConfError(.usage, "--all takes no SERVICE, --env, --variant or -m", hint: "each version it writes says `rotate (run ID)`")
            }
            try await runAll()
            return
        }
        guard resume == nil else { throw SvcConfError(.usage, "--resume goes with --all") }
        guard let service, let env else { throw SvcConfError(.usage, "give SVC --env E, or --all") }
        let address = try ConfigAddress(service: service, env: env, variant: variant)
        let r = try await global.repository().rotate(address, message: message ?? "rotate")
        switch format {
        case .json: Terminal.out(JSON.pretty(Self.json(.rotated(r))))
        case .text: Terminal.out(Self.line(.rotated(r)))
        }
    }

    func runAll() async throws {
        if let resume { try ConfigRepository.RotationRun.check(resume) }
        let repo = try global.repository()
        let id = try resume ?? ConfigRepository.RotationRun.newID(now: repo.clock())
        let results = try await repo.rotateAll(runID: id, resuming: resume != nil, started: {
            if format == .text { Terminal.out((resume == nil ? "rotation run " : "resuming rotation run ") + id) }
        }) { outcome in
            if format == .text { Terminal.out(Self.line(outcome)) }
        }
        var worst: SvcConfError.Kind?
        for case .failed(_, let e) in results { worst = Severity.worse(worst, e.kind) }
        switch format {
        case .json:
            Terminal.out(JSON.pretty(.object(["run": .string(id), "resumed": .bool(resume != nil),
                                              "results": .array(results.map(Self.json))])))
        case .text:
            if results.isEmpty { Terminal.out("no configs") }
        }
        if let worst {
            let failed = results.filter { if case .failed = $0 { return true } else { return false } }.count
            Terminal.writeAll(2, Array(ExitStatus.diagnostics(SvcConfError(
                worst, "\(failed) of \(results.count) config(s) were not rotated (run \(id))",
                hint: "fix them, then finish with `svcconf rotate --all --resume \(id)`")).utf8))
            throw ExitCode(ExitStatus.code(for: worst))
        }
    }

    static func line(_ o: ConfigRepository.RotationOutcome) -> String {
        switch o {
        case .rotated(let r):
            return "rotated \(r.address) \(r.oldVersion) -> \(r.new.version); sealed to " + r.sealedTo.joined(separator: ", ")
                + (r.fingerprintKeyRenewed ? " (recipients changed: new fingerprint key)" : "")
        case .skipped(let a, let n, let reason):
            return "skipped \(a) at version \(n): \(reason)"
        case .failed(let a, let e):
            return "failed  \(a): \(e.message)"
        }
    }

    static func json(_ o: ConfigRepository.RotationOutcome) -> ConfigValue {
        var obj: [String: ConfigValue] = ["config": .string(o.address.description)]
        switch o {
        case .rotated(let r):
            obj["status"] = "rotated"
            obj["from"] = .int(r.oldVersion)
            obj["to"] = .int(r.new.version)
            obj["recipients"] = .array(r.sealedTo.map { .string($0) })
            obj["fingerprintKeyRenewed"] = .bool(r.fingerprintKeyRenewed)
        case .skipped(_, let n, let reason):
            obj["status"] = "skipped"
            obj["version"] = .int(n)
            obj["reason"] = .string(reason)
        case .failed(_, let e):
            obj["status"] = "failed"
            obj["error"] = .string(e.message)
            obj["exitCode"] = .int(Int64(ExitStatus.code(for: e.kind)))
        }
        return .object(obj)
    }
}
