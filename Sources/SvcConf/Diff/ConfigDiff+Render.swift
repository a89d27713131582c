extension ConfigDiff {
    /// The diff as text for a terminal or a review comment: one line per entry, `+` added, `-` removed,
    /// `~` changed; secrets as fingerprints.
    public func renderText(oldLabel: String, newLabel: String) -> String {
        var out = "--- \(oldLabel)\n+++ \(newLabel)\n"
        for e in entries {
            let sign = e.change == .added ? "+" : (e.change == .removed ? "-" : "~")
            let name = e.isFile ? "file \(e.path[0])" : ConfigDiff.display(e.path)
            switch e.change {
            case .added: out += "\(sign) \(name): \(ConfigDiff.text(e.new!, secret: e.secret))\n"
            case .removed: out += "\(sign) \(name): \(ConfigDiff.text(e.old!, secret: e.secret))\n"
            case .changed: out += "\(sign) \(name): \(ConfigDiff.text(e.old!, secret: e.secret)) -> \(ConfigDiff.text(e.new!, secret: e.secret))\n"
            }
        }
        let n = { (c: Change) in entries.filter { $0.change == c }.count }
        out += entries.isEmpty ? "no differences" : "\(n(.changed)) changed, \(n(.added)) added, \(n(.removed)) removed"
        out += "; \(unchangedCount) unchanged"
        if !unchangedSecrets.isEmpty { out += " (\(unchangedSecrets.count) secret\(unchangedSecrets.count == 1 ? "" : "s") unchanged)" }
        return out + "\n"
    }

    /// One side as text. `secret` is the entry's secrecy: a non-secret file without displayable text
    /// (binary, long, multi-line) is a plain `<file, ...>`, not a secret one.
    static func text(_ s: Shown, secret: Bool) -> String {
        switch s {
        case .value(let v): return JSON.canonicalString(v)
        case .secret(let fp): return "<secret \(fp)>"
        case .file(let n, let fp, let text):
            if let text, text.utf8.count <= 80, !text.contains("\n") { return "\(JSON.canonicalString(.string(text))) (\(n) bytes, \(fp))" }
            return "<\(secret ? "secret " : "")file, \(n) bytes, \(fp)>"
        }
    }

    /// The diff as a JSON document for tools (`diff --format json`).
    public func jsonValue(old: ConfigValue, new: ConfigValue) -> ConfigValue {
        func shown(_ s: Shown?, secret: Bool) -> ConfigValue {
            guard let s else { return .null }
            switch s {
            case .value(let v): return .object(["value": v])
            case .secret(let fp): return .object(["secret": true, "fingerprint": .string(fp)])
            case .file(let n, let fp, let text):
                var o: [String: ConfigValue] = ["bytes": .int(Int64(n)), "fingerprint": .string(fp), "secret": .bool(secret)]
                if let text { o["text"] = .string(text) }
                return .object(o)
            }
        }
        return .object([
            "from": old, "to": new, "identical": .bool(isEmpty),
            "changes": .array(entries.map { e in
                .object([
                    "path": .string(e.isFile ? e.path[0] : ConfigDiff.display(e.path)),
                    "pointer": .string(e.isFile ? "" : "/" + e.path.map { $0.replacingTilde() }.joined(separator: "/")),
                    "kind": .string(e.isFile ? "file" : "value"),
                    "change": .string(e.change.rawValue),
                    "secret": .bool(e.secret),
                    "old": shown(e.old, secret: e.secret), "new": shown(e.new, secret: e.secret),
                ])
            }),
            "unchangedCount": .int(Int64(unchangedCount)),
            "unchangedSecrets": .array(unchangedSecrets.map { .string($0) }),
        ])
    }
}

extension String {
    /// JSON Pointer escaping of one reference token (`~` → `~0`, `/` → `~1`).
    func replacingTilde() -> String {
        var s = ""
        for c in self {
            if c == "~" { s += "~0" } else if c == "/" { s += "~1" } else { s.append(c) }
        }
        return s
    }
}
