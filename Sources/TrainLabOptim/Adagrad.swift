import TrainLabAutodiff

/// Adagrad (`torch.optim.Adagrad`; Duchi et al. 2011, https://jmlr.org/papers/v12/duchi11a.html):
///   g = ∇ + λ p;  clr = lr / (1 + (t - 1) · lr_decay);  G += g²;  p -= clr · g / (√G + ε)
/// G starts at `initial_accumulator_value`. ε is added after the square root, as in torch
/// (the notes write √(G + ε)).
public final class Adagrad: Optimizer {
    public let learningRateDecay: Float, weightDecay: Float, initialAccumulatorValue: Float, epsilon: Float
    private let state = StateBuffers()
    private var steps = 0

    public init(learningRateDecay: Float = 0, weightDecay: Float = 0, initialAccumulatorValue: Float = 0,
                epsilon: Float = 1e-10) {
        self.learningRateDecay = learningRateDecay
        self.weightDecay = weightDecay
        self.initialAccumulatorValue = initialAccumulatorValue
        self.epsilon = epsilon
    }

    public var name: String { "adagrad" }

    public func step(_ parameters: [Parameter], lr: Float) {
        steps += 1
        let decayedRate = lr / (1 + Float(steps - 1) * learningRateDecay)
        for p in parameters {
            let w = p.value.data, grad = p.gradient.data
            let sum = state.of(p, count: 1, initialValue: initialAccumulatorValue)[0].data
            for i in 0..<p.value.count {
                let g = grad[i] + weightDecay * w[i]
                sum[i] += g * g
                w[i] -= decayedRate * g / (sum[i].squareRoot() + epsilon)
            }
        }
    }
}
