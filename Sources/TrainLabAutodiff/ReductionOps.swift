import TrainLabKernels

extension Tape {
    /// s = Σ x (a scalar of shape [1]).  dx += ds
    public func sum(_ x: Variable) -> Variable {
        let xv = value(x)
        let (s, out) = output(shape: [1], from: x)
        out[0] = VectorKernels.sum(xv.data, count: xv.count, pool: pool)
        onBackward(s) { [unowned self] ds in
            if let dx = gradientIfTracked(x) { broadcastAdd(ds[0], into: dx) }
        }
        return s
    }

    /// s = Σ x / n.  dx += ds / n
    public func mean(_ x: Variable) -> Variable {
        let xv = value(x)
        let n = Float(xv.count)
        let (s, out) = output(shape: [1], from: x)
        out[0] = VectorKernels.sum(xv.data, count: xv.count, pool: pool) / n
        onBackward(s) { [unowned self] ds in
            if let dx = gradientIfTracked(x) { broadcastAdd(ds[0] / n, into: dx) }
        }
        return s
    }

    /// s = Σ x ⊙ w for a constant weight tensor w of the same shape.  dx += ds · w
    public func weightedSum(_ x: Variable, weights: Tensor) -> Variable {
        let xv = value(x)
        precondition(weights.shape == xv.shape, "weightedSum: weights \(weights.shape) for \(xv.shape)")
        let (s, out) = output(shape: [1], from: x)
        out[0] = VectorKernels.dot(xv.data, weights.data, count: xv.count, pool: pool)
        onBackward(s) { [unowned self] ds in
            if let dx = gradientIfTracked(x) { VectorKernels.axpy(ds[0], weights.data, dx.data, count: dx.count, pool: pool) }
        }
        return s
    }

    private func broadcastAdd(_ value: Float, into t: Tensor) {
        for i in 0..<t.count { t.data[i] += value }
    }
}
