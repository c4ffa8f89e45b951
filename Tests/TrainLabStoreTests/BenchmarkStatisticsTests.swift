import XCTest
@testable import TrainLabStore

final class BenchmarkStatisticsTests: XCTestCase {
    // Reference values: scipy 1.17 `scipy.stats.wilcoxon(d)` (exact without ties, zero_method
    // "wilcox"), and `wilcoxon(d, method="approx")` with ties (no continuity correction).

    func testWilcoxonExactMatchesScipy() throws {
        let test = try XCTUnwrap(Statistics.wilcoxonSignedRank([1.5, -0.2, 3.1, 2.2, 0.7, -1.1, 4.0, 2.5]))
        XCTAssertEqual(test.statistic, 4)
        XCTAssertEqual(test.pValue, 0.0546875, accuracy: 1e-12)
        XCTAssertTrue(test.exact)
        XCTAssertEqual(test.n, 8)
    }

    func testWilcoxonDropsZeroDifferences() throws {
        let test = try XCTUnwrap(Statistics.wilcoxonSignedRank([0, 0.3, -0.1, 0.25, 0.4, 0.35, -0.05, 0.6]))
        XCTAssertEqual(test.n, 7)
        XCTAssertEqual(test.statistic, 3)
        XCTAssertEqual(test.pValue, 0.078125, accuracy: 1e-12)
    }

    func testWilcoxonExactForTwentyPairs() throws {
        let d = [0.646, 1.122, 0.63, -1.003, 1.205, 0.746, -0.237, 0.881, 0.665, 0.594,
                 0.328, 0.847, -0.436, 0.137, -0.182, 0.899, 0.34, 0.008, -0.482, 0.043]
        let test = try XCTUnwrap(Statistics.wilcoxonSignedRank(d))
        XCTAssertEqual(test.statistic, 44)
        XCTAssertEqual(test.pValue, 0.021484375, accuracy: 1e-12)
    }

    func testWilcoxonWithTiesUsesTheCorrectedNormalApproximation() throws {
        let test = try XCTUnwrap(Statistics.wilcoxonSignedRank([1, -1, 2, 2, 3, -3, 4, 4, 5, 0.5]))
        XCTAssertFalse(test.exact)
        XCTAssertEqual(test.statistic, 9)
        XCTAssertEqual(test.pValue, 0.05867619965239266, accuracy: 1e-12)
    }

    func testWilcoxonCountsAFailedRunAsTheLargestDifferenceAndBothFailedAsATie() throws {
        // +∞ ranks last (rank 3); ∞ − ∞ = NaN is dropped like a zero.
        let test = try XCTUnwrap(Statistics.wilcoxonSignedRank([.infinity, 0.1, -0.2, .nan]))
        XCTAssertEqual(test.n, 3)
        XCTAssertEqual(test.statistic, 2, "T⁻ = rank of |−0.2| = 2")
        XCTAssertNil(Statistics.wilcoxonSignedRank([0, .nan]))
    }

    func testMedianWithMisses() {
        XCTAssertEqual(Statistics.median([3, 1, 2]), 2)
        XCTAssertEqual(Statistics.median([4, 1, 3, 2]), 2.5)
        XCTAssertEqual(Statistics.median([10, .infinity, 20]), 20)
        XCTAssertEqual(Statistics.median([10, .infinity, .infinity, 20]), .infinity)
        XCTAssertNil(Statistics.median([]))
    }

    /// Hand-computed: ratios r = [[1, 2], [2, 1], [1, ∞], [1, 5]]; the area under ρ(τ) on
    /// [1, 4] is Σ_p max(0, 4 − r_p) / 4 problems / 3: (3 + 2 + 3 + 3)/12 and (2 + 3 + 0 + 0)/12.
    func testPerformanceProfileScoreOnAHandComputedExample() {
        let costs: [[Double]] = [[10, 20], [30, 15], [40, .infinity], [100, 500]]
        let scores = Statistics.performanceProfileScores(costs: costs)
        XCTAssertEqual(scores[0], 11.0 / 12, accuracy: 1e-12)
        XCTAssertEqual(scores[1], 5.0 / 12, accuracy: 1e-12)
        let ratios = Statistics.performanceRatios(costs: costs)
        XCTAssertEqual(ratios.map { $0[1] }, [2, 1, .infinity, 5])
        XCTAssertEqual(Statistics.geometricMean(ratios.map { $0[0] })!, pow(2, 0.25), accuracy: 1e-12)
        XCTAssertEqual(Statistics.geometricMean(ratios.map { $0[1] }), .infinity)
        // A problem nobody solves is a miss for all: it only lowers every score.
        XCTAssertEqual(Statistics.performanceProfileScores(costs: [[1, 2], [.infinity, .infinity]]), [0.5, 1.0 / 3])
    }

    func testSelectionTakesTheBestTrialAndCountsFailuresAsWorst() {
        let trials = [
            BenchmarkRun(problem: "p", optimizer: "adam", trial: 0, seed: 0, status: .completed, finalValue: 0.5),
            BenchmarkRun(problem: "p", optimizer: "adam", trial: 1, seed: 0, status: .diverged, finalValue: 0.01),
            BenchmarkRun(problem: "p", optimizer: "adam", trial: 2, seed: 0, status: .completed, finalValue: 0.3),
            BenchmarkRun(problem: "p", optimizer: "adam", trial: 3, seed: 0, status: .completed, finalValue: .nan),
            BenchmarkRun(problem: "p", optimizer: "sgd", trial: 0, seed: 0, status: .failed, finalValue: nil),
            BenchmarkRun(problem: "p", optimizer: "sgd", trial: 1, seed: 0, status: .diverged, finalValue: nil),
            BenchmarkRun(problem: "q", optimizer: "adam", trial: 0, seed: 0, status: .completed, finalValue: 0.2),
            BenchmarkRun(problem: "q", optimizer: "adam", trial: 1, seed: 0, status: .completed, finalValue: 0.2),
        ]
        let best = BenchmarkSelection.bestTrials(trials, goal: .min)
        XCTAssertEqual(best[BenchmarkCell(problem: "p", optimizer: "adam")], 2)
        XCTAssertEqual(best[BenchmarkCell(problem: "p", optimizer: "sgd")], 0, "all failed: the first")
        XCTAssertEqual(best[BenchmarkCell(problem: "q", optimizer: "adam")], 0, "a tie: the lower trial")
        XCTAssertEqual(BenchmarkSelection.bestTrials(trials, goal: .max)[BenchmarkCell(problem: "p", optimizer: "adam")], 0)
    }

    func testTimeToTargetWithMisses() {
        let accuracy: [(step: Int, value: Double)] = [(0, 0.3), (10, 0.8), (20, 0.95), (30, 0.97)]
        XCTAssertEqual(BenchmarkSelection.stepToTarget(accuracy, target: 0.95, direction: .max), 20)
        XCTAssertNil(BenchmarkSelection.stepToTarget(accuracy, target: 0.99, direction: .max))
        let loss: [(step: Int, value: Double)] = [(0, 2), (10, 0.5), (20, 0.1)]
        XCTAssertEqual(BenchmarkSelection.stepToTarget(loss, target: 0.5, direction: .min), 10)
        // Counters are logged every log_every steps: the last value at or before the step.
        let evals: [(step: Int, value: Double)] = [(1, 3), (5, 17), (20, 61), (25, 80)]
        XCTAssertEqual(BenchmarkSelection.counter(evals, atStep: 20), 61)
        XCTAssertEqual(BenchmarkSelection.counter(evals, atStep: 12), 17)
        XCTAssertEqual(BenchmarkSelection.counter(evals, atStep: 0), 0)
    }
}
