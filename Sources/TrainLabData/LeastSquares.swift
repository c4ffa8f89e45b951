import Foundation
import TrainLabAutodiff

/// linear_regression's ill-conditioned inputs: x = (z ⊙ √s)·H with s_j = κ^(j/(d−1)) and
/// H = I − 2vvᵀ/(vᵀv), so Cov(x) = H diag(s) H has eigenvalues s (log-spaced from 1 to κ).
struct InputConditioning {
    /// √s_j, j = 0 … d−1.
    let scales: [Double]
    /// The reflection's vector v and 2/(vᵀv).
    let reflection: [Double]
    let reflectionFactor: Double

    init(dimension d: Int, conditionNumber kappa: Double, stream: inout RandomStream) {
        scales = (0..<d).map { j in d == 1 ? 1 : pow(kappa, Double(j) / Double(2 * (d - 1))) }
        reflection = (0..<d).map { _ in stream.normal() }
        reflectionFactor = 2 / max(reflection.reduce(0) { $0 + $1 * $1 }, .leastNormalMagnitude)
    }

    /// Maps a drawn row z to (z ⊙ √s)·H, rounds it to Float32 into `x` row `row`, and leaves
    /// the rounded values in `values` (what the targets are computed from).
    func apply(to values: inout [Double], storingIn x: Tensor, row: Int) {
        var projection = 0.0
        for j in values.indices {
            values[j] *= scales[j]
            projection += values[j] * reflection[j]
        }
        let p = x.data + row * values.count
        for j in values.indices {
            let v = Float(values[j] - reflectionFactor * projection * reflection[j])
            p[j] = v
            values[j] = Double(v)
        }
    }
}

/// Exact least squares in Float64, for the optimum a linear model can reach on a data set.
public enum LeastSquares {
    /// Largest (d+1)²·n for which `optimumLoss` forms the normal equations (about a second).
    public static let maximumWork = 1 << 30

    /// f* = min over W (d×m), b (m) of mean over rows and outputs of (xW + b − y)², the minimum
    /// of PyTorch's MSELoss for `nn.Linear(d, m)` on these rows. Solves the normal equations
    /// X̃ᵀX̃ β = X̃ᵀY for X̃ = [x, 1] by Cholesky in Float64, then averages the residuals.
    /// nil when X̃ᵀX̃ is not numerically positive definite (fewer rows than d + 1, collinear
    /// columns) or the work would exceed `maximumWork`.
    public static func optimumLoss(inputs: Tensor, targets: Tensor) -> Double? {
        let n = inputs.shape[0], d = inputs.columns, m = targets.columns
        let p = d + 1
        guard n > 0, m > 0, p * p <= maximumWork / max(n, 1) else { return nil }
        var gram = [Double](repeating: 0, count: p * p)
        var moments = [Double](repeating: 0, count: p * m)
        var row = [Double](repeating: 1, count: p)
        for i in 0..<n {
            for j in 0..<d { row[j] = Double(inputs.data[i * d + j]) }
            for a in 0..<p {
                let ra = row[a]
                for b in 0...a { gram[a * p + b] += ra * row[b] }
                for k in 0..<m { moments[a * m + k] += ra * Double(targets.data[i * m + k]) }
            }
        }
        guard let beta = choleskySolve(gram, size: p, rightHandSides: moments, count: m) else { return nil }
        var total = 0.0
        for i in 0..<n {
            for k in 0..<m {
                var prediction = beta[d * m + k]
                for j in 0..<d { prediction += Double(inputs.data[i * d + j]) * beta[j * m + k] }
                let residual = prediction - Double(targets.data[i * m + k])
                total += residual * residual
            }
        }
        return total / Double(n * m)
    }

    /// Solves A X = B for symmetric positive definite A (p×p, lower triangle read, row-major)
    /// and B (p×m): A = LLᵀ, then forward and back substitution. nil when a pivot is not
    /// above p·1e-13 of A's largest diagonal entry (A singular to working precision).
    static func choleskySolve(_ a: [Double], size p: Int, rightHandSides b: [Double], count m: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: p * p)
        let largest = (0..<p).map { a[$0 * p + $0] }.max() ?? 0
        let floor = Double(p) * 1e-13 * largest
        for i in 0..<p {
            for j in 0...i {
                var s = a[i * p + j]
                for k in 0..<j { s -= l[i * p + k] * l[j * p + k] }
                if i == j {
                    guard s > floor else { return nil }
                    l[i * p + i] = s.squareRoot()
                } else {
                    l[i * p + j] = s / l[j * p + j]
                }
            }
        }
        var x = b
        for c in 0..<m {
            for i in 0..<p {
                var s = x[i * m + c]
                for k in 0..<i { s -= l[i * p + k] * x[k * m + c] }
                x[i * m + c] = s / l[i * p + i]
            }
            for i in stride(from: p - 1, through: 0, by: -1) {
                var s = x[i * m + c]
                for k in (i + 1)..<p { s -= l[k * p + i] * x[k * m + c] }
                x[i * m + c] = s / l[i * p + i]
            }
        }
        return x
    }
}
