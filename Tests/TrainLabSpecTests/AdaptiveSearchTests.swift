import XCTest
@testable import TrainLabSpec

final class AdaptiveSearchTests: XCTestCase {
    func r(_ trial: Int, _ value: Double?) -> RungResult { RungResult(trial: trial, value: value) }

    func testRungStepsMultiplyByEtaAndEndAtTheRunsSteps() {
        XCTAssertEqual(AdaptiveSearch.rungSteps(minSteps: 10, eta: 3, maxSteps: 200), [10, 30, 90, 200])
        // A ladder that lands exactly on the run's steps does not repeat it.
        XCTAssertEqual(AdaptiveSearch.rungSteps(minSteps: 1, eta: 3, maxSteps: 81), [1, 3, 9, 27, 81])
        XCTAssertEqual(AdaptiveSearch.rungSteps(minSteps: 50, eta: 2, maxSteps: 50), [50])
    }

    func testTheBestThirdGoOnAndDivergedTrialsNever() {
        // 9 trials, η = 3: three go on; trial 4 diverged (nil) and 7 logged NaN: both worst.
        let results = [r(0, 0.9), r(1, 0.2), r(2, 0.5), r(3, 0.3), r(4, nil), r(5, 0.8), r(6, 0.1), r(7, .nan), r(8, 0.7)]
        XCTAssertEqual(AdaptiveSearch.promoted(results, eta: 3, goal: .min), [1, 3, 6])
        XCTAssertEqual(AdaptiveSearch.promoted(results, eta: 3, goal: .max), [0, 5, 8])
        // Only diverged trials: nobody is promoted, though keepCount would allow one.
        XCTAssertEqual(AdaptiveSearch.promoted([r(0, nil), r(1, nil), r(2, nil)], eta: 3, goal: .min), [])
        // Two of three measured, keep 2 of 6: the two measured.
        XCTAssertEqual(AdaptiveSearch.promoted([r(0, nil), r(1, 2), r(2, nil), r(3, nil), r(4, 1), r(5, nil)], eta: 3, goal: .min), [1, 4])
    }

    func testTiesGoToTheLowerTrialNumberWhateverTheInputOrder() {
        let a = AdaptiveSearch.promoted([r(5, 1), r(2, 1), r(9, 3)], eta: 3, goal: .min)
        let b = AdaptiveSearch.promoted([r(9, 3), r(2, 1), r(5, 1)], eta: 3, goal: .min)
        XCTAssertEqual(a, [2])
        XCTAssertEqual(b, [2])
    }

    func testKeepCountIsAtLeastOne() {
        XCTAssertEqual([1, 2, 3, 8, 9, 27, 34].map { AdaptiveSearch.keepCount($0, eta: 3) }, [1, 1, 1, 2, 3, 9, 11])
    }

    func testAFullLadderHalvesAsExpected() {
        // 27 trials, rungs 1, 3, 9, 27: 27 → 9 → 3 → 1 trained, value = trial number (min wins).
        var alive = Array(0..<27)
        var counts: [Int] = []
        for _ in AdaptiveSearch.rungSteps(minSteps: 1, eta: 3, maxSteps: 27).dropLast() {
            counts.append(alive.count)
            alive = AdaptiveSearch.promoted(alive.map { r($0, Double($0)) }, eta: 3, goal: .min)
        }
        counts.append(alive.count)
        XCTAssertEqual(counts, [27, 9, 3, 1])
        XCTAssertEqual(alive, [0])
    }

    /// The replay a rung job decides from (`trainlab run --rung R`): what each trial recorded at
    /// the rungs before. 9 trials, η = 3; at rung 0 trial 4 diverged; at rung 1 trial 6 failed.
    func testTheTrialsAliveAtARungAreReplayedFromTheRecordedRungs() {
        let recorded: [Int: [Double?]] = [0: [0.9], 1: [0.2, 0.5], 2: [0.5], 3: [0.3, 0.4], 4: [nil], 5: [0.8], 6: [0.1, nil],
                                          7: [0.6], 8: [0.7]]
        func value(_ trial: Int, _ rung: Int) -> Double? {
            rung < recorded[trial]!.count ? recorded[trial]![rung] : nil
        }
        let trials = Array(0..<9)
        XCTAssertEqual(AdaptiveSearch.alive(at: 0, trials: trials, firstRung: 0, eta: 3, goal: .min, value: value), trials)
        XCTAssertEqual(AdaptiveSearch.alive(at: 1, trials: trials, firstRung: 0, eta: 3, goal: .min, value: value), [1, 3, 6])
        // Rung 1: 1 (0.5) and 3 (0.4) measured, 6 failed: ⌊3/3⌋ = 1 goes on.
        XCTAssertEqual(AdaptiveSearch.alive(at: 2, trials: trials, firstRung: 0, eta: 3, goal: .min, value: value), [3])
        // A Hyperband bracket that starts at rung 1 has no trials at rung 0, all of them at rung 1.
        XCTAssertEqual(AdaptiveSearch.alive(at: 0, trials: [9, 10], firstRung: 1, eta: 3, goal: .min, value: value), [])
        XCTAssertEqual(AdaptiveSearch.alive(at: 1, trials: [9, 10], firstRung: 1, eta: 3, goal: .min, value: value), [9, 10])
        // Nothing measured at rung 0: nothing alive after it, and no rung is asked about.
        XCTAssertEqual(AdaptiveSearch.alive(at: 2, trials: [4], firstRung: 0, eta: 3, goal: .min) { _, rung in
            XCTAssertEqual(rung, 0)
            return nil
        }, [])
        XCTAssertEqual((0...3).map { AdaptiveSearch.aliveBound(at: $0, trials: 9, firstRung: 0, eta: 3) }, [9, 3, 1, 1])
        XCTAssertEqual((0...2).map { AdaptiveSearch.aliveBound(at: $0, trials: 5, firstRung: 1, eta: 3) }, [0, 5, 1])
    }

    func testHyperbandBracketsAreLiEtAlTable1() {
        // R = 81, η = 3 (Li et al. 2018, Table 1): n = 81, 34, 15, 8, 5 at r = 1, 3, 9, 27, 81.
        let brackets = AdaptiveSearch.hyperbandBrackets(rungCount: 5, eta: 3)
        XCTAssertEqual(brackets.map(\.trials), [81, 34, 15, 8, 5])
        XCTAssertEqual(brackets.map(\.firstRung), [0, 1, 2, 3, 4])
        XCTAssertEqual(brackets.map(\.s), [4, 3, 2, 1, 0])
        // And inside each bracket the n_i of the table: s = 3: 34, 11, 3, 1.
        var n = brackets[1].trials
        var ladder = [n]
        for _ in 0..<brackets[1].s { n = AdaptiveSearch.keepCount(n, eta: 3); ladder.append(n) }
        XCTAssertEqual(ladder, [34, 11, 3, 1])
    }

    func testAshaPromotesOnceARungHasEtaResults() {
        // Two results at rung 0: ⌊2/3⌋ = 0 above the cut, nothing to promote.
        XCTAssertNil(AdaptiveSearch.ashaPromotion(rungs: [[r(0, 0.5), r(1, 0.4)], []], promotedFrom: [[], []], eta: 3, goal: .min))
        // A third: the best (trial 1) goes on.
        let three = [r(0, 0.5), r(1, 0.4), r(2, 0.9)]
        XCTAssertEqual(AdaptiveSearch.ashaPromotion(rungs: [three, []], promotedFrom: [[], []], eta: 3, goal: .min)?.trial, 1)
        // Once promoted it is not again; the next in line waits for 6 results.
        XCTAssertNil(AdaptiveSearch.ashaPromotion(rungs: [three, [r(1, 0.3)]], promotedFrom: [[1], []], eta: 3, goal: .min))
        // Higher rungs first: rung 1 has 3 results, its best goes to rung 2 before rung 0's.
        let rung0 = (0..<6).map { r($0, Double($0)) }
        let rung1 = [r(0, 0.3), r(1, 0.1), r(7, 0.2)]
        let next = AdaptiveSearch.ashaPromotion(rungs: [rung0, rung1, []], promotedFrom: [[0], [], []], eta: 3, goal: .min)
        XCTAssertEqual(next?.rung, 1)
        XCTAssertEqual(next?.trial, 1)
        // Diverged trials above the cut (all three here) are never promoted.
        XCTAssertNil(AdaptiveSearch.ashaPromotion(rungs: [[r(0, nil), r(1, nil), r(2, nil)], []], promotedFrom: [[], []], eta: 3, goal: .min))
    }

    func testIsPromotableJudgesAgainstTheResultsSoFar() {
        // The first trial at a rung is promoted (the best of one); a later one must be in the top ⌊m/η⌋ (≥ 1).
        XCTAssertTrue(AdaptiveSearch.isPromotable(0, among: [r(0, 0.5)], eta: 3, goal: .min))
        XCTAssertFalse(AdaptiveSearch.isPromotable(1, among: [r(0, 0.5), r(1, 0.6)], eta: 3, goal: .min))
        XCTAssertTrue(AdaptiveSearch.isPromotable(1, among: [r(0, 0.5), r(1, 0.4)], eta: 3, goal: .min))
        XCTAssertFalse(AdaptiveSearch.isPromotable(0, among: [r(0, nil)], eta: 3, goal: .min))
    }

    func testTPEOrdersByRungThenValue() {
        let obs: [TreeParzenEstimator.Observation] = [
            .init(point: [0.1], rung: 0, value: 0.01),  // pruned early: worse than any that went on
            .init(point: [0.2], rung: 2, value: 0.5),
            .init(point: [0.3], rung: 2, value: nil),   // diverged at rung 2
            .init(point: [0.4], rung: 2, value: 0.3),
        ]
        XCTAssertEqual(TreeParzenEstimator.order(obs, goal: .min), [3, 1, 2, 0])
        XCTAssertEqual([1, 4, 5, 8, 9].map(TreeParzenEstimator.goodCount), [1, 1, 2, 2, 3])
    }

    func testTPEProposesNearTheGoodTrials() {
        // Trials at u = 0.05, 0.15, …, 0.95 whose loss is |u − 0.3|: the good quarter sits at
        // 0.25 and 0.35 (and 0.15), so every proposal should come from around there, and the
        // same seed gives the same proposals.
        let obs = (0..<10).map { i -> TreeParzenEstimator.Observation in
            let u = 0.05 + 0.1 * Double(i)
            return .init(point: [u], value: abs(u - 0.3))
        }
        let proposals = (0..<20).map { TreeParzenEstimator.suggest(obs, dimensions: [.continuous], goal: .min, seed: UInt64($0))[0] }
        XCTAssertEqual(proposals, (0..<20).map { TreeParzenEstimator.suggest(obs, dimensions: [.continuous], goal: .min, seed: UInt64($0))[0] })
        XCTAssertEqual(Set(proposals).count, 20, "each seed its own draw")
        let near = proposals.filter { abs($0 - 0.3) < 0.2 }.count
        XCTAssertGreaterThanOrEqual(near, 18, "proposals \(proposals)")
        XCTAssertTrue(proposals.allSatisfy { $0 >= 0 && $0 < 1 })
    }

    func testTPEPrefersTheGoodCategory() {
        // A list of 3 values; the good trials all took value 2 (u in [2/3, 1)).
        let obs = [0.1, 0.5, 0.8, 0.2, 0.9, 0.4, 0.85, 0.45].enumerated().map { i, u in
            TreeParzenEstimator.Observation(point: [u], value: u >= 2.0 / 3 ? 0.1 * Double(i) : 10 + Double(i))
        }
        let u = TreeParzenEstimator.suggest(obs, dimensions: [.categorical(3)], goal: .min, seed: 1)[0]
        XCTAssertEqual(u, 2.5 / 3, accuracy: 1e-12)
    }

    func testParzenDensityIntegratesToOne() {
        // Truncated components each integrate to 1 on [0, 1]: so does the mixture (midpoint rule).
        let density = TreeParzenEstimator.ParzenDensity([0.02, 0.3, 0.31, 0.9])
        let n = 20_000
        let integral = (0..<n).reduce(0.0) { $0 + density.density((Double($1) + 0.5) / Double(n)) } / Double(n)
        XCTAssertEqual(integral, 1, accuracy: 1e-3)
    }
}

extension AdaptiveSearchTests {
    /// Consecutive trials' proposal seeds are unrelated: with SplitMix64 seeded s + k·γ they
    /// would replay one sequence shifted by a draw, and the same observations would then give
    /// trial k and k+1 the same proposal (seen in a TPE sweep before the seeds were hashed).
    func testConsecutiveTrialsProposeDifferentPoints() {
        let obs = (0..<6).map { i in TreeParzenEstimator.Observation(point: [0.1 + 0.15 * Double(i)], value: Double(i)) }
        let points = (0..<10).map { TreeParzenEstimator.suggest(obs, dimensions: [.continuous], goal: .min,
                                                                seed: TreeParzenEstimator.proposalSeed(trial: $0, searchSeed: 1))[0] }
        XCTAssertEqual(Set(points).count, 10, "\(points)")
        XCTAssertEqual(TreeParzenEstimator.proposalSeed(trial: 3, searchSeed: 1), TreeParzenEstimator.proposalSeed(trial: 3, searchSeed: 1))
        XCTAssertNotEqual(TreeParzenEstimator.proposalSeed(trial: 3, searchSeed: 1), TreeParzenEstimator.proposalSeed(trial: 3, searchSeed: 2))
    }
}
