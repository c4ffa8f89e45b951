import TrainLabSpec
import TrainLabAutodiff

/// `training.early_stopping`: ends a run once a validation metric has stopped improving, with
/// the semantics of Keras's `EarlyStopping` and PyTorch Lightning's `EarlyStopping` callback:
/// an evaluation improves on the best so far when it beats it by more than `minDelta` (below
/// best − min_delta in `min` mode, above best + min_delta in `max` mode), and the run stops after
/// `patience` evaluations in a row without improvement. A non-finite value never improves
/// (Keras's comparison with NaN). The evaluation at step 0, before training, counts: it is the
/// first best, so weights that training never improves on are the initial ones.
public struct EarlyStoppingSpec: Sendable {
    public enum Mode: String, Sendable { case min, max }

    /// The metrics an evaluation produces that can be watched.
    public static let metrics = ["val_loss", "val_accuracy", "val_ndcg"]

    public let metric: String
    public let patience: Int
    public let minDelta: Double
    public let mode: Mode

    /// Keras's and Lightning's defaults for the metric (`val_loss`) and min_delta (0); patience
    /// 5, a little above Lightning's 3 epochs, as evaluations are often closer together than epochs.
    static func decode(_ r: ObjectReader) throws -> EarlyStoppingSpec {
        let metric = try r.choice("metric", default: "val_loss", among: metrics)
        // As the results summaries judge a metric: names with "loss" are lower-is-better.
        let defaultMode: Mode = metric.contains("loss") ? .min : .max
        let spec = EarlyStoppingSpec(
            metric: metric,
            patience: try r.int("patience", default: 5, range: 1...Int(Int32.max)),
            minDelta: try r.double("min_delta", default: 0, range: 0...1e12),
            mode: Mode(rawValue: try r.choice("mode", default: defaultMode.rawValue, among: ["min", "max"]))!)
        try r.finish()
        return spec
    }
}

/// Where early stopping stands after the evaluations so far; part of the training state, so a
/// resumed run stops at the step the uninterrupted one stops at.
struct EarlyStopping {
    let spec: EarlyStoppingSpec
    /// The best value so far (±infinity before the first finite one).
    private(set) var best: Double
    /// The step of the best evaluation; nil before the first finite one.
    private(set) var bestStep: Int? = nil
    private(set) var evaluationsWithoutImprovement = 0

    init(_ spec: EarlyStoppingSpec) {
        self.spec = spec
        best = spec.mode == .min ? .infinity : -.infinity
    }

    /// Whether the run has gone `patience` evaluations without improvement.
    var shouldStop: Bool { evaluationsWithoutImprovement >= spec.patience }

    /// Takes the evaluation at `step`; true when it is a new best.
    mutating func record(_ value: Double, step: Int) -> Bool {
        let improved = switch spec.mode {
        case .min: value < best - spec.minDelta
        case .max: value > best + spec.minDelta
        }
        guard improved && value.isFinite else {
            evaluationsWithoutImprovement += 1
            return false
        }
        best = value
        bestStep = step
        evaluationsWithoutImprovement = 0
        return true
    }

    func save(to archive: inout StateArchive) {
        archive.set("early_stopping.best", doubles: [best])
        archive.set("early_stopping.evaluations_without_improvement", integer: evaluationsWithoutImprovement)
        if let bestStep { archive.set("early_stopping.best_step", integer: bestStep) }
    }

    mutating func restore(from archive: StateArchive) throws {
        best = try archive.doubles("early_stopping.best", count: 1)[0]
        evaluationsWithoutImprovement = try archive.integer("early_stopping.evaluations_without_improvement")
        bestStep = archive.has("early_stopping.best_step") ? try archive.integer("early_stopping.best_step") : nil
    }
}
