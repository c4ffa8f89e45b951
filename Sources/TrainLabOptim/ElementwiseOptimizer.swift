import TrainLabAutodiff
import TrainLabKernels

/// A first-order optimizer whose update of each parameter element reads only that element's
/// value, gradient and state: every `torch.optim` rule here. It declares what differs (its
/// hyperparameters, `stateCount`, `defaultLearningRate` and the rule over a range of elements in
/// `update`) and gets `step` from its `ElementwiseOptimizerDriver`, which owns the state, the
/// walk over the parameters and the threads.
///
/// Adding one is its file plus one entry in `Catalogue.optimizers`:
///
///     /// signSGD (Bernstein et al. 2018, https://arxiv.org/abs/1802.04434): p -= lr · sign(∇)
///     public final class SignSGD: ElementwiseOptimizer {
///         public static let defaultLearningRate = 1e-3, stateCount = 0
///         public let driver = ElementwiseOptimizerDriver()
///         public var name: String { "signsgd" }
///         public func update(range: Range<Int>, parameters w: UnsafeMutablePointer<Float>,
///                            gradients: UnsafePointer<Float>, state: [UnsafeMutablePointer<Float>],
///                            step: Int, lr: Float) {
///             for i in range where gradients[i] != 0 { w[i] -= gradients[i] > 0 ? lr : -lr }
///         }
///     }
///
/// The loop is plain Swift over the buffers: in release builds it runs as fast as SIMD8 code (the
/// rules are memory-bound; the compiler vectorizes the simple ones), while in debug builds, where
/// only the hot-loop targets are optimized (Package.swift), SIMD types in this module would run
/// ~13x slower than scalar code. A rule that wants hand-written SIMD goes to the hot loops, as
/// Adam's does.
public protocol ElementwiseOptimizer: Optimizer {
    /// Holds the state buffers and the step count; the optimizer keeps one for its lifetime.
    var driver: ElementwiseOptimizerDriver { get }
    /// State buffers this configuration uses (at most `stateCount`; e.g. SGD without momentum: 0).
    var activeStateCount: Int { get }
    /// The update of elements `range` of one parameter buffer: `parameters`, `gradients` and each
    /// of the `activeStateCount` buffers in `state` (zeros before the first step) are indexed
    /// alike. `step` counts from 1. Called concurrently on disjoint ranges.
    func update(range: Range<Int>, parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                state: [UnsafeMutablePointer<Float>], step: Int, lr: Float)
}

extension ElementwiseOptimizer {
    public var activeStateCount: Int { Self.stateCount }

    public func step(_ parameters: [Parameter], lr: Float) { driver.step(self, parameters, lr: lr) }

    public func saveState(_ parameters: [Parameter], to archive: inout StateArchive) {
        archive.set("optimizer.steps", integer: driver.steps)
        for (name, tensor) in driver.stateTensors(parameters, slots: activeStateCount) {
            archive.set(name, floats: tensor.scalars)
        }
    }

    public func restoreState(_ parameters: [Parameter], from archive: StateArchive) throws {
        driver.steps = try archive.integer("optimizer.steps")
        for (name, tensor) in driver.stateTensors(parameters, slots: activeStateCount) {
            try archive.restore(tensor, from: name)
        }
    }
}

/// Runs an `ElementwiseOptimizer`'s steps. Packed parameters (`Parameter.packContiguously`) are
/// updated in one pass over their span with state kept flat in the same order; others one by one
/// with state per parameter. Every buffer is cut into chunks of `chunkSize` elements from its
/// start, whatever the thread count, and the pool runs the chunks: each element goes through the
/// same code on 1 or 7 threads, so results are bit-identical.
public final class ElementwiseOptimizerDriver {
    /// Elements per chunk: fixed, so the split of a buffer does not depend on the thread count.
    public static let chunkSize = VectorKernels.elementGrain
    /// Threads for the update.
    public var pool: ThreadPool = .shared
    /// Steps taken so far.
    public internal(set) var steps = 0
    private let state = StateBuffers()

    public init() {}

    /// One buffer to update: parameter values, gradients and state, all `count` long.
    private struct Segment {
        let values: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>
        let state: [UnsafeMutablePointer<Float>]
        let count: Int
    }

    /// The state buffers `step` uses for `parameters` (made, zeros, when missing), named by
    /// position: `optimizer.state<k>` over a packed span, else `optimizer.p<i>.state<k>`.
    func stateTensors(_ parameters: [Parameter], slots: Int) -> [(name: String, tensor: Tensor)] {
        if let span = Parameter.contiguousSpan(parameters) {
            return state.flat(span: span.values, count: span.count, tensors: slots).enumerated()
                .map { ("optimizer.state\($0.offset)", $0.element) }
        }
        return parameters.enumerated().flatMap { i, p in
            state.of(p, count: slots).enumerated().map { ("optimizer.p\(i).state\($0.offset)", $0.element) }
        }
    }

    func step<O: ElementwiseOptimizer>(_ optimizer: O, _ parameters: [Parameter], lr: Float) {
        steps += 1
        let slots = optimizer.activeStateCount
        let segments: [Segment]
        if let span = Parameter.contiguousSpan(parameters) {
            let flat = state.flat(span: span.values, count: span.count, tensors: slots)
            segments = [Segment(values: span.values, gradients: span.gradients, state: flat.map(\.data), count: span.count)]
        } else {
            segments = parameters.map { p in
                Segment(values: p.value.data, gradients: p.gradient.data, state: state.of(p, count: slots).map(\.data),
                        count: p.value.count)
            }
        }
        var chunks: [(segment: Int, range: Range<Int>)] = []
        for (s, segment) in segments.enumerated() {
            for start in stride(from: 0, to: segment.count, by: Self.chunkSize) {
                chunks.append((s, start..<min(start + Self.chunkSize, segment.count)))
            }
        }
        let step = steps
        pool.parallelFor(chunks.count) { c, _ in
            let segment = segments[chunks[c].segment]
            optimizer.update(range: chunks[c].range, parameters: segment.values, gradients: segment.gradients,
                             state: segment.state, step: step, lr: lr)
        }
    }
}
