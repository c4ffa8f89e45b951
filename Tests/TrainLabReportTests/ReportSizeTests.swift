import Foundation
import XCTest
import TrainLabStore
@testable import TrainLabReport

/// Display downsampling: long curves keep their extremes and the page stays small.
final class ReportSizeTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ReportSizeTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func testMinMaxPerColumnKeepsBothExtremesOfEachColumnInStepOrder() {
        // 10 points, 2 columns (x 0-4 | 5-9 split at 4.5): column 1 has its max 9 at x=1 and min 0 at x=3.
        let ys: [Double] = [5, 9, 4, 0, 6, 3, 3, 8, 2, 3]
        let points = ys.enumerated().map { ChartPoint(x: Double($0.offset), y: $0.element, low: $0.element - 1, high: $0.element + 1) }
        let (kept, size) = ReportData.minMaxPerColumn(points, columns: 2)
        XCTAssertEqual(kept.map(\.x), [1, 3, 7, 8])
        XCTAssertEqual(kept.map(\.y), [9, 0, 8, 2])
        XCTAssertEqual(kept.map(\.low), [-1, -1, 1, 1], "the band spans the whole column")
        XCTAssertEqual(kept.map(\.high), [10, 10, 9, 9])
        XCTAssertEqual(size, 5)
        // Two points per column or fewer: nothing dropped.
        XCTAssertEqual(ReportData.minMaxPerColumn(points, columns: 5).points, points)
    }

    /// 2 configs × 2 seeds, 60,000 logged steps each; one run spikes to 1000 at step 31,337
    /// (the others stay near 1). Averaging 75 steps per point would show ~14; min/max keeps 1000.
    func testALongCurveKeepsItsSpikeAndTheFileSizeIsBounded() throws {
        let path = folder.appendingPathComponent("long.sqlite").path
        let store = try ResultsStore(path: path)
        for lr in ["0.01", "0.1"] {
            for seed in 0..<2 {
                let id = try store.beginRun(experiment: "long", config: "{}", seed: seed,
                                            params: ["optimizer.lr": .text(lr), "seed": .text(String(seed))])
                for step in 1...60_000 {
                    let spike = lr == "0.1" && seed == 1 && step == 31_337
                    try store.appendMetric(runID: id, step: step, name: "train_loss",
                                           value: spike ? 1000 : 1 + 0.5 / Double(step) + Double(seed) * 0.01)
                }
                try store.finishRun(id: id, status: .completed)
            }
        }
        let data = try ReportData.load(from: store, experiment: "long")
        let curve = data.curves["train_loss"]![1]
        XCTAssertLessThanOrEqual(curve.points.count, 2 * ReportData.displayColumns)
        // The mean of the two seeds at the spike: (1000 + 1.01...) / 2, kept as a line point.
        let top = try XCTUnwrap(curve.points.max { $0.high < $1.high })
        XCTAssertEqual(top.high, 1000, "the band keeps the spike's run value")
        XCTAssertEqual(curve.points.map(\.y).max()!, (1000 + 1 + 0.5 / 31_337) / 2, accuracy: 1e-9)
        XCTAssertEqual(curve.points.first { $0.y == curve.points.map(\.y).max()! }?.x, 31_337)
        let html = HTMLReport.render(data)
        XCTAssertLessThan(html.utf8.count, 400_000, "240,000 logged values drawn with at most 800 columns a curve")
    }

    /// The shipped optimizer benchmark's shape: 7 problems × 7 optimizers, 16 tuning trials each
    /// (its own lr) and 16 paired seeds of each best, 400 train_loss steps and val_loss every
    /// 20, the benchmark.* params; 1,568 runs. The issue measured about 5 MB for a smaller one.
    /// The general sections show the 784 finals (one config per problem and optimizer), the
    /// Benchmark section the tuning runs, and the page's JSON writes shared params once a config.
    func testABenchmarkShapedReportStaysUnderOneMegabyte() throws {
        let path = folder.appendingPathComponent("bench.sqlite").path
        let store = try ResultsStore(path: path)
        let problems = ["spirals-mlp", "deep-relu-teacher", "linear-regression", "reverse-transformer",
                        "teacher-regression", "blobs", "wide-teacher"]
        let optimizers = ["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw", "lbfgs"]
        var runs: [(params: [String: SQLiteValue], seed: Int)] = []
        for problem in problems {
            for optimizer in optimizers {
                func params(_ role: String, _ trial: Int, _ seed: Int) -> [String: SQLiteValue] {
                    ["benchmark.problem": .text(problem), "benchmark.optimizer": .text(optimizer), "benchmark.role": .text(role),
                     "benchmark.trial": .text(String(trial)), "benchmark.metric": .text("val_loss"), "benchmark.goal": .text("min"),
                     "benchmark.target.metric": .text("val_loss"), "benchmark.target.value": .text("0.5"),
                     "optimizer.kind": .text(optimizer == "adamw" ? "adamw" : optimizer == "rmsprop" ? "rmsprop" : optimizer == "adam" ? "adam" : "sgd"),
                     "optimizer.lr": .text(String(format: "%.6g", 1e-4 * pow(10, Double(trial) / 4))),
                     "task.kind": .text(problem), "model.hidden": .text("[64,64]"), "seed": .text(String(seed))]
                }
                for trial in 0..<16 { runs.append((params("tune", trial, 0), 0)) }
                for seed in 0..<16 { runs.append((params("final", 7, 100 + seed), 100 + seed)) }
            }
        }
        XCTAssertEqual(runs.count, 1_568)
        for (index, run) in runs.enumerated() {
            let id = try store.beginRun(experiment: "bench", config: "{}", seed: run.seed, params: run.params)
            for step in 1...400 {
                let value = 2 * exp(-Double(step) / Double(100 + index % 50)) + 0.1 + 0.001 * Double(run.seed)
                try store.appendMetric(runID: id, step: step, name: "train_loss", value: value)
                if step % 20 == 0 || step == 1 {
                    try store.appendMetric(runID: id, step: step, name: "val_loss", value: value * 1.1)
                }
            }
            try store.finishRun(id: id, status: .completed)
        }
        let data = try ReportData.load(from: store, experiment: "bench")
        XCTAssertEqual(data.configs.count, 49, "one config per problem and optimizer: the finals")
        XCTAssertEqual(data.configs.map(\.runs.count), Array(repeating: 16, count: 49))
        XCTAssertEqual(data.groupKeys, ["benchmark.problem", "benchmark.optimizer"])
        XCTAssertEqual(data.benchmarkRunsLeftOut, 784, "the tuning runs, summarised by the Benchmark section")
        XCTAssertNotNil(data.benchmark, "the Benchmark section is part of the page")
        let html = HTMLReport.render(data)
        XCTAssertTrue(html.contains("its 784 tuning and selection runs"))
        XCTAssertLessThan(html.utf8.count, 1_000_000, "the benchmark-shaped report stays under 1 MB")
    }
}
