#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SvcConf

// `svcconf`: the command users and containers run.
//
// `svcconf exec ...` is the container entrypoint, so it is handled right here, in a binary without
// Foundation, YAML or argument-parsing libraries (they would add milliseconds to every container
// start). It calls the same core functions as `svcconf-cli`'s exec command. Every other command, and
// any exec command line this small parser does not fully recognise (--help, unknown flags, mistakes),
// is handed unchanged to `svcconf-cli`, installed next to this binary, which owns all of the CLI's
// semantics and messages.

ProcessHardening.apply()
let argv = CommandLine.arguments
if argv.count > 2, argv[1] == "exec", let request = ExecArguments.parse(Array(argv.dropFirst(2))) {
    do {
        try FastExec.run(request)
    } catch let e as SvcConfError {
        FastExec.writeStderr(ExitStatus.diagnostics(e))
        exit(ExitStatus.code(for: e.kind))
    } catch {
        FastExec.writeStderr("svcconf: error: \(error)\n")
        exit(ExitStatus.code(for: .internal))
    }
}
Forward.toFullCLI(argv)
