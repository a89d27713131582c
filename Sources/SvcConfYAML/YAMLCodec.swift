import SvcConf
import Yams

/// Reads YAML 1.2 (core schema) into a ``ConfigValue`` and writes a ``ConfigValue`` as block-style YAML.
///
/// Reading: only `true`/`false` (and their `True`/`TRUE` spellings) are booleans, so `yes`, `no`, `on`,
/// `off` and `NO` stay strings; `null`, `Null`, `NULL`, `~` and an empty value are null; integers are
/// decimal, `0o` octal or `0x` hex (an integer beyond 64 bits becomes a double); dates stay strings;
/// `<<` merge keys are refused. Mapping keys must be strings and must not repeat; `.inf` and `.nan`,
/// unknown tags and multi-document streams are refused. Alias expansion is bounded: at most
/// 1,000,000 nodes and 512 levels of nesting, and a document that uses aliases may not contain
/// anything that looks like an alias or collection key. Error messages give line and column but never
/// quote the input (a value may be a secret).
///
/// Writing: block style, keys sorted by UTF-8 bytes, deterministic. A string is written plain only when
/// no YAML 1.1 or 1.2 reader could take it for anything but that string; otherwise it is double-quoted
/// with escapes, or, when it has line breaks and can be represented exactly, a `|` literal block.
///
/// Known limitation: Yams drops a U+FEFF (byte order mark) at the very start of a scalar, so a string
/// that begins with one does not survive a round trip.
public enum YAMLCodec {
    /// Most nodes one document may expand to (aliases count once per use).
    static let maxNodes = 1_000_000
    /// Deepest allowed nesting of sequences and mappings.
    static let maxDepth = 512

    /// Parses one YAML document. An empty document is `null`.
    ///
    /// - Parameters:
    ///   - text: the YAML text.
    ///   - source: a name for the input (a file name), used in error messages.
    /// - Throws: ``SvcConfError`` of kind `.invalidInput` with `SOURCE: line N…` messages.
    public static func parse(_ text: String, source: String) throws -> ConfigValue {
        try refuseKeysThatCouldExpand(text, source: source)
        let root: Node?
        do {
            let parser = try Parser(yaml: text, resolver: coreSchema, encoding: .utf8)
            root = try parser.nextRoot()
            if root != nil, let extra = try parser.nextRoot() {
                throw Converter(source: source).fail(extra, "more than one yaml document")
            }
        } catch let error as YamlError {
            throw syntaxError(error, text: text, source: source)
        }
        guard let root else { return .null }
        var converter = Converter(source: source)
        return try converter.value(root, depth: 0)
    }

    /// Writes `value` as block-style YAML ending in a newline; see the type's documentation.
    public static func render(_ value: ConfigValue) -> String {
        var out = ""
        emit(value, lead: "", indent: 0, into: &out)
        return out
    }

    // MARK: - Reading

    /// The YAML 1.2 core schema's tag resolution (no timestamps, no merge keys, no YAML 1.1 booleans).
    static let coreSchema: Resolver = {
        // swiftlint:disable:next force_try
        try! Resolver.basic
            .appending(.null, #"^(?:~|null|Null|NULL|)\z"#)
            .appending(.bool, #"^(?:true|True|TRUE|false|False|FALSE)\z"#)
            .appending(.int, #"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\z"#)
            .appending(.float, #"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"#
                + #"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\z"#)
    }()

    /// Yams hashes every mapping key while composing, before the node limit can apply, so an alias
    /// to a large collection used as a key (`? *big`) takes exponential time. Keys must be strings
    /// anyway, so when the text uses aliases, anything that may be an alias or collection key (`?`,
    /// `*alias:`, `]:`, `}:`, even inside a quoted string) is refused up front.
    private static func refuseKeysThatCouldExpand(_ text: String, source: String) throws {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        func isAnchorChar(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D
        }
        let bytes = Array(text.utf8)
        // Where a token may start: at the start of input, after whitespace, `[`, `{`, `,` or `:`.
        func atBoundary(_ i: Int) -> Bool { i == 0 || isSpace(bytes[i - 1]) || "[{,:".utf8.contains(bytes[i - 1]) }
        func aliasEnd(_ i: Int) -> Int? {
            guard bytes[i] == 0x2A, atBoundary(i), i + 1 < bytes.count, isAnchorChar(bytes[i + 1]) else { return nil }
            var j = i + 1
            while j < bytes.count && isAnchorChar(bytes[j]) { j += 1 }
            return j
        }
        func followedByColon(_ j: Int) -> Bool {
            var j = j
            while j < bytes.count && (bytes[j] == 0x20 || bytes[j] == 0x09) { j += 1 }
            return j < bytes.count && bytes[j] == 0x3A
        }
        // `? key`: a `?` before whitespace, first on its line or after `-`, `?`, `:`, `[`, `{` or `,`.
        func startsExplicitKey(_ i: Int) -> Bool {
            guard i + 1 == bytes.count || isSpace(bytes[i + 1]) else { return false }
            var k = i - 1
            while k >= 0 && (bytes[k] == 0x20 || bytes[k] == 0x09) { k -= 1 }
            return k < 0 || "\n\r-?:[{,".utf8.contains(bytes[k])
        }
        guard bytes.indices.contains(where: { aliasEnd($0) != nil }) else { return }
        var line = 1
        for i in bytes.indices {
            let suspicious: Bool
            switch bytes[i] {
            case 0x0A: line += 1; continue
            case 0x3F: suspicious = startsExplicitKey(i)
            case 0x5D, 0x7D: suspicious = followedByColon(i + 1)  // `[…]:`, `{…}:`
            case 0x2A: suspicious = aliasEnd(i).map(followedByColon) ?? false  // `*alias:`
            default: continue
            }
            if suspicious {
                throw SvcConfError.invalidInput(
                    "\(source): line \(line): mapping keys must be plain strings in a document that uses aliases")
            }
        }
    }

    /// A message built from the error's position and problem only: Yams' own description includes
    /// a snippet of the input, which may hold a secret.
    private static func syntaxError(_ error: YamlError, text: String, source: String) -> SvcConfError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return .invalidInput("\(source): line \(mark.line), column \(mark.column): \(problem)")
        case .reader(let problem, let offset, _, _):
            var line = 1
            var column = 1
            for c in text.prefix(offset ?? 0) {
                if c.isNewline { line += 1; column = 1 } else { column += 1 }
            }
            return .invalidInput("\(source): line \(line), column \(column): \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .invalidInput(
                "\(source): line \(context.mark.line): duplicate key \(Names.quoted(duplicates.first ?? ""))")
        default:
            return .invalidInput("\(source): cannot read the yaml")
        }
    }

    /// The node's resolved tag (`Tag.name` is internal to Yams).
    private static func tagName(_ node: Node) -> Tag.Name { Tag.Name(rawValue: node.tag.rawValue) }

    private struct Converter {
        let source: String
        var nodes = 0

        func fail(_ node: Node, _ problem: String) -> SvcConfError {
            guard let mark = node.mark else { return .invalidInput("\(source): \(problem)") }
            return .invalidInput("\(source): line \(mark.line), column \(mark.column): \(problem)")
        }

        /// Converts `node`, which sits inside `depth` collections.
        mutating func value(_ node: Node, depth: Int) throws -> ConfigValue {
            nodes += 1
            if nodes > YAMLCodec.maxNodes {
                throw SvcConfError.invalidInput("\(source): too many nodes (alias expansion?)")
            }
            switch node {
            case .scalar(let scalar):
                return try self.scalar(scalar.string, tag: tagName(node), node: node)
            case .sequence(let sequence):
                try checkCollection(node, tag: .seq, depth: depth)
                var array: [ConfigValue] = []
                array.reserveCapacity(sequence.count)
                for element in sequence { array.append(try value(element, depth: depth + 1)) }
                return .array(array)
            case .mapping(let mapping):
                try checkCollection(node, tag: .map, depth: depth)
                var object: [String: ConfigValue] = [:]
                for (keyNode, valueNode) in mapping {
                    guard case .scalar(let key) = keyNode, tagName(keyNode) == .str else {
                        throw fail(keyNode, "mapping keys must be strings")
                    }
                    if key.string == "<<" && key.style == .plain {
                        throw fail(keyNode, "merge keys (<<) are not supported")
                    }
                    guard object[key.string] == nil else {
                        throw fail(keyNode, "duplicate key \(Names.quoted(key.string))")
                    }
                    object[key.string] = try value(valueNode, depth: depth + 1)
                }
                return .object(object)
            case .alias:
                throw fail(node, "unresolved alias")
            }
        }

        func checkCollection(_ node: Node, tag: Tag.Name, depth: Int) throws {
            guard tagName(node) == tag else { throw fail(node, "unsupported tag") }
            if depth + 1 > YAMLCodec.maxDepth { throw fail(node, "nesting deeper than \(YAMLCodec.maxDepth)") }
        }

        func scalar(_ text: String, tag: Tag.Name, node: Node) throws -> ConfigValue {
            switch tag {
            case .str:
                return .string(text)
            case .null:
                guard ["", "~", "null", "Null", "NULL"].contains(text) else { throw fail(node, "invalid null") }
                return .null
            case .bool:
                switch text {
                case "true", "True", "TRUE": return .bool(true)
                case "false", "False", "FALSE": return .bool(false)
                default: throw fail(node, "invalid boolean")
                }
            case .int:
                guard let n = YAMLCodec.integer(text) else { throw fail(node, "invalid integer") }
                guard n.doubleValue.isFinite else { throw fail(node, "number out of range") }
                return .number(n)
            case .float:
                if [".inf", "+.inf", "-.inf", ".nan"].contains(text.lowercased()) {
                    throw fail(node, "infinity and nan are not allowed (not json)")
                }
                guard text.allSatisfy({ "0123456789+-.eE".contains($0) }), let d = Double(text) else {
                    throw fail(node, "invalid number")
                }
                guard d.isFinite else { throw fail(node, "number out of range") }
                return .number(.double(d))
            default:
                throw fail(node, "unsupported tag")
            }
        }
    }

    /// A core-schema integer (`[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`); beyond Int64 a double.
    private static func integer(_ text: String) -> ConfigNumber? {
        let radix = text.hasPrefix("0x") ? 16 : text.hasPrefix("0o") ? 8 : 10
        var digits = Substring(text)
        if radix != 10 {
            digits = digits.dropFirst(2)
        } else if digits.first == "-" || digits.first == "+" {
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.hexDigitValue ?? radix) < radix }) else {
            return nil
        }
        if radix == 10 {
            if let i = Int64(text) { return .int(i) }
            return Double(text).map { .double($0) }
        }
        if let i = Int64(digits, radix: radix) { return .int(i) }
        return .double(digits.reduce(0.0) { $0 * Double(radix) + Double($1.hexDigitValue!) })
    }

    // MARK: - Writing

    private static func pad(_ n: Int) -> String { String(repeating: " ", count: n) }

    /// Writes `value` after `lead` (`""` at the top, `"KEY:"`, `"-"` or `":"`), which the caller has
    /// already placed at column `indent`, through the end of its last line.
    private static func emit(_ value: ConfigValue, lead: String, indent: Int, into out: inout String) {
        let sep = lead.isEmpty ? "" : " "
        switch value {
        case .object(let o) where !o.isEmpty:
            let inner = startBlock(lead: lead, indent: indent, into: &out)
            for (i, key) in JSON.sortedKeys(o).enumerated() {
                if i > 0 || inner.padFirst { out += pad(inner.indent) }
                let k = inlineString(key)
                // libyaml refuses implicit keys longer than 1024 characters; use an explicit `? key`.
                if k.unicodeScalars.count > 1000 {
                    out += "? " + k + "\n" + pad(inner.indent)
                    emit(o[key]!, lead: ":", indent: inner.indent, into: &out)
                } else {
                    emit(o[key]!, lead: k + ":", indent: inner.indent, into: &out)
                }
            }
        case .array(let a) where !a.isEmpty:
            let inner = startBlock(lead: lead, indent: indent, into: &out)
            for (i, element) in a.enumerated() {
                if i > 0 || inner.padFirst { out += pad(inner.indent) }
                emit(element, lead: "-", indent: inner.indent, into: &out)
            }
        case .string(let s):
            if let (header, lines, extraBreaks) = literalBlock(s) {
                out += lead + sep + header + "\n"
                for line in lines { out += line.isEmpty ? "\n" : pad(indent + 2) + line + "\n" }
                out += String(repeating: "\n", count: extraBreaks)
            } else {
                out += lead + sep + inlineString(s) + "\n"
            }
        case .null: out += lead + sep + "null\n"
        case .bool(let b): out += lead + sep + (b ? "true" : "false") + "\n"
        case .number(let n): out += lead + sep + n.description + "\n"
        case .array: out += lead + sep + "[]\n"
        case .object: out += lead + sep + "{}\n"
        }
    }

    /// Starts a nested block collection after `lead`: on the same line after `- ` in a sequence (and
    /// at the top), otherwise on the next line, two columns deeper.
    private static func startBlock(lead: String, indent: Int, into out: inout String) -> (indent: Int, padFirst: Bool) {
        switch lead {
        case "": return (indent, false)
        case "-": out += "- "; return (indent + 2, false)
        default: out += lead + "\n"; return (indent + 2, true)
        }
    }

    /// The `|` header, lines and extra trailing line breaks of `s` as a literal block scalar, or nil
    /// when a literal block cannot represent it exactly (or it is a single line).
    private static func literalBlock(_ s: String) -> (String, [Substring], Int)? {
        if containsAliasLookalike(s) { return nil }
        var body = Substring(s)
        var trailing = 0
        while body.unicodeScalars.last == "\n" {
            body = body.dropLast()
            trailing += 1
        }
        guard s.unicodeScalars.contains("\n"), let first = body.unicodeScalars.first, first != " ", first != "\n",
            !body.unicodeScalars.contains(where: { $0 != "\n" && needsEscape($0) })
        else { return nil }
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false)
        guard !lines.contains(where: { $0.unicodeScalars.last == " " }) else { return nil }
        switch trailing {
        case 0: return ("|-", lines, 0)
        case 1: return ("|", lines, 0)
        default: return ("|+", lines, trailing - 1)
        }
    }

    /// True for characters that must be escaped: not printable in YAML, a tab, or a line break.
    private static func needsEscape(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x20...0x7E: return false
        case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF: return true
        default: return false
        }
    }

    /// `s` plain when that is unambiguous, otherwise double-quoted.
    private static func inlineString(_ s: String) -> String {
        isPlainSafe(s) ? s : doubleQuoted(s)
    }

    private static func isPlainSafe(_ s: String) -> Bool {
        let scalars = s.unicodeScalars
        guard let first = scalars.first, let last = scalars.last, first != " ", last != " ", last != ":",
            !"-?:,[]{}#&*!|>'\"%@`".unicodeScalars.contains(first),
            !scalars.contains(where: needsEscape),
            !s.contains(": "), !s.contains(" #"), !s.hasPrefix("...")
        else { return false }
        // Anything that starts like a number (ints, floats, dates, sexagesimals, `0x…`, `.5`, `-1`).
        let second = scalars.dropFirst().first
        if ("0"..."9").contains(first) || (first == "." && second.map { ("0"..."9").contains($0) } == true) {
            return false
        }
        // A `*` is never written plain or raw: the reader refuses documents where something that looks
        // like an alias is used as a key (`*a :`), so the writer never emits an alias lookalike raw
        // (plain or literal block); double quotes escape every `*` as `\x2A` (found by fuzzing:
        // Fuzz/regressions/yaml).
        if containsAliasLookalike(s) { return false }
        // Fast path: starting with an ASCII letter, only the boolean and null words (`y`, `yes`, `On`,
        // `FALSE`, `Null`, …; none longer than 5 characters) resolve to something other than a string
        // under either rule set below — so a longer such string is plain without asking the resolvers
        // (which dominate the rendering time of large configs).
        if first.isASCII, first.properties.isAlphabetic, s.utf8.count > 5 { return true }
        // Whatever a YAML 1.2 core or a YAML 1.1 reader (Yams' default rules, plus `y`/`n`) resolves
        // to something other than a string: `yes`, `NO`, `on`, `~`, `null`, `.inf`, `<<`, `=`, ….
        let node = Node(s)
        return !["y", "Y", "n", "N"].contains(s)
            && coreSchema.resolveTag(of: node) == .str
            && Resolver.default.resolveTag(of: node) == .str
    }

    /// True when `s` holds what the reader's alias check would take for an alias: `*` followed by an
    /// anchor character, at the start or after whitespace, `[`, `{`, `,` or `:`.
    static func containsAliasLookalike(_ s: String) -> Bool {
        let b = Array(s.utf8)
        for i in b.indices where b[i] == 0x2A && i + 1 < b.count {
            let c = b[i + 1]
            let anchor = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
            let boundary = i == 0 || [0x20, 0x09, 0x0A, 0x0D, 0x5B, 0x7B, 0x2C, 0x3A].contains(b[i - 1])
            if anchor && boundary { return true }
        }
        return false
    }

    private static func doubleQuoted(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "*": out += "\\x2A"
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\0": out += "\\0"
            case "\u{85}": out += "\\N"
            case "\u{2028}": out += "\\L"
            case "\u{2029}": out += "\\P"
            default:
                if needsEscape(c) {
                    let hex = String(c.value, radix: 16, uppercase: true)
                    out += c.value <= 0xFF
                        ? "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
                        : "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }
}
