import TrainLabAutodiff

/// Nonlinear conjugate gradient, Polak–Ribière+ (Nocedal & Wright, Numerical Optimization, §5.2),
/// for small full-batch problems; steps are organized like `LBFGS` (up to `maxIterations`
/// iterations and `maxEvaluations` evaluations per step, same stopping tolerances):
///   β = max(0, gᵀ(g - g_prev) / g_prevᵀg_prev);  d = -g + β d_prev
///   d = -g (restart) on the very first iteration, every `restartInterval` iterations
///   (default: the parameter count n) and whenever gᵀd ≥ 0 (not a descent direction)
///   t from `StrongWolfe.search` (c₁ = 1e-4, c₂ = 0.1: CG wants a tighter line search than
///   L-BFGS's 0.9), starting at min(1, 1 / ‖g‖₁) · lr on the very first iteration and at
///   t_prev · g_prevᵀd_prev / gᵀd afterwards (N&W eq. 3.60);  x += t d
/// Directions and gradients are kept between steps. Arithmetic is in Float64 on a flat copy of all
/// parameters.
public final class ConjugateGradient: LineSearchOptimizer {
    public let maxIterations: Int, maxEvaluations: Int
    public let toleranceGrad: Double, toleranceChange: Double
    /// Iterations between restarts (d = -g); nil restarts every n iterations, n = parameter count.
    public let restartInterval: Int?
    /// The line search's curvature constant c₂.
    public let curvatureConstant: Double
    public static let defaultLearningRate = 1.0
    /// Float64 vectors: d_prev, g_prev, x, g, d and the trial point.
    public static let stateCount = 6

    /// Loss evaluations over all steps.
    public internal(set) var evaluations = 0
    /// Iterations over all steps.
    public internal(set) var iterations = 0

    // State carried from step to step.
    private var previousDirection: [Double] = []
    private(set) var previousGradient: [Double] = []
    private var previousStepLength = 0.0
    private var previousSlope = 0.0  // g_prevᵀd_prev
    private var iterationsSinceRestart = 0

    /// `maxEvaluations` defaults to maxIterations · 5 / 4, as LBFGS's max_eval.
    public init(maxIterations: Int = 20, maxEvaluations: Int? = nil, toleranceGrad: Double = 1e-7,
                toleranceChange: Double = 1e-9, restartInterval: Int? = nil, curvatureConstant: Double = 0.1) {
        precondition(maxIterations >= 1, "conjugate gradient needs max_iter ≥ 1")
        precondition(restartInterval.map { $0 >= 1 } ?? true, "conjugate gradient needs a restart interval ≥ 1")
        self.maxIterations = maxIterations
        self.maxEvaluations = maxEvaluations ?? maxIterations * 5 / 4
        self.toleranceGrad = toleranceGrad
        self.toleranceChange = toleranceChange
        self.restartInterval = restartInterval
        self.curvatureConstant = curvatureConstant
    }

    public var name: String { "cg" }

    public func step(_ parameters: [Parameter], lr: Float, evaluate: () -> Float) -> Float {
        iterate(parameters, lr: lr, evaluate: evaluate)
    }

    public func saveState(_ parameters: [Parameter], to archive: inout StateArchive) {
        saveCounts(to: &archive)
        archive.set("optimizer.previous_direction", doubles: previousDirection)
        archive.set("optimizer.previous_gradient", doubles: previousGradient)
        archive.set("optimizer.scalars", doubles: [previousStepLength, previousSlope])
        archive.set("optimizer.since_restart", integer: iterationsSinceRestart)
    }

    public func restoreState(_ parameters: [Parameter], from archive: StateArchive) throws {
        let size = FlatParameters(parameters).count
        try restoreCounts(from: archive)
        previousDirection = try archive.vector("optimizer.previous_direction", size: size)
        previousGradient = try archive.vector("optimizer.previous_gradient", size: size)
        let scalars = try archive.doubles("optimizer.scalars", count: 2)
        (previousStepLength, previousSlope) = (scalars[0], scalars[1])
        iterationsSinceRestart = try archive.integer("optimizer.since_restart")
    }

    /// Polak–Ribière+, or steepest descent on a restart.
    func descentDirection(at point: Iterate, lr: Double) -> (direction: [Double], slope: Double) {
        let gradient = point.gradient
        let restartEvery = restartInterval ?? max(gradient.count, 1)
        if !previousGradient.isEmpty && iterationsSinceRestart < restartEvery {
            let change = FlatVector.subtracting(gradient, previousGradient)
            let beta = max(0, FlatVector.dot(gradient, change) / FlatVector.dot(previousGradient, previousGradient))
            let candidate = FlatVector.adding(FlatVector.scaled(gradient, by: -1), beta, times: previousDirection)
            let candidateSlope = FlatVector.dot(gradient, candidate)
            if candidateSlope < 0 { return (candidate, candidateSlope) }
        }
        iterationsSinceRestart = 0
        return (FlatVector.scaled(gradient, by: -1), -FlatVector.dot(gradient, gradient))
    }

    /// The strong Wolfe search from the extrapolated step (min(1, 1 / ‖g‖₁) · lr the first time).
    func lineStep(from point: Iterate, along direction: [Double], slope: Double, lr: Double,
                  lastIteration: Bool, flat: FlatParameters, evaluate: () -> Float) -> LineStep {
        var initialStep = min(1, 1 / FlatVector.sumAbs(point.gradient)) * lr
        if !previousGradient.isEmpty {
            let extrapolated = previousStepLength * previousSlope / slope
            if extrapolated.isFinite && extrapolated > 0 { initialStep = extrapolated }
        }
        let result = StrongWolfe.search(
            objective: { t in flat.evaluate(at: FlatVector.adding(point.x, t, times: direction), evaluate) },
            direction: direction, initialStep: initialStep, loss: point.loss, gradient: point.gradient,
            directionalDerivative: slope, c2: curvatureConstant, toleranceChange: toleranceChange)
        (previousDirection, previousGradient) = (direction, point.gradient)
        (previousStepLength, previousSlope) = (result.step, slope)
        iterationsSinceRestart += 1
        let x = flat.assign(FlatVector.adding(point.x, result.step, times: direction))
        return LineStep(point: Iterate(x: x, loss: result.loss, gradient: result.gradient), length: result.step,
                        evaluations: result.evaluations)
    }
}
