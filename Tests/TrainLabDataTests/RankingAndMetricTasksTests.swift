import XCTest
import Foundation
import TrainLabAutodiff
@testable import TrainLabData

final class RankingAndMetricTasksTests: XCTestCase {
    static let kinds = ["ranking_lists", "pairs", "triplets", "contrastive_views"]

    func options(_ kind: String, train: Int = 64, val: Int = 16, _ configure: (inout TaskOptions) -> Void = { _ in }) -> TaskOptions {
        var o = TaskOptions(kind: kind)
        o.trainSize = train
        o.valSize = val
        configure(&o)
        return o
    }

    func bits(_ d: Dataset) -> [UInt64] {
        var out = d.inputs.scalars.map { UInt64($0.bitPattern) }
        switch d.targets {
        case .real(let t): out += t.scalars.map { UInt64($0.bitPattern) }
        case .classes(let ids): out += ids.map { UInt64(bitPattern: Int64($0)) }
        }
        return out
    }

    func testRegisteredAndDocumented() {
        for name in Self.kinds {
            XCTAssert(SyntheticTasks.names.contains(name), name)
            let keys = SyntheticTasks.descriptor(name)?.options.map(\.key) ?? []
            XCTAssert(keys.contains("train_size") && keys.contains("input_dim") && keys.contains("noise"), name)
        }
        XCTAssertEqual(SyntheticTasks.descriptor("ranking_lists")?.defaultValue("list_size"), 8)
    }

    func testShapesAndLayouts() throws {
        // kind, TaskKind, items per row, input_dim, output_dim, targets per row (real columns or ids)
        let expected: [(String, TaskKind, Int, Int, Int, Int)] = [
            ("ranking_lists", .ranking, 8, 16, 1, 8), ("pairs", .metricPairs, 2, 16, 16, 2),
            ("triplets", .metricTriplets, 3, 16, 16, 3), ("contrastive_views", .contrastive, 2, 16, 16, 0),
        ]
        for (name, kind, k, d, m, perRow) in expected {
            let task = try SyntheticTasks.make(options(name), seed: 1)
            XCTAssertEqual(task.kind, kind, name)
            XCTAssertEqual(task.inputDim, d, name)
            XCTAssertEqual(task.outputDim, m, name)
            XCTAssertEqual(task.groupSize, k, name)
            for (split, n) in [(task.train, 64), (try XCTUnwrap(task.validation), 16)] {
                XCTAssertEqual(split.inputs.shape, [n, k * d], name)
                XCTAssert(split.inputs.scalars.allSatisfy { $0.isFinite }, name)
                switch split.targets {
                case .real(let t):
                    XCTAssertEqual(t.shape, [n, perRow], name)
                case .classes(let ids):
                    XCTAssertEqual(ids.count, n * perRow, name)
                }
            }
            XCTAssertNil(try SyntheticTasks.make(options(name, val: 0), seed: 1).validation, name)
        }
        let small = try SyntheticTasks.make(options("ranking_lists") { $0.inputDim = 3; $0.extra["list_size"] = 5 }, seed: 2)
        XCTAssertEqual(small.train.inputs.shape, [64, 15])
        XCTAssertEqual(small.train.targetsTensor.shape, [64, 5])
        XCTAssertEqual(small.groupSize, 5)
        let narrow = try SyntheticTasks.make(options("pairs") { $0.inputDim = 4; $0.outputDim = 1 }, seed: 2)
        XCTAssertEqual(narrow.train.inputs.shape, [64, 8])
        XCTAssertEqual(narrow.outputDim, 1)
        XCTAssertEqual(try SyntheticTasks.make(options("blobs"), seed: 0).groupSize, 1)
    }

    /// A gathered batch (B, k·D) read as (k·B, D) has item j of group b in row b·k + j: here the
    /// two views of one point are consecutive rows, far closer than views of different points.
    func testGatheredBatchReshapesToConsecutiveItems() throws {
        let o = options("contrastive_views", train: 40, val: 0) { $0.inputDim = 8; $0.noise = 0.1 }
        let (task, points) = try SyntheticTasks.contrastiveViews(o, seed: 3)
        let rows = [17, 3, 39, 0]
        let batch = Tensor(shape: [rows.count, 16])
        var none: [Int] = [1]
        task.train.gather(rows[...], inputs: batch, realTargets: nil, classTargets: &none)
        XCTAssertTrue(none.isEmpty)
        for (b, i) in rows.enumerated() {
            for j in 0..<2 {
                for c in 0..<8 {
                    // row b·2 + j of the (2B, 8) view, column c
                    let v = Double(batch[(b * 2 + j) * 8 + c])
                    XCTAssertEqual(v, points[i * 8 + c], accuracy: 0.6, "view \(j) of row \(i)")
                }
            }
        }
    }

    func testDeterministicAndTrainIndependentOfValidationSize() throws {
        for name in Self.kinds {
            let a = try SyntheticTasks.make(options(name), seed: 42)
            let b = try SyntheticTasks.make(options(name), seed: 42)
            let c = try SyntheticTasks.make(options(name), seed: 43)
            XCTAssertEqual(bits(a.train), bits(b.train), name)
            XCTAssertEqual(bits(a.validation!), bits(b.validation!), name)
            XCTAssertNotEqual(bits(a.train), bits(c.train), name)
            XCTAssertNotEqual(bits(a.validation!), bits(c.validation!), name)
            XCTAssertEqual(a.notes, b.notes, name)
            let without = try SyntheticTasks.make(options(name, val: 0), seed: 7)
            let with = try SyntheticTasks.make(options(name, val: 50), seed: 7)
            XCTAssertEqual(bits(without.train), bits(with.train), name)
            XCTAssertEqual(without.notes, with.notes, name)
        }
    }

    func testPairsBalancedLabelsFollowLatentClassesAndHiddenOrder() throws {
        let d = 16
        let (task, weights, trainClasses, validationClasses) = try SyntheticTasks.pairs(options("pairs", train: 1001, val: 100), seed: 5)
        for (split, classes, n) in [(task.train, trainClasses, 1001), (task.validation!, validationClasses, 100)] {
            let labels = split.targetsTensor
            XCTAssertEqual(labels.shape, [n, 2])
            XCTAssertEqual(classes.count, 2 * n)
            var similar = 0, ordered = 0
            for i in 0..<n {
                let same = labels[2 * i], order = labels[2 * i + 1]
                XCTAssert(same == 1 || same == -1)
                XCTAssert(order == 1 || order == -1)
                XCTAssertEqual(same == 1, classes[2 * i] == classes[2 * i + 1], "pair \(i)")
                XCTAssert((0..<10).contains(classes[2 * i]) && (0..<10).contains(classes[2 * i + 1]))
                if same == 1 { similar += 1 }
                var s1 = 0.0, s2 = 0.0
                for j in 0..<d {
                    s1 += Double(split.inputs[i * 2 * d + j]) * weights[j]
                    s2 += Double(split.inputs[i * 2 * d + d + j]) * weights[j]
                }
                XCTAssertEqual(order, s1 >= s2 ? 1 : -1, "order of pair \(i)")
                if order == 1 { ordered += 1 }
            }
            XCTAssert(similar == n / 2 || similar == (n + 1) / 2, "similar pairs: \(similar) of \(n)")
            XCTAssert(abs(ordered - n / 2) < n / 5, "order labels: \(ordered) of \(n) are +1")
            let firstSix = (0..<6).map { labels[2 * $0] }
            XCTAssertNotEqual(firstSix, [1, -1, 1, -1, 1, -1], "pair kinds are shuffled")
            XCTAssertNotEqual(firstSix, [-1, 1, -1, 1, -1, 1], "pair kinds are shuffled")
        }
        XCTAssertEqual(task.notes["positive_fraction"]!, 0.5, accuracy: 1.0 / 1001)
        // Every class shows up on both sides.
        XCTAssertEqual(Set(stride(from: 0, to: 2002, by: 2).map { trainClasses[$0] }), Set(0..<10))
        XCTAssertEqual(Set(stride(from: 1, to: 2002, by: 2).map { trainClasses[$0] }), Set(0..<10))
    }

    func testPairsItemsClusterByClass() throws {
        // Small noise around unit-spread centres: same-class items are far closer than others.
        let o = options("pairs", train: 200, val: 0) { $0.noise = 0.05; $0.classes = 4 }
        let (task, _, classes, _) = try SyntheticTasks.pairs(o, seed: 8)
        let x = task.train.inputs
        for i in 0..<200 {
            var squared = 0.0
            for j in 0..<16 { squared += pow(Double(x[i * 32 + j] - x[i * 32 + 16 + j]), 2) }
            if classes[2 * i] == classes[2 * i + 1] { XCTAssertLessThan(squared, 1, "pair \(i)") }
            else { XCTAssertGreaterThan(squared, 1, "pair \(i)") }
        }
    }

    func testTripletsPositiveSharesTheAnchorClassNegativeDoesNot() throws {
        let task = try SyntheticTasks.make(options("triplets", train: 300, val: 0) { $0.noise = 0.05; $0.classes = 5 }, seed: 6)
        guard case .classes(let ids) = task.train.targets else { return XCTFail("triplets carry class ids") }
        XCTAssertEqual(ids.count, 900)
        let x = task.train.inputs, d = 16
        func distance(_ i: Int, _ a: Int, _ b: Int) -> Double {
            (0..<d).reduce(0.0) { $0 + pow(Double(x[i * 3 * d + a * d + $1] - x[i * 3 * d + b * d + $1]), 2) }.squareRoot()
        }
        for i in 0..<300 {
            XCTAssertEqual(ids[3 * i], ids[3 * i + 1], "triplet \(i): positive shares the anchor's class")
            XCTAssertNotEqual(ids[3 * i], ids[3 * i + 2], "triplet \(i): negative has another class")
            XCTAssertLessThan(distance(i, 0, 1), distance(i, 0, 2), "triplet \(i)")
        }
        XCTAssertEqual(Set(ids), Set(0..<5))
    }

    func testViewsAreTheLatentPointPlusNoise() throws {
        let (n, d, sigma) = (500, 16, 0.3)
        let (task, points) = try SyntheticTasks.contrastiveViews(options("contrastive_views", train: n, val: 0) { $0.noise = sigma }, seed: 4)
        let x = task.train.inputs
        var fromPoint = 0.0, betweenViews = 0.0, acrossRows = 0.0
        for i in 0..<n {
            for j in 0..<d {
                let v1 = Double(x[i * 2 * d + j]), v2 = Double(x[i * 2 * d + d + j])
                fromPoint += pow(v1 - points[i * d + j], 2) + pow(v2 - points[i * d + j], 2)
                betweenViews += pow(v1 - v2, 2)
                acrossRows += pow(v1 - Double(x[((i + 1) % n) * 2 * d + d + j]), 2)
            }
        }
        let count = Double(n * d)
        XCTAssertEqual(fromPoint / (2 * count), sigma * sigma, accuracy: 0.1 * sigma * sigma)
        XCTAssertEqual(betweenViews / count, 2 * sigma * sigma, accuracy: 0.2 * sigma * sigma)
        XCTAssertEqual(acrossRows / count, 2 * (1 + sigma * sigma), accuracy: 0.2)
        XCTAssertEqual(task.notes["view_noise_variance"]!, sigma * sigma, accuracy: 1e-12)
    }

    func testRankingGradesSpreadAndFollowTheHiddenScorer() throws {
        let task = try SyntheticTasks.make(options("ranking_lists", train: 2000, val: 0), seed: 9)
        let grades = task.train.targetsTensor.scalars
        XCTAssertEqual(grades.count, 16000)
        var counts = [Int](repeating: 0, count: 5)
        for g in grades {
            XCTAssert(g == g.rounded() && g >= 0 && g <= 4, "grade \(g)")
            counts[Int(g)] += 1
        }
        // Each grade has probability 1/5: binomial std √(16000·0.16) ≈ 51.
        for c in counts { XCTAssertEqual(Double(c), 3200, accuracy: 300, "grade counts \(counts)") }
        // Lists mix grades: distinct grades per list of 8 average well above 3.
        let distinct = (0..<2000).map { l in Set(grades[(l * 8)..<(l * 8 + 8)]).count }
        XCTAssertGreaterThan(Double(distinct.reduce(0, +)) / 2000, 3.5)
        XCTAssert(distinct.allSatisfy { $0 >= 2 })
        let oracle = task.notes["oracle_ndcg"]!, random = task.notes["random_ndcg"]!
        XCTAssertGreaterThan(oracle, 0.9)
        XCTAssertLessThan(random, 0.8)
        XCTAssertGreaterThan(oracle, random + 0.15)

        // Without noise the grade is a non-decreasing function of w*·x, and the oracle is perfect.
        let o = options("ranking_lists", train: 100, val: 0) { $0.noise = 0; $0.inputDim = 4 }
        let (clean, weights) = try SyntheticTasks.rankingLists(o, seed: 10)
        let x = clean.train.inputs, rel = clean.train.targetsTensor
        var scored: [(Double, Float)] = []
        for item in 0..<800 {
            scored.append(((0..<4).reduce(0.0) { $0 + Double(x[item * 4 + $1]) * weights[$1] }, rel[item]))
        }
        scored.sort { $0.0 < $1.0 }
        for i in 1..<scored.count { XCTAssertLessThanOrEqual(scored[i - 1].1, scored[i].1) }
        XCTAssertEqual(clean.notes["oracle_ndcg"]!, 1, accuracy: 1e-12)
    }

    func testNDCGOnHandComputedLists() {
        let relevance: [Float] = [3, 2, 1, 0]
        let ideal = 7 + 3 / log2(3.0) + 1.0 / 2      // gains 7, 3, 1, 0 at ranks 1..4
        // Perfect order.
        XCTAssertEqual(RankingMetrics.ndcg(scores: [4, 3, 2, 1], relevance: relevance, listSize: 4, k: 4), 1, accuracy: 1e-15)
        // Reversed: gains 0, 1, 3, 7 at ranks 1..4.
        let reversed = (0 + 1 / log2(3.0) + 3.0 / 2 + 7 / log2(5.0)) / ideal
        XCTAssertEqual(reversed, 0.547831481922746, accuracy: 1e-14)
        XCTAssertEqual(RankingMetrics.ndcg(scores: [1, 2, 3, 4], relevance: relevance, listSize: 4, k: 4), reversed, accuracy: 1e-14)
        // @2: DCG = 0 + 1/log2 3, IDCG = 7 + 3/log2 3.
        XCTAssertEqual(RankingMetrics.ndcg(scores: [1, 2, 3, 4], relevance: relevance, listSize: 4, k: 2), 0.07094846566967604, accuracy: 1e-14)
        // k beyond the list is clamped.
        XCTAssertEqual(RankingMetrics.ndcg(scores: [1, 2, 3, 4], relevance: relevance, listSize: 4, k: 10), reversed, accuracy: 1e-14)
        // The score order, not the positions in the list, matters.
        XCTAssertEqual(RankingMetrics.ndcg(scores: [2, 4, 1, 3], relevance: [1, 3, 0, 2], listSize: 4, k: 4), 1, accuracy: 1e-15)
        // All tied: mean gain 11/4 on every rank = the expectation over random orders.
        let tied = 11.0 / 4 * (1 + 1 / log2(3.0) + 1.0 / 2 + 1 / log2(5.0)) / ideal
        XCTAssertEqual(RankingMetrics.ndcg(scores: [0, 0, 0, 0], relevance: relevance, listSize: 4, k: 4), tied, accuracy: 1e-14)
        XCTAssertEqual(tied, 0.7499814124955224, accuracy: 1e-14)
        // A tie across the cut-off at k = 1: ranks 1, 2 share gains 7 and 0, rank 1 alone counts.
        XCTAssertEqual(RankingMetrics.ndcg(scores: [5, 1, 1, 5], relevance: relevance, listSize: 4, k: 1), 3.5 / 7, accuracy: 1e-15)
        // A list without relevant documents counts as 1; the mean is over lists.
        XCTAssertEqual(RankingMetrics.ndcg(scores: [1, 2, 3], relevance: [0, 0, 0], listSize: 3, k: 3), 1)
        let three = RankingMetrics.ndcg(scores: [4, 3, 2, 1, 1, 2, 3, 4, 9, 8, 7, 6],
                                        relevance: [3, 2, 1, 0, 3, 2, 1, 0, 0, 0, 0, 0], listSize: 4, k: 4)
        XCTAssertEqual(three, (1 + reversed + 1) / 3, accuracy: 1e-14)
        // NaN ranks last.
        XCTAssertEqual(RankingMetrics.ndcg(scores: [.nan, 3, 2, 1], relevance: [0, 3, 2, 1], listSize: 4, k: 4), 1, accuracy: 1e-15)
        XCTAssertEqual(RankingMetrics.ndcg(scores: [], relevance: [], listSize: 4, k: 4), 1)
    }

    func testBadOptionsThrow() {
        let bad: [(TaskOptions, String)] = [
            (options("ranking_lists") { $0.extra["list_size"] = 1 }, "task.list_size"),
            (options("ranking_lists") { $0.extra["list_size"] = 2.5 }, "task.list_size"),
            (options("ranking_lists") { $0.extra["list_sise"] = 4 }, "did you mean 'list_size'"),
            (options("ranking_lists") { $0.outputDim = 2 }, "task.output_dim"),
            (options("ranking_lists") { $0.classes = 3 }, "task.classes"),
            (options("pairs") { $0.classes = 1 }, "task.classes"),
            (options("triplets") { $0.noise = -1 }, "task.noise"),
            (options("triplets") { $0.extra["spread"] = .infinity }, "task.spread"),
            (options("contrastive_views") { $0.classes = 4 }, "task.classes"),
            (options("contrastive_views", train: 1 << 20) { $0.inputDim = 1 << 10 }, "task.train_size"),
            (options("pair"), "did you mean 'pairs'"),
        ]
        for (o, fragment) in bad {
            XCTAssertThrowsError(try SyntheticTasks.make(o, seed: 0)) { error in
                let message = (error as? TaskError)?.message ?? ""
                XCTAssert(message.contains(fragment), "'\(message)' lacks '\(fragment)'")
            }
        }
    }
}
