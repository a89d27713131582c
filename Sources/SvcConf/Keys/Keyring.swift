#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SvcConfAWS

/// The keys this process holds: local key files given with `--key-file` / `SVCCONF_KEY_FILE`
/// (when none were given, the local key files that the store policy names are tried at their paths),
/// and AWS KMS through the standard credential chain when a KMS client is configured.
public struct Keyring: Sendable {
    /// Keys given explicitly.
    public let localKeys: [LocalKey]
    /// KMS, when this process can reach it (svcconf-cli and the server; not the container launcher,
    /// which hands KMS-sealed versions over to svcconf-cli).
    public let kms: KMSClient?

    /// A keyring of the given keys.
    public init(localKeys: [LocalKey], kms: KMSClient? = nil) {
        self.localKeys = localKeys
        self.kms = kms
    }

    /// Loads key files (each checked for mode 0600); `paths` empty gives an empty keyring.
    public static func load(paths: [String], kms: KMSClient? = nil) throws(SvcConfError) -> Keyring {
        var keys: [LocalKey] = []
        for p in paths where !p.isEmpty { keys.append(try LocalKey(path: p)) }
        return Keyring(localKeys: keys, kms: kms)
    }

    /// Paths from `SVCCONF_KEY_FILE` (colon-separated).
    public static func pathsFromEnvironment() -> [String] {
        guard let v = getenv("SVCCONF_KEY_FILE") else { return [] }
        return String(cString: v).split(separator: ":").map(String.init)
    }

    /// The default key file: `$XDG_CONFIG_HOME/svcconf/default.key`, else `~/.config/svcconf/default.key`.
    public static func defaultKeyPath() -> String {
        if let x = getenv("XDG_CONFIG_HOME"), x.pointee != 0 { return String(cString: x) + "/svcconf/default.key" }
        return "~/.config/svcconf/default.key"
    }

    /// Identities for opening: the explicit keys, or else the policy's local keys that can be loaded.
    func identities(policy: StorePolicy?) -> (identities: [any Identity], refused: [SvcConfError]) {
        let (keys, refused) = openingKeys(policy: policy)
        var ids: [any Identity] = keys
        if let kms { ids.append(KMSRecipient(keyId: "", client: kms)) }
        return (ids, refused)
    }

    /// The local keys for opening: the explicit keys, or else the policy's local keys that can be
    /// loaded, plus why each key file that exists at a policy path was refused (too open, malformed),
    /// so a failure to open can say so instead of "no key".
    func openingKeys(policy: StorePolicy?) -> (keys: [LocalKey], refused: [SvcConfError]) {
        if !localKeys.isEmpty { return (localKeys, []) }
        guard let policy else { return ([], []) }
        var seen = Set<String>()
        var out: [LocalKey] = []
        var refused: [SvcConfError] = []
        for rule in policy.rules {
            for ref in rule.recipients where ref.uri.hasPrefix("local:") {
                guard let id = ref.keyId, !seen.contains(id) else { continue }
                seen.insert(id)
                let path = String(ref.uri.dropFirst(6))
                guard (try? LocalFS.info(LocalKey.expand(path))) ?? nil != nil else { continue }
                do {
                    let k = try LocalKey(path: path)
                    if k.keyId == id { out.append(k) }
                } catch {
                    refused.append(error)
                }
            }
        }
        return (out, refused)
    }

    /// The recipient that seals for `ref`: a local key with the ref's key id (given explicitly, or
    /// found at the ref's path).
    func recipient(for ref: StorePolicy.RecipientRef, address: ConfigAddress) throws(SvcConfError) -> any Recipient {
        if ref.uri.hasPrefix("local:") {
            if let k = localKeys.first(where: { $0.keyId == ref.keyId }) { return k }
            let path = String(ref.uri.dropFirst(6))
            // A key file that is there but refused (mode 0644, malformed) says why, with its hint.
            if (try? LocalFS.info(LocalKey.expand(path))) != nil {
                let k = try LocalKey(path: path)
                if k.keyId == ref.keyId { return k }
            }
            throw SvcConfError(.keyUnavailable,
                               "the store policy seals \(address) for local key \(ref.keyId ?? "?") (\(ref.uri)), which is not among the given keys",
                               hint: "pass that key with --key-file or SVCCONF_KEY_FILE")
        }
        if ref.uri.hasPrefix("kms:") {
            guard let kms else {
                throw SvcConfError(.keyUnavailable, "the store policy seals \(address) for \(ref.uri), and this process has no AWS KMS access",
                                   hint: "run svcconf-cli with AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, a task role) and a region")
            }
            return KMSRecipient(keyId: String(ref.uri.dropFirst(4)), client: kms)
        }
        throw SvcConfError(.usage, "unknown recipient \"\(ref.uri)\"", hint: "recipients are local:PATH or kms:KEY")
    }
}
