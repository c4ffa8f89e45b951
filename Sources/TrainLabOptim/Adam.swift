import Foundation
import TrainLabAutodiff

/// Adam (`torch.optim.Adam`; `decoupled` gives `torch.optim.AdamW`):
///   Adam:  g = ∇ + λ p (L2 in the gradient)      AdamW: p -= lr λ p, g = ∇
///   m = β₁ m + (1 - β₁) g;  v = β₂ v + (1 - β₂) g²;  v̂ = max(v̂, v) with AMSGrad
///   p -= lr / (1 - β₁ᵗ) · m / (√v / √(1 - β₂ᵗ) + ε)
public final class Adam: Optimizer {
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public let amsgrad: Bool, decoupled: Bool
    private let state = StateBuffers()
    private var steps = 0

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
        for p in parameters {
            let buffers = state.of(p, count: amsgrad ? 3 : 2)
            let w = p.value.data, grad = p.gradient.data
            let m = buffers[0].data, v = buffers[1].data
            let vMax = amsgrad ? buffers[2].data : nil
            for i in 0..<p.value.count {
                var g = grad[i]
                if decoupled { w[i] *= 1 - lr * weightDecay } else { g += weightDecay * w[i] }
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                var second = v[i]
                if let vMax {
                    vMax[i] = max(vMax[i], v[i])
                    second = vMax[i]
                }
                w[i] -= stepSize * m[i] / (second.squareRoot() / correction2Root + epsilon)
            }
        }
    }
}
