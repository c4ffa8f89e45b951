import XCTest
@testable import TrainLabStore

final class BenchmarkStatisticsTests: XCTestCase {
    // Reference values: scipy 1.17 `scipy.stats.wilcoxon(d)` (exact, zero_method "wilcox"),
    // the permutation method's exact values with ties (Fixtures/wilcoxon.json), and
    // `wilcoxon(d, method="asymptotic", correction=False)` above the exact limit.

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

    /// The exact sign-flip distribution over mid-ranks, against scipy's permutation method
    /// (tools/golden/make_wilcoxon_fixture.py): ties, zeros, divergences, n up to 20.
    func testWilcoxonMatchesScipyWithTiesZerosAndDivergences() throws {
        let cases = try Self.fixture()
        XCTAssertGreaterThanOrEqual(cases.count, 10)
        for c in cases {
            let test = try XCTUnwrap(Statistics.wilcoxonSignedRank(c.d), c.name)
            XCTAssertTrue(test.exact, c.name)
            XCTAssertEqual(test.statistic, c.statistic, c.name)
            XCTAssertEqual(test.pValue, c.p, accuracy: 1e-12, c.name)
            XCTAssertEqual(test.n, c.d.filter { $0 != 0 }.count, c.name)
            if let signP = c.signP {
                XCTAssertEqual(test.kind, .sign, c.name)
                XCTAssertEqual(test.pValue, signP, accuracy: 1e-12, "\(c.name): the sign test")
            } else {
                XCTAssertEqual(test.kind, .wilcoxon, c.name)
            }
        }
    }

    /// SGD diverging on all eight seeds of a problem: the smallest p eight pairs allow, 2/2⁸,
    /// not the normal approximation's 0.0047 that the write-up once showed.
    func testEightDivergencesGiveTheExactMinimumP() throws {
        let test = try XCTUnwrap(Statistics.wilcoxonSignedRank([Double](repeating: .infinity, count: 8)))
        XCTAssertEqual(test.pValue, 2.0 / 256, accuracy: 1e-15)
        XCTAssertEqual(test.kind, .sign)
        XCTAssertEqual(test.divergences, 8)
    }

    func testWilcoxonAboveTheExactLimitUsesTheTieCorrectedNormalApproximation() throws {
        // 60 differences: 1...30 and their negatives shifted: ties in |d| by construction.
        let plain: [Double] = (1...30).map { Double($0) }
        let flipped: [Double] = (1...30).map { (k: Int) -> Double in k % 3 == 0 ? -Double(k) : Double(k) }
        let d = plain + flipped
        let test = try XCTUnwrap(Statistics.wilcoxonSignedRank(d))
        XCTAssertFalse(test.exact)
        // scipy.stats.wilcoxon(d, method="asymptotic", correction=False).pvalue
        XCTAssertEqual(test.pValue, 1.4004719628953829e-05, accuracy: 1e-12)
    }

    func testWilcoxonCountsAFailedRunAsTheLargestDifferenceAndBothFailedAsATie() throws {
        // +∞ ranks last (rank 3); ∞ − ∞ = NaN is dropped like a zero.
        let test = try XCTUnwrap(Statistics.wilcoxonSignedRank([.infinity, 0.1, -0.2, .nan]))
        XCTAssertEqual(test.n, 3)
        XCTAssertEqual(test.statistic, 2, "T⁻ = rank of |−0.2| = 2")
        XCTAssertNil(Statistics.wilcoxonSignedRank([0, .nan]))
    }

    /// Against numpy's median of the Walsh averages and the interval's order statistics from a
    /// brute-force null distribution (Fixtures/wilcoxon.json).
    func testHodgesLehmannMatchesTheReference() throws {
        let cases = try Self.fixture().filter { $0.hl != nil }
        XCTAssertGreaterThanOrEqual(cases.count, 5)
        for c in cases {
            let hl = try XCTUnwrap(Statistics.hodgesLehmann(c.d), c.name)
            XCTAssertEqual(hl.estimate, c.hl!, accuracy: 1e-12, c.name)
            XCTAssertEqual(hl.lower, (c.lo ?? nil) ?? -.infinity, accuracy: 1e-12, c.name)
            XCTAssertEqual(hl.upper, (c.hi ?? nil) ?? .infinity, accuracy: 1e-12, c.name)
            XCTAssertEqual(hl.coverage, c.coverage!, accuracy: 1e-12, c.name)
        }
        XCTAssert(cases.contains { $0.lo! == nil }, "a sample too small for a bounded interval (n = 5)")
    }

    /// A heavy tail: every difference is positive but one is huge. The Student t interval of the
    /// mean reaches below zero; the Hodges–Lehmann interval stays within [min d, max d] and above 0.
    func testHodgesLehmannIntervalIgnoresAHeavyTail() throws {
        let d = [0.01, 0.02, 0.015, 0.012, 0.018, 0.011, 0.014, 0.6]
        let mean = try XCTUnwrap(Statistics.mean(d)), half = try XCTUnwrap(Statistics.confidenceHalfWidth95(d))
        XCTAssertLessThan(mean - half, 0, "the t interval crosses zero")
        let hl = try XCTUnwrap(Statistics.hodgesLehmann(d))
        XCTAssertGreaterThan(hl.lower, 0)
        XCTAssertEqual(hl.lower, 0.011, accuracy: 1e-15, "W(4) of the 36 Walsh averages: c = 3 for n = 8")
        XCTAssertLessThan(hl.upper, 0.6)
    }

    func testHodgesLehmannWithDivergencesAndFailures() throws {
        let allDiverged = try XCTUnwrap(Statistics.hodgesLehmann([Double](repeating: .infinity, count: 8)))
        XCTAssertEqual(allDiverged.estimate, .infinity)
        XCTAssertEqual(allDiverged.lower, .infinity, "every Walsh average is +∞")
        // NaN (both failed) is a zero; +∞ with −∞ averages to 0: d = [0, 0, 0, +∞, −∞, +∞] has 21
        // Walsh averages, sorted four −∞, eight 0 (six among the zeros, two +∞ with −∞), nine +∞:
        // the 11th, the median, is 0.
        let mixed = try XCTUnwrap(Statistics.hodgesLehmann([.nan, 0, 0, .infinity, -.infinity, .infinity]))
        XCTAssertEqual(mixed.estimate, 0)
        XCTAssertNil(Statistics.hodgesLehmann([]))
    }

    /// Hand-computed: sorted 0.01, 0.02, 0.03, 0.04 times 4, 3, 2, 1 give 0.04, 0.06, 0.06, 0.06
    /// (the running maximum keeps the order); in input order.
    func testHolmAdjustment() {
        let adjusted = Statistics.holmAdjusted([0.03, 0.01, 0.04, 0.02])
        for (a, b) in zip(adjusted, [0.06, 0.04, 0.06, 0.06]) { XCTAssertEqual(a, b, accuracy: 1e-15) }
        XCTAssertEqual(Statistics.holmAdjusted([0.5, 0.6]), [1, 1], "capped at 1")
        XCTAssertEqual(Statistics.holmAdjusted([]), [])
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

    /// The crossing is interpolated between the last miss and the first hit, and the counters
    /// are read there (linearly between their logs).
    func testCostToTargetInterpolatesBetweenEvaluations() throws {
        let loss: [(step: Int, value: Double)] = [(0, 1), (10, 0.8), (20, 0.4), (30, 0.3)]
        let evals: [(step: Int, value: Double)] = [(5, 10), (10, 20), (15, 30), (20, 40)]
        let time: [(step: Int, value: Double)] = [(10, 1), (20, 3)]
        // f = (0.5 − 0.8)/(0.4 − 0.8) = 0.75: step 17.5; evals 30 + 10·2.5/5 = 35; time 1 + 2·0.75 = 2.5.
        let cost = try XCTUnwrap(BenchmarkSelection.costToTarget(loss, target: 0.5, direction: .min, evals: evals, time: time))
        XCTAssertEqual(cost.steps, 17.5, accuracy: 1e-12)
        XCTAssertEqual(cost.evals, 35, accuracy: 1e-12)
        XCTAssertEqual(cost.seconds, 2.5, accuracy: 1e-12)
        let accuracy: [(step: Int, value: Double)] = [(0, 0.3), (10, 0.8), (20, 0.95)]
        XCTAssertEqual(try XCTUnwrap(BenchmarkSelection.costToTarget(accuracy, target: 0.9, direction: .max, evals: [], time: [])).steps,
                       10 + 10 * (0.1 / 0.15), accuracy: 1e-12)
        XCTAssertNil(BenchmarkSelection.costToTarget(accuracy, target: 0.99, direction: .max, evals: [], time: []))
        // Reached at the first evaluation: nothing to interpolate from.
        XCTAssertEqual(BenchmarkSelection.costToTarget([(0, 0.2)], target: 0.5, direction: .min, evals: evals, time: time)?.steps, 0)
        XCTAssertEqual(BenchmarkSelection.costToTarget([(20, 0.2)], target: 0.5, direction: .min, evals: evals, time: time)?.evals, 40)
        // A NaN before the hit: the hit's step.
        XCTAssertEqual(BenchmarkSelection.costToTarget([(0, 1), (10, .nan), (20, 0.1)], target: 0.5, direction: .min,
                                                       evals: [], time: [])?.steps, 20)
        // Past the last log the counter keeps its last value; 0 before the first.
        XCTAssertEqual(BenchmarkSelection.counter(evals, atFractionalStep: 25), 40)
        XCTAssertEqual(BenchmarkSelection.counter(evals, atFractionalStep: 2.5), 5)
    }

    /// The coarse-evaluation trap: A reaches the target at step 21, B at step 19, evaluated every
    /// 20 steps. First logged hits give 40 against 20 (a ratio of 2); interpolation 21 and 19.
    func testInterpolationKeepsTheRatioOfCloseOptimizersNearOne() throws {
        func history(reachingHalfAt step: Double) -> [(step: Int, value: Double)] {
            [0, 20, 40].map { ($0, 1 - Double($0) / (2 * step)) }
        }
        let counter: [(step: Int, value: Double)] = (1...40).map { ($0, Double($0)) }
        let a = try XCTUnwrap(BenchmarkSelection.costToTarget(history(reachingHalfAt: 21), target: 0.5, direction: .min, evals: counter, time: []))
        let b = try XCTUnwrap(BenchmarkSelection.costToTarget(history(reachingHalfAt: 19), target: 0.5, direction: .min, evals: counter, time: []))
        XCTAssertEqual(a.evals, 21, accuracy: 1e-9)
        XCTAssertEqual(b.evals, 19, accuracy: 1e-9)
        XCTAssertEqual(BenchmarkSelection.stepToTarget(history(reachingHalfAt: 21), target: 0.5, direction: .min), 40)
        XCTAssertEqual(BenchmarkSelection.stepToTarget(history(reachingHalfAt: 19), target: 0.5, direction: .min), 20)
        XCTAssertEqual(Statistics.performanceRatios(costs: [[a.evals, b.evals]])[0][0], 21.0 / 19, accuracy: 1e-9)
    }

    /// Without seed noise every resample is the data: degenerate intervals at the point values.
    func testBootstrapProfileWithoutNoiseIsThePointValue() {
        let perSeed: [[[Double?]]] = [[Array(repeating: 10, count: 8), Array(repeating: 20, count: 8), Array(repeating: .infinity, count: 8)]]
        let intervals = Statistics.bootstrapPerformanceProfile(perSeedCosts: perSeed)
        XCTAssertEqual(intervals.map(\.score), [[1, 1], [2.0 / 3, 2.0 / 3], [0, 0]])
        XCTAssertEqual(intervals.map(\.solved), [[1, 1], [1, 1], [0, 0]])
    }

    /// Two solvers whose order depends on the seed: the intervals are proper, inside [0, 1],
    /// contain the full-sample score, and are the same on every call (fixed generator seed).
    func testBootstrapProfileIsDeterministicAndCoversTheScore() throws {
        let a: [Double?] = [10, 12, 30, 11, 9, 28, 10, 13]
        let b: [Double?] = [20, 11, 12, 21, 10, 12, 25, .infinity]
        let perSeed: [[[Double?]]] = [[a, b], [b, a]]
        let first = Statistics.bootstrapPerformanceProfile(perSeedCosts: perSeed)
        XCTAssertEqual(first.map(\.score), Statistics.bootstrapPerformanceProfile(perSeedCosts: perSeed).map(\.score))
        XCTAssertNotEqual(first.map(\.score), Statistics.bootstrapPerformanceProfile(perSeedCosts: perSeed, seed: 1).map(\.score))
        let costs = perSeed.map { $0.map { max(1, Statistics.median($0.map { $0! })!) } }
        let scores = Statistics.performanceProfileScores(costs: costs)
        for (s, interval) in first.enumerated() {
            XCTAssertLessThan(interval.score[0], interval.score[1], "seed noise gives a proper interval")
            XCTAssert(interval.score[0] >= 0 && interval.score[1] <= 1)
            XCTAssert((interval.score[0]...interval.score[1]).contains(scores[s]))
        }
        XCTAssertEqual(Statistics.quantile([1, 2, 3, 4], 0.25), 1.75, accuracy: 1e-15)
    }

    struct FixtureCase {
        var name: String
        var d: [Double]
        var statistic: Double
        var p: Double
        var signP: Double?
        var hl: Double?
        var lo: Double??
        var hi: Double??
        var coverage: Double?
    }

    /// Tests/TrainLabStoreTests/Fixtures/wilcoxon.json, "inf"/"-inf" for infinite differences.
    static func fixture() throws -> [FixtureCase] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/wilcoxon.json")
        let cases = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [[String: Any]])
        func number(_ any: Any?) -> Double? {
            switch any {
            case let x as NSNumber: return x.doubleValue
            case let s as String: return s == "inf" ? .infinity : s == "-inf" ? -.infinity : nil
            default: return nil
            }
        }
        func bound(_ any: Any?) -> Double?? {
            guard let any else { return nil }
            return any is NSNull ? .some(nil) : .some(number(any))
        }
        return try cases.map { c in
            FixtureCase(name: try XCTUnwrap(c["name"] as? String),
                        d: try XCTUnwrap(c["d"] as? [Any]).compactMap(number),
                        statistic: try XCTUnwrap(number(c["statistic"])), p: try XCTUnwrap(number(c["p"])),
                        signP: number(c["sign_p"]), hl: number(c["hl"]), lo: bound(c["lo"]), hi: bound(c["hi"]),
                        coverage: number(c["coverage"]))
        }
    }
}
