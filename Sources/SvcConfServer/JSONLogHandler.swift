#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import SvcConf

/// A swift-log handler that writes each event as one JSON object on one line to stderr:
/// `{"level":"info","label":"svcconf-server","message":"request","who":"ci-review",...}`.
/// Metadata values are strings (what the server logs: names, numbers, statuses; never a value or a token).
public struct JSONLogHandler: LogHandler {
    /// The logger's label.
    public let label: String
    /// Minimum level.
    public var logLevel: Logger.Level
    /// Metadata attached to every event of this logger.
    public var metadata: Logger.Metadata = [:]
    /// Where a line goes (default: stderr).
    let sink: @Sendable (String) -> Void

    /// A handler writing to stderr.
    public init(label: String, level: Logger.Level = .info) {
        self.init(label: label, level: level) { line in
            var bytes = Array(line.utf8)
            bytes.append(0x0A)
            _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        }
    }

    /// A handler passing each line to `sink` (tests collect them).
    public init(label: String, level: Logger.Level = .info, sink: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    /// Metadata by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line.
    public func log(event: LogEvent) {
        var o: [String: ConfigValue] = [:]
        for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { o[k] = Self.value(v) }
        o["level"] = .string(event.level.rawValue)
        o["label"] = .string(label)
        o["message"] = .string(event.message.description)
        sink(JSON.canonicalString(.object(o)))
    }

    static func value(_ v: Logger.Metadata.Value) -> ConfigValue {
        switch v {
        case .string(let s): return .string(s)
        case .stringConvertible(let c): return .string(c.description)
        case .array(let a): return .array(a.map(value))
        case .dictionary(let d): return .object(d.mapValues(value))
        }
    }
}
