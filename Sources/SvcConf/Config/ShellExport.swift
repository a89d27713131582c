/// Writes values as POSIX shell `export` statements, for `. FILE` or `eval "$(svcconf export …)"`.
public enum ShellExport {
    /// One `export KEY='VALUE'` line per key, sorted by key, each ending in a newline.
    ///
    /// Values are single-quoted, with each `'` written as `'\''`, so the shell reads every byte
    /// literally (`$`, backticks, backslashes and newlines included). Strings are written as they are,
    /// `null` as an empty value, other values as canonical JSON (as ``Dotenv/render(_:)`` does).
    /// - Throws: ``SvcConfError`` of kind `.invalidInput` when a key is not an environment variable
    ///   name (`^[A-Za-z_][A-Za-z0-9_]*$`) or a value contains a NUL byte.
    public static func render(_ values: [String: ConfigValue]) throws -> String {
        var out = ""
        for key in JSON.sortedKeys(values) {
            try Dotenv.checkEnvironmentName(key)
            out += "export " + key + "='"
            for c in try Dotenv.environmentText(values[key]!, key: key).unicodeScalars {
                if c == "'" { out += "'\\''" } else { out.unicodeScalars.append(c) }
            }
            out += "'\n"
        }
        return out
    }
}
