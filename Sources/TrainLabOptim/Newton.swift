import Foundation
import TrainLabAutodiff

/// Damped Newton's method (truncated Newton / Newton–CG, Nocedal & Wright, Numerical Optimization,
/// Alg. 7.1) for small full-batch problems, at most `maximumParameterCount` parameters.
/// One Newton iteration per step:
///   solve (H + λ I) d = -g by linear conjugate gradient: at most `maxConjugateGradientIterations`
///     iterations, stopping when ‖r‖ < 1e-10 ‖g‖ or on non-positive curvature pᵀ(H + λI)p ≤ 0
///     (keeping the d found so far, or d = -g when that happens on the first iteration);
///   H v ≈ (∇f(x + ε v) - ∇f(x - ε v)) / 2ε with ε = ∛u · (1 + ‖x‖) / ‖v‖ (u = 2⁻²³, Float32's
///     machine epsilon: the parameters are Float32): two evaluations per product, no Hessian stored;
///   backtracking (Armijo): t = lr, lr/2, ... until f(x + t d) ≤ f + 1e-4 t gᵀd + 4 · 2⁻²³ |f| (the
///     last term allows the Float32 rounding of the loss; at most 30 halvings, the parameters stay
///     at x when none is accepted);  x += t d.
/// Nothing happens when max |g| ≤ `toleranceGrad`. No torch.optim counterpart.
public final class Newton: ClosureOptimizer {
    /// A step costs up to 1 + 2 · 50 + 31 full-batch evaluations and a few Float64 copies of all
    /// parameters; beyond this size `validate(parameterCount:)` refuses (use lbfgs or cg).
    public static let maximumParameterCount = 20_000

    public static let defaultLearningRate = 1.0
    /// Float64 vectors: x, g, d, the residual, the conjugate direction and H p.
    public static let stateCount = 6

    public let damping: Double
    public let maxConjugateGradientIterations: Int
    public let toleranceGrad: Double
    /// Loss evaluations over all steps (Hessian-vector products count two).
    public private(set) var evaluations = 0

    static let armijoConstant = 1e-4
    static let maxHalvings = 30

    public init(damping: Double = 1e-4, maxConjugateGradientIterations: Int = 50, toleranceGrad: Double = 1e-7) {
        precondition(damping >= 0 && maxConjugateGradientIterations >= 1,
                     "Newton needs damping ≥ 0 and at least one conjugate gradient iteration")
        self.damping = damping
        self.maxConjugateGradientIterations = maxConjugateGradientIterations
        self.toleranceGrad = toleranceGrad
    }

    public var name: String { "newton" }

    /// Throws `TooManyParametersError` beyond `maximumParameterCount` parameters.
    public static func validate(parameterCount: Int) throws {
        guard parameterCount <= maximumParameterCount else {
            throw TooManyParametersError(
                optimizer: "newton", parameterCount: parameterCount, limit: maximumParameterCount,
                reason: "each step solves a Newton system with Hessian-vector products; use lbfgs or cg for larger models")
        }
    }

    public func validate(parameterCount: Int) throws { try Self.validate(parameterCount: parameterCount) }

    /// Each step starts afresh: only the evaluation count carries over.
    public func saveState(_ parameters: [Parameter], to archive: inout StateArchive) {
        archive.set("optimizer.evaluations", integer: evaluations)
    }

    public func restoreState(_ parameters: [Parameter], from archive: StateArchive) throws {
        evaluations = try archive.integer("optimizer.evaluations")
    }

    public func step(_ parameters: [Parameter], lr: Float, evaluate: () -> Float) -> Float {
        let flat = FlatParameters(parameters)
        precondition(flat.count <= Self.maximumParameterCount,
                     "newton: \(flat.count) parameters exceed the limit of \(Self.maximumParameterCount); call validate(parameterCount:) first")
        let start = flat.evaluateHere(evaluate)
        evaluations += 1
        let (x, loss, gradient) = (start.x, start.loss, start.gradient)
        if FlatVector.maxAbs(gradient) <= toleranceGrad { return Float(loss) }

        var direction = newtonDirection(at: x, gradient: gradient, flat: flat, evaluate: evaluate)
        var slope = FlatVector.dot(gradient, direction)
        if !(slope < 0) {
            direction = FlatVector.scaled(gradient, by: -1)
            slope = -FlatVector.dot(gradient, gradient)
        }

        var t = Double(lr)
        for _ in 0...Self.maxHalvings {
            let trial = flat.evaluate(at: FlatVector.adding(x, t, times: direction), evaluate).loss
            evaluations += 1
            if trial <= loss + Self.armijoConstant * t * slope + StrongWolfe.lossRoundingSlack(loss) { return Float(loss) }
            t /= 2
        }
        flat.assign(x)
        return Float(loss)
    }

    /// d ≈ -(H + λ I)⁻¹ g by linear conjugate gradient from d = 0.
    private func newtonDirection(at x: [Double], gradient: [Double], flat: FlatParameters,
                                 evaluate: () -> Float) -> [Double] {
        let gradientNorm = FlatVector.norm(gradient)
        var direction = [Double](repeating: 0, count: x.count)
        var residual = FlatVector.scaled(gradient, by: -1)  // r = -g - (H + λI) d
        var conjugate = residual
        var residualSquare = FlatVector.dot(residual, residual)
        for iteration in 0..<maxConjugateGradientIterations {
            var product = hessianVectorProduct(conjugate, at: x, flat: flat, evaluate: evaluate)
            for i in product.indices { product[i] += damping * conjugate[i] }
            let curvature = FlatVector.dot(conjugate, product)
            if !(curvature > 0) {
                return iteration == 0 ? FlatVector.scaled(gradient, by: -1) : direction
            }
            let alpha = residualSquare / curvature
            for i in direction.indices {
                direction[i] += alpha * conjugate[i]
                residual[i] -= alpha * product[i]
            }
            let nextResidualSquare = FlatVector.dot(residual, residual)
            if nextResidualSquare.squareRoot() < 1e-10 * gradientNorm { break }
            let beta = nextResidualSquare / residualSquare
            for i in conjugate.indices { conjugate[i] = residual[i] + beta * conjugate[i] }
            residualSquare = nextResidualSquare
        }
        return direction
    }

    /// H v ≈ (∇f(x + ε v) - ∇f(x - ε v)) / 2ε, central differences of two gradient evaluations.
    private func hessianVectorProduct(_ v: [Double], at x: [Double], flat: FlatParameters,
                                      evaluate: () -> Float) -> [Double] {
        let vNorm = FlatVector.norm(v)
        guard vNorm > 0 else { return [Double](repeating: 0, count: v.count) }
        let epsilon = Self.differenceScale * (1 + FlatVector.norm(x)) / vNorm
        let plus = flat.evaluate(at: FlatVector.adding(x, epsilon, times: v), evaluate).gradient
        let minus = flat.evaluate(at: FlatVector.adding(x, -epsilon, times: v), evaluate).gradient
        evaluations += 2
        return (0..<v.count).map { (plus[$0] - minus[$0]) / (2 * epsilon) }
    }

    /// ∛u, u = 2⁻²³: balances the O(ε²) truncation error of the central difference
    /// against the O(u / ε) rounding error of Float32 gradients.
    static let differenceScale = cbrt(Double(Float.ulpOfOne))
}
