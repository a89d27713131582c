/// The store's sealing policy as users edit it: `svcconf recipients list|add|remove`. Every edit writes a
/// new policy version (the store creates number N+1 exclusively); an edit that loses a race re-reads
/// the new policy and applies itself again, so concurrent edits all land. Existing versions keep
/// their recipients until `rotate` reseals them.
extension ConfigRepository {
    /// What an edit of the policy did.
    public struct RecipientsChange: Sendable {
        /// The policy's number after the edit (the current one when nothing changed).
        public let number: Int64
        /// The policy after the edit.
        public let policy: StorePolicy
        /// The rule edited.
        public let match: String
        /// The recipient added or removed (as the policy names it).
        public let recipient: StorePolicy.RecipientRef
        /// False when the policy already said so (add of a recipient the rule has): nothing written.
        public let changed: Bool
        /// True when `add` created the rule.
        public let createdRule: Bool
        /// A key file `add` generated (path, key id).
        public let generated: (path: String, keyId: String)?
    }

    /// The current policy and its number.
    public func currentPolicy() async throws -> (number: Int64, policy: StorePolicy) {
        guard let p = try await store.latestPolicy() else {
            throw SvcConfError(.notFound, "store \(store.url) is not initialized", hint: "run `svcconf init --store \(store.url)`")
        }
        return p
    }

    /// Checks the form of a recipient (`local:PATH` or `kms:KEY`) without any I/O.
    static func checkRecipientSpec(_ spec: String) throws(SvcConfError) {
        if spec == "local:" { throw SvcConfError(.usage, "recipient \"local:\" needs a path") }
        guard (spec.hasPrefix("local:") && spec.utf8.count > 6) || (spec.hasPrefix("kms:") && spec.utf8.count > 4),
              Names.isPrintableText(spec, allowNewlines: false)
        else {
            throw SvcConfError(.usage, "invalid recipient \(Names.quoted(spec))", hint: "recipients are local:PATH or kms:KEY")
        }
    }

    static func checkMatch(_ match: String) throws(SvcConfError) {
        guard StorePolicy.isValidPattern(match) else {
            throw SvcConfError(.usage, "invalid rule match \(Names.quoted(match))", hint: "a match is SERVICE/ENV, each a name or a pattern with *, e.g. */prod")
        }
    }

    /// The policy's reference to `spec`: a `local:PATH` key file is loaded for its key id, or generated
    /// (mode 0600) when it does not exist, and recorded in `generated`.
    func recipientRef(_ spec: String, generated: inout [(path: String, keyId: String)]) throws -> StorePolicy.RecipientRef {
        try Self.checkRecipientSpec(spec)
        guard spec.hasPrefix("local:") else { return .init(uri: spec) }
        let path = String(spec.dropFirst(6))
        let key: LocalKey
        if try LocalFS.info(LocalKey.expand(path)) != nil {
            key = try LocalKey(path: path)
        } else {
            key = try LocalKey.generate(at: path, now: clock())
            generated.append((path, key.keyId))
        }
        return .init(uri: spec, keyId: key.keyId)
    }

    /// Adds `spec` to the rule `match` (created when missing). A `local:PATH` that does not exist is
    /// generated (0600), as `init` does. Adding a recipient the rule already has writes nothing.
    public func addRecipient(_ spec: String, match: String = "*/*", attempts: Int = 20) async throws -> RecipientsChange {
        try Self.checkMatch(match)
        try Self.checkRecipientSpec(spec)
        _ = try await currentPolicy()
        var generated: [(path: String, keyId: String)] = []
        let ref = try recipientRef(spec, generated: &generated)
        var created = false
        let (n, policy, changed) = try await editPolicy(attempts: attempts) { policy in
            created = false
            guard let i = policy.rules.firstIndex(where: { $0.match == match }) else {
                policy.rules.append(.init(match: match, recipients: [ref]))
                created = true
                return true
            }
            if policy.rules[i].recipients.contains(where: { Self.same($0, ref) }) { return false }
            guard policy.rules[i].recipients.count < SealedCodec.maxRecipients else {
                throw SvcConfError(.usage, "rule \(match) already has \(SealedCodec.maxRecipients) recipients, the most a version can have")
            }
            policy.rules[i].recipients.append(ref)
            return true
        }
        return RecipientsChange(number: n, policy: policy, match: match, recipient: ref, changed: changed,
                                createdRule: created && changed, generated: generated.first)
    }

    /// Removes `spec` from the rule `match`. A `local:PATH` is recognized by its uri, or by the key id
    /// of the key file at PATH. Fails with `.notFound` when the rule does not exist or does not name
    /// it, and with `.usage` when the rule would be left with no recipients.
    public func removeRecipient(_ spec: String, match: String = "*/*", attempts: Int = 20) async throws -> RecipientsChange {
        try Self.checkMatch(match)
        try Self.checkRecipientSpec(spec)
        _ = try await currentPolicy()
        // The key id of the file at PATH, if there is a readable key there (a lost key is named by uri).
        let keyId = spec.hasPrefix("local:") ? (try? LocalKey(path: String(spec.dropFirst(6))))?.keyId : nil
        func isIt(_ r: StorePolicy.RecipientRef) -> Bool { r.uri == spec || (keyId != nil && r.keyId == keyId) }
        var removed: StorePolicy.RecipientRef?
        let (n, policy, changed) = try await editPolicy(attempts: attempts) { policy in
            guard let i = policy.rules.firstIndex(where: { $0.match == match }) else {
                throw SvcConfError(.notFound, "the store policy has no rule \(match)", hint: "see the rules with `svcconf recipients list`")
            }
            let rule = policy.rules[i]
            guard let first = rule.recipients.first(where: isIt) else {
                throw SvcConfError(.notFound, "\(Names.quoted(spec)) is not a recipient of rule \(match)",
                                   hint: "see the rules with `svcconf recipients list`")
            }
            let kept = rule.recipients.filter { !isIt($0) }
            guard !kept.isEmpty else {
                throw SvcConfError(.usage, "removing \(Names.quoted(spec)) would leave rule \(match) with no recipients",
                                   hint: "add another recipient to \(match) first (`svcconf recipients add R --match '\(match)'`)")
            }
            removed = first
            policy.rules[i].recipients = kept
            return true
        }
        return RecipientsChange(number: n, policy: policy, match: match, recipient: removed ?? .init(uri: spec, keyId: keyId),
                                changed: changed, createdRule: false, generated: nil)
    }

    /// The same recipient: a local key by key id, a KMS key by uri.
    static func same(_ a: StorePolicy.RecipientRef, _ b: StorePolicy.RecipientRef) -> Bool {
        if let ka = a.keyId, let kb = b.keyId { return ka == kb }
        return a.uri == b.uri
    }

    /// Applies `edit` to the latest policy and writes the result as the next policy version; when
    /// another edit got there first, re-reads and applies again. `edit` returns false for "nothing
    /// to change".
    func editPolicy(attempts: Int, _ edit: (inout StorePolicy) throws -> Bool) async throws -> (Int64, StorePolicy, Bool) {
        var attempt = 0
        while true {
            attempt += 1
            let (n, current) = try await currentPolicy()
            var policy = current
            guard try edit(&policy) else { return (n, current, false) }
            do {
                try await store.createPolicy(policy, number: n + 1)
                return (n + 1, policy, true)
            } catch let e as SvcConfError where e.kind == .conflict && attempt < attempts {
                await Backoff.sleep(attempt: attempt)
            }
        }
    }
}
