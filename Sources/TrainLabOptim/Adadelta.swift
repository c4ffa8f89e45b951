import TrainLabAutodiff

/// Adadelta (`torch.optim.Adadelta`; Zeiler 2012, https://arxiv.org/abs/1212.5701):
///   g = ∇ + λ p;  v = ρ v + (1 - ρ) g²;  Δ = √(u + ε) / √(v + ε) · g;  u = ρ u + (1 - ρ) Δ²;  p -= lr · Δ
/// torch's default lr is 1.0 (the rate only scales Δ).
public final class Adadelta: ElementwiseOptimizer {
    public static let defaultLearningRate = 1.0
    /// v and u.
    public static let stateCount = 2

    public let rho: Float, epsilon: Float, weightDecay: Float
    public let driver = ElementwiseOptimizerDriver()

    public init(rho: Float = 0.9, epsilon: Float = 1e-6, weightDecay: Float = 0) {
        self.rho = rho
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public var name: String { "adadelta" }

    public func update(range: Range<Int>, parameters w: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                       state: [UnsafeMutablePointer<Float>], step: Int, lr: Float) {
        let squareAverage = state[0], deltaAverage = state[1]
        for i in range {
            let g = gradients[i] + weightDecay * w[i]
            squareAverage[i] = rho * squareAverage[i] + (1 - rho) * g * g
            let delta = (deltaAverage[i] + epsilon).squareRoot() / (squareAverage[i] + epsilon).squareRoot() * g
            deltaAverage[i] = rho * deltaAverage[i] + (1 - rho) * delta * delta
            w[i] -= lr * delta
        }
    }
}
