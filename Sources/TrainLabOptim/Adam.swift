import Foundation
import TrainLabAutodiff
import TrainLabKernels

/// Adam (`torch.optim.Adam`; Kingma & Ba 2014, https://arxiv.org/abs/1412.6980; `decoupled`
/// gives `torch.optim.AdamW`, Loshchilov & Hutter 2017, https://arxiv.org/abs/1711.05101):
///   Adam:  g = ∇ + λ p (L2 in the gradient)      AdamW: p -= lr λ p, g = ∇
///   m = β₁ m + (1 - β₁) g;  v = β₂ v + (1 - β₂) g²;  v̂ = max(v̂, v) with AMSGrad
///   p -= lr / (1 - β₁ᵗ) · m / (√v / √(1 - β₂ᵗ) + ε)
public final class Adam: ElementwiseOptimizer {
    public static let defaultLearningRate = 1e-3
    /// m, v, and v̂ with AMSGrad.
    public static let stateCount = 3

    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public let amsgrad: Bool, decoupled: Bool
    public let driver = ElementwiseOptimizerDriver()

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

    public var activeStateCount: Int { amsgrad ? 3 : 2 }

    /// The loop is `VectorKernels.adamUpdate`'s (the hot loops, compiled for AVX2 too: Adam is the
    /// optimizer `bench train` times), run on this thread over the driver's range.
    public func update(range: Range<Int>, parameters w: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                       state: [UnsafeMutablePointer<Float>], step: Int, lr: Float) {
        let t = Double(step)
        let constants = AdamStepConstants(
            beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, lr: lr,
            stepSize: lr / Float(1 - pow(Double(beta1), t)), correction2Root: Float((1 - pow(Double(beta2), t)).squareRoot()),
            decoupled: decoupled)
        let o = range.lowerBound
        VectorKernels.adamUpdate(
            weights: w + o, gradient: gradients + o, m: state[0] + o, v: state[1] + o, vMax: amsgrad ? state[2] + o : nil,
            count: range.count, constants: constants, pool: .serial)
    }
}
