import XCTest
@testable import TrainLabStore

final class TuningCurveTests: XCTestCase {
    /// The closed form equals the mean over every k-subset (brute force over all 2^7 subsets).
    func testExpectedBestIsTheMeanOverEveryKSubset() throws {
        let values = [0.31, 0.9, 0.05, 0.5, 0.5, 0.72, 0.18]
        for goal in [MetricDirection.min, .max] {
            for k in 1...values.count {
                var sum = 0.0, count = 0
                for mask in 0..<(1 << values.count) where mask.nonzeroBitCount == k {
                    let chosen = values.indices.filter { mask & (1 << $0) != 0 }.map { values[$0] }
                    sum += goal == .min ? chosen.min()! : chosen.max()!
                    count += 1
                }
                let expected = try XCTUnwrap(BenchmarkSelection.expectedBest(values, k: k, goal: goal))
                XCTAssertEqual(expected, sum / Double(count), accuracy: 1e-12, "k = \(k), \(goal)")
            }
        }
        XCTAssertNil(BenchmarkSelection.expectedBest(values, k: 8, goal: .min))
        XCTAssertNil(BenchmarkSelection.expectedBest([], k: 1, goal: .min))
    }

    /// Two studies of two trials: pooled {0.4, fail, 0.2, 0.6}, the failure as the problem's
    /// worst completed trial (0.6): k = 1 the mean 0.45, k = 2 over the 6 pairs 0.3; study bests
    /// 0.4 (study 0) and 0.2 (study 1), the failure the worst.
    func testTuningCurvesPoolTheStudiesAndCountAFailureAsTheWorst() {
        func run(_ trial: Int, _ value: Double?) -> BenchmarkRun {
            BenchmarkRun(problem: "p", optimizer: "o", trial: trial, seed: 0, status: value == nil ? .diverged : .completed, finalValue: value)
        }
        let curves = BenchmarkSelection.tuningCurves([(run(0, 0.4), 0), (run(1, nil), 0), (run(0, 0.2), 1), (run(1, 0.6), 1)], goal: .min)
        XCTAssertEqual(curves.count, 1)
        XCTAssertEqual(curves[0].studies, 2)
        XCTAssertEqual(curves[0].expectedBest.count, 2, "k up to one study's trials")
        XCTAssertEqual(curves[0].expectedBest[0], 0.45, accuracy: 1e-12)
        XCTAssertEqual(curves[0].expectedBest[1], (0.4 + 0.2 + 0.4 + 0.2 + 0.6 + 0.2) / 6, accuracy: 1e-12)
        XCTAssertEqual(curves[0].studyBests, [0.4, 0.2])
    }
}
