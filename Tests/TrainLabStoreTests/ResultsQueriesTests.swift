import Foundation
import XCTest
@testable import TrainLabStore

final class ResultsQueriesTests: XCTestCase {
    private var folder: URL!
    private var dbPath: String { folder.appendingPathComponent("results.sqlite").path }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("ResultsQueriesTests-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// Experiment "sweep": optimizer.lr × seed 0, 1, final val_loss
    ///   lr 0.01: 0.5, 0.7   lr 0.1: 1, 3   lr 1: 5, and seed 1 diverged (val_loss 9, not counted).
    /// Returns the store and the run ids keyed by "lr/seed".
    private func makeSweep() throws -> (ResultsStore, [String: Int64]) {
        let store = try ResultsStore(path: dbPath)
        let cases: [(lr: String, seed: Int, valLoss: Double, status: RunStatus)] = [
            ("0.1", 0, 1, .completed), ("0.1", 1, 3, .completed),
            ("1", 0, 5, .completed), ("1", 1, 9, .diverged),
            ("0.01", 0, 0.5, .completed), ("0.01", 1, 0.7, .completed),
        ]
        var ids: [String: Int64] = [:]
        for c in cases {
            let params: [String: SQLiteValue] = ["name": "sweep", "optimizer.kind": "sgd", "optimizer.lr": ParamValue.number(Double(c.lr)!),
                                                 "seed": .integer(Int64(c.seed))]
            let id = try store.beginRun(experiment: "sweep", config: "{}", seed: c.seed, params: params)
            try store.appendMetric(runID: id, step: 0, name: "val_loss", value: c.valLoss * 2)
            try store.appendMetric(runID: id, step: 1, name: "train_loss", value: c.valLoss + 0.25)
            try store.appendMetric(runID: id, step: 1, name: "val_loss", value: c.valLoss)
            try store.finishRun(id: id, status: c.status, divergedStep: c.status == .diverged ? 1 : nil)
            ids["\(c.lr)/\(c.seed)"] = id
        }
        return (store, ids)
    }

    // Values 1 and 3: mean 2, s = √2, half-width t(0.975, 1) · √2 / √2 = 12.706.
    func testStatistics() {
        XCTAssertEqual(Statistics.mean([1, 3]), 2)
        XCTAssertNil(Statistics.mean([]))
        XCTAssertEqual(Statistics.sampleStandardDeviation([1, 3])!, 2.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(Statistics.confidenceHalfWidth95([1, 3])!, 12.706, accuracy: 1e-12)
        XCTAssertNil(Statistics.confidenceHalfWidth95([4]))
        XCTAssertEqual(Statistics.studentT95(degreesOfFreedom: 1), 12.706)
        XCTAssertEqual(Statistics.studentT95(degreesOfFreedom: 2), 4.303)
        XCTAssertEqual(Statistics.studentT95(degreesOfFreedom: 30), 2.042)
        XCTAssertEqual(Statistics.studentT95(degreesOfFreedom: 31), 1.96)
        // 1, 2, 3: s = 1, t(0.975, 2) / √3.
        XCTAssertEqual(Statistics.confidenceHalfWidth95([1, 2, 3])!, 4.303 / 3.0.squareRoot(), accuracy: 1e-12)
    }

    func testCompareGroupsMeansIntervalsRanksAndDivergedCounts() throws {
        let (store, ids) = try makeSweep()
        let comparison = try store.compare(experiment: "sweep", by: ["optimizer.lr"])
        XCTAssertEqual(comparison.metric, "val_loss")  // default: val_loss when present
        XCTAssertEqual(comparison.direction, .min)
        let groups = comparison.groups
        XCTAssertEqual(groups.map(\.groupValues), [["0.01"], ["0.1"], ["1"]])  // numeric order
        XCTAssertEqual(groups.map(\.runIDs), [[ids["0.01/0"]!, ids["0.01/1"]!], [ids["0.1/0"]!, ids["0.1/1"]!],
                                              [ids["1/0"]!, ids["1/1"]!]])
        XCTAssertEqual(groups.map(\.values), [[0.5, 0.7], [1, 3], [5]])
        XCTAssertEqual(groups.map(\.divergedCount), [0, 0, 1])
        XCTAssertEqual(groups[0].mean!, 0.6, accuracy: 1e-12)
        XCTAssertEqual(groups[0].confidenceHalfWidth!, 12.706 * 0.02.squareRoot() / 2.0.squareRoot(), accuracy: 1e-12)  // 1.2706
        XCTAssertEqual(groups[1].mean, 2)
        XCTAssertEqual(groups[1].confidenceHalfWidth!, 12.706, accuracy: 1e-12)
        XCTAssertEqual(groups[2].mean, 5)
        XCTAssertNil(groups[2].confidenceHalfWidth)
        XCTAssertEqual(groups.map(\.best), [0.5, 1, 5])
        XCTAssertEqual(groups.map(\.rank), [1, 2, 3])

        // Larger is better: ranks reverse, best is the largest value.
        let maximized = try store.compare(experiment: "sweep", by: ["optimizer.lr"], direction: .max)
        XCTAssertEqual(maximized.groups.map(\.rank), [3, 2, 1])
        XCTAssertEqual(maximized.groups.map(\.best), [0.7, 3, 5])

        // Several keys group by the tuple; a run of its own has no interval.
        let bySeed = try store.compare(experiment: "sweep", by: ["optimizer.lr", "seed"], metric: "train_loss")
        XCTAssertEqual(bySeed.groups.map(\.groupValues),
                       [["0.01", "0"], ["0.01", "1"], ["0.1", "0"], ["0.1", "1"], ["1", "0"], ["1", "1"]])
        XCTAssertEqual(bySeed.groups.map(\.mean), [0.75, 0.95, 1.25, 3.25, 5.25, nil])
        XCTAssertEqual(bySeed.groups.map(\.rank), [1, 2, 3, 4, 5, nil])
    }

    func testEqualMeansShareARank() {
        let outcomes = [("a", 1.0), ("b", 2.0), ("c", 1.0)].enumerated().map { index, item in
            RunOutcome(runID: Int64(index + 1), status: .completed, groupValues: [item.0], finalValue: item.1)
        }
        let groups = Comparison.groups(of: outcomes, direction: .min)
        XCTAssertEqual(groups.map(\.groupValues), [["a"], ["b"], ["c"]])
        XCTAssertEqual(groups.map(\.rank), [1, 3, 1])
    }

    func testCompareRejectsUnknownNames() throws {
        let (store, _) = try makeSweep()
        XCTAssertThrowsError(try store.compare(experiment: "swep", by: ["optimizer.lr"])) {
            XCTAssertEqual($0 as? ResultsQueryError, .unknownExperiment(name: "swep", known: ["sweep"]))
        }
        XCTAssertThrowsError(try store.compare(experiment: "sweep", by: ["optimizer.lx"])) {
            XCTAssertEqual($0 as? ResultsQueryError, .unknownParamKey(
                key: "optimizer.lx", experiment: "sweep", known: ["name", "optimizer.kind", "optimizer.lr", "seed"]))
        }
        XCTAssertThrowsError(try store.compare(experiment: "sweep", by: ["seed"], metric: "val_accuracy")) {
            XCTAssertEqual($0 as? ResultsQueryError, .unknownMetric(
                name: "val_accuracy", experiment: "sweep", known: ["train_loss", "val_loss"]))
        }
        XCTAssertThrowsError(try store.run(id: 999)) {
            XCTAssertEqual($0 as? ResultsQueryError, .unknownRun(id: 999, path: dbPath))
        }
    }

    func testParamDifferences() throws {
        let (store, ids) = try makeSweep()
        let differences = try store.paramDifferences(ids["0.1/0"]!, ids["1/1"]!)
        XCTAssertEqual(differences.map(\.key), ["optimizer.lr", "seed"])
        XCTAssertEqual(differences.map(\.first), ["0.1", "0"])
        XCTAssertEqual(differences.map(\.second), ["1", "1"])
        XCTAssertTrue(try store.paramDifferences(ids["0.1/0"]!, ids["0.1/0"]!).isEmpty)
        // A key one run lacks differs.
        XCTAssertEqual(ResultsStore.differingParamKeys([["a": "1", "b": "2"], ["a": "1"], ["a": "1", "b": "2"]]), ["b"])
    }

    func testRunOverviews() throws {
        let (store, ids) = try makeSweep()
        let overviews = try store.runOverviews(experiment: "sweep")
        XCTAssertEqual(overviews.count, 6)
        let diverged = try XCTUnwrap(overviews.first { $0.run.id == ids["1/1"]! })
        XCTAssertEqual(diverged.run.status, .diverged)
        XCTAssertEqual(diverged.params["optimizer.lr"], "1")
        XCTAssertEqual(diverged.summaries["val_loss"]?.finalValue, 9)
        XCTAssertEqual(try store.experimentNames(), ["sweep"])
        XCTAssertNotNil(diverged.run.durationSeconds())
    }

    // The exact text of both formats, a NaN included (empty in CSV, null in JSON).
    func testMetricHistoryExportText() throws {
        let store = try ResultsStore(path: dbPath)
        let id = try store.beginRun(experiment: "tiny", config: "{}")
        try store.appendMetric(runID: id, step: 0, name: "val_loss", value: 0.5)
        try store.appendMetric(runID: id, step: 1, name: "train_loss", value: 1.25)
        try store.appendMetric(runID: id, step: 1, name: "lr", value: 0.1)
        try store.appendMetric(runID: id, step: 2, name: "train_loss", value: .nan)
        try store.finishRun(id: id, status: .diverged, divergedStep: 2)

        XCTAssertEqual(try store.metricHistoryText(runIDs: [id], format: .csv), """
            run_id,step,name,value
            \(id),0,val_loss,0.5
            \(id),1,train_loss,1.25
            \(id),1,lr,0.1
            \(id),2,train_loss,

            """)
        XCTAssertEqual(try store.metricHistoryText(runIDs: [id], format: .json), """
            [
              {"run_id": \(id), "step": 0, "name": "val_loss", "value": 0.5},
              {"run_id": \(id), "step": 1, "name": "train_loss", "value": 1.25},
              {"run_id": \(id), "step": 1, "name": "lr", "value": 0.1},
              {"run_id": \(id), "step": 2, "name": "train_loss", "value": null}
            ]

            """)
        XCTAssertEqual(try store.metricHistoryText(runIDs: [], format: .json), "[]\n")
        XCTAssertEqual(try store.metricHistoryText(runIDs: [], format: .csv), "run_id,step,name,value\n")

        let text = QueryResult(columns: ["note", "x"], rows: [[.text("a,\"b\"\nc"), .real(.infinity)]])
        XCTAssertEqual(TableTextFormat.csv.text(text), "note,x\n\"a,\"\"b\"\"\nc\",inf\n")
        XCTAssertEqual(TableTextFormat.json.text(text), "[\n  {\"note\": \"a,\\\"b\\\"\\nc\", \"x\": null}\n]\n")
    }

    // Only statements that do not write run, on a read-only and on a read-write store alike.
    func testQueryIsReadOnly() throws {
        _ = try makeSweep()
        XCTAssertThrowsError(try ResultsStore.openForReading(path: dbPath + ".missing")) {
            XCTAssertEqual($0 as? ResultsQueryError, .missingDatabase(path: dbPath + ".missing"))
        }
        let reader = try ResultsStore.openForReading(path: dbPath)
        let result = try reader.query("SELECT status, count(*) AS n FROM runs GROUP BY status ORDER BY status")
        XCTAssertEqual(result.columns, ["status", "n"])
        XCTAssertEqual(result.rows, [[.text("completed"), .integer(5)], [.text("diverged"), .integer(1)]])

        let insert = "INSERT INTO experiments(name) VALUES ('sneaky')"
        for store in [reader, try ResultsStore(path: dbPath)] {
            XCTAssertThrowsError(try store.query(insert)) { error in
                guard case .invalidQuery(let reason)? = error as? ResultsQueryError else {
                    return XCTFail("\(error)")
                }
                XCTAssertTrue(reason.contains("do not write"), reason)
            }
            XCTAssertThrowsError(try store.query("SELECT 1; DELETE FROM runs"))
        }
        XCTAssertThrowsError(try reader.query("SELEC 1"))
        XCTAssertEqual(try reader.query("SELECT count(*) FROM experiments; -- one\n").rows, [[.integer(1)]])
        XCTAssertEqual(try reader.query("SELECT count(*) FROM runs").rows, [[.integer(6)]])
    }

    func testSparkline() throws {
        let rising = try XCTUnwrap(Sparkline([1, 2, 3, 4, 5, 6, 7, 8]))
        XCTAssertEqual(rising.text, "▁▂▃▄▅▆▇█")
        XCTAssertFalse(rising.isLogScale)

        let decades = try XCTUnwrap(Sparkline([1000, 100, 10, 1]))
        XCTAssertTrue(decades.isLogScale)
        XCTAssertEqual(decades.text, "█▆▃▁")
        XCTAssertEqual(decades.low, 1)
        XCTAssertEqual(decades.high, 1000)

        // 120 values in 60 buckets of two; NaN-only buckets are blank.
        let long = (0..<120).map { $0 >= 118 ? Double.nan : Double($0) }
        let downsampled = try XCTUnwrap(Sparkline(long, width: 60))
        XCTAssertEqual(downsampled.text.count, 60)
        XCTAssertEqual(downsampled.text.first, "▁")
        XCTAssertEqual(downsampled.text.last, " ")
        XCTAssertEqual(downsampled.nonFiniteCount, 2)

        XCTAssertEqual(Sparkline([2, 2])?.text, "▄▄")
        XCTAssertNil(Sparkline([.nan]))
        XCTAssertNil(Sparkline([]))
    }

    func testTimestampParsing() throws {
        let date = Date(timeIntervalSince1970: 1_795_000_000.125)
        let parsed = try XCTUnwrap(Timestamp.date(iso8601: Timestamp.iso8601(date)))
        XCTAssertEqual(parsed.timeIntervalSince1970, date.timeIntervalSince1970, accuracy: 1e-6)
        XCTAssertNil(Timestamp.date(iso8601: "yesterday"))
        let run = RunRecord(id: 1, experiment: "e", status: .completed, config: "{}",
                            startedAt: "2026-01-01T00:00:00.000Z", finishedAt: "2026-01-01T00:01:02.500Z")
        XCTAssertEqual(run.durationSeconds(), 62.5)
    }
}

/// Grouping by a whole catalogue choice, the default metric, compact values, live runs.
final class ChoiceGroupingTests: XCTestCase {
    private var dbPath: String {
        FileManager.default.temporaryDirectory.appendingPathComponent("choice-\(UUID().uuidString).sqlite").path
    }

    /// `compare --by optimizer` groups by the whole object and labels each group by its kind and
    /// the options that tell the groups apart (here lr, shared by all and differing).
    func testCompareByAWholeChoice() throws {
        let store = try ResultsStore(path: dbPath)
        let optimizers: [[String: SQLiteValue]] = [
            ["optimizer.kind": "sgd", "optimizer.lr": 0.1, "optimizer.momentum": 0],
            ["optimizer.kind": "adam", "optimizer.lr": 0.003, "optimizer.eps": 1e-8],
            ["optimizer.kind": "adam", "optimizer.lr": 0.0031622776601683794, "optimizer.eps": 1e-8],
        ]
        for (i, params) in optimizers.enumerated() {
            for seed in 0..<2 {
                let id = try store.beginRun(experiment: "opt", config: "{}", seed: seed, params: params.merging(["seed": .integer(Int64(seed))]) { a, _ in a })
                try store.appendMetric(runID: id, step: 1, name: "val_loss", value: Double(i) + Double(seed))
                try store.finishRun(id: id, status: .completed)
            }
        }
        let comparison = try store.compare(experiment: "opt", by: ["optimizer"])
        XCTAssertEqual(comparison.groups.map { $0.groupValues[0] ?? "" }.sorted(),
                       ["optimizer.kind=adam optimizer.lr=0.003", "optimizer.kind=adam optimizer.lr=0.003162",
                        "optimizer.kind=sgd optimizer.lr=0.1"])
        XCTAssertEqual(comparison.groups.map(\.values.count), [2, 2, 2])
        XCTAssertThrowsError(try store.compare(experiment: "opt", by: ["optimiser"]))
    }

    /// The params that tell runs apart: lr (every run has it, it differs), momentum (it differs
    /// among the sgd runs, and the adam run has none: nothing shown, not "-"), eps (adam's and
    /// adagrad's defaults differ only with the kind: hidden); a nested norm whose kind some mlp
    /// runs lack shows "-"; with defaults, a lone sgd's momentum 0.9 shows, its default 0 not.
    func testDistinguishingParams() {
        let runs: [[String: String]] = [
            ["optimizer.kind": "sgd", "optimizer.lr": "0.1", "optimizer.momentum": "0", "model.kind": "mlp"],
            ["optimizer.kind": "sgd", "optimizer.lr": "0.1", "optimizer.momentum": "0.9", "model.kind": "mlp",
             "model.norm.kind": "layernorm"],
            ["optimizer.kind": "adam", "optimizer.lr": "0.003", "optimizer.eps": "1e-08", "model.kind": "mlp"],
            ["optimizer.kind": "adagrad", "optimizer.lr": "0.1", "optimizer.eps": "1e-10", "model.kind": "mlp"],
        ]
        XCTAssertEqual(ResultsStore.distinguishingParams(runs).map(ResultsStore.paramsText), [
            "model.norm.kind=- optimizer.kind=sgd optimizer.lr=0.1 optimizer.momentum=0",
            "model.norm.kind=layernorm optimizer.kind=sgd optimizer.lr=0.1 optimizer.momentum=0.9",
            "model.norm.kind=- optimizer.kind=adam optimizer.lr=0.003",
            "model.norm.kind=- optimizer.kind=adagrad optimizer.lr=0.1",
        ])
        let lone: [[String: String]] = [
            ["optimizer.kind": "adam", "optimizer.lr": "0.003", "optimizer.eps": "1e-08"],
            ["optimizer.kind": "sgd", "optimizer.lr": "0.05", "optimizer.momentum": "0.9", "optimizer.dampening": "0"],
        ]
        XCTAssertEqual(ResultsStore.distinguishingParams(lone).map(ResultsStore.paramsText),
                       ["optimizer.kind=adam optimizer.lr=0.003", "optimizer.kind=sgd optimizer.lr=0.05"],
                       "without defaults, momentum is sgd's alone")
        let defaults: ChoiceDefaults = { config, _ in
            config == "sgd" ? ["optimizer.momentum": "0", "optimizer.dampening": "0"] : ["optimizer.eps": "1e-08"]
        }
        XCTAssertEqual(ResultsStore.distinguishingParams(lone, configs: ["adam", "sgd"], defaults: defaults).map(ResultsStore.paramsText),
                       ["optimizer.kind=adam optimizer.lr=0.003", "optimizer.kind=sgd optimizer.lr=0.05 optimizer.momentum=0.9"])
    }

    /// Losses, gaps to the optimum and constraint violations improve downward; the rest upward.
    func testMetricDirections() {
        XCTAssertEqual(MetricDirection.preferred(for: "val_loss"), .min)
        XCTAssertEqual(MetricDirection.preferred(for: "gap"), .min)
        XCTAssertEqual(MetricDirection.preferred(for: "constraint/weight_norm/violation"), .min)
        XCTAssertEqual(MetricDirection.preferred(for: "val_accuracy"), .max)
        XCTAssertEqual(MetricDirection.preferred(for: "val_ndcg"), .max)
    }

    func testRankingRunsCompareNDCGByDefault() {
        XCTAssertEqual(ResultsStore.defaultMetric(among: ["train_loss", "val_loss", "val_ndcg"]), "val_ndcg")
        XCTAssertEqual(ResultsStore.defaultMetric(among: ["train_loss", "val_loss", "val_accuracy"]), "val_loss")
        XCTAssertEqual(ResultsStore.defaultMetric(among: ["train_loss"]), "train_loss")
    }

    func testCompactValues() {
        XCTAssertEqual(ParamValue.compact("0.0031622776601683794"), "0.003162")
        XCTAssertEqual(ParamValue.compact("64"), "64")
        XCTAssertEqual(ParamValue.compact("adam"), "adam")
        XCTAssertEqual(ParamValue.compact("[0.9,0.999]"), "[0.9,0.999]")
    }

    /// A running run's summaries come from its rows so far (list and show see it progress); a
    /// running run whose process is gone is told apart and its duration stops growing.
    func testLiveAndOrphanedRuns() throws {
        let store = try ResultsStore(path: dbPath, flushInterval: 0)
        let id = try store.beginRun(experiment: "live", config: "{}")
        for step in 1...3 { try store.appendMetric(runID: id, step: step, name: "train_loss", value: Double(10 - step)) }
        let reader = try ResultsStore(path: store.path, readOnly: true)
        let live = try reader.summaries(runID: id)["train_loss"]
        XCTAssertEqual(live?.finalValue, 7)
        XCTAssertEqual(live?.finalStep, 3)
        var run = try reader.run(id: id)
        XCTAssertFalse(run.isOrphaned, "this process is alive")
        XCTAssertNotNil(run.durationSeconds())
        run.pid = Int(Int32.max)  // no such process
        XCTAssertTrue(run.isOrphaned)
        XCTAssertNil(run.durationSeconds(), "a run whose process is gone has no growing duration")
    }
}

/// Queries that never end or never stop growing: rows stream, a time limit and a cancellation
/// stop the statement, and nothing is held.
final class BoundedQueryTests: XCTestCase {
    let infinite = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n"

    func store() throws -> ResultsStore {
        try ResultsStore(path: FileManager.default.temporaryDirectory.appendingPathComponent("bq-\(UUID().uuidString).sqlite").path)
    }

    func testRowsStreamAndTheReaderMayStop() throws {
        var seen: [Int64] = []
        try store().query(infinite, columns: { XCTAssertEqual($0, ["i"]) }, row: { values in
            if case .integer(let i) = values[0] { seen.append(i) }
            return seen.count < 5
        })
        XCTAssertEqual(seen, [1, 2, 3, 4, 5])
    }

    func testATimeLimitStopsARunawayQuery() throws {
        XCTAssertThrowsError(try store().query(infinite + " ORDER BY i DESC", timeout: 0.2, columns: { _ in }, row: { _ in true })) { error in
            let stopped = error as? QueryStopped
            XCTAssertEqual(stopped?.cancelled, false, "\(error)")
            XCTAssertTrue("\(error)".contains("--timeout"), "\(error)")
        }
    }

    func testCancellationStopsAQuery() throws {
        XCTAssertThrowsError(try store().query(infinite + " ORDER BY i DESC", isCancelled: { true }, columns: { _ in }, row: { _ in true })) { error in
            XCTAssertEqual((error as? QueryStopped)?.cancelled, true, "\(error)")
        }
    }
}
