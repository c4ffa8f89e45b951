import Foundation
import XCTest
@testable import TrainLabStore

final class ResultsStoreTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("TrainLabStoreTests-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// A path inside a folder that does not exist yet, so `init(path:)` must create it.
    private var dbPath: String { folder.appendingPathComponent("nested/results.sqlite").path }

    /// Schema 5 -> 6: a diverged run written by an older program had step 0's validation as its
    /// final value; the upgrade clears finals logged before the divergence step, and keeps the
    /// loss at divergence and every completed run's finals.
    func testUpgradeClearsStaleFinalsOfDivergedRuns() throws {
        let store = try ResultsStore(path: dbPath)
        let diverged = try store.beginRun(experiment: "e", config: "{}")
        let completed = try store.beginRun(experiment: "e", config: "{\"x\": 1}")
        for id in [diverged, completed] {
            try store.appendMetric(runID: id, step: 0, name: "val_loss", value: 1.13)
            try store.appendMetric(runID: id, step: 2, name: "train_loss", value: 1.8e12)
        }
        try store.finishRun(id: diverged, status: .diverged, divergedStep: 2)
        try store.finishRun(id: completed, status: .completed)
        XCTAssertNil(try store.summaries(runID: diverged)["val_loss"]?.finalValue, "written as NULL today")
        let db = try Database(path: dbPath)
        try db.run("UPDATE summaries SET final_value = 1.13 WHERE name = 'val_loss'")
        try db.execute("ALTER TABLE runs DROP COLUMN seconds")  // as schema 5 had it
        try db.setUserVersion(5)
        let upgraded = try ResultsStore(path: dbPath)
        XCTAssertNil(try upgraded.summaries(runID: diverged)["val_loss"]?.finalValue)
        XCTAssertEqual(try upgraded.summaries(runID: diverged)["train_loss"]?.finalValue, 1.8e12)
        XCTAssertEqual(try upgraded.summaries(runID: completed)["val_loss"]?.finalValue, 1.13)
    }

    // A fresh file gets every table, WAL mode and the current user_version; reopening keeps it,
    // and a file from a newer program is refused rather than misread.
    func testSchemaCreationAndUserVersion() throws {
        _ = try ResultsStore(path: dbPath)
        _ = try ResultsStore(path: dbPath)  // second open: migration is a no-op
        let db = try Database(path: dbPath)
        XCTAssertEqual(try db.userVersion(), Schema.currentVersion)
        XCTAssertEqual(ResultsStore.schemaVersion, Schema.currentVersion)
        let tables = try db.rows("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") {
            $0.string(at: 0)
        }
        XCTAssertEqual(tables, ["experiments", "metrics", "params", "run_state", "runs", "summaries", "tags"])
        let indexes = try db.rows("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'metrics'") {
            $0.string(at: 0)
        }
        XCTAssertEqual(indexes, ["metrics_by_run_name_step"])
        XCTAssertEqual(try db.rows("PRAGMA journal_mode") { $0.string(at: 0) }, ["wal"])
        XCTAssertEqual(try db.rows("PRAGMA foreign_keys") { $0.int(at: 0) }, [1])

        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("nested").path)
            .filter { $0.contains("creating") }, [], "the temporary file the schema was built in is gone")

        try db.setUserVersion(Schema.currentVersion + 1)
        XCTAssertThrowsError(try ResultsStore(path: dbPath)) { error in
            XCTAssertTrue("\(error)".contains("schema version \(Schema.currentVersion + 1)"), "\(error)")
        }
        try db.setUserVersion(-5)
        XCTAssertThrowsError(try ResultsStore(path: dbPath, readOnly: true)) { error in
            XCTAssertTrue("\(error)".contains("unknown schema version -5"), "\(error)")
        }
    }

    // A reader that opens a file before any schema is in it (an empty file) sees no runs, not
    // "no such table"; a foreign SQLite file is named as such.
    func testEmptyFileReadsAsEmptyAndForeignFileIsRefused() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let empty = folder.appendingPathComponent("empty.sqlite").path
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let reader = try ResultsStore(path: empty, readOnly: true)
        XCTAssertEqual(try reader.runs(), [])
        XCTAssertEqual(try reader.experimentNames(), [])

        let foreign = folder.appendingPathComponent("foreign.sqlite").path
        try Database(path: foreign).execute("CREATE TABLE t(x)")
        for readOnly in [true, false] {
            XCTAssertThrowsError(try ResultsStore(path: foreign, readOnly: readOnly)) { error in
                XCTAssertTrue("\(error)".contains("not a TrainLab database"), "\(error)")
            }
        }
    }

    // A version-1 file (params as text, no superseded_by) is upgraded: numbers become SQLite
    // numbers, booleans 1/0, strings stay text; and a read-only reader of such a file in a
    // folder it cannot write gets the same rows from an upgraded copy.
    func testVersionOneFileIsMigrated() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("v1.sqlite").path
        let old = try Database(path: path)
        guard case .sql(let v1) = Schema.steps[0] else { return XCTFail("step 0 is SQL") }
        try old.execute(v1)
        try old.setUserVersion(1)
        try old.execute("""
            INSERT INTO runs(id, experiment, status, config, config_hash) VALUES
                (1, 'e', 'completed', '{}', 'h'), (2, 'e', 'completed', '{}', 'h'), (3, 'e', 'failed', '{}', 'h');
            INSERT INTO params VALUES (1, 'optimizer.lr', '0.001'), (1, 'model.hidden', '[64,64]'),
                (1, 'model.bias', 'true'), (1, 'optimizer.kind', 'adam'), (1, 'seed', '3'), (1, 'name', '1e-3x');
            """)
        try old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        let reader = try ResultsStore(path: path, readOnly: true)
        let types = try reader.query("SELECT key, typeof(value), value FROM params ORDER BY key").rows
        XCTAssertEqual(types, [
            [.text("model.bias"), .text("integer"), .integer(1)],
            [.text("model.hidden"), .text("text"), .text("[64,64]")],
            [.text("name"), .text("text"), .text("1e-3x")],
            [.text("optimizer.kind"), .text("text"), .text("adam")],
            [.text("optimizer.lr"), .text("real"), .real(0.001)],
            [.text("seed"), .text("integer"), .integer(3)],
        ])
        XCTAssertEqual(try reader.runs().map(\.supersededBy), [2, nil, nil], "the later completed attempt supersedes the first")
        XCTAssertEqual(try Database(path: path).userVersion(), Schema.currentVersion, "upgraded in place")
    }

    // A later finished attempt at the same config supersedes the earlier ones; statistics (run
    // overviews, compare) count only the latest, and the older rows stay.
    func testLaterAttemptSupersedesEarlierOnes() throws {
        let store = try ResultsStore(path: dbPath)
        var ids: [Int64] = []
        for (hash, status) in [("a", RunStatus.completed), ("a", .failed), ("b", .completed), ("a", .completed)] {
            let id = try store.beginRun(experiment: "e", config: "{}", configHash: hash, seed: 0, params: ["seed": 0])
            try store.appendMetric(runID: id, step: 1, name: "train_loss", value: 1)
            try store.finishRun(id: id, status: status)
            ids.append(id)
        }
        XCTAssertEqual(try store.runs().map(\.supersededBy), [ids[3], ids[3], nil, nil])
        XCTAssertEqual(try store.runOverviews(experiment: "e").map(\.run.id), [ids[2], ids[3]])
        XCTAssertEqual(try store.runOverviews(experiment: "e", includeSuperseded: true).count, 4)
        XCTAssertEqual(try store.compare(experiment: "e", by: ["seed"]).groups.map(\.values.count), [2])
    }

    // Rows are written once a second even when few are logged, so a killed run keeps them.
    func testMetricsAreFlushedAfterTheInterval() throws {
        let store = try ResultsStore(path: dbPath, flushEvery: 1_000_000, flushInterval: 0)
        let id = try store.beginRun(experiment: "e", config: "{}")
        try store.appendMetric(runID: id, step: 1, name: "train_loss", value: 2)
        let reader = try ResultsStore(path: dbPath, readOnly: true)
        XCTAssertEqual(try reader.metrics(runID: id, name: "train_loss").map(\.value), [2])
    }

    // 10k rows cross the 2048-row flush boundary four times; summaries must pick the exact final
    // value and the best value (min for *loss*, max otherwise, earliest step on ties).
    func testRunLifecycleRoundTrip() throws {
        let store = try ResultsStore(path: dbPath)
        let params: [String: SQLiteValue] = ["optimizer.lr": 0.001, "model.layers": 2]
        let id = try store.beginRun(experiment: "mlp", config: #"{"seed":7}"#, configHash: "abc",
                                    seed: 7, params: params, programVersion: "0.1.0")
        let sink = store.metricsSink(runID: id)
        func loss(_ k: Int) -> Double { Double(abs(k - 3000)) / 1000 + 0.5 }  // min 0.5 at 3000
        func accuracy(_ k: Int) -> Double { Double(k % 97) / 100 }  // max 0.96 first at 96
        for k in 1...5000 {
            sink.log(step: k, name: "train_loss", value: loss(k))
            sink.log(step: k, name: "val_accuracy", value: accuracy(k))
        }
        try store.finishRun(id: id, status: .completed)

        let series = try store.metrics(runID: id, name: "train_loss")
        XCTAssertEqual(series.count, 5000)
        XCTAssertEqual(series.first?.step, 1)
        XCTAssertEqual(series.first?.value, 3.499)
        XCTAssertEqual(series.last?.step, 5000)

        let summaries = try store.summaries(runID: id)
        XCTAssertEqual(summaries["train_loss"],
                       MetricSummary(name: "train_loss", finalValue: 2.5, bestValue: 0.5, bestStep: 3000))
        XCTAssertEqual(summaries["val_accuracy"],
                       MetricSummary(name: "val_accuracy", finalValue: 0.53, bestValue: 0.96, bestStep: 96))

        let run = try XCTUnwrap(store.runs(experiment: "mlp").first)
        XCTAssertEqual(run.id, id)
        XCTAssertEqual(run.status, .completed)
        XCTAssertEqual(run.config, #"{"seed":7}"#)
        XCTAssertEqual(run.seed, 7)
        XCTAssertEqual(run.pid, Int(getpid()))
        XCTAssertEqual(run.programVersion, "0.1.0")
        XCTAssertNil(run.error)
        XCTAssertNotNil(run.startedAt.flatMap { $0.range(of: Self.isoPattern, options: .regularExpression) })
        XCTAssertNotNil(run.finishedAt.flatMap { $0.range(of: Self.isoPattern, options: .regularExpression) })
        XCTAssertEqual(try store.params(runID: id), ["optimizer.lr": "0.001", "model.layers": "2"])
        XCTAssertEqual(try store.query("SELECT typeof(value) FROM params ORDER BY key").rows, [[.text("integer")], [.text("real")]],
                       "numbers are stored as SQLite numbers")
        XCTAssertEqual(try store.runs(experiment: "other"), [])
    }

    static let isoPattern = #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#

    // The contract's example timestamp, from its exact epoch time.
    func testTimestampIsISO8601UTCWithMilliseconds() {
        XCTAssertEqual(Timestamp.iso8601(Date(timeIntervalSince1970: 1_795_764_600.123)),
                       "2026-11-27T07:30:00.123Z")
        XCTAssertEqual(Timestamp.iso8601(Date(timeIntervalSince1970: 0)), "1970-01-01T00:00:00.000Z")
    }

    // Two stores (two connections, as two processes would have) writing at once: BEGIN
    // IMMEDIATE plus the busy timeout must serialize them with no SQLITE_BUSY and no lost rows.
    // Both open the missing file at once, so WAL setup and migration race too.
    func testTwoStoresWriteConcurrentlyWithoutBusyErrors() throws {
        let path = dbPath
        let errors = Locked<[String]>([])
        let runsPerWriter = 5, metricsPerRun = 2000
        DispatchQueue.concurrentPerform(iterations: 2) { writer in
            do {
                let store = try ResultsStore(path: path, flushEvery: 100)
                for r in 0..<runsPerWriter {
                    let id = try store.beginRun(experiment: "writer\(writer)", config: "{}",
                                                params: ["run": .integer(Int64(r))])
                    for k in 1...metricsPerRun {
                        try store.appendMetric(runID: id, step: k, name: "train_loss", value: Double(k))
                    }
                    try store.finishRun(id: id, status: .completed)
                }
            } catch {
                errors.mutate { $0.append("\(error)") }
            }
        }
        XCTAssertEqual(errors.value, [])
        let db = try Database(path: path)
        XCTAssertEqual(try db.rows("SELECT count(*) FROM metrics") { $0.int(at: 0) }, [2 * runsPerWriter * metricsPerRun])
        XCTAssertEqual(try db.rows("SELECT count(*) FROM runs WHERE status = 'completed'") { $0.int(at: 0) },
                       [2 * runsPerWriter])
        XCTAssertEqual(try db.rows("SELECT count(*) FROM experiments") { $0.int(at: 0) }, [2])
    }

    // A run whose process died (here /bin/true, already reaped, standing in for a SIGKILLed
    // trainer) leaves a readable file; markInterruptedRuns marks only that run, keeps its committed
    // metrics and summarizes them. Runs of live processes or other hosts are left alone.
    func testDeadProcessRunIsMarkedInterrupted() throws {
        let store = try ResultsStore(path: dbPath)
        let dead = try store.beginRun(experiment: "e", config: "{}")
        for k in 1...3 { try store.appendMetric(runID: dead, step: k, name: "train_loss", value: Double(4 - k)) }
        try store.flush()
        let alive = try store.beginRun(experiment: "e", config: "{}")
        let remote = try store.beginRun(experiment: "e", config: "{}")

        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let deadPID = Int64(child.processIdentifier)
        XCTAssertFalse(ResultsStore.isProcessAlive(Int(deadPID)))

        let db = try Database(path: dbPath)
        try db.run("UPDATE runs SET pid = ? WHERE id = ?", [.integer(deadPID), .integer(dead)])
        try db.run("UPDATE runs SET pid = ?, host = 'elsewhere' WHERE id = ?",
                   [.integer(deadPID), .integer(remote)])

        XCTAssertEqual(try store.markInterruptedRuns(), [dead])
        XCTAssertEqual(try store.markInterruptedRuns(), [])  // idempotent
        let status = Dictionary(uniqueKeysWithValues: try store.runs().map { ($0.id, $0.status) })
        XCTAssertEqual(status, [dead: .interrupted, alive: .running, remote: .running])
        let run = try XCTUnwrap(store.runs().first { $0.id == dead })
        XCTAssertEqual(run.error, "process \(deadPID) on \(ResultsStore.hostName) ended without finishing the run")
        XCTAssertEqual(try store.metrics(runID: dead, name: "train_loss").map(\.value), [3, 2, 1])
        XCTAssertEqual(try store.summaries(runID: dead)["train_loss"]?.bestStep, 3)
        XCTAssertEqual(try db.rows("PRAGMA integrity_check") { $0.string(at: 0) }, ["ok"])
    }

    // A saved state is committed with the metric rows before it; claiming the interrupted config
    // again resumes the same run with its state, its rows past the state's step gone; finishing
    // it drops the state.
    func testInterruptedRunIsResumedFromItsSavedState() throws {
        let store = try ResultsStore(path: dbPath, flushEvery: 1000, flushInterval: 1000)
        guard case .started(let id) = try store.claimRun(experiment: "e", config: "{}", configHash: "h") else {
            return XCTFail("not started")
        }
        for step in 1...3 { try store.appendMetric(runID: id, step: step, name: "train_loss", value: Double(step)) }
        try store.saveState(runID: id, step: 3, state: [1, 2, 3])
        for step in 4...5 { try store.appendMetric(runID: id, step: step, name: "train_loss", value: Double(step)) }
        try store.flush()
        try store.finishRun(id: id, status: .interrupted)
        XCTAssertEqual(try store.savedStateStep(runID: id), 3)

        XCTAssertEqual(try store.claimRun(experiment: "e", config: "{}", configHash: "h"), .resumed(id, step: 3, state: [1, 2, 3]))
        let run = try XCTUnwrap(store.runs().first)
        XCTAssertEqual([run.status], [.running])
        XCTAssertEqual(run.pid, Int(getpid()))
        XCTAssertNil(run.finishedAt)
        XCTAssertEqual(try store.metrics(runID: id, name: "train_loss").map(\.step), [1, 2, 3])
        XCTAssertEqual(try store.claimRun(experiment: "e", config: "{}", configHash: "h"), .running(id))
        try store.finishRun(id: id, status: .completed)
        XCTAssertNil(try store.savedStateStep(runID: id))
        XCTAssertEqual(try store.runs().count, 1)
    }

    // The future `query` command opens read-only: writes are refused at prepare time with a
    // message naming the cause and the SQL, while SELECTs still work.
    func testReadOnlyModeRejectsInsert() throws {
        _ = try ResultsStore(path: dbPath)
        let db = try Database(path: dbPath, mode: .readOnly)
        let sql = "INSERT INTO experiments(name) VALUES ('x')"
        XCTAssertThrowsError(try db.prepare(sql)) { error in
            let e = error as? SQLiteError
            XCTAssertEqual(e?.code, 8)  // SQLITE_READONLY
            XCTAssertEqual(e?.sql, sql)
            XCTAssertEqual("\(error)", "SQLite error 8 (attempt to write a readonly database): read-only "
                           + "connection: only statements that do not write are allowed in SQL: \(sql)")
        }
        XCTAssertThrowsError(try db.execute("SELECT 1; DELETE FROM runs"))
        XCTAssertEqual(try db.rows("SELECT count(*) FROM experiments") { $0.int(at: 0) }, [0])

        let reader = try ResultsStore(path: dbPath, readOnly: true)
        XCTAssertThrowsError(try reader.beginRun(experiment: "e", config: "{}"))
        XCTAssertEqual(try reader.runs(), [])
    }

    // A claim skips a config that completed (same hash and program version, NULL included; a
    // failed attempt does not count) or that a live process is training; --force reruns a
    // completed one but never races a live one.
    func testClaimSkipsCompletedAndLiveConfigs() throws {
        let store = try ResultsStore(path: dbPath)
        func claim(_ hash: String, _ version: String?, force: Bool = false) throws -> ResultsStore.Claim {
            try store.claimRun(experiment: "e", config: "{}", configHash: hash, programVersion: version, rerunCompleted: force)
        }
        guard case .started(let failed) = try claim("h", "1") else { return XCTFail("a new config starts") }
        XCTAssertEqual(try claim("h", "1"), .running(failed), "this (live) process holds it")
        try store.finishRun(id: failed, status: .failed, error: "boom")
        guard case .started(let done) = try claim("h", "1") else { return XCTFail("a failed attempt does not count") }
        try store.finishRun(id: done, status: .completed)
        guard case .started(let unversioned) = try claim("h", nil) else { return XCTFail("another version") }
        try store.finishRun(id: unversioned, status: .completed)
        XCTAssertEqual(try claim("h", "1"), .completed(done))
        XCTAssertEqual(try claim("h", nil), .completed(unversioned))
        guard case .started(let forced) = try claim("h", "1", force: true) else { return XCTFail("--force reruns") }
        XCTAssertEqual(try claim("h", "1", force: true), .running(forced))
        guard case .started(let other) = try claim("other", "1") else { return XCTFail("another config") }
        // A diverged run is a result: its config is not trained again (it would diverge at the
        // same step), unless forced.
        try store.finishRun(id: other, status: .diverged, divergedStep: 17)
        XCTAssertEqual(try claim("other", "1"), .diverged(other, step: 17))
        guard case .started = try claim("other", "1", force: true) else { return XCTFail("--force reruns a diverged config") }
    }

    // A full disk (here: SQLite's page limit): the first failed write is thrown and kept, later
    // rows are refused at once instead of retried with every row, and the committed rows stay.
    func testFailedMetricWriteIsFinal() throws {
        let store = try ResultsStore(path: dbPath, flushEvery: 100, flushInterval: 1e9)
        let id = try store.beginRun(experiment: "e", config: "{}")
        for k in 1...100 { try store.appendMetric(runID: id, step: k, name: "train_loss", value: Double(k)) }
        let pages = try store.database.rows("PRAGMA page_count") { $0.int(at: 0) }[0]
        try store.database.execute("PRAGMA max_page_count = \(pages)")
        var failedAt: Int? = nil
        for k in 101...100_000 {
            do { try store.appendMetric(runID: id, step: k, name: "train_loss", value: Double(k)) } catch {
                failedAt = k
                break
            }
        }
        XCTAssertNotNil(failedAt, "the page limit was never hit")
        XCTAssertNotNil(store.writeFailure)
        XCTAssertThrowsError(try store.appendMetric(runID: id, step: 0, name: "x", value: 0), "refused at once")
        try store.database.execute("PRAGMA max_page_count = 1000000")
        XCTAssertGreaterThanOrEqual(try store.metrics(runID: id, name: "train_loss").count, 100)
    }

    // A WAL database left by a killed writer, in a folder where SQLite cannot make its -shm
    // file (a read-only folder; here a link into a folder that does not exist, since root
    // ignores permissions), is still readable, WAL rows included: read commands work on it.
    func testReadableWhereItsSharedMemoryFileCannotBeMade() throws {
        let writer = try ResultsStore(path: dbPath)  // kept open: its rows stay in the WAL
        let id = try writer.beginRun(experiment: "e", config: "{}")
        try writer.appendMetric(runID: id, step: 1, name: "train_loss", value: 3)
        try writer.flush()
        let copy = folder.appendingPathComponent("ro")
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
        let path = copy.appendingPathComponent("results.sqlite").path
        try FileManager.default.copyItem(atPath: dbPath, toPath: path)
        try FileManager.default.copyItem(atPath: dbPath + "-wal", toPath: path + "-wal")
        try FileManager.default.createSymbolicLink(atPath: path + "-shm", withDestinationPath: "/nonexistent-folder/shm")
        XCTAssertThrowsError(try Database(path: path, mode: .readOnly).rows("SELECT count(*) FROM runs") { $0.int(at: 0) },
                             "the plain read-only open fails here, as in a read-only folder")
        let reader = try ResultsStore(path: path, readOnly: true)
        XCTAssertEqual(try reader.runs().map(\.experiment), ["e"])
        XCTAssertEqual(try reader.metrics(runID: id, name: "train_loss").map(\.value), [3])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + "-journal"), "nothing written beside the file")
    }

    // A run whose process is gone does not hold its config.
    func testClaimIgnoresRunsWhoseProcessIsGone() throws {
        let store = try ResultsStore(path: dbPath)
        guard case .started(let orphan) = try store.claimRun(experiment: "e", config: "{}", configHash: "h") else {
            return XCTFail("starts")
        }
        try store.database.run("UPDATE runs SET pid = ? WHERE id = ?", [.integer(Int64(Int32.max)), .integer(orphan)])
        guard case .started = try store.claimRun(experiment: "e", config: "{}", configHash: "h") else {
            return XCTFail("a run whose process is gone must not block its config")
        }
    }

    // A diverged run logs NaN: it is stored as NULL, read back as NaN, is the final value (nil)
    // but never the best one.
    func testNaNIsStoredAsNullAndNeverBest() throws {
        let store = try ResultsStore(path: dbPath)
        let id = try store.beginRun(experiment: "e", config: "{}")
        for (k, v) in [(1, 2.0), (2, 1.0), (3, .infinity), (4, .nan)] {
            try store.appendMetric(runID: id, step: k, name: "train_loss", value: v)
        }
        try store.finishRun(id: id, status: .diverged, divergedStep: 4)
        let values = try store.metrics(runID: id, name: "train_loss").map(\.value)
        XCTAssertEqual(Array(values.prefix(3)), [2, 1, .infinity])
        XCTAssertTrue(values[3].isNaN)
        XCTAssertEqual(try store.summaries(runID: id)["train_loss"],
                       MetricSummary(name: "train_loss", finalValue: nil, bestValue: 1, bestStep: 2))
        XCTAssertEqual(try store.runs().first?.divergedStep, 4)
        XCTAssertEqual(try store.runs().first?.status, .diverged)
    }

    // transaction { } commits on success and leaves no trace when the body throws; a nested
    // call rolls back only its savepoint.
    func testTransactionRollsBackOnThrow() throws {
        struct Boom: Error {}
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let db = try Database(path: folder.appendingPathComponent("t.sqlite").path)
        try db.execute("CREATE TABLE t(x INTEGER)")
        XCTAssertThrowsError(try db.transaction {
            try db.run("INSERT INTO t VALUES (1)")
            throw Boom()
        })
        XCTAssertFalse(db.isInTransaction)
        try db.transaction {
            try db.run("INSERT INTO t VALUES (2)")
            try? db.transaction {
                try db.run("INSERT INTO t VALUES (3)")
                throw Boom()
            }
        }
        XCTAssertEqual(try db.rows("SELECT x FROM t") { $0.int(at: 0) }, [2])
    }

    // Errors carry the code, SQLite's message and the SQL: here the runs.status CHECK constraint.
    func testErrorCarriesCodeMessageAndSQL() throws {
        _ = try ResultsStore(path: dbPath)
        let db = try Database(path: dbPath)
        let sql = "INSERT INTO runs(experiment, status, config) VALUES ('e', 'paused', '{}')"
        XCTAssertThrowsError(try db.run(sql)) { error in
            let e = error as? SQLiteError
            XCTAssertEqual(e?.code, 19)  // SQLITE_CONSTRAINT
            XCTAssertEqual(e?.extendedCode, 275)  // SQLITE_CONSTRAINT_CHECK
            XCTAssertEqual(e?.sql, sql)
            XCTAssertTrue(e?.message.contains("CHECK constraint failed") ?? false, "\(error)")
        }
    }
}

/// A value shared by test threads, guarded by a lock.
final class Locked<T>: @unchecked Sendable {  // every access goes through `lock`
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T { lock.lock(); defer { lock.unlock() }; return stored }
    func mutate(_ body: (inout T) -> Void) { lock.lock(); defer { lock.unlock() }; body(&stored) }
}
