import TrainLabKernels

// Ops over the last dimension: each row of a (..., C) tensor is one independent problem.

extension Tape {
    /// y = softmax(x) per row: exp(x - max) / Σ exp(x - max).  dx += y ⊙ (dy - Σ dy ⊙ y)
    public func softmax(_ x: Variable) -> Variable {
        let xv = value(x)
        let (y, out) = output(shape: xv.shape, from: x)
        VectorKernels.softmaxRows(xv.data, out.data, rows: xv.rows, columns: xv.columns, pool: pool)
        onBackward(y) { [unowned self] dy in
            if let dx = gradientIfTracked(x) {
                VectorKernels.softmaxBackwardRows(y: out.data, dy: dy.data, dx: dx.data,
                                                  rows: xv.rows, columns: xv.columns, pool: pool)
            }
        }
        return y
    }

    /// y = log_softmax(x) per row: x - logsumexp(x).  dx += dy - softmax(x) Σ dy
    public func logSoftmax(_ x: Variable) -> Variable {
        let xv = value(x)
        let (y, out) = output(shape: xv.shape, from: x)
        VectorKernels.logSoftmaxRows(xv.data, out.data, rows: xv.rows, columns: xv.columns, pool: pool)
        onBackward(y) { [unowned self] dy in
            if let dx = gradientIfTracked(x) {
                VectorKernels.logSoftmaxBackwardRows(y: out.data, dy: dy.data, dx: dx.data,
                                                     rows: xv.rows, columns: xv.columns, pool: pool)
            }
        }
        return y
    }

    /// LayerNorm (`centered`) and RMSNorm over the last dimension, with an optional gain γ and
    /// bias β (C), fused into one op:
    ///   centered:  x̂ = (x - mean) r,  r = 1/√(var + ε),  var = Σ (x - mean)² / C   (biased, as PyTorch)
    ///   otherwise: x̂ = x r,  r = 1/√(mean(x²) + ε);     y = x̂ ⊙ γ + β
    ///   u = dy ⊙ γ:  dx += r (u - mean(u) - x̂ mean(u ⊙ x̂)) (no mean(u) for RMS),
    ///   dγ += Σ_rows dy ⊙ x̂,  dβ += Σ_rows dy
    /// x̂ is recomputed in the backward from x and the row statistics, not stored.
    public func normalizeRows(_ x: Variable, epsilon: Float, centered: Bool, gain: Variable? = nil, bias: Variable? = nil) -> Variable {
        let xv = value(x)
        let rows = xv.rows, columns = xv.columns
        for v in [gain, bias].compactMap({ $0 }) {
            precondition(shape(v) == [columns], "normalizeRows: gain and bias must have shape [\(columns)], got \(shape(v))")
        }
        let (y, out) = output(shape: xv.shape, inputs: [x] + [gain, bias].compactMap { $0 })
        let shift = scratch([rows]), rstd = scratch([rows])
        VectorKernels.rowMeanAndVariance(xv.data, rows: rows, columns: columns, mean: shift.data, variance: rstd.data, pool: pool)
        for r in 0..<rows {
            // E[x²] = var + mean² for the uncentered (RMS) form.
            let meanSquare = centered ? rstd[r] : rstd[r] + shift[r] * shift[r]
            rstd[r] = 1 / (meanSquare + epsilon).squareRoot()
        }
        let gainValue = gain.map { value($0) }, biasValue = bias.map { value($0) }
        VectorKernels.normalizeAffineRows(xv.data, shift: centered ? shift.data : nil, factor: rstd.data,
                                          gain: gainValue?.data, bias: biasValue?.data, out.data,
                                          rows: rows, columns: columns, pool: pool)
        onBackward(y) { [unowned self] dy in
            let dx = gradientSlot(x)
            let dg = gain.flatMap { gradientSlot($0) }, db = bias.flatMap { gradientSlot($0) }
            if dx == nil && dg == nil && db == nil { return }
            let work = scratch([Swift.max(1, VectorKernels.normalizeAffineScratchCount(
                rows: rows, columns: columns, gain: dg != nil, bias: db != nil))])
            VectorKernels.normalizeAffineBackwardRows(
                x: xv.data, dy: dy.data, dx: dx?.tensor.data, accumulate: !(dx?.overwrite ?? true),
                shift: centered ? shift.data : nil, rstd: rstd.data, centered: centered, gain: gainValue?.data,
                gainGradient: dg?.tensor.data, accumulateGain: !(dg?.overwrite ?? true),
                biasGradient: db?.tensor.data, accumulateBias: !(db?.overwrite ?? true),
                rows: rows, columns: columns, scratch: work.data, pool: pool)
        }
        return y
    }

    /// The target id that `crossEntropy` skips (PyTorch's `ignore_index` default).
    public static let ignoredTarget = -100

    /// Mean cross-entropy of logits (R, C) against class indices (R values in 0..<C, or
    /// `ignoredTarget` = -100 for a row that does not count), fused with a stable log-softmax:
    ///   L = -(1/N) Σ_{r counted} log_softmax(x_r)[t_r],  N = the number of counted rows
    ///   dx_r = (softmax(x_r) - onehot(t_r)) / N · dL for a counted row, 0 for an ignored one
    /// (`nn.CrossEntropyLoss(ignore_index=-100)`, mean reduction); with every row ignored, L = 0
    /// and no gradient flows (where torch would give 0/0).
    public func crossEntropy(logits x: Variable, targets: [Int]) -> Variable {
        let xv = value(x)
        let rows = xv.rows, columns = xv.columns
        precondition(targets.count == rows, "crossEntropy: \(targets.count) targets for \(rows) rows of logits \(xv.shape)")
        let (loss, out) = output(shape: [1], from: x)
        let logProbabilities = scratch(xv.shape)
        VectorKernels.logSoftmaxRows(xv.data, logProbabilities.data, rows: rows, columns: columns, pool: pool)
        var total: Float = 0
        var counted = 0
        for (r, t) in targets.enumerated() where t != Tape.ignoredTarget {
            precondition(t >= 0 && t < columns, "crossEntropy: target \(t) outside 0..<\(columns) (or \(Tape.ignoredTarget) to ignore the row)")
            total -= logProbabilities[r * columns + t]
            counted += 1
        }
        out[0] = counted == 0 ? 0 : total / Float(counted)
        onBackward(loss) { [unowned self] dl in
            guard counted > 0, let (dx, overwrite) = gradientSlot(x) else { return }
            let g = dl[0] / Float(counted)
            let p = logProbabilities
            VectorKernels.unary(.exp, p.data, p.data, count: p.count, pool: pool)
            for (r, t) in targets.enumerated() {
                if t == Tape.ignoredTarget {
                    (p.data + r * columns).update(repeating: 0, count: columns)
                } else {
                    p[r * columns + t] -= 1
                }
            }
            if overwrite {
                VectorKernels.scale(g, p.data, dx.data, count: p.count, pool: pool)
            } else {
                VectorKernels.axpy(g, p.data, dx.data, count: p.count, pool: pool)
            }
        }
        return loss
    }
}
