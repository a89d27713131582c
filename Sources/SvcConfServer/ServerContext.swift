import Hummingbird
import Synchronization

/// The request context: Hummingbird's core storage plus the facts a route learns (who, which
/// config, which version) for the one log line the pipeline writes when the request is done.
public struct ServerContext: RequestContext {
    /// Hummingbird's storage.
    public var coreContext: CoreRequestContextStorage
    /// Filled in by the route, read by ``RequestPipeline``.
    public let facts: RequestFacts

    /// A context for one request.
    public init(source: Source) {
        coreContext = .init(source: source)
        facts = RequestFacts()
    }
}

/// What a request was about, for its log line: set by the route while it runs.
public final class RequestFacts: Sendable {
    /// The fields.
    public struct Fields: Sendable {
        /// Token name (`-` before authentication).
        public var who: String?
        /// Service, env and variant the request addressed (valid names only).
        public var service: String?
        public var env: String?
        public var variant: String?
        /// The version read or written.
        public var version: Int64?
        /// Number of sealed versions opened.
        public var opened = 0
        /// The error kind of a failure the route rendered itself (the review pages' HTML errors).
        public var errorKind: String?
    }

    private let state = Mutex(Fields())

    /// Empty facts.
    public init() {}

    /// Changes the facts.
    public func update(_ body: (inout Fields) -> Void) { state.withLock { body(&$0) } }

    /// The facts now.
    public var fields: Fields { state.withLock { $0 } }
}
