import TrainLabAutodiff
import TrainLabKernels

/// Updates parameters from their gradients (`torch.optim` update rules and defaults).
/// State (momentum buffers, moments) is kept per parameter, created on the first step.
public protocol Optimizer: AnyObject {
    var name: String { get }
    /// One update of every parameter with learning rate `lr` (the schedule's value for this step).
    func step(_ parameters: [Parameter], lr: Float)
}

/// Per-parameter state buffers, keyed by the parameter's identity.
final class StateBuffers {
    private var buffers: [ObjectIdentifier: [Tensor]] = [:]

    /// `count` zero-filled tensors shaped like `p`, the same ones on every call.
    func of(_ p: Parameter, count: Int) -> [Tensor] {
        if let b = buffers[ObjectIdentifier(p)] { return b }
        let made = (0..<count).map { _ in Tensor(shape: p.value.shape) }
        buffers[ObjectIdentifier(p)] = made
        return made
    }
}

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

/// Adam (`torch.optim.Adam`; `decoupled` gives `torch.optim.AdamW`):
///   Adam:  g = ∇ + λ p (L2 in the gradient)      AdamW: p -= lr λ p, g = ∇
///   m = β₁ m + (1 - β₁) g;  v = β₂ v + (1 - β₂) g²;  v̂ = max(v̂, v) with AMSGrad
///   p -= lr / (1 - β₁ᵗ) · m / (√v / √(1 - β₂ᵗ) + ε)
public final class Adam: Optimizer {
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public let amsgrad: Bool, decoupled: Bool
    private let state = StateBuffers()
    private var steps = 0

    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0,
                amsgrad: Bool = false, decoupled: Bool = false) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
        self.decoupled = decoupled
    }

    public var name: String { decoupled ? "adamw" : "adam" }

    public func step(_ parameters: [Parameter], lr: Float) {
        steps += 1
        let t = Double(steps)
        let correction1 = Float(1 - pow(Double(beta1), t))
        let correction2Root = Float((1 - pow(Double(beta2), t)).squareRoot())
        let stepSize = lr / correction1
        for p in parameters {
            let buffers = state.of(p, count: amsgrad ? 3 : 2)
            let w = p.value.data, grad = p.gradient.data
            let m = buffers[0].data, v = buffers[1].data
            let vMax = amsgrad ? buffers[2].data : nil
            for i in 0..<p.value.count {
                var g = grad[i]
                if decoupled { w[i] *= 1 - lr * weightDecay } else { g += weightDecay * w[i] }
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                var second = v[i]
                if let vMax {
                    vMax[i] = max(vMax[i], v[i])
                    second = vMax[i]
                }
                w[i] -= stepSize * m[i] / (second.squareRoot() / correction2Root + epsilon)
            }
        }
    }
}

/// Gradient utilities shared by the training loop.
public enum Gradients {
    /// ‖∇‖₂ over all parameters together (summed in parameter order: deterministic).
    public static func globalNorm(_ parameters: [Parameter], pool: ThreadPool = .shared) -> Double {
        var total = 0.0
        for p in parameters {
            total += Double(VectorKernels.dot(p.gradient.data, p.gradient.data, count: p.gradient.count, pool: pool))
        }
        return total.squareRoot()
    }

    /// Scales every gradient by max_norm / (‖∇‖ + 1e-6) when that is below 1
    /// (`torch.nn.utils.clip_grad_norm_`); returns the norm before clipping.
    @discardableResult
    public static func clip(_ parameters: [Parameter], maxNorm: Double, pool: ThreadPool = .shared) -> Double {
        let norm = globalNorm(parameters, pool: pool)
        let coefficient = maxNorm / (norm + 1e-6)
        if coefficient < 1 {
            for p in parameters {
                VectorKernels.scale(Float(coefficient), p.gradient.data, p.gradient.data, count: p.gradient.count, pool: pool)
            }
        }
        return norm
    }
}

#if canImport(Glibc)
import Glibc
#endif
