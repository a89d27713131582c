import ArgumentParser
import SvcConf

/// The one place where failures become exit codes and `svcconf: error:` lines.
enum ExitCodes {
    /// Success (and, for `diff`, "no differences").
    static let success: Int32 = 0
    /// `diff`: the two sides differ.
    static let differences: Int32 = 1
    /// Bad flags, arguments or names.
    static let usage: Int32 = 2

    /// The exit code of each failure class (the README's table is generated from the same list).
    static func code(for kind: SvcConfError.Kind) -> Int32 {
        switch kind {
        case .usage: return 2
        case .notFound: return 3
        case .conflict: return 4
        case .validationFailed: return 5
        case .keyUnavailable: return 6
        case .tampered: return 7
        case .accessDenied: return 8
        case .unavailable: return 9
        case .invalidInput: return 10
        case .internal: return 70
        case .commandNotExecutable: return 126
        case .commandNotFound: return 127
        }
    }

    /// Prints `error` to stderr the way every command does and returns the exit code.
    static func report(_ error: any Error) -> Int32 {
        if let e = error as? SvcConfError {
            Terminal.error(e.message)
            if let hint = e.hint { Terminal.hint(hint) }
            return code(for: e.kind)
        }
        let code = Root.exitCode(for: error)
        if code == .success {
            Terminal.out(Root.fullMessage(for: error))
            return 0
        }
        // ArgumentParser: a usage error; its message is one line plus a usage block.
        let message = Root.message(for: error)
        let first = message.split(separator: "\n").first.map(String.init) ?? message
        Terminal.error(first.hasPrefix("Error: ") ? String(first.dropFirst(7)).lowercasedFirst() : first.lowercasedFirst())
        Terminal.hint("see `svcconf help` or `svcconf COMMAND --help`")
        return usage
    }
}

extension String {
    func lowercasedFirst() -> String {
        guard let f = first else { return self }
        return f.lowercased() + dropFirst()
    }
}
