/// The exec command line, for the subset of spellings this launcher accepts on its own:
/// `SERVICE --env E [--variant V] [--store URL] [--key-file PATH]... [--author NAME] [--env-file PATH]
/// [--files-dir DIR] [--version N] -- CMD [ARGS...]`, options before or after SERVICE, as `--opt value` or
/// `--opt=value`. Anything else — a missing value, a separate value that starts with `-`, a repeated
/// single-valued option, an unknown flag, a version below 1 — returns nil and the command line goes
/// to svcconf-cli unchanged, so that every line this parser accepts means exactly what it means there.
struct ExecArguments {
    var service: String
    var env: String
    var variant: String?
    var store: String?
    var keyFiles: [String] = []
    var envFile: String?
    var filesDir: String?
    var version: Int64?
    var command: [String]

    static func parse(_ args: [String]) -> ExecArguments? {
        var service: String?, env: String?, variant: String?, store: String?, envFile: String?, filesDir: String?
        var version: Int64?
        var keyFiles: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--" {
                guard let service, let env, i + 1 < args.count else { return nil }
                return ExecArguments(service: service, env: env, variant: variant, store: store, keyFiles: keyFiles,
                                     envFile: envFile, filesDir: filesDir, version: version, command: Array(args[(i + 1)...]))
            }
            if a.hasPrefix("-") {
                var name = a, value: String?
                if let eq = a.firstIndex(of: "=") {
                    name = String(a[..<eq])
                    value = String(a[a.index(after: eq)...])
                } else if i + 1 < args.count, !args[i + 1].hasPrefix("-") {
                    value = args[i + 1]
                    i += 1
                }
                guard let v = value else { return nil }
                switch name {
                case "--env": guard env == nil else { return nil }; env = v
                case "--variant": guard variant == nil else { return nil }; variant = v
                case "--store": guard store == nil else { return nil }; store = v
                case "--key-file": keyFiles.append(v)
                case "--author": break
                case "--env-file": guard envFile == nil else { return nil }; envFile = v
                case "--files-dir": guard filesDir == nil else { return nil }; filesDir = v
                case "--version": guard version == nil, let n = Int64(v), n >= 1 else { return nil }; version = n
                default: return nil
                }
            } else {
                guard service == nil else { return nil }
                service = a
            }
            i += 1
        }
        return nil
    }
}
