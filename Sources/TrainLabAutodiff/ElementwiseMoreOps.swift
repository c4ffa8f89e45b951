import Foundation

// Elementwise maps with a constant, and per-row reductions over the last dimension, added for the
// losses. Plain loops over `Tensor.data` (row sums accumulate in Double); a hot one moves to
// VectorKernels when a benchmark asks for it. Shapes: x is (..., C); "per row" means over C.

extension Tape {
    /// y = x + c for a constant c.  dx += dy
    public func addScalar(_ x: Variable, _ c: Float) -> Variable {
        let xv = value(x)
        let (y, out) = output(shape: xv.shape, from: x)
        for i in 0..<xv.count { out.data[i] = xv.data[i] + c }
        onBackward(y) { [unowned self] dy in
            guard let dx = gradientIfTracked(x) else { return }
            for i in 0..<dy.count { dx.data[i] += dy.data[i] }
        }
        return y
    }

    /// y = min(max(x, lower), upper), either bound optional (`torch.clamp`).
    /// dx += dy where lower ≤ x ≤ upper (torch's choice at the bounds), 0 elsewhere.
    public func clamp(_ x: Variable, min lower: Float? = nil, max upper: Float? = nil) -> Variable {
        if let lower, let upper { precondition(lower <= upper, "clamp: min \(lower) above max \(upper)") }
        let low = lower ?? -.infinity, high = upper ?? .infinity
        let xv = value(x)
        let (y, out) = output(shape: xv.shape, from: x)
        for i in 0..<xv.count { out.data[i] = Swift.min(Swift.max(xv.data[i], low), high) }
        onBackward(y) { [unowned self] dy in
            guard let dx = gradientIfTracked(x) else { return }
            for i in 0..<dy.count where xv.data[i] >= low && xv.data[i] <= high { dx.data[i] += dy.data[i] }
        }
        return y
    }

    /// y = x^p for a constant exponent p (x ≥ 0 unless p is an integer).  dx += dy · p · x^(p-1)
    /// (0 for p = 0, so that x^0 has no gradient even at x = 0).
    public func power(_ x: Variable, _ exponent: Float) -> Variable {
        let xv = value(x)
        let (y, out) = output(shape: xv.shape, from: x)
        for i in 0..<xv.count { out.data[i] = Foundation.pow(xv.data[i], exponent) }
        onBackward(y) { [unowned self] dy in
            guard let dx = gradientIfTracked(x), exponent != 0 else { return }
            for i in 0..<dy.count {
                dx.data[i] += dy.data[i] * exponent * Foundation.pow(xv.data[i], exponent - 1)
            }
        }
        return y
    }

    /// y = log(1 + e^x), computed as max(x, 0) + log1p(e^(-|x|)) so that no exp overflows.
    /// dx += dy · σ(x)
    public func softplus(_ x: Variable) -> Variable {
        let xv = value(x)
        let (y, out) = output(shape: xv.shape, from: x)
        for i in 0..<xv.count {
            let v = xv.data[i]
            out.data[i] = Swift.max(v, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(v)))
        }
        onBackward(y) { [unowned self] dy in
            guard let dx = gradientIfTracked(x) else { return }
            for i in 0..<dy.count {
                // σ(v) without overflow: e^(-|v|) is at most 1.
                let v = xv.data[i], e = Foundation.exp(-Swift.abs(v))
                let sigmoid = v >= 0 ? 1 / (1 + e) : e / (1 + e)
                dx.data[i] += dy.data[i] * sigmoid
            }
        }
        return y
    }

    /// y (...) = Σ_c x (..., C) per row; a vector (C) gives shape [1].  dx[r, c] += dy[r]
    public func rowSum(_ x: Variable) -> Variable {
        let xv = value(x)
        let rows = xv.rows, columns = xv.columns
        let (y, out) = output(shape: rowReducedShape(xv.shape), from: x)
        for r in 0..<rows {
            var s = 0.0
            for c in 0..<columns { s += Double(xv.data[r * columns + c]) }
            out.data[r] = Float(s)
        }
        onBackward(y) { [unowned self] dy in
            guard let dx = gradientIfTracked(x) else { return }
            for r in 0..<rows {
                for c in 0..<columns { dx.data[r * columns + c] += dy.data[r] }
            }
        }
        return y
    }

    /// y (...) = log Σ_c e^x per row of x (..., C), as m + log Σ e^(x - m), m the row's maximum.
    /// dx += dy · softmax(x)
    public func logSumExpRows(_ x: Variable) -> Variable {
        let xv = value(x)
        let rows = xv.rows, columns = xv.columns
        precondition(columns > 0, "logSumExpRows: empty rows in shape \(xv.shape)")
        let (y, out) = output(shape: rowReducedShape(xv.shape), from: x)
        for r in 0..<rows {
            let row = xv.data + r * columns
            var m = row[0]
            for c in 1..<columns { m = Swift.max(m, row[c]) }
            var s = 0.0
            for c in 0..<columns { s += Foundation.exp(Double(row[c] - m)) }
            out.data[r] = m + Float(Foundation.log(s))
        }
        onBackward(y) { [unowned self] dy in
            guard let dx = gradientIfTracked(x) else { return }
            for r in 0..<rows {
                for c in 0..<columns {
                    let i = r * columns + c
                    dx.data[i] += dy.data[r] * Foundation.exp(xv.data[i] - out.data[r])
                }
            }
        }
        return y
    }

    /// y = x / max(‖x‖₂, ε) per row (`F.normalize`, ε = 1e-12 as torch).
    /// dx += (dy - y (y·dy)) / ‖x‖ where ‖x‖ > ε, else dy / ε
    public func normalizeRowsL2(_ x: Variable, epsilon: Float = 1e-12) -> Variable {
        let xv = value(x)
        let rows = xv.rows, columns = xv.columns
        let (y, out) = output(shape: xv.shape, from: x)
        let norms = scratch([rows])
        for r in 0..<rows {
            var s = 0.0
            for c in 0..<columns { s += Double(xv.data[r * columns + c]) * Double(xv.data[r * columns + c]) }
            norms[r] = Float(s.squareRoot())
            let divisor = Swift.max(norms[r], epsilon)
            for c in 0..<columns { out.data[r * columns + c] = xv.data[r * columns + c] / divisor }
        }
        onBackward(y) { [unowned self] dy in
            guard let dx = gradientIfTracked(x) else { return }
            for r in 0..<rows {
                let base = r * columns
                if norms[r] > epsilon {
                    var projection = 0.0
                    for c in 0..<columns { projection += Double(out.data[base + c]) * Double(dy.data[base + c]) }
                    let p = Float(projection)
                    for c in 0..<columns {
                        dx.data[base + c] += (dy.data[base + c] - out.data[base + c] * p) / norms[r]
                    }
                } else {
                    for c in 0..<columns { dx.data[base + c] += dy.data[base + c] / epsilon }
                }
            }
        }
        return y
    }

    /// y (...) = ‖x‖_p = (Σ_c |x|^p)^(1/p) per row of x (..., C), p > 0 (`torch.linalg.vector_norm`
    /// over the last dimension). Computed as m (Σ (|x|/m)^p)^(1/p), m the row's largest |x|, so
    /// large p does not overflow.  dx += dy · sign(x) (|x| / y)^(p-1)  (0 in a row where y = 0)
    public func rowNorm(_ x: Variable, p: Float) -> Variable {
        precondition(p > 0 && p.isFinite, "rowNorm: p must be a positive finite number, got \(p)")
        let xv = value(x)
        let rows = xv.rows, columns = xv.columns
        let (y, out) = output(shape: rowReducedShape(xv.shape), from: x)
        let exponent = Double(p)
        for r in 0..<rows {
            let row = xv.data + r * columns
            var largest: Float = 0
            for c in 0..<columns { largest = Swift.max(largest, Swift.abs(row[c])) }
            guard largest > 0 else { out.data[r] = 0; continue }
            var s = 0.0
            for c in 0..<columns { s += Foundation.pow(Double(Swift.abs(row[c]) / largest), exponent) }
            out.data[r] = largest * Float(Foundation.pow(s, 1 / exponent))
        }
        onBackward(y) { [unowned self] dy in
            guard let dx = gradientIfTracked(x) else { return }
            for r in 0..<rows where out.data[r] > 0 {
                for c in 0..<columns {
                    let i = r * columns + c
                    let v = xv.data[i]
                    guard v != 0 else { continue }
                    let ratio = Foundation.pow(Swift.abs(v) / out.data[r], p - 1)
                    dx.data[i] += dy.data[r] * (v > 0 ? ratio : -ratio)
                }
            }
        }
        return y
    }

    /// The shape left after reducing the last dimension: (..., C) → (...), a vector → [1].
    private func rowReducedShape(_ shape: [Int]) -> [Int] {
        shape.count <= 1 ? [1] : Array(shape.dropLast())
    }
}
