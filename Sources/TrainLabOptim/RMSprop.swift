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
        for i in range {
            let g = gradients[i] + weightDecay * w[i]
            squareAverage[i] = alpha * squareAverage[i] + (1 - alpha) * g * g
            var variance = squareAverage[i]
            if let gradientAverage {
                gradientAverage[i] = alpha * gradientAverage[i] + (1 - alpha) * g
                variance -= gradientAverage[i] * gradientAverage[i]
            }
            // v ≥ ḡ² in exact arithmetic; the clamp keeps rounding from taking a root of a negative.
            let denominator = max(variance, 0).squareRoot() + epsilon
            if let momentumBuffer {
                momentumBuffer[i] = momentum * momentumBuffer[i] + g / denominator
                w[i] -= lr * momentumBuffer[i]
            } else {
                w[i] -= lr * g / denominator
            }
        }
    }
}
