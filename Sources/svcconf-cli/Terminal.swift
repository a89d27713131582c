#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SvcConf

/// Output discipline: data on stdout; diagnostics on stderr as `svcconf: error: ...` / `svcconf: hint: ...`.
enum Terminal {
    static func out(_ s: String) {
        var text = s
        if !text.hasSuffix("\n") { text += "\n" }
        writeAll(1, Array(text.utf8))
    }

    static func outRaw(_ bytes: [UInt8]) { writeAll(1, bytes) }

    static func note(_ s: String) { writeAll(2, Array("svcconf: \(s)\n".utf8)) }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) { ProcessHardening.writeAll(fd: fd, bytes) }

    static var stdinIsTerminal: Bool { isatty(0) == 1 }

    /// Reads one line from the terminal without echo, prompting on stderr. Echo comes back on every
    /// exit path, Ctrl-C included; end of input before a newline is an error, not an empty secret.
    static func readSecretLine(prompt: String) throws -> String {
        writeAll(2, Array(prompt.utf8))
        let haveTTY = tcgetattr(0, &savedTerminal) == 0
        if haveTTY {
            var raw = savedTerminal
            raw.c_lflag &= ~tcflag_t(ECHO)
            signal(SIGINT, restoreTerminalAndExit)
            signal(SIGTERM, restoreTerminalAndExit)
            signal(SIGHUP, restoreTerminalAndExit)
            tcsetattr(0, TCSAFLUSH, &raw)
        }
        defer {
            if haveTTY {
                tcsetattr(0, TCSAFLUSH, &savedTerminal)
                signal(SIGINT, SIG_DFL)
                signal(SIGTERM, SIG_DFL)
                signal(SIGHUP, SIG_DFL)
            }
            writeAll(2, [0x0A])
        }
        var line: [UInt8] = []
        var c: UInt8 = 0
        var sawNewline = false
        while read(0, &c, 1) == 1 {
            if c == 0x0A { sawNewline = true; break }
            line.append(c)
        }
        guard sawNewline else { throw SvcConfError(.usage, "no value entered (end of input)") }
        if line.last == 0x0D { line.removeLast() }
        guard let s = String(validating: line, as: UTF8.self) else {
            throw SvcConfError(.invalidInput, "the value typed is not valid UTF-8")
        }
        return s
    }
}

/// The terminal settings to restore if a signal arrives while echo is off.
nonisolated(unsafe) private var savedTerminal = termios()

/// Signal handler: turn echo back on, then die of the same signal (async-signal-safe calls only).
private func restoreTerminalAndExit(_ sig: Int32) {
    tcsetattr(0, TCSAFLUSH, &savedTerminal)
    signal(sig, SIG_DFL)
    raise(sig)
}
