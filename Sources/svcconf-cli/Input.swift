#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SvcConf

/// `KEY=VALUE` and `KEY:=JSON` arguments.
enum Assignment {
    static func parse(_ a: String) throws -> (String, ConfigValue) {
        if let r = a.firstRange(of: ":="), !a[..<r.lowerBound].contains("=") {
            let key = String(a[..<r.lowerBound])
            try checkKey(key)
            do {
                return (key, try JSON.parse(String(a[r.upperBound...])))
            } catch {
                throw SvcConfError(.invalidInput, "the value of \(key) is not valid JSON (\(error.reason))",
                                   hint: "KEY:=JSON takes a JSON value, e.g. PORT:=8080 or FLAGS:='[\"a\"]'; use KEY=VALUE for a string")
            }
        }
        guard let eq = a.firstIndex(of: "=") else {
            throw SvcConfError(.usage, "expected KEY=VALUE or KEY:=JSON, got an argument without '='",
                               hint: "to read a secret from stdin use --secret KEY")
        }
        let key = String(a[..<eq])
        try checkKey(key)
        return (key, .string(String(a[a.index(after: eq)...])))
    }

    static func checkKey(_ key: String) throws {
        guard Names.isEnvironmentName(key) else {
            throw SvcConfError(.usage, "invalid key \(Names.quoted(key))", hint: "keys become environment variables: letters, digits and '_', not starting with a digit")
        }
    }

}

/// Secret values from stdin: a no-echo prompt on a terminal; otherwise all of stdin for one key
/// (one trailing newline removed), or one line per key for several.
enum SecretInput {
    static func read(keys: [String]) throws -> [(String, String)] {
        guard !keys.isEmpty else { return [] }
        for k in keys { try Assignment.checkKey(k) }
        if Terminal.stdinIsTerminal {
            return try keys.map { ($0, try Terminal.readSecretLine(prompt: "value for \($0) (not echoed): ")) }
        }
        let bytes = try FileInput.readStandardInput()
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SvcConfError(.invalidInput, "standard input is not valid UTF-8")
        }
        if keys.count == 1 {
            var v = Substring(text)
            if v.hasSuffix("\r\n") { v = v.dropLast(2) } else if v.hasSuffix("\n") { v = v.dropLast() }
            return [(keys[0], String(v))]
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
        if lines.last == "" { lines.removeLast() }
        guard lines.count == keys.count else {
            throw SvcConfError(.usage, "expected \(keys.count) lines on standard input (one per --secret), got \(lines.count)")
        }
        return Array(zip(keys, lines))
    }
}

/// Files named on the command line.
enum InputFiles {
    static func read(_ path: String) throws -> [UInt8] {
        if path == "-" { return try FileInput.readStandardInput() }
        return try FileInput.read(path)
    }

    static func format(of path: String) throws -> ConfigFormat {
        guard let f = ConfigFormat.guess(fromFileName: path) else {
            throw SvcConfError(.usage, "cannot tell the format of \(path) from its name", hint: "name it *.yaml, *.json or *.env")
        }
        return f
    }

    /// `NAME=PATH` or `PATH` (name = base name).
    static func fileSpec(_ spec: String) -> (String, String) {
        if let eq = spec.firstIndex(of: "="), !spec[..<eq].contains("/") {
            return (String(spec[..<eq]), String(spec[spec.index(after: eq)...]))
        }
        return (String(spec.split(separator: "/").last ?? Substring(spec)), spec)
    }
}
