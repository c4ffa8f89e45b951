import TrainLabAutodiff

/// Adadelta (`torch.optim.Adadelta`; Zeiler 2012, https://arxiv.org/abs/1212.5701):
///   g = ∇ + λ p;  v = ρ v + (1 - ρ) g²;  Δ = √(u + ε) / √(v + ε) · g;  u = ρ u + (1 - ρ) Δ²;  p -= lr · Δ
/// torch's default lr is 1.0 (the rate only scales Δ).
public final class Adadelta: Optimizer {
    public let rho: Float, epsilon: Float, weightDecay: Float
    private let state = StateBuffers()

    public init(rho: Float = 0.9, epsilon: Float = 1e-6, weightDecay: Float = 0) {
        self.rho = rho
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public var name: String { "adadelta" }

    public func step(_ parameters: [Parameter], lr: Float) {
        for p in parameters {
            let buffers = state.of(p, count: 2)
            let w = p.value.data, grad = p.gradient.data
            let squareAverage = buffers[0].data, deltaAverage = buffers[1].data
            for i in 0..<p.value.count {
                let g = grad[i] + weightDecay * w[i]
                squareAverage[i] = rho * squareAverage[i] + (1 - rho) * g * g
                let delta = (deltaAverage[i] + epsilon).squareRoot() / (squareAverage[i] + epsilon).squareRoot() * g
                deltaAverage[i] = rho * deltaAverage[i] + (1 - rho) * delta * delta
                w[i] -= lr * delta
            }
        }
    }
}
