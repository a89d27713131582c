import SvcConfCrypto

/// Rotation: reseal a config's latest version under a fresh data key and the store policy's current
/// recipients, as a new version. The content does not change; history is never rewritten (older
/// versions stay sealed to whoever could open them then).
extension ConfigRepository {
    /// What one rotation did.
    public struct Rotation: Sendable {
        /// Which config.
        public let address: ConfigAddress
        /// The version that was resealed.
        public let oldVersion: Int64
        /// The new version's facts.
        public let new: VersionInfo
        /// True when the recipients changed and the version got a new fingerprint key (a removed
        /// recipient must not be able to test guesses against later fingerprints).
        public let fingerprintKeyRenewed: Bool
        /// Who can open the new version: `local key 1a2b...`, `kms:arn:...` (ids, never key material).
        public var sealedTo: [String] { new.recipients }
    }

    /// Fingerprint keys made during one rotation run, per service and recipient set, so configs of a
    /// service that end up sealed to exactly the same recipients keep sharing one (equal values show
    /// equal fingerprints across those envs, as for new configs).
    public final class FingerprintKeyCache: @unchecked Sendable {
        var keys: [String: [UInt8]] = [:]
        /// An empty cache.
        public init() {}
    }

    /// Reseals the latest version of `address` as a new version: a fresh data key, wrapped for the
    /// recipients the store policy names now. The config, its fingerprint key (unless the recipients
    /// changed) and the digest of the schema it was validated against are carried over unchanged, so
    /// a schema set since then does not block a key rotation (`check` and `exec` hold the config to
    /// the current schema). When another writer gets there first, the new latest version is resealed
    /// instead (up to `attempts` times): never a lost update.
    public func rotate(_ address: ConfigAddress, message: String = "rotate", attempts: Int = 20,
                       fingerprintKeys: FingerprintKeyCache = FingerprintKeyCache()) async throws -> Rotation {
        var attempt = 0
        while true {
            attempt += 1
            guard let latest = try await store.latestVersion(of: address) else {
                _ = try resolve(nil, address, latest: nil)  // throws "has no versions"
                throw SvcConfError(.internal, "unreachable")
            }
            let base = try await open(address, version: latest)
            do {
                return try await reseal(base, message: message, fingerprintKeys: fingerprintKeys)
            } catch let e as SvcConfError where e.kind == .conflict && attempt < attempts {
                await Backoff.sleep(attempt: attempt)
            }
        }
    }

    /// Writes `base`'s config as the next version, sealed for the current policy.
    func reseal(_ base: OpenedVersion, message: String, fingerprintKeys: FingerprintKeyCache) async throws -> Rotation {
        let address = base.info.address
        let policy = try await requirePolicy()
        var recipients: [any Recipient] = []
        for ref in try policy.recipients(for: address) { recipients.append(try keyring.recipient(for: ref, address: address)) }
        let number = base.info.version + 1
        let header = SealedHeader(service: address.service, env: address.env, variant: address.variant,
                                  version: number, parent: base.info.digest, schema: base.info.schema,
                                  author: await currentAuthor(), time: clock(), message: message, nonce: [], recipients: [])
        try checkHeaderText(header)
        var payload = Payload(config: base.config, fingerprintKey: base.fingerprintKey)
        var bytes = try await Envelope.seal(payload, header: header, recipients: recipients)
        var parsed = try SealedCodec.parse(bytes)
        var renewed = false
        let sealedTo = Set(parsed.header.recipients.map { Envelope.describeRecipients([$0]) })
        if sealedTo != Set(base.info.recipients) {
            // Other recipients than the base version's: a recipient that was removed knows the old
            // fingerprint key, so the new version gets another one.
            let cacheKey = address.service + "\0" + sealedTo.sorted().joined(separator: "\0")
            let fresh = try fingerprintKeys.keys[cacheKey] ?? SecureRandom.bytes(count: 32)
            fingerprintKeys.keys[cacheKey] = fresh
            payload.fingerprintKey = fresh
            bytes = try await Envelope.seal(payload, header: header, recipients: recipients)
            parsed = try SealedCodec.parse(bytes)
            renewed = true
        }
        do {
            try await store.create(address, version: number, bytes: bytes)
        } catch let e as SvcConfError where e.kind == .conflict {
            throw SvcConfError(.conflict, "\(address) changed while rotating: version \(number) was written by someone else after version \(number - 1)",
                               hint: "run `svcconf rotate \(address.service) --env \(address.env)` again")
        }
        return Rotation(address: address, oldVersion: base.info.version,
                        new: VersionInfo(header: parsed.header, address: address, bytes: bytes), fingerprintKeyRenewed: renewed)
    }

    // MARK: rotate --all

    /// A rotation run over every config: its id names it in each version it writes, so an
    /// interrupted run can be resumed.
    public enum RotationRun {
        /// A new run id: `r-20261126T193000Z-3fa2` (UTC time and 16 random bits).
        public static func newID(now: Timestamp) throws -> String {
            let t = now.description.filter { $0 != "-" && $0 != ":" }
            return "r-\(t)-\(Hex.encode(try SecureRandom.bytes(count: 2)))"
        }

        /// True for ids made by ``newID(now:)``.
        public static func isValidID(_ id: String) -> Bool {
            let u = Array(id.utf8)
            guard u.count == 23, id.hasPrefix("r-"), u[10] == 0x54, u[17] == 0x5A, u[18] == 0x2D else { return false }
            let digits = Array(u[2..<10]) + Array(u[11..<17])
            return digits.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
                && u[19...].allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
        }

        /// Throws `.usage` unless `id` is a run id.
        public static func check(_ id: String) throws(SvcConfError) {
            guard isValidID(id) else {
                throw SvcConfError(.usage, "invalid run id \(Names.quoted(id))", hint: "a run id looks like r-20261126T193000Z-3fa2, as printed by `svcconf rotate --all`")
            }
        }

        /// The message of every version the run writes: `rotate (run ID)`.
        public static func message(_ id: String) -> String { "rotate (run \(id))" }

        /// True when a version's message says run `id` wrote it.
        public static func wrote(_ message: String, run id: String) -> Bool { message.hasSuffix("(run \(id))") }
    }

    /// One line of `rotate --all`.
    public enum RotationOutcome: Sendable {
        /// Resealed as a new version.
        case rotated(Rotation)
        /// Left alone: its latest version was already written by this run (`--resume`).
        case skipped(ConfigAddress, version: Int64, reason: String)
        /// Could not be rotated; the others went on.
        case failed(ConfigAddress, SvcConfError)

        /// Which config.
        public var address: ConfigAddress {
            switch self {
            case .rotated(let r): return r.address
            case .skipped(let a, _, _), .failed(let a, _): return a
            }
        }
    }

    /// Rotates every config in the store (every service, env — `base` included — and variant), in
    /// order, going on past failures; `report` is called after each. With `resuming`, a config whose
    /// latest version was written by run `runID` is skipped, so a run that was interrupted or failed
    /// part-way can be finished with the same id.
    /// `started` is called once the store is known to be initialized and its configs are listed.
    public func rotateAll(runID: String, resuming: Bool, started: () -> Void = {},
                          report: (RotationOutcome) -> Void = { _ in }) async throws -> [RotationOutcome] {
        try RotationRun.check(runID)
        _ = try await requirePolicy()
        let addresses = try await store.addresses()
        started()
        let cache = FingerprintKeyCache()
        var out: [RotationOutcome] = []
        for address in addresses {
            let outcome: RotationOutcome
            do {
                if resuming, let n = try await store.latestVersion(of: address) {
                    let latest = try await info(address, version: n)
                    if RotationRun.wrote(latest.message, run: runID) {
                        let o = RotationOutcome.skipped(address, version: n, reason: "already rotated by run \(runID)")
                        out.append(o)
                        report(o)
                        continue
                    }
                }
                outcome = .rotated(try await rotate(address, message: RotationRun.message(runID), fingerprintKeys: cache))
            } catch let e as SvcConfError {
                outcome = .failed(address, e)
            } catch {
                outcome = .failed(address, SvcConfError(.internal, "unexpected failure: \(String(describing: error).prefix(200))"))
            }
            out.append(outcome)
            report(outcome)
        }
        return out
    }
}
