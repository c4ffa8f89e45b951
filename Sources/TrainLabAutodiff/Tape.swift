import TrainLabKernels

/// A value recorded on a `Tape`.
public struct Variable: Hashable, Sendable {
    public let id: Int
}

/// Reverse-mode automatic differentiation by recording (micrograd's design, on whole tensors).
///
/// Each op computes its value now and records a closure that, given the output's gradient, adds
/// (+=) into its inputs' gradients; `backward` runs the closures in reverse order. Parameter
/// gradients go straight into `Parameter.gradient`.
///
/// Buffers come from an arena that `reset()` rewinds rather than frees: a training step that
/// records the same ops with the same shapes as the last one gets the same buffers back, so the
/// steady state allocates no tensor memory.
public final class Tape {
    public let pool: ThreadPool

    private var values: [Tensor] = []
    private var gradients: [Tensor?] = []
    private var tracksGradient: [Bool] = []
    private var backwards: [((Tensor) -> Void)?] = []
    private var arena: [Tensor] = []
    private var arenaCursor = 0

    public init(pool: ThreadPool = .shared) {
        self.pool = pool
    }

    /// Forgets the recorded ops; keeps the buffers for the next step.
    public func reset() {
        values.removeAll(keepingCapacity: true)
        gradients.removeAll(keepingCapacity: true)
        tracksGradient.removeAll(keepingCapacity: true)
        backwards.removeAll(keepingCapacity: true)
        arenaCursor = 0
    }

    /// Tensors the arena holds (for tests and the allocation report).
    public var arenaSize: Int { arena.count }

    /// The arena's buffers, in allocation order (for tests of buffer reuse).
    var arenaBuffers: [UnsafeMutablePointer<Float>] { arena.map(\.data) }

    // MARK: Leaves

    /// A value that receives no gradient (data, targets, masks).
    public func constant(_ tensor: Tensor) -> Variable {
        append(tensor, gradient: nil, tracks: false)
    }

    /// A value whose gradient is accumulated into `parameter.gradient`.
    public func parameter(_ parameter: Parameter) -> Variable {
        append(parameter.value, gradient: parameter.gradient, tracks: true)
    }

    /// A leaf that tracks a gradient in a tape-owned buffer (inputs of a gradient check).
    public func input(_ tensor: Tensor) -> Variable {
        append(tensor, gradient: nil, tracks: true)
    }

    // MARK: Access

    public func value(_ v: Variable) -> Tensor { values[v.id] }

    /// The gradient accumulated by `backward`, if `v` is on a path to the output.
    public func gradient(_ v: Variable) -> Tensor? { gradients[v.id] }

    public func shape(_ v: Variable) -> [Int] { values[v.id].shape }

    public func requiresGradient(_ v: Variable) -> Bool { tracksGradient[v.id] }

    // MARK: Backward

    /// Back-propagates from `output`: seeds its gradient with `seed` (default: 1, for a scalar
    /// loss) and runs every recorded backward closure in reverse order.
    public func backward(from output: Variable, seed: Tensor? = nil) {
        let g = gradientBuffer(output)
        if let seed {
            precondition(seed.shape == shape(output), "seed shape \(seed.shape) for output \(shape(output))")
            g.copy(from: seed)
        } else {
            precondition(values[output.id].count == 1, "backward without a seed needs a scalar, got \(shape(output))")
            g[0] = 1
        }
        for id in stride(from: output.id, through: 0, by: -1) {
            guard let backward = backwards[id], let dy = gradients[id] else { continue }
            backward(dy)
        }
    }

    // MARK: For ops

    /// A new node whose value is a buffer from the arena (contents unspecified: ops overwrite it).
    /// It tracks a gradient when any input does.
    func output(shape: [Int], from inputs: Variable...) -> (Variable, Tensor) {
        var tracks = false
        for i in inputs where tracksGradient[i.id] { tracks = true }
        let value = take(shape)
        return (append(value, gradient: nil, tracks: tracks), value)
    }

    /// Records how `v`'s gradient flows to its inputs; skipped when `v` tracks no gradient.
    func onBackward(_ v: Variable, _ body: @escaping (_ dy: Tensor) -> Void) {
        if tracksGradient[v.id] { backwards[v.id] = body }
    }

    /// The gradient buffer of `v`, zero-filled on first use in this step; nil when `v` tracks none.
    func gradientIfTracked(_ v: Variable) -> Tensor? {
        tracksGradient[v.id] ? gradientBuffer(v) : nil
    }

    func gradientBuffer(_ v: Variable) -> Tensor {
        if let g = gradients[v.id] { return g }
        let g = take(values[v.id].shape)
        g.fill(0)
        gradients[v.id] = g
        return g
    }

    /// Scratch memory for an op, from the arena (lives until the next `reset`).
    func scratch(_ shape: [Int]) -> Tensor { take(shape) }

    private func append(_ value: Tensor, gradient: Tensor?, tracks: Bool) -> Variable {
        values.append(value)
        gradients.append(gradient)
        tracksGradient.append(tracks)
        backwards.append(nil)
        return Variable(id: values.count - 1)
    }

    private func take(_ shape: [Int]) -> Tensor {
        defer { arenaCursor += 1 }
        if arenaCursor < arena.count {
            if arena[arenaCursor].shape == shape { return arena[arenaCursor] }
            arena[arenaCursor] = Tensor(shape: shape)
        } else {
            arena.append(Tensor(shape: shape))
        }
        return arena[arenaCursor]
    }
}
