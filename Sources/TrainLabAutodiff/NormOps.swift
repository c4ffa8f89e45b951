import TrainLabKernels

// Ops for normalization layers beyond the row statistics of RowOps.swift.

extension Tape {
    /// y (R, C) = x (R, C) ⊙ v (C), v broadcast over rows (a norm's gain).
    ///   dx += dy ⊙ v,  dv += Σ_rows dy ⊙ x
    public func multiplyRowVector(_ x: Variable, _ v: Variable) -> Variable {
        let sx = shape(x), sv = shape(v)
        precondition(sv.count == 1 && sx.last == sv[0], "multiplyRowVector: vector \(sv) does not match the rows of \(sx)")
        let (y, out) = output(shape: sx, from: x, v)
        let xv = value(x), vv = value(v)
        let rows = out.rows, columns = out.columns
        VectorKernels.multiplyRowVector(xv.data, vv.data, out.data, rows: rows, columns: columns, pool: pool)
        onBackward(y) { [unowned self] dy in
            if let (dx, overwrite) = gradientSlot(x) {
                VectorKernels.multiplyRowVector(dy.data, vv.data, dx.data, rows: rows, columns: columns,
                                                accumulate: !overwrite, pool: pool)
            }
            if let (dv, overwrite) = gradientSlot(v) {
                VectorKernels.columnProductSums(dy.data, xv.data, rows: rows, columns: columns, into: dv.data,
                                                accumulate: !overwrite, pool: pool)
            }
        }
        return y
    }

    /// Batch normalization over rows (BatchNorm1d in training mode, without the affine map):
    ///   y[:, c] = (x[:, c] - μ_c) / √(σ²_c + ε),  μ, σ² the column mean and biased variance.
    ///   dx = r/R (R dy - Σ_rows dy - y Σ_rows dy ⊙ y) per column, r = 1/√(σ² + ε).
    /// The batch statistics are written to `mean` and `variance` (C) for the running averages.
    public func batchNormalize(_ x: Variable, epsilon: Float, mean: Tensor, variance: Tensor) -> Variable {
        let xv = value(x)
        let rows = xv.rows, columns = xv.columns
        precondition(mean.count == columns && variance.count == columns,
                     "batchNormalize: statistics of \(mean.shape), \(variance.shape) for \(xv.shape)")
        let (y, out) = output(shape: xv.shape, from: x)
        let rstd = scratch([columns])
        VectorKernels.columnSums(xv.data, rows: rows, columns: columns, into: mean.data, accumulate: false, pool: pool)
        for c in 0..<columns { mean[c] /= Float(rows) }
        variance.fill(0)
        for r in 0..<rows {
            for c in 0..<columns {
                let d = xv[r * columns + c] - mean[c]
                variance[c] += d * d
            }
        }
        for c in 0..<columns {
            variance[c] /= Float(rows)
            rstd[c] = 1 / (variance[c] + epsilon).squareRoot()
        }
        for r in 0..<rows {
            for c in 0..<columns { out[r * columns + c] = (xv[r * columns + c] - mean[c]) * rstd[c] }
        }
        onBackward(y) { [unowned self] dy in
            guard let dx = gradientIfTracked(x) else { return }
            let sumDy = scratch([columns]), sumDyY = scratch([columns])
            sumDy.fill(0)
            sumDyY.fill(0)
            for r in 0..<rows {
                for c in 0..<columns {
                    sumDy[c] += dy[r * columns + c]
                    sumDyY[c] += dy[r * columns + c] * out[r * columns + c]
                }
            }
            let n = Float(rows)
            for r in 0..<rows {
                for c in 0..<columns {
                    let i = r * columns + c
                    dx[i] += rstd[c] / n * (n * dy[i] - sumDy[c] - out[i] * sumDyY[c])
                }
            }
        }
        return y
    }
}
