import XCTest
import Foundation
import TrainLabAutodiff
@testable import TrainLabModels

/// A tensor of deterministic values in [low, high).
func seededTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
    var generator = SplitMix64(seed: seed)
    let t = Tensor(shape: shape)
    for i in 0..<t.count { t[i] = low + (high - low) * Float(generator.nextUnit()) }
    return t
}

/// Every loss: its gradient against central differences of a Float64 reference written from the
/// formula (LossReference), and a value worked out by hand. Tolerances as GradientCheckTests:
/// 2e-3 relative on the gradient, 1e-4 on the forward value. Inputs keep away from kinks (hinges,
/// |x| at 0) by more than the finite-difference step.
final class LossTests: XCTestCase {
    let checker = GradientCheck()

    func assertGradient(
        _ loss: any Loss, _ prediction: Tensor, _ targets: LossTargets, _ what: String,
        file: StaticString = #filePath, line: UInt = #line, reference: @escaping ([Double]) -> Double
    ) {
        let report = checker.run(inputs: [prediction]) { tape, v in loss(v[0], targets, on: tape) } reference: { x in
            [reference(x[0])]
        }
        XCTAssertLessThan(report.worstError, 2e-3, "\(what): \(report)", file: file, line: line)
        XCTAssertLessThan(report.forwardError, 1e-4, "\(what) forward: \(report)", file: file, line: line)
    }

    func value(_ loss: any Loss, _ prediction: Tensor, _ targets: LossTargets) -> Double {
        let tape = Tape()
        let output = loss(tape.input(prediction), targets, on: tape)
        XCTAssertEqual(tape.shape(output), [1], "\(loss.name) gives a scalar")
        return Double(tape.value(output)[0])
    }

    func matrix(_ rows: [[Float]]) -> Tensor { Tensor(shape: [rows.count, rows[0].count], values: rows.flatMap { $0 }) }

    /// y = x + d with |d| drawn from `magnitudes` (alternating signs): differences away from 0 and δ.
    func shifted(_ x: Tensor, by magnitudes: [Float]) -> Tensor {
        let y = Tensor(shape: x.shape)
        for i in 0..<x.count { y[i] = x[i] + (i % 2 == 0 ? 1 : -1) * magnitudes[i % magnitudes.count] }
        return y
    }

    // MARK: Regression

    func testRegressionGradients() {
        let x = seededTensor([4, 5], seed: 1)
        let y = shifted(x, by: [0.3, 1.7, 0.05, 2.5, 0.8, 1.2, 0.6])
        let yd = y.scalars.map(Double.init)
        assertGradient(MSELoss(), x, .real(y), "mse") { LossReference.mse($0, yd) }
        assertGradient(L1Loss(), x, .real(y), "l1") { LossReference.l1($0, yd) }
        for delta in [1.0, 0.5] {
            assertGradient(HuberLoss(delta: Float(delta)), x, .real(y), "huber delta \(delta)") {
                LossReference.huber($0, yd, delta: delta)
            }
        }
    }

    func testRegressionValues() {
        let x = Tensor(shape: [2, 1], values: [0.5, 3]), zero = Tensor(shape: [2, 1])
        XCTAssertEqual(value(MSELoss(), x, .real(zero)), (0.25 + 9) / 2, accuracy: 1e-6)
        XCTAssertEqual(value(L1Loss(), x, .real(zero)), 1.75, accuracy: 1e-6)
        // δ = 1: 0.5² / 2 inside, 1·(3 - 0.5) outside.
        XCTAssertEqual(value(HuberLoss(), x, .real(zero)), (0.125 + 2.5) / 2, accuracy: 1e-6)
        // δ = 2: both inside → mse / 2; with 3 outside: 2·(3 - 1) = 4.
        XCTAssertEqual(value(HuberLoss(delta: 2), x, .real(zero)), (0.125 + 4) / 2, accuracy: 1e-6)
        XCTAssertEqual(value(HuberLoss(delta: 10), x, .real(zero)), value(MSELoss(), x, .real(zero)) / 2, accuracy: 1e-6)
    }

    // MARK: Classification

    func testClassificationGradients() {
        let logits = seededTensor([5, 7], seed: 2, low: -3, high: 3)
        let ids = [0, 6, 3, 3, 1]
        for smoothing in [0.0, 0.1, 1.0] {
            assertGradient(CrossEntropyLoss(labelSmoothing: Float(smoothing)), logits, .classes(ids), "cross_entropy ε \(smoothing)") {
                LossReference.crossEntropy($0, targets: ids, classes: 7, labelSmoothing: smoothing)
            }
        }
        let probabilities = seededTensor([5, 7], seed: 3, low: 0, high: 1)
        let pd = probabilities.scalars.map(Double.init)
        let wide = seededTensor([5, 7], seed: 4, low: -8, high: 8)
        assertGradient(BCEWithLogitsLoss(), wide, .real(probabilities), "bce") { LossReference.bceWithLogits($0, pd) }

        probabilities[3] = 0 // a zero target contributes nothing
        let pz = probabilities.scalars.map(Double.init)
        assertGradient(KLDivLoss(), logits, .real(probabilities), "kl_div") { LossReference.klDivBatchmean($0, pz, batch: 5) }

        let table: [Float] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
        let cases: [(FocalLoss, (Int) -> Double)] = [
            (FocalLoss(), { _ in 1 }),
            (FocalLoss(gamma: 0.5, alpha: .constant(0.25)), { _ in 0.25 }),
            (FocalLoss(gamma: 3, alpha: .perClass(table)), { Double(table[$0]) }),
        ]
        for (loss, alpha) in cases {
            assertGradient(loss, logits, .classes(ids), "focal gamma \(loss.gamma) alpha \(String(describing: loss.alpha))") {
                LossReference.focal($0, targets: ids, classes: 7, gamma: Double(loss.gamma), alpha: alpha)
            }
        }
    }

    func testClassificationValues() {
        // Uniform logits over 4 classes: -log(1/4) whatever the smoothing.
        let uniform = Tensor(shape: [2, 4])
        XCTAssertEqual(value(CrossEntropyLoss(), uniform, .classes([0, 3])), Foundation.log(4), accuracy: 1e-6)
        XCTAssertEqual(value(CrossEntropyLoss(labelSmoothing: 0.3), uniform, .classes([0, 3])), Foundation.log(4), accuracy: 1e-6)
        // Logits (2, 0, 0), target 0, ε = 0.1: 0.9·(lse - 2) + 0.1·(lse - 2/3), lse = log(e² + 2).
        XCTAssertEqual(value(CrossEntropyLoss(labelSmoothing: 0.1), matrix([[2, 0, 0]]), .classes([0])), 0.372878, accuracy: 1e-5)

        // BCE: x = 0 gives log 2 for any target; large |x| neither overflows nor loses the linear part.
        XCTAssertEqual(value(BCEWithLogitsLoss(), Tensor(shape: [3]), .real(Tensor(shape: [3], values: [0, 0.3, 1]))),
                       Foundation.log(2), accuracy: 1e-6)
        XCTAssertEqual(value(BCEWithLogitsLoss(), Tensor(shape: [2], values: [100, -100]), .real(Tensor(shape: [2], values: [1, 1]))),
                       50, accuracy: 1e-4)

        // KL(p ‖ q), p = (1/2, 1/2), q = (1/4, 3/4): ½ log(4/3) per row, batchmean over 2 equal rows.
        let logQ = matrix([[Float(Foundation.log(0.25)), Float(Foundation.log(0.75))],
                           [Float(Foundation.log(0.25)), Float(Foundation.log(0.75))]])
        XCTAssertEqual(value(KLDivLoss(), logQ, .real(matrix([[0.5, 0.5], [0.5, 0.5]]))), 0.143841, accuracy: 1e-6)
        // A target equal to the input's distribution: 0, zero entries included.
        let p = matrix([[0, 0.25, 0.75]])
        XCTAssertEqual(value(KLDivLoss(), matrix([[-50, Float(Foundation.log(0.25)), Float(Foundation.log(0.75))]]), .real(p)), 0, accuracy: 1e-6)

        // Focal with p_t = ½: (½)^γ log 2; γ = 0 without α is cross-entropy.
        let even = Tensor(shape: [1, 2])
        XCTAssertEqual(value(FocalLoss(), even, .classes([1])), 0.25 * Foundation.log(2), accuracy: 1e-6)
        XCTAssertEqual(value(FocalLoss(alpha: .perClass([1, 0.25])), even, .classes([1])), 0.0625 * Foundation.log(2), accuracy: 1e-6)
        let logits = seededTensor([3, 5], seed: 5, low: -2, high: 2)
        XCTAssertEqual(value(FocalLoss(gamma: 0), logits, .classes([4, 0, 2])), value(CrossEntropyLoss(), logits, .classes([4, 0, 2])),
                       accuracy: 1e-6)
    }

    // MARK: Ranking

    func testRankingGradients() {
        // Score pairs with -y(x1 - x2) + margin at ±[0.2, 1.5] (off the hinge's kink).
        let labels: [Float] = [1, -1, 1, -1, 1]
        let gaps: [Float] = [0.5, 0.9, -0.4, -1.2, 1.6]
        let scores = Tensor(shape: [10, 1])
        for i in 0..<5 { scores[2 * i] = Float(i) * 0.3; scores[2 * i + 1] = Float(i) * 0.3 - gaps[i] }
        let labelsD = labels.map(Double.init)
        assertGradient(MarginRankingLoss(margin: 0.1), scores, .pairs(labels: labels), "margin_ranking") {
            LossReference.marginRanking($0, labels: labelsD, margin: 0.1)
        }

        let listScores = seededTensor([12, 1], seed: 6, low: -2, high: 2)
        let relevance = matrix([[2, 0, 1, 0], [3, 3, 1, 0], [0, 1, 2, 4]])
        let relevanceD = relevance.scalars.map(Double.init)
        assertGradient(RankNetLoss(), listScores, .lists(relevance: relevance), "ranknet") {
            LossReference.rankNet($0, relevance: relevanceD, listSize: 4)
        }
        assertGradient(ListNetLoss(), listScores, .lists(relevance: relevance), "listnet") {
            LossReference.listNet($0, relevance: relevanceD, listSize: 4)
        }

        let embeddings = seededTensor([10, 3], seed: 7)
        let similarity: [Float] = [0, 1, 2, 1, 0.5]
        let similarityD = similarity.map(Double.init)
        for scale in [20.0, 2.0] {
            assertGradient(CoSENTLoss(scale: Float(scale)), embeddings, .pairs(labels: similarity), "cosent scale \(scale)") {
                LossReference.cosent($0, labels: similarityD, dimension: 3, scale: scale)
            }
        }
    }

    /// Circle's weights α are detached: the reference computes them once, at the checked point,
    /// so its finite differences see them as constants, as the loss's backward does.
    func testCircleGradients() {
        let embeddings = seededTensor([7, 4], seed: 8)
        let ids = [0, 1, 0, 2, 1, 0, 2]
        let base = LossReference.circleSimilarities(embeddings.scalars.map(Double.init), classes: ids, dimension: 4)
        for (m, gamma) in [(0.25, 256.0), (0.4, 16.0)] {
            let (alphaP, alphaN) = LossReference.circleAlphas(positive: base.positive, negative: base.negative, m: m)
            assertGradient(CircleLoss(m: Float(m), gamma: Float(gamma)), embeddings, .classes(ids), "circle m \(m) gamma \(gamma)") { x in
                let s = LossReference.circleSimilarities(x, classes: ids, dimension: 4)
                return LossReference.circle(positive: s.positive, negative: s.negative, alphaPositive: alphaP,
                                            alphaNegative: alphaN, m: m, gamma: gamma)
            }
        }
        // Pairs: rows 2i, 2i+1, positive when the label is > 0.
        let pairs = seededTensor([8, 3], seed: 9)
        let labels: [Float] = [1, -1, 1, -1]
        let cosines = LossReference.pairCosines(pairs.scalars.map(Double.init), dimension: 3)
        let split = { (c: [Double]) in ([c[0], c[2]], [c[1], c[3]]) }
        let (sp, sn) = split(cosines)
        let (alphaP, alphaN) = LossReference.circleAlphas(positive: sp, negative: sn, m: 0.25)
        assertGradient(CircleLoss(gamma: 32), pairs, .pairs(labels: labels), "circle pairs") { x in
            let (p, n) = split(LossReference.pairCosines(x, dimension: 3))
            return LossReference.circle(positive: p, negative: n, alphaPositive: alphaP, alphaNegative: alphaN, m: 0.25, gamma: 32)
        }
    }

    func testRankingValues() {
        let pair = Tensor(shape: [4, 1], values: [1, 0, 0, 1])
        // y = 1 both: max(0, -1 + ½) = 0 and max(0, 1 + ½) = 1.5.
        XCTAssertEqual(value(MarginRankingLoss(margin: 0.5), pair, .pairs(labels: [1, 1])), 0.75, accuracy: 1e-6)
        XCTAssertEqual(value(MarginRankingLoss(), pair, .pairs(labels: [1, -1])), 0, accuracy: 1e-6)
        XCTAssertEqual(value(MarginRankingLoss(), pair, .pairs(labels: [-1, 1])), 1, accuracy: 1e-6)

        // Scores (2, 1, 0) for relevance (2, 1, 0): pairs (0,1), (0,2), (1,2) give
        // softplus(-1), softplus(-2), softplus(-1); ties are no pairs.
        let scores = Tensor(shape: [3, 1], values: [2, 1, 0])
        XCTAssertEqual(value(RankNetLoss(), scores, .lists(relevance: matrix([[2, 1, 0]]))), 0.251150, accuracy: 1e-6)
        XCTAssertEqual(value(RankNetLoss(), scores, .lists(relevance: matrix([[1, 1, 1]]))), 0)

        // Equal relevance and equal scores: the cross-entropy of two uniform distributions, log n.
        XCTAssertEqual(value(ListNetLoss(), Tensor(shape: [6, 1]), .lists(relevance: Tensor(shape: [2, 3]))), Foundation.log(3), accuracy: 1e-6)
        // Scores equal to the relevance: the entropy of softmax(relevance), the minimum.
        let relevance = matrix([[1, 0, 2]])
        let e = [1.0, 0, 2].map { Foundation.exp($0) }, total = e.reduce(0, +)
        let entropy = -e.map { $0 / total * Foundation.log($0 / total) }.reduce(0, +)
        XCTAssertEqual(value(ListNetLoss(), Tensor(shape: [3, 1], values: [1, 0, 2]), .lists(relevance: relevance)), entropy, accuracy: 1e-6)

        // Three pairs with cosines 1, 0, -1. Ranked the right way round the loss is about
        // 2e^-20; ranked in reverse, log(1 + 2e^20 + e^40) = 2 log(1 + e^20) ≈ 40.
        let embeddings = matrix([[1, 0], [2, 0], [1, 0], [0, 3], [1, 1], [-1, -1]])
        XCTAssertEqual(value(CoSENTLoss(), embeddings, .pairs(labels: [2, 1, 0])), 2 * Foundation.exp(-20), accuracy: 1e-9)
        XCTAssertEqual(value(CoSENTLoss(), embeddings, .pairs(labels: [0, 1, 2])), 40, accuracy: 1e-4)
        XCTAssertEqual(value(CoSENTLoss(), embeddings, .pairs(labels: [1, 1, 1])), 0)

        // Circle: e0 ⟂ e1 of one class, e2 = e0 of another: s_p = 0, s_n = (1, 0).
        // α_p = 1.25, α_n = (1.25, 0.25): logits_p = 0.9375γ, logits_n = (0.9375γ, -0.0625γ).
        let circle = matrix([[1, 0], [0, 1], [1, 0]])
        XCTAssertEqual(value(CircleLoss(gamma: 1), circle, .classes([0, 0, 1])), 2.294522, accuracy: 1e-5)
        XCTAssertEqual(value(CircleLoss(), circle, .classes([0, 0, 1])), 480, accuracy: 1e-3)
        XCTAssertEqual(value(CircleLoss(), circle, .classes([0, 1, 2])), 0, "no positive pair")
    }

    // MARK: Metric

    func testMetricGradients() {
        let x = Tensor(shape: [6], values: [0.3, 0.4, 1.5, 2.5, 0.2, -0.5])
        let labels: [Float] = [1, -1, -1, 1, -1, 1]
        let labelsD = labels.map(Double.init)
        assertGradient(HingeEmbeddingLoss(), x, .pairs(labels: labels), "hinge_embedding on x") {
            LossReference.hingeEmbedding($0, labels: labelsD, margin: 1)
        }
        let pairs = seededTensor([12, 3], seed: 10)
        assertGradient(HingeEmbeddingLoss(margin: 2), pairs, .pairs(labels: labels), "hinge_embedding on L1 distances") { e in
            let r = LossReference.rows(e, columns: 3)
            let distances = (0..<6).map { LossReference.pairwiseDistance(r[2 * $0], r[2 * $0 + 1], p: 1, eps: 1e-6) }
            return LossReference.hingeEmbedding(distances, labels: labelsD, margin: 2)
        }

        let triplets = seededTensor([15, 4], seed: 11)
        for (p, margin) in [(2.0, 1.0), (1.0, 0.5), (3.0, 0.3)] {
            assertGradient(TripletMarginLoss(margin: Float(margin), p: Float(p)), triplets, .triplets, "triplet_margin p \(p)") {
                LossReference.tripletMargin($0, dimension: 4, margin: margin, p: p, eps: 1e-6)
            }
        }
    }

    func testMetricValues() {
        // y = 1: x; y = -1: max(0, 1 - x).
        XCTAssertEqual(value(HingeEmbeddingLoss(), Tensor(shape: [3], values: [0.3, 0.3, 2]), .pairs(labels: [1, -1, -1])),
                       (0.3 + 0.7 + 0) / 3, accuracy: 1e-6)
        // Embedding pairs: L1 distance of (0, 0) and (1, 2) is 3 (less 2ε).
        XCTAssertEqual(value(HingeEmbeddingLoss(), matrix([[0, 0], [1, 2]]), .pairs(labels: [1])), 3, accuracy: 1e-5)
        XCTAssertEqual(value(HingeEmbeddingLoss(margin: 5), matrix([[0, 0], [1, 2]]), .pairs(labels: [-1])), 2, accuracy: 1e-5)

        // Anchor at the origin, positive at (3, 4), negative at (0, 1): d₂ = 5 and 1, d₁ = 7 and 1.
        let triplet = matrix([[0, 0], [3, 4], [0, 1]])
        XCTAssertEqual(value(TripletMarginLoss(), triplet, .triplets), 5, accuracy: 1e-5)
        XCTAssertEqual(value(TripletMarginLoss(p: 1), triplet, .triplets), 7, accuracy: 1e-5)
        XCTAssertEqual(value(TripletMarginLoss(), matrix([[0, 0], [0, 1], [3, 4]]), .triplets), 0, accuracy: 1e-6)
    }

    // MARK: Contrastive

    func testContrastiveGradients() {
        let views = seededTensor([10, 4], seed: 12)
        for temperature in [0.07, 0.5] {
            assertGradient(InfoNCELoss(temperature: Float(temperature)), views, .views, "info_nce τ \(temperature)") {
                LossReference.infoNCE($0, dimension: 4, temperature: temperature)
            }
        }

        let logits = seededTensor([5, 6], seed: 13, low: -3, high: 3)
        let ids = [0, 5, 2, 2, 4]
        let noise = [1, 3, 0, 5, 5, 2, 4, 4, 1, 0, 2, 3, 5, 1, 4]   // k = 3 per row; repeats and hits included
        let unigram = [1.0, 2, 3, 4, 5, 6]
        for loss in [NCELoss(k: 3), NCELoss(k: 3, noise: .unigram(unigram))] {
            let q = loss.noise.probabilities(classes: 6)
            assertGradient(loss, logits, .noiseSamples(classes: ids, noise: noise), "nce \(loss.noise)") {
                LossReference.nce($0, classes: 6, targets: ids, noise: noise, k: 3, q: q)
            }
        }
    }

    func testContrastiveValues() {
        // Two examples whose views agree and are orthogonal to the other's: logits I/τ, so each
        // row's loss is log(1 + e^(-1/τ)). Scaling an embedding changes nothing.
        let views = matrix([[1, 0], [2, 0], [0, 3], [0, 1]])
        XCTAssertEqual(value(InfoNCELoss(temperature: 0.5), views, .views), 0.126928, accuracy: 1e-6)
        XCTAssertEqual(value(InfoNCELoss(temperature: 1e6), views, .views), Foundation.log(2), accuracy: 1e-5)

        // Zero logits, q = 1/4, k = 2: Δ = -log(k q) = log 2 everywhere:
        // softplus(-log 2) + 2 softplus(log 2) = log(3/2) + 2 log 3.
        let zero = Tensor(shape: [2, 4])
        let loss = NCELoss(k: 2)
        XCTAssertEqual(value(loss, zero, .noiseSamples(classes: [0, 3], noise: [1, 2, 3, 3])), 2.602690, accuracy: 1e-5)
        // With class ids only, the noise is drawn inside; with zero logits its value is the same.
        XCTAssertEqual(value(loss, zero, .classes([0, 3])), 2.602690, accuracy: 1e-5)
    }

    /// With class ids only, NCE draws its noise from a hash of the batch: the same batch gives the
    /// same value as passing that noise explicitly, and new logits give new noise.
    func testNCEDrawsNoiseFromTheBatch() {
        let loss = NCELoss(k: 4, noise: .unigram([5, 1, 1, 1, 2]))
        let logits = seededTensor([6, 5], seed: 14, low: -2, high: 2)
        let ids = [0, 1, 2, 3, 4, 0]
        var generator = SplitMix64(seed: loss.batchSeed(ids, logits))
        let noise = loss.drawNoise(rows: 6, classes: 5, using: &generator)
        XCTAssertEqual(value(loss, logits, .classes(ids)), value(loss, logits, .noiseSamples(classes: ids, noise: noise)))
        logits[0] += 0.5
        var next = SplitMix64(seed: loss.batchSeed(ids, logits))
        XCTAssertNotEqual(loss.drawNoise(rows: 6, classes: 5, using: &next), noise)
    }

    /// Noise samples follow q: 40,000 draws put each class within 1.5% (absolute) of its
    /// probability (the standard error is at most 0.25%).
    func testNoiseSamplesFollowTheDistribution() {
        for noise in [NCELoss.Noise.uniform, .unigram([1, 2, 3, 4])] {
            let loss = NCELoss(k: 8, noise: noise)
            var generator = SplitMix64(seed: 15)
            let draws = loss.drawNoise(rows: 5000, classes: 4, using: &generator)
            XCTAssertEqual(draws.count, 40000)
            let q = noise.probabilities(classes: 4)
            for c in 0..<4 {
                let frequency = Double(draws.filter { $0 == c }.count) / Double(draws.count)
                XCTAssertEqual(frequency, q[c], accuracy: 0.015, "\(noise) class \(c)")
            }
        }
    }

    // MARK: Shared

    /// A batch with nothing to compare gives 0, and backward from it runs.
    func testEmptyComparisonsGiveZero() {
        let tape = Tape()
        let scores = tape.input(Tensor(shape: [3, 1], values: [1, 2, 3]))
        let loss = RankNetLoss()(scores, .lists(relevance: matrix([[1, 1, 1]])), on: tape)
        tape.backward(from: loss)
        XCTAssertEqual(tape.value(loss)[0], 0)
    }

    func testTorchDefaults() {
        XCTAssertEqual(HuberLoss().delta, 1)
        XCTAssertEqual(CrossEntropyLoss().labelSmoothing, 0)
        XCTAssertEqual(FocalLoss().gamma, 2)
        XCTAssertNil(FocalLoss().alpha)
        XCTAssertEqual(MarginRankingLoss().margin, 0)
        XCTAssertEqual(CoSENTLoss().scale, 20)
        XCTAssertEqual(CircleLoss().m, 0.25)
        XCTAssertEqual(CircleLoss().gamma, 256)
        XCTAssertEqual(HingeEmbeddingLoss().margin, 1)
        XCTAssertEqual(TripletMarginLoss().margin, 1)
        XCTAssertEqual(TripletMarginLoss().p, 2)
        XCTAssertEqual(TripletMarginLoss().eps, 1e-6)
        XCTAssertEqual(InfoNCELoss().temperature, 0.07)
        XCTAssertEqual(NCELoss().k, 10)
        XCTAssertEqual(NCELoss().noise, .uniform)
    }

    func testTargetKinds() {
        let kinds: [(any Loss, LossTargetKind)] = [
            (MSELoss(), .real), (L1Loss(), .real), (HuberLoss(), .real), (BCEWithLogitsLoss(), .real), (KLDivLoss(), .real),
            (CrossEntropyLoss(), .classes), (FocalLoss(), .classes), (CircleLoss(), .classes), (NCELoss(), .classes),
            (MarginRankingLoss(), .pairs), (CoSENTLoss(), .pairs), (HingeEmbeddingLoss(), .pairs),
            (RankNetLoss(), .lists), (ListNetLoss(), .lists), (TripletMarginLoss(), .triplets), (InfoNCELoss(), .views),
        ]
        for (loss, kind) in kinds {
            XCTAssertEqual(loss.targetKind, kind, loss.name)
            XCTAssertEqual(loss.wantsClasses, kind == .classes, loss.name)
        }
    }
}
