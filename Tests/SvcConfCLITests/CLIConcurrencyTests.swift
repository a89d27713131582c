import Foundation
import SvcConf
import Testing

final class ParallelResults<T>: @unchecked Sendable {
    let lock = NSLock()
    var items: [Int: T] = [:]
}

/// Runs `work(i)` for i in 0..<count, each on its own thread, all at once; returns the results in order.
func inParallel<T: Sendable>(_ count: Int, _ work: @escaping @Sendable (Int) -> T) -> [T] {
    let results = ParallelResults<T>()
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        Thread.detachNewThread {
            let r = work(i)
            results.lock.withLock { results.items[i] = r }
            group.leave()
        }
    }
    group.wait()
    return (0..<count).map { results.items[$0]! }
}

@Suite struct CLIConcurrencyTests {
    @Test func parallelWritersLoseNothing() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "BASE=0"])
        let processes = 8, writes = hardeningWrites(10)
        let codes = inParallel(processes) { p in
            (0..<writes).map { i -> RunResult in sb.run(["set", "svc-a", "--env", "staging", "K_\(p)_\(i)=v\(p).\(i)"]) }
        }
        for (p, runs) in codes.enumerated() {
            for (i, r) in runs.enumerated() {
                #expect(r.code == 0, "process \(p) write \(i) exited \(r.code): \(r.err)")
            }
        }
        let values = try #require(try parseJSON(sb.ok(["export", "svc-a", "--env", "staging", "--format", "json"])).objectValue)
        var expected: [String: ConfigValue] = ["BASE": "0"]
        for p in 0..<processes { for i in 0..<writes { expected["K_\(p)_\(i)"] = .string("v\(p).\(i)") } }
        #expect(values == expected)
        let history = try #require(try parseJSON(sb.ok(["history", "svc-a", "--env", "staging", "--format", "json"])).arrayValue)
        #expect(history.count == 1 + processes * writes)
        #expect(history.map { $0["version"] } == (1...(1 + processes * writes)).reversed().map { .int(Int64($0)) })
        #expect(history.allSatisfy { $0["chainIntact"] == true })
        #expect(sb.versionNumbers("svc-a", "staging") == Array(1...(1 + processes * writes)))
    }

    @Test func expectVersionRaceHasOneWinner() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "BASE=0"])
        sb.ok(["set", "svc-a", "--env", "staging", "BASE=1"])
        let results = inParallel(8) { p in
            sb.run(["set", "svc-a", "--env", "staging", "--expect-version", "2", "WINNER=canary-\(p)"])
        }
        #expect(results.filter { $0.code == 0 }.count == 1, "\(results.map(\.code))")
        for r in results where r.code != 0 { expectError(r, code: 4) }
        #expect(sb.versionNumbers("svc-a", "staging") == [1, 2, 3])
        let winner = try #require(results.firstIndex { $0.code == 0 })
        #expect(sb.ok(["get", "svc-a", "--env", "staging", "WINNER"]) == "canary-\(winner)\n")
    }

    @Test func parallelFirstVersionsOfNewConfig() throws {
        let sb = try Sandbox()
        sb.initStore()
        let results = inParallel(8) { p in sb.run(["set", "svc-a", "--env", "fresh", "K_\(p)=v"]) }
        #expect(results.allSatisfy { $0.code == 0 }, "\(results.map(\.err))")
        #expect(sb.versionNumbers("svc-a", "fresh") == Array(1...8))
        let values = try #require(try parseJSON(sb.ok(["export", "svc-a", "--env", "fresh", "--format", "json"])).objectValue)
        #expect(values.count == 8)
    }
}
