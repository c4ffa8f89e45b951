import Foundation
import TrainLabAutodiff

// Ranking losses: scores compared within pairs or lists, and similarity orderings (CoSENT,
// Circle), as the notes group them.

/// cos(u_{2i}, u_{2i+1}) (N) for embeddings (2N, D) whose rows 2i, 2i+1 are pair i.
func pairCosines(_ embeddings: Variable, pairs: Int, on tape: Tape, loss: String) -> Variable {
    let shape = tape.shape(embeddings)
    precondition(shape.count == 2 && shape[0] == 2 * pairs,
                 "\(loss): \(pairs) pair labels for embeddings of shape \(shape), expected (\(2 * pairs), D)")
    let unit = tape.normalizeRowsL2(embeddings)
    let first = tape.selectRows(unit, groupRows(pairs, side: 0, of: 2))
    let second = tape.selectRows(unit, groupRows(pairs, side: 1, of: 2))
    return tape.rowSum(tape.multiply(first, second))
}

/// L = mean_i max(0, -y_i (x1_i - x2_i) + margin), y = ±1 (1: x1 should rank higher), margin = 0
/// ([`nn.MarginRankingLoss`](https://pytorch.org/docs/stable/generated/torch.nn.MarginRankingLoss.html)).
/// Targets `.pairs(labels: y)`: the prediction holds 2N scores, x1_i = element 2i, x2_i = 2i+1.
public struct MarginRankingLoss: Loss {
    public let margin: Float

    public init(margin: Float = 0) { self.margin = margin }

    public var name: String { "margin_ranking" }
    public var targetKind: LossTargetKind { .pairs }
    public var pairLabel: PairLabel { .order }
    public func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable {
        guard case let .pairs(labels) = targets else { wrongTargets(targets, needs: "pairs with labels ±1") }
        let count = labels.count
        precondition(tape.value(prediction).count == 2 * count,
                     "margin_ranking: \(count) pair labels for \(tape.shape(prediction)) scores, expected \(2 * count) scores")
        guard count > 0 else { return tape.zeroLoss() }
        let first = tape.gatherElements(prediction, at: groupRows(count, side: 0, of: 2))
        let second = tape.gatherElements(prediction, at: groupRows(count, side: 1, of: 2))
        let negatedLabels = tape.constant(Tensor(shape: [count], values: labels.map { -$0 }))
        let violation = tape.addScalar(tape.multiply(negatedLabels, tape.difference(first, second)), margin)
        return tape.mean(tape.relu(violation))
    }
}

/// L = mean over pairs (i, j) of one list with rel_i > rel_j of log(1 + e^(-(s_i - s_j))),
/// the pairwise logistic loss with σ = 1 and target probability 1 (Burges et al. 2005,
/// [Learning to Rank using Gradient Descent](https://icml.cc/Conferences/2005/proceedings/papers/012_LearningToRank_BurgesEtAl.pdf)).
/// Pairs of equal relevance are left out; a batch without any ordered pair has loss 0.
/// Targets `.lists(relevance:)`.
public struct RankNetLoss: Loss {
    public init() {}
    public var name: String { "ranknet" }
    public var targetKind: LossTargetKind { .lists }
    public func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable {
        let relevance = listRelevance(self, prediction, targets, on: tape)
        let (lists, size) = (relevance.shape[0], relevance.shape[1])
        var higher: [Int] = [], lower: [Int] = []
        for l in 0..<lists {
            for i in 0..<size {
                for j in 0..<size where relevance[l * size + i] > relevance[l * size + j] {
                    higher.append(l * size + i)
                    lower.append(l * size + j)
                }
            }
        }
        guard !higher.isEmpty else { return tape.zeroLoss() }
        // log(1 + e^(-(s_i - s_j))) = softplus(s_j - s_i)
        let reversed = tape.difference(tape.gatherElements(prediction, at: lower), tape.gatherElements(prediction, at: higher))
        return tape.mean(tape.softplus(reversed))
    }
}

/// L = mean over lists of -Σ_i softmax(rel)_i log softmax(s)_i: the cross-entropy between the
/// top-one probabilities of the relevance and of the scores (Cao et al. 2007,
/// [ListNet](https://www.microsoft.com/en-us/research/publication/learning-to-rank-from-pairwise-approach-to-listwise-approach/),
/// with φ = exp). Targets `.lists(relevance:)`.
public struct ListNetLoss: Loss {
    public init() {}
    public var name: String { "listnet" }
    public var targetKind: LossTargetKind { .lists }
    public func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable {
        let relevance = listRelevance(self, prediction, targets, on: tape)
        let (lists, size) = (relevance.shape[0], relevance.shape[1])
        guard lists > 0, size > 0 else { return tape.zeroLoss() }
        let target = Tensor(shape: relevance.shape)
        for l in 0..<lists {
            let row = (0..<size).map { Double(relevance[l * size + $0]) }
            let largest = row.max()!
            let e = row.map { Foundation.exp($0 - largest) }
            let total = e.reduce(0, +)
            for i in 0..<size { target[l * size + i] = Float(e[i] / total) }
        }
        let logProbabilities = tape.logSoftmax(tape.reshape(prediction, to: relevance.shape))
        return tape.scale(tape.weightedSum(logProbabilities, weights: target), by: -1 / Float(lists))
    }
}

/// The relevance (L, n) of `.lists` targets, checked against the prediction's L·n scores.
private func listRelevance(_ loss: some Loss, _ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Tensor {
    guard case let .lists(relevance) = targets else { loss.wrongTargets(targets, needs: "lists with relevance (lists, items)") }
    precondition(relevance.shape.count == 2, "\(loss.name): relevance must be (lists, items), got \(relevance.shape)")
    precondition(tape.value(prediction).count == relevance.count,
                 "\(loss.name): prediction \(tape.shape(prediction)) does not hold one score per item of relevance \(relevance.shape)")
    return relevance
}

/// L = log(1 + Σ_{sim(i,j) > sim(k,l)} e^(λ (cos(u_k, u_l) - cos(u_i, u_j)))), λ = `scale` = 20:
/// every pair labelled more similar should have the larger cosine (Su 2022,
/// [CoSENT](https://spaces.ac.cn/archives/8847); the notes' formula). One value per batch, over
/// all ordered pairs of pairs; 0 when no two labels differ. Targets `.pairs(labels:)` with any
/// graded similarity, embeddings (2N, D).
public struct CoSENTLoss: Loss {
    public let scale: Float

    public init(scale: Float = 20) {
        precondition(scale > 0, "cosent: scale must be positive, got \(scale)")
        self.scale = scale
    }

    public var name: String { "cosent" }
    public var targetKind: LossTargetKind { .pairs }
    public func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable {
        guard case let .pairs(labels) = targets else { wrongTargets(targets, needs: "pairs with similarity labels") }
        let cosines = pairCosines(prediction, pairs: labels.count, on: tape, loss: name)
        var moreSimilar: [Int] = [], lessSimilar: [Int] = []
        for i in labels.indices {
            for j in labels.indices where labels[i] > labels[j] {
                moreSimilar.append(i)
                lessSimilar.append(j)
            }
        }
        guard !moreSimilar.isEmpty else { return tape.zeroLoss() }
        let exponents = tape.scale(tape.difference(tape.gatherElements(cosines, at: lessSimilar),
                                                   tape.gatherElements(cosines, at: moreSimilar)), by: scale)
        // log(1 + Σ e^v) = softplus(logsumexp(v))
        return tape.softplus(tape.logSumExpRows(exponents))
    }
}

/// L = log(1 + Σ_n e^(γ α_n (s_n - Δ_n)) · Σ_p e^(-γ α_p (s_p - Δ_p))), with O_p = 1 + m,
/// O_n = -m, Δ_p = 1 - m, Δ_n = m, α_p = relu(O_p - s_p), α_n = relu(s_n - O_n); m = 0.25,
/// γ = 256 (Sun et al. 2020, [Circle Loss](https://arxiv.org/abs/2002.10857), Eq. 4 and 6).
///
/// s are cosine similarities: s_p of positive pairs, s_n of negative ones. The weights α are
/// constants (detached), as in the paper's reference implementation: the gradient flows through
/// s - Δ only. Computed as softplus(logsumexp(logits_n) + logsumexp(logits_p)), one value per
/// batch; 0 when the batch has no positive or no negative pair.
///
/// Targets: `.classes(ids)` with embeddings (B, D): every pair i < j of rows is positive when the
/// classes agree, else negative (the reference's `convert_label_to_similarity`); or
/// `.pairs(labels:)` with embeddings (2N, D): pair i is positive when its label is > 0.
public struct CircleLoss: Loss {
    public let m: Float
    public let gamma: Float

    public init(m: Float = 0.25, gamma: Float = 256) {
        precondition(gamma > 0, "circle: gamma must be positive, got \(gamma)")
        self.m = m
        self.gamma = gamma
    }

    public var name: String { "circle" }
    public var targetKind: LossTargetKind { .classes }
    public func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable {
        let similarities: Variable
        var positives: [Int] = [], negatives: [Int] = []
        switch targets {
        case .classes(let ids):
            let shape = tape.shape(prediction)
            precondition(shape.count == 2 && shape[0] == ids.count,
                         "circle: \(ids.count) class ids for embeddings of shape \(shape), expected (\(ids.count), D)")
            let unit = tape.normalizeRowsL2(prediction)
            similarities = tape.matmul(unit, unit, transposeB: true)
            let rows = ids.count
            for i in 0..<rows {
                for j in (i + 1)..<rows {
                    if ids[i] == ids[j] { positives.append(i * rows + j) } else { negatives.append(i * rows + j) }
                }
            }
        case .pairs(let labels):
            similarities = pairCosines(prediction, pairs: labels.count, on: tape, loss: name)
            for (i, label) in labels.enumerated() {
                if label > 0 { positives.append(i) } else { negatives.append(i) }
            }
        default:
            wrongTargets(targets, needs: "class ids (one per embedding row) or labelled pairs")
        }
        guard !positives.isEmpty, !negatives.isEmpty else { return tape.zeroLoss() }
        let positive = tape.gatherElements(similarities, at: positives)
        let negative = tape.gatherElements(similarities, at: negatives)
        let alphaPositive = Tensor(shape: [positives.count]), alphaNegative = Tensor(shape: [negatives.count])
        let sp = tape.value(positive), sn = tape.value(negative)
        for i in 0..<sp.count { alphaPositive[i] = max(1 + m - sp[i], 0) }
        for i in 0..<sn.count { alphaNegative[i] = max(sn[i] + m, 0) }
        let logitsPositive = tape.scale(tape.multiply(tape.constant(alphaPositive), tape.addScalar(positive, -(1 - m))), by: -gamma)
        let logitsNegative = tape.scale(tape.multiply(tape.constant(alphaNegative), tape.addScalar(negative, -m)), by: gamma)
        return tape.softplus(tape.add(tape.logSumExpRows(logitsNegative), tape.logSumExpRows(logitsPositive)))
    }
}
