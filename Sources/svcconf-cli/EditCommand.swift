#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import SvcConf
import SvcConfYAML

struct EditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit",
        abstract: "Edit a config in $VISUAL/$EDITOR: validated, shown as a redacted diff, confirmed, written.",
        discussion: """
        The config's layer is decrypted into a private file (0600, in a 0700 directory on a tmpfs: \
        $XDG_RUNTIME_DIR or /dev/shm; --allow-disk to accept another place) and opened in $VISUAL, \
        else $EDITOR (which may carry arguments, e.g. "code --wait"), else vi. The file is removed \
        on every exit, Ctrl-C, SIGTERM, SIGHUP and editor failures included.

        On save: the buffer is parsed, merged with the lower layers and validated against the \
        service's schema; on errors they are listed and you can re-open the buffer (the errors are \
        marked at its top) or abort. Then the redacted diff is shown and you confirm (--yes skips \
        the question). If someone wrote a newer version meanwhile, nothing is overwritten: you see \
        what they changed and the editor re-opens on their version with your changes applied where \
        they do not collide.

        The buffer holds this layer's own content: `values` (null deletes a key a lower layer \
        sets), `files` (text, or {base64: ...} for binary files) and `deletedFiles`. \
        Exit: 0 written or no changes; 11 aborted (editor failed, not confirmed); 5 invalid; 4 conflict \
        with --expect-version.

        Examples:
          svcconf edit access-boston --env prod
          EDITOR="code --wait" svcconf edit access-boston --env staging --variant dev -m "new SSO host"
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: TargetOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Change message.", valueName: "message"))
    var message: String = "edit"

    @Flag(name: .long, help: "Write without asking for confirmation (scripts).")
    var yes = false

    @Flag(name: .customLong("allow-disk"), help: "Allow the plaintext buffer outside a memory filesystem.")
    var allowDisk = false

    func run() async throws {
        let address = try target.address()
        let repo = try global.repository()
        var base: OpenedVersion? = try await repo.latestVersion(address) == nil ? nil : try await repo.open(address)
        var content = base?.config ?? Config()
        var notes: [String] = []
        let session = try EditorSession(name: "\(address.description.replacingOccurrences(of: "/", with: "-")).yaml", allowDisk: allowDisk)
        defer { session.remove() }
        do {
            while true {
                try Interrupts.check()
                let original = EditBuffer.render(content, address: address, base: base, notes: notes)
                try session.write(original)
                try session.runEditor()
                let edited = try session.read()
                try Interrupts.check()
                if edited == Array(original.utf8) && notes.isEmpty {
                    Terminal.note("no changes; nothing written")
                    return
                }
                // Parse and validate; on errors offer to re-open the buffer with them marked.
                let typed: Config
                do {
                    let parsed = try EditBuffer.parse(edited)
                    typed = try await repo.checkLayer(address, config: parsed)
                } catch let e as SvcConfError where e.kind == .invalidInput || e.kind == .validationFailed {
                    Terminal.writeAll(2, Array(ExitStatus.diagnostics(e).utf8))
                    guard try ask("re-open the editor to fix this? [Y/n] ", defaultYes: true) else { throw e }
                    content = (try? EditBuffer.parse(edited)) ?? content
                    notes = [e.message] + e.details
                    if (try? EditBuffer.parse(edited)) == nil {
                        // Keep the user's text as it is: re-open it verbatim with the error on top.
                        try session.write(EditBuffer.errorLines([e.message] + e.details) + EditBuffer.stripNotes(edited))
                        try session.runEditor()
                        continue
                    }
                    continue
                }
                notes = []
                if let base, typed == base.config {
                    Terminal.note("no changes; nothing written")
                    return
                }
                let diff = await repo.previewDiff(address, from: base, to: typed)
                Terminal.out(diff.renderText(oldLabel: base.map { "\(address) version \($0.info.version)" } ?? "\(address) (empty)",
                                             newLabel: "\(address) (edited)"))
                if !yes {
                    guard try ask("write version \((base?.info.version ?? 0) + 1) of \(address)? [y/N] ", defaultYes: false) else {
                        throw SvcConfError(.aborted, "not confirmed; nothing was written")
                    }
                }
                do {
                    let info = try await repo.write(address, config: typed, base: base, message: message)
                    Terminal.note("\(address): wrote version \(info.version)")
                    return
                } catch let e as SvcConfError where e.kind == .conflict {
                    // Someone else wrote meanwhile: show their change, re-open on top of it with ours applied.
                    let theirs = try await repo.open(address)
                    let theirDiff = await repo.previewDiff(address, from: base, to: theirs.config)
                    Terminal.note("\(theirs.info.author) wrote version \(theirs.info.version) of \(address) while you edited; their change:")
                    Terminal.writeAll(2, Array(theirDiff.renderText(oldLabel: base.map { "version \($0.info.version)" } ?? "(empty)",
                                                                    newLabel: "version \(theirs.info.version)").utf8))
                    let (merged, collisions) = ConfigMerge.threeWay(base: base?.config ?? Config(), mine: typed, theirs: theirs.config)
                    base = theirs
                    content = merged
                    notes = ["version \(theirs.info.version) was written by \(theirs.info.author) while you edited; your changes are applied on top of it"]
                        + collisions.map { "collision: \($0) was changed by both; their value is kept below, re-apply yours if still wanted" }
                    Terminal.note("re-opening the editor on version \(theirs.info.version) with your changes applied"
                                  + (collisions.isEmpty ? "" : " (\(collisions.count) collision\(collisions.count == 1 ? "" : "s"): \(collisions.joined(separator: ", ")))"))
                }
            }
        } catch let i as Interrupted {
            session.remove()
            Terminal.note("interrupted (signal \(i.signal)); the edit buffer was removed, nothing was written")
            throw ExitCode(128 + i.signal)
        }
    }

    /// Asks on stderr, reads a line from stdin. End of input means no (or the default for re-open
    /// questions only when a terminal is attached).
    func ask(_ question: String, defaultYes: Bool) throws -> Bool {
        Terminal.writeAll(2, Array(("svcconf: " + question).utf8))
        var line: [UInt8] = []
        var c: UInt8 = 0
        var sawNewline = false
        while true {
            try Interrupts.check()
            var p = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, 100)  // poll, so a signal landing on another thread is seen
            if ready == 0 || (ready < 0 && errno == EINTR) { continue }
            let n = Glibc.read(0, &c, 1)
            if n == 1 { if c == 0x0A { sawNewline = true; break }; line.append(c); continue }
            if n < 0 && errno == EINTR { continue }
            break
        }
        Terminal.writeAll(2, [0x0A])
        guard sawNewline || !line.isEmpty else { return false }  // end of input: never a yes
        let answer = String(decoding: line, as: UTF8.self).trimmingCharacters(in: " \t\r").lowercased()
        if answer.isEmpty { return defaultYes }
        return answer == "y" || answer == "yes"
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

/// The edit buffer: a commented YAML document of a layer's own content.
enum EditBuffer {
    static let notePrefix = "#! "

    static func render(_ config: Config, address: ConfigAddress, base: OpenedVersion?, notes: [String]) -> String {
        var text = errorLines(notes)
        text += "# svcconf edit \(address)" + (base.map { ", based on version \($0.info.version)" } ?? " (new)") + "\n"
        text += "# PLAINTEXT, in a private file that is removed when svcconf exits. Save and quit to continue;\n"
        text += "# quitting with an error (vi: :cq) aborts with nothing written. Lines starting with # are ignored.\n"
        if !address.lowerLayers.isEmpty {
            text += "# This is the \(address) layer over " + address.lowerLayers.map(\.description).joined(separator: ", ")
                + ": null deletes a key they set; deletedFiles removes their files.\n"
        }
        var doc: [String: ConfigValue] = ["values": .object(config.values)]
        var files: [String: ConfigValue] = [:]
        for (n, b) in config.files {
            if let s = String(validating: b, as: UTF8.self), !s.contains("\r") { files[n] = .string(s) } else { files[n] = .object(["base64": .string(Base64.encode(b))]) }
        }
        doc["files"] = .object(files)
        if !config.deletedFiles.isEmpty { doc["deletedFiles"] = .array(config.deletedFiles.sorted().map { .string($0) }) }
        return text + YAMLCodec.render(.object(doc))
    }

    static func errorLines(_ notes: [String]) -> String {
        notes.map { notePrefix + $0.replacingOccurrences(of: "\n", with: " ") + "\n" }.joined()
    }

    static func stripNotes(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix(notePrefix) }.joined(separator: "\n")
    }

    static func parse(_ bytes: [UInt8]) throws -> Config {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw SvcConfError(.invalidInput, "the edited buffer is not valid UTF-8") }
        let doc = try YAMLCodec.parse(text, source: "the edited buffer")
        return try Config(layerDocument: doc, source: "the edited buffer")
    }
}
