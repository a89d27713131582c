/// A compiled ECMA-262 regular expression, the dialect of JSON Schema's `pattern`,
/// `patternProperties` and format `regex`, with the `u` flag's semantics: it matches Unicode scalars
/// (code points), `\d`/`\w`/`\b` are ASCII-only, `\s` is ECMA's white space set, `.` excludes line
/// terminators, `$` matches only at the very end, and `\p{…}` takes general categories, common binary
/// properties and a few scripts.
///
/// Matching is "search" (unanchored unless the pattern says `^`), on a backtracking machine with an
/// explicit stack (no recursion, so long inputs cannot exhaust the call stack) and a step budget, so a
/// pathological pattern cannot run for long: when the budget runs out the string counts as not
/// matching. Foundation-free; the standard library's `Regex` is not used because it does not follow
/// ECMA-262 (`\d` is Unicode-aware, `$` matches before a final newline) and is slow.
final class ECMARegex: @unchecked Sendable {
    /// The pattern text.
    let source: String
    fileprivate let prog: [RInst]
    fileprivate let classes: [RClass]
    fileprivate let anchored: Bool
    fileprivate let slotCount: Int
    fileprivate let regCount: Int
    fileprivate let usesCaptures: Bool

    /// Largest number of machine steps one match may take before giving up (counts as no match).
    static let stepBudget = 2_000_000
    /// Largest compiled program; bigger patterns (huge `{n,m}` counts) are refused.
    static let maxProgram = 200_000

    /// Compiles `pattern`; throws a reason (a short phrase) when it is not a valid ECMA-262 `u` pattern.
    init(_ pattern: String) throws(RegexSyntaxError) {
        var p = RParser(Array(pattern.unicodeScalars))
        let ast = try p.parse()
        var c = RCompiler(classes: p.classes, captureCount: p.groupCount, usesCaptures: p.usesBackrefs)
        c.namedRefs = p.pendingNamedRefs.map { p.groupNames[$0] ?? 0 }
        try c.emitTop(ast)
        source = pattern
        prog = c.prog
        classes = c.classes
        anchored = ast.isAnchoredAtStart
        slotCount = (p.groupCount + 1) * 2
        regCount = c.regCount
        usesCaptures = p.usesBackrefs
    }

    /// True when the pattern matches somewhere in `s`.
    func matches(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { buf in search(buf) }
    }

    /// True when the pattern matches somewhere in the UTF-8 text `buf` (which must be valid UTF-8).
    func search(_ buf: UnsafeBufferPointer<UInt8>) -> Bool {
        defer { withExtendedLifetime(self) {} }
        // the backtracking stack starts on the call stack: no heap allocation for simple patterns
        return withUnsafeTemporaryAllocation(of: RFrame.self, capacity: 24) { scratch in
            var vm = RVM(re: self, buf: buf, scratch: scratch)
            if anchored { return vm.run(pc: 0, at: 0, endAt: -1) }
            var pos = 0
            while true {
                if vm.run(pc: 0, at: pos, endAt: -1) { return true }
                if vm.exhausted || pos >= buf.count { return false }
                pos = RVM.next(buf, pos)
            }
        }
    }
}

/// Why a pattern is not a valid ECMA-262 regular expression.
struct RegexSyntaxError: Error, Sendable, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}

// MARK: - AST

fileprivate indirect enum RNode {
    case empty
    case char(UInt32)
    case cls(Int)
    case dot
    case start, end, wordB, notWordB
    case group(RNode, capture: Int?)
    case concat([RNode])
    case alt([RNode])
    case rep(RNode, min: Int, max: Int?, greedy: Bool)
    case look(RNode, ahead: Bool, negate: Bool)
    case backref(Int)

    var isAnchoredAtStart: Bool {
        switch self {
        case .start: return true
        case .concat(let xs): return xs.first?.isAnchoredAtStart ?? false
        case .group(let x, _): return x.isAnchoredAtStart
        case .alt(let xs): return !xs.isEmpty && xs.allSatisfy { $0.isAnchoredAtStart }
        default: return false
        }
    }

    /// True when the node can match without consuming input (used for the empty-loop check).
    var canBeEmpty: Bool {
        switch self {
        case .empty, .start, .end, .wordB, .notWordB, .look, .backref: return true
        case .char, .cls, .dot: return false
        case .group(let x, _): return x.canBeEmpty
        case .concat(let xs): return xs.allSatisfy { $0.canBeEmpty }
        case .alt(let xs): return xs.contains { $0.canBeEmpty }
        case .rep(let x, let min, _, _): return min == 0 || x.canBeEmpty
        }
    }

    /// The single-scalar matcher this node is, when it is one (for the fast repetition instruction).
    var single: RSingle? {
        switch self {
        case .char(let c): return .char(c)
        case .cls(let i): return .cls(i)
        case .dot: return .dot
        case .group(let x, nil): return x.single
        default: return nil
        }
    }

    var hasCapture: Bool {
        switch self {
        case .group(let x, let cap): return cap != nil || x.hasCapture
        case .concat(let xs), .alt(let xs): return xs.contains { $0.hasCapture }
        case .rep(let x, _, _, _), .look(let x, _, _): return x.hasCapture
        default: return false
        }
    }
}

fileprivate enum RSingle {
    case char(UInt32)
    case cls(Int)
    case dot
}

// MARK: - character classes

fileprivate enum RPred {
    case digit, word, space
    case gc(Set<Unicode.GeneralCategory>)
    case binary(RBinaryProp)
    case script([ClosedRange<UInt32>])
    case any
}

fileprivate enum RBinaryProp {
    case alphabetic, whiteSpace, uppercase, lowercase, ascii, assigned, emoji, math, hexDigit, asciiHexDigit
    case ideographic, dash, diacritic, noncharacter, idStart, idContinue
}

fileprivate struct RClass {
    var ranges: [ClosedRange<UInt32>] = []
    var preds: [(RPred, Bool)] = []  // (predicate, negated)
    var negated = false
    var asciiLo: UInt64 = 0
    var asciiHi: UInt64 = 0

    mutating func finish() {
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt32>] = []
        for r in ranges {
            if let last = merged.last, r.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        ranges = merged
        asciiLo = 0
        asciiHi = 0
        for c in UInt32(0)..<128 where slowContains(c) {
            if c < 64 { asciiLo |= 1 << UInt64(c) } else { asciiHi |= 1 << UInt64(c - 64) }
        }
    }

    @inline(__always) func contains(_ c: UInt32) -> Bool {
        if c < 64 { return asciiLo & (1 << UInt64(c)) != 0 }
        if c < 128 { return asciiHi & (1 << UInt64(c - 64)) != 0 }
        return slowContains(c)
    }

    func slowContains(_ c: UInt32) -> Bool {
        var hit = false
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound < c { lo = mid + 1 } else { hi = mid }
        }
        if lo < ranges.count && ranges[lo].contains(c) { hit = true }
        if !hit {
            for (p, neg) in preds where RClass.test(p, c) != neg {
                hit = true
                break
            }
        }
        return hit != negated
    }

    static func test(_ p: RPred, _ c: UInt32) -> Bool {
        switch p {
        case .digit: return c >= 0x30 && c <= 0x39
        case .word: return isWord(c)
        case .space: return isSpace(c)
        case .any: return true
        case .gc(let set):
            guard let s = Unicode.Scalar(c) else { return set.contains(.surrogate) }
            return set.contains(s.properties.generalCategory)
        case .script(let rs): return rs.contains { $0.contains(c) }
        case .binary(let b):
            guard let s = Unicode.Scalar(c) else { return false }
            let p = s.properties
            switch b {
            case .alphabetic: return p.isAlphabetic
            case .whiteSpace: return p.isWhitespace
            case .uppercase: return p.isUppercase
            case .lowercase: return p.isLowercase
            case .ascii: return c < 128
            case .assigned: return p.generalCategory != .unassigned
            case .emoji: return p.isEmoji
            case .math: return p.isMath
            case .hexDigit: return p.isHexDigit
            case .asciiHexDigit: return p.isASCIIHexDigit
            case .ideographic: return p.isIdeographic
            case .dash: return p.isDash
            case .diacritic: return p.isDiacritic
            case .noncharacter: return p.isNoncharacterCodePoint
            case .idStart: return p.isIDStart
            case .idContinue: return p.isIDContinue
            }
        }
    }

    @inline(__always) static func isWord(_ c: UInt32) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x5F
    }

    static func isSpace(_ c: UInt32) -> Bool {
        switch c {
        case 0x09...0x0D, 0x20, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF: return true
        default:
            if c < 0x80 { return false }
            if let s = Unicode.Scalar(c) { return s.properties.generalCategory == .spaceSeparator }
            return false
        }
    }

    @inline(__always) static func isLineTerminator(_ c: UInt32) -> Bool {
        c == 0x0A || c == 0x0D || c == 0x2028 || c == 0x2029
    }
}

/// Scalar ranges of a few scripts (approximate: their main Unicode blocks), for `\p{Script=…}` and for
/// the IDNA contextual rules of format `idn-hostname`.
enum ScriptRanges {
    static let greek: [ClosedRange<UInt32>] = [0x0370...0x0373, 0x0375...0x0377, 0x037A...0x037D, 0x037F...0x037F,
                                               0x0384...0x0384, 0x0386...0x0386, 0x0388...0x03E1, 0x03F0...0x03FF,
                                               0x1D26...0x1D2A, 0x1F00...0x1FFE, 0x2126...0x2126, 0xAB65...0xAB65,
                                               0x10140...0x1018E, 0x1D200...0x1D245]
    static let hebrew: [ClosedRange<UInt32>] = [0x0591...0x05C7, 0x05D0...0x05EA, 0x05EF...0x05F4, 0xFB1D...0xFB4F]
    static let hiragana: [ClosedRange<UInt32>] = [0x3041...0x3096, 0x309D...0x309F, 0x1B001...0x1B11F, 0x1F200...0x1F200]
    static let katakana: [ClosedRange<UInt32>] = [0x30A1...0x30FA, 0x30FD...0x30FF, 0x31F0...0x31FF, 0x32D0...0x32FE,
                                                  0x3300...0x3357, 0xFF66...0xFF6F, 0xFF71...0xFF9D, 0x1B000...0x1B000]
    static let han: [ClosedRange<UInt32>] = [0x2E80...0x2E99, 0x2E9B...0x2EF3, 0x2F00...0x2FD5, 0x3005...0x3005,
                                             0x3007...0x3007, 0x3021...0x3029, 0x3038...0x303B, 0x3400...0x4DBF,
                                             0x4E00...0x9FFF, 0xF900...0xFA6D, 0xFA70...0xFAD9, 0x20000...0x2A6DF,
                                             0x2A700...0x2EBE0, 0x2F800...0x2FA1D, 0x30000...0x3134A]
    static let latin: [ClosedRange<UInt32>] = [0x41...0x5A, 0x61...0x7A, 0xAA...0xAA, 0xBA...0xBA, 0xC0...0xD6,
                                               0xD8...0xF6, 0xF8...0x2B8, 0x2E0...0x2E4, 0x1D00...0x1D25,
                                               0x1E00...0x1EFF, 0x2C60...0x2C7F, 0xA722...0xA7FF, 0xFF21...0xFF3A,
                                               0xFF41...0xFF5A]
    static let cyrillic: [ClosedRange<UInt32>] = [0x0400...0x0484, 0x0487...0x052F, 0x1C80...0x1C88, 0x2DE0...0x2DFF,
                                                  0xA640...0xA69F]
    static let arabic: [ClosedRange<UInt32>] = [0x0600...0x0604, 0x0606...0x060B, 0x060D...0x061A, 0x061C...0x061E,
                                                0x0620...0x063F, 0x0641...0x064A, 0x0656...0x066F, 0x0671...0x06DC,
                                                0x06DE...0x06FF, 0x0750...0x077F, 0x08A0...0x08FF, 0xFB50...0xFDFF,
                                                0xFE70...0xFEFC]

    static func contains(_ ranges: [ClosedRange<UInt32>], _ c: UInt32) -> Bool { ranges.contains { $0.contains(c) } }
}

// MARK: - parser

fileprivate struct RParser {
    let s: [Unicode.Scalar]
    var i = 0
    var classes: [RClass] = []
    var groupCount = 0
    var groupNames: [String: Int] = [:]
    var totalGroups = 0
    var totalNames: Set<String> = []
    var usesBackrefs = false
    var pendingNamedRefs: [String] = []

    init(_ s: [Unicode.Scalar]) { self.s = s }

    func fail(_ why: String) -> RegexSyntaxError { RegexSyntaxError(reason: why) }

    var atEnd: Bool { i >= s.count }
    func peek(_ k: Int = 0) -> Unicode.Scalar? { i + k < s.count ? s[i + k] : nil }

    mutating func parse() throws(RegexSyntaxError) -> RNode {
        prescanGroups()
        let n = try disjunction(depth: 0)
        if !atEnd {
            throw fail(peek() == ")" ? "unmatched ')'" : "unexpected '\(peek()!)'")
        }
        for name in pendingNamedRefs where groupNames[name] == nil { throw fail("reference to an undefined group name") }
        return n
    }

    /// Counts capturing groups (and names) up front, so `\N` and `\k<name>` can refer forward.
    mutating func prescanGroups() {
        var k = 0
        var inClass = false
        while k < s.count {
            let c = s[k]
            if c == "\\" { k += 2; continue }
            if inClass { if c == "]" { inClass = false }; k += 1; continue }
            if c == "[" { inClass = true; k += 1; continue }
            if c == "(" {
                if k + 1 < s.count && s[k + 1] == "?" {
                    if k + 2 < s.count && s[k + 2] == "<" && k + 3 < s.count && s[k + 3] != "=" && s[k + 3] != "!" {
                        totalGroups += 1
                        var name = ""
                        var j = k + 3
                        while j < s.count && s[j] != ">" { name.unicodeScalars.append(s[j]); j += 1 }
                        totalNames.insert(name)
                    }
                } else {
                    totalGroups += 1
                }
            }
            k += 1
        }
    }

    mutating func disjunction(depth: Int) throws(RegexSyntaxError) -> RNode {
        if depth > 200 { throw fail("nested too deeply") }
        var alts: [RNode] = [try alternative(depth: depth)]
        while peek() == "|" {
            i += 1
            alts.append(try alternative(depth: depth))
        }
        return alts.count == 1 ? alts[0] : .alt(alts)
    }

    mutating func alternative(depth: Int) throws(RegexSyntaxError) -> RNode {
        var items: [RNode] = []
        while let c = peek(), c != "|", c != ")" {
            items.append(try term(depth: depth))
        }
        if items.isEmpty { return .empty }
        return items.count == 1 ? items[0] : .concat(items)
    }

    mutating func term(depth: Int) throws(RegexSyntaxError) -> RNode {
        let c = peek()!
        var atom: RNode
        var quantifiable = true
        switch c {
        case "^": i += 1; return .start
        case "$": i += 1; return .end
        case "\\" where peek(1) == "b": i += 2; return .wordB
        case "\\" where peek(1) == "B": i += 2; return .notWordB
        case "(":
            i += 1
            if peek() == "?" {
                switch peek(1) {
                case ":":
                    i += 2
                    atom = .group(try disjunction(depth: depth + 1), capture: nil)
                case "=", "!":
                    let neg = peek(1) == "!"
                    i += 2
                    atom = .look(try disjunction(depth: depth + 1), ahead: true, negate: neg)
                    quantifiable = false
                case "<" where peek(2) == "=" || peek(2) == "!":
                    let neg = peek(2) == "!"
                    i += 3
                    atom = .look(try disjunction(depth: depth + 1), ahead: false, negate: neg)
                    quantifiable = false
                case "<":
                    i += 2
                    let name = try groupName()
                    if groupNames[name] != nil { throw fail("duplicate group name") }
                    groupCount += 1
                    let idx = groupCount
                    groupNames[name] = idx
                    atom = .group(try disjunction(depth: depth + 1), capture: idx)
                default:
                    throw fail("invalid group")
                }
            } else {
                groupCount += 1
                let idx = groupCount
                atom = .group(try disjunction(depth: depth + 1), capture: idx)
            }
            guard peek() == ")" else { throw fail("missing ')'") }
            i += 1
        case ")": throw fail("unmatched ')'")
        case "[":
            atom = .cls(try charClass())
        case ".":
            i += 1
            atom = .dot
        case "*", "+", "?": throw fail("nothing to repeat")
        case "{":
            throw fail("lone '{' (nothing to repeat)")
        case "}", "]":
            throw fail("lone '\(c)'")
        case "\\":
            atom = try atomEscape()
        default:
            i += 1
            atom = .char(c.value)
        }
        // quantifier
        guard let q = peek() else { return atom }
        var min = 0
        var max: Int? = nil
        switch q {
        case "*": i += 1
        case "+": i += 1; min = 1
        case "?": i += 1; max = 1
        case "{":
            i += 1
            guard let a = number() else { throw fail("incomplete quantifier") }
            min = a
            max = a
            if peek() == "," {
                i += 1
                if peek() == "}" { max = nil } else {
                    guard let b = number() else { throw fail("incomplete quantifier") }
                    max = b
                }
            }
            guard peek() == "}" else { throw fail("incomplete quantifier") }
            i += 1
            if let m = max, m < min { throw fail("numbers out of order in {} quantifier") }
        default:
            return atom
        }
        if !quantifiable { throw fail("a lookaround assertion cannot be repeated") }
        var greedy = true
        if peek() == "?" { i += 1; greedy = false }
        return .rep(atom, min: min, max: max, greedy: greedy)
    }

    mutating func number() -> Int? {
        var v = 0
        var any = false
        while let c = peek(), c.value >= 0x30 && c.value <= 0x39 {
            v = min(v * 10 + Int(c.value - 0x30), 1_000_000_000)
            any = true
            i += 1
        }
        return any ? v : nil
    }

    mutating func groupName() throws(RegexSyntaxError) -> String {
        var name = ""
        while let c = peek(), c != ">" {
            let ok = c.properties.isIDContinue || c == "$" || c == "_" || c == "\u{200C}" || c == "\u{200D}"
            if !ok || (name.isEmpty && !(c.properties.isIDStart || c == "$" || c == "_")) { throw fail("invalid group name") }
            name.unicodeScalars.append(c)
            i += 1
        }
        guard peek() == ">", !name.isEmpty else { throw fail("invalid group name") }
        i += 1
        return name
    }

    mutating func atomEscape() throws(RegexSyntaxError) -> RNode {
        i += 1  // backslash
        guard let c = peek() else { throw fail("\\ at end of pattern") }
        if c.value >= 0x31 && c.value <= 0x39 {
            let n = number()!
            if n > totalGroups { throw fail("reference to a non-existent group") }
            usesBackrefs = true
            return .backref(n)
        }
        if c == "k" {
            i += 1
            guard peek() == "<" else { throw fail("invalid named reference") }
            i += 1
            let name = try groupName()
            guard totalNames.contains(name) else { throw fail("reference to an undefined group name") }
            usesBackrefs = true
            pendingNamedRefs.append(name)
            return .backref(-1 - (pendingNamedRefs.count - 1))
        }
        if let pred = try classEscape() {
            var cl = RClass()
            cl.preds = [pred]
            cl.finish()
            classes.append(cl)
            return .cls(classes.count - 1)
        }
        return .char(try characterEscape(inClass: false))
    }

    /// `\d \D \s \S \w \W \p{…} \P{…}` (the backslash already consumed); nil for other escapes.
    mutating func classEscape() throws(RegexSyntaxError) -> (RPred, Bool)? {
        guard let c = peek() else { return nil }
        switch c {
        case "d": i += 1; return (.digit, false)
        case "D": i += 1; return (.digit, true)
        case "s": i += 1; return (.space, false)
        case "S": i += 1; return (.space, true)
        case "w": i += 1; return (.word, false)
        case "W": i += 1; return (.word, true)
        case "p", "P":
            i += 1
            guard peek() == "{" else { throw fail("invalid property escape") }
            i += 1
            var name = ""
            while let x = peek(), x != "}" { name.unicodeScalars.append(x); i += 1 }
            guard peek() == "}" else { throw fail("invalid property escape") }
            i += 1
            return (try property(name), c == "P")
        default: return nil
        }
    }

    func property(_ text: String) throws(RegexSyntaxError) -> RPred {
        var key: String? = nil
        var value = text
        if let eq = text.firstIndex(of: "=") {
            key = String(text[..<eq])
            value = String(text[text.index(after: eq)...])
        }
        if let key {
            switch key {
            case "General_Category", "gc":
                if let set = RParser.generalCategory(value) { return .gc(set) }
            case "Script", "sc", "Script_Extensions", "scx":
                if let rs = RParser.script(value) { return .script(rs) }
            default: break
            }
            throw fail("unsupported Unicode property")
        }
        if let set = RParser.generalCategory(value) { return .gc(set) }
        let binary: [String: RBinaryProp] = [
            "Alphabetic": .alphabetic, "Alpha": .alphabetic, "White_Space": .whiteSpace, "space": .whiteSpace,
            "Uppercase": .uppercase, "Upper": .uppercase, "Lowercase": .lowercase, "Lower": .lowercase,
            "ASCII": .ascii, "Assigned": .assigned, "Emoji": .emoji, "Math": .math, "Hex_Digit": .hexDigit,
            "Hex": .hexDigit, "ASCII_Hex_Digit": .asciiHexDigit, "AHex": .asciiHexDigit, "Ideographic": .ideographic,
            "Ideo": .ideographic, "Dash": .dash, "Diacritic": .diacritic, "Dia": .diacritic,
            "Noncharacter_Code_Point": .noncharacter, "NChar": .noncharacter, "ID_Start": .idStart, "IDS": .idStart,
            "ID_Continue": .idContinue, "IDC": .idContinue,
        ]
        if value == "Any" { return .any }
        if let b = binary[value] { return .binary(b) }
        throw fail("unsupported Unicode property")
    }

    static func script(_ name: String) -> [ClosedRange<UInt32>]? {
        switch name {
        case "Greek", "Grek": return ScriptRanges.greek
        case "Hebrew", "Hebr": return ScriptRanges.hebrew
        case "Hiragana", "Hira": return ScriptRanges.hiragana
        case "Katakana", "Kana": return ScriptRanges.katakana
        case "Han", "Hani": return ScriptRanges.han
        case "Latin", "Latn": return ScriptRanges.latin
        case "Cyrillic", "Cyrl": return ScriptRanges.cyrillic
        case "Arabic", "Arab": return ScriptRanges.arabic
        default: return nil
        }
    }

    static func generalCategory(_ name: String) -> Set<Unicode.GeneralCategory>? {
        typealias G = Unicode.GeneralCategory
        let letters: [G] = [.uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter]
        let marks: [G] = [.nonspacingMark, .spacingMark, .enclosingMark]
        let numbers: [G] = [.decimalNumber, .letterNumber, .otherNumber]
        let punct: [G] = [.connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
                          .initialPunctuation, .finalPunctuation, .otherPunctuation]
        let symbols: [G] = [.mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol]
        let seps: [G] = [.spaceSeparator, .lineSeparator, .paragraphSeparator]
        let other: [G] = [.control, .format, .surrogate, .privateUse, .unassigned]
        let table: [String: [G]] = [
            "L": letters, "Letter": letters, "Lu": [.uppercaseLetter], "Uppercase_Letter": [.uppercaseLetter],
            "Ll": [.lowercaseLetter], "Lowercase_Letter": [.lowercaseLetter], "Lt": [.titlecaseLetter],
            "Titlecase_Letter": [.titlecaseLetter], "LC": [.uppercaseLetter, .lowercaseLetter, .titlecaseLetter],
            "Cased_Letter": [.uppercaseLetter, .lowercaseLetter, .titlecaseLetter], "Lm": [.modifierLetter],
            "Modifier_Letter": [.modifierLetter], "Lo": [.otherLetter], "Other_Letter": [.otherLetter],
            "M": marks, "Mark": marks, "Combining_Mark": marks, "Mn": [.nonspacingMark], "Nonspacing_Mark": [.nonspacingMark],
            "Mc": [.spacingMark], "Spacing_Mark": [.spacingMark], "Me": [.enclosingMark], "Enclosing_Mark": [.enclosingMark],
            "N": numbers, "Number": numbers, "Nd": [.decimalNumber], "Decimal_Number": [.decimalNumber],
            "digit": [.decimalNumber], "Nl": [.letterNumber], "Letter_Number": [.letterNumber], "No": [.otherNumber],
            "Other_Number": [.otherNumber], "P": punct, "Punctuation": punct, "punct": punct,
            "Pc": [.connectorPunctuation], "Connector_Punctuation": [.connectorPunctuation],
            "Pd": [.dashPunctuation], "Dash_Punctuation": [.dashPunctuation], "Ps": [.openPunctuation],
            "Open_Punctuation": [.openPunctuation], "Pe": [.closePunctuation], "Close_Punctuation": [.closePunctuation],
            "Pi": [.initialPunctuation], "Initial_Punctuation": [.initialPunctuation], "Pf": [.finalPunctuation],
            "Final_Punctuation": [.finalPunctuation], "Po": [.otherPunctuation], "Other_Punctuation": [.otherPunctuation],
            "S": symbols, "Symbol": symbols, "Sm": [.mathSymbol], "Math_Symbol": [.mathSymbol],
            "Sc": [.currencySymbol], "Currency_Symbol": [.currencySymbol], "Sk": [.modifierSymbol],
            "Modifier_Symbol": [.modifierSymbol], "So": [.otherSymbol], "Other_Symbol": [.otherSymbol],
            "Z": seps, "Separator": seps, "Zs": [.spaceSeparator], "Space_Separator": [.spaceSeparator],
            "Zl": [.lineSeparator], "Line_Separator": [.lineSeparator], "Zp": [.paragraphSeparator],
            "Paragraph_Separator": [.paragraphSeparator], "C": other, "Other": other, "Cc": [.control],
            "Control": [.control], "cntrl": [.control], "Cf": [.format], "Format": [.format], "Cs": [.surrogate],
            "Surrogate": [.surrogate], "Co": [.privateUse], "Private_Use": [.privateUse], "Cn": [.unassigned],
            "Unassigned": [.unassigned],
        ]
        return table[name].map(Set.init)
    }

    /// A character escape (the backslash consumed): control escapes, `\cX`, `\0`, `\xHH`, `\uHHHH`,
    /// `\u{…}`, surrogate pairs, and identity escapes of syntax characters.
    mutating func characterEscape(inClass: Bool) throws(RegexSyntaxError) -> UInt32 {
        guard let c = peek() else { throw fail("\\ at end of pattern") }
        i += 1
        switch c {
        case "t": return 0x09
        case "n": return 0x0A
        case "v": return 0x0B
        case "f": return 0x0C
        case "r": return 0x0D
        case "c":
            guard let l = peek(), l.isASCII, (l.value >= 0x41 && l.value <= 0x5A) || (l.value >= 0x61 && l.value <= 0x7A) else {
                throw fail("invalid \\c escape")
            }
            i += 1
            return l.value % 32
        case "0":
            if let d = peek(), d.value >= 0x30 && d.value <= 0x39 { throw fail("invalid octal escape") }
            return 0
        case "x":
            guard let v = hex(2) else { throw fail("invalid \\x escape") }
            return v
        case "u":
            if peek() == "{" {
                i += 1
                var v: UInt32 = 0
                var n = 0
                while let d = peek(), let dv = RParser.hexDigit(d) {
                    v = v &* 16 &+ dv
                    n += 1
                    i += 1
                    if v > 0x10FFFF { throw fail("invalid \\u{…} escape") }
                }
                guard n > 0, peek() == "}" else { throw fail("invalid \\u{…} escape") }
                i += 1
                return v
            }
            guard let v = hex(4) else { throw fail("invalid \\u escape") }
            if v >= 0xD800 && v < 0xDC00, peek() == "\\", peek(1) == "u" {
                let save = i
                i += 2
                if let lo = hex(4), lo >= 0xDC00 && lo < 0xE000 {
                    return 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                }
                i = save
            }
            return v
        case "-" where inClass: return 0x2D
        case "b" where inClass: return 0x08
        default:
            // Identity escapes: ECMA-262's `u` mode allows only syntax characters and `/`; escaping any
            // other ASCII punctuation is accepted too (harmless, and common in hand-written schemas).
            if c.isASCII, !(c.properties.isAlphabetic || (c.value >= 0x30 && c.value <= 0x39)), c.value >= 0x21 {
                return c.value
            }
            throw fail("invalid escape '\\\(c)'")
        }
    }

    static func hexDigit(_ c: Unicode.Scalar) -> UInt32? {
        switch c.value {
        case 0x30...0x39: return c.value - 0x30
        case 0x41...0x46: return c.value - 0x41 + 10
        case 0x61...0x66: return c.value - 0x61 + 10
        default: return nil
        }
    }

    mutating func hex(_ n: Int) -> UInt32? {
        var v: UInt32 = 0
        for k in 0..<n {
            guard let c = peek(k), let d = RParser.hexDigit(c) else { return nil }
            v = v * 16 + d
        }
        i += n
        return v
    }

    mutating func charClass() throws(RegexSyntaxError) -> Int {
        i += 1  // [
        var cl = RClass()
        if peek() == "^" { cl.negated = true; i += 1 }
        while true {
            guard let c = peek() else { throw fail("missing ']'") }
            if c == "]" { i += 1; break }
            let a = try classAtom()
            if peek() == "-", let n = peek(1), n != "]" {
                i += 1
                let b = try classAtom()
                guard case .char(let lo) = a, case .char(let hi) = b else { throw fail("invalid character class range") }
                guard lo <= hi else { throw fail("range out of order in character class") }
                cl.ranges.append(lo...hi)
            } else {
                switch a {
                case .char(let v): cl.ranges.append(v...v)
                case .pred(let p, let neg): cl.preds.append((p, neg))
                }
            }
        }
        cl.finish()
        classes.append(cl)
        return classes.count - 1
    }

    enum ClassAtom { case char(UInt32), pred(RPred, Bool) }

    mutating func classAtom() throws(RegexSyntaxError) -> ClassAtom {
        let c = peek()!
        if c == "\\" {
            i += 1
            if let (p, neg) = try classEscape() { return .pred(p, neg) }
            return .char(try characterEscape(inClass: true))
        }
        i += 1
        return .char(c.value)
    }
}

// MARK: - program

fileprivate enum RInst {
    case char(UInt32)
    case cls(Int, UInt64, UInt64)
    case dot
    case split(Int, Int)  // try first, on failure the second
    case jmp(Int)
    case save(Int)
    case start, end, wordB, notWordB
    case repeatSingle(RSingleOp, min: Int, max: Int, greedy: Bool)
    case look(body: Int, ahead: Bool, negate: Bool)
    case backref(Int)
    case loopMark(Int)  // remember the position in register n
    case loopCheck(Int)  // fail when no input was consumed since loopMark(n)
    case match
    case matchEndAt  // lookbehind body end: succeed only at the lookbehind's position
}

fileprivate enum RSingleOp {
    case char(UInt32)
    /// A class: its index, and its ASCII members as a 128-bit map (no lookup for ASCII input).
    case cls(Int, UInt64, UInt64)
    case dot
}

fileprivate struct RCompiler {
    var prog: [RInst] = []
    var classes: [RClass]
    let captureCount: Int
    let usesCaptures: Bool
    var regCount = 0
    var pendingLooks: [(at: Int, node: RNode, ahead: Bool)] = []
    /// Group numbers of named references, by their index in the parser's `pendingNamedRefs`.
    var namedRefs: [Int] = []

    init(classes: [RClass], captureCount: Int, usesCaptures: Bool) {
        self.classes = classes
        self.captureCount = captureCount
        self.usesCaptures = usesCaptures
    }

    func fail(_ why: String) -> RegexSyntaxError { RegexSyntaxError(reason: why) }

    mutating func emitTop(_ n: RNode) throws(RegexSyntaxError) {
        try emit(n)
        prog.append(.match)
        while let (at, body, ahead) = pendingLooks.popLast() {
            let start = prog.count
            if case .look(_, let a, let neg) = prog[at] { prog[at] = .look(body: start, ahead: a, negate: neg) }
            try emit(body)
            prog.append(ahead ? .match : .matchEndAt)
        }
    }

    mutating func check() throws(RegexSyntaxError) {
        if prog.count > ECMARegex.maxProgram { throw fail("pattern too large") }
    }

    mutating func emit(_ n: RNode) throws(RegexSyntaxError) {
        try check()
        switch n {
        case .empty: break
        case .char(let c): prog.append(.char(c))
        case .cls(let i): prog.append(.cls(i, classes[i].asciiLo, classes[i].asciiHi))
        case .dot: prog.append(.dot)
        case .start: prog.append(.start)
        case .end: prog.append(.end)
        case .wordB: prog.append(.wordB)
        case .notWordB: prog.append(.notWordB)
        case .backref(let k): prog.append(.backref(k >= 0 ? k : namedRefs[-1 - k]))
        case .group(let x, let cap):
            if let cap, usesCaptures { prog.append(.save(cap * 2)) }
            try emit(x)
            if let cap, usesCaptures { prog.append(.save(cap * 2 + 1)) }
        case .concat(let xs):
            for x in xs { try emit(x) }
        case .alt(let xs):
            var jumps: [Int] = []
            for (k, x) in xs.enumerated() {
                if k < xs.count - 1 {
                    let split = prog.count
                    prog.append(.split(split + 1, -1))
                    try emit(x)
                    jumps.append(prog.count)
                    prog.append(.jmp(-1))
                    prog[split] = .split(split + 1, prog.count)
                } else {
                    try emit(x)
                }
            }
            for j in jumps { prog[j] = .jmp(prog.count) }
        case .look(let x, let ahead, let neg):
            pendingLooks.append((prog.count, x, ahead))
            prog.append(.look(body: -1, ahead: ahead, negate: neg))
        case .rep(let x, let min, let max, let greedy):
            if let s = x.single, !(usesCaptures && x.hasCapture) {
                let op: RSingleOp
                switch s {
                case .char(let c): op = .char(c)
                case .cls(let i): op = .cls(i, classes[i].asciiLo, classes[i].asciiHi)
                case .dot: op = .dot
                }
                prog.append(.repeatSingle(op, min: min, max: max ?? Int.max, greedy: greedy))
                return
            }
            if max == 0 { return }
            let empty = x.canBeEmpty
            for _ in 0..<min { try emit(x) }
            if let max {
                // up to (max - min) optional copies, each nested in the previous one
                var exits: [Int] = []
                for _ in 0..<(max - min) {
                    let split = prog.count
                    prog.append(.split(-1, -1))
                    exits.append(split)
                    try emit(x)
                }
                let end = prog.count
                for s in exits { prog[s] = greedy ? .split(s + 1, end) : .split(end, s + 1) }
            } else {
                let loop = prog.count
                prog.append(.split(-1, -1))
                var reg = -1
                if empty {
                    reg = regCount
                    regCount += 1
                    prog.append(.loopMark(reg))
                }
                try emit(x)
                if empty { prog.append(.loopCheck(reg)) }
                prog.append(.jmp(loop))
                let end = prog.count
                prog[loop] = greedy ? .split(loop + 1, end) : .split(end, loop + 1)
            }
        }
    }
}

// MARK: - machine

/// A backtracking choice point (trivial: no reference counting).
fileprivate enum RFrame {
    case alt(pc: Int, pos: Int)
    /// A greedy repetition that can give back a scalar; `pc` is the repetition instruction.
    case greedy(pc: Int, pos: Int, count: Int)
    /// A lazy repetition that can take one more scalar; `pc` is the repetition instruction.
    case lazy(pc: Int, pos: Int, count: Int)
    case restoreSlot(Int, Int)
    case restoreReg(Int, Int)
}

/// The backtracking stack: starts in caller-provided (stack-allocated) storage, moves to the heap
/// only when it outgrows it.
fileprivate struct RFrameStack {
    private var base: UnsafeMutablePointer<RFrame>
    private var capacity: Int
    private var count = 0
    private var owned = false

    init(_ storage: UnsafeMutableBufferPointer<RFrame>) {
        base = storage.baseAddress!
        capacity = storage.count
    }

    @inline(__always) mutating func append(_ f: RFrame) {
        if count == capacity { grow() }
        (base + count).initialize(to: f)
        count += 1
    }

    @inline(__always) mutating func popLast() -> RFrame? {
        if count == 0 { return nil }
        count -= 1
        return (base + count).move()
    }

    private mutating func grow() {
        let n = capacity * 2
        let nb = UnsafeMutablePointer<RFrame>.allocate(capacity: n)
        nb.moveInitialize(from: base, count: count)
        if owned { base.deallocate() }
        base = nb
        capacity = n
        owned = true
    }

    /// Frees heap storage (frames are trivial: nothing to deinitialize).
    mutating func release() {
        if owned { base.deallocate() }
        owned = false
        count = 0
    }
}

fileprivate struct RVM {
    unowned(unsafe) let re: ECMARegex
    let buf: UnsafeBufferPointer<UInt8>
    let scratch: UnsafeMutableBufferPointer<RFrame>
    var steps = 0
    var exhausted = false
    var slots: [Int]
    var regs: [Int]

    init(re: ECMARegex, buf: UnsafeBufferPointer<UInt8>, scratch: UnsafeMutableBufferPointer<RFrame>) {
        self.re = re
        self.buf = buf
        self.scratch = scratch
        slots = re.usesCaptures ? Array(repeating: -1, count: re.slotCount) : []
        regs = re.regCount > 0 ? Array(repeating: -1, count: re.regCount) : []
    }

    @inline(__always) static func next(_ buf: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        let b = buf[i]
        if b < 0x80 { return i + 1 }
        if b < 0xE0 { return i + 2 }
        if b < 0xF0 { return i + 3 }
        return i + 4
    }

    @inline(__always) func decode(_ i: Int) -> UInt32 {
        let b0 = UInt32(buf[i])
        if b0 < 0x80 { return b0 }
        if b0 < 0xE0 { return (b0 & 0x1F) << 6 | UInt32(buf[i + 1] & 0x3F) }
        if b0 < 0xF0 { return (b0 & 0x0F) << 12 | UInt32(buf[i + 1] & 0x3F) << 6 | UInt32(buf[i + 2] & 0x3F) }
        return (b0 & 0x07) << 18 | UInt32(buf[i + 1] & 0x3F) << 12 | UInt32(buf[i + 2] & 0x3F) << 6 | UInt32(buf[i + 3] & 0x3F)
    }

    @inline(__always) func prev(_ i: Int) -> Int {
        var j = i - 1
        while j > 0 && buf[j] & 0xC0 == 0x80 { j -= 1 }
        return j
    }

    /// Matches one scalar at `pos`; the position after it, or -1.
    @inline(__always) func single(_ op: RSingleOp, _ pos: Int) -> Int {
        guard pos < buf.count else { return -1 }
        let b = buf[pos]
        if b < 0x80 {
            let c = UInt32(b)
            switch op {
            case .char(let x): return x == c ? pos + 1 : -1
            case .cls(_, let lo, let hi):
                let hit = c < 64 ? lo & (1 << UInt64(c)) != 0 : hi & (1 << UInt64(c - 64)) != 0
                return hit ? pos + 1 : -1
            case .dot: return c == 0x0A || c == 0x0D ? -1 : pos + 1
            }
        }
        let c = decode(pos)
        let ok: Bool
        switch op {
        case .char(let x): ok = x == c
        case .cls(let k, _, _): ok = re.classes[k].slowContains(c)
        case .dot: ok = !RClass.isLineTerminator(c)
        }
        return ok ? RVM.next(buf, pos) : -1
    }

    func isWordAt(_ pos: Int) -> Bool {
        pos >= 0 && pos < buf.count && buf[pos] < 0x80 && RClass.isWord(UInt32(buf[pos]))
    }

    func atWordBoundary(_ pos: Int) -> Bool {
        let before = pos > 0 && isWordAt(pos - 1)
        let after = isWordAt(pos)
        return before != after
    }

    /// Runs the program from `pc` at `pos`; true on reaching `match` (or `matchEndAt` at `endAt`).
    mutating func run(pc startPC: Int, at startPos: Int, endAt: Int) -> Bool {
        var stack = RFrameStack(scratch)
        defer { stack.release() }
        var pc = startPC
        var pos = startPos
        let prog = re.prog
        while true {
            steps += 1
            if steps > ECMARegex.stepBudget { exhausted = true; return false }
            var ok = true
            switch prog[pc] {
            case .char(let c):
                let n = single(.char(c), pos)
                if n < 0 { ok = false } else { pos = n; pc += 1 }
            case .cls(let k, let lo, let hi):
                let n = single(.cls(k, lo, hi), pos)
                if n < 0 { ok = false } else { pos = n; pc += 1 }
            case .dot:
                let n = single(.dot, pos)
                if n < 0 { ok = false } else { pos = n; pc += 1 }
            case .split(let a, let b):
                stack.append(.alt(pc: b, pos: pos))
                pc = a
            case .jmp(let t): pc = t
            case .save(let k):
                stack.append(.restoreSlot(k, slots[k]))
                slots[k] = pos
                pc += 1
            case .start:
                if pos == 0 { pc += 1 } else { ok = false }
            case .end:
                if pos == buf.count { pc += 1 } else { ok = false }
            case .wordB:
                if atWordBoundary(pos) { pc += 1 } else { ok = false }
            case .notWordB:
                if !atWordBoundary(pos) { pc += 1 } else { ok = false }
            case .repeatSingle(let op, let min, let max, let greedy):
                var count = 0
                var p = pos
                let limit = greedy ? max : min
                if case .cls(_, let lo, let hi) = op {
                    // ASCII fast path: test the class bitmap inline
                    while count < limit && p < buf.count {
                        let b = buf[p]
                        if b < 0x80 {
                            let hit = b < 64 ? (lo >> UInt64(b)) & 1 : (hi >> UInt64(b - 64)) & 1
                            if hit == 0 { break }
                            p += 1
                        } else {
                            let n = single(op, p)
                            if n < 0 { break }
                            p = n
                        }
                        count += 1
                    }
                } else {
                    while count < limit {
                        let n = single(op, p)
                        if n < 0 { break }
                        p = n
                        count += 1
                    }
                }
                if count < min { ok = false; break }
                if greedy {
                    // Nothing after can succeed with fewer repetitions when `$` or the end follows.
                    let follow = prog[pc + 1]
                    var needBacktrack = count > min
                    if needBacktrack {
                        switch follow {
                        case .match: needBacktrack = false
                        case .end: needBacktrack = false
                        default: break
                        }
                    }
                    if needBacktrack { stack.append(.greedy(pc: pc, pos: p, count: count)) }
                    pos = p
                    pc += 1
                } else {
                    if count < max { stack.append(.lazy(pc: pc, pos: p, count: count)) }
                    pos = p
                    pc += 1
                }
            case .look(let body, let ahead, let negate):
                let (found, sub) = withUnsafeTemporaryAllocation(of: RFrame.self, capacity: 16) { subScratch -> (Bool, RVM) in
                    var sub = RVM(re: re, buf: buf, scratch: subScratch)
                    sub.steps = steps
                    sub.slots = slots
                    sub.regs = regs
                    var found = false
                    if ahead {
                        found = sub.run(pc: body, at: pos, endAt: -1)
                    } else {
                        var j = pos
                        while true {
                            if sub.run(pc: body, at: j, endAt: pos) { found = true; break }
                            if sub.exhausted || j == 0 { break }
                            j = prev(j)
                        }
                    }
                    return (found, sub)
                }
                steps = sub.steps
                if sub.exhausted { exhausted = true; return false }
                if found != negate {
                    if found && !negate && re.usesCaptures {
                        for k in 0..<slots.count where slots[k] != sub.slots[k] {
                            stack.append(.restoreSlot(k, slots[k]))
                            slots[k] = sub.slots[k]
                        }
                    }
                    pc += 1
                } else {
                    ok = false
                }
            case .backref(let k):
                let g = k
                if g < 0 || 2 * g + 1 >= slots.count { pc += 1; break }
                let s = slots[2 * g], e = slots[2 * g + 1]
                if s < 0 || e < 0 || e < s { pc += 1; break }
                let len = e - s
                if pos + len > buf.count { ok = false; break }
                var same = true
                for t in 0..<len where buf[s + t] != buf[pos + t] { same = false; break }
                if same { pos += len; pc += 1 } else { ok = false }
            case .loopMark(let r):
                stack.append(.restoreReg(r, regs[r]))
                regs[r] = pos
                pc += 1
            case .loopCheck(let r):
                if regs[r] == pos { ok = false } else { pc += 1 }
            case .match:
                return true
            case .matchEndAt:
                if pos == endAt { return true }
                ok = false
            }
            if ok { continue }
            // backtrack
            var resumed = false
            while let f = stack.popLast() {
                switch f {
                case .alt(let p, let q):
                    pc = p
                    pos = q
                    resumed = true
                case .greedy(let rpc, let q, let count):
                    guard case .repeatSingle(_, let min, _, _) = prog[rpc] else { break }
                    let back = prev(q)
                    if count - 1 > min { stack.append(.greedy(pc: rpc, pos: back, count: count - 1)) }
                    pc = rpc + 1
                    pos = back
                    resumed = true
                case .lazy(let rpc, let q, let count):
                    guard case .repeatSingle(let op, _, let max, _) = prog[rpc] else { break }
                    let n = single(op, q)
                    if n >= 0 {
                        if count + 1 < max { stack.append(.lazy(pc: rpc, pos: n, count: count + 1)) }
                        pc = rpc + 1
                        pos = n
                        resumed = true
                    }
                case .restoreSlot(let k, let v): slots[k] = v
                case .restoreReg(let r, let v): regs[r] = v
                }
                if resumed { break }
            }
            if !resumed { return false }
        }
    }
}
