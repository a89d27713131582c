#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import SvcConf
import SvcConfHTTP

/// Entry point: parse, run, and map any failure to one `svcconf: error:` line and its exit code.
@main
enum Entry {
    static func main() async {
        ProcessHardening.apply()
        URLSessionTransport.keepHomeClean()
        do {
            var command = try Root.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            exit(ExitStatus.success)
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            exit(ExitCodes.report(error))
        }
    }
}
