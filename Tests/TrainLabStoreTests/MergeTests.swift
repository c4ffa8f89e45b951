import Foundation
import XCTest
@testable import TrainLabStore

/// `ResultsStore.merge(from:)`: new ids, every run-keyed table (blobs exact), idempotence by uid,
/// unfinished runs refreshed, the latest result superseding, and all-or-nothing.
final class MergeTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("MergeTests-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func store(_ name: String) throws -> ResultsStore {
        try ResultsStore(path: folder.appendingPathComponent(name).path)
    }

    /// One finished run of config `hash` with a loss curve and a blob in a table added later
    /// (as the saved training state of a resumable run is).
    @discardableResult
    private func addRun(_ store: ResultsStore, hash: String, loss: Double, status: RunStatus = .completed) throws -> Int64 {
        let id = try store.beginRun(experiment: "e", config: "{\"h\": \"\(hash)\"}", configHash: hash, seed: 0,
                                    params: ["optimizer.lr": .real(loss)], tags: ["t"])
        for step in 1...3 { try store.appendMetric(runID: id, step: step, name: "train_loss", value: loss / Double(step)) }
        try store.database.run("INSERT INTO saved_state(run_id, state) VALUES (?, CAST(? AS BLOB) || x'00ff')",
                               [.integer(id), .text(hash)])
        if status != .running { try store.finishRun(id: id, status: status) }
        return id
    }

    private func withStateTable(_ store: ResultsStore) throws -> ResultsStore {
        try store.database.execute("CREATE TABLE IF NOT EXISTS saved_state (run_id INTEGER NOT NULL, state BLOB)")
        return store
    }

    private func count(_ store: ResultsStore, _ sql: String) throws -> Int {
        try store.database.rows(sql) { $0.int(at: 0) }.first ?? 0
    }

    func testMergeCopiesEveryRunKeyedTableUnderNewIdsAndTwiceAddsNothing() throws {
        let shardA = try withStateTable(store("a.sqlite")), shardB = try withStateTable(store("b.sqlite"))
        try addRun(shardA, hash: "x", loss: 1)
        try addRun(shardB, hash: "y", loss: 2)
        try addRun(shardB, hash: "z", loss: 3)
        let out = try withStateTable(store("out.sqlite"))
        try addRun(out, hash: "earlier", loss: 4)  // a non-empty database

        let first = try out.merge(from: [shardA, shardB])
        XCTAssertEqual(first.map(\.added), [1, 2])
        XCTAssertEqual(try out.runs().map(\.id), [1, 2, 3, 4])
        XCTAssertEqual(try out.runs().map(\.configHash), ["earlier", "x", "y", "z"])
        XCTAssertEqual(try out.metrics(runID: 3, name: "train_loss").map(\.value), [2, 1, 2.0 / 3])
        XCTAssertEqual(try out.params(runID: 4), ["optimizer.lr": "3.0"])
        XCTAssertEqual(try out.summaries(runID: 2)["train_loss"]?.finalValue, 1.0 / 3)
        XCTAssertEqual(try out.runs().map(\.tags), Array(repeating: ["t"], count: 4))
        XCTAssertEqual(try out.database.rows("SELECT hex(state) FROM saved_state WHERE run_id = 4") { $0.string(at: 0) }, ["7A00FF"])
        XCTAssertEqual(try count(out, "SELECT count(DISTINCT uid) FROM runs"), 4)

        let rowsBefore = try count(out, "SELECT count(*) FROM metrics")
        let second = try out.merge(from: [shardA, shardB])
        XCTAssertEqual(second.map(\.added), [0, 0])
        XCTAssertEqual(second.map(\.unchanged), [1, 2])
        XCTAssertEqual(try out.runs().count, 4)
        XCTAssertEqual(try count(out, "SELECT count(*) FROM metrics"), rowsBefore)
    }

    /// A shard written by an older program (schema 3, before run uids) that this reader may not
    /// upgrade: each open reads an upgraded copy in memory, and its runs must get the same
    /// identities every time, so merging it twice adds nothing. An in-place upgrade gives the
    /// same uids too (derived from the rows, not random).
    func testAnOlderReadOnlyShardKeepsItsRunIdentities() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let old = folder.appendingPathComponent("v3.sqlite").path
        let database = try Database(path: old)
        for step in Schema.steps.prefix(3) {
            switch step {
            case .sql(let sql): try database.execute(sql)
            case .code(let body): try body(database)
            }
        }
        try database.setUserVersion(3)
        try database.execute("""
            INSERT INTO runs(id, experiment, status, config, config_hash, seed, started_at, finished_at, pid, host) VALUES
                (1, 'e', 'completed', '{}', 'h1', 0, '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', 7, 'node1'),
                (2, 'e', 'completed', '{}', 'h2', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', 7, 'node1');
            INSERT INTO metrics VALUES (1, 1, 'train_loss', 0.5), (2, 1, 'train_loss', 0.25);
            PRAGMA wal_checkpoint(TRUNCATE);
            """)
        func uids(_ store: ResultsStore) throws -> [String] {
            try store.database.rows("SELECT uid FROM runs ORDER BY id") { $0.string(at: 0) }
        }
        let first = try ResultsStore(path: old, readOnly: true, upgradeInPlace: false)
        let second = try ResultsStore(path: old, readOnly: true, upgradeInPlace: false)
        XCTAssertEqual(try uids(first), try uids(second))
        XCTAssertEqual(Set(try uids(first)).count, 2)
        XCTAssertEqual(try Database(path: old).userVersion(), 3, "the file itself was not touched")

        let out = try store("out.sqlite")
        XCTAssertEqual(try out.merge(from: [first]).map(\.added), [2])
        XCTAssertEqual(try out.merge(from: [second]).map(\.added), [0], "the same runs, not new ones")
        XCTAssertEqual(try out.runs().count, 2)

        let upgraded = try ResultsStore(path: old)
        XCTAssertEqual(try uids(upgraded), try uids(first), "an in-place upgrade derives the same identities")
        XCTAssertEqual(try out.merge(from: [upgraded]).map(\.added), [0])
    }

    func testAnUnfinishedRunIsRefreshedAndTheLatestResultSupersedesOtherAttempts() throws {
        let shard = try withStateTable(store("shard.sqlite"))
        let running = try addRun(shard, hash: "x", loss: 1, status: .running)
        let out = try withStateTable(store("out.sqlite"))
        XCTAssertEqual(try out.merge(from: [shard]).map(\.added), [1])
        XCTAssertEqual(try out.runs().map(\.status), [.running])

        // The shard trains on, and another database holds a second, later attempt at the config.
        try shard.appendMetric(runID: running, step: 4, name: "train_loss", value: 0.1)
        try shard.finishRun(id: running, status: .completed)
        let rerun = try withStateTable(store("rerun.sqlite"))
        let later = try addRun(rerun, hash: "x", loss: 5)
        try rerun.database.run("UPDATE runs SET finished_at = '2100-01-01T00:00:00.000Z' WHERE id = ?", [.integer(later)])

        let outcomes = try out.merge(from: [shard, rerun])
        XCTAssertEqual(outcomes.map(\.updated), [1, 0])
        XCTAssertEqual(outcomes.map(\.added), [0, 1])
        let runs = try out.runs()
        XCTAssertEqual(runs.map(\.status), [.completed, .completed])
        XCTAssertEqual(try out.metrics(runID: 1, name: "train_loss").count, 4)
        XCTAssertEqual(try count(out, "SELECT count(*) FROM saved_state WHERE run_id = 1"), 1)
        XCTAssertEqual(runs.map(\.supersededBy), [2, nil], "the later result counts")
        XCTAssertEqual(try out.statusByConfigHash(), ["x": .completed])
    }

    func testAFailingMergeLeavesTheDatabaseAsItWas() throws {
        let good = try store("good.sqlite"), bad = try store("bad.sqlite")
        for source in [good, bad] { try source.database.execute("CREATE TABLE saved_state (run_id INTEGER NOT NULL, state BLOB)") }
        try addRun(good, hash: "x", loss: 1)
        try addRun(bad, hash: "y", loss: 2)
        let out = try store("out.sqlite")
        // Here the table refuses what `bad` holds: the merge fails after copying `good`.
        try out.database.execute("CREATE TABLE saved_state (run_id INTEGER NOT NULL, state BLOB CHECK (hex(state) != '7900FF'))")
        try addRun(out, hash: "earlier", loss: 3)

        XCTAssertThrowsError(try out.merge(from: [good, bad]))
        XCTAssertEqual(try out.runs().map(\.configHash), ["earlier"])
        XCTAssertEqual(try count(out, "SELECT count(*) FROM metrics"), 3)
        XCTAssertEqual(try count(out, "SELECT count(*) FROM experiments"), 1)
    }
}
