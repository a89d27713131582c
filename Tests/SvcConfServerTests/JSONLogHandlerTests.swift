import Logging
import SvcConf
import SvcConfServer
import Synchronization
import Testing

/// The request log's line format: one JSON object per line, keys sorted, strings escaped.
@Suite("Server: JSON log handler")
struct JSONLogHandlerTests {
    final class Lines: Sendable {
        let all = Mutex<[String]>([])
    }

    @Test("one object per event: handler metadata, then the event's (which wins), then level/label/message; keys sorted; escapes")
    func lineFormat() throws {
        let lines = Lines()
        var handler = JSONLogHandler(label: "svcconf-server", level: .info) { line in lines.all.withLock { $0.append(line) } }
        handler[metadataKey: "replica"] = "a"
        handler[metadataKey: "route"] = "overridden"
        let logger = Logger(label: "svcconf-server") { _ in handler }
        logger.info("request", metadata: ["route": "/v1/services", "who": "ci \"quoted\"\nnext", "status": .stringConvertible(200),
                                          "level": "spoofed"])
        logger.debug("not written")
        let written = lines.all.withLock { $0 }
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(!line.contains("\n"))
        let doc = try JSON.parse(Array(line.utf8))
        #expect(doc["replica"]?.stringValue == "a")
        #expect(doc["route"]?.stringValue == "/v1/services")
        #expect(doc["who"]?.stringValue == "ci \"quoted\"\nnext")
        #expect(doc["status"]?.stringValue == "200")
        #expect(doc["level"]?.stringValue == "info", "an event cannot forge the level")
        #expect(doc["label"]?.stringValue == "svcconf-server")
        #expect(doc["message"]?.stringValue == "request")
        // The canonical JSON writer sorts keys; the handler writes the same bytes.
        #expect(line == JSON.canonicalString(doc))
    }
}
