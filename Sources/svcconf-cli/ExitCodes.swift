import ArgumentParser
import SvcConf

/// Reports a failure the way every command does and returns its exit status (the mapping of
/// failure classes to statuses is `ExitStatus` in the core, shared with the `svcconf` launcher).
enum ExitCodes {
    static func report(_ error: any Error) -> Int32 {
        if let e = error as? SvcConfError {
            Terminal.writeAll(2, Array(ExitStatus.diagnostics(e).utf8))
            return ExitStatus.code(for: e.kind)
        }
        let code = Root.exitCode(for: error)
        if code == .success {
            Terminal.out(Root.fullMessage(for: error))
            return ExitStatus.success
        }
        guard code == .validationFailure else {
            // Not a usage error and not one of ours (e.g. a crypto backend failure): a bug.
            return report(SvcConfError(.internal, "unexpected failure: \(String(describing: error).prefix(200))"))
        }
        // An ArgumentParser usage error: its message is one line plus a usage block.
        let message = Root.message(for: error)
        let first = message.split(separator: "\n").first.map(String.init) ?? message
        let text = first.hasPrefix("Error: ") ? String(first.dropFirst(7)) : first
        return report(SvcConfError(.usage, text.prefix(1).lowercased() + text.dropFirst(),
                                   hint: "see `svcconf help` or `svcconf COMMAND --help`"))
    }
}
