/// One step of an instance location: a member name or an array index.
enum InstanceStep: Sendable, Hashable {
    case key(String)
    case index(Int)

    var text: String {
        switch self {
        case .key(let k): return k
        case .index(let i): return String(i)
        }
    }

    /// Orders locations for reports: indices numerically, names by UTF-8, indices before names.
    static func precedes(_ a: [InstanceStep], _ b: [InstanceStep]) -> Bool {
        for (x, y) in zip(a, b) {
            switch (x, y) {
            case (.index(let i), .index(let j)): if i != j { return i < j }
            case (.key(let k), .key(let l)): if k != l { return k.utf8.lexicographicallyPrecedes(l.utf8) }
            case (.index, .key): return true
            case (.key, .index): return false
            }
        }
        return a.count < b.count
    }
}

/// What the keywords of one schema evaluated in the instance (for `unevaluatedProperties` and
/// `unevaluatedItems`). Only created where a schema has one of those.
final class EvaluatedTracker {
    var props: Set<String> = []
    var allProps = false
    var itemsUpTo = 0
    var allItems = false
    var items: Set<Int> = []

    func merge(_ o: EvaluatedTracker) {
        if o.allProps { allProps = true } else if !allProps { props.formUnion(o.props) }
        if o.allItems { allItems = true } else if !allItems {
            itemsUpTo = max(itemsUpTo, o.itemsUpTo)
            items.formUnion(o.items)
        }
    }
}

/// Evaluates a compiled schema against one instance. A fresh evaluator per validation; it owns the
/// mutable state (errors, annotations, instance path, dynamic scope, depth).
///
/// Two modes: fast (`collect == false`: stops at the first failure, records nothing) and full
/// (every error, with locations, plus secret annotations). In full mode, subschemas whose failure
/// does not fail their parent (anyOf/oneOf branches, `if`, `not`, `contains` on each item) are
/// evaluated as probes: no errors recorded, and their annotations dropped when they fail.
struct SchemaEvaluator {
    let program: SchemaProgram
    let maxDepth: Int
    let annotate: Bool
    /// Errors are being recorded (false in fast mode and inside probes).
    var errorsOn: Bool
    var errors: [ValidationError] = []
    var errorPaths: [[InstanceStep]] = []
    var secrets: [[InstanceStep]] = []
    var path: [InstanceStep] = []
    var scope: [Int32] = []
    var depth = 0
    var depthExceeded = false

    init(program: SchemaProgram, maxDepth: Int, collect: Bool) {
        self.program = program
        self.maxDepth = maxDepth
        self.annotate = collect
        self.errorsOn = collect
    }

    // MARK: reporting

    static func pointer(_ p: [InstanceStep]) -> String {
        var out = ""
        for s in p { out += "/" + SchemaPointer.escape(s.text) }
        return out
    }

    mutating func report(_ node: SchemaNode, _ keyword: String, _ message: String, at extra: InstanceStep? = nil) {
        var p = path
        if let extra { p.append(extra) }
        errors.append(ValidationError(instanceLocation: Self.pointer(p), keyword: keyword,
                                      schemaLocation: keyword.isEmpty || keyword == "false" ? node.location : node.location + "/" + SchemaPointer.escape(keyword),
                                      message: message))
        errorPaths.append(p)
    }

    // MARK: evaluation

    /// Evaluates `node` against `v`; `tr` collects what was evaluated when the caller needs it.
    mutating func eval(_ node: SchemaNode, _ v: ConfigValue, _ tr: EvaluatedTracker?) -> Bool {
        if let c = node.constant {
            if c { return true }
            if errorsOn { report(node, "false", "is not allowed here (the schema is false)") }
            return false
        }
        if depth >= maxDepth {
            if !depthExceeded && errorsOn {
                report(node, "", "is nested too deeply: evaluation stopped at depth \(maxDepth)")
            }
            depthExceeded = true
            return false
        }
        depth += 1
        defer { depth -= 1 }
        var pushed = false
        if program.usesDynamicScope && scope.last != node.resource {
            scope.append(node.resource)
            pushed = true
        }
        defer { if pushed { scope.removeLast() } }
        if annotate && node.secret { secrets.append(path) }

        let t: EvaluatedTracker? = (node.tracksProperties || node.tracksItems) ? EvaluatedTracker() : tr
        var valid = true
        let checks = node.buffer
        for i in 0..<checks.count {
            if !evalCheck(checks[i], node, v, t) {
                valid = false
                if !errorsOn { return false }
            }
        }
        if valid, let tr, let t, tr !== t { tr.merge(t) }
        return valid
    }

    /// Evaluates `node` as a probe: errors off; annotations kept only if it passes.
    private mutating func probe(_ node: SchemaNode, _ v: ConfigValue, _ tr: EvaluatedTracker?) -> Bool {
        let saved = errorsOn
        errorsOn = false
        let mark = secrets.count
        let ok = eval(node, v, tr)
        errorsOn = saved
        if !ok && secrets.count > mark { secrets.removeSubrange(mark...) }
        return ok
    }

    private func typeMatches(_ ts: SchemaTypeSet, _ v: ConfigValue) -> Bool {
        switch v {
        case .null: return ts.contains(.null)
        case .bool: return ts.contains(.boolean)
        case .object: return ts.contains(.object)
        case .array: return ts.contains(.array)
        case .string: return ts.contains(.string)
        case .number(let n): return ts.contains(.number) || (ts.contains(.integer) && n.isInteger)
        }
    }

    /// True when `a` and `b` have the same UTF-8 bytes.
    @inline(__always) static func sameBytes(_ a: String, _ b: String) -> Bool {
        let n = a.utf8.count
        guard n == b.utf8.count else { return false }
        let r = a.utf8.withContiguousStorageIfAvailable { ab in
            b.utf8.withContiguousStorageIfAvailable { bb in
                for i in 0..<n where ab[i] != bb[i] { return false }
                return true
            }
        }
        return (r ?? nil) ?? a.utf8.elementsEqual(b.utf8)
    }

    /// The number of Unicode scalars (what JSON Schema calls characters) in `s`.
    static func scalarCount(_ s: String) -> Int {
        if let n = s.utf8.withContiguousStorageIfAvailable({ b -> Int in
            var n = 0
            for c in b where c & 0xC0 != 0x80 { n += 1 }
            return n
        }) { return n }
        return s.unicodeScalars.count
    }

    private mutating func evalCheck(_ check: SchemaCheck, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        // One small function per keyword: keeps this frame (and the stack per nesting level) small.
        switch check {
        case .type(let ts): return checkType(ts, node, v, t)
        case .const(let c): return checkConst(c, node, v, t)
        case .enumeration(let box): return checkEnumeration(box, node, v, t)
        case .multipleOf(let dec, let raw): return checkMultipleOf(dec, raw, node, v, t)
        case .maximum(let m): return checkMaximum(m, node, v, t)
        case .exclusiveMaximum(let m): return checkExclusiveMaximum(m, node, v, t)
        case .minimum(let m): return checkMinimum(m, node, v, t)
        case .exclusiveMinimum(let m): return checkExclusiveMinimum(m, node, v, t)
        case .maxLength(let k): return checkMaxLength(k, node, v, t)
        case .minLength(let k): return checkMinLength(k, node, v, t)
        case .pattern(let ref): return checkPattern(ref, node, v, t)
        case .format(let kind): return checkFormat(kind, node, v, t)
        case .maxItems(let k): return checkMaxItems(k, node, v, t)
        case .minItems(let k): return checkMinItems(k, node, v, t)
        case .uniqueItems: return checkUniqueItems(node, v, t)
        case .contains(let sub, let minC, let maxC): return checkContains(sub, minC, maxC, node, v, t)
        case .maxProperties(let k): return checkMaxProperties(k, node, v, t)
        case .minProperties(let k): return checkMinProperties(k, node, v, t)
        case .required(let box): return checkRequired(box, node, v, t)
        case .dependentRequired(let box, let legacy): return checkDependentRequired(box, legacy, node, v, t)
        case .object(let app): return checkObject(app, node, v, t)
        case .propertyNames(let sub): return checkPropertyNames(sub, node, v, t)
        case .dependentSchemas(let box, let legacy): return checkDependentSchemas(box, legacy, node, v, t)
        case .items(let box): return checkItems(box, node, v, t)
        case .ref(let target): return checkRef(target, node, v, t)
        case .dynamicRef(let target, let dynamic): return checkDynamicRef(target, dynamic, node, v, t)
        case .allOf(let box): return checkAllOf(box, node, v, t)
        case .anyOf(let box): return checkAnyOf(box, node, v, t)
        case .oneOf(let box): return checkOneOf(box, node, v, t)
        case .not(let sub): return checkNot(sub, node, v, t)
        case .ifThenElse(let cond, let then, let els): return checkIfThenElse(cond, then, els, node, v, t)
        case .unevaluatedProperties(let sub): return checkUnevaluatedProperties(sub, node, v, t)
        case .unevaluatedItems(let sub): return checkUnevaluatedItems(sub, node, v, t)
        }
    }

    private mutating func checkType(_ ts: SchemaTypeSet, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        if typeMatches(ts, v) { return true }
        if errorsOn { report(node, "type", "must be of type \(ts.description), got \(v.typeName)") }
        return false
    }

    private mutating func checkConst(_ c: SchemaUnowned<SchemaBox<ConfigValue>>, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        if v == c.object.value { return true }
        if errorsOn { report(node, "const", "must be equal to the constant given by the schema") }
        return false
    }

    private mutating func checkEnumeration(_ box: SchemaUnowned<SchemaBox<[ConfigValue]>>, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        let values = box.object.value
        if case .string(let str) = v {
            // strings compare by their UTF-8 bytes (ConfigValue's equality), without generic iteration
            for case .string(let e) in values where Self.sameBytes(str, e) { return true }
        } else if values.contains(v) {
            return true
        }
        if errorsOn {
            report(node, "enum", values.count == 1 ? "is not the one allowed value" : "is not one of the \(values.count) allowed values")
        }
        return false
    }

    private mutating func checkMultipleOf(_ dec: SchemaDecimal, _ raw: ConfigNumber, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .number(let x) = v else { return true }
        var ok: Bool
        if case .int(let i) = x, case .int(let m) = raw {
            ok = i % m == 0
        } else if let xd = SchemaDecimal(x) {
            ok = dec.divides(xd)
        } else {
            ok = false
        }
        if ok { return true }
        if errorsOn { report(node, "multipleOf", "must be a multiple of \(raw)") }
        return false
    }

    private mutating func checkMaximum(_ m: ConfigNumber, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .number(let x) = v, SchemaNumbers.compare(x, m) > 0 else { return true }
        if errorsOn { report(node, "maximum", "must be at most \(m)") }
        return false
    }

    private mutating func checkExclusiveMaximum(_ m: ConfigNumber, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .number(let x) = v, SchemaNumbers.compare(x, m) >= 0 else { return true }
        if errorsOn { report(node, "exclusiveMaximum", "must be less than \(m)") }
        return false
    }

    private mutating func checkMinimum(_ m: ConfigNumber, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .number(let x) = v, SchemaNumbers.compare(x, m) < 0 else { return true }
        if errorsOn { report(node, "minimum", "must be at least \(m)") }
        return false
    }

    private mutating func checkExclusiveMinimum(_ m: ConfigNumber, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .number(let x) = v, SchemaNumbers.compare(x, m) <= 0 else { return true }
        if errorsOn { report(node, "exclusiveMinimum", "must be greater than \(m)") }
        return false
    }

    private mutating func checkMaxLength(_ k: Int, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .string(let s) = v, s.utf8.count > k, Self.scalarCount(s) > k else { return true }
        if errorsOn { report(node, "maxLength", "must be at most \(k) character\(k == 1 ? "" : "s") long") }
        return false
    }

    private mutating func checkMinLength(_ k: Int, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .string(let s) = v else { return true }
        // fewer UTF-8 bytes than k means fewer scalars too
        let bytes = s.utf8.count
        if bytes / 4 >= k || (bytes >= k && Self.scalarCount(s) >= k) { return true }  // bytes / 4: no overflow for huge k
        if errorsOn { report(node, "minLength", "must be at least \(k) character\(k == 1 ? "" : "s") long") }
        return false
    }

    private mutating func checkPattern(_ ref: SchemaUnowned<ECMARegex>, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        let re = ref.object
        guard case .string(let s) = v, !re.matches(s) else { return true }
        if errorsOn { report(node, "pattern", "must match the pattern \(re.source)") }
        return false
    }

    private mutating func checkFormat(_ kind: SchemaFormat, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .string(let s) = v, !kind.check(s) else { return true }
        if errorsOn { report(node, "format", "must be a valid \(kind.rawValue)") }
        return false
    }

    private mutating func checkMaxItems(_ k: Int, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .array(let a) = v, a.count > k else { return true }
        if errorsOn { report(node, "maxItems", "must have at most \(k) item\(k == 1 ? "" : "s")") }
        return false
    }

    private mutating func checkMinItems(_ k: Int, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .array(let a) = v, a.count < k else { return true }
        if errorsOn { report(node, "minItems", "must have at least \(k) item\(k == 1 ? "" : "s")") }
        return false
    }

    private mutating func checkUniqueItems(_ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .array(let a) = v, a.count > 1 else { return true }
        var dup = false
        if a.count <= 16 {
            outer: for i in 0..<a.count { for j in (i + 1)..<a.count where a[i] == a[j] { dup = true; break outer } }
        } else {
            var seen = Set<ConfigValue>(minimumCapacity: a.count)
            for x in a where !seen.insert(x).inserted { dup = true; break }
        }
        if !dup { return true }
        if errorsOn { report(node, "uniqueItems", "must not contain duplicate items") }
        return false
    }

    private mutating func checkContains(_ sub: NodeRef, _ minC: Int, _ maxC: Int?, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .array(let a) = v else { return true }
        var count = 0
        let needAll = annotate || t != nil || maxC != nil
        for (i, x) in a.enumerated() {
            if annotate { path.append(.index(i)) }
            let ok = probe(sub.node, x, nil)
            if annotate { path.removeLast() }
            if ok {
                count += 1
                t?.items.insert(i)
                if !needAll && count >= minC { break }
            }
        }
        if count < minC {
            if errorsOn {
                report(node, minC == 1 ? "contains" : "minContains",
                       minC == 1 ? "must contain at least one item matching the schema in contains"
                                 : "must contain at least \(minC) items matching the schema in contains")
            }
            return false
        }
        if let maxC, count > maxC {
            if errorsOn { report(node, "maxContains", "must contain at most \(maxC) item\(maxC == 1 ? "" : "s") matching the schema in contains") }
            return false
        }
        return true
    }

    private mutating func checkMaxProperties(_ k: Int, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .object(let o) = v, o.count > k else { return true }
        if errorsOn { report(node, "maxProperties", "must have at most \(k) propert\(k == 1 ? "y" : "ies")") }
        return false
    }

    private mutating func checkMinProperties(_ k: Int, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .object(let o) = v, o.count < k else { return true }
        if errorsOn { report(node, "minProperties", "must have at least \(k) propert\(k == 1 ? "y" : "ies")") }
        return false
    }

    private mutating func checkRequired(_ box: SchemaUnowned<SchemaBox<[String]>>, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .object(let o) = v else { return true }
        var ok = true
        for name in box.object.value where o[name] == nil {
            ok = false
            if !errorsOn { return false }
            report(node, "required", "is missing the required property \(quoted(name))")
        }
        return ok
    }

    private mutating func checkDependentRequired(_ box: SchemaUnowned<SchemaBox<[(String, [String])]>>, _ legacy: Bool, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .object(let o) = v else { return true }
        let keyword = legacy ? "dependencies" : "dependentRequired"
        var ok = true
        for (prop, reqs) in box.object.value where o[prop] != nil {
            for r in reqs where o[r] == nil {
                ok = false
                if !errorsOn { return false }
                report(node, keyword, "is missing the property \(quoted(r)), required when \(quoted(prop)) is present")
            }
        }
        return ok
    }

    private mutating func checkObject(_ app: SchemaUnowned<ObjectApplicator>, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .object(let o) = v else { return true }
        return evalObject(app.object, node, o, t)
    }

    private mutating func checkPropertyNames(_ sub: NodeRef, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .object(let o) = v else { return true }
        var ok = true
        for k in o.keys {
            let mark = secrets.count
            let first = errors.count
            if annotate { path.append(.key(k)) }
            let r = eval(sub.node, .string(k), nil)
            if annotate { path.removeLast() }
            if secrets.count > mark { secrets.removeSubrange(mark...) }
            if !r {
                ok = false
                if !errorsOn { return false }
                for i in first..<errors.count {
                    let e = errors[i]
                    errors[i] = ValidationError(instanceLocation: e.instanceLocation, keyword: e.keyword,
                                                schemaLocation: e.schemaLocation, message: "property name " + e.message)
                }
            }
        }
        return ok
    }

    private mutating func checkDependentSchemas(_ box: SchemaUnowned<SchemaBox<[(String, NodeRef)]>>, _ _legacy: Bool, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .object(let o) = v else { return true }
        var ok = true
        for (prop, sub) in box.object.value where o[prop] != nil {
            if !eval(sub.node, v, t) {
                ok = false
                if !errorsOn { return false }
            }
        }
        return ok
    }

    private mutating func checkItems(_ box: SchemaUnowned<ItemsApplicator>, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .array(let a) = v else { return true }
        let prefix = box.object.prefix
        let rest = box.object.rest
        var ok = true
        let n = min(prefix.count, a.count)
        for i in 0..<n {
            if annotate { path.append(.index(i)) }
            let r = eval(prefix[i].node, a[i], nil)
            if annotate { path.removeLast() }
            if !r {
                ok = false
                if !errorsOn { return false }
            }
        }
        if let t { t.itemsUpTo = max(t.itemsUpTo, n) }
        if let rest {
            if a.count > n {
                let rn = rest.node
                for i in n..<a.count {
                    if annotate { path.append(.index(i)) }
                    let r = eval(rn, a[i], nil)
                    if annotate { path.removeLast() }
                    if !r {
                        ok = false
                        if !errorsOn { return false }
                    }
                }
            }
            t?.allItems = true
        }
        return ok
    }

    private mutating func checkRef(_ target: NodeRef, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        return eval(target.node, v, t)
    }

    private mutating func checkDynamicRef(_ target: NodeRef, _ dynamic: SchemaUnowned<DynamicTargets>?, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        var to = target.node
        if let dynamic {
            for r in scope {
                if let n = dynamic.object.byResource[r] {
                    to = n.node
                    break
                }
            }
        }
        return eval(to, v, t)
    }

    private mutating func checkAllOf(_ box: SchemaUnowned<SchemaBox<[NodeRef]>>, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        var ok = true
        for sub in box.object.value where !eval(sub.node, v, t) {
            ok = false
            if !errorsOn { return false }
        }
        return ok
    }

    private mutating func checkAnyOf(_ box: SchemaUnowned<SchemaBox<[NodeRef]>>, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        let list = box.object.value
        var any = false
        for sub in list {
            let bt: EvaluatedTracker? = t == nil ? nil : EvaluatedTracker()
            if probe(sub.node, v, bt) {
                any = true
                if let t, let bt { t.merge(bt) }
                if !annotate && t == nil { break }
            }
        }
        if any { return true }
        if errorsOn {
            report(node, "anyOf", "must match at least one of the \(list.count) schemas in anyOf" + branchSummary(list, v))
        }
        return false
    }

    private mutating func checkOneOf(_ box: SchemaUnowned<SchemaBox<[NodeRef]>>, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        let list = box.object.value
        var passed = 0
        for sub in list {
            let bt: EvaluatedTracker? = t == nil ? nil : EvaluatedTracker()
            if probe(sub.node, v, bt) {
                passed += 1
                if let t, let bt { t.merge(bt) }
                if passed > 1 && !annotate { break }
            }
        }
        if passed == 1 { return true }
        if errorsOn {
            report(node, "oneOf", passed == 0
                   ? "must match exactly one of the \(list.count) schemas in oneOf, but matches none" + branchSummary(list, v)
                   : "must match exactly one of the \(list.count) schemas in oneOf, but matches \(passed)")
        }
        return false
    }

    private mutating func checkNot(_ sub: NodeRef, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        let mark = secrets.count
        let r = probe(sub.node, v, nil)
        if secrets.count > mark { secrets.removeSubrange(mark...) }
        if !r { return true }
        if errorsOn { report(node, "not", "must not match the schema in not") }
        return false
    }

    private mutating func checkIfThenElse(_ cond: NodeRef, _ then: NodeRef?, _ els: NodeRef?, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        let bt: EvaluatedTracker? = t == nil ? nil : EvaluatedTracker()
        if probe(cond.node, v, bt) {
            if let t, let bt { t.merge(bt) }
            guard let then else { return true }
            return eval(then.node, v, t)
        }
        guard let els else { return true }
        return eval(els.node, v, t)
    }

    private mutating func checkUnevaluatedProperties(_ sub: NodeRef, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .object(let o) = v, let t else { return true }
        if t.allProps { return true }
        var ok = true
        let sn = sub.node
        for (k, x) in o where !t.props.contains(k) {
            if sn.constant == false {
                ok = false
                if !errorsOn { return false }
                report(node, "unevaluatedProperties", "is not allowed: no keyword of the schema covers this property", at: .key(k))
                continue
            }
            if annotate { path.append(.key(k)) }
            let r = eval(sn, x, nil)
            if annotate { path.removeLast() }
            if !r {
                ok = false
                if !errorsOn { return false }
            }
        }
        t.allProps = true
        return ok
    }

    private mutating func checkUnevaluatedItems(_ sub: NodeRef, _ node: SchemaNode, _ v: ConfigValue, _ t: EvaluatedTracker?) -> Bool {
        guard case .array(let a) = v, let t else { return true }
        if t.allItems { return true }
        var ok = true
        let sn = sub.node
        for i in t.itemsUpTo..<max(t.itemsUpTo, a.count) where !t.items.contains(i) {
            if sn.constant == false {
                ok = false
                if !errorsOn { return false }
                report(node, "unevaluatedItems", "is not allowed: no keyword of the schema covers this item", at: .index(i))
                continue
            }
            if annotate { path.append(.index(i)) }
            let r = eval(sn, a[i], nil)
            if annotate { path.removeLast() }
            if !r {
                ok = false
                if !errorsOn { return false }
            }
        }
        t.allItems = true
        return ok
    }

    private mutating func evalObject(_ app: ObjectApplicator, _ node: SchemaNode, _ o: [String: ConfigValue], _ t: EvaluatedTracker?) -> Bool {
        var ok = true
        var seen: UInt64 = 0
        let nodes = app.nodes
        let nprops = nodes.count
        if app.patterns.isEmpty && app.additional == nil && nprops * 4 < o.count {
            // Few named properties, many members: look the names up in the instance.
            for slot in 0..<nprops {
                let k = app.propertyNames[slot]
                guard let x = o[k] else { continue }
                if slot < 64 { seen |= 1 << UInt64(slot) }
                if !evalMember(nodes[slot].node, k, x) {
                    ok = false
                    if !errorsOn { return false }
                }
                t?.props.insert(k)
            }
        } else {
            for (k, x) in o {
                var matched = false
                if nprops > 0 {
                    let slot = app.table.lookup(k)
                    if slot >= 0 {
                        matched = true
                        if slot < 64 { seen |= 1 << UInt64(slot) }
                        if !evalMember(nodes[slot].node, k, x) {
                            ok = false
                            if !errorsOn { return false }
                        }
                    }
                }
                if !app.patterns.isEmpty {
                    for (re, sub) in app.patterns where re.object.matches(k) {
                        matched = true
                        if !evalMember(sub.node, k, x) {
                            ok = false
                            if !errorsOn { return false }
                        }
                    }
                }
                if !matched, let add = app.additional {
                    if app.additionalFalse {
                        ok = false
                        if !errorsOn { return false }
                        report(node, "additionalProperties", "is not allowed: the schema does not define this property", at: .key(k))
                    } else if !evalMember(add.node, k, x) {
                        ok = false
                        if !errorsOn { return false }
                    }
                } else if matched, let t, !t.allProps {
                    t.props.insert(k)
                }
            }
            if app.additional != nil { t?.allProps = true }
        }
        if app.hasRequired {
            if seen & app.requiredMask != app.requiredMask {
                ok = false
                if !errorsOn { return false }
                for slot in app.requiredSlots where seen & (1 << UInt64(slot)) == 0 {
                    report(node, "required", "is missing the required property \(quoted(app.propertyNames[slot]))")
                }
            }
            for name in app.requiredOther where o[name] == nil {
                ok = false
                if !errorsOn { return false }
                report(node, "required", "is missing the required property \(quoted(name))")
            }
        }
        return ok
    }

    /// " (schema 1: why; schema 2: why)": the first error of each failing alternative (at most 4), for
    /// the message of a failed anyOf/oneOf. Runs only when reporting errors.
    private mutating func branchSummary(_ list: [NodeRef], _ v: ConfigValue) -> String {
        guard list.count <= 4 else { return "" }
        var parts: [String] = []
        let here = Self.pointer(path)
        let mark = secrets.count
        for (i, sub) in list.enumerated() {
            let first = errors.count
            _ = eval(sub.node, v, nil)
            if errors.count > first {
                let e = errors[first]
                let at = e.instanceLocation == here ? "" : String(e.instanceLocation.dropFirst(here.count)) + " "
                parts.append("schema \(i + 1): \(at)\(e.message)")
                errors.removeSubrange(first...)
                errorPaths.removeSubrange(first...)
            }
        }
        if secrets.count > mark { secrets.removeSubrange(mark...) }
        return parts.isEmpty ? "" : " (" + parts.joined(separator: "; ") + ")"
    }

    @inline(__always) private mutating func evalMember(_ sub: SchemaNode, _ k: String, _ x: ConfigValue) -> Bool {
        if annotate { path.append(.key(k)) }
        let r = eval(sub, x, nil)
        if annotate { path.removeLast() }
        return r
    }

    private func quoted(_ name: String) -> String {
        var out: [UInt8] = []
        JSON.writeString(name, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
