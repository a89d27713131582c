#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts a program with a config: the container entrypoint (`svcconf exec`).
///
/// Fails closed: every check (config usable as an environment, command found and executable, files
/// written) happens before `execve`, and any failure returns an error without starting the child.
public enum Launcher {
    /// What to start and where to put files.
    public struct Request: Sendable {
        /// The command (a path, or a name looked up in `PATH`).
        public var command: String
        /// Its arguments (without argv[0]).
        public var arguments: [String]
        /// Write the values as a dotenv file here (mode 0600), for apps that read `.env`.
        public var envFile: String?
        /// Write the config's files into this directory (created 0700; files 0600).
        public var filesDir: String?
        /// Memberwise initializer.
        public init(command: String, arguments: [String], envFile: String? = nil, filesDir: String? = nil) {
            self.command = command
            self.arguments = arguments
            self.envFile = envFile
            self.filesDir = filesDir
        }
    }

    /// The environment variables a config exports: top-level keys; strings as they are, `null` as
    /// empty, everything else as canonical JSON.
    public static func environment(for config: Config) throws(SvcConfError) -> [(String, String)] {
        var out: [(String, String)] = []
        for key in JSON.sortedKeys(config.values) {
            guard Names.isEnvironmentName(key) else {
                throw SvcConfError(.invalidInput, "config key \(Names.quoted(key)) cannot be an environment variable name")
            }
            let text: String
            switch config.values[key]! {
            case .string(let s): text = s
            case .null: text = ""
            case let v: text = JSON.canonicalString(v)
            }
            if text.utf8.contains(0) { throw SvcConfError(.invalidInput, "the value of \(key) contains a nul byte") }
            out.append((key, text))
        }
        return out
    }

    /// Resolves `command` like `execvp`: a name with a slash is a path; otherwise the first executable
    /// match in `PATH`.
    public static func resolve(_ command: String) throws(SvcConfError) -> String {
        guard !command.isEmpty else { throw SvcConfError(.usage, "no command given to exec") }
        if command.contains("/") {
            try checkExecutable(command)
            return command
        }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        var sawNonExecutable = false
        for dir in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + command
            if access(candidate, X_OK) == 0, let i = try? LocalFS.info(candidate), i.isRegular { return candidate }
            if (try? LocalFS.info(candidate)) != nil { sawNonExecutable = true }
        }
        if sawNonExecutable { throw SvcConfError(.commandNotExecutable, "command \(Names.quoted(command)) is not executable") }
        throw SvcConfError(.commandNotFound, "command \(Names.quoted(command)) not found in PATH")
    }

    static func checkExecutable(_ path: String) throws(SvcConfError) {
        guard let info = try LocalFS.info(path) else { throw SvcConfError(.commandNotFound, "command \(Names.quoted(path)) not found") }
        guard info.isRegular, access(path, X_OK) == 0 else {
            throw SvcConfError(.commandNotExecutable, "command \(Names.quoted(path)) is not an executable file")
        }
    }

    /// Variables of svcconf itself that the child does not inherit (a key file path may open more
    /// than this config).
    static let ownVariables: Set<String> = ["SVCCONF_KEY_FILE", "SVCCONF_STORE", "SVCCONF_AUTHOR", "SVCCONF_CLI"]

    /// Checks everything, writes files and the env file, then replaces this process with the
    /// command. Returns only by throwing; when it throws, nothing was started and nothing it wrote
    /// is left behind.
    public static func exec(_ config: Config, _ request: Request) throws(SvcConfError) -> Never {
        // 1. Everything that can fail without touching the disk.
        let vars = try environment(for: config)
        let path = try resolve(request.command)
        var envText: [UInt8]?
        if request.envFile != nil {
            do { envText = Array(try Dotenv.render(config.values).utf8) } catch let e as SvcConfError { throw e } catch {
                throw SvcConfError(.internal, "cannot render the env file")
            }
        }
        if !config.files.isEmpty {
            guard let dir = request.filesDir else {
                throw SvcConfError(.usage, "the config has \(config.files.count) file(s) (\(JSON.sortedKeys(config.files).map(Names.quoted).joined(separator: ", "))) and no --files-dir was given",
                                   hint: "pass --files-dir DIR (e.g. the app's working directory)")
            }
            for name in config.files.keys where !Names.isValidFileName(name) {
                throw SvcConfError(.invalidInput, "invalid file name \(Names.quoted(name)) in the config")
            }
            try checkPrivateDirectory(dir)
        }
        if let envFile = request.envFile { try checkPrivateDirectory(LocalFS.dirname(envFile)) }

        // 2. Write; on any failure remove what was written.
        var written: [String] = []
        func cleanUp() { for p in written { LocalFS.remove(p) } }
        do {
            if let dir = request.filesDir, !config.files.isEmpty {
                try LocalFS.makeDirectories(dir, mode: 0o700)
                for name in JSON.sortedKeys(config.files) {
                    try LocalFS.writeAtomically("\(dir)/\(name)", config.files[name]!, mode: 0o600, exclusive: false, durable: false)
                    written.append("\(dir)/\(name)")
                }
            }
            if let envFile = request.envFile, let envText {
                try LocalFS.makeDirectories(LocalFS.dirname(envFile), mode: 0o700)
                try LocalFS.writeAtomically(envFile, envText, mode: 0o600, exclusive: false, durable: false)
                written.append(envFile)
            }
        } catch {
            cleanUp()
            throw error
        }

        // 3. The environment: inherited (minus svcconf's own variables), the config's keys winning.
        let overridden = Set(vars.map { $0.0 }).union(ownVariables)
        var envp: [UnsafeMutablePointer<CChar>?] = []
        var e = environ
        while let p = e.pointee {
            let entry = String(cString: p)
            let name = entry.split(separator: "=", maxSplits: 1).first.map(String.init) ?? entry
            if !overridden.contains(name) { envp.append(strdup(p)) }
            e += 1
        }
        for (k, v) in vars { envp.append(strdup("\(k)=\(v)")) }
        envp.append(nil)
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup(request.command)]
        for a in request.arguments { argv.append(strdup(a)) }
        argv.append(nil)
        execve(path, argv, envp)
        let code = errno
        for p in envp { free(p) }
        for p in argv { free(p) }
        cleanUp()
        if code == ENOENT {
            throw SvcConfError(.commandNotExecutable, "command \(Names.quoted(path)) cannot be executed: its interpreter was not found")
        }
        if code == EACCES || code == ENOEXEC { throw SvcConfError(.commandNotExecutable, "command \(Names.quoted(path)) cannot be executed") }
        throw LocalFS.error("cannot execute", path, code)
    }

    /// A directory that will receive plaintext must, if it exists, belong to this user and not be
    /// writable by group or others (else someone could swap the files the app reads).
    static func checkPrivateDirectory(_ dir: String) throws(SvcConfError) {
        guard let info = try LocalFS.info(dir) else { return }  // created 0700 when written
        guard info.isDirectory else { throw SvcConfError(.usage, "\(Names.quoted(dir)) is not a directory") }
        if info.uid != geteuid() || info.mode & 0o022 != 0 && info.mode & 0o1000 == 0 {
            throw SvcConfError(.accessDenied, "directory \(Names.quoted(dir)) is writable by other users or not owned by this user",
                               hint: "write plaintext only into a directory only you can change (chmod go-w, chown)")
        }
    }
}
