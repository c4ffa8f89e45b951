import TrainLabAutodiff

/// A normalization layer over the last dimension (LayerNorm, RMSNorm) or over the batch
/// (BatchNorm), with PyTorch's parameter names: `weight` (gain), `bias`, and for BatchNorm the
/// buffers `running_mean`, `running_var`.
public protocol Normalization: AnyObject {
    /// Trainable tensors (empty without an affine map).
    var parameters: [Parameter] { get }
    /// Non-trainable state saved with the weights (BatchNorm's running statistics).
    var buffers: [(name: String, tensor: Tensor)] { get }
    /// Training uses batch statistics (BatchNorm) and updates running ones; evaluation uses them.
    var isTraining: Bool { get set }
    func callAsFunction(_ x: Variable, on tape: Tape) -> Variable
}

/// Which normalization, with its options (`model.norm`).
public enum NormalizationKind: Sendable, Equatable {
    case none
    case layerNorm(epsilon: Double = 1e-5, affine: Bool = true)
    /// PyTorch's `nn.RMSNorm` defaults eps to the dtype's machine epsilon (1.19e-7 for Float32).
    case rmsNorm(epsilon: Double = 1.1920929e-7, affine: Bool = true)
    case batchNorm(epsilon: Double = 1e-5, momentum: Double = 0.1, affine: Bool = true)

    /// Trainable parameters per feature: γ and β (LayerNorm, BatchNorm), γ alone (RMSNorm), none
    /// without `affine`. What `make` builds, counted without building it (the resource estimate).
    public var parametersPerFeature: Int {
        switch self {
        case .none: 0
        case let .layerNorm(_, affine), let .batchNorm(_, _, affine): affine ? 2 : 0
        case let .rmsNorm(_, affine): affine ? 1 : 0
        }
    }

    /// A layer over `features` named `name` (e.g. `layers.0.norm`); nil for `.none`.
    public func make(features: Int, name: String) -> (any Normalization)? {
        switch self {
        case .none: nil
        case let .layerNorm(epsilon, affine): RowNorm(features: features, name: name, epsilon: epsilon, centered: true, affine: affine, bias: true)
        case let .rmsNorm(epsilon, affine): RowNorm(features: features, name: name, epsilon: epsilon, centered: false, affine: affine, bias: false)
        case let .batchNorm(epsilon, momentum, affine): BatchNorm(features: features, name: name, epsilon: epsilon, momentum: momentum, affine: affine)
        }
    }
}

/// LayerNorm  y = (x - mean) / √(var + ε) · γ + β   (`nn.LayerNorm`, biased variance)
/// RMSNorm    y = x / √(mean(x²) + ε) · γ            (`nn.RMSNorm`, no bias)
/// γ starts at 1, β at 0.
public final class RowNorm: Normalization {
    public let weight: Parameter?
    public let bias: Parameter?
    public let epsilon: Float
    public let centered: Bool
    public var isTraining = true

    init(features: Int, name: String, epsilon: Double, centered: Bool, affine: Bool, bias: Bool) {
        self.epsilon = Float(epsilon)
        self.centered = centered
        if affine {
            let w = Parameter(name: "\(name).weight", value: Tensor(shape: [features]))
            w.value.fill(1)
            weight = w
            self.bias = bias ? Parameter(name: "\(name).bias", value: Tensor(shape: [features])) : nil
        } else {
            weight = nil
            self.bias = nil
        }
    }

    public var parameters: [Parameter] { [weight, bias].compactMap { $0 } }
    public var buffers: [(name: String, tensor: Tensor)] { [] }

    public func callAsFunction(_ x: Variable, on tape: Tape) -> Variable {
        tape.normalizeRows(x, epsilon: epsilon, centered: centered,
                           gain: weight.map { tape.parameter($0) }, bias: bias.map { tape.parameter($0) })
    }
}

/// BatchNorm1d over a (B, C) batch: training normalizes with the batch's mean and biased
/// variance and updates running = (1 - m) running + m batch (the running variance unbiased,
/// × B/(B-1), as PyTorch); evaluation normalizes with the running statistics.
public final class BatchNorm: Normalization {
    public let weight: Parameter?
    public let bias: Parameter?
    public let runningMean: Tensor
    public let runningVariance: Tensor
    /// Training forwards so far (PyTorch's `num_batches_tracked`, saved with the weights).
    public let batchesTracked = Tensor(shape: [])
    public let epsilon: Float
    public let momentum: Float
    public var isTraining = true
    private let name: String
    private let batchMean: Tensor
    private let batchVariance: Tensor
    private let evalShift: Tensor
    private let evalScale: Tensor

    init(features: Int, name: String, epsilon: Double, momentum: Double, affine: Bool) {
        self.name = name
        self.epsilon = Float(epsilon)
        self.momentum = Float(momentum)
        runningMean = Tensor(shape: [features])
        runningVariance = Tensor(shape: [features])
        runningVariance.fill(1)
        batchMean = Tensor(shape: [features])
        batchVariance = Tensor(shape: [features])
        evalShift = Tensor(shape: [features])
        evalScale = Tensor(shape: [features])
        if affine {
            let w = Parameter(name: "\(name).weight", value: Tensor(shape: [features]))
            w.value.fill(1)
            weight = w
            bias = Parameter(name: "\(name).bias", value: Tensor(shape: [features]))
        } else {
            weight = nil
            bias = nil
        }
    }

    public var parameters: [Parameter] { [weight, bias].compactMap { $0 } }
    public var buffers: [(name: String, tensor: Tensor)] {
        [("\(name).running_mean", runningMean), ("\(name).running_var", runningVariance),
         ("\(name).num_batches_tracked", batchesTracked)]
    }

    public func callAsFunction(_ x: Variable, on tape: Tape) -> Variable {
        var y: Variable
        if isTraining {
            y = tape.batchNormalize(x, epsilon: epsilon, mean: batchMean, variance: batchVariance)
            batchesTracked[0] += 1
            let rows = Float(tape.shape(x)[0])
            let unbiased = rows > 1 ? rows / (rows - 1) : 1
            for c in 0..<runningMean.count {
                runningMean[c] = (1 - momentum) * runningMean[c] + momentum * batchMean[c]
                runningVariance[c] = (1 - momentum) * runningVariance[c] + momentum * batchVariance[c] * unbiased
            }
        } else {
            for c in 0..<runningMean.count {
                evalScale[c] = 1 / (runningVariance[c] + epsilon).squareRoot()
                evalShift[c] = -runningMean[c] * evalScale[c]
            }
            y = tape.addRowVector(tape.multiplyRowVector(x, tape.constant(evalScale)), tape.constant(evalShift))
        }
        if let weight { y = tape.multiplyRowVector(y, tape.parameter(weight)) }
        if let bias { y = tape.addRowVector(y, tape.parameter(bias)) }
        return y
    }
}
