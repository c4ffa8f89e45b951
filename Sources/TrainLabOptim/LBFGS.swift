import TrainLabAutodiff

/// Limited-memory BFGS (`torch.optim.LBFGS`; Nocedal & Wright, Numerical Optimization, Alg. 7.4–7.5),
/// for small full-batch problems. Each step runs up to `maxIterations` iterations:
///   d = -H g  (two-loop recursion over the last `historySize` pairs s = t d, y = Δg with yᵀs > 1e-10;
///              H₀ = yᵀs / yᵀy of the newest pair; d = -g on the very first iteration)
///   t = min(1, 1 / ‖g‖₁) · lr on the very first iteration, else lr; with "strong_wolfe",
///   t from `StrongWolfe.search` (c₁ = 1e-4, c₂ = 0.9, at most 25 evaluations; its Armijo test
///   allows the Float32 rounding of the loss, the one change from torch);  x += t d
/// It stops early when max |g| ≤ tolerance_grad, gᵀd > -tolerance_change, max |t d| ≤ tolerance_change,
/// |Δf| < tolerance_change or after `maxEvaluations` evaluations. The history is kept between steps.
/// Arithmetic is in Float64 on a flat copy of all parameters.
public final class LBFGS: LineSearchOptimizer {
    public enum LineSearch: String, Sendable {
        case strongWolfe = "strong_wolfe"
    }

    public let maxIterations: Int, maxEvaluations: Int, historySize: Int
    public let toleranceGrad: Double, toleranceChange: Double
    public let lineSearch: LineSearch?
    public static let defaultLearningRate = 1.0
    /// Float64 vectors: s and y of each pair in the default history, d, g_prev, x and g.
    public static let stateCount = 2 * 100 + 4

    /// Loss evaluations over all steps (torch's `func_evals`).
    public internal(set) var evaluations = 0
    /// Iterations over all steps (torch's `n_iter`).
    public internal(set) var iterations = 0

    // State carried from step to step (torch keeps it in `state[params[0]]`).
    private var direction: [Double] = []
    private var stepLength = 0.0
    private var gradientChanges: [[Double]] = []  // y
    private var steps: [[Double]] = []            // s
    private var inverseCurvatures: [Double] = []  // ρ = 1 / yᵀs
    private var hessianDiagonal = 1.0
    private(set) var previousGradient: [Double] = []

    /// `maxEvaluations` defaults to maxIterations · 5 / 4, as in torch.
    public init(maxIterations: Int = 20, maxEvaluations: Int? = nil, toleranceGrad: Double = 1e-7,
                toleranceChange: Double = 1e-9, historySize: Int = 100, lineSearch: LineSearch? = nil) {
        precondition(maxIterations >= 1 && historySize >= 1, "LBFGS needs max_iter ≥ 1 and history_size ≥ 1")
        self.maxIterations = maxIterations
        self.maxEvaluations = maxEvaluations ?? maxIterations * 5 / 4
        self.toleranceGrad = toleranceGrad
        self.toleranceChange = toleranceChange
        self.historySize = historySize
        self.lineSearch = lineSearch
    }

    public var name: String { "lbfgs" }

    public func step(_ parameters: [Parameter], lr: Float, evaluate: () -> Float) -> Float {
        iterate(parameters, lr: lr, evaluate: evaluate)
    }

    public func saveState(_ parameters: [Parameter], to archive: inout StateArchive) {
        saveCounts(to: &archive)
        archive.set("optimizer.direction", doubles: direction)
        archive.set("optimizer.previous_gradient", doubles: previousGradient)
        archive.set("optimizer.scalars", doubles: [stepLength, hessianDiagonal])
        archive.set("optimizer.history", integer: steps.count)
        archive.set("optimizer.s", doubles: steps.flatMap { $0 })
        archive.set("optimizer.y", doubles: gradientChanges.flatMap { $0 })
        archive.set("optimizer.rho", doubles: inverseCurvatures)
    }

    public func restoreState(_ parameters: [Parameter], from archive: StateArchive) throws {
        let size = FlatParameters(parameters).count
        try restoreCounts(from: archive)
        direction = try archive.vector("optimizer.direction", size: size)
        previousGradient = try archive.vector("optimizer.previous_gradient", size: size)
        let scalars = try archive.doubles("optimizer.scalars", count: 2)
        (stepLength, hessianDiagonal) = (scalars[0], scalars[1])
        let history = try archive.integer("optimizer.history")
        steps = try archive.vectors("optimizer.s", count: history, size: size)
        gradientChanges = try archive.vectors("optimizer.y", count: history, size: size)
        inverseCurvatures = try archive.doubles("optimizer.rho", count: history)
    }

    /// d = -g on the very first iteration (the history starts over), else -H g; sets the step
    /// length the line search starts from.
    func descentDirection(at point: Iterate, lr: Double) -> (direction: [Double], slope: Double) {
        if iterations == 1 {
            direction = FlatVector.scaled(point.gradient, by: -1)
            gradientChanges = []
            steps = []
            inverseCurvatures = []
            hessianDiagonal = 1
        } else {
            updateHistory(gradient: point.gradient)
            direction = twoLoopDirection(gradient: point.gradient)
        }
        previousGradient = point.gradient
        stepLength = iterations == 1 ? min(1, 1 / FlatVector.sumAbs(point.gradient)) * lr : lr
        return (direction, FlatVector.dot(point.gradient, direction))
    }

    /// The strong Wolfe search, or the fixed step t, evaluated except on the step's last
    /// iteration (torch: no use in a stochastic setting).
    func lineStep(from point: Iterate, along direction: [Double], slope: Double, lr: Double,
                  lastIteration: Bool, flat: FlatParameters, evaluate: () -> Float) -> LineStep {
        switch lineSearch {
        case .strongWolfe:
            let result = StrongWolfe.search(
                objective: { t in flat.evaluate(at: FlatVector.adding(point.x, t, times: direction), evaluate) },
                direction: direction, initialStep: stepLength, loss: point.loss, gradient: point.gradient,
                directionalDerivative: slope, toleranceChange: toleranceChange)
            stepLength = result.step
            let x = flat.assign(FlatVector.adding(point.x, stepLength, times: direction))
            return LineStep(point: Iterate(x: x, loss: result.loss, gradient: result.gradient), length: stepLength,
                            evaluations: result.evaluations)
        case nil:
            let x = flat.assign(FlatVector.adding(point.x, stepLength, times: direction))
            if lastIteration {
                return LineStep(point: Iterate(x: x, loss: point.loss, gradient: point.gradient), length: stepLength,
                                evaluations: 0)
            }
            let loss = Double(evaluate())
            return LineStep(point: Iterate(x: x, loss: loss, gradient: flat.gradient()), length: stepLength, evaluations: 1)
        }
    }

    /// Stores s = t d, y = g - g_prev when yᵀs > 1e-10 (dropping the oldest pair beyond
    /// `historySize`) and rescales H₀ = yᵀs / yᵀy.
    private func updateHistory(gradient: [Double]) {
        let y = FlatVector.subtracting(gradient, previousGradient)
        let s = FlatVector.scaled(direction, by: stepLength)
        let ys = FlatVector.dot(y, s)
        guard ys > 1e-10 else { return }
        if steps.count == historySize {
            gradientChanges.removeFirst()
            steps.removeFirst()
            inverseCurvatures.removeFirst()
        }
        gradientChanges.append(y)
        steps.append(s)
        inverseCurvatures.append(1 / ys)
        hessianDiagonal = ys / FlatVector.dot(y, y)
    }

    /// -H g by the two-loop recursion:
    ///   q = -g;  for i newest → oldest: aᵢ = ρᵢ sᵢᵀq, q -= aᵢ yᵢ
    ///   r = H₀ q;  for i oldest → newest: bᵢ = ρᵢ yᵢᵀr, r += (aᵢ - bᵢ) sᵢ
    private func twoLoopDirection(gradient: [Double]) -> [Double] {
        var q = FlatVector.scaled(gradient, by: -1)
        var a = [Double](repeating: 0, count: steps.count)
        for i in steps.indices.reversed() {
            a[i] = FlatVector.dot(steps[i], q) * inverseCurvatures[i]
            for j in q.indices { q[j] -= a[i] * gradientChanges[i][j] }
        }
        var r = FlatVector.scaled(q, by: hessianDiagonal)
        for i in steps.indices {
            let b = FlatVector.dot(gradientChanges[i], r) * inverseCurvatures[i]
            for j in r.indices { r[j] += (a[i] - b) * steps[i][j] }
        }
        return r
    }
}
