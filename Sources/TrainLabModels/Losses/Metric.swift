import TrainLabAutodiff

// Metric-learning losses on distances between embeddings.

extension Tape {
    /// ‖a - b + ε‖_p per row (`F.pairwise_distance`, ε = 1e-6 as torch).
    func pairwiseDistance(_ a: Variable, _ b: Variable, p: Float, epsilon: Float) -> Variable {
        rowNorm(addScalar(difference(a, b), epsilon), p: p)
    }
}

/// L = mean_i ℓ_i with ℓ_i = x_i if y_i = 1, max(0, margin - x_i) if y_i = -1, margin = 1
/// ([`nn.HingeEmbeddingLoss`](https://pytorch.org/docs/stable/generated/torch.nn.HingeEmbeddingLoss.html)).
///
/// Targets `.pairs(labels: y)` (a label > 0 counts as 1, any other as -1). The prediction is
/// either the N values x itself (torch's input), or embeddings (2N, D) whose pair i is rows 2i,
/// 2i+1; then x_i is their L1 distance ‖u - v + ε‖₁, ε = 1e-6, the use torch's documentation
/// names ("using the L1 pairwise distance as x").
public struct HingeEmbeddingLoss: Loss {
    public let margin: Float

    public init(margin: Float = 1) { self.margin = margin }

    public var name: String { "hinge_embedding" }
    public var targetKind: LossTargetKind { .pairs }
    public func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable {
        guard case let .pairs(labels) = targets else { wrongTargets(targets, needs: "pairs with labels ±1") }
        let count = labels.count
        guard count > 0 else { return tape.zeroLoss() }
        let shape = tape.shape(prediction)
        let x: Variable
        if tape.value(prediction).count == count {
            x = tape.reshape(prediction, to: [count])
        } else {
            precondition(shape.count == 2 && shape[0] == 2 * count,
                         "hinge_embedding: \(count) pair labels for a prediction of shape \(shape), expected \(count) values or (\(2 * count), D) embeddings")
            let first = tape.selectRows(prediction, groupRows(count, side: 0, of: 2))
            let second = tape.selectRows(prediction, groupRows(count, side: 1, of: 2))
            x = tape.pairwiseDistance(first, second, p: 1, epsilon: 1e-6)
        }
        let similar = Tensor(shape: [count], values: labels.map { $0 > 0 ? 1 : 0 })
        let dissimilar = Tensor(shape: [count], values: labels.map { $0 > 0 ? 0 : 1 })
        let pull = tape.weightedSum(x, weights: similar)
        let push = tape.weightedSum(tape.relu(tape.addScalar(tape.scale(x, by: -1), margin)), weights: dissimilar)
        return tape.scale(tape.add(pull, push), by: 1 / Float(count))
    }
}

/// L = mean_i max(d(a_i, p_i) - d(a_i, n_i) + margin, 0), d(x, y) = ‖x - y + ε‖_p, margin = 1,
/// p = 2, ε = 1e-6
/// ([`nn.TripletMarginLoss`](https://pytorch.org/docs/stable/generated/torch.nn.TripletMarginLoss.html),
/// `swap=False`). Targets `.triplets`: embeddings (3N, D), rows 3i, 3i+1, 3i+2 = anchor,
/// positive, negative.
public struct TripletMarginLoss: Loss {
    public let margin: Float
    public let p: Float
    public let eps: Float

    public init(margin: Float = 1, p: Float = 2, eps: Float = 1e-6) {
        precondition(p > 0 && p.isFinite, "triplet_margin: p must be a positive finite number, got \(p)")
        self.margin = margin
        self.p = p
        self.eps = eps
    }

    public var name: String { "triplet_margin" }
    public var targetKind: LossTargetKind { .triplets }
    public func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable {
        guard case .triplets = targets else { wrongTargets(targets, needs: "triplets (anchor, positive, negative rows)") }
        let shape = tape.shape(prediction)
        precondition(shape.count == 2 && shape[0] % 3 == 0,
                     "triplet_margin: embeddings must be (3N, D), rows 3i..3i+2 a triplet, got \(shape)")
        let count = shape[0] / 3
        guard count > 0 else { return tape.zeroLoss() }
        let anchor = tape.selectRows(prediction, groupRows(count, side: 0, of: 3))
        let positive = tape.selectRows(prediction, groupRows(count, side: 1, of: 3))
        let negative = tape.selectRows(prediction, groupRows(count, side: 2, of: 3))
        let toPositive = tape.pairwiseDistance(anchor, positive, p: p, epsilon: eps)
        let toNegative = tape.pairwiseDistance(anchor, negative, p: p, epsilon: eps)
        return tape.mean(tape.relu(tape.addScalar(tape.difference(toPositive, toNegative), margin)))
    }
}
