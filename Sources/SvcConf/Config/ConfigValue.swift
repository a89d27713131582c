/// A JSON-data-model value: the tree that a service's configuration is made of.
///
/// Objects keep no insertion order: every encoder in svcconf writes keys sorted by their UTF-8 bytes,
/// so two equal configs always encode to the same bytes. Strings are equal when their UTF-8 bytes
/// are (not merely canonically equivalent, as Swift's `String ==` has it): an app receives bytes, so
/// "K" and "K" (Kelvin sign) are different values. Object keys, which are names, use `String`
/// equality, so the JSON reader refuses two keys that differ only in Unicode normalization.
public enum ConfigValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(ConfigNumber)
    case string(String)
    case array([ConfigValue])
    case object([String: ConfigValue])

    /// A string value, for readability at call sites.
    public static func str(_ s: String) -> ConfigValue { .string(s) }
    /// An integer value.
    public static func int(_ i: Int64) -> ConfigValue { .number(.int(i)) }

    /// The object's members, or nil when this is not an object.
    public var objectValue: [String: ConfigValue]? {
        if case .object(let o) = self { return o }
        return nil
    }
    /// The string, or nil when this is not a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    /// The array's elements, or nil when this is not an array.
    public var arrayValue: [ConfigValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
    /// The JSON type name (`null`, `boolean`, `number`, `string`, `array`, `object`).
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// Structural equality; strings compare by their UTF-8 bytes, numbers as JSON numbers (1 == 1.0).
    public static func == (a: ConfigValue, b: ConfigValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)): return x == y
        default: return false
        }
    }

    /// The member at `key`, when this is an object.
    public subscript(key: String) -> ConfigValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
}

/// A JSON number: an exact 64-bit integer when the text had no fraction or exponent and fits,
/// otherwise a binary64 double. `1` and `1.0` compare equal (JSON Schema's rule).
public enum ConfigNumber: Sendable, CustomStringConvertible {
    case int(Int64)
    case double(Double)

    /// The value as a double (exact for integers up to 2^53).
    public var doubleValue: Double {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        }
    }
    /// True when the value has no fractional part (JSON Schema's "integer").
    public var isInteger: Bool {
        switch self {
        case .int: return true
        case .double(let d): return d.isFinite && d.rounded(.towardZero) == d
        }
    }
    /// The canonical text: integers as digits; doubles as the shortest round-tripping form, except
    /// that integral doubles in the Int64 range are written as integers, so values that compare equal
    /// (`1e18 == 1000000000000000000`) always have the same text (docs/sealed-format.md §5).
    public var description: String {
        switch self {
        case .int(let i): return String(i)
        case .double(let d):
            if let i = Int64(exactly: d) { return String(i) }
            return d.description
        }
    }
}

extension ConfigNumber: Hashable {
    public static func == (a: ConfigNumber, b: ConfigNumber) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x == y
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)):
            return Double(x) == y && (abs(y) >= 9_007_199_254_740_992 ? Int64(exactly: y) == x : true)
        case (.double(let x), .double(let y)): return x == y
        }
    }
    public func hash(into h: inout Hasher) {
        switch self {
        case .int(let i): h.combine(i)
        case .double(let d):
            if let i = Int64(exactly: d) { h.combine(i) } else { h.combine(d) }
        }
    }
}

extension ConfigValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral s: String) { self = .string(s) }
    public init(integerLiteral i: Int64) { self = .number(.int(i)) }
    public init(booleanLiteral b: Bool) { self = .bool(b) }
    public init(arrayLiteral a: ConfigValue...) { self = .array(a) }
    public init(dictionaryLiteral d: (String, ConfigValue)...) {
        self = .object(Dictionary(d, uniquingKeysWith: { $1 }))
    }
    public init(nilLiteral: ()) { self = .null }
}
