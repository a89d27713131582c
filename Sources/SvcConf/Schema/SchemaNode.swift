/// One compiled schema object (or boolean schema): its keywords as a list of checks, in evaluation
/// order, with every `$ref` resolved to another node, regexes compiled and property maps built.
///
/// Nodes are created and filled by ``SchemaCompiler`` and never change afterwards; they are owned by
/// their ``SchemaProgram`` (which is what keeps them alive; edges between nodes are unowned).
final class SchemaNode: @unchecked Sendable {
    /// Where the schema is, for error reports: `#/json/pointer` inside the compiled schema, or
    /// `URI#/pointer` inside a registry document.
    let location: String
    /// The schema resource (base URI) it belongs to, for the `$dynamicRef` dynamic scope.
    let resource: Int32
    /// `true`/`false` for a boolean schema (or an empty object, `true`); nil otherwise.
    var constant: Bool?
    /// The checks, in evaluation order (`unevaluated*` last).
    var checks: [SchemaCheck] = [] {
        didSet {
            buffer.deallocate()
            buffer = UnsafeMutableBufferPointer<SchemaCheck>.allocate(capacity: checks.count)
            _ = buffer.initialize(from: checks)
        }
    }
    /// The same checks, for evaluation without reference counting (`SchemaCheck` is trivial).
    private(set) var buffer = UnsafeMutableBufferPointer<SchemaCheck>.allocate(capacity: 0)
    /// The compiled payloads the checks refer to (regexes, property tables, lists).
    var keepAlive: [AnyObject] = []
    /// Annotates its instance as secret (`"writeOnly": true` or `"x-secret": true`).
    var secret = false
    /// Has `unevaluatedProperties` / `unevaluatedItems`: evaluation collects which members / items
    /// the other keywords evaluated.
    var tracksProperties = false
    var tracksItems = false
    /// Its `$dynamicAnchor`, if any (the "bookend" test of `$dynamicRef`).
    var dynamicAnchor: String?

    init(location: String, resource: Int32) {
        self.location = location
        self.resource = resource
    }

    deinit { buffer.deallocate() }

    /// Keeps `object` alive as long as the node, and returns an unowned reference to it.
    func keep<T: AnyObject>(_ object: T) -> SchemaUnowned<T> {
        keepAlive.append(object)
        return SchemaUnowned(object)
    }
}

/// An unowned reference to a node (no reference counting on the hot path; the program owns nodes).
struct NodeRef: @unchecked Sendable {
    unowned(unsafe) let node: SchemaNode
    init(_ node: SchemaNode) { self.node = node }
}

/// JSON types as a bit set, for `type`.
struct SchemaTypeSet: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = SchemaTypeSet(rawValue: 1)
    static let boolean = SchemaTypeSet(rawValue: 2)
    static let object = SchemaTypeSet(rawValue: 4)
    static let array = SchemaTypeSet(rawValue: 8)
    static let number = SchemaTypeSet(rawValue: 16)
    static let string = SchemaTypeSet(rawValue: 32)
    static let integer = SchemaTypeSet(rawValue: 64)

    static let names: [(String, SchemaTypeSet)] = [
        ("null", .null), ("boolean", .boolean), ("object", .object), ("array", .array),
        ("number", .number), ("string", .string), ("integer", .integer),
    ]

    /// "integer", "string or null", ...
    var description: String {
        let parts = SchemaTypeSet.names.filter { contains($0.1) }.map { $0.0 }
        if parts.count <= 1 { return parts.first ?? "nothing" }
        return parts.dropLast().joined(separator: ", ") + " or " + parts.last!
    }
}

/// An unowned (no reference counting) reference to a compiled object that a node keeps alive.
struct SchemaUnowned<T: AnyObject>: @unchecked Sendable {
    unowned(unsafe) let object: T
    init(_ object: T) { self.object = object }
}

/// A compiled value held by a node (so that ``SchemaCheck`` stays trivially copyable).
final class SchemaBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Property names → slots, looked up by a cheap hash of the UTF-8 bytes (names compare by code
/// points, as JSON Schema says), instead of `Dictionary<String, _>`'s seeded SipHash. Immutable after
/// init; the storage is raw memory so that lookups do no reference counting.
final class PropertyTable: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<Int32>
    private let mask: Int
    private let offsets: UnsafeMutableBufferPointer<Int>  // count + 1 entries into `bytes`
    private let bytes: UnsafeMutableBufferPointer<UInt8>
    /// The number of names.
    let count: Int

    init(_ keys: [String]) {
        var size = 4
        while size < keys.count * 2 { size *= 2 }
        slots = .allocate(capacity: size)
        slots.initialize(repeating: -1)
        mask = size - 1
        count = keys.count
        offsets = .allocate(capacity: keys.count + 1)
        let total = keys.reduce(0) { $0 + $1.utf8.count }
        bytes = .allocate(capacity: max(total, 1))
        var at = 0
        for (slot, k) in keys.enumerated() {
            offsets[slot] = at
            for b in k.utf8 {
                bytes[at] = b
                at += 1
            }
        }
        offsets[keys.count] = at
        for slot in 0..<keys.count {
            let kb = UnsafeBufferPointer(rebasing: bytes[offsets[slot]..<offsets[slot + 1]])
            var i = Int(truncatingIfNeeded: PropertyTable.hash(kb)) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = Int32(slot)
        }
    }

    deinit {
        slots.deallocate()
        offsets.deallocate()
        bytes.deallocate()
    }

    @inline(__always) static func hash(_ kb: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let n = kb.count
        var a: UInt64 = 0
        var b: UInt64 = 0
        if n >= 8 {
            let p = UnsafeRawPointer(kb.baseAddress!)
            a = p.loadUnaligned(as: UInt64.self)
            b = p.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        } else if n >= 4 {
            let p = UnsafeRawPointer(kb.baseAddress!)
            a = UInt64(p.loadUnaligned(as: UInt32.self))
            b = UInt64(p.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
        } else if n > 0 {
            a = UInt64(kb[0]) | UInt64(kb[n / 2]) << 8 | UInt64(kb[n - 1]) << 16
        }
        var h = (a &* 0x9E37_79B9_7F4A_7C15) ^ (b &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(n)
        h ^= h >> 31
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 29
        return h
    }

    /// The slot of `key`, or -1.
    @inline(__always) func lookup(_ key: String) -> Int {
        if count == 0 { return -1 }
        if let r = key.utf8.withContiguousStorageIfAvailable({ lookup(bytes: $0) }) { return r }
        return Array(key.utf8).withUnsafeBufferPointer { lookup(bytes: $0) }
    }

    private func lookup(bytes kb: UnsafeBufferPointer<UInt8>) -> Int {
        var i = Int(truncatingIfNeeded: PropertyTable.hash(kb)) & mask
        while true {
            let s = Int(slots[i])
            if s < 0 { return -1 }
            let start = offsets[s]
            if offsets[s + 1] - start == kb.count {
                var same = true
                for j in 0..<kb.count where bytes[start + j] != kb[j] {
                    same = false
                    break
                }
                if same { return s }
            }
            i = (i + 1) & mask
        }
    }
}

/// The properties / patternProperties / additionalProperties (and `required`, when the schema has
/// both) of one schema, applied in one pass over the instance's members.
final class ObjectApplicator: @unchecked Sendable {
    var table = PropertyTable([])
    var propertyNames: [String] = []
    var propertyNodes: [NodeRef] = [] {
        didSet {
            nodes.deallocate()
            nodes = .allocate(capacity: propertyNodes.count)
            _ = nodes.initialize(from: propertyNodes)
        }
    }
    /// `propertyNodes`, for access without reference counting.
    private(set) var nodes = UnsafeMutableBufferPointer<NodeRef>.allocate(capacity: 0)
    var patterns: [(SchemaUnowned<ECMARegex>, NodeRef)] = []
    var regexes: [ECMARegex] = []
    /// additionalProperties, when present.
    var additional: NodeRef?
    /// additionalProperties is `false`: report extra members directly.
    var additionalFalse = false
    /// `required` names that are also properties (by slot), checked during the pass, when there are
    /// at most 64 properties; the rest (`requiredOther`) are looked up.
    var requiredSlots: [Int] = []
    var requiredOther: [String] = []
    var requiredMask: UInt64 = 0
    var hasRequired = false

    deinit { nodes.deallocate() }
}

/// prefixItems / items (or draft 2019-09 items / additionalItems).
final class ItemsApplicator: @unchecked Sendable {
    let prefix: [NodeRef]
    let rest: NodeRef?
    init(prefix: [NodeRef], rest: NodeRef?) {
        self.prefix = prefix
        self.rest = rest
    }
}

/// The `$dynamicRef` targets per resource in the dynamic scope (filled after compilation).
final class DynamicTargets: @unchecked Sendable {
    var byResource: [Int32: NodeRef] = [:]
}

/// One keyword (or a group of keywords that are evaluated together). Trivially copyable: compiled
/// payloads live in boxes that the node keeps alive, so evaluation does no reference counting here.
enum SchemaCheck: @unchecked Sendable {
    case type(SchemaTypeSet)
    case const(SchemaUnowned<SchemaBox<ConfigValue>>)
    case enumeration(SchemaUnowned<SchemaBox<[ConfigValue]>>)
    case multipleOf(SchemaDecimal, ConfigNumber)
    case maximum(ConfigNumber)
    case exclusiveMaximum(ConfigNumber)
    case minimum(ConfigNumber)
    case exclusiveMinimum(ConfigNumber)
    case maxLength(Int)
    case minLength(Int)
    case pattern(SchemaUnowned<ECMARegex>)
    case format(SchemaFormat)
    case maxItems(Int)
    case minItems(Int)
    case uniqueItems
    case contains(NodeRef, min: Int, max: Int?)
    case maxProperties(Int)
    case minProperties(Int)
    case required(SchemaUnowned<SchemaBox<[String]>>)
    /// `legacy`: the draft 2019-09 `dependencies` keyword (for error locations).
    case dependentRequired(SchemaUnowned<SchemaBox<[(String, [String])]>>, legacy: Bool)
    case object(SchemaUnowned<ObjectApplicator>)
    case propertyNames(NodeRef)
    case dependentSchemas(SchemaUnowned<SchemaBox<[(String, NodeRef)]>>, legacy: Bool)
    case items(SchemaUnowned<ItemsApplicator>)
    case ref(NodeRef)
    case dynamicRef(NodeRef, SchemaUnowned<DynamicTargets>?)
    case allOf(SchemaUnowned<SchemaBox<[NodeRef]>>)
    case anyOf(SchemaUnowned<SchemaBox<[NodeRef]>>)
    case oneOf(SchemaUnowned<SchemaBox<[NodeRef]>>)
    case not(NodeRef)
    case ifThenElse(NodeRef, then: NodeRef?, else: NodeRef?)
    case unevaluatedProperties(NodeRef)
    case unevaluatedItems(NodeRef)
}

/// A compiled schema: every node reachable from the root (and from the registry documents it refers
/// to). Immutable after compilation, so it is shared by any number of threads.
final class SchemaProgram: @unchecked Sendable {
    let nodes: [SchemaNode]
    let root: NodeRef
    /// Some node uses `$dynamicRef` with a dynamic target: evaluation tracks the dynamic scope.
    let usesDynamicScope: Bool
    /// Formats are asserted (the option, for every node without the format-assertion vocabulary).
    let assertFormat: Bool

    init(nodes: [SchemaNode], root: SchemaNode, usesDynamicScope: Bool, assertFormat: Bool) {
        self.nodes = nodes
        self.root = NodeRef(root)
        self.usesDynamicScope = usesDynamicScope
        self.assertFormat = assertFormat
    }
}
