import TrainLabAutodiff

/// RMSprop (`torch.optim.RMSprop`; Hinton, Lecture 6e of "Neural Networks for Machine Learning"),
/// in torch's order:
///   g = ∇ + λ p;  v = α v + (1 - α) g²
///   centered: ḡ = α ḡ + (1 - α) g,  a = √(v - ḡ²) + ε;  otherwise a = √v + ε
///   momentum μ > 0: b = μ b + g / a,  p -= lr · b;  otherwise p -= lr · g / a
/// ε is added after the square root, as in torch (the notes write √(v + ε)).
public final class RMSprop: ElementwiseOptimizer {
    public static let defaultLearningRate = 1e-2
    /// v, then ḡ when centered and b with momentum.
    public static let stateCount = 3

    public let alpha: Float, epsilon: Float, weightDecay: Float, momentum: Float, centered: Bool
    public let driver = ElementwiseOptimizerDriver()

    public init(alpha: Float = 0.99, epsilon: Float = 1e-8, weightDecay: Float = 0, momentum: Float = 0,
                centered: Bool = false) {
        self.alpha = alpha
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.momentum = momentum
        self.centered = centered
    }

    public var name: String { "rmsprop" }

    public var activeStateCount: Int { 1 + (centered ? 1 : 0) + (momentum > 0 ? 1 : 0) }

    public func update(range: Range<Int>, parameters w: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                       state: [UnsafeMutablePointer<Float>], step: Int, lr: Float) {
        let squareAverage = state[0]
        let gradientAverage = centered ? state[1] : nil
        let momentumBuffer = momentum > 0 ? state[state.count - 1] : nil
        Lanes.forEach(range) { x in
            let wi = x.load(w)
            let g = x.load(gradients) + weightDecay * wi
            let v = alpha * x.load(squareAverage) + (1 - alpha) * g * g
            x.store(v, squareAverage)
            var variance = v
            if let gradientAverage {
                let mean = alpha * x.load(gradientAverage) + (1 - alpha) * g
                x.store(mean, gradientAverage)
                variance -= mean * mean
            }
            // v ≥ ḡ² in exact arithmetic; the clamp keeps rounding from taking a root of a negative.
            let denominator = variance.replacing(with: 0, where: variance .< 0).squareRoot() + epsilon
            if let momentumBuffer {
                let b = momentum * x.load(momentumBuffer) + g / denominator
                x.store(b, momentumBuffer)
                x.store(wi - lr * b, w)
            } else {
                x.store(wi - lr * g / denominator, w)
            }
        }
    }
}
