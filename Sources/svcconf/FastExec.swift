#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SvcConf

/// `svcconf exec` without the full CLI: the same core calls as svcconf-cli's ExecCommand.
enum FastExec {
    /// Runs exec for a local store; returns (without doing anything) when the store needs the network.
    static func run(_ r: ExecArguments) throws {
        let address = try ConfigAddress(service: r.service, env: r.env, variant: r.variant)
        let storeURL = r.store ?? getenv("SVCCONF_STORE").flatMap { $0.pointee == 0 ? nil : String(cString: $0) } ?? StoreLocator.defaultURL
        guard !storeURL.hasPrefix("s3://") else { return }  // network stores: svcconf-cli
        let keyPaths = r.keyFiles.isEmpty ? Keyring.pathsFromEnvironment() : r.keyFiles
        let repo = ConfigRepository(store: try StoreLocator.open(storeURL), keyring: try Keyring.load(paths: keyPaths), author: "")
        guard let opened = try repo.openEffectiveLocally(address, version: r.version),
              try repo.checkBeforeExecLocally(opened) == .valid else { return }
        try Launcher.exec(opened.config, Launcher.Request(command: r.command[0], arguments: Array(r.command.dropFirst()),
                                                          envFile: r.envFile, filesDir: r.filesDir))
    }

    static func writeStderr(_ s: String) { ProcessHardening.writeAll(fd: 2, Array(s.utf8)) }
}

/// Hands a command line to svcconf-cli (next to this binary, or `$SVCCONF_CLI`).
enum Forward {
    static func toFullCLI(_ argv: [String]) -> Never {
        let path: String
        if let override = getenv("SVCCONF_CLI"), override.pointee != 0 {
            path = String(cString: override)
        } else {
            var buf = [CChar](repeating: 0, count: 4096)
            let n = readlink("/proc/self/exe", &buf, buf.count - 1)
            let me = n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : argv[0]
            let dir = me.lastIndex(of: "/").map { String(me[..<$0]) } ?? "."
            path = dir + "/svcconf-cli"
        }
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cargs.append(nil)
        execv(path, cargs)
        let reason = String(cString: strerror(errno)).lowercased()
        FastExec.writeStderr(ExitStatus.diagnostics(SvcConfError(.internal, "cannot run \(path): \(reason)",
                                                                 hint: "install svcconf-cli next to svcconf, or set SVCCONF_CLI")))
        exit(ExitStatus.code(for: .internal))
    }
}
