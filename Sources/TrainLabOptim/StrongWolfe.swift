/// Line search along a direction d from x, shared by `LBFGS` and `ConjugateGradient`: a port of
/// torch.optim.lbfgs's `_cubic_interpolate` and `_strong_wolfe` (themselves ported from Torch7's
/// `polyinterp.lua` and `lswolfe.lua`; Nocedal & Wright, Numerical Optimization, Alg. 3.5–3.6).
enum StrongWolfe {
    /// Minimizer of the cubic through (x₁, f₁) and (x₂, f₂) with slopes g₁, g₂, clamped to `bounds`
    /// (default: the interval between x₁ and x₂):
    ///   d₁ = g₁ + g₂ - 3 (f₁ - f₂) / (x₁ - x₂);  d₂ = √(d₁² - g₁ g₂)
    ///   x = x₂ - (x₂ - x₁) (g₂ + d₂ - d₁) / (g₂ - g₁ + 2 d₂)   (for x₁ ≤ x₂)
    /// The bounds' midpoint when the cubic has no minimum (d₁² < g₁ g₂).
    static func cubicInterpolate(_ x1: Double, _ f1: Double, _ g1: Double, _ x2: Double, _ f2: Double, _ g2: Double,
                                 bounds: (lower: Double, upper: Double)? = nil) -> Double {
        let (lower, upper) = bounds ?? (x1 <= x2 ? (x1, x2) : (x2, x1))
        let d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
        let d2Square = d1 * d1 - g1 * g2
        guard d2Square >= 0 else { return (lower + upper) / 2 }
        let d2 = d2Square.squareRoot()
        let minimum = x1 <= x2
            ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
            : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        // A degenerate cubic (0 / 0) gives NaN; torch would propagate it, the midpoint is safer.
        guard minimum.isFinite else { return (lower + upper) / 2 }
        return min(max(minimum, lower), upper)
    }

    /// A few units in the last place of a Float32 loss f: 4 · 2⁻²³ · |f|.
    static func lossRoundingSlack(_ f: Double) -> Double { 4 * Double(Float.ulpOfOne) * abs(f) }

    struct Result {
        /// f(x + t d) and ∇f(x + t d) at the accepted step.
        let loss: Double
        let gradient: [Double]
        let step: Double
        let evaluations: Int
    }

    /// Finds a step t satisfying the strong Wolfe conditions
    ///   f(x + t d) ≤ f + c₁ t ∇fᵀd   and   |∇f(x + t d)ᵀd| ≤ c₂ |∇fᵀd|
    /// by bracketing (cubic extrapolation within [t + 0.01 (t - t_prev), 10 t]) and then zooming
    /// (cubic interpolation, kept 10% of the bracket away from its ends when progress stalls).
    /// `objective(t)` returns f(x + t d) and its gradient; `f`, `g`, `gtd` are f(x), ∇f(x), ∇f(x)ᵀd.
    /// At most `maxIterations` evaluations after the first; returns the best point found when none
    /// satisfies both conditions.
    ///
    /// One deviation from torch: the sufficient-decrease test allows the loss's Float32 rounding,
    /// f(x + t d) ≤ f + c₁ t ∇fᵀd + `lossRoundingSlack(f)`. Losses come from Float32 forward passes;
    /// without the slack, once the decrease falls below one ulp of f every trial looks like a failure
    /// and the search shrinks t to nothing (torch in float32 stalls the same way).
    static func search(objective: (Double) -> (loss: Double, gradient: [Double]), direction d: [Double],
                       initialStep: Double, loss f: Double, gradient g: [Double], directionalDerivative gtd: Double,
                       c1: Double = 1e-4, c2: Double = 0.9, toleranceChange: Double = 1e-9,
                       maxIterations: Int = 25) -> Result {
        let directionSize = FlatVector.maxAbs(d)
        let sufficientLoss = { (t: Double) in f + c1 * t * gtd + lossRoundingSlack(f) }
        var t = initialStep
        var (fNew, gNew) = objective(t)
        var evaluations = 1
        var gtdNew = FlatVector.dot(gNew, d)

        // Bracketing: an interval that contains a point satisfying the strong Wolfe conditions.
        var tPrevious = 0.0, fPrevious = f, gPrevious = g, gtdPrevious = gtd
        var bracket: [Double] = [], bracketLoss: [Double] = []
        var bracketGradient: [[Double]] = [], bracketSlope: [Double] = []
        var done = false
        var iteration = 0
        while iteration < maxIterations {
            if fNew > sufficientLoss(t) || (iteration > 1 && fNew >= fPrevious) {
                (bracket, bracketLoss) = ([tPrevious, t], [fPrevious, fNew])
                (bracketGradient, bracketSlope) = ([gPrevious, gNew], [gtdPrevious, gtdNew])
                break
            }
            if abs(gtdNew) <= -c2 * gtd {
                (bracket, bracketLoss, bracketGradient, bracketSlope) = ([t], [fNew], [gNew], [gtdNew])
                done = true
                break
            }
            if gtdNew >= 0 {
                (bracket, bracketLoss) = ([tPrevious, t], [fPrevious, fNew])
                (bracketGradient, bracketSlope) = ([gPrevious, gNew], [gtdPrevious, gtdNew])
                break
            }
            let minStep = t + 0.01 * (t - tPrevious), maxStep = t * 10
            let current = t
            t = cubicInterpolate(tPrevious, fPrevious, gtdPrevious, t, fNew, gtdNew, bounds: (minStep, maxStep))
            (tPrevious, fPrevious, gPrevious, gtdPrevious) = (current, fNew, gNew, gtdNew)
            (fNew, gNew) = objective(t)
            evaluations += 1
            gtdNew = FlatVector.dot(gNew, d)
            iteration += 1
        }
        if iteration == maxIterations {
            (bracket, bracketLoss, bracketGradient, bracketSlope) = ([0, t], [f, fNew], [g, gNew], [gtd, gtdNew])
        }

        // Zoom: shrink the bracket until a point satisfies the conditions.
        var insufficientProgress = false
        var (low, high) = bracketLoss[0] <= bracketLoss[bracketLoss.count - 1] ? (0, 1) : (1, 0)
        while !done && iteration < maxIterations {
            if abs(bracket[1] - bracket[0]) * directionSize < toleranceChange { break }
            t = cubicInterpolate(bracket[0], bracketLoss[0], bracketSlope[0], bracket[1], bracketLoss[1], bracketSlope[1])

            // Near an end of the bracket: after a second time (or outside it), move 10% inside.
            let upper = max(bracket[0], bracket[1]), lower = min(bracket[0], bracket[1])
            let margin = 0.1 * (upper - lower)
            if min(upper - t, t - lower) < margin {
                if insufficientProgress || t >= upper || t <= lower {
                    t = abs(t - upper) < abs(t - lower) ? upper - margin : lower + margin
                    insufficientProgress = false
                } else {
                    insufficientProgress = true
                }
            } else {
                insufficientProgress = false
            }

            (fNew, gNew) = objective(t)
            evaluations += 1
            gtdNew = FlatVector.dot(gNew, d)
            iteration += 1

            if fNew > sufficientLoss(t) || fNew >= bracketLoss[low] {
                // Armijo fails or no lower than the low end: t becomes the high end.
                (bracket[high], bracketLoss[high], bracketGradient[high], bracketSlope[high]) = (t, fNew, gNew, gtdNew)
                (low, high) = bracketLoss[0] <= bracketLoss[1] ? (0, 1) : (1, 0)
            } else {
                if abs(gtdNew) <= -c2 * gtd {
                    done = true
                } else if gtdNew * (bracket[high] - bracket[low]) >= 0 {
                    // The old low end becomes the high end.
                    (bracket[high], bracketLoss[high]) = (bracket[low], bracketLoss[low])
                    (bracketGradient[high], bracketSlope[high]) = (bracketGradient[low], bracketSlope[low])
                }
                (bracket[low], bracketLoss[low], bracketGradient[low], bracketSlope[low]) = (t, fNew, gNew, gtdNew)
            }
        }
        return Result(loss: bracketLoss[low], gradient: bracketGradient[low], step: bracket[low], evaluations: evaluations)
    }
}
