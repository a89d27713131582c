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
    /// Receives each line (UTF-8, without the newline).
    let sink: @Sendable ([UInt8]) -> Void

    /// A handler writing to stderr, one `write(2)` per line.
    public init(label: String, level: Logger.Level = .info) {
        self.label = label
        self.logLevel = level
        self.sink = { line in
            var bytes = line
            bytes.append(0x0A)
            _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        }
    }

    /// A handler passing each line to `sink` (tests collect them).
    public init(label: String, level: Logger.Level = .info, sink: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.logLevel = level
        self.sink = { sink(String(decoding: $0, as: UTF8.self)) }
    }

    /// Metadata by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line: the metadata (this handler's, then the event's) with `level`, `label` and
    /// `message`, keys sorted, as canonical JSON would order them. Written straight into one buffer:
    /// the server writes a line per request.
    public func log(event: LogEvent) {
        // Parallel arrays and a sort of indices: no tuple metadata, no copies of values while sorting.
        var keys: [String] = []
        var values: [Logger.Metadata.Value] = []
        let capacity = metadata.count + (event.metadata?.count ?? 0) + 3
        keys.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
        func add(_ k: String, _ v: Logger.Metadata.Value) {
            guard k != "level" && k != "label" && k != "message" else { return }
            keys.append(k)
            values.append(v)
        }
        if metadata.isEmpty {
            if let extra = event.metadata { for (k, v) in extra { add(k, v) } }
        } else {
            for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { add(k, v) }
        }
        keys.append("level"); values.append(.string(event.level.rawValue))
        keys.append("label"); values.append(.string(label))
        keys.append("message"); values.append(.string(event.message.description))
        var order = Array(keys.indices)
        // String order: byte order for the ASCII keys the server logs (and a fast path for them).
        order.sort { keys[$0] < keys[$1] }
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(UInt8(ascii: "{"))
        for (n, i) in order.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            JSON.writeString(keys[i], into: &out)
            out.append(UInt8(ascii: ":"))
            switch values[i] {
            case .string(let s): JSON.writeString(s, into: &out)
            case .stringConvertible(let c): JSON.writeString(c.description, into: &out)
            case let other: out.append(contentsOf: JSON.canonical(Self.value(other)))
            }
        }
        out.append(UInt8(ascii: "}"))
        sink(out)
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
