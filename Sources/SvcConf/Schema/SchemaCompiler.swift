/// Why a schema cannot be compiled, and where (a schema location like `#/properties/port`).
struct SchemaCompileError: Error, Sendable {
    let location: String
    let reason: String
}

/// Turns a schema document (plus the registry documents it refers to) into a ``SchemaProgram``: one
/// ``SchemaNode`` per reachable schema object, every `$ref` resolved to its node, regexes compiled,
/// property maps built, formats looked up. Works from a queue (no recursion over the schema), and
/// refuses `$ref` cycles that never descend into the instance (they could only loop forever).
struct SchemaCompiler {
    let registry: SchemaRegistry
    let assertFormat: Bool

    private(set) var docs: [(uri: String, value: ConfigValue)] = []
    private var docByURI: [String: Int] = [:]
    private var resources: [String: SchemaLocation] = [:]
    private var anchors: [String: SchemaLocation] = [:]
    private var dynamicAnchors: [String: [String: SchemaLocation]] = [:]
    private(set) var nodes: [SchemaNode] = []
    private var memo: [String: SchemaNode] = [:]
    private var resourceIDs: [String: Int32] = [:]
    private var work: [(SchemaNode, SchemaLocation)] = []
    private var dynamicRefs: [(name: String, targets: DynamicTargets)] = []

    /// The base URI of a schema without `$id`.
    static let defaultBaseURI = "urn:svcconf:schema"

    init(registry: SchemaRegistry, assertFormat: Bool) {
        self.registry = registry
        self.assertFormat = assertFormat
    }

    /// Compiles `root` (document 0) read with `dialect`.
    mutating func compile(root: ConfigValue, dialect: SchemaDialect) throws(SchemaCompileError) -> SchemaProgram {
        let rootLoc = loadDocument(uri: Self.defaultBaseURI, value: root, dialect: dialect)
        let rootNode = try node(for: rootLoc)
        try drain()
        // $dynamicRef targets: every dynamic anchor of the name in every resource that can be in scope.
        var changed = true
        while changed {
            changed = false
            for (name, targets) in dynamicRefs {
                for (res, byName) in dynamicAnchors {
                    guard let id = resourceIDs[res], targets.byResource[id] == nil, let loc = byName[name] else { continue }
                    targets.byResource[id] = NodeRef(try node(for: loc))
                    changed = true
                }
            }
            try drain()
        }
        try checkCycles()
        return SchemaProgram(nodes: nodes, root: rootNode, usesDynamicScope: !dynamicRefs.isEmpty, assertFormat: assertFormat)
    }

    // MARK: documents and resolution

    private mutating func loadDocument(uri: String, value: ConfigValue, dialect: SchemaDialect) -> SchemaLocation {
        let doc = docs.count
        docs.append((uri, value))
        docByURI[uri] = doc
        let reg = registry
        let scan = SchemaScanner.scan(value, retrievalURI: uri, dialect: dialect, dialectOf: { reg.dialect(forMetaschema: $0) })
        var rootBase = uri
        if case .object(let o) = value, case .string(let id)? = o["$id"] {
            rootBase = SchemaURI(parsing: uri).resolving(SchemaURI(parsing: id)).withoutFragment.text
        }
        var rootLoc = SchemaLocation(doc: doc, pointer: "", value: value, base: rootBase, dialect: dialect)
        for r in scan.resources {
            let base = r.pointer.isEmpty ? rootBase : r.uri
            let loc = SchemaLocation(doc: doc, pointer: r.pointer, value: r.value, base: base, dialect: r.dialect)
            if r.pointer.isEmpty { rootLoc = loc }
            if resources[r.uri] == nil { resources[r.uri] = loc }
        }
        for a in scan.anchors {
            let loc = SchemaLocation(doc: doc, pointer: a.pointer, value: a.value, base: a.resource, dialect: a.dialect)
            let key = a.resource + "#" + a.name
            if anchors[key] == nil { anchors[key] = loc }
            if a.dynamic, dynamicAnchors[a.resource]?[a.name] == nil {
                dynamicAnchors[a.resource, default: [:]][a.name] = loc
            }
        }
        return rootLoc
    }

    /// The root location of the resource `uri` (no fragment), loading a registry document if needed.
    private mutating func resource(_ uri: String) -> SchemaLocation? {
        if let r = resources[uri] { return r }
        guard let (owner, doc) = registry.lookup(uri), docByURI[owner] == nil else { return nil }
        _ = loadDocument(uri: owner, value: doc, dialect: .draft2020)
        return resources[uri]
    }

    /// Resolves a `$ref`/`$dynamicRef` value against `base`: (target location, fragment).
    private mutating func resolve(_ ref: String, base: String, at where_: String) throws(SchemaCompileError) -> (SchemaLocation, String) {
        let target = SchemaURI(parsing: base).resolving(SchemaURI(parsing: ref))
        let res = target.withoutFragment.text
        let frag = target.fragment ?? ""
        guard let root = resource(res) else {
            throw SchemaCompileError(location: where_, reason: "cannot resolve the reference \(ref): \(res) is not in the schema or the registry (remote schemas are never fetched)")
        }
        if frag.isEmpty { return (root, frag) }
        if frag.hasPrefix("/") {
            guard let decoded = SchemaPointer.percentDecode(frag), let tokens = SchemaPointer.tokens(decoded) else {
                throw SchemaCompileError(location: where_, reason: "the reference \(ref) has a malformed JSON Pointer")
            }
            guard let loc = walk(root, tokens) else {
                throw SchemaCompileError(location: where_, reason: "the reference \(ref) does not point to a schema")
            }
            return (loc, frag)
        }
        guard let loc = anchors[res + "#" + frag] else {
            throw SchemaCompileError(location: where_, reason: "cannot resolve the reference \(ref): no anchor \"\(frag)\" in \(res)")
        }
        return (loc, frag)
    }

    /// Follows JSON Pointer tokens from a schema, tracking `$id`s of the schemas passed through.
    private func walk(_ start: SchemaLocation, _ tokens: [String]) -> SchemaLocation? {
        enum State { case schema, mapEntry, arrayEntry, other }
        var state = State.schema
        var loc = start
        for t in tokens {
            let child: ConfigValue
            switch loc.value {
            case .object(let o):
                guard let c = o[t] else { return nil }
                child = c
            case .array(let a):
                guard let i = Int(t), i >= 0, i < a.count, String(i) == t else { return nil }
                child = a[i]
            default:
                return nil
            }
            loc.pointer += "/" + SchemaPointer.escape(t)
            switch state {
            case .schema:
                if SchemaScanner.mapKeywords.contains(t), case .object = child { state = .mapEntry }
                else if SchemaScanner.arrayKeywords.contains(t), case .array = child { state = .arrayEntry }
                else if SchemaScanner.singleKeywords.contains(t) { state = .schema }
                else { state = .other }
            case .mapEntry, .arrayEntry: state = .schema
            case .other: state = .other
            }
            loc.value = child
            if state == .schema, case .object(let o) = child, case .string(let id)? = o["$id"] {
                loc.base = SchemaURI(parsing: loc.base).resolving(SchemaURI(parsing: id)).withoutFragment.text
                loc.dialect = SchemaScanner.resourceDialect(of: o, inherited: loc.dialect, dialectOf: { registry.dialect(forMetaschema: $0) })
            }
        }
        guard SchemaScanner.isSchema(loc.value) else { return nil }
        return loc
    }

    /// The location of a subschema of `parent` at `tokens`.
    private func child(_ parent: SchemaLocation, _ tokens: [String], _ value: ConfigValue) -> SchemaLocation {
        var loc = parent
        for t in tokens { loc.pointer += "/" + SchemaPointer.escape(t) }
        loc.value = value
        if case .object(let o) = value, case .string(let id)? = o["$id"] {
            loc.base = SchemaURI(parsing: parent.base).resolving(SchemaURI(parsing: id)).withoutFragment.text
            loc.dialect = SchemaScanner.resourceDialect(of: o, inherited: parent.dialect, dialectOf: { registry.dialect(forMetaschema: $0) })
        }
        return loc
    }

    private func locationText(_ loc: SchemaLocation) -> String {
        (loc.doc == 0 ? "" : docs[loc.doc].uri) + "#" + loc.pointer
    }

    /// The node for a location (created and queued on first use).
    private mutating func node(for loc: SchemaLocation) throws(SchemaCompileError) -> SchemaNode {
        let key = "\(loc.doc)|\(loc.pointer)"
        if let n = memo[key] { return n }
        guard SchemaScanner.isSchema(loc.value) else {
            throw SchemaCompileError(location: locationText(loc), reason: "is not a schema (an object or a boolean)")
        }
        let rid: Int32
        if let r = resourceIDs[loc.base] { rid = r } else {
            rid = Int32(resourceIDs.count)
            resourceIDs[loc.base] = rid
        }
        let n = SchemaNode(location: locationText(loc), resource: rid)
        nodes.append(n)
        memo[key] = n
        work.append((n, loc))
        return n
    }

    private mutating func drain() throws(SchemaCompileError) {
        while let (n, loc) = work.popLast() {
            try fill(n, loc)
        }
    }

    // MARK: keywords

    private mutating func fill(_ n: SchemaNode, _ loc: SchemaLocation) throws(SchemaCompileError) {
        switch loc.value {
        case .bool(let b):
            n.constant = b
            return
        case .object(let o):
            try fillObject(n, loc, o)
        default:
            throw SchemaCompileError(location: n.location, reason: "is not a schema (an object or a boolean)")
        }
    }

    private func bad(_ n: SchemaNode, _ keyword: String, _ why: String) -> SchemaCompileError {
        SchemaCompileError(location: n.location + "/" + SchemaPointer.escape(keyword), reason: why)
    }

    private func nonNegativeInt(_ n: SchemaNode, _ o: [String: ConfigValue], _ k: String) throws(SchemaCompileError) -> Int? {
        guard let v = o[k] else { return nil }
        guard case .number(let num) = v, num.isInteger, num.doubleValue >= 0 else {
            throw bad(n, k, "must be a non-negative integer")
        }
        if case .int(let i) = num { return Int(i) }
        return num.doubleValue > Double(Int.max / 2) ? Int.max / 2 : Int(num.doubleValue)
    }

    private func number(_ n: SchemaNode, _ o: [String: ConfigValue], _ k: String) throws(SchemaCompileError) -> ConfigNumber? {
        guard let v = o[k] else { return nil }
        guard case .number(let num) = v else { throw bad(n, k, "must be a number") }
        return num
    }

    private mutating func sub(_ loc: SchemaLocation, _ tokens: [String], _ v: ConfigValue) throws(SchemaCompileError) -> NodeRef {
        NodeRef(try node(for: child(loc, tokens, v)))
    }

    private mutating func schemaArray(_ n: SchemaNode, _ loc: SchemaLocation, _ o: [String: ConfigValue], _ k: String) throws(SchemaCompileError) -> [NodeRef]? {
        guard let v = o[k] else { return nil }
        guard case .array(let a) = v else { throw bad(n, k, "must be an array of schemas") }
        var out: [NodeRef] = []
        for (i, s) in a.enumerated() { out.append(try sub(loc, [k, String(i)], s)) }
        return out
    }

    private mutating func regex(_ n: SchemaNode, _ keyword: String, _ p: String) throws(SchemaCompileError) -> ECMARegex {
        do {
            return try ECMARegex(p)
        } catch {
            throw bad(n, keyword, "is not a valid ECMA-262 regular expression (\(error.reason))")
        }
    }

    private mutating func fillObject(_ n: SchemaNode, _ loc: SchemaLocation, _ o: [String: ConfigValue]) throws(SchemaCompileError) {
        let vocab = loc.dialect.vocab
        let d2020 = loc.dialect.draft == .d2020
        var checks: [SchemaCheck] = []

        // meta-data / extension: secret marking
        if vocab.contains(.metaData), o["writeOnly"] == .bool(true) { n.secret = true }
        if o["x-secret"] == .bool(true) { n.secret = true }
        if d2020, case .string(let a)? = o["$dynamicAnchor"] { n.dynamicAnchor = a }

        // validation: cheap assertions first
        if vocab.contains(.validation) {
            if let t = o["type"] {
                var set = SchemaTypeSet()
                func add(_ name: ConfigValue) -> Bool {
                    guard case .string(let s) = name, let ts = SchemaTypeSet.names.first(where: { $0.0 == s }) else { return false }
                    set.insert(ts.1)
                    return true
                }
                switch t {
                case .string: if !add(t) { throw bad(n, "type", "is not a JSON Schema type name") }
                case .array(let a):
                    for x in a where !add(x) { throw bad(n, "type", "is not a JSON Schema type name") }
                default: throw bad(n, "type", "must be a type name or an array of them")
                }
                if set.contains(.number) { set.remove(.integer) }
                checks.append(.type(set))
            }
            if let c = o["const"] { checks.append(.const(n.keep(SchemaBox(c)))) }
            if let e = o["enum"] {
                guard case .array(let a) = e else { throw bad(n, "enum", "must be an array") }
                checks.append(.enumeration(n.keep(SchemaBox(a))))
            }
            if let m = try number(n, o, "multipleOf") {
                guard m.doubleValue > 0, let dec = SchemaDecimal(m) else { throw bad(n, "multipleOf", "must be greater than 0") }
                checks.append(.multipleOf(dec, m))
            }
            if let x = try number(n, o, "maximum") { checks.append(.maximum(x)) }
            if let x = try number(n, o, "exclusiveMaximum") { checks.append(.exclusiveMaximum(x)) }
            if let x = try number(n, o, "minimum") { checks.append(.minimum(x)) }
            if let x = try number(n, o, "exclusiveMinimum") { checks.append(.exclusiveMinimum(x)) }
            if let x = try nonNegativeInt(n, o, "maxLength") { checks.append(.maxLength(x)) }
            if let x = try nonNegativeInt(n, o, "minLength"), x > 0 { checks.append(.minLength(x)) }
            if let p = o["pattern"] {
                guard case .string(let s) = p else { throw bad(n, "pattern", "must be a string") }
                checks.append(.pattern(n.keep(try regex(n, "pattern", s))))
            }
            if let x = try nonNegativeInt(n, o, "maxItems") { checks.append(.maxItems(x)) }
            if let x = try nonNegativeInt(n, o, "minItems"), x > 0 { checks.append(.minItems(x)) }
            if o["uniqueItems"] == .bool(true) { checks.append(.uniqueItems) }
            if let x = try nonNegativeInt(n, o, "maxProperties") { checks.append(.maxProperties(x)) }
            if let x = try nonNegativeInt(n, o, "minProperties"), x > 0 { checks.append(.minProperties(x)) }
            if let r = o["required"] {
                guard case .array(let a) = r else { throw bad(n, "required", "must be an array of strings") }
                var names: [String] = []
                for x in a {
                    guard case .string(let s) = x else { throw bad(n, "required", "must be an array of strings") }
                    names.append(s)
                }
                if !names.isEmpty { checks.append(.required(n.keep(SchemaBox(names)))) }
            }
            for kw in ["dependentRequired", "dependencies"] {
                guard case .object(let m)? = o[kw] else { continue }
                var list: [(String, [String])] = []
                for k in JSON.sortedKeys(m) {
                    guard case .array(let a) = m[k]! else { continue }  // dependencies: schema entries below
                    var names: [String] = []
                    for x in a {
                        guard case .string(let s) = x else { throw bad(n, kw, "must map names to arrays of strings") }
                        names.append(s)
                    }
                    list.append((k, names))
                }
                if !list.isEmpty { checks.append(.dependentRequired(n.keep(SchemaBox(list)), legacy: kw == "dependencies")) }
            }
        }

        // format
        if vocab.contains(.formatAnnotation) || vocab.contains(.formatAssertion), case .string(let f)? = o["format"],
           let kind = SchemaFormat(rawValue: f), assertFormat || vocab.contains(.formatAssertion)
        {
            checks.append(.format(kind))
        }

        // core: references
        if let r = o["$ref"] {
            guard case .string(let s) = r else { throw bad(n, "$ref", "must be a string") }
            let (target, _) = try resolve(s, base: loc.base, at: n.location + "/$ref")
            checks.append(.ref(NodeRef(try node(for: target))))
        }
        if !d2020, case .string(let s)? = o["$recursiveRef"] {
            let (target, _) = try resolve(s, base: loc.base, at: n.location + "/$recursiveRef")
            checks.append(.ref(NodeRef(try node(for: target))))
        }
        if d2020, let r = o["$dynamicRef"] {
            guard case .string(let s) = r else { throw bad(n, "$dynamicRef", "must be a string") }
            let (target, frag) = try resolve(s, base: loc.base, at: n.location + "/$dynamicRef")
            let t = try node(for: target)
            var dynamic = false
            if !frag.isEmpty, !frag.hasPrefix("/"), case .object(let to) = target.value, to["$dynamicAnchor"] == .string(frag) {
                dynamic = true
            }
            if dynamic {
                let targets = DynamicTargets()
                dynamicRefs.append((frag, targets))
                checks.append(.dynamicRef(NodeRef(t), n.keep(targets)))
            } else {
                checks.append(.dynamicRef(NodeRef(t), nil))
            }
        }

        // applicators
        if vocab.contains(.applicator) {
            // objects
            var app: ObjectApplicator? = nil
            if let p = o["properties"] {
                guard case .object(let m) = p else { throw bad(n, "properties", "must be an object of schemas") }
                let a = app ?? ObjectApplicator()
                var subs: [NodeRef] = []
                for k in JSON.sortedKeys(m) {
                    a.propertyNames.append(k)
                    subs.append(try sub(loc, ["properties", k], m[k]!))
                }
                a.propertyNodes = subs
                a.table = PropertyTable(a.propertyNames)
                app = a
            }
            if let p = o["patternProperties"] {
                guard case .object(let m) = p else { throw bad(n, "patternProperties", "must be an object of schemas") }
                let a = app ?? ObjectApplicator()
                for k in JSON.sortedKeys(m) {
                    let re = try regex(n, "patternProperties", k)
                    a.regexes.append(re)
                    a.patterns.append((SchemaUnowned(re), try sub(loc, ["patternProperties", k], m[k]!)))
                }
                app = a
            }
            if let ap = o["additionalProperties"] {
                let a = app ?? ObjectApplicator()
                a.additional = try sub(loc, ["additionalProperties"], ap)
                a.additionalFalse = ap == .bool(false)
                app = a
            }
            if let app {
                // `required` joins the pass over the members
                if let i = checks.firstIndex(where: { if case .required = $0 { return true } else { return false } }),
                   case .required(let names) = checks[i]
                {
                    app.hasRequired = true
                    for name in names.object.value {
                        let slot = app.table.lookup(name)
                        if slot >= 0 && app.table.count <= 64 {
                            app.requiredSlots.append(slot)
                            app.requiredMask |= 1 << UInt64(slot)
                        } else {
                            app.requiredOther.append(name)
                        }
                    }
                    checks.remove(at: i)
                }
                checks.append(.object(n.keep(app)))
            }
            if let pn = o["propertyNames"] { checks.append(.propertyNames(try sub(loc, ["propertyNames"], pn))) }
            for kw in ["dependentSchemas", "dependencies"] {
                guard case .object(let m)? = o[kw] else { continue }
                var list: [(String, NodeRef)] = []
                for k in JSON.sortedKeys(m) {
                    let v = m[k]!
                    guard SchemaScanner.isSchema(v) else { continue }
                    list.append((k, try sub(loc, [kw, k], v)))
                }
                if !list.isEmpty { checks.append(.dependentSchemas(n.keep(SchemaBox(list)), legacy: kw == "dependencies")) }
            }
            // arrays
            var prefix: [NodeRef] = []
            var rest: NodeRef? = nil
            if d2020 {
                if let p = try schemaArray(n, loc, o, "prefixItems") { prefix = p }
                if let it = o["items"] {
                    guard SchemaScanner.isSchema(it) else { throw bad(n, "items", "must be a schema") }
                    rest = try sub(loc, ["items"], it)
                }
            } else {
                if case .array? = o["items"] {
                    prefix = try schemaArray(n, loc, o, "items") ?? []
                    if let ai = o["additionalItems"], SchemaScanner.isSchema(ai) { rest = try sub(loc, ["additionalItems"], ai) }
                } else if let it = o["items"], SchemaScanner.isSchema(it) {
                    rest = try sub(loc, ["items"], it)
                }
            }
            if !prefix.isEmpty || rest != nil {
                checks.append(.items(n.keep(ItemsApplicator(prefix: prefix, rest: rest))))
            }
            if let c = o["contains"] {
                let node = try sub(loc, ["contains"], c)
                var minC = 1
                var maxC: Int? = nil
                if vocab.contains(.validation) {
                    if let m = try nonNegativeInt(n, o, "minContains") { minC = m }
                    maxC = try nonNegativeInt(n, o, "maxContains")
                }
                checks.append(.contains(node, min: minC, max: maxC))
            }
            // in-place
            if let l = try schemaArray(n, loc, o, "allOf") { checks.append(.allOf(n.keep(SchemaBox(l)))) }
            if let l = try schemaArray(n, loc, o, "anyOf") { checks.append(.anyOf(n.keep(SchemaBox(l)))) }
            if let l = try schemaArray(n, loc, o, "oneOf") { checks.append(.oneOf(n.keep(SchemaBox(l)))) }
            if let x = o["not"] { checks.append(.not(try sub(loc, ["not"], x))) }
            if let i = o["if"] {
                let ifN = try sub(loc, ["if"], i)
                var thenN: NodeRef? = nil
                var elseN: NodeRef? = nil
                if let t = o["then"] { thenN = try sub(loc, ["then"], t) }
                if let e = o["else"] { elseN = try sub(loc, ["else"], e) }
                // kept even without then/else: a passing `if` contributes annotations
                checks.append(.ifThenElse(ifN, then: thenN, else: elseN))
            }
        }

        // $defs of the compiled schema itself: compiled so that their errors (bad regexes, refs) show
        if loc.doc == 0 {
            for kw in ["$defs", "definitions"] {
                guard case .object(let m)? = o[kw] else { continue }
                for (k, v) in m where SchemaScanner.isSchema(v) { _ = try sub(loc, [kw, k], v) }
            }
        }

        // unevaluated: last, after every other keyword has recorded what it evaluated
        if vocab.contains(.unevaluated) {
            if let u = o["unevaluatedProperties"] {
                checks.append(.unevaluatedProperties(try sub(loc, ["unevaluatedProperties"], u)))
                n.tracksProperties = true
            }
            if let u = o["unevaluatedItems"] {
                checks.append(.unevaluatedItems(try sub(loc, ["unevaluatedItems"], u)))
                n.tracksItems = true
            }
        }
        n.checks = checks
        if checks.isEmpty && !n.secret { n.constant = true }
    }

    // MARK: cycles

    /// The subschemas applied to the same instance location as `n`.
    static func inPlaceChildren(_ n: SchemaNode) -> [SchemaNode] {
        var out: [SchemaNode] = []
        for c in n.checks {
            switch c {
            case .ref(let r): out.append(r.node)
            case .dynamicRef(let r, let t):
                out.append(r.node)
                if let t { out.append(contentsOf: t.object.byResource.values.map { $0.node }) }
            case .allOf(let l), .anyOf(let l), .oneOf(let l): out.append(contentsOf: l.object.value.map { $0.node })
            case .not(let r): out.append(r.node)
            case .ifThenElse(let i, let t, let e):
                out.append(i.node)
                if let t { out.append(t.node) }
                if let e { out.append(e.node) }
            case .dependentSchemas(let l, _): out.append(contentsOf: l.object.value.map { $0.1.node })
            default: break
            }
        }
        return out
    }

    /// Refuses a cycle of in-place subschemas (e.g. `{"$ref": "#"}`): evaluating it would never end.
    private func checkCycles() throws(SchemaCompileError) {
        var index: [ObjectIdentifier: Int] = [:]
        for (i, n) in nodes.enumerated() { index[ObjectIdentifier(n)] = i }
        var color = [UInt8](repeating: 0, count: nodes.count)
        for start in 0..<nodes.count where color[start] == 0 {
            var stack: [(Int, [SchemaNode], Int)] = [(start, Self.inPlaceChildren(nodes[start]), 0)]
            color[start] = 1
            while !stack.isEmpty {
                let (i, kids, k) = stack[stack.count - 1]
                if k == kids.count {
                    color[i] = 2
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].2 = k + 1
                let j = index[ObjectIdentifier(kids[k])]!
                if color[j] == 1 {
                    throw SchemaCompileError(location: nodes[j].location,
                                             reason: "reference cycle: this schema applies itself to the same value without descending into it, so evaluation would never end")
                }
                if color[j] == 0 {
                    color[j] = 1
                    stack.append((j, Self.inPlaceChildren(nodes[j]), 0))
                }
            }
        }
    }
}

extension SchemaRegistry {
    /// The dialect a metaschema in the registry defines through `$vocabulary` (following its own
    /// `$schema` when it has none); nil when unknown.
    func dialect(forMetaschema uri: String) -> SchemaDialect? {
        var uri = SchemaScanner.normalizedMetaURI(uri)
        for _ in 0..<8 {
            if uri == SchemaDialect.uri2020 { return .draft2020 }
            if SchemaDialect.legacyURIs.contains(uri) { return .legacy }
            guard let (_, doc) = lookup(uri), case .object(let o) = doc else { return nil }
            if case .object(let vocab)? = o["$vocabulary"] {
                var v = Vocabularies()
                for (k, _) in vocab { if let known = Vocabularies.byURI[k] { v.insert(known) } }
                return SchemaDialect(draft: .d2020, vocab: v)
            }
            guard case .string(let next)? = o["$schema"] else { return .draft2020 }
            let n = SchemaScanner.normalizedMetaURI(next)
            if n == uri { return .draft2020 }
            uri = n
        }
        return nil
    }

    /// The `$vocabulary` URIs a metaschema requires (`true`) that this validator does not know.
    func unknownRequiredVocabularies(forMetaschema uri: String) -> [String] {
        guard let (_, doc) = lookup(SchemaScanner.normalizedMetaURI(uri)), case .object(let o) = doc,
              case .object(let vocab)? = o["$vocabulary"] else { return [] }
        return vocab.filter { $0.value == .bool(true) && Vocabularies.byURI[$0.key] == nil }.map { $0.key }.sorted()
    }
}
