import Foundation
import XCTest
@testable import TrainLabStore

/// `benchmarkResults` on final runs written with the store API: effect sizes, the set not
/// distinguishable from the best, and the Holm adjustment within each problem.
final class BenchmarkResultsTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("BenchmarkResultsTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// Final val_loss per seed (0...7) of problem "p": `best` lowest on most seeds; `worse` 0.1
    /// above it on every seed (p = 2/2⁸); `close` above on five seeds, below on three.
    static let finals: [String: [Double]] = [
        "best": [0.50, 0.52, 0.48, 0.51, 0.49, 0.50, 0.53, 0.47],
        "worse": [0.60, 0.62, 0.58, 0.61, 0.59, 0.60, 0.63, 0.57],
        "close": [0.51, 0.51, 0.49, 0.52, 0.48, 0.51, 0.52, 0.48],
    ]

    private func makeStore(finals: [String: [Double]] = finals, extraParams: [String: SQLiteValue] = [:]) throws -> ResultsStore {
        let store = try ResultsStore(path: folder.appendingPathComponent("results.sqlite").path)
        for optimizer in finals.keys.sorted() {
            for (seed, value) in finals[optimizer]!.enumerated() {
                var params: [String: SQLiteValue] = [
                    "benchmark.problem": .text("p"), "benchmark.optimizer": .text(optimizer), "benchmark.role": .text("final"),
                    "benchmark.trial": .text("0"), "benchmark.metric": .text("val_loss"), "benchmark.goal": .text("min"),
                    "seed": .text(String(seed))]
                params.merge(extraParams) { _, new in new }
                let id = try store.beginRun(experiment: "bm", config: "{}", seed: seed, params: params)
                try store.appendMetric(runID: id, step: 10, name: "val_loss", value: value)
                try store.finishRun(id: id, status: .completed)
            }
        }
        return store
    }

    func testEffectSizesAndTheSetNotDistinguishableFromTheBest() throws {
        let results = try makeStore().benchmarkResults(experiment: "bm")
        let problem = try XCTUnwrap(results.problems.first)
        XCTAssertEqual(problem.optimizers.map(\.name), ["best", "close", "worse"])
        let worse = problem.optimizers[2]
        // Every difference is 0.1 (up to rounding): the estimate and both ends of the interval.
        XCTAssertEqual(try XCTUnwrap(worse.effect).estimate, 0.1, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(worse.effect).lower, 0.1, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(worse.test).pValue, 2.0 / 256, accuracy: 1e-15)
        // close − best = [.01, -.01, .01, .01, -.01, .01, -.01, .01]: all tied, five positive.
        let close = problem.optimizers[1]
        XCTAssertEqual(try XCTUnwrap(close.test).pValue, 0.7265625, accuracy: 1e-12, "2·P(Binomial(8, ½) ≤ 3)")
        XCTAssertEqual(problem.indistinguishableFromBest, ["best", "close"])
        // Holm over the problem's two tests: 2 · 2/2⁸ for the smaller, then max(that, 1 · 0.727).
        XCTAssertEqual(try XCTUnwrap(worse.pHolm), 4.0 / 256, accuracy: 1e-15)
        XCTAssertEqual(try XCTUnwrap(close.pHolm), 0.7265625, accuracy: 1e-12)
        XCTAssertNil(problem.optimizers[0].pHolm, "the best is not tested")
    }

    /// Trials of lr in log_uniform [1e-4, 1]: the 1/16 edge is lr ≤ 1e-4·10^(4/16) = 1.78e-4 or
    /// ≥ 10^(−1/4) = 0.562.
    func testSearchWarningsFlagARangeEdgeAndMostlyDivergedTrials() {
        func trial(_ optimizer: String, _ index: Int, lr: Double, value: Double?) -> (run: BenchmarkRun, params: [String: String]) {
            (BenchmarkRun(problem: "p", optimizer: optimizer, trial: index, seed: 0, status: value == nil ? .diverged : .completed,
                          finalValue: value),
             ["optimizer.lr": String(lr), "benchmark.space.lr.log_uniform": "[0.0001,1]", "optimizer.momentum": "0.9"])
        }
        let trials = [
            // edge: best at 0.6 (position 0.944); interior: best at 0.01 (position 0.5)
            trial("edge", 0, lr: 0.01, value: 0.5), trial("edge", 1, lr: 0.6, value: 0.2), trial("edge", 2, lr: 0.1, value: 0.3),
            trial("interior", 0, lr: 0.01, value: 0.1), trial("interior", 1, lr: 0.6, value: 0.2), trial("interior", 2, lr: 1.7e-4, value: 0.4),
            // low edge at 1.7e-4 (position 0.058), and two of three diverged
            trial("diverging", 0, lr: 1.7e-4, value: 0.9), trial("diverging", 1, lr: 0.01, value: nil), trial("diverging", 2, lr: 0.6, value: nil),
        ]
        let warnings = BenchmarkSelection.searchWarnings(trials, goal: .min)
        let range = BenchmarkWarning(kind: .rangeEdge, key: "lr", range: [1e-4, 1], distribution: "log_uniform")
        XCTAssertEqual(warnings[BenchmarkCell(problem: "p", optimizer: "edge")], [range])
        XCTAssertEqual(warnings[BenchmarkCell(problem: "p", optimizer: "interior")], [])
        XCTAssertEqual(warnings[BenchmarkCell(problem: "p", optimizer: "diverging")],
                       [range, BenchmarkWarning(kind: .mostlyDiverged, key: "lr", range: [1e-4, 1], distribution: "log_uniform")])
        XCTAssertTrue(range.message.contains("lr in log_uniform [0.0001, 1]"), range.message)
    }

    /// Four optimizers' best val_accuracy 0.9, 0.7, 0.8, 0.6: the median optimizer's (q = 0.5)
    /// is the 2nd best, 0.8; q = 1 is what all reach, 0.6; for a loss the order flips.
    func testReferenceTargetIsWhatAShareOfTheOptimizersReach() {
        let reached = [0.9, 0.7, 0.8, 0.6]
        XCTAssertEqual(BenchmarkSelection.referenceTarget(reached, quantile: 0.5, direction: .max), 0.8)
        XCTAssertEqual(BenchmarkSelection.referenceTarget(reached, quantile: 1, direction: .max), 0.6)
        XCTAssertEqual(BenchmarkSelection.referenceTarget(reached, quantile: 0.25, direction: .max), 0.9)
        XCTAssertEqual(BenchmarkSelection.referenceTarget(reached, quantile: 0.5, direction: .min), 0.7)
        XCTAssertNil(BenchmarkSelection.referenceTarget([], quantile: 0.5, direction: .min))
    }

    /// Selection by time to target: trial 1 reaches it in 40 evaluations, trial 0 in 60 but ends
    /// lower; trial 2 misses. The fewest evaluations wins; by final value trial 0 would.
    func testSelectionByTimeToTarget() {
        func run(_ trial: Int, _ value: Double) -> BenchmarkRun {
            BenchmarkRun(problem: "p", optimizer: "sgd", trial: trial, seed: 0, status: .completed, finalValue: value)
        }
        let trials = [(run(0, 0.1), 60.0), (run(1, 0.2), 40.0), (run(2, 0.05), Double.infinity)]
        XCTAssertEqual(BenchmarkSelection.bestTrialsByTimeToTarget(trials.map { ($0.0, $0.1) }, goal: .min)[BenchmarkCell(problem: "p", optimizer: "sgd")], 1)
        XCTAssertEqual(BenchmarkSelection.bestTrials(trials.map(\.0), goal: .min)[BenchmarkCell(problem: "p", optimizer: "sgd")], 2)
        // All miss: the final value decides.
        let misses = [(run(0, 0.3), Double.infinity), (run(1, 0.2), Double.infinity)]
        XCTAssertEqual(BenchmarkSelection.bestTrialsByTimeToTarget(misses, goal: .min)[BenchmarkCell(problem: "p", optimizer: "sgd")], 1)
    }
}
