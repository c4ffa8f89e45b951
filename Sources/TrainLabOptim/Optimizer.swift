import TrainLabAutodiff
import TrainLabKernels

/// What an optimizer's type tells before any run: the catalogue's defaults and the resource
/// estimate read these.
public protocol OptimizerDefaults {
    /// torch's default learning rate (the spec's `optimizer.lr` when not given).
    static var defaultLearningRate: Double { get }
    /// Copies of the parameters kept as state, with every option on (memory ≈ (2 + stateCount)
    /// parameter copies, with the values and gradients).
    static var stateCount: Int { get }
}

/// What an optimizer carries from step to step (buffers, histories, step counts), saved with a
/// run's training state and restored to resume it: the steps after a restore are bit-identical
/// to those the saved optimizer would have taken. Names start with `optimizer.`.
public protocol ResumableOptimizer: AnyObject {
    func saveState(_ parameters: [Parameter], to archive: inout StateArchive)
    /// Throws when the archive does not fit these parameters.
    func restoreState(_ parameters: [Parameter], from archive: StateArchive) throws
}

/// Updates parameters from their gradients (`torch.optim` update rules and defaults).
/// State (momentum buffers, moments) is kept per parameter, created on the first step.
/// The elementwise rules conform through `ElementwiseOptimizer`, which supplies `step`.
public protocol Optimizer: ResumableOptimizer, OptimizerDefaults {
    var name: String { get }
    /// One update of every parameter with learning rate `lr` (the schedule's value for this step).
    func step(_ parameters: [Parameter], lr: Float)
}

/// Per-parameter state buffers, keyed by the parameter's identity.
final class StateBuffers {
    private var buffers: [ObjectIdentifier: [Tensor]] = [:]

    /// `count` tensors shaped like `p`, zeros when first made, the same ones on every call.
    func of(_ p: Parameter, count: Int) -> [Tensor] {
        if let b = buffers[ObjectIdentifier(p)] { return b }
        let made = (0..<count).map { _ in Tensor(shape: p.value.shape) }
        buffers[ObjectIdentifier(p)] = made
        return made
    }

    private var flatBuffers: [Tensor] = []
    private var flatSpan: UnsafeMutablePointer<Float>? = nil

    /// `tensors` flat buffers of `count` floats (zeros when first made) for state kept over the
    /// packed parameter span starting at `span`; the same ones on every call for that span.
    func flat(span: UnsafeMutablePointer<Float>, count: Int, tensors: Int) -> [Tensor] {
        if flatSpan != span || flatBuffers.count != tensors || flatBuffers.first?.count != count {
            flatBuffers = (0..<tensors).map { _ in Tensor(shape: [count]) }
            flatSpan = span
        }
        return flatBuffers
    }
}

/// Gradient utilities shared by the training loop.
public enum Gradients {
    /// ‖∇‖₂ over all parameters together (summed in parameter order: deterministic).
    /// Per parameter even when they are packed: the logged norm is then the same number for a
    /// packed and an unpacked model (a handful of reductions; the update is the one pass).
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
            if let span = Parameter.contiguousSpan(parameters) {
                VectorKernels.scale(Float(coefficient), span.gradients, span.gradients, count: span.count, pool: pool)
                return norm
            }
            for p in parameters {
                VectorKernels.scale(Float(coefficient), p.gradient.data, p.gradient.data, count: p.gradient.count, pool: pool)
            }
        }
        return norm
    }
}
