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

    /// Reads one line from the terminal without echo, prompting on stderr.
    static func readSecretLine(prompt: String) throws -> String {
        writeAll(2, Array(prompt.utf8))
        var old = termios()
        let haveTTY = tcgetattr(0, &old) == 0
        if haveTTY {
            var raw = old
            raw.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSAFLUSH, &raw)
        }
        defer {
            if haveTTY { tcsetattr(0, TCSAFLUSH, &old) }
            writeAll(2, [0x0A])
        }
        var line: [UInt8] = []
        var c: UInt8 = 0
        while read(0, &c, 1) == 1 {
            if c == 0x0A { break }
            line.append(c)
        }
        if line.last == 0x0D { line.removeLast() }
        guard let s = String(validating: line, as: UTF8.self) else {
            throw SvcConfError(.invalidInput, "the value typed is not valid UTF-8")
        }
        return s
    }
}
