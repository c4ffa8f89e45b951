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
        Lanes.forEach(range) { x in
            let wi = x.load(w)
            let g = x.load(gradients) + weightDecay * wi
            let v = rho * x.load(squareAverage) + (1 - rho) * g * g
            x.store(v, squareAverage)
            let u = x.load(deltaAverage)
            let delta = (u + epsilon).squareRoot() / (v + epsilon).squareRoot() * g
            x.store(rho * u + (1 - rho) * delta * delta, deltaAverage)
            x.store(wi - lr * delta, w)
        }
    }
}
