/// The one error type of the core. Every failure carries a class (``Kind``) that adapters map to an
/// exit code or HTTP status, a one-line lower-case message and an optional hint.
///
/// Messages say what failed and where (service, env, version, file, line, key name) and never contain
/// key material or secret values.
public struct SvcConfError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The failure classes. Each maps to one distinct exit code (CLI) and HTTP status (server).
    public enum Kind: String, Sendable, CaseIterable {
        /// Bad flags, arguments or names (`../x`, `A`, 64+ characters).
        case usage
        /// A service, env, version, key or file that does not exist.
        case notFound
        /// A write based on a version that is no longer the latest, or creating something that exists.
        case conflict
        /// The config does not satisfy its schema.
        case validationFailed
        /// No usable key: no key file matches a recipient, a key file is missing, malformed, or too open.
        case keyUnavailable
        /// The sealed data is corrupt, tampered with, re-labelled or in an unknown format.
        case tampered
        /// The operating system or the store refused access.
        case accessDenied
        /// The store cannot be reached or read (I/O error, not a directory, network).
        case unavailable
        /// Malformed input: YAML, JSON or dotenv that does not parse, or an invalid config value.
        case invalidInput
        /// The user or their editor stopped an interactive change (`edit`): nothing was written.
        case aborted
        /// `exec`: the command to run does not exist.
        case commandNotFound
        /// `exec`: the command exists but cannot be executed.
        case commandNotExecutable
        /// A bug or an impossible state.
        case `internal`
    }

    /// The failure class.
    public let kind: Kind
    /// One line, lower-case, no secret values.
    public let message: String
    /// What the user can do about it, if there is something.
    public let hint: String?
    /// Items the message summarizes, one line each (every schema error of a validation failure).
    public let details: [String]

    /// Creates an error.
    public init(_ kind: Kind, _ message: String, hint: String? = nil, details: [String] = []) {
        self.kind = kind
        self.message = message
        self.hint = hint
        self.details = details
    }

    /// The message.
    public var description: String { message }

    /// A `.usage` error.
    public static func usage(_ m: String, hint: String? = nil) -> SvcConfError { .init(.usage, m, hint: hint) }
    /// A `.notFound` error.
    public static func notFound(_ m: String, hint: String? = nil) -> SvcConfError { .init(.notFound, m, hint: hint) }
    /// An `.invalidInput` error.
    public static func invalidInput(_ m: String, hint: String? = nil) -> SvcConfError { .init(.invalidInput, m, hint: hint) }
    /// A `.tampered` error.
    public static func tampered(_ m: String, hint: String? = nil) -> SvcConfError { .init(.tampered, m, hint: hint) }
}
