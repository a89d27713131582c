// XMLReader: what S3 sends parses; everything outside the accepted subset, and hostile input, is
// refused with .malformedResponse, quickly and without deep recursion.

import SvcConfAWS
import Testing

enum XMLT {
    static func parse(_ s: String, limits: XMLReader.Limits = .default) throws -> XMLReader.Element {
        try XMLReader.parse(Array(s.utf8), limits: limits)
    }

    /// Expects the reader to refuse `bytes`; returns the message.
    @discardableResult
    static func refuses(_ bytes: [UInt8], limits: XMLReader.Limits = .default, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        do {
            let e = try XMLReader.parse(bytes, limits: limits)
            Issue.record("accepted: <\(e.name)>", sourceLocation: sourceLocation)
            return nil
        } catch {
            #expect(error.kind == .malformedResponse, sourceLocation: sourceLocation)
            #expect(error.message.hasPrefix("xml: "), sourceLocation: sourceLocation)
            return error.message
        }
    }

    @discardableResult
    static func refuses(_ s: String, limits: XMLReader.Limits = .default, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        refuses(Array(s.utf8), limits: limits, sourceLocation: sourceLocation)
    }
}

@Suite("XML reader: accepted documents")
struct XMLAcceptTests {
    @Test func s3ListBucketResult() throws {
        let doc = """
        <?xml version="1.0" encoding="UTF-8"?>
        <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
          <Name>bucket</Name><Prefix/><KeyCount>2</KeyCount><IsTruncated>false</IsTruncated>
          <Contents><Key>a&amp;b.txt</Key><ETag>&quot;abc&quot;</ETag><Size>5</Size></Contents>
          <Contents><Key>c &lt;d&gt;</Key><ETag>"def"</ETag><Size>7</Size></Contents>
        </ListBucketResult>
        """
        let root = try XMLT.parse(doc)
        #expect(root.name == "ListBucketResult")
        #expect(root.attribute("xmlns") == "http://s3.amazonaws.com/doc/2006-03-01/")
        #expect(root.childText("Name") == "bucket")
        #expect(root.childText("Prefix") == "")
        #expect(root.childText("Missing") == nil)
        let contents = root.children("Contents")
        #expect(contents.map { $0.childText("Key") } == ["a&b.txt", "c <d>"])
        #expect(contents.map { $0.childText("ETag") } == ["\"abc\"", "\"def\""])
        #expect(root.children.count == 6)
    }

    @Test func errorDocument() throws {
        let root = try XMLT.parse("<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>")
        #expect(root.childText("Code") == "NoSuchKey")
        #expect(root.childText("RequestId") == "4442587FB7D0A2F9")
    }

    @Test func entitiesAndCharacterReferences() throws {
        let root = try XMLT.parse("<a>&lt;&gt;&amp;&quot;&apos; &#65;&#x42;&#x63; &#233;&#x1F600; &#x9;&#13;&#10;</a>")
        #expect(root.text == "<>&\"' ABc é😀 \t\r\n")
        // S3 escapes control characters in keys as references: accepted (all but U+0000).
        #expect(try XMLT.parse("<k>a&#x1;b</k>").text == "a\u{1}b")
    }

    @Test func namespacesPrefixesAndAttributes() throws {
        let root = try XMLT.parse("<s3:R xmlns:s3='urn:x' a=\"1\" b='t&amp;&#x41;\t\nz'><s3:Key>k</s3:Key><Key>plain</Key></s3:R>")
        #expect(root.name == "s3:R" && root.localName == "R")
        #expect(root.attributes == [XMLReader.Attribute(name: "xmlns:s3", value: "urn:x"), XMLReader.Attribute(name: "a", value: "1"),
                                    XMLReader.Attribute(name: "b", value: "t&A  z")])
        #expect(root.children("Key").map(\.text) == ["k", "plain"])
        #expect(root.childText("Key") == "k")
    }

    @Test func cdataCommentsWhitespaceAndBOM() throws {
        let root = try XMLT.parse("\u{FEFF}<?xml version='1.0'?>\n<!-- lead -->\n<r><!-- in --><![CDATA[<not> &amp; markup]]>tail</r>\n<!-- trail -->\n")
        #expect(root.text == "<not> &amp; markup" + "tail")
        #expect(try XMLT.parse("<r/>") == XMLReader.Element(name: "r"))
        #expect(try XMLT.parse("<r >  </r >").text == "  ")
    }

    @Test func lineEndsAreNormalised() throws {
        #expect(try XMLT.parse("<r>a\r\nb\rc\nd</r>").text == "a\nb\nc\nd")
    }

    @Test func unicodeText() throws {
        #expect(try XMLT.parse("<Key>données/ключ/鍵/😀</Key>").text == "données/ключ/鍵/😀")
    }

    @Test func withinLimitsIsFine() throws {
        let many = "<r>" + String(repeating: "<c>x</c>", count: 5000) + "</r>"
        #expect(try XMLT.parse(many).children.count == 5000)
        let deep = String(repeating: "<d>", count: 32) + String(repeating: "</d>", count: 32)
        #expect(try XMLT.parse(deep).name == "d")
    }
}

@Suite("XML reader: refused documents")
struct XMLRefuseTests {
    @Test func unknownEntities() {
        for s in ["<r>&nbsp;</r>", "<r>&copy;</r>", "<r>&AMP;</r>", "<r>&amp</r>", "<r>& amp;</r>", "<r>&;</r>", "<r a='&foo;'/>",
                  "<r>&#;</r>", "<r>&#x;</r>", "<r>&#xZZ;</r>", "<r>&#x+41;</r>", "<r>&#X41;</r>", "<r>&#x 41;</r>", "<r>&#-65;</r>", "<r>&#+65;</r>", "<r>&#0;</r>", "<r>&#x0;</r>",
                  "<r>&#xD800;</r>", "<r>&#x110000;</r>", "<r>&#99999999999999999999;</r>", "<r>&#000000000000065;</r>"] {
            XMLT.refuses(s)
        }
    }

    @Test func documentTypeDeclarations() {
        let laughs = """
        <?xml version="1.0"?>
        <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
        <lolz>&lol2;</lolz>
        """
        #expect(XMLT.refuses(laughs)?.contains("document type") == true)
        XMLT.refuses("<!DOCTYPE r SYSTEM \"file:///etc/passwd\"><r>&xxe;</r>")
        XMLT.refuses("<!DOCTYPE r [<!ENTITY xxe SYSTEM \"http://169.254.169.254/\">]><r>&xxe;</r>")
        XMLT.refuses("<r><!DOCTYPE r></r>")
        XMLT.refuses("<r><!ENTITY x 'y'></r>")
    }

    @Test func processingInstructionsAndOtherEncodings() {
        XMLT.refuses("<?xml-stylesheet href='x'?><r/>")
        XMLT.refuses("<r><?php echo 1 ?></r>")
        XMLT.refuses("<r/><?pi?>")
        XMLT.refuses("<?xml version='1.0' encoding='ISO-8859-1'?><r/>")
        XMLT.refuses("<?xml version='1.0' encoding=\"UTF-16\"?><r/>")
        XMLT.refuses("<?xml version='1.0'")
        XMLT.refuses(" <?xml version='1.0'?><r/>")  // the declaration must come first
    }

    @Test func structuralErrors() {
        for s in ["", "   ", "text", "<r>", "<r></s>", "<r><a></r></a>", "</r>", "<r/><r/>", "<r/>tail", "lead<r/>", "<r>a]]>b</r>",
                  "<r a=1/>", "<r a='1' a='2'/>", "<r a='<'/>", "<r a='1'b='2'/>", "<r a/>", "<r a='1/>", "<1r/>", "<r><-a/></r>",
                  "<r><!-- a -- b --></r>", "<r><!-- open</r>", "<r><![CDATA[open</r>", "<r", "<r/", "< r/>", "<r></r >x<",
                  "<r>\u{0}</r>", "<r>\u{1}</r>", "<r>\u{1B}[31m</r>", "<r>\u{FFFE}</r>", "<r>\u{FFFF}</r>", "<![CDATA[x]]><r/>"] {
            XMLT.refuses(s)
        }
    }

    @Test func invalidUTF8() {
        let wrap: ([UInt8]) -> [UInt8] = { Array("<r>".utf8) + $0 + Array("</r>".utf8) }
        for bad: [UInt8] in [[0xFF], [0xC3], [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
                             [0x80], [0xF0, 0x9F, 0x98]] {
            XMLT.refuses(wrap(bad))
        }
        XMLT.refuses([0x3C, 0xFF, 0x2F, 0x3E])  // in a name
    }

    @Test func deepNestingIsRefusedWithoutRecursion() {
        let n = 200_000
        let bomb = String(repeating: "<a>", count: n) + String(repeating: "</a>", count: n)
        #expect(XMLT.refuses(bomb)?.contains("nesting") == true)
        let openOnly = String(repeating: "<a>", count: n)
        XMLT.refuses(openOnly)
        let limits = XMLReader.Limits(maxBytes: 1 << 20, maxDepth: 3, maxElements: 100, maxAttributes: 2)
        XMLT.refuses("<a><b><c><d/></c></b></a>", limits: limits)
        #expect((try? XMLT.parse("<a><b><c/></b></a>", limits: limits)) != nil)
    }

    @Test func hugeInputIsRefused() {
        let limits = XMLReader.Limits(maxBytes: 1000, maxDepth: 8, maxElements: 10, maxAttributes: 2)
        #expect(XMLT.refuses("<r>" + String(repeating: "x", count: 1000) + "</r>", limits: limits)?.contains("limit") == true)
        XMLT.refuses("<r>" + String(repeating: "<c/>", count: 11) + "</r>", limits: limits)
        XMLT.refuses("<r a='1' b='2' c='3'/>", limits: limits)
        // The default limit: 16 MiB.
        let big = [UInt8](repeating: 0x78, count: (16 << 20) + 1)
        #expect(XMLT.refuses(big)?.contains("limit") == true)
        // A long but legal name is fine up to 1 KiB, refused beyond.
        XMLT.refuses("<" + String(repeating: "n", count: 1025) + "/>")
        #expect((try? XMLT.parse("<" + String(repeating: "n", count: 1024) + "/>")) != nil)
    }

    @Test func manyReferencesStayLinear() throws {
        // 1 MiB of references decodes to 1 MiB / 5 characters: no amplification is possible.
        let refs = String(repeating: "&amp;", count: 200_000)
        #expect(try XMLT.parse("<r>\(refs)</r>").text.utf8.count == 200_000)
    }

    @Test func randomBytesNeverCrash() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("<>/&;#x!-[]?='\" abcAZ09\r\n\t".utf8) + [0x00, 0xC3, 0xA9, 0xFF]
        for _ in 0..<3000 {
            let n = Int.random(in: 0...64, using: &rng)
            let bytes = (0..<n).map { _ in alphabet.randomElement(using: &rng)! }
            _ = try? XMLReader.parse(bytes)
        }
        // Mutations of a real document.
        let base = Array("<?xml version=\"1.0\"?><Error><Code>A&amp;B</Code><Message a='1'>m<![CDATA[c]]></Message></Error>".utf8)
        for _ in 0..<3000 {
            var m = base
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<m.count, using: &rng)
                switch Int.random(in: 0...2, using: &rng) {
                case 0: m[i] = alphabet.randomElement(using: &rng)!
                case 1: m.remove(at: i)
                default: m.insert(alphabet.randomElement(using: &rng)!, at: i)
                }
                if m.isEmpty { break }
            }
            _ = try? XMLReader.parse(m)
        }
    }
}
