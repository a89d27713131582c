/// Reads and writes dotenv files (`KEY=VALUE` lines), the format the services' Node.js apps load
/// with the `dotenv` package.
///
/// ## Reading
/// The reader accepts a strict subset of what Node's `dotenv` accepts, and everything it accepts means
/// the same to both, so a file imported here gives each key exactly the value the app saw:
/// - blank lines and lines starting with `#` are skipped; an optional `export ` prefix is allowed;
/// - the key matches `^[A-Za-z_][A-Za-z0-9_.-]*$`; whitespace around `=` is ignored;
/// - an unquoted value is trimmed and ends at a `#` that follows whitespace (a comment); a `#` right
///   after a non-blank character is refused, because `dotenv` would cut the value there;
/// - a single-quoted (`'…'`) or backtick-quoted value is literal and may span lines;
/// - a double-quoted value may span lines and expands `\n` and `\r`; any other backslash sequence
///   (`\t`, `\"`, `\\`, …) is refused, because `dotenv` keeps such sequences as they are;
/// - after a closing quote only whitespace and a `#` comment may follow;
/// - CRLF line endings and a leading UTF-8 byte order mark are accepted.
///
/// A line without `=`, an invalid key, a duplicate key, an unterminated quote, a NUL byte, a lone
/// carriage return or invalid UTF-8 is an error naming the line; no error message quotes a value.
///
/// ## Writing
/// ``render(_:)`` writes one `KEY=VALUE` line per key, sorted, quoting each value in the first of these
/// forms that both `dotenv` and ``parse(_:source:)`` read back as exactly the same string:
/// 1. bare, when the value is non-empty and matches `^[A-Za-z0-9_./:@,+=%-]+$`;
/// 2. double quotes, when it contains no `"` and no `\` (newline and CR written as `\n`, `\r`);
/// 3. single quotes, when it contains no `'` and no CR and does not end with `\` (newlines raw);
/// 4. backticks, under the same conditions with `` ` `` in place of `'`.
///
/// A value that fits none of them (one with a `"` or `\` that also holds a CR, ends with `\`, or holds
/// both `'` and `` ` ``) cannot be written as dotenv and is an error naming its key.
public enum Dotenv {
    /// Parses a dotenv file into its entries, in file order.
    ///
    /// - Parameters:
    ///   - bytes: the file's contents.
    ///   - source: a name for the input (a file name), used in error messages.
    /// - Throws: ``SvcConfError`` of kind `.invalidInput`, with a message `SOURCE: line N: problem`.
    public static func parse(_ bytes: [UInt8], source: String) throws -> [(key: String, value: String)] {
        let lines = try splitLines(bytes, source: source)
        var entries: [(key: String, value: String)] = []
        var seen: Set<String> = []
        var i = 0
        while i < lines.count {
            let lineNumber = i + 1
            func fail(_ problem: String) -> SvcConfError {
                .invalidInput("\(source): line \(lineNumber): \(problem)")
            }
            var rest = lines[i].drop(while: isBlank)
            i += 1
            if rest.isEmpty || rest.first == "#" { continue }
            if rest.starts(with: "export".unicodeScalars), let c = rest.dropFirst(6).first, isBlank(c) {
                let afterExport = rest.dropFirst(6).drop(while: isBlank)
                if afterExport.first != "=" { rest = afterExport }
            }
            guard let eq = rest.firstIndex(of: "=") else { throw fail("expected KEY=VALUE") }
            let key = text(trimBlanks(rest[..<eq]))
            guard isKeyName(key) else { throw fail("invalid key name") }
            guard seen.insert(key).inserted else { throw fail("duplicate key \(Names.quoted(key))") }
            let raw = rest[(eq + 1)...].drop(while: isBlank)

            let value: String
            if let q = raw.first, q == "'" || q == "\"" || q == "`" {
                func content(_ s: ArraySlice<Unicode.Scalar>) throws -> String {
                    q == "\"" ? try expandEscapes(s, fail: fail) : text(s)
                }
                var quoted = ""
                var segment = raw.dropFirst()
                while true {
                    if let close = try closingQuote(q, in: segment, fail: fail) {
                        quoted += try content(segment[..<close])
                        if let c = segment[(close + 1)...].first(where: { !isBlank($0) }), c != "#" {
                            throw fail("unexpected text after the closing quote")
                        }
                        break
                    }
                    guard i < lines.count else { throw fail("unterminated quoted value") }
                    quoted += try content(segment) + "\n"
                    segment = lines[i][...]
                    i += 1
                }
                value = quoted
            } else {
                var end = raw.endIndex
                var previous: Unicode.Scalar = raw.startIndex == eq + 1 ? "=" : " "
                for idx in raw.indices {
                    if raw[idx] == "#" {
                        guard isBlank(previous) else {
                            throw fail("'#' inside an unquoted value (dotenv starts a comment there); quote the value")
                        }
                        end = idx
                        break
                    }
                    previous = raw[idx]
                }
                value = text(trimBlanks(raw[..<end]))
            }
            entries.append((key: key, value: value))
        }
        return entries
    }

    /// Parses a dotenv file into config values (every value a `.string`).
    ///
    /// - Throws: as ``parse(_:source:)``.
    public static func parseValues(_ bytes: [UInt8], source: String) throws -> [String: ConfigValue] {
        var values: [String: ConfigValue] = [:]
        for (key, value) in try parse(bytes, source: source) { values[key] = .string(value) }
        return values
    }

    /// Writes values as a dotenv file: `KEY=VALUE` lines sorted by key, each ending in a newline.
    ///
    /// Strings are written as they are, `null` as an empty value, other values as canonical JSON;
    /// see the type's documentation for how values are quoted.
    /// - Throws: ``SvcConfError`` of kind `.invalidInput` when a key is not an environment variable
    ///   name (`^[A-Za-z_][A-Za-z0-9_]*$`), a value contains a NUL byte, or a value cannot be quoted.
    public static func render(_ values: [String: ConfigValue]) throws -> String {
        var out = ""
        for key in JSON.sortedKeys(values) {
            try checkEnvironmentName(key)
            let text = try environmentText(values[key]!, key: key)
            out += key + "=" + (try quote(text, key: key)) + "\n"
        }
        return out
    }

    // MARK: - Shared with ShellExport

    /// Throws unless `key` is a portable environment variable name.
    static func checkEnvironmentName(_ key: String) throws {
        var bytes = key.utf8.makeIterator()
        guard let first = bytes.next(), isLetterOrUnderscore(first) else {
            throw invalidName(key)
        }
        while let b = bytes.next() {
            guard isLetterOrUnderscore(b) || isDigit(b) else { throw invalidName(key) }
        }
    }

    /// The text an environment variable holds for `value`: strings as-is, `null` empty,
    /// anything else canonical JSON. Throws when the text contains a NUL byte.
    static func environmentText(_ value: ConfigValue, key: String) throws -> String {
        let text: String
        switch value {
        case .string(let s): text = s
        case .null: text = ""
        default: text = JSON.canonicalString(value)
        }
        guard !text.utf8.contains(0) else {
            throw SvcConfError.invalidInput("the value of \(Names.quoted(key)) contains a nul byte")
        }
        return text
    }

    // MARK: - Private

    private static func invalidName(_ key: String) -> SvcConfError {
        .invalidInput("\(Names.quoted(key)) is not a valid environment variable name",
                      hint: "names must match ^[A-Za-z_][A-Za-z0-9_]*$")
    }

    private static func isBlank(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" }
    private static func isLetterOrUnderscore(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
    }
    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private static func text(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var s = ""
        s.unicodeScalars.append(contentsOf: scalars)
        return s
    }

    private static func trimBlanks(_ s: ArraySlice<Unicode.Scalar>) -> ArraySlice<Unicode.Scalar> {
        var s = s.drop(while: isBlank)
        while let last = s.last, isBlank(last) { s = s.dropLast() }
        return s
    }

    /// `^[A-Za-z_][A-Za-z0-9_.-]*$`
    private static func isKeyName(_ key: String) -> Bool {
        var bytes = key.utf8.makeIterator()
        guard let first = bytes.next(), isLetterOrUnderscore(first) else { return false }
        while let b = bytes.next() {
            guard isLetterOrUnderscore(b) || isDigit(b) || b == 0x2E || b == 0x2D else { return false }
        }
        return true
    }

    /// Splits the file into lines without their terminators, checking NUL bytes, lone CRs and UTF-8.
    private static func splitLines(_ bytes: [UInt8], source: String) throws -> [[Unicode.Scalar]] {
        var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var lines: [[Unicode.Scalar]] = []
        while true {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            var contentEnd = end
            if contentEnd > start && bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            let line = bytes[start..<contentEnd]
            let at = "\(source): line \(lines.count + 1)"
            if line.contains(0) { throw SvcConfError.invalidInput("\(at): nul byte") }
            if line.contains(0x0D) { throw SvcConfError.invalidInput("\(at): carriage return without line feed") }
            guard let text = String(validating: line, as: UTF8.self) else {
                throw SvcConfError.invalidInput("\(at): invalid utf-8")
            }
            lines.append(Array(text.unicodeScalars))
            if end == bytes.count { return lines }
            start = end + 1
        }
    }

    /// The index of the quote that closes a value quoted with `quote` in `segment` (the rest of a
    /// line inside the value), or nil when it does not close on this line. Inside double quotes a
    /// backslash takes the next character with it. Inside single quotes and backticks a backslash
    /// right before the quote is refused: Node's dotenv reads it as an escaped quote (the value goes
    /// on), a shell as a literal backslash (the value ends); svcconf will not guess.
    private static func closingQuote(_ quote: Unicode.Scalar, in segment: ArraySlice<Unicode.Scalar>,
                                     fail: (String) -> SvcConfError) throws -> Int? {
        var idx = segment.startIndex
        while idx < segment.endIndex {
            if segment[idx] == quote {
                if quote != "\"", idx > segment.startIndex, segment[idx - 1] == "\\" {
                    throw fail("a backslash before the closing \(quote) is ambiguous (dotenv and shells read it differently); use double quotes")
                }
                return idx
            }
            idx += quote == "\"" && segment[idx] == "\\" ? 2 : 1
        }
        return nil
    }

    /// Expands `\n` and `\r`; refuses every other backslash sequence.
    private static func expandEscapes(
        _ s: ArraySlice<Unicode.Scalar>, fail: (String) -> SvcConfError
    ) throws -> String {
        var out = ""
        var it = s.makeIterator()
        while let c = it.next() {
            guard c == "\\" else { out.unicodeScalars.append(c); continue }
            switch it.next() {
            case "n": out += "\n"
            case "r": out += "\r"
            default:
                throw fail("unsupported escape in a double-quoted value (dotenv expands only \\n and \\r); "
                    + "use single quotes")
            }
        }
        return out
    }

    private static func isBare(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { b in
            isLetterOrUnderscore(b) || isDigit(b) || "./:@,+=%-".utf8.contains(b)
        }
    }

    private static func quote(_ s: String, key: String) throws -> String {
        if isBare(s) { return s }
        let utf8 = s.utf8
        if !utf8.contains(0x22) && !utf8.contains(0x5C) {
            var out = "\""
            for c in s.unicodeScalars {
                switch c {
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                default: out.unicodeScalars.append(c)
                }
            }
            return out + "\""
        }
        let literalSafe = !utf8.contains(0x0D) && utf8.last != 0x5C
        if literalSafe && !utf8.contains(0x27) { return "'" + s + "'" }
        if literalSafe && !utf8.contains(0x60) { return "`" + s + "`" }
        throw SvcConfError.invalidInput(
            "the value of \(Names.quoted(key)) cannot be written as dotenv: "
                + "no quoting style that node's dotenv reads represents it exactly",
            hint: "use --format yaml or --format json")
    }
}
