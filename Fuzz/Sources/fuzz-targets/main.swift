// libFuzzer driver for svcconf's parsers. The target is chosen by SVCCONF_FUZZ_TARGET:
//   sealed   SealedCodec.parse (the sealed-format reader: header, stanzas, lengths)
//   json     JSON.parse (strict RFC 8259 reader, duplicate keys, depth) + canonical re-encode
//   dotenv   Dotenv.parse / parseValues
//   yaml     YAMLCodec.parse (Yams + svcconf's conversion rules) + render round trip
//   schema   SchemaValidator(schema:) over JSON input, then validating the schema against itself
// A crash is a bug: every input must be accepted or refused with an error.
#if canImport(Glibc)
import Glibc
#endif
import CFuzzShim
import SvcConf
import SvcConfYAML

enum Target: String { case sealed, json, dotenv, yaml, schema }

nonisolated(unsafe) let target: Target = {
    guard let raw = getenv("SVCCONF_FUZZ_TARGET").map({ String(cString: $0) }), let t = Target(rawValue: raw) else {
        let message = Array("fuzz-targets: set SVCCONF_FUZZ_TARGET to sealed, json, dotenv, yaml or schema\n".utf8)
        _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        exit(2)
    }
    return t
}()

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    switch target {
    case .sealed:
        if let parsed = try? SealedCodec.parse(bytes) {
            // Whatever parses must re-encode to the same bytes (the format is canonical).
            precondition(SealedCodec.encode(header: parsed.header, mac: parsed.mac, ciphertext: parsed.ciphertext) == bytes,
                         "sealed: parse/encode is not the identity")
        }
    case .json:
        if let v = try? JSON.parse(bytes) {
            let canonical = JSON.canonical(v)
            precondition((try? JSON.parse(canonical)) == v, "json: canonical form does not read back")
        }
    case .dotenv:
        _ = try? Dotenv.parse(bytes, source: "fuzz")
        _ = try? Dotenv.parseValues(bytes, source: "fuzz")
    case .yaml:
        if let text = String(validating: bytes, as: UTF8.self), let v = try? YAMLCodec.parse(text, source: "fuzz") {
            let rendered = YAMLCodec.render(v)
            precondition((try? YAMLCodec.parse(rendered, source: "fuzz")) == v, "yaml: render does not read back")
        }
    case .schema:
        if let doc = try? JSON.parse(bytes, limits: .init(maxDepth: 64, maxBytes: 1 << 16, rejectDuplicateKeys: true)),
           let validator = try? SchemaValidator(schema: doc, options: .init(assertFormat: true)) {
            _ = validator.validate(doc)
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzOne(data, size) }

_ = target
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, { fuzzOne($0, $1) }))
