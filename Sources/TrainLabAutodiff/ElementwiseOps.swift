import TrainLabKernels

extension Tape {
    /// y = s · x for a scalar variable s (shape [1]), e.g. a learnable gain.
    ///   dx += s · dy,  ds += Σ dy ⊙ x
    public func scale(_ x: Variable, by s: Variable) -> Variable {
        precondition(value(s).count == 1, "scale: the factor must be a scalar, got \(shape(s))")
        let (y, out) = output(shape: shape(x), from: x, s)
        let factor = value(s)[0]
        VectorKernels.scale(factor, value(x).data, out.data, count: out.count, pool: pool)
        onBackward(y) { [unowned self] dy in
            if let ds = gradientSlot(s) {
                let d = VectorKernels.dot(dy.data, value(x).data, count: dy.count, pool: pool)
                ds.tensor[0] = ds.overwrite ? d : ds.tensor[0] + d
            }
            addGradient(dy, scaledBy: factor, to: x)
        }
        return y
    }

    /// y = a + b (same shapes).  da += dy, db += dy
    public func add(_ a: Variable, _ b: Variable) -> Variable {
        precondition(shape(a) == shape(b), "add: shapes differ, \(shape(a)) and \(shape(b))")
        let (y, out) = output(shape: shape(a), from: a, b)
        VectorKernels.add(value(a).data, value(b).data, out.data, count: out.count, pool: pool)
        onBackward(y) { [unowned self] dy in
            addGradient(dy, to: b)
            passGradient(dy, of: y, to: a)
        }
        return y
    }

    /// y = a ⊙ b (same shapes).  da += dy ⊙ b, db += dy ⊙ a
    public func multiply(_ a: Variable, _ b: Variable) -> Variable {
        precondition(shape(a) == shape(b), "multiply: shapes differ, \(shape(a)) and \(shape(b))")
        let (y, out) = output(shape: shape(a), from: a, b)
        VectorKernels.multiply(value(a).data, value(b).data, out.data, count: out.count, pool: pool)
        onBackward(y) { [unowned self] dy in
            for (input, other) in [(a, b), (b, a)] {
                guard let (d, overwrite) = gradientSlot(input) else { continue }
                if overwrite {
                    VectorKernels.multiply(dy.data, value(other).data, d.data, count: dy.count, pool: pool)
                } else {
                    VectorKernels.multiplyAccumulate(dy.data, value(other).data, d.data, count: dy.count, pool: pool)
                }
            }
        }
        return y
    }

    /// y = alpha · x.  dx += alpha · dy
    public func scale(_ x: Variable, by alpha: Float) -> Variable {
        let (y, out) = output(shape: shape(x), from: x)
        VectorKernels.scale(alpha, value(x).data, out.data, count: out.count, pool: pool)
        onBackward(y) { [unowned self] dy in
            addGradient(dy, scaledBy: alpha, to: x)
        }
        return y
    }

    /// y (R, C) = x (R, C) + v (C), v broadcast over rows (a bias).  dx += dy, dv += Σ_rows dy
    public func addRowVector(_ x: Variable, _ v: Variable) -> Variable {
        let sx = shape(x), sv = shape(v)
        precondition(sv.count == 1 && sx.last == sv[0], "addRowVector: vector \(sv) does not match the rows of \(sx)")
        let (y, out) = output(shape: sx, from: x, v)
        let rows = out.rows, columns = out.columns
        VectorKernels.addRowVector(value(x).data, value(v).data, out.data, rows: rows, columns: columns, pool: pool)
        onBackward(y) { [unowned self] dy in
            if let (dv, overwrite) = gradientSlot(v) {
                VectorKernels.columnSums(dy.data, rows: rows, columns: columns, into: dv.data, accumulate: !overwrite, pool: pool)
            }
            passGradient(dy, of: y, to: x)
        }
        return y
    }

    /// y = f(x) elementwise for a map with a closed-form derivative.  dx += dy ⊙ f'(x)
    /// (f'(x) kept from the forward pass for the maps that store it, else from x and y).
    public func unary(_ map: UnaryMap, _ x: Variable) -> Variable {
        let (y, out) = output(shape: shape(x), from: x, op: "\(map)")
        if map.storesDerivative && requiresGradient(x) {
            let derivative = scratch(shape(x))
            VectorKernels.unary(map, value(x).data, out.data, derivative: derivative.data, count: out.count, pool: pool)
            onBackward(y) { [unowned self] dy in
                guard let (dx, overwrite) = gradientSlot(x) else { return }
                if overwrite {
                    VectorKernels.multiply(dy.data, derivative.data, dx.data, count: dy.count, pool: pool)
                } else {
                    VectorKernels.multiplyAccumulate(dy.data, derivative.data, dx.data, count: dy.count, pool: pool)
                }
            }
            return y
        }
        VectorKernels.unary(map, value(x).data, out.data, count: out.count, pool: pool)
        onBackward(y) { [unowned self] dy in
            if let (dx, overwrite) = gradientSlot(x) {
                VectorKernels.unaryBackward(map, x: value(x).data, y: out.data, dy: dy.data, dx: dx.data,
                                            accumulate: !overwrite, count: dy.count, pool: pool)
            }
        }
        return y
    }

    /// y = f(gate) ⊙ up, a gated linear unit in one op (SwiGLU: f = SiLU; GeGLU: GELU; GLU: σ).
    ///   dgate += dy ⊙ up ⊙ f'(gate),  dup += dy ⊙ f(gate)   (f(gate) recomputed, not stored)
    public func gatedUnary(_ map: UnaryMap, gate: Variable, up: Variable) -> Variable {
        precondition(shape(gate) == shape(up), "gatedUnary: gate \(shape(gate)) and up \(shape(up)) differ")
        let (y, out) = output(shape: shape(up), from: gate, up, op: "gated \(map)")
        let g = value(gate), u = value(up)
        VectorKernels.gatedUnary(map, gate: g.data, up: u.data, out.data, count: out.count, pool: pool)
        onBackward(y) { [unowned self] dy in
            let dg = gradientSlot(gate), du = gate == up ? nil : gradientSlot(up)
            if gate == up {
                // f(x) ⊙ x: both roles land in one gradient; the general op covers it.
                guard let dg else { return }
                let d = scratch(shape(gate))
                VectorKernels.gatedUnaryBackward(map, gate: g.data, up: u.data, dy: dy.data, dGate: d.data, accumulateGate: false,
                                                 dUp: nil, accumulateUp: false, count: dy.count, pool: pool)
                VectorKernels.gatedUnaryBackward(map, gate: g.data, up: u.data, dy: dy.data, dGate: nil, accumulateGate: false,
                                                 dUp: d.data, accumulateUp: true, count: dy.count, pool: pool)
                if dg.overwrite { dg.tensor.copy(from: d) } else { VectorKernels.axpy(1, d.data, dg.tensor.data, count: d.count, pool: pool) }
                return
            }
            if dg == nil && du == nil { return }
            VectorKernels.gatedUnaryBackward(map, gate: g.data, up: u.data, dy: dy.data,
                                             dGate: dg?.tensor.data, accumulateGate: !(dg?.overwrite ?? true),
                                             dUp: du?.tensor.data, accumulateUp: !(du?.overwrite ?? true),
                                             count: dy.count, pool: pool)
        }
        return y
    }

    public func relu(_ x: Variable) -> Variable { unary(.relu, x) }
    public func tanh(_ x: Variable) -> Variable { unary(.tanh, x) }
    public func sigmoid(_ x: Variable) -> Variable { unary(.sigmoid, x) }
    public func exp(_ x: Variable) -> Variable { unary(.exp, x) }
    public func log(_ x: Variable) -> Variable { unary(.log, x) }
    public func square(_ x: Variable) -> Variable { unary(.square, x) }
    public func abs(_ x: Variable) -> Variable { unary(.abs, x) }

    /// The same elements with another shape of the same element count (row-major order is kept):
    /// a view, no copy.  dx += dy
    public func reshape(_ x: Variable, to newShape: [Int]) -> Variable {
        let xv = value(x)
        precondition(newShape.reduce(1, *) == xv.count, "reshape: \(xv.shape) has \(xv.count) elements, \(newShape) needs \(newShape.reduce(1, *))")
        let y = outputViewing(x, shape: newShape)
        onBackward(y) { [unowned self] dy in passGradient(dy, of: y, to: x) }
        return y
    }
}
