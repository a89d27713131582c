/// `svcconf textconv FILE`: a git diff driver's view of a sealed version file.
extension ConfigRepository {
    /// A redacted, deterministic, line-oriented rendering of a sealed version file, for `git diff`
    /// (`textconv`): the header's metadata, then one line per value (secrets as keyed fingerprints,
    /// secrecy following the schema the version was validated against when the store has it, else
    /// everything secret), then the files (secret ones as fingerprints, others with their text).
    /// Never fails once the header parses: with no key that opens it, the metadata and
    /// `(sealed: no key available)`; a file that is not a sealed version gives one line saying so.
    public func textconv(_ bytes: [UInt8]) async -> String {
        let parsed: SealedCodec.Parsed
        do { parsed = try SealedCodec.parse(bytes) } catch {
            return "(not a sealed svcconf version: \(error.message))\n"
        }
        let h = parsed.header
        var out: [String] = ["svcconf sealed version"]
        out.append("service: \(h.service)")
        out.append("env: \(h.env)")
        out.append("variant: \(h.variant ?? "-")")
        out.append("version: \(h.version)")
        out.append("author: \(h.author)")
        out.append("time: \(h.time)")
        let messageLines = h.message.split(separator: "\n", omittingEmptySubsequences: false)
        for line in messageLines.isEmpty ? [""] : messageLines { out.append("message: " + Self.printable(String(line))) }
        out.append("schema: \(h.schema?.description ?? "-")")
        out.append("recipients: " + Envelope.describeRecipients(h.recipients))
        guard let address = try? h.address else { return Self.lines(out + ["(sealed: invalid names in the header)"]) }

        let needsPolicy = keyring.localKeys.isEmpty && h.recipients.contains { $0.type == "local" }
        let policy = needsPolicy ? ((try? await store.latestPolicy()) ?? nil)?.policy : nil
        let (identities, _) = keyring.identities(policy: policy)
        let payload: Payload
        do {
            (_, payload) = try await Envelope.open(bytes, address: address, version: h.version, identities: identities)
        } catch let e as SvcConfError where e.kind == .tampered {
            return Self.lines(out + ["(sealed: does not open: \(e.message))"])
        } catch {
            return Self.lines(out + ["(sealed: no key available)"])
        }
        let opened = OpenedVersion(info: VersionInfo(header: h, address: address, bytes: bytes),
                                   config: payload.config, fingerprintKey: payload.fingerprintKey)
        let secrecy = await self.secrecy(for: [opened])
        let fp = opened.fingerprinter
        let config = payload.config

        out.append("values:")
        for key in JSON.sortedKeys(config.values) {
            Self.renderValue(config.values[key]!, path: [key], shown: key, secrecy: secrecy, fp: fp, into: &out)
        }
        out.append("files:")
        for name in JSON.sortedKeys(config.files) {
            let bytes = config.files[name]!
            if secrecy.isSecret(file: name) {
                out.append("  \(name): <secret file, \(bytes.count) bytes, \(fp.fingerprint(file: bytes))>")
            } else if let text = String(validating: bytes, as: UTF8.self) {
                out.append("  \(name): \(bytes.count) bytes, \(fp.fingerprint(file: bytes))")
                var fileLines = text.split(separator: "\n", omittingEmptySubsequences: false)
                if text.hasSuffix("\n") { fileLines.removeLast() }
                for line in fileLines { out.append("    | " + Self.printable(String(line))) }
            } else {
                out.append("  \(name): <file, \(bytes.count) bytes, \(fp.fingerprint(file: bytes))>")
            }
        }
        if !config.deletedFiles.isEmpty {
            out.append("deleted files:")
            for name in config.deletedFiles.sorted() { out.append("  \(name)") }
        }
        return Self.lines(out)
    }

    /// One line per leaf: `KEY = "text"`, `KEY/nested/0 = 5`, `KEY = <secret fp:...>`.
    static func renderValue(_ v: ConfigValue, path: [String], shown: String, secrecy: any SecrecyPolicy,
                            fp: Fingerprinter, into out: inout [String]) {
        if secrecy.isSecret(valuePath: path) {
            out.append("  \(shown) = <secret \(fp.fingerprint(v))>")
            return
        }
        switch v {
        case .object(let o) where !o.isEmpty:
            for k in JSON.sortedKeys(o) {
                let escaped = k.replacingOccurrences("~", "~0").replacingOccurrences("/", "~1")
                renderValue(o[k]!, path: path + [k], shown: shown + "/" + printable(escaped), secrecy: secrecy, fp: fp, into: &out)
            }
        case .array(let a) where !a.isEmpty:
            for (i, e) in a.enumerated() {
                renderValue(e, path: path + [String(i)], shown: shown + "/" + String(i), secrecy: secrecy, fp: fp, into: &out)
            }
        default:
            out.append("  \(shown) = \(JSON.canonicalString(v))")
        }
    }

    /// `text` as it is when it is printable, else as a JSON string literal (no terminal escapes).
    static func printable(_ text: String) -> String {
        if Names.isPrintableText(text, allowNewlines: false) { return text }
        var out: [UInt8] = []
        JSON.writeString(text, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func lines(_ l: [String]) -> String { l.joined(separator: "\n") + "\n" }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        guard contains(target) else { return self }
        return split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
