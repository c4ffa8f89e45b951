import Foundation
import TrainLabSpec
import TrainLabData
import TrainLabModels
import TrainLabKernels

/// What a run will cost, estimated from the spec alone (nothing is built): `trainlab validate`
/// prints it, and a run that would not fit in memory is refused before it starts.
///   FLOPs per step ≈ 6 · B · Σ in·out  (forward 2, backward 4 per multiply-add of each layer)
///   memory ≈ 4 bytes · (P · (2 + optimizer state) + 8 · B · Σ widths + rows · (input + target))
/// where 8 · B · Σ widths covers each layer's values, gradients and intermediates in the arena.
public struct ResourceEstimate {
    public let parameters: Int
    public let flopsPerStep: Double
    public let bytes: Double

    public init(_ spec: ExperimentSpec) {
        if let settings = spec.model.transformer {
            self.init(transformer: settings, spec: spec)
        } else {
            self.init(mlp: spec)
        }
    }

    init(mlp spec: ExperimentSpec) {
        let inputs = spec.task.inputDim ?? Self.documentedDefault(spec.task.kind, "input_dim") ?? 1
        let classification = Catalogue.classificationTasks.contains(spec.task.kind)
        let outputs = (classification ? spec.task.classes ?? Self.documentedDefault(spec.task.kind, "classes")
                                      : spec.task.outputDim ?? Self.documentedDefault(spec.task.kind, "output_dim")) ?? 1
        let widths = [inputs] + spec.model.hidden + [outputs]
        var weights = 0, multiplyAdds = 0
        for i in 0..<(widths.count - 1) {
            weights += widths[i] * widths[i + 1] + (spec.model.bias ? widths[i + 1] : 0)
            multiplyAdds += widths[i] * widths[i + 1]
        }
        let normalized = spec.model.norm == .none ? 0 : 2 * spec.model.hidden.reduce(0, +)
        parameters = weights + normalized
        // Grouped tasks feed k items per data row (a list, a pair, a triplet, two views).
        let group = switch spec.task.kind {
        case "ranking_lists": Int(spec.task.extra["list_size"] ?? 8)
        case "pairs", "contrastive_views": 2
        case "triplets": 3
        default: 1
        }
        let batch = min(spec.training.batchSize, spec.task.trainSize) * group
        flopsPerStep = 6 * Double(batch) * Double(multiplyAdds)
        let stateCopies: Double = switch spec.optimizerKind {
        case "sgd": 1
        case "adam", "adamw", "rmsprop", "adadelta": 3
        case "lbfgs", "cg": 2 * 100 + 4
        case "newton": 6
        default: 2
        }
        let activations = 8.0 * Double(batch) * Double(widths.reduce(0, +))
        let rows = Double(spec.task.trainSize + spec.task.valSize)
        let data = rows * Double(group * inputs + (classification ? 1 : outputs))
        bytes = 4 * (Double(parameters) * (2 + stateCopies) + activations + data)
    }

    /// Transformer: P = V·d (+ L·d learned positions) + layers · (d·H·hd + 2·d·Hkv·hd + d² + (2 or 3)·d·h)
    /// (+ V·d head unless tied); FLOPs ≈ 6·B·T·(matrix parameters + V·d) + 12·B·layers·H·T²·hd.
    init(transformer settings: TransformerSettings, spec: ExperimentSpec) {
        func option(_ key: String) -> Int? {
            spec.task.extra[key].map { Int($0) } ?? Self.documentedDefault(spec.task.kind, key)
        }
        let length = option("seq_len") ?? spec.task.inputDim ?? 16
        let vocab = settings.vocab ?? option("vocab") ?? (option("modulus").map { $0 + 2 }) ?? 16
        let c = settings.resolved(vocab: vocab, sequenceLength: length)
        let d = c.dModel, hd = c.headSize, h = c.resolvedFFNHidden
        let gated: Int = if case .gated = c.activation { 3 } else { 2 }
        let perLayer = d * c.heads * hd + 2 * d * c.resolvedKVHeads * hd + c.heads * hd * d + gated * d * h
        let embeddings = c.vocab * d + (c.positional == .learned ? c.maxLength * d : 0) + (c.tieEmbeddings ? 0 : c.vocab * d)
        let normSize: Int = switch c.norm {
        case .layerNorm: 2 * d
        case .rmsNorm: d
        default: 0
        }
        let biases = c.bias ? c.layers * (c.heads * hd + 2 * c.resolvedKVHeads * hd + d + (gated - 1) * h + d)
            + (c.tieEmbeddings ? 0 : c.vocab) : 0
        parameters = embeddings + c.layers * (perLayer + 2 * normSize) + (c.placement == .pre ? normSize : 0) + biases
        let batch = min(spec.training.batchSize, spec.task.trainSize)
        let tokens = Double(batch * length)
        flopsPerStep = 6 * tokens * Double(c.layers * perLayer + c.vocab * d)
            + 12 * Double(batch * c.layers * c.heads * length * length * hd)
        // Attention keeps its probabilities for the backward when they fit (see AttentionKernels).
        let probabilities = batch * c.heads * length * length
        let kept = probabilities <= AttentionKernels.keptProbabilityLimit ? Double(c.layers * probabilities) : 0
        let activations = tokens * Double(c.layers * (12 * d + 3 * h) + 3 * c.vocab) + kept
        let rows = Double(spec.task.trainSize + spec.task.valSize) * Double(2 * length)
        bytes = 4 * (Double(parameters) * 5 + activations + rows)
    }

    static func documentedDefault(_ kind: String, _ key: String) -> Int? {
        SyntheticTasks.documentation[kind]?.first { $0.key == key }.flatMap { Int($0.defaultValue) }
    }

    /// The machine's memory, and the share of it a run may plan to use.
    public static let usableBytes = Double(ProcessInfo.processInfo.physicalMemory) * 0.8

    /// Throws a bad-input error when the run would not fit in memory.
    public func check(_ spec: ExperimentSpec) throws {
        guard bytes > Self.usableBytes else { return }
        throw SpecError(file: spec.file, path: "model",
                        message: "this run would need about \(Self.format(bytes)) of memory (\(parameters) parameters, batch \(spec.training.batchSize)); this machine has \(Self.format(Double(ProcessInfo.processInfo.physicalMemory)))")
    }

    public static func format(_ bytes: Double) -> String {
        if bytes >= 1_073_741_824 { return String(format: "%.1f GiB", bytes / Double(1 << 30)) }
        if bytes >= 1_048_576 { return String(format: "%.1f MiB", bytes / Double(1 << 20)) }
        return String(format: "%.0f KiB", bytes / 1024)
    }
}
