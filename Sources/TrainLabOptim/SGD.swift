import TrainLabAutodiff

/// Stochastic gradient descent (`torch.optim.SGD`):
///   g = ∇ + λ p;  b = μ b + (1 - τ) g (b = g on the first step);  g = g + μ b (Nesterov) or b;  p -= lr g
public final class SGD: Optimizer {
    public let momentum: Float, dampening: Float, weightDecay: Float, nesterov: Bool
    private let state = StateBuffers()
    private var steps = 0

    public init(momentum: Float = 0, dampening: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public var name: String { "sgd" }

    public func step(_ parameters: [Parameter], lr: Float) {
        steps += 1
        for p in parameters {
            let w = p.value.data, grad = p.gradient.data
            let buffer = momentum != 0 ? state.of(p, count: 1)[0].data : nil
            for i in 0..<p.value.count {
                var g = grad[i] + weightDecay * w[i]
                if let buffer {
                    buffer[i] = steps == 1 ? g : momentum * buffer[i] + (1 - dampening) * g
                    g = nesterov ? g + momentum * buffer[i] : buffer[i]
                }
                w[i] -= lr * g
            }
        }
    }
}
