import TrainLabAutodiff

// The losses live by family under Losses/: Regression, Classification, Ranking, Metric,
// Contrastive. Each is a composition of tape ops (no backward of its own).

/// What a loss compares the model's output with.
///
/// Cases that group rows (pairs, triplets, views, lists) read consecutive rows of the prediction:
/// the layout a row-major reshape of per-example inputs (N, k·D) into (k·N, D) gives, so a runner
/// can keep each example in one data-set row and shuffle examples without splitting them.
public enum LossTargets {
    /// Class ids, one per row.
    case classes([Int])
    /// Real targets shaped like the prediction.
    case real(Tensor)
    /// N pairs: prediction rows 2i and 2i+1 are the two sides of pair i, one label per pair.
    /// Scores (2N elements) for `margin_ranking`; embeddings (2N, D) for `hinge_embedding`,
    /// `cosent` and `circle`. Labels: +1 / -1 (first ranks higher, or similar / dissimilar), or a
    /// graded similarity for `cosent`.
    case pairs(labels: [Float])
    /// L lists of n items: relevance (L, n); the prediction holds the L·n scores row-major (list l
    /// is elements l·n ..< (l+1)·n), e.g. (L·n, 1) from a model that scores one item per row.
    case lists(relevance: Tensor)
    /// Prediction rows 3i, 3i+1, 3i+2 are the anchor, positive and negative of triplet i.
    case triplets
    /// Prediction rows 2i and 2i+1 are two views (augmentations) of example i.
    case views
    /// Class ids (one per row) with the noise class ids that NCE contrasts them with, drawn by the
    /// caller from the loss's noise distribution: k per row, row r's at r·k ..< (r+1)·k.
    case noiseSamples(classes: [Int], noise: [Int])

    /// Which kind of targets this is.
    public var kind: LossTargetKind {
        switch self {
        case .classes: return .classes
        case .real: return .real
        case .pairs: return .pairs
        case .lists: return .lists
        case .triplets: return .triplets
        case .views: return .views
        case .noiseSamples: return .noiseSamples
        }
    }
}

/// The kinds of `LossTargets`, for a runner to pick the task data a loss needs.
public enum LossTargetKind: String, Sendable {
    case classes, real, pairs, lists, triplets, views, noiseSamples
}

/// What a pair's label (±1) says: the two items are similar or not; or the first should score
/// higher than the second, which compares one score per item (output width 1).
public enum PairLabel: Sendable {
    case similarity, order
}

/// A scalar training objective (mean reduction, as PyTorch's default, unless a loss says otherwise).
public protocol Loss: Sendable {
    var name: String { get }
    /// The targets the loss is built for (some accept a second kind; see each loss).
    var targetKind: LossTargetKind { get }
    /// With `.pairs` targets: which label of a pair it reads (`.similarity` unless it says otherwise).
    var pairLabel: PairLabel { get }
    func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable
}

extension Loss {
    /// Whether targets are class ids (else real values shaped like the prediction, or a layout
    /// of `LossTargets`' other cases).
    public var wantsClasses: Bool { targetKind == .classes }

    public var pairLabel: PairLabel { .similarity }

    /// Stops with a message naming the loss, the targets it needs and those it got.
    func wrongTargets(_ targets: LossTargets, needs what: String) -> Never {
        preconditionFailure("\(name) needs \(what), got \(targets.kind.rawValue) targets")
    }
}

extension Tape {
    /// a - b, a composition.
    func difference(_ a: Variable, _ b: Variable) -> Variable { add(a, scale(b, by: -1)) }

    /// A zero loss, for a batch that holds nothing to compare (no ordered pair, say).
    func zeroLoss() -> Variable { constant(Tensor(shape: [1])) }
}

/// Row indices 0·k + j, 1·k + j, ... for `count` groups of k rows: side j of each pair or triplet.
func groupRows(_ count: Int, side j: Int, of k: Int) -> [Int] {
    (0..<count).map { $0 * k + j }
}
