/// A small, strict, Foundation-free reader for the XML that S3 sends (responses and error bodies).
///
/// Accepts: an optional XML declaration, one root element, nested elements with attributes, character
/// data, the five predefined entities (`&lt; &gt; &amp; &quot; &apos;`), decimal and hexadecimal
/// character references, comments and CDATA sections. Rejects, with
/// ``AWSError/Kind/malformedResponse``: document type declarations (so no entity definitions and no
/// expansion attacks), any other entity, processing instructions other than the declaration,
/// invalid UTF-8, characters XML forbids, mismatched or unclosed tags, duplicate attributes, text or a
/// second element after the root, and input over the ``Limits``. The parser is iterative (an explicit
/// stack), so hostile nesting cannot overflow the call stack.
public enum XMLReader {
    /// Bounds on what the reader accepts.
    public struct Limits: Sendable {
        /// The largest input, in bytes.
        public var maxBytes: Int
        /// The deepest element nesting (the root is depth 1).
        public var maxDepth: Int
        /// The most elements in one document.
        public var maxElements: Int
        /// The most attributes on one element.
        public var maxAttributes: Int

        /// Memberwise initializer.
        public init(maxBytes: Int, maxDepth: Int, maxElements: Int, maxAttributes: Int) {
            self.maxBytes = maxBytes
            self.maxDepth = maxDepth
            self.maxElements = maxElements
            self.maxAttributes = maxAttributes
        }

        /// 16 MiB, depth 32, 200,000 elements, 16 attributes per element: far above any S3 response
        /// (a full ListObjectsV2 page of 1,000 URL-encoded 1 KiB keys is under 4 MiB, depth 3).
        public static let `default` = Limits(maxBytes: 16 << 20, maxDepth: 32, maxElements: 200_000, maxAttributes: 16)
    }

    /// Parses `bytes` (UTF-8) into its root element.
    public static func parse(_ bytes: [UInt8], limits: Limits = .default) throws(AWSError) -> Element {
        guard bytes.count <= limits.maxBytes else {
            throw fail("document of \(bytes.count) bytes is over the \(limits.maxBytes)-byte limit")
        }
        var parser = Parser(bytes: bytes, limits: limits)
        return try parser.document()
    }

    static func fail(_ what: String) -> AWSError {
        AWSError(.malformedResponse, "xml: " + what)
    }

    private struct Open {
        var name: [UInt8]
        var attributes: [Attribute]
        var children: [Element] = []
        var text: [UInt8] = []
    }

    private struct Parser {
        let b: [UInt8]
        let limits: Limits
        var i = 0
        var elements = 0

        init(bytes: [UInt8], limits: Limits) {
            self.b = bytes
            self.limits = limits
        }

        mutating func document() throws(AWSError) -> Element {
            // A UTF-8 byte order mark is allowed before the declaration.
            if b.count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF { i = 3 }
            // Every byte is checked once here, so later steps can decode slices without re-checking.
            try checkChars(i, b.count)
            if starts("<?xml") && i + 5 < b.count && isSpace(b[i + 5]) {
                try declaration()
            }
            try misc()
            guard i < b.count else { throw fail("no root element") }
            guard b[i] == 0x3C else { throw fail("text before the root element") }
            let root = try elementTree()
            try misc()
            guard i == b.count else {
                throw fail(b[i] == 0x3C ? "content after the root element" : "text after the root element")
            }
            return root
        }

        /// `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`: only UTF-8 (or no encoding).
        mutating func declaration() throws(AWSError) {
            guard let end = find(Array("?>".utf8), from: i) else { throw fail("unterminated xml declaration") }
            let body = b[(i + 5)..<end].map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
            let key = Array("encoding".utf8)
            if let k = (0...max(0, body.count - key.count)).first(where: { body.count >= key.count && Array(body[$0..<($0 + key.count)]) == key }) {
                let rest = body[(k + key.count)...].drop { $0 == 0x20 || $0 == 0x3D || $0 == 0x22 || $0 == 0x27 }
                guard rest.starts(with: Array("utf-8".utf8)) || rest.starts(with: Array("utf8".utf8)) else {
                    throw fail("unsupported encoding in the xml declaration")
                }
            }
            i = end + 2
        }

        /// Whitespace and comments outside the root; a DOCTYPE or other markup is refused.
        mutating func misc() throws(AWSError) {
            while i < b.count {
                if isSpace(b[i]) { i += 1; continue }
                if starts("<!--") { try comment(); continue }
                if starts("<!") { throw fail("document type declarations are not accepted") }
                if starts("<?") { throw fail("processing instructions are not accepted") }
                return
            }
        }

        mutating func comment() throws(AWSError) {
            guard let end = find([0x2D, 0x2D], from: i + 4) else { throw fail("unterminated comment") }
            guard end + 2 < b.count, b[end + 2] == 0x3E else { throw fail("'--' inside a comment") }
            i = end + 3
        }

        /// Parses the root element and everything in it, iteratively.
        mutating func elementTree() throws(AWSError) -> Element {
            var stack: [Open] = []
            while true {
                guard i < b.count else { throw fail("unexpected end of document inside <\(name(stack.last))>") }
                if b[i] == 0x3C {
                    if starts("</") {
                        i += 2
                        let n = try nameToken()
                        skipSpace()
                        guard i < b.count, b[i] == 0x3E else { throw fail("malformed end tag") }
                        i += 1
                        guard var top = stack.popLast() else { throw fail("end tag without a start tag") }
                        guard top.name == n else {
                            throw fail("end tag </\(String(decoding: n, as: UTF8.self))> does not match <\(name(top))>")
                        }
                        let done = try finish(&top)
                        if stack.isEmpty { return done }
                        stack[stack.count - 1].children.append(done)
                    } else if starts("<!--") {
                        guard !stack.isEmpty else { throw fail("internal error") }
                        try comment()
                    } else if starts("<![CDATA[") {
                        guard !stack.isEmpty else { throw fail("CDATA outside the root element") }
                        guard let end = find([0x5D, 0x5D, 0x3E], from: i + 9) else { throw fail("unterminated CDATA section") }
                        appendNormalized(b[(i + 9)..<end], to: &stack[stack.count - 1].text)
                        i = end + 3
                    } else if starts("<!") {
                        throw fail("document type declarations are not accepted")
                    } else if starts("<?") {
                        throw fail("processing instructions are not accepted")
                    } else {
                        i += 1
                        let n = try nameToken()
                        elements += 1
                        guard elements <= limits.maxElements else { throw fail("more than \(limits.maxElements) elements") }
                        guard stack.count < limits.maxDepth else { throw fail("nesting deeper than \(limits.maxDepth)") }
                        let (attributes, selfClosing) = try attributesAndClose()
                        var open = Open(name: n, attributes: attributes)
                        if selfClosing {
                            let done = try finish(&open)
                            if stack.isEmpty { return done }
                            stack[stack.count - 1].children.append(done)
                        } else {
                            stack.append(open)
                        }
                    }
                } else {
                    guard !stack.isEmpty else { throw fail("text outside the root element") }
                    try charData(into: &stack[stack.count - 1].text)
                }
            }
        }

        func name(_ o: Open?) -> String {
            o.map { String(decoding: $0.name, as: UTF8.self) } ?? "?"
        }

        /// The input was validated as UTF-8 up front and references add whole scalars, so decoding
        /// cannot meet an invalid sequence here.
        func finish(_ o: inout Open) throws(AWSError) -> Element {
            Element(name: String(decoding: o.name, as: UTF8.self), attributes: o.attributes,
                       children: o.children, text: String(decoding: o.text, as: UTF8.self))
        }

        /// Character data up to the next `<`, with references decoded.
        mutating func charData(into out: inout [UInt8]) throws(AWSError) {
            let start = i
            while i < b.count && b[i] != 0x3C { i += 1 }
            try decode(start, i, into: &out, inAttribute: false)
        }

        /// Attributes after the name, then `>` or `/>`.
        mutating func attributesAndClose() throws(AWSError) -> ([Attribute], Bool) {
            var attributes: [Attribute] = []
            while true {
                let hadSpace = skipSpace()
                guard i < b.count else { throw fail("unterminated start tag") }
                if b[i] == 0x3E { i += 1; return (attributes, false) }
                if b[i] == 0x2F {
                    guard i + 1 < b.count, b[i + 1] == 0x3E else { throw fail("malformed start tag") }
                    i += 2
                    return (attributes, true)
                }
                guard hadSpace else { throw fail("malformed start tag") }
                let n = try nameToken()
                skipSpace()
                guard i < b.count, b[i] == 0x3D else { throw fail("attribute without a value") }
                i += 1
                skipSpace()
                guard i < b.count, b[i] == 0x22 || b[i] == 0x27 else { throw fail("unquoted attribute value") }
                let quote = b[i]
                i += 1
                let start = i
                while i < b.count && b[i] != quote {
                    if b[i] == 0x3C { throw fail("'<' in an attribute value") }
                    i += 1
                }
                guard i < b.count else { throw fail("unterminated attribute value") }
                var value: [UInt8] = []
                try decode(start, i, into: &value, inAttribute: true)
                i += 1
                let name = String(decoding: n, as: UTF8.self), v = String(decoding: value, as: UTF8.self)
                guard !attributes.contains(where: { $0.name == name }) else { throw fail("duplicate attribute \(name)") }
                attributes.append(Attribute(name: name, value: v))
                guard attributes.count <= limits.maxAttributes else { throw fail("more than \(limits.maxAttributes) attributes") }
            }
        }

        /// An XML name: starts with a letter, `_`, `:` or a non-ASCII byte; continues with those,
        /// digits, `-` and `.`.
        mutating func nameToken() throws(AWSError) -> [UInt8] {
            let start = i
            while i < b.count {
                let c = b[i]
                let letter = (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x3A || c >= 0x80
                let other = (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2E
                if letter || (other && i > start) { i += 1 } else { break }
            }
            guard i > start else { throw fail("expected a name") }
            guard i - start <= 1024 else { throw fail("name longer than 1024 bytes") }
            return Array(b[start..<i])
        }

        /// Decodes `b[from..<to]`: references resolved, raw characters checked, line ends normalised
        /// (and, in attribute values, whitespace characters turned into spaces).
        func decode(_ from: Int, _ to: Int, into out: inout [UInt8], inAttribute: Bool) throws(AWSError) {
            var j = from
            var runStart = from
            while j < to {
                let c = b[j]
                if c == 0x26 {
                    appendNormalized(b[runStart..<j], to: &out, inAttribute: inAttribute)
                    guard let semi = b[j..<min(to, j + 12)].firstIndex(of: 0x3B) else { throw fail("unterminated or unknown reference") }
                    let ref = b[(j + 1)..<semi]
                    try reference(ref, into: &out)
                    j = semi + 1
                    runStart = j
                } else if c == 0x3E && !inAttribute && j >= from + 2 && b[j - 1] == 0x5D && b[j - 2] == 0x5D {
                    throw fail("']]>' in character data")
                } else {
                    j += 1
                }
            }
            appendNormalized(b[runStart..<to], to: &out, inAttribute: inAttribute)
        }

        func reference(_ ref: ArraySlice<UInt8>, into out: inout [UInt8]) throws(AWSError) {
            switch String(decoding: ref, as: UTF8.self) {
            case "lt": out.append(0x3C)
            case "gt": out.append(0x3E)
            case "amp": out.append(0x26)
            case "quot": out.append(0x22)
            case "apos": out.append(0x27)
            case let s where s.hasPrefix("#x"):
                let digits = s.dropFirst(2)
                try scalar(digits.allSatisfy { $0.isHexDigit } ? UInt32(digits, radix: 16) : nil, s, into: &out)
            case let s where s.hasPrefix("#"):
                try scalar(s.dropFirst().allSatisfy { $0.isASCII && $0.isNumber } ? UInt32(s.dropFirst(), radix: 10) : nil, s, into: &out)
            default:
                throw fail("unknown entity reference")
            }
        }

        /// A character reference: any Unicode scalar value except U+0000 (S3 escapes control
        /// characters in keys this way) - surrogates and values above U+10FFFF are refused.
        func scalar(_ v: UInt32?, _ s: String, into out: inout [UInt8]) throws(AWSError) {
            guard let v, v != 0, s.count > (s.hasPrefix("#x") ? 2 : 1), let u = Unicode.Scalar(v) else {
                throw fail("invalid character reference")
            }
            out.append(contentsOf: Array(String(Character(u)).utf8))
        }

        /// Checks `b[from..<to]` is UTF-8 made of characters XML allows raw: tab, LF, CR and
        /// everything from U+0020 except U+FFFE and U+FFFF.
        func checkChars(_ from: Int, _ to: Int) throws(AWSError) {
            var j = from
            while j < to {
                let c = b[j]
                if c < 0x80 {
                    guard c >= 0x20 || c == 0x09 || c == 0x0A || c == 0x0D else { throw fail("control character in the document") }
                    j += 1
                    continue
                }
                // Validate one multi-byte sequence.
                let len: Int, min: UInt32
                var v: UInt32
                if c & 0xE0 == 0xC0 { len = 2; v = UInt32(c & 0x1F); min = 0x80 }
                else if c & 0xF0 == 0xE0 { len = 3; v = UInt32(c & 0x0F); min = 0x800 }
                else if c & 0xF8 == 0xF0 { len = 4; v = UInt32(c & 0x07); min = 0x10000 }
                else { throw fail("invalid UTF-8") }
                guard j + len <= to else { throw fail("invalid UTF-8") }
                for k in 1..<len {
                    let d = b[j + k]
                    guard d & 0xC0 == 0x80 else { throw fail("invalid UTF-8") }
                    v = v << 6 | UInt32(d & 0x3F)
                }
                guard v >= min, v <= 0x10FFFF, !(0xD800...0xDFFF).contains(v) else { throw fail("invalid UTF-8") }
                guard v != 0xFFFE && v != 0xFFFF else { throw fail("non-character in the document") }
                j += len
            }
        }

        func appendNormalized(_ s: ArraySlice<UInt8>, to out: inout [UInt8], inAttribute: Bool = false) {
            var k = s.startIndex
            while k < s.endIndex {
                let c = s[k]
                if c == 0x0D {
                    out.append(inAttribute ? 0x20 : 0x0A)
                    if k + 1 < s.endIndex && s[k + 1] == 0x0A { k += 1 }
                } else if inAttribute && (c == 0x09 || c == 0x0A) {
                    out.append(0x20)
                } else {
                    out.append(c)
                }
                k += 1
            }
        }

        @discardableResult
        mutating func skipSpace() -> Bool {
            let start = i
            while i < b.count && isSpace(b[i]) { i += 1 }
            return i > start
        }

        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }

        func starts(_ s: StaticString) -> Bool {
            let n = s.utf8CodeUnitCount
            guard i + n <= b.count else { return false }
            return s.withUTF8Buffer { p in
                for k in 0..<n where b[i + k] != p[k] { return false }
                return true
            }
        }

        func find(_ needle: [UInt8], from: Int) -> Int? {
            guard needle.count <= b.count else { return nil }
            var j = from
            while j + needle.count <= b.count {
                if b[j] == needle[0] {
                    var ok = true
                    for k in 1..<needle.count where b[j + k] != needle[k] { ok = false; break }
                    if ok { return j }
                }
                j += 1
            }
            return nil
        }
    }
}

extension XMLReader {
    /// One element of a parsed XML document: its name, attributes, child elements and the character data
    /// directly inside it. (Nested in ``XMLReader`` so it never clashes with Foundation's XMLElement.)
    ///
    /// Names are kept as written (`prefix:local` stays whole); the lookups ``child(_:)``,
    /// ``children(_:)`` and ``childText(_:)`` match the local part, so S3's default namespace and any
    /// prefix work the same.
    public struct Element: Sendable, Equatable {
        /// The element name as written (`Key`, `s3:Key`).
        public var name: String
        /// Attributes in document order, values decoded (`xmlns` declarations included).
        public var attributes: [Attribute]
        /// Child elements in document order.
        public var children: [Element]
        /// The character data directly inside this element (not its children's), concatenated, with
        /// references decoded and line ends normalised to `\n` as XML requires.
        public var text: String

        /// Memberwise initializer.
        public init(name: String, attributes: [Attribute] = [], children: [Element] = [], text: String = "") {
            self.name = name
            self.attributes = attributes
            self.children = children
            self.text = text
        }

        /// The name without its namespace prefix.
        public var localName: String {
            guard let colon = name.lastIndex(of: ":") else { return name }
            return String(name[name.index(after: colon)...])
        }

        /// The first child whose local name is `name`.
        public func child(_ name: String) -> Element? {
            children.first { $0.localName == name }
        }

        /// Every child whose local name is `name`, in document order.
        public func children(_ name: String) -> [Element] {
            children.filter { $0.localName == name }
        }

        /// The text of the first child named `name`, or nil when there is no such child.
        public func childText(_ name: String) -> String? {
            child(name)?.text
        }

        /// The value of the attribute named `name` (exactly as written), if present.
        public func attribute(_ name: String) -> String? {
            attributes.first { $0.name == name }?.value
        }
    }

    /// One attribute of an ``XMLReader/Element``.
    public struct Attribute: Sendable, Equatable {
        /// The name as written.
        public var name: String
        /// The decoded value.
        public var value: String

        /// Memberwise initializer.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }
}
