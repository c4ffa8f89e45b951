import Foundation
import TrainLabAutodiff

// Contrastive losses: tell the matching example from others, as a classification.

/// L = mean_i -log softmax(z1_i · z2ᵀ / τ)_i with z1, z2 (B, D) the two views L2-normalized: each
/// example's other view is its positive, the other B - 1 examples' views in the batch are its
/// negatives; τ = `temperature` = 0.07 (van den Oord et al. 2018,
/// [CPC / InfoNCE](https://arxiv.org/abs/1807.03748); in-batch negatives and τ = 0.07 as MoCo,
/// [He et al. 2020](https://arxiv.org/abs/1911.05722), and CLIP's initial temperature).
///
/// One direction (view 1 queries view 2), as the brief's logits z1·z2ᵀ/τ; SimCLR's symmetric
/// NT-Xent would also use view 1's other rows as negatives. Targets `.views`: embeddings (2B, D),
/// rows 2i and 2i+1 the two views of example i.
public struct InfoNCELoss: Loss {
    public let temperature: Float

    public init(temperature: Float = 0.07) {
        precondition(temperature > 0, "info_nce: temperature must be positive, got \(temperature)")
        self.temperature = temperature
    }

    public var name: String { "info_nce" }
    public var targetKind: LossTargetKind { .views }
    public func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable {
        guard case .views = targets else { wrongTargets(targets, needs: "views (rows 2i, 2i+1 two views of example i)") }
        let shape = tape.shape(prediction)
        precondition(shape.count == 2 && shape[0] % 2 == 0,
                     "info_nce: embeddings must be (2B, D), rows 2i and 2i+1 two views of example i, got \(shape)")
        let count = shape[0] / 2
        guard count > 0 else { return tape.zeroLoss() }
        let unit = tape.normalizeRowsL2(prediction)
        let first = tape.selectRows(unit, groupRows(count, side: 0, of: 2))
        let second = tape.selectRows(unit, groupRows(count, side: 1, of: 2))
        let logits = tape.scale(tape.matmul(first, second, transposeB: true), by: 1 / temperature)
        return tape.crossEntropy(logits: logits, targets: Array(0..<count))
    }
}

/// Noise-contrastive estimation (Gutmann & Hyvärinen 2010,
/// [NCE](https://proceedings.mlr.press/v9/gutmann10a.html); for classes as Mnih & Teh 2012 and
/// the notes' [Dyer 2014](https://arxiv.org/abs/1410.8251)): the logits s (R, C) are unnormalized
/// log-probabilities (self-normalized, Z = 1); each row's data class t is told apart from k noise
/// classes y_1..y_k drawn from the noise distribution q by a logistic regression on
/// Δ(c) = s(c) - log(k q(c)):
///
///   L = mean_r [ -log σ(Δ(t_r)) - Σ_j log(1 - σ(Δ(y_rj))) ] = mean_r [ softplus(-Δ(t_r)) + Σ_j softplus(Δ(y_rj)) ]
///
/// k = `k` = 10; q = `noise`, uniform over the C classes by default, or a unigram table.
/// Noise samples equal to the data class are kept (no "accidental hit" removal).
///
/// Targets: `.noiseSamples(classes:noise:)` with k noise ids per row drawn by the caller (e.g. with
/// `drawNoise`, from the run's random stream); or plain `.classes(ids)`, when the loss draws
/// the noise itself from a SplitMix64 seeded by a hash of the ids and of the logits' bits: a run is
/// reproducible and a new step (new parameters, hence new logits) gets new noise.
public struct NCELoss: Loss {
    /// The noise distribution q over the classes.
    public enum Noise: Sendable, Equatable {
        case uniform
        /// q(c) ∝ weights[c] (counts or probabilities, all > 0), one weight per class.
        case unigram([Double])

        /// q(c) for c in 0..<classes.
        public func probabilities(classes: Int) -> [Double] {
            switch self {
            case .uniform:
                return [Double](repeating: 1 / Double(classes), count: classes)
            case .unigram(let weights):
                precondition(weights.count == classes, "nce: a unigram table of \(weights.count) weights for \(classes) classes")
                let total = weights.reduce(0, +)
                return weights.map { $0 / total }
            }
        }
    }

    public let k: Int
    public let noise: Noise

    public init(k: Int = 10, noise: Noise = .uniform) {
        precondition(k >= 1, "nce: k must be at least 1, got \(k)")
        if case .unigram(let weights) = noise {
            precondition(!weights.isEmpty && weights.allSatisfy { $0 > 0 && $0.isFinite }, "nce: unigram weights must be positive")
        }
        self.k = k
        self.noise = noise
    }

    public var name: String { "nce" }
    public var targetKind: LossTargetKind { .classes }

    /// k noise class ids for each of `rows` rows (row r's at r·k ..< (r+1)·k), drawn from q.
    public func drawNoise(rows: Int, classes: Int, using generator: inout SplitMix64) -> [Int] {
        precondition(classes > 0, "nce: no classes to draw noise from")
        var cumulative = noise.probabilities(classes: classes)
        for c in 1..<max(classes, 1) { cumulative[c] += cumulative[c - 1] }
        return (0..<(rows * k)).map { _ in
            let u = generator.nextUnit() * cumulative[classes - 1]
            // the first class whose cumulative probability exceeds u
            var low = 0, high = classes - 1
            while low < high {
                let middle = (low + high) / 2
                if cumulative[middle] > u { high = middle } else { low = middle + 1 }
            }
            return low
        }
    }

    public func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable {
        let logits = tape.value(prediction)
        precondition(logits.shape.count == 2 && logits.shape[1] > 0, "nce: logits must be (rows, classes), got \(logits.shape)")
        let (rows, classes) = (logits.shape[0], logits.shape[1])
        let ids: [Int], noiseIds: [Int]
        switch targets {
        case let .noiseSamples(classIds, samples):
            ids = classIds
            noiseIds = samples
        case let .classes(classIds):
            ids = classIds
            var generator = SplitMix64(seed: batchSeed(classIds, logits))
            noiseIds = drawNoise(rows: rows, classes: classes, using: &generator)
        default:
            wrongTargets(targets, needs: "class ids (with or without noise samples)")
        }
        precondition(ids.count == rows, "nce: \(ids.count) class ids for logits \(logits.shape)")
        precondition(noiseIds.count == rows * k, "nce: \(noiseIds.count) noise samples for \(rows) rows, expected k = \(k) per row")
        guard rows > 0 else { return tape.zeroLoss() }
        for c in noiseIds { precondition(c >= 0 && c < classes, "nce: noise class \(c) outside 0..<\(classes)") }

        let logNoise = noise.probabilities(classes: classes).map { Float(Foundation.log(Double(k) * $0)) }
        let data = tape.difference(tape.pickColumns(prediction, ids),
                                   tape.constant(Tensor(shape: [rows], values: ids.map { logNoise[$0] })))
        let noiseIndices = noiseIds.enumerated().map { j, c in (j / k) * classes + c }
        let contrast = tape.difference(tape.gatherElements(prediction, at: noiseIndices),
                                       tape.constant(Tensor(shape: [noiseIds.count], values: noiseIds.map { logNoise[$0] })))
        let total = tape.add(tape.sum(tape.softplus(tape.scale(data, by: -1))), tape.sum(tape.softplus(contrast)))
        return tape.scale(total, by: 1 / Float(rows))
    }

    /// FNV-1a over the class ids and the logits' bit patterns.
    func batchSeed(_ ids: [Int], _ logits: Tensor) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ word: UInt64) {
            hash ^= word
            hash &*= 0x0000_0100_0000_01b3
        }
        for id in ids { mix(UInt64(bitPattern: Int64(id))) }
        for i in 0..<logits.count { mix(UInt64(logits[i].bitPattern)) }
        return hash
    }
}
