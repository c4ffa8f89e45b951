import Foundation
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
/// Write on first touch: an op asks for an input's gradient with `gradientSlot`, which says
/// whether this is the first write of the step (the buffer holds garbage and the op must write
/// every element, `=`) or a later one (`+=`). No gradient buffer is zero-filled just to be added
/// to, and an op whose input gradient equals its output gradient (add, reshape) can hand its
/// buffer on (`passGradient`): by the time an op's backward runs, every consumer of its output
/// has run, so its gradient buffer is never read again. Hence, as in PyTorch, after `backward`
/// `gradient(_:)` holds for leaves (parameters, inputs) and for nodes marked with
/// `retainGradient`; an intermediate node's buffer may have been handed on.
///
/// Buffers come from an arena that `reset()` rewinds rather than frees: a training step that
/// records the same ops with the same shapes as the last one gets the same buffers back, so the
/// steady state allocates no tensor memory.
public final class Tape {
    public let pool: ThreadPool

    private var values: [Tensor] = []
    private var gradients: [Tensor?] = []
    private var tracksGradient: [Bool] = []
    /// The parameter a leaf stands for (its gradient lives in the parameter).
    private var parameters: [Parameter?] = []
    /// Nodes whose gradient buffer must not be handed on (`retainGradient`).
    private var retainsGradient: [Bool] = []
    private var backwards: [((Tensor) -> Void)?] = []
    /// Backwards of ops with several outputs, on their last node (`onBackward(_:_:)` for a list).
    private var jointBackwards: [(() -> Void)?] = []
    private var arena: [Tensor] = []
    private var arenaCursor = 0
    private var views: [Tensor] = []
    private var viewCursor = 0
    /// Op names by node (empty unless a profile was set when the node was made).
    private var opNames: [String] = []
    private var openOp: (name: String, start: UInt64)?

    /// When set, every op's forward and backward wall time is added to it, by op name.
    public var profile: OpProfile?

    /// Operand precision of every matrix product the ops record, forward and backward (linear
    /// layers, matmuls, attention); everything else is FP32 whatever it is.
    public var precision: MatrixPrecision = .fp32

    public init(pool: ThreadPool = .shared, precision: MatrixPrecision = .fp32) {
        self.pool = pool
        self.precision = precision
    }

    /// Forgets the recorded ops; keeps the buffers for the next step.
    public func reset() {
        closeForwardOp()
        opNames.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        gradients.removeAll(keepingCapacity: true)
        tracksGradient.removeAll(keepingCapacity: true)
        parameters.removeAll(keepingCapacity: true)
        retainsGradient.removeAll(keepingCapacity: true)
        backwards.removeAll(keepingCapacity: true)
        jointBackwards.removeAll(keepingCapacity: true)
        arenaCursor = 0
        viewCursor = 0
    }

    /// Tensors the arena holds (for tests and the allocation report).
    public var arenaSize: Int { arena.count }

    /// Floats the arena holds: a step's values, gradients and scratch, once it has run.
    public var arenaFloats: Int { arena.reduce(0) { $0 + $1.count } }

    /// The arena's buffers, in allocation order (for tests of buffer reuse).
    var arenaBuffers: [UnsafeMutablePointer<Float>] { arena.map(\.data) }

    // MARK: Leaves

    /// A value that receives no gradient (data, targets, masks).
    public func constant(_ tensor: Tensor) -> Variable {
        append(tensor, gradient: nil, tracks: false)
    }

    /// A value whose gradient is accumulated into `parameter.gradient`.
    public func parameter(_ parameter: Parameter) -> Variable {
        let v = append(parameter.value, gradient: nil, tracks: true)
        parameters[v.id] = parameter
        return v
    }

    /// A leaf that tracks a gradient in a tape-owned buffer (inputs of a gradient check).
    public func input(_ tensor: Tensor) -> Variable {
        append(tensor, gradient: nil, tracks: true)
    }

    // MARK: Access

    public func value(_ v: Variable) -> Tensor { values[v.id] }

    /// Keeps v's gradient readable after `backward` (`Tensor.retain_grad()`): ops will not hand
    /// its buffer on to their inputs.
    public func retainGradient(_ v: Variable) { retainsGradient[v.id] = true }

    /// The gradient accumulated by `backward`, if `v` is on a path to the output: for leaves and
    /// for nodes marked with `retainGradient` (another node's buffer may have been handed on).
    public func gradient(_ v: Variable) -> Tensor? { parameters[v.id]?.gradient ?? gradients[v.id] }

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
        closeForwardOp()
        if let profile {
            for id in stride(from: output.id, through: 0, by: -1) {
                let start = OpProfile.now()
                if let joint = jointBackwards[id] {
                    joint()
                } else if let backward = backwards[id], let dy = gradients[id] {
                    backward(dy)
                } else {
                    continue
                }
                profile.add(opNames[id].isEmpty ? "(recorded before profiling)" : opNames[id], backward: OpProfile.now() - start)
            }
            return
        }
        for id in stride(from: output.id, through: 0, by: -1) {
            if let joint = jointBackwards[id] {
                joint()
            } else if let backward = backwards[id], let dy = gradients[id] {
                backward(dy)
            }
        }
    }

    // MARK: For ops

    /// A new node whose value is a buffer from the arena (contents unspecified: ops overwrite it).
    /// It tracks a gradient when any input does. `op` names it in a profile (the calling
    /// function's name unless given).
    func output(shape: [Int], from inputs: Variable..., op: @autoclosure () -> String = #function) -> (Variable, Tensor) {
        output(shape: shape, from: inputs, op: op(), value: nil)
    }

    /// `output(shape:from:)` for a list of inputs (ops with optional operands).
    func output(shape: [Int], inputs: [Variable], op: @autoclosure () -> String = #function) -> (Variable, Tensor) {
        output(shape: shape, from: inputs, op: op(), value: nil)
    }

    private func output(shape: [Int], from inputs: [Variable], op: @autoclosure () -> String, value given: Tensor?) -> (Variable, Tensor) {
        var tracks = false
        for i in inputs where tracksGradient[i.id] { tracks = true }
        let value = given ?? take(shape)
        let node = append(value, gradient: nil, tracks: tracks)
        if profile != nil { openForwardOp(OpProfile.shortName(op()), at: node) }
        return (node, value)
    }

    /// Starts timing the forward of the op whose (last) output is `node`, under `name`.
    private func openForwardOp(_ name: String, at node: Variable) {
        closeForwardOp()
        opNames[node.id] = name
        openOp = (name, OpProfile.now())
    }

    /// The nodes of an op with several outputs, made one after another; `op` names them once in
    /// a profile (their backward runs on the last, `onBackward(_:_:)` for a list).
    func outputs(shapes: [[Int]], inputs: [Variable], op: @autoclosure () -> String) -> [(Variable, Tensor)] {
        let tracks = inputs.contains { tracksGradient[$0.id] }
        let made = shapes.map { shape in
            let value = take(shape)
            return (append(value, gradient: nil, tracks: tracks), value)
        }
        // The name as given: `shortName` would cut one such as "linears 8x(4+2)x3" at its "(".
        if profile != nil, let last = made.last { openForwardOp(op(), at: last.0) }
        return made
    }

    /// A new node whose value is a view of `x`'s elements with another shape (reshape).
    func outputViewing(_ x: Variable, shape: [Int], op: @autoclosure () -> String = #function) -> Variable {
        let (node, _) = output(shape: shape, from: [x], op: op(), value: view(values[x.id], shape: shape))
        return node
    }

    /// An op's forward time runs until the next op starts (or backward does): what the model
    /// does between ops counts towards the op before.
    private func closeForwardOp() {
        guard let open = openOp, let profile else { return }
        profile.add(open.name, forward: OpProfile.now() - open.start)
        openOp = nil
    }

    /// Records how `v`'s gradient flows to its inputs; skipped when `v` tracks no gradient.
    func onBackward(_ v: Variable, _ body: @escaping (_ dy: Tensor) -> Void) {
        if tracksGradient[v.id] { backwards[v.id] = body }
    }

    /// Records the backward of an op with several outputs, `nodes`, made one after another with
    /// no op between them: it runs once, when the sweep reaches the last (every consumer of each
    /// has run by then), with each node's gradient (nil for one that got none), unless none got one.
    func onBackward(_ nodes: [Variable], _ body: @escaping (_ dys: [Tensor?]) -> Void) {
        guard let last = nodes.last, nodes.contains(where: { tracksGradient[$0.id] }) else { return }
        precondition(zip(nodes, nodes.dropFirst()).allSatisfy { $1.id == $0.id + 1 },
                     "onBackward: the outputs of one op are consecutive nodes")
        jointBackwards[last.id] = { [unowned self] in
            let dys = nodes.map { gradients[$0.id] }
            if dys.contains(where: { $0 != nil }) { body(dys) }
        }
    }

    /// The gradient buffer of `v` to add (+=) into, zero-filled on first use in this step; nil
    /// when `v` tracks none. For ops whose backward cannot write every element (scatters).
    func gradientIfTracked(_ v: Variable) -> Tensor? {
        tracksGradient[v.id] ? gradientBuffer(v) : nil
    }

    func gradientBuffer(_ v: Variable) -> Tensor {
        if let p = parameters[v.id] { return p.gradient }
        if let g = gradients[v.id] { return g }
        let g = take(values[v.id].shape)
        g.fill(0)
        gradients[v.id] = g
        return g
    }

    /// The gradient buffer of `v` for an op to write into; nil when `v` tracks none. `overwrite`:
    /// this is the step's first write, the buffer's contents are garbage and the op must set
    /// every element (`=`); otherwise it adds (`+=`).
    func gradientSlot(_ v: Variable) -> (tensor: Tensor, overwrite: Bool)? {
        guard tracksGradient[v.id] else { return nil }
        if let p = parameters[v.id] {
            defer { p.gradientIsZero = false }
            return (p.gradientStorage, p.gradientIsZero)
        }
        if let g = gradients[v.id] { return (g, false) }
        let g = take(values[v.id].shape)
        gradients[v.id] = g
        return (g, true)
    }

    /// Gives `v` the gradient `dy` of node `y` (with v's element count): `dy`'s own buffer,
    /// viewed with v's shape, when this is v's first gradient and y does not retain its own
    /// (dy must not be written again, and at most one input of an op may take it); else adds it in.
    func passGradient(_ dy: Tensor, of y: Variable, to v: Variable) {
        guard tracksGradient[v.id] else { return }
        if !retainsGradient[y.id], parameters[v.id] == nil, gradients[v.id] == nil {
            let shape = values[v.id].shape
            gradients[v.id] = dy.shape == shape ? dy : view(dy, shape: shape)
            return
        }
        addGradient(dy, to: v)
    }

    /// Adds α·dy into v's gradient (writes it on the first touch).
    func addGradient(_ dy: Tensor, scaledBy alpha: Float = 1, to v: Variable) {
        guard let (g, overwrite) = gradientSlot(v) else { return }
        if !overwrite {
            VectorKernels.axpy(alpha, dy.data, g.data, count: dy.count, pool: pool)
        } else if alpha == 1 {
            VectorKernels.copy(dy.data, g.data, count: dy.count, pool: pool)
        } else {
            VectorKernels.scale(alpha, dy.data, g.data, count: dy.count, pool: pool)
        }
    }

    /// A view of `tensor` with another shape; the view objects are reused between steps.
    func view(_ tensor: Tensor, shape: [Int]) -> Tensor {
        defer { viewCursor += 1 }
        if viewCursor < views.count, views[viewCursor].data == tensor.data, views[viewCursor].shape == shape {
            return views[viewCursor]
        }
        let made = Tensor(viewing: tensor, shape: shape)
        if viewCursor < views.count { views[viewCursor] = made } else { views.append(made) }
        return made
    }

    /// Scratch memory for an op, from the arena (lives until the next `reset`).
    func scratch(_ shape: [Int]) -> Tensor { take(shape) }

    private func append(_ value: Tensor, gradient: Tensor?, tracks: Bool) -> Variable {
        values.append(value)
        gradients.append(gradient)
        tracksGradient.append(tracks)
        parameters.append(nil)
        retainsGradient.append(false)
        backwards.append(nil)
        jointBackwards.append(nil)
        opNames.append("")
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

/// Wall time by op name over the steps of a profile (`trainlab bench train --profile`).
public final class OpProfile {
    public struct Entry: Sendable {
        public var forwardCalls = 0
        public var forwardNanoseconds: UInt64 = 0
        public var backwardNanoseconds: UInt64 = 0
    }

    public private(set) var entries: [String: Entry] = [:]

    public init() {}

    func add(_ name: String, forward nanoseconds: UInt64) {
        entries[name, default: Entry()].forwardCalls += 1
        entries[name, default: Entry()].forwardNanoseconds += nanoseconds
    }

    func add(_ name: String, backward nanoseconds: UInt64) {
        entries[name, default: Entry()].backwardNanoseconds += nanoseconds
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// "matmul(_:_:transposeA:transposeB:)" -> "matmul".
    static func shortName(_ function: String) -> String {
        function.firstIndex(of: "(").map { String(function[..<$0]) } ?? function
    }
}
