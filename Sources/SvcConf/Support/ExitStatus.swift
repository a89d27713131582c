/// The one place where failure classes become process exit statuses, shared by both executables
/// (`svcconf` and `svcconf-cli`). The README's exit-code table lists the same values.
public enum ExitStatus {
    /// Success (and, for `diff`, "no differences").
    public static let success: Int32 = 0
    /// `diff`: the two sides differ.
    public static let differences: Int32 = 1

    /// The exit status of a failure class.
    public static func code(for kind: SvcConfError.Kind) -> Int32 {
        switch kind {
        case .usage: return 2
        case .notFound: return 3
        case .conflict: return 4
        case .validationFailed: return 5
        case .keyUnavailable: return 6
        case .tampered: return 7
        case .accessDenied: return 8
        case .unavailable: return 9
        case .invalidInput: return 10
        case .aborted: return 11
        case .internal: return 70
        case .commandNotExecutable: return 126
        case .commandNotFound: return 127
        }
    }

    /// The stderr lines for an error: `svcconf: error: ...`, one indented `svcconf:   ...` line per
    /// detail (each schema error of a validation failure), and `svcconf: hint: ...` if any.
    public static func diagnostics(_ e: SvcConfError) -> String {
        "svcconf: error: \(e.message)\n" + e.details.map { "svcconf:   \($0)\n" }.joined()
            + (e.hint.map { "svcconf: hint: \($0)\n" } ?? "")
    }
}
