import Foundation
import TrainLabAutodiff
import TrainLabKernels

/// Adam (`torch.optim.Adam`; `decoupled` gives `torch.optim.AdamW`):
///   Adam:  g = ∇ + λ p (L2 in the gradient)      AdamW: p -= lr λ p, g = ∇
///   m = β₁ m + (1 - β₁) g;  v = β₂ v + (1 - β₂) g²;  v̂ = max(v̂, v) with AMSGrad
///   p -= lr / (1 - β₁ᵗ) · m / (√v / √(1 - β₂ᵗ) + ε)
public final class Adam: Optimizer {
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public let amsgrad: Bool, decoupled: Bool
    private let state = StateBuffers()
    private var steps = 0

    /// Threads for the update (one pass over every parameter, split into ranges).
    public var pool: ThreadPool = .shared

    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0,
                amsgrad: Bool = false, decoupled: Bool = false) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
        self.decoupled = decoupled
    }

    public var name: String { decoupled ? "adamw" : "adam" }

    public func step(_ parameters: [Parameter], lr: Float) {
        steps += 1
        let t = Double(steps)
        let correction1 = Float(1 - pow(Double(beta1), t))
        let correction2Root = Float((1 - pow(Double(beta2), t)).squareRoot())
        let stepSize = lr / correction1
        let constants = AdamStepConstants(
            beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, lr: lr,
            stepSize: stepSize, correction2Root: correction2Root, decoupled: decoupled)
        if let span = Parameter.contiguousSpan(parameters) {
            // One pass over every parameter (packed model): moments kept flat in the same order.
            let buffers = state.flat(span: span.values, count: span.count, tensors: amsgrad ? 3 : 2)
            VectorKernels.adamUpdate(
                weights: span.values, gradient: span.gradients, m: buffers[0].data, v: buffers[1].data,
                vMax: amsgrad ? buffers[2].data : nil, count: span.count, constants: constants, pool: pool)
            return
        }
        for p in parameters {
            let buffers = state.of(p, count: amsgrad ? 3 : 2)
            VectorKernels.adamUpdate(
                weights: p.value.data, gradient: p.gradient.data, m: buffers[0].data, v: buffers[1].data,
                vMax: amsgrad ? buffers[2].data : nil, count: p.value.count, constants: constants, pool: pool)
        }
    }
}
