import TrainLabAutodiff

/// An optimizer that re-evaluates the loss several times per step (line searches, Hessian-vector
/// products), like `torch.optim.LBFGS.step(closure)`. Meant for small, full-batch problems: every
/// evaluation is a forward and backward pass over the whole batch, and the state is a few flat
/// Float64 copies of all parameters.
public protocol ClosureOptimizer: ResumableOptimizer, OptimizerDefaults {
    var name: String { get }
    /// One optimization step from the parameters' current values; leaves them at the new point.
    /// `evaluate` zeroes and then fills every parameter's `gradient` for the current parameter
    /// values and returns the loss there. Returns the loss at the start of the step.
    func step(_ parameters: [Parameter], lr: Float, evaluate: () -> Float) -> Float
    /// Throws when the optimizer refuses a model with `parameterCount` scalars (call it before the
    /// first step). The default accepts any size.
    func validate(parameterCount: Int) throws
}

extension ClosureOptimizer {
    public func validate(parameterCount: Int) throws {}
}

/// A model too large for an optimizer that refuses big models (`Newton`).
public struct TooManyParametersError: Error, CustomStringConvertible, Sendable {
    public let optimizer: String
    public let parameterCount: Int
    public let limit: Int
    public let reason: String

    public var description: String {
        "optimizer '\(optimizer)' supports at most \(limit) parameters, the model has \(parameterCount) (\(reason))"
    }
}

/// All parameters as one flat Float64 vector, in parameter order: values are copied in and out,
/// so the closure optimizers do their arithmetic in double precision.
struct FlatParameters {
    let parameters: [Parameter]
    let count: Int

    init(_ parameters: [Parameter]) {
        self.parameters = parameters
        count = parameters.reduce(0) { $0 + $1.value.count }
    }

    func values() -> [Double] {
        var flat = [Double]()
        flat.reserveCapacity(count)
        for p in parameters { for i in 0..<p.value.count { flat.append(Double(p.value[i])) } }
        return flat
    }

    func gradient() -> [Double] {
        var flat = [Double]()
        flat.reserveCapacity(count)
        for p in parameters { for i in 0..<p.gradient.count { flat.append(Double(p.gradient[i])) } }
        return flat
    }

    /// Writes `x` (rounded to Float32) into the parameters and returns the values as stored.
    @discardableResult
    func assign(_ x: [Double]) -> [Double] {
        precondition(x.count == count, "flat vector of \(x.count) values for \(count) parameters")
        var offset = 0
        for p in parameters {
            for i in 0..<p.value.count { p.value[i] = Float(x[offset + i]) }
            offset += p.value.count
        }
        return values()
    }

    /// x, f and ∇f at the parameters' current values (one evaluation): where every step starts.
    func evaluateHere(_ evaluate: () -> Float) -> Iterate {
        let loss = Double(evaluate())
        return Iterate(x: values(), loss: loss, gradient: gradient())
    }

    /// Loss and gradient at `x`; the parameters are left at `x`.
    func evaluate(at x: [Double], _ evaluate: () -> Float) -> (loss: Double, gradient: [Double]) {
        assign(x)
        let loss = Double(evaluate())
        return (loss, gradient())
    }
}

/// A point of a closure optimizer's step: x and f, ∇f there.
struct Iterate {
    var x: [Double]
    var loss: Double
    var gradient: [Double]
}

/// A step along a direction, as a line search makes it: the new point, the step length t
/// (x_new = x + t d) and the loss evaluations it took.
struct LineStep {
    let point: Iterate
    let length: Double
    let evaluations: Int
}

/// A closure optimizer that iterates "direction, then line search" (`LBFGS`, `ConjugateGradient`):
/// it supplies the two, `iterate` runs torch.optim.LBFGS's step around them:
///   f, ∇f at x (nothing more when max |∇f| ≤ tolerance_grad); then up to `maxIterations` times:
///   d, gᵀd = `descentDirection` (stop when gᵀd > -tolerance_change);  x, t = `lineStep`;
///   stop after `maxEvaluations` evaluations in the step, when max |∇f| ≤ tolerance_grad,
///   max |t d| ≤ tolerance_change or |Δf| < tolerance_change.
protocol LineSearchOptimizer: ClosureOptimizer {
    var maxIterations: Int { get }
    var maxEvaluations: Int { get }
    var toleranceGrad: Double { get }
    var toleranceChange: Double { get }
    /// Loss evaluations over all steps.
    var evaluations: Int { get set }
    /// Iterations over all steps (counted before `descentDirection` is asked).
    var iterations: Int { get set }
    /// The gradient the state was built from (empty before the first iteration): its size must
    /// match the parameters'.
    var previousGradient: [Double] { get }
    /// d and gᵀd at `point`; updates the optimizer's state.
    func descentDirection(at point: Iterate, lr: Double) -> (direction: [Double], slope: Double)
    /// The move from `point` along `direction`, leaving the parameters at the new x. On the step's
    /// last iteration (`lastIteration`) f and ∇f there may be left unevaluated (the old ones kept):
    /// nothing reads them.
    func lineStep(from point: Iterate, along direction: [Double], slope: Double, lr: Double,
                  lastIteration: Bool, flat: FlatParameters, evaluate: () -> Float) -> LineStep
}

extension LineSearchOptimizer {
    /// The step: leaves the parameters at the last point, returns the loss at the first.
    func iterate(_ parameters: [Parameter], lr: Float, evaluate: () -> Float) -> Float {
        let flat = FlatParameters(parameters)
        var point = flat.evaluateHere(evaluate)
        let originalLoss = Float(point.loss)
        var stepEvaluations = 1
        evaluations += 1
        if FlatVector.maxAbs(point.gradient) <= toleranceGrad { return originalLoss }
        precondition(previousGradient.isEmpty || previousGradient.count == flat.count,
                     "\(name) state is for \(previousGradient.count) parameters, got \(flat.count)")
        for iteration in 1...maxIterations {
            iterations += 1
            let (direction, slope) = descentDirection(at: point, lr: Double(lr))
            if slope > -toleranceChange { break }
            let previousLoss = point.loss
            let move = lineStep(from: point, along: direction, slope: slope, lr: Double(lr),
                                lastIteration: iteration == maxIterations, flat: flat, evaluate: evaluate)
            point = move.point
            stepEvaluations += move.evaluations
            evaluations += move.evaluations
            if stepEvaluations >= maxEvaluations || FlatVector.maxAbs(point.gradient) <= toleranceGrad { break }
            if FlatVector.maxAbs(direction) * abs(move.length) <= toleranceChange { break }
            if abs(point.loss - previousLoss) < toleranceChange { break }
        }
        return originalLoss
    }
}

extension LineSearchOptimizer {
    func saveCounts(to archive: inout StateArchive) {
        archive.set("optimizer.counts", integers: [Int64(evaluations), Int64(iterations)])
    }

    func restoreCounts(from archive: StateArchive) throws {
        let counts = try archive.integers("optimizer.counts", count: 2)
        (evaluations, iterations) = (Int(counts[0]), Int(counts[1]))
    }
}

extension StateArchive {
    /// A flat Float64 vector of a closure optimizer: empty (before its first use) or one value
    /// per parameter.
    func vector(_ name: String, size: Int) throws -> [Double] {
        let values = try doubles(name)
        guard values.isEmpty || values.count == size else {
            throw StateArchiveError("'\(name)' has \(values.count) values for \(size) parameters")
        }
        return values
    }

    /// `count` flat vectors stored one after another under `name`.
    func vectors(_ name: String, count: Int, size: Int) throws -> [[Double]] {
        let values = try doubles(name, count: count * size)
        return (0..<count).map { Array(values[($0 * size)..<(($0 + 1) * size)]) }
    }

    func scalar(_ name: String) throws -> Double { try doubles(name, count: 1)[0] }
}

/// Small dense-vector helpers for the flat Float64 views.
enum FlatVector {
    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count, "dot of vectors of \(a.count) and \(b.count) elements")
        var total = 0.0
        for i in a.indices { total += a[i] * b[i] }
        return total
    }

    static func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }

    /// max |aᵢ| (torch's `abs().max()`), 0 for an empty vector.
    static func maxAbs(_ a: [Double]) -> Double { a.reduce(0) { max($0, abs($1)) } }

    /// Σ |aᵢ| (torch's `abs().sum()`).
    static func sumAbs(_ a: [Double]) -> Double { a.reduce(0) { $0 + abs($1) } }

    /// x + t · d
    static func adding(_ x: [Double], _ t: Double, times d: [Double]) -> [Double] {
        precondition(x.count == d.count, "x + t d with \(x.count) and \(d.count) elements")
        return (0..<x.count).map { x[$0] + t * d[$0] }
    }

    static func scaled(_ a: [Double], by s: Double) -> [Double] { a.map { $0 * s } }

    /// a - b
    static func subtracting(_ a: [Double], _ b: [Double]) -> [Double] {
        precondition(a.count == b.count, "a - b with \(a.count) and \(b.count) elements")
        return (0..<a.count).map { a[$0] - b[$0] }
    }
}
