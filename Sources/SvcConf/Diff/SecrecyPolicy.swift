/// Decides which values and files are secret. The schema supplies one (`writeOnly` / `x-secret`);
/// with no schema every value and file is secret.
public protocol SecrecyPolicy: Sendable {
    /// True when the value at `path` (top-level key first, array indices as decimal strings) is
    /// secret. A secret value's whole subtree is shown only as one fingerprint.
    func isSecret(valuePath path: [String]) -> Bool
    /// True when the named file is secret.
    func isSecret(file name: String) -> Bool
}

/// The policy without a schema: everything is secret.
public struct AllSecret: SecrecyPolicy {
    /// Creates the policy.
    public init() {}
    /// Always true.
    public func isSecret(valuePath path: [String]) -> Bool { true }
    /// Always true.
    public func isSecret(file name: String) -> Bool { true }
}
