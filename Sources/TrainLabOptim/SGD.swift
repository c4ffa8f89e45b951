import TrainLabAutodiff

/// Stochastic gradient descent (`torch.optim.SGD`):
///   g = ∇ + λ p;  b = μ b + (1 - τ) g (b = g on the first step);  g = g + μ b (Nesterov) or b;  p -= lr g
public final class SGD: ElementwiseOptimizer {
    public static let defaultLearningRate = 1e-3
    /// The momentum buffer b.
    public static let stateCount = 1

    public let momentum: Float, dampening: Float, weightDecay: Float, nesterov: Bool
    public let driver = ElementwiseOptimizerDriver()

    public init(momentum: Float = 0, dampening: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public var name: String { "sgd" }

    public var activeStateCount: Int { momentum != 0 ? 1 : 0 }

    public func update(range: Range<Int>, parameters w: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                       state: [UnsafeMutablePointer<Float>], step: Int, lr: Float) {
        let buffer = state.first
        for i in range {
            var g = gradients[i] + weightDecay * w[i]
            if let buffer {
                buffer[i] = step == 1 ? g : momentum * buffer[i] + (1 - dampening) * g
                g = nesterov ? g + momentum * buffer[i] : buffer[i]
            }
            w[i] -= lr * g
        }
    }
}
