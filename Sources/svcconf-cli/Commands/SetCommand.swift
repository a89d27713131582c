import ArgumentParser
import SvcConf
import SvcConfYAML

struct SetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set values and files, writing a new version.",
        discussion: """
        KEY=VALUE sets a string; KEY:=JSON sets any JSON value. Arguments are visible to other users
        of the machine, so pass secrets with --secret KEY (read from stdin, without echo on a
        terminal) or --from FILE. When someone else writes meanwhile, the change is re-applied on top
        of their version (never lost); --expect-version N refuses instead.

        Examples:
          svcconf set access-boston --env staging PING_HOST=sso.example.test HAPI_REDIS_CACHE_PORT:=6379
          printf %s "$PASSWORD" | svcconf set access-boston --env prod --secret SESSION_COOKIE_PASSWORD
          svcconf set access-boston --env staging --from staging.env --file apps.yaml -m "import"
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: TargetOptions

    @Argument(help: ArgumentHelp("KEY=VALUE (string) or KEY:=JSON.", valueName: "assignment"))
    var assignments: [String] = []

    @Option(name: .customLong("secret"), help: ArgumentHelp("Read KEY's value from stdin (repeatable; one line each when several).", valueName: "key"))
    var secrets: [String] = []

    @Option(name: .customLong("from"), help: ArgumentHelp("Merge values from a YAML, JSON or dotenv file.", valueName: "file"))
    var fromFiles: [String] = []

    @Option(name: .customLong("file"), help: ArgumentHelp("Add a named file: NAME=PATH, or PATH (named after its base name).", valueName: "file"))
    var files: [String] = []

    @Option(name: .shortAndLong, help: ArgumentHelp("Change message.", valueName: "message"))
    var message: String = ""

    @Option(name: .customLong("expect-version"), help: ArgumentHelp("Fail with a conflict unless the latest version is N (0: none yet).", valueName: "n"))
    var expectVersion: Int64?

    func run() async throws {
        let address = try target.address()
        var values: [String: ConfigValue] = [:]
        for path in fromFiles {
            let format = try InputFiles.format(of: path)
            for (k, v) in try ValuesCodec.readValues(try InputFiles.read(path), format: format, source: path) { values[k] = v }
        }
        for a in assignments {
            let (k, v) = try Assignment.parse(a)
            values[k] = v
        }
        for (k, v) in try SecretInput.read(keys: secrets) { values[k] = .string(v) }
        var newFiles: [String: [UInt8]] = [:]
        for spec in files {
            let (name, path) = InputFiles.fileSpec(spec)
            newFiles[name] = try InputFiles.read(path)
        }
        guard !values.isEmpty || !newFiles.isEmpty else {
            throw SvcConfError(.usage, "nothing to set", hint: "give KEY=VALUE, --secret KEY, --from FILE or --file NAME=PATH")
        }
        let repo = try global.repository()
        let newValues = values, addedFiles = newFiles
        let result = try await repo.update(address, expectedVersion: expectVersion,
                                           message: message.isEmpty ? "set " + Report.names(JSON.sortedKeys(values) + JSON.sortedKeys(newFiles).map { "file " + $0 }) : message) { config in
            for (k, v) in newValues { config.values[k] = v }
            for (n, b) in addedFiles { config.files[n] = b }
        }
        Report.update(result, address)
    }
}

struct UnsetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unset",
        abstract: "Remove values or files, writing a new version.",
        discussion: """
        In an env or variant layer, removing a key or file that a lower layer (base, env) supplies
        records a deletion in this layer (a null value, a deleted file), so the program no longer gets it.

        Examples:
          svcconf unset access-boston --env staging GOOGLE_TRACKING_ID -m "tracking moved to GTM"
          svcconf unset access-boston --env staging --file saml-metadata.xml
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: TargetOptions

    @Argument(help: ArgumentHelp("Keys to remove.", valueName: "key"))
    var keys: [String] = []

    @Option(name: .customLong("file"), help: ArgumentHelp("A file to remove (repeatable).", valueName: "name"))
    var files: [String] = []

    @Option(name: .shortAndLong, help: ArgumentHelp("Change message.", valueName: "message"))
    var message: String = ""

    @Option(name: .customLong("expect-version"), help: ArgumentHelp("Fail with a conflict unless the latest version is N.", valueName: "n"))
    var expectVersion: Int64?

    func run() async throws {
        let address = try target.address()
        guard !keys.isEmpty || !files.isEmpty else { throw SvcConfError(.usage, "nothing to unset", hint: "give KEY... or --file NAME") }
        let repo = try global.repository()
        let keys = self.keys, files = self.files
        let result = try await repo.unset(address, keys: keys, files: files, expectedVersion: expectVersion,
                                          message: message.isEmpty ? "unset " + Report.names(keys + files.map { "file " + $0 }) : message)
        Report.update(result, address)
    }
}

enum Report {
    /// `A, B, C` or `A, B, C and 17 more`: a default change message that stays one readable line.
    static func names(_ names: [String]) -> String {
        names.count <= 4 ? names.joined(separator: ", ") : names.prefix(3).joined(separator: ", ") + " and \(names.count - 3) more"
    }

    static func update(_ result: ConfigRepository.UpdateResult, _ address: ConfigAddress) {
        switch result {
        case .written(let info):
            Terminal.out("\(address): wrote version \(info.version)")
        case .unchanged(let n):
            Terminal.out("\(address): no changes" + (n.map { "; still at version \($0)" } ?? ""))
        }
    }
}
