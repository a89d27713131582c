/// A structural, redacted difference between two configs: what a reviewer may see.
///
/// Objects are compared member by member; arrays, scalars and files as wholes. A secret value (or
/// file) never appears: only its fingerprint and whether it was added, removed or changed.
public struct ConfigDiff: Sendable, Equatable {
    /// How one entry changed.
    public enum Change: String, Sendable {
        case added, removed, changed
    }

    /// What is shown for one side of an entry.
    public enum Shown: Sendable, Equatable {
        /// A non-secret value, shown as it is.
        case value(ConfigValue)
        /// A secret, shown as its fingerprint (`fp:1a2b3c4d`).
        case secret(fingerprint: String)
        /// A file, shown by size and fingerprint (and content when not secret and text).
        case file(bytes: Int, fingerprint: String, text: String?)
    }

    /// One difference.
    public struct Entry: Sendable, Equatable {
        /// Path of the value (top-level key first), or `[name]` for a file.
        public var path: [String]
        /// True for a named file.
        public var isFile: Bool
        /// Added, removed or changed.
        public var change: Change
        /// True when the value or file is secret.
        public var secret: Bool
        /// The old side (nil when added).
        public var old: Shown?
        /// The new side (nil when removed).
        public var new: Shown?
    }

    /// The differences, values first (sorted by path), then files.
    public var entries: [Entry]
    /// Secret values and files present and equal on both sides.
    public var unchangedSecrets: [String]
    /// Number of leaf values and files equal on both sides.
    public var unchangedCount: Int

    /// True when the configs are equal.
    public var isEmpty: Bool { entries.isEmpty }

    /// Compares `old` to `new`, redacting with `redactor`.
    public static func compare(_ old: Config, _ new: Config, redactor: Redactor) -> ConfigDiff {
        var d = ConfigDiff(entries: [], unchangedSecrets: [], unchangedCount: 0)
        d.compareObjects(old.values, new.values, path: [], redactor)
        for name in JSON.sortedKeys(old.files.merging(new.files) { a, _ in a }) {
            let secret = redactor.secrecy.isSecret(file: name)
            let a = old.files[name], b = new.files[name]
            if a == b {
                d.unchangedCount += 1
                if secret { d.unchangedSecrets.append("file " + name) }
                continue
            }
            let show = { (bytes: [UInt8]) -> Shown in
                .file(bytes: bytes.count, fingerprint: redactor.fingerprinter.fingerprint(file: bytes),
                      text: secret ? nil : String(validating: bytes, as: UTF8.self))
            }
            d.entries.append(Entry(path: [name], isFile: true, change: a == nil ? .added : (b == nil ? .removed : .changed),
                                   secret: secret, old: a.map(show), new: b.map(show)))
        }
        return d
    }

    private mutating func compareObjects(_ a: [String: ConfigValue], _ b: [String: ConfigValue], path: [String], _ r: Redactor) {
        for k in JSON.sortedKeys(a.merging(b) { x, _ in x }) {
            let p = path + [k]
            let secret = r.secrecy.isSecret(valuePath: p)
            switch (a[k], b[k]) {
            case (let x?, let y?):
                if !secret, case .object(let xo) = x, case .object(let yo) = y {
                    compareObjects(xo, yo, path: p, r)
                } else if x == y {
                    unchangedCount += 1
                    if secret { unchangedSecrets.append(ConfigDiff.display(p)) }
                } else {
                    entries.append(Entry(path: p, isFile: false, change: .changed, secret: secret,
                                         old: shown(x, p, secret, r), new: shown(y, p, secret, r)))
                }
            case (let x?, nil):
                entries.append(Entry(path: p, isFile: false, change: .removed, secret: secret, old: shown(x, p, secret, r), new: nil))
            case (nil, let y?):
                entries.append(Entry(path: p, isFile: false, change: .added, secret: secret, old: nil, new: shown(y, p, secret, r)))
            case (nil, nil):
                break
            }
        }
    }

    private func shown(_ v: ConfigValue, _ p: [String], _ secret: Bool, _ r: Redactor) -> Shown {
        secret ? .secret(fingerprint: r.fingerprinter.fingerprint(v)) : .value(r.redact(v, at: p))
    }

    /// `KEY`, `KEY.member`, `KEY[0]`, `KEY["odd key"]`.
    public static func display(_ path: [String]) -> String {
        var s = ""
        for (i, c) in path.enumerated() {
            if i == 0 && Names.isEnvironmentName(c) { s = c; continue }
            if i > 0 && !c.isEmpty && c.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { s += "[\(c)]"; continue }
            if i > 0 && Names.isEnvironmentName(c) { s += ".\(c)"; continue }
            s += "[" + JSON.canonicalString(.string(c)) + "]"
        }
        return s
    }
}
