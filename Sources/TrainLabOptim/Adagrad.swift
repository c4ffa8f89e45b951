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
        Lanes.forEach(range) { x in
            let wi = x.load(w)
            let g = x.load(gradients) + weightDecay * wi
            // The buffer starts at zero: the first step reads G's initial value instead.
            let accumulated = (step == 1 ? SIMD8(repeating: initialAccumulatorValue) : x.load(sum)) + g * g
            x.store(accumulated, sum)
            x.store(wi - decayedRate * g / (accumulated.squareRoot() + epsilon), w)
        }
    }
}
