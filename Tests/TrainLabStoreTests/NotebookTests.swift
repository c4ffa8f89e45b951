import Foundation
import XCTest
@testable import TrainLabStore

/// Tags, notes, delete, rename, best runs, pivots and the wide table, on a database built here.
final class NotebookTests: XCTestCase {
    private var folder: URL!
    private var dbPath: String { folder.appendingPathComponent("results.sqlite").path }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("NotebookTests-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// Experiment "grid": lr 0.1, 0.01 × wd 0, 0.5 × seed 0, 1, final val_loss = lr + wd + seed / 100;
    /// experiment "other": one run. Returns the store and the grid's ids keyed by "lr/wd/seed".
    private func makeGrid() throws -> (ResultsStore, [String: Int64]) {
        let store = try ResultsStore(path: dbPath)
        var ids: [String: Int64] = [:]
        for lr in [0.1, 0.01] {
            for wd in [0, 0.5] {
                for seed in [0, 1] {
                    let params: [String: SQLiteValue] = ["optimizer.lr": .real(lr), "optimizer.weight_decay": ParamValue.number(wd),
                                                         "seed": .integer(Int64(seed))]
                    let id = try store.beginRun(experiment: "grid", config: "{\"lr\": \(lr)}", configHash: "\(lr)/\(wd)/\(seed)",
                                                seed: seed, params: params, tags: seed == 0 ? ["first"] : [])
                    try store.appendMetric(runID: id, step: 1, name: "val_loss", value: lr + wd + Double(seed) / 100)
                    try store.appendMetric(runID: id, step: 1, name: "train_loss", value: 1)
                    try store.finishRun(id: id, status: .completed)
                    ids["\(lr)/\(wd)/\(seed)"] = id
                }
            }
        }
        let other = try store.beginRun(experiment: "other", config: "{}", configHash: "o", seed: 0,
                                       params: ["optimizer.lr": .real(0.1), "optimizer.weight_decay": .integer(0), "seed": .integer(0)],
                                       tags: ["x"], notes: "the odd one")
        try store.appendMetric(runID: other, step: 1, name: "val_loss", value: 0.05)
        try store.finishRun(id: other, status: .completed)
        return (store, ids)
    }

    /// Every row of every table, as text, in a stable order.
    private func dump(_ store: ResultsStore) throws -> [String: [String]] {
        let tables = try store.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").rows.map { ParamValue.text($0[0]) }
        var out: [String: [String]] = [:]
        for table in tables {
            let result = try store.query("SELECT * FROM \"\(table)\" ORDER BY rowid")
            out[table] = result.rows.map { row in
                zip(result.columns, row).map { "\($0)=\(ParamValue.text($1))" }.joined(separator: " ")
            }
        }
        return out
    }

    func testTagsAndNotesAreStoredForSQLAndRead() throws {
        let (store, ids) = try makeGrid()
        let first = ids["0.1/0.0/0"]!, second = ids["0.1/0.0/1"]!
        XCTAssertEqual(try store.run(id: first).tags, ["first"])
        try store.addTags(["keep", "first"], to: [first, second])
        XCTAssertEqual(try store.run(id: first).tags, ["first", "keep"], "a tag it had stays once")
        XCTAssertEqual(try store.removeTags(["first"], from: [first, second]), 2)
        XCTAssertEqual(try store.run(id: second).tags, ["keep"])
        try store.setNotes("looks good", runID: first)
        XCTAssertEqual(try store.run(id: first).notes, "looks good")
        let tagged = try store.query("SELECT r.id FROM runs r JOIN tags t ON t.run_id = r.id WHERE t.tag = 'keep' ORDER BY r.id")
        XCTAssertEqual(tagged.rows, [[.integer(first)], [.integer(second)]])
        XCTAssertEqual(try store.query("SELECT notes FROM runs WHERE experiment = 'other'").rows, [[.text("the odd one")]])

        // A completed config claimed again is not retrained; it gains the new tags.
        let claim = try store.claimRun(experiment: "grid", config: "{}", configHash: "0.1/0.0/0", tags: ["again"], notes: "new")
        XCTAssertEqual(claim, .completed(first))
        XCTAssertEqual(try store.run(id: first).tags, ["again", "keep"])
        XCTAssertEqual(try store.run(id: first).notes, "looks good")
    }

    func testDeleteRemovesEveryOwnedRowAndLeavesOtherRunsUntouched() throws {
        let (store, ids) = try makeGrid()
        // A table added later that is keyed by run_id is covered too.
        try Database(path: dbPath).execute("CREATE TABLE saved_state (run_id INTEGER, blob BLOB); INSERT INTO saved_state VALUES (\(ids["0.1/0.0/0"]!), x'00'), (\(ids["0.1/0.0/1"]!), x'01')")
        let doomed = ids["0.1/0.0/0"]!
        let before = try dump(store)
        let plan = try store.deletionPlan([doomed])
        XCTAssertEqual(plan.map(\.table), ["metrics", "params", "run_state", "saved_state", "summaries", "tags"])
        XCTAssertEqual(plan.map(\.rows), [2, 3, 0, 1, 2, 1])

        try store.deleteRuns([doomed])
        let after = try dump(store)
        for table in try store.runKeyedTables() {
            XCTAssertEqual(try store.query("SELECT count(*) FROM \"\(table)\" WHERE run_id = \(doomed)").rows, [[.integer(0)]], table)
            XCTAssertEqual(after[table], before[table]!.filter { !$0.hasPrefix("run_id=\(doomed) ") }, "other runs' \(table) rows are untouched")
        }
        XCTAssertEqual(after["runs"], before["runs"]!.filter { !$0.hasPrefix("id=\(doomed) ") })
        XCTAssertEqual(after["experiments"], before["experiments"])

        XCTAssertThrowsError(try store.deleteRuns([9999])) { XCTAssertEqual($0 as? ResultsQueryError, .unknownRun(id: 9999, path: self.dbPath)) }
        let live = try store.beginRun(experiment: "grid", config: "{}")  // this process: alive
        XCTAssertThrowsError(try store.deleteRuns([ids["0.1/0.0/1"]!, live])) { error in
            guard case .liveRun(let id, _, _)? = error as? ResultsQueryError else { return XCTFail("\(error)") }
            XCTAssertEqual(id, live)
        }
        XCTAssertNoThrow(try store.run(id: ids["0.1/0.0/1"]!), "a refused delete deletes nothing")

        try store.deleteRuns(try store.runs(experiment: "other").map(\.id))
        XCTAssertEqual(try store.query("SELECT name FROM experiments ORDER BY name").rows, [[.text("grid")]],
                       "an experiment left without runs loses its row")
    }

    func testDeletingTheSupersedingRunLetsTheOlderAttemptCountAgain() throws {
        let store = try ResultsStore(path: dbPath)
        let first = try store.beginRun(experiment: "e", config: "{}", configHash: "h")
        try store.finishRun(id: first, status: .completed)
        let second = try store.beginRun(experiment: "e", config: "{}", configHash: "h")
        try store.finishRun(id: second, status: .completed)
        XCTAssertEqual(try store.run(id: first).supersededBy, second)
        try store.deleteRuns([second])
        XCTAssertNil(try store.run(id: first).supersededBy)
    }

    func testRenameKeepsEveryRow() throws {
        let (store, _) = try makeGrid()
        let before = try dump(store)
        XCTAssertEqual(try store.renameExperiment("grid", to: "lr-wd"), 8)
        let after = try dump(store)
        XCTAssertEqual(Set(after.keys), Set(before.keys))
        for table in before.keys where table != "runs" && table != "experiments" {
            XCTAssertEqual(after[table], before[table], table)
        }
        func renamed(_ rows: [String]?) -> [String] {
            (rows ?? []).map { $0.replacingOccurrences(of: "experiment=grid ", with: "experiment=lr-wd ")
                .replacingOccurrences(of: "name=grid ", with: "name=lr-wd ") }
        }
        XCTAssertEqual(after["runs"], renamed(before["runs"]))
        XCTAssertEqual(after["experiments"], renamed(before["experiments"]))
        XCTAssertEqual(try store.runs(experiment: "lr-wd").count, 8)
        XCTAssertThrowsError(try store.renameExperiment("lr-wd", to: "other")) {
            XCTAssertEqual($0 as? ResultsQueryError, .experimentExists(name: "other"))
        }
        XCTAssertThrowsError(try store.renameExperiment("grid", to: "x"))
    }

    func testBestRunsPivotAndExperimentsSideBySide() throws {
        let (store, ids) = try makeGrid()
        let best = try store.bestRun(experiment: "grid")
        XCTAssertEqual(best.run.run.id, ids["0.01/0.0/0"]!)
        XCTAssertEqual(best.metric, "val_loss")
        XCTAssertEqual(best.value, 0.01, accuracy: 1e-12)
        XCTAssertEqual(best.candidates, 8)
        XCTAssertEqual(try store.bestRun(experiment: "grid", direction: .max).run.run.id, ids["0.1/0.5/1"]!)

        let comparison = try store.compare(experiment: "grid", by: ["optimizer.lr", "optimizer.weight_decay"])
        XCTAssertEqual(comparison.groups.map(\.bestRunID), [ids["0.01/0.0/0"], ids["0.01/0.5/0"], ids["0.1/0.0/0"], ids["0.1/0.5/0"]])
        let pivot = try XCTUnwrap(comparison.pivot)
        XCTAssertEqual(pivot.rowKeys, ["optimizer.lr"])
        XCTAssertEqual(pivot.columnKey, "optimizer.weight_decay")
        XCTAssertEqual(pivot.rows, [["0.01"], ["0.1"]])
        XCTAssertEqual(pivot.columns, ["0", "0.5"])
        XCTAssertEqual(pivot.cells.map { $0.map { $0!.mean! } }.flatMap { $0 }, [0.015, 0.515, 0.105, 0.605].map { $0 },
                       accuracyEach: 1e-12)

        let both = try store.compare(experiments: ["grid", "other"], by: ["experiment", "optimizer.weight_decay"])
        XCTAssertEqual(both.groups.map(\.groupValues), [["grid", "0"], ["grid", "0.5"], ["other", "0"]])
        XCTAssertEqual(both.groups.last?.mean, 0.05)
    }

    func testWideTableHasOneRowPerRunWithTypedParamsAndMetricSummaries() throws {
        let (store, ids) = try makeGrid()
        let runIDs = [ids["0.1/0.0/0"]!, try store.runs(experiment: "other")[0].id]
        let table = try store.wideTable(runIDs: runIDs)
        XCTAssertEqual(table.columns, ["id", "experiment", "status", "seed", "tags", "superseded_by",
                                       "optimizer.lr", "optimizer.weight_decay",
                                       "train_loss.final", "train_loss.best", "val_loss.final", "val_loss.best"])
        XCTAssertEqual(table.rows[0], [.integer(runIDs[0]), .text("grid"), .text("completed"), .integer(0), .text("first"), .null,
                                       .real(0.1), .integer(0), .real(1), .real(1), .real(0.1), .real(0.1)])
        XCTAssertEqual(table.rows[1][4], .text("x"))
        XCTAssertEqual(table.rows[1][8], .null, "a metric the run lacks is NULL")
        XCTAssertTrue(TableTextFormat.csv.text(table).hasPrefix("id,experiment,status,seed,tags,superseded_by,optimizer.lr,"))
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracyEach accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
