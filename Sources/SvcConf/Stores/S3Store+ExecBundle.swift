import SvcConfAWS

/// The exec fast path of the S3 store: a per-service generation counter and a per-config exec bundle.
///
/// ```
/// PREFIX/configs/SERVICE/_generations/0000000001          markers, one per write, created with If-None-Match: *
/// PREFIX/configs/SERVICE/_generations/latest              hint: the highest marker a writer saw (not trusted)
/// PREFIX/configs/SERVICE/ENV[/variants/V]/exec-bundle     generation G + the latest copy of every layer and the schema
/// ```
/// (`_` is not a name character, so `_generations` is never an env; `exec-bundle` sits beside
/// `versions/` and `variants/`, never inside a series.)
///
/// **Writers** (every new version of any series of the service, and every new schema):
/// 1. create the object as before (conditional; on 412 nothing else happens);
/// 2. claim generation G+1: create marker G+1 with `If-None-Match: *`, on 412 the next — starting
///    from a marker known to exist, so the markers are always 1...M with no gap;
/// 3. rebuild every exec bundle of the service from reads made after the marker was created, stamp
///    it G+1 and replace it only if the stored one is older (`If-Match`, so stamps never go back).
///    A failure here loses nothing: readers take the slow path.
///
/// **Readers** (`exec` of the latest version): GET the bundle (stamp G), HEAD marker G+1. A 404
/// proves the bundle holds the newest object of every series it covers:
/// - The bundle stamped G was built by reads made after marker G existed (only the writer that saw
///   marker G exist stamps G).
/// - Any object O whose write completed has a marker m (step 2 follows step 1). Markers are dense
///   and each is created only after its predecessor was seen to exist, so marker G exists only after
///   every marker below it, hence after every object whose marker is ≤ G. S3 is strongly consistent
///   (read-after-write, and a 404 after a create is impossible), so the reads behind bundle G saw O
///   (or a newer object of its series) when m ≤ G.
/// - If m > G, marker G+1 exists (no gaps) and the reader's HEAD sees it: slow path.
///
/// The marker is created AFTER the object, not before: with the marker first, a writer holding
/// marker G could create its object after the writer of G+1 had built its bundle, and that bundle
/// (stamped G+1, with G+2 absent) would hide the object until the next write. The price: a writer
/// that crashes between creating its object and its marker leaves an object that `exec` (only the
/// fast path) ignores until the next write of the service — the write never reported success.
///
/// One counter per service, and every write rebuilds every bundle of the service: a write to
/// staging moves the counter prod's readers check, so prod's bundle is re-stamped too (otherwise
/// any staging edit would send prod to the slow path until prod's next write).
extension S3Store {
    func seriesRoot(_ a: ConfigAddress) -> String {
        var d = "\(prefix)configs/\(a.service)/\(a.env)/"
        if let v = a.variant { d += "variants/\(v)/" }
        return d
    }

    func bundleKey(_ a: ConfigAddress) -> String { seriesRoot(a) + "exec-bundle" }
    func generationDir(_ service: String) -> String { "\(prefix)configs/\(service)/_generations/" }
    func generationKey(_ service: String, _ g: Int64) -> String { generationDir(service) + VersionName.name(g, suffix: "") }

    static func isDenied(_ e: any Error) -> Bool { (e as? AWSError)?.status == 403 }
    static func lostCondition(_ e: any Error) -> Bool {
        guard let aws = e as? AWSError else { return false }
        return aws.status == 412 || aws.status == 409  // 409: a concurrent conditional write of the key
    }

    // MARK: read

    public func execSnapshot(of address: ConfigAddress) async throws -> ExecSnapshot? {
        guard !address.isBaseLayer else { return nil }
        let body: [UInt8]
        do {
            body = try await client.getObject(bucket: bucket, key: bundleKey(address)).bytes
        } catch where Self.isNotFound(error) || Self.isDenied(error) {
            return nil  // no bundle yet (or a role without access to it): layer by layer
        } catch {
            throw map(error, "reading \(url)")
        }
        let addresses = address.lowerLayers + [address]
        guard let bundle = ExecBundle.parse(body, layerCount: addresses.count) else { return nil }
        // 404 for marker G+1 proves the bundle current (see the extension's doc).
        do {
            _ = try await client.headObject(bucket: bucket, key: generationKey(address.service, bundle.generation + 1))
            return nil  // something was written after the bundle was built
        } catch where Self.isNotFound(error) {
            // current
        } catch where Self.isDenied(error) {
            return nil
        } catch {
            throw map(error, "reading \(url)")
        }
        var layers: [(address: ConfigAddress, number: Int64, bytes: [UInt8])] = []
        for (a, entry) in zip(addresses, bundle.layers) {
            if let entry { layers.append((a, entry.number, entry.bytes)) }
        }
        return ExecSnapshot(layers: layers, schema: bundle.schema.map { ($0.number, $0.bytes) })
    }

    // MARK: write

    /// Steps 2 and 3 for a write whose object `written` (a key under the prefix) was just created.
    /// Throws only when the generation could not be claimed: the object is stored, but readers of
    /// the fast path would not know.
    func publish(_ service: String, written: String) async throws {
        let g: Int64
        do {
            g = try await claimGeneration(service, note: written)
        } catch {
            let reason = (map(error, "writing \(url)") as? SvcConfError)?.message ?? "\(error)"
            throw SvcConfError(.unavailable, "\(written) was stored in \(url), but its generation marker was not (\(reason)); `exec` may start the previous version until the next write of \(service)",
                               hint: "check write access to \(generationDir(service)), then write \(service) again")
        }
        await refreshExecBundles(service, generation: g)
    }

    /// Creates the next generation marker of `service` and returns its number.
    func claimGeneration(_ service: String, note: String) async throws -> Int64 {
        var g = try await highestGeneration(service)
        var steps = 0
        while true {
            g += 1
            steps += 1
            guard g <= ExecBundle.maxGeneration else { throw SvcConfError(.unavailable, "\(url): \(service) has no generation numbers left") }
            do {
                _ = try await client.putObject(bucket: bucket, key: generationKey(service, g), body: Array((note + "\n").utf8),
                                               contentType: "text/plain", ifNoneMatch: true)
                break
            } catch where Self.lostCondition(error) {
                // taken: G+1 exists, so the next number keeps the markers gapless
                if steps >= 64 { g = try await highestGeneration(service, hint: nil); steps = 0 }
            }
        }
        // The hint is only a starting point for the next writer (checked before use).
        _ = try? await client.putObject(bucket: bucket, key: generationDir(service) + "latest",
                                        body: Array(VersionName.name(g, suffix: "\n").utf8), contentType: "text/plain")
        return g
    }

    /// The highest existing marker (0: none), from the hint when it checks out, else by search.
    /// Markers are gapless, so "marker n exists" is true exactly for n in 1...M.
    func highestGeneration(_ service: String) async throws -> Int64 {
        var hint: Int64?
        do {
            let body = try await client.getObject(bucket: bucket, key: generationDir(service) + "latest").bytes
            if body.count == 11, body[10] == 0x0A, let n = Int64(String(decoding: body[0..<10], as: UTF8.self)), n >= 1 { hint = n }
        } catch where Self.isNotFound(error) {
            hint = nil
        }
        return try await highestGeneration(service, hint: hint)
    }

    func highestGeneration(_ service: String, hint: Int64?) async throws -> Int64 {
        func exists(_ n: Int64) async throws -> Bool {
            do {
                _ = try await client.headObject(bucket: bucket, key: generationKey(service, n))
                return true
            } catch where Self.isNotFound(error) {
                return false
            }
        }
        // Usual case: the hint exists and is at most a few behind; claiming walks the rest with 412s.
        if let hint, hint <= ExecBundle.maxGeneration, try await exists(hint) { return hint }
        // Exponential then binary search over the gapless 1...M.
        guard try await exists(1) else { return 0 }
        var lo: Int64 = 1, hi: Int64 = 2
        while hi <= ExecBundle.maxGeneration, try await exists(hi) { lo = hi; hi *= 2 }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2
            if try await exists(mid) { lo = mid } else { hi = mid }
        }
        return lo
    }

    /// Every config of `service` that can have an exec bundle (envs other than base, and their
    /// variants), from delimiter listings; those with no versions are skipped when read.
    func execTargets(_ service: String) async throws -> [ConfigAddress] {
        let root = "\(prefix)configs/\(service)/"
        func children(_ dir: String) async throws -> [String] {
            let listing = try await client.listAllObjects(bucket: bucket, prefix: dir, delimiter: "/")
            return listing.commonPrefixes.compactMap { p -> String? in
                guard p.hasPrefix(dir), p.hasSuffix("/") else { return nil }
                let name = String(p.dropFirst(dir.count).dropLast())
                return Names.isValid(name) ? name : nil
            }
        }
        var out: [ConfigAddress] = []
        for env in try await children(root) where env != Layering.baseEnv {
            guard let a = try? ConfigAddress(service: service, env: env) else { continue }
            out.append(a)
            for v in try await children(root + env + "/variants/") {
                if let va = try? ConfigAddress(service: service, env: env, variant: v) { out.append(va) }
            }
        }
        return out.sorted()
    }

    /// Step 3: rebuilds every exec bundle of `service`, stamped `g`, from reads made now (after
    /// marker `g` was created). Best effort: a bundle not refreshed only costs its readers the slow path.
    func refreshExecBundles(_ service: String, generation g: Int64) async {
        guard let targets = try? await execTargets(service), !targets.isEmpty else { return }
        let schema: ExecBundle.Entry?
        do {
            schema = try await latest(schemaDir(service), ".json").map { ExecBundle.Entry(number: $0.number, bytes: $0.bytes) }
        } catch {
            return  // unknown schema: no bundle can say which one is current
        }
        var read: [ConfigAddress: ExecBundle.Entry?] = [:]
        for target in targets {
            var layers: [ExecBundle.Entry?] = []
            var failed = false
            for layer in target.lowerLayers + [target] {
                if let known = read[layer] { layers.append(known); continue }
                do {
                    let e = try await latest(configDir(layer), ".sealed").map { ExecBundle.Entry(number: $0.number, bytes: $0.bytes) }
                    read[layer] = .some(e)
                    layers.append(e)
                } catch {
                    failed = true
                    break
                }
            }
            guard !failed, layers.last.flatMap({ $0 }) != nil else { continue }
            try? await putBundle(target, ExecBundle(generation: g, layers: layers, schema: schema))
        }
    }

    /// Replaces the bundle of `address` with `bundle` unless the stored one is as new or newer
    /// (compare-and-swap on the ETag: stamps never go back, whatever order writers finish in).
    func putBundle(_ address: ConfigAddress, _ bundle: ExecBundle) async throws {
        let key = bundleKey(address)
        for _ in 0..<8 {
            var etag: String?
            do {
                let (body, e) = try await client.getObject(bucket: bucket, key: key)
                if let stored = ExecBundle.parse(body, layerCount: bundle.layers.count), stored.generation >= bundle.generation {
                    // Built from reads after a later marker: it already holds what this write made —
                    // provided that marker exists (a bundle from nowhere is replaced).
                    if stored.generation == bundle.generation { return }
                    if (try? await client.headObject(bucket: bucket, key: generationKey(address.service, stored.generation))) != nil { return }
                }
                etag = e
            } catch where Self.isNotFound(error) {
                etag = nil
            }
            do {
                _ = try await client.putObject(bucket: bucket, key: key, body: bundle.encoded(), contentType: "application/octet-stream",
                                               ifNoneMatch: etag == nil, ifMatch: etag)
                return
            } catch where Self.lostCondition(error) {
                continue  // another writer replaced it meanwhile: look again
            }
        }
    }
}

/// The exec bundle object: line-framed, every byte accounted for.
///
/// ```
/// svcconf-exec-bundle 1
/// generation 0000000007
/// layer 0000000003 1234        one per layer, lowest first (base, [env,] the config): number, length,
/// <1234 bytes>\n               then that many bytes of the version's latest copy and a newline;
/// layer none                   or `none` for a lower layer with no versions
/// layer 0000000012 2345
/// <2345 bytes>\n
/// schema 0000000002 345        the service's current schema, or `schema none`
/// <345 bytes>\n
/// end
/// ```
/// Parsing is strict: anything else (a short read, a wrong count, trailing bytes) is no bundle, and
/// the reader takes the slow path. The versions inside are authenticated when opened, like any copy.
struct ExecBundle: Equatable {
    struct Entry: Equatable {
        var number: Int64
        var bytes: [UInt8]
    }

    var generation: Int64
    /// Lowest first; the last is the config itself and is never nil in a valid bundle.
    var layers: [Entry?]
    var schema: Entry?

    static let magic = Array("svcconf-exec-bundle 1\n".utf8)
    static let maxGeneration: Int64 = 9_999_999_998

    func encoded() -> [UInt8] {
        var out = Self.magic
        out += Array("generation \(VersionName.name(generation, suffix: ""))\n".utf8)
        func entry(_ tag: String, _ e: Entry?) {
            guard let e else { out += Array("\(tag) none\n".utf8); return }
            out += Array("\(tag) \(VersionName.name(e.number, suffix: "")) \(e.bytes.count)\n".utf8)
            out += e.bytes
            out.append(0x0A)
        }
        for l in layers { entry("layer", l) }
        entry("schema", schema)
        out += Array("end\n".utf8)
        return out
    }

    private struct Malformed: Error {}

    /// The bundle in `bytes` for a config with `layerCount` layers, or nil when it is not exactly one.
    static func parse(_ b: [UInt8], layerCount: Int) -> ExecBundle? {
        guard layerCount >= 1, b.starts(with: magic) else { return nil }
        var i = magic.count
        func fields() throws -> [Substring] {
            var j = i
            while j < b.count, j - i < 64, b[j] != 0x0A { j += 1 }
            guard j < b.count, b[j] == 0x0A else { throw Malformed() }
            let text = String(decoding: b[i..<j], as: UTF8.self)
            i = j + 1
            return text.split(separator: " ", omittingEmptySubsequences: false)
        }
        func number(_ s: Substring) throws -> Int64 {
            guard s.utf8.count == 10, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int64(s), n >= 1, n <= maxGeneration
            else { throw Malformed() }
            return n
        }
        func entry(_ tag: Substring) throws -> Entry? {
            let f = try fields()
            guard f.first == tag else { throw Malformed() }
            if f.count == 2 && f[1] == "none" { return nil }
            guard f.count == 3, let len = Int(f[2]), len >= 0, String(len) == f[2], len < b.count - i else { throw Malformed() }
            let n = try number(f[1])
            let bytes = Array(b[i..<(i + len)])
            i += len
            guard b[i] == 0x0A else { throw Malformed() }
            i += 1
            return Entry(number: n, bytes: bytes)
        }
        do {
            let g = try fields()
            guard g.count == 2, g[0] == "generation" else { return nil }
            let generation = try number(g[1])
            var layers: [Entry?] = []
            for _ in 0..<layerCount { layers.append(try entry("layer")) }
            guard layers.last.flatMap({ $0 }) != nil else { return nil }
            let schema = try entry("schema")
            guard try fields() == ["end"], i == b.count else { return nil }
            return ExecBundle(generation: generation, layers: layers, schema: schema)
        } catch {
            return nil
        }
    }
}
