import Foundation
import TrainLabAutodiff

/// A network mapping a batch of inputs to outputs (logits or predictions).
public protocol Model: AnyObject {
    /// Every trainable tensor, in the order of the weights file.
    var parameters: [Parameter] { get }
    /// Non-trainable state saved with the weights (BatchNorm running statistics).
    var buffers: [(name: String, tensor: Tensor)] { get }
    /// Training mode (BatchNorm uses batch statistics); evaluation uses running ones.
    var isTraining: Bool { get set }
    func forward(_ x: Variable, on tape: Tape) -> Variable
}

/// Where a hidden layer's normalization sits (`model.norm.placement`).
public enum NormPlacement: String, Sendable, CaseIterable {
    case pre, post, deepnorm

    /// One line for `trainlab catalog`.
    public var doc: String {
        switch self {
        case .pre: "norm before each Linear but the first, the head's included (pre-activation / pre-LN); blocks x + F(Norm(x))"
        case .post: "norm after each Linear, before the activation; blocks Norm(x + F(x))"
        case .deepnorm: "residual blocks Norm(α·x + F(x)), DeepNet's α and β (needs residual)"
        }
    }
}

/// Linear layers with an activation between them: in → hidden[0] → … → out (docs/interface.md):
/// - plain hidden layer, post: act(Norm(Linear(x)));  pre: act(Linear(Norm(x))), except that
///   layer 0 reads the raw input, act(Linear(x)), and the head reads Norm(x): pre is
///   Linear0 → act → Norm1 → Linear1 → act → … → Norm(n-1) → head, as many norms as post
/// - residual block (a hidden layer whose width equals the previous one's, with `residual`),
///   F(x) = act(Linear(x)):  pre x + F(Norm(x));  post Norm(x + F(x));  deepnorm Norm(α x + F(x))
/// DeepNet (Wang et al. 2022, https://arxiv.org/abs/2203.00555) for N residual blocks:
/// α = (2N)^¼, and the blocks' weights are scaled by β = (8N)^-¼ after initialization.
/// The output layer is a plain Linear. Parameters: `layers.{i}.weight`, `layers.{i}.bias`,
/// `layers.{i}.norm.weight`, `.bias` (and BatchNorm's `running_mean`, `running_var`).
public final class MLP: Model {
    public struct Layer {
        public let linear: Linear
        public let norm: (any Normalization)?
        public let isResidual: Bool
    }

    public let layers: [Layer]
    public let activation: any Activation
    public let placement: NormPlacement
    /// DeepNet's residual scale α (1 unless placement is deepnorm).
    public let alpha: Float

    public init(inputs: Int, hidden: [Int], outputs: Int, activation: any Activation, bias: Bool = true,
                norm: NormalizationKind = .none, placement: NormPlacement = .post, residual: Bool = false,
                weightInit: Initializer? = nil, biasInit: Initializer? = nil, seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let plan = Self.geometry(inputs: inputs, hidden: hidden, outputs: outputs, placement: placement, residual: residual)
        let residualBlocks = plan.filter(\.isResidual).count
        let deep = placement == .deepnorm && residualBlocks > 0
        alpha = deep ? Float(pow(2.0 * Double(residualBlocks), 0.25)) : 1
        let beta = deep ? Float(pow(8.0 * Double(residualBlocks), -0.25)) : 1
        var built: [Layer] = []
        for (i, layer) in plan.enumerated() {
            let linear = Linear(inputs: layer.inputs, outputs: layer.outputs, bias: bias, name: "layers.\(i)",
                                weightInit: weightInit, biasInit: biasInit, generator: &generator)
            if layer.isResidual && deep {
                for j in 0..<linear.weight.value.count { linear.weight.value[j] *= beta }
            }
            built.append(Layer(linear: linear, norm: layer.hasNorm ? norm.make(features: layer.normWidth, name: "layers.\(i).norm") : nil,
                               isResidual: layer.isResidual))
        }
        layers = built
        self.activation = activation
        self.placement = placement
    }

    public var parameters: [Parameter] {
        layers.flatMap { layer in layer.linear.parameters + (layer.norm?.parameters ?? []) } + activation.parameters
    }

    public var buffers: [(name: String, tensor: Tensor)] { layers.flatMap { $0.norm?.buffers ?? [] } }

    public var isTraining: Bool = true {
        didSet { for layer in layers { layer.norm?.isTraining = isTraining } }
    }

    public func forward(_ x: Variable, on tape: Tape) -> Variable {
        forward(x, on: tape, observe: { _, _ in })
    }

    /// The forward pass, handing each layer's output (`layers.{i}`) to `observe` as it is made:
    /// the init probe reads activation and gradient sizes by depth this way.
    public func forward(_ x: Variable, on tape: Tape, observe: (String, Variable) -> Void) -> Variable {
        var h = x
        for (i, layer) in layers.enumerated() {
            let isOutput = i == layers.count - 1
            if isOutput {
                let out = layer.linear(layer.norm.map { $0(h, on: tape) } ?? h, on: tape)
                observe("layers.\(i)", out)
                return out
            }
            let norm = layer.norm
            // act(Linear(x)) is one fused op when the activation is a map the GEMM can apply.
            let fused = activation.fusedMap
            func block(_ input: Variable) -> Variable {
                if let fused { return layer.linear(input, on: tape, activation: fused) }
                return activation(layer.linear(input, on: tape), on: tape)
            }
            if layer.isResidual {
                switch placement {
                case .pre:
                    h = tape.add(h, block(norm.map { $0(h, on: tape) } ?? h))
                case .post:
                    let sum = tape.add(h, block(h))
                    h = norm.map { $0(sum, on: tape) } ?? sum
                case .deepnorm:
                    let sum = tape.add(alpha == 1 ? h : tape.scale(h, by: alpha), block(h))
                    h = norm.map { $0(sum, on: tape) } ?? sum
                }
            } else if placement == .pre || norm == nil {
                h = block(norm.map { $0(h, on: tape) } ?? h)
            } else {
                let z = layer.linear(h, on: tape)
                h = activation(norm.map { $0(z, on: tape) } ?? z, on: tape)
            }
            observe("layers.\(i)", h)
        }
        return h
    }
}
