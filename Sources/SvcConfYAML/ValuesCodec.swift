import SvcConf
/// The one place the CLI turns value files into config values and back, in every ``ConfigFormat``.
public enum ValuesCodec {
    /// Reads the top-level values of a config from a file's bytes.
    ///
    /// YAML and JSON documents must be a mapping (object) of `KEY: value`; a dotenv file gives string
    /// values. `shell` cannot be read.
    /// - Parameters:
    ///   - bytes: the file's contents (UTF-8).
    ///   - format: how to read them.
    ///   - source: a name for the input (a file name), used in error messages.
    /// - Throws: ``SvcConfError`` of kind `.invalidInput` for malformed input, `.usage` for `shell`.
    public static func readValues(
        _ bytes: [UInt8], format: ConfigFormat, source: String
    ) throws -> [String: ConfigValue] {
        let document: ConfigValue
        switch format {
        case .env:
            return try Dotenv.parseValues(bytes, source: source)
        case .shell:
            throw SvcConfError.usage("shell is an output format only")
        case .json:
            do {
                document = try JSON.parse(bytes)
            } catch {
                throw SvcConfError.invalidInput("\(source): \(error)")
            }
        case .yaml:
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw SvcConfError.invalidInput("\(source): invalid utf-8")
            }
            document = try YAMLCodec.parse(text, source: source)
        }
        guard case .object(let values) = document else {
            throw SvcConfError.invalidInput("\(source): expected a mapping of KEY: value at the top level")
        }
        return values
    }

    /// Writes top-level values in `format`: YAML (`{}` when empty), pretty JSON, dotenv or shell
    /// `export` lines. Every format ends in a newline.
    /// - Throws: ``SvcConfError`` of kind `.invalidInput` when dotenv or shell cannot hold a key or value.
    public static func render(_ values: [String: ConfigValue], format: ConfigFormat) throws -> String {
        switch format {
        case .yaml: return YAMLCodec.render(.object(values))
        case .json: return JSON.pretty(.object(values))
        case .env: return try Dotenv.render(values)
        case .shell: return try ShellExport.render(values)
        }
    }
}
