import Foundation
import TrainLabAutodiff

// Classification losses on logits (R, C): one row per example, mean over rows.

/// The class ids, one per row of a (R, C) prediction, each in 0..<C.
private func classTargets(_ loss: some Loss, _ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> [Int] {
    guard case let .classes(ids) = targets else { loss.wrongTargets(targets, needs: "class ids, one per row") }
    let shape = tape.shape(prediction)
    precondition(shape.count == 2 && ids.count == shape[0],
                 "\(loss.name): \(ids.count) class ids for a prediction of shape \(shape), expected (rows, classes) with one id per row")
    return ids
}

/// L = (1 - ε) · mean_r(-log p_r[t_r]) + ε · mean_r( (1/C) Σ_c -log p_r[c] ),  p = softmax(x),
/// ε = `labelSmoothing` = 0
/// ([`nn.CrossEntropyLoss`](https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html):
/// the smoothed target is (1 - ε) onehot(t) + ε / C). Logits are (rows, C); rows may be B·T tokens.
public struct CrossEntropyLoss: Loss {
    public let labelSmoothing: Float

    public init(labelSmoothing: Float = 0) {
        precondition((0...1).contains(labelSmoothing), "cross_entropy: label_smoothing must be in [0, 1], got \(labelSmoothing)")
        self.labelSmoothing = labelSmoothing
    }

    public var name: String { "cross_entropy" }
    public var targetKind: LossTargetKind { .classes }
    public func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable {
        guard case let .classes(ids) = targets else { wrongTargets(targets, needs: "class ids, one per row") }
        let negativeLogLikelihood = tape.crossEntropy(logits: prediction, targets: ids)
        guard labelSmoothing > 0 else { return negativeLogLikelihood }
        // mean over all R·C log-probabilities = mean over rows of the mean over classes.
        let uniform = tape.scale(tape.mean(tape.logSoftmax(prediction)), by: -labelSmoothing)
        return tape.add(tape.scale(negativeLogLikelihood, by: 1 - labelSmoothing), uniform)
    }
}

/// L = mean( max(x, 0) - x·y + log(1 + e^(-|x|)) ) = mean( softplus(x) - x·y ): binary cross-entropy
/// of logits x against targets y in [0, 1] of the same shape, stable for any x
/// ([`nn.BCEWithLogitsLoss`](https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html),
/// without `pos_weight`).
public struct BCEWithLogitsLoss: Loss {
    public init() {}
    public var name: String { "bce" }
    public var targetKind: LossTargetKind { .real }
    public func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable {
        guard case let .real(y) = targets else { wrongTargets(targets, needs: "real targets in [0, 1] shaped like the logits") }
        precondition(y.shape == tape.shape(prediction), "bce: logits \(tape.shape(prediction)) and targets \(y.shape) differ in shape")
        let count = Float(y.count)
        let logitsTimesTargets = tape.scale(tape.weightedSum(prediction, weights: y), by: -1 / count)
        return tape.add(tape.mean(tape.softplus(prediction)), logitsTimesTargets)
    }
}

/// L = Σ t · (log t - x) / B, x log-probabilities, t probabilities of the same shape, B = x's first
/// dimension, t = 0 contributing 0
/// ([`nn.KLDivLoss`](https://pytorch.org/docs/stable/generated/torch.nn.KLDivLoss.html) with
/// `reduction='batchmean'`, the mathematically correct KL per example; torch's default 'mean'
/// would divide by every element instead; `log_target=False`).
///
/// Σ t log t does not depend on x: it is computed as a constant, the rest is -Σ t·x / B.
public struct KLDivLoss: Loss {
    public init() {}
    public var name: String { "kl_div" }
    public var targetKind: LossTargetKind { .real }
    public func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable {
        guard case let .real(t) = targets else { wrongTargets(targets, needs: "target probabilities shaped like the log-probabilities") }
        let shape = tape.shape(prediction)
        precondition(t.shape == shape, "kl_div: input \(shape) and target \(t.shape) differ in shape")
        let batch = Float(shape.first ?? 1)
        var negativeEntropy = 0.0
        for i in 0..<t.count where t[i] > 0 { negativeEntropy += Double(t[i]) * Foundation.log(Double(t[i])) }
        let crossTerm = tape.scale(tape.weightedSum(prediction, weights: t), by: -1 / batch)
        return tape.addScalar(crossTerm, Float(negativeEntropy) / batch)
    }
}

/// L = mean_r( -α_t (1 - p_t)^γ log p_t ),  p_t = softmax(x_r)[t_r], γ = `gamma` = 2, α_t from
/// `alpha` (none by default: α_t = 1): the multi-class softmax form of the focal loss,
/// Lin et al. 2017, [Focal Loss for Dense Object Detection](https://arxiv.org/abs/1708.02002)
/// (γ = 0 and no α is cross-entropy). Plain mean over rows, as torchvision and kornia.
public struct FocalLoss: Loss {
    /// The class weight α_t.
    public enum Alpha: Sendable, Equatable {
        /// The same α for every class (kornia's scalar `alpha`).
        case constant(Float)
        /// α_t = weights[t], one per class.
        case perClass([Float])
    }

    public let gamma: Float
    public let alpha: Alpha?

    public init(gamma: Float = 2, alpha: Alpha? = nil) {
        precondition(gamma >= 0, "focal: gamma must be >= 0, got \(gamma)")
        self.gamma = gamma
        self.alpha = alpha
    }

    public var name: String { "focal" }
    public var targetKind: LossTargetKind { .classes }
    public func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable {
        let ids = classTargets(self, prediction, targets, on: tape)
        let classes = tape.shape(prediction)[1]
        let logProbability = tape.pickColumns(tape.logSoftmax(prediction), ids)
        // 1 - p_t, clamped at 0 against p_t rounding a hair above 1.
        let miss = tape.clamp(tape.addScalar(tape.scale(tape.exp(logProbability), by: -1), 1), min: 0)
        let modulated = tape.multiply(tape.power(miss, gamma), logProbability)
        let weights = Tensor(shape: [ids.count])
        for (r, t) in ids.enumerated() {
            switch alpha {
            case nil: weights[r] = 1
            case .constant(let a): weights[r] = a
            case .perClass(let table):
                precondition(table.count == classes, "focal: \(table.count) alpha weights for \(classes) classes")
                weights[r] = table[t]
            }
        }
        return tape.scale(tape.weightedSum(modulated, weights: weights), by: -1 / Float(ids.count))
    }
}
