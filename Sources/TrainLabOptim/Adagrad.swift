import TrainLabAutodiff

/// Adagrad (`torch.optim.Adagrad`; Duchi et al. 2011, https://jmlr.org/papers/v12/duchi11a.html):
///   g = ∇ + λ p;  clr = lr / (1 + (t - 1) · lr_decay);  G += g²;  p -= clr · g / (√G + ε)
/// G starts at `initial_accumulator_value`. ε is added after the square root, as in torch
/// (the notes write √(G + ε)).
public final class Adagrad: ElementwiseOptimizer {
    public static let defaultLearningRate = 1e-2
    /// The sum of squared gradients G.
    public static let stateCount = 1

    public let learningRateDecay: Float, weightDecay: Float, initialAccumulatorValue: Float, epsilon: Float
    public let driver = ElementwiseOptimizerDriver()

    public init(learningRateDecay: Float = 0, weightDecay: Float = 0, initialAccumulatorValue: Float = 0,
                epsilon: Float = 1e-10) {
        self.learningRateDecay = learningRateDecay
        self.weightDecay = weightDecay
        self.initialAccumulatorValue = initialAccumulatorValue
        self.epsilon = epsilon
    }

    public var name: String { "adagrad" }

    public func update(range: Range<Int>, parameters w: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                       state: [UnsafeMutablePointer<Float>], step: Int, lr: Float) {
        let decayedRate = lr / (1 + Float(step - 1) * learningRateDecay)
        let sum = state[0]
        for i in range {
            let g = gradients[i] + weightDecay * w[i]
            // The buffer starts at zero: the first step reads G's initial value instead.
            sum[i] = (step == 1 ? initialAccumulatorValue : sum[i]) + g * g
            w[i] -= decayedRate * g / (sum[i].squareRoot() + epsilon)
        }
    }
}
