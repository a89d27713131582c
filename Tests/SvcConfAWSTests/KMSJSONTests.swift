// The small JSON reader/writer and base64 codec the KMS client and the credential endpoints use.

import Testing
@testable import SvcConfAWS

@Suite struct KMSJSONTests {
    @Test func parsesTheAWSShapes() throws {
        let doc = try AWSJSON.parse(Array(#" {"a":"x\"y\\z\/\u00e9\ud83d\ude00","n":-1.5e2,"t":true,"f":false,"z":null,"o":{"k":[1,"2",{}]}} "#.utf8))
        #expect(doc["a"]?.stringValue == "x\"y\\z/é😀")
        #expect(doc["n"] == .number(-150))
        #expect(doc["t"] == .bool(true) && doc["f"] == .bool(false) && doc["z"] == .null)
        #expect(doc["o"]?["k"] == .array([.number(1), .string("2"), .object([:])]))
        #expect(doc["missing"] == nil)
    }

    @Test(arguments: ["", "{", "{\"a\":}", "{\"a\":1,}", "[1,]", "{\"a\":1}x", "01", "\"\\x\"", "\"\u{01}\"", "{'a':1}",
                      "{\"a\":1,\"a\":2}", "\"\\ud800\"", "tru", "1.", "-", "[" + String(repeating: "[", count: 40) + "]"])
    func rejects(text: String) {
        #expect(throws: AWSError.self) { _ = try AWSJSON.parse(Array(text.utf8)) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: AWSError.self) { _ = try AWSJSON.parse([0x22, 0xFF, 0x22]) }
    }

    @Test func errorsDoNotQuoteTheInput() {
        do {
            _ = try AWSJSON.parse(Array(#"{"SecretAccessKey":"s3cr3t" oops}"#.utf8))
        } catch {
            #expect(error.kind == .malformedResponse)
            #expect(!error.message.contains("s3cr3t"))
            #expect(error.message.contains("at byte"))
        }
    }

    @Test func secretMemberGoesToTheCallersBuffer() throws {
        var secret: [UInt8] = []
        let doc = try AWSJSON.parse(Array(#"{"KeyId":"arn","Plaintext":"QUJD\/","Nested":{"Plaintext":"x"}}"#.utf8),
                                    secretKey: "Plaintext", secret: &secret)
        #expect(secret == Array("QUJD/".utf8))
        #expect(doc["Plaintext"] == nil)
        #expect(doc["KeyId"]?.stringValue == "arn")
        #expect(doc["Nested"]?["Plaintext"]?.stringValue == "x")  // only the top-level member is secret
    }

    @Test func writes() throws {
        let v = AWSJSON.object(["b": .string("q\"\\\n\u{01}é"), "a": .number(32), "c": .array([.bool(true), .null, .number(1.5)])])
        #expect(String(decoding: AWSJSON.encode(v), as: UTF8.self) == #"{"a":32,"b":"q\"\\\n\u0001é","c":[true,null,1.5]}"#)
        #expect(try AWSJSON.parse(AWSJSON.encode(v)) == v)
    }

    @Test func secretBodyWriter() throws {
        let body = KMSClient.body(["KeyId": .string("k")], secretKey: "Plaintext", secret: [0xFF, 0x00, 0x10])
        #expect(String(decoding: body, as: UTF8.self) == #"{"KeyId":"k","Plaintext":"/wAQ"}"#)
        #expect(String(decoding: KMSClient.body([:], secretKey: "Plaintext", secret: [1]), as: UTF8.self) == #"{"Plaintext":"AQ=="}"#)
        #expect(String(decoding: KMSClient.body([:]), as: UTF8.self) == "{}")
    }

    @Test func base64() {
        // RFC 4648 §10.
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(AWSBase64.encode(Array(plain.utf8)) == encoded)
            #expect(AWSBase64.decode(encoded) == Array(plain.utf8))
        }
        let all = (0...255).map { UInt8($0) }
        #expect(AWSBase64.decode(AWSBase64.encode(all)) == all)
        for bad in ["Zg=", "Zg", "Z===", "Zm9v!A==", "Zg==Zg==", "Zm9v\n"] {
            #expect(AWSBase64.decode(bad) == nil, "\(bad)")
        }
    }
}
