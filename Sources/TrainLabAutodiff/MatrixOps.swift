import TrainLabKernels

extension Tape {
    /// C (M, N) = op(A) · op(B); op(X) = Xᵀ when its flag is set.
    ///   dop(A) = dC · op(B)ᵀ,  dop(B) = op(A)ᵀ · dC
    public func matmul(_ a: Variable, _ b: Variable, transposeA: Bool = false, transposeB: Bool = false) -> Variable {
        let sa = shape(a), sb = shape(b)
        precondition(sa.count == 2 && sb.count == 2, "matmul takes matrices, got \(sa) and \(sb)")
        let (m, k) = transposeA ? (sa[1], sa[0]) : (sa[0], sa[1])
        let (kb, n) = transposeB ? (sb[1], sb[0]) : (sb[0], sb[1])
        precondition(k == kb, "matmul inner sizes differ: \(sa)\(transposeA ? "ᵀ" : "") · \(sb)\(transposeB ? "ᵀ" : "")")
        let (c, out) = output(shape: [m, n], from: a, b, op: "matmul \(m)x\(n)x\(k) \(transposeA ? "Aᵀ" : "A")·\(transposeB ? "Bᵀ" : "B")")
        let av = value(a), bv = value(b)
        gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
             a: av.data, lda: sa[1], b: bv.data, ldb: sb[1], c: out.data, ldc: n, precision: precision, pool: pool)
        onBackward(c) { [unowned self] dc in
            matmulBackward(a: a, b: b, dc: dc, transposeA: transposeA, transposeB: transposeB,
                           m: m, n: n, k: k, batch: 1)
        }
        return c
    }

    /// A linear layer in one op: y (R, out) = f(x (R, in) Wᵀ + b), W [out, in], with the bias and
    /// the activation applied by the GEMM to each block of y while it is in cache; f must be
    /// nil or a map with `storesDerivative` (f'(z) kept) or `derivativeFromOutput` (f'(z) from y).
    ///   dz = dy ⊙ f'(z),  db += Σ_rows dz,  dW += dzᵀ x,  dx += dz W
    public func linear(_ x: Variable, weight w: Variable, bias b: Variable?, activation: UnaryMap?) -> Variable {
        let sx = shape(x), sw = shape(w)
        precondition(sx.count == 2 && sw.count == 2 && sx[1] == sw[1],
                     "linear: input \(sx) and weight \(sw) (out, in) do not match")
        let rows = sx[0], inputs = sx[1], outputs = sw[0]
        if let b { precondition(shape(b) == [outputs], "linear: bias \(shape(b)) for \(outputs) outputs") }
        if let activation {
            precondition(activation.storesDerivative || activation.derivativeFromOutput,
                         "linear: \(activation) cannot be fused (its derivative needs the pre-activation)")
        }
        let (y, out) = output(shape: [rows, outputs], inputs: [x, w] + (b.map { [$0] } ?? []),
                              op: "linear \(rows)x\(outputs)x\(inputs)" + (activation.map { " \($0)" } ?? ""))
        let tracks = requiresGradient(y)
        let derivative = tracks && activation?.storesDerivative == true ? scratch([rows, outputs]) : nil
        let epilogue = b == nil && activation == nil ? nil
            : GEMMEpilogue(bias: b.map { value($0).data }, activation: activation, derivative: derivative?.data)
        gemm(transposeB: true, m: rows, n: outputs, k: inputs, a: value(x).data, lda: inputs, b: value(w).data, ldb: inputs,
             c: out.data, ldc: outputs, epilogue: epilogue, precision: precision, pool: pool)
        onBackward(y) { [unowned self] dy in
            let db = b.flatMap { gradientSlot($0) }
            var dz = dy
            if let activation {
                dz = scratch([rows, outputs])
                let work = scratch([Swift.max(1, VectorKernels.linearActivationScratchCount(rows: rows, columns: outputs))])
                VectorKernels.linearActivationBackwardRows(
                    activation, y: out.data, derivative: derivative?.data, dy: dy.data, dz: dz.data,
                    biasGradient: db?.tensor.data, accumulateBias: !(db?.overwrite ?? true),
                    rows: rows, columns: outputs, scratch: work.data, pool: pool)
            } else if let db {
                VectorKernels.columnSums(dy.data, rows: rows, columns: outputs, into: db.tensor.data, accumulate: !db.overwrite, pool: pool)
            }
            matmulBackward(a: x, b: w, dc: dz, transposeA: false, transposeB: true, m: rows, n: outputs, k: inputs, batch: 1)
        }
        return y
    }

    /// Linear layers that read one input, as one op: y_s (R, out_s) = x (R, in) W_sᵀ + b_s, each
    /// with the bits of `linear` (attention's q, k and v; a gated FFN's gate and up). With bf16 on
    /// several threads x is rounded and packed once for all of them, forward and for the weight
    /// gradients, as in PyTorch's fused in-projection but with each W_s its own parameter.
    ///   db_s += Σ_rows dy_s,  dW_s += dy_sᵀ x,  dx += dy_s W_s (the last layer's first, as `linear`s would add them)
    public func linears(_ x: Variable, _ layers: [(weight: Variable, bias: Variable?)]) -> [Variable] {
        let sx = shape(x)
        precondition(sx.count == 2, "linears: input \(sx) is not a matrix")
        let rows = sx[0], inputs = sx[1]
        let widths = layers.map { layer in
            let sw = shape(layer.weight)
            precondition(sw.count == 2 && sw[1] == inputs, "linears: input \(sx) and weight \(sw) (out, in) do not match")
            if let b = layer.bias { precondition(shape(b) == [sw[0]], "linears: bias \(shape(b)) for \(sw[0]) outputs") }
            return sw[0]
        }
        let made = outputs(shapes: widths.map { [rows, $0] }, inputs: [x] + layers.flatMap { [$0.weight] + ($0.bias.map { [$0] } ?? []) },
                           op: "linears \(rows)x(\(widths.map(String.init).joined(separator: "+")))x\(inputs)")
        let parts = zip(layers, made).map { layer, output in
            GEMMPart(operand: value(layer.weight).data, ld: inputs, size: output.1.shape[1], c: output.1.data, ldc: output.1.shape[1],
                     epilogue: layer.bias.map { GEMMEpilogue(bias: value($0).data, activation: nil, derivative: nil) })
        }
        gemm(transposeB: true, m: rows, k: inputs, a: value(x).data, lda: inputs, columnParts: parts, precision: precision, pool: pool)
        onBackward(made.map(\.0)) { [unowned self] dys in
            var weightGradients: [GEMMPart] = []
            for (s, dy) in zip(layers.indices, dys).reversed() {
                guard let dy else { continue }
                let layer = layers[s], width = widths[s]
                if let bias = layer.bias, let db = gradientSlot(bias) {
                    VectorKernels.columnSums(dy.data, rows: rows, columns: width, into: db.tensor.data, accumulate: !db.overwrite, pool: pool)
                }
                if let (dx, overwrite) = gradientSlot(x) {
                    gemm(m: rows, n: inputs, k: width, a: dy.data, lda: width, b: value(layer.weight).data, ldb: inputs,
                         c: dx.data, ldc: inputs, accumulate: !overwrite, precision: precision, pool: pool)
                }
                if let (dw, overwrite) = gradientSlot(layer.weight) {
                    weightGradients.append(GEMMPart(operand: dy.data, ld: width, size: width, c: dw.data, ldc: inputs, accumulate: !overwrite))
                }
            }
            // Tied weights (one parameter in two layers) add into one gradient: one product after
            // the other then, as separate layers would.
            let distinct = Set(weightGradients.map(\.c)).count == weightGradients.count
            for parts in distinct ? [weightGradients] : weightGradients.map({ [$0] }) {
                gemm(transposeA: true, n: inputs, k: rows, rowParts: parts, b: value(x).data, ldb: inputs,
                     precision: precision, pool: pool)
            }
        }
        return made.map(\.0)
    }

    /// Batched C[i] = op(A[i]) · op(B[i]) over the leading dimension of 3-D tensors (attention).
    public func batchedMatmul(_ a: Variable, _ b: Variable, transposeA: Bool = false, transposeB: Bool = false) -> Variable {
        let sa = shape(a), sb = shape(b)
        precondition(sa.count == 3 && sb.count == 3 && sa[0] == sb[0],
                     "batchedMatmul takes (batch, rows, columns) tensors with one batch size, got \(sa) and \(sb)")
        let (m, k) = transposeA ? (sa[2], sa[1]) : (sa[1], sa[2])
        let (kb, n) = transposeB ? (sb[2], sb[1]) : (sb[1], sb[2])
        precondition(k == kb, "batchedMatmul inner sizes differ: \(sa) · \(sb)")
        let batch = sa[0]
        let (c, out) = output(shape: [batch, m, n], from: a, b)
        gemmBatched(batch: batch, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                    a: value(a).data, lda: sa[2], strideA: m * k,
                    b: value(b).data, ldb: sb[2], strideB: k * n,
                    c: out.data, ldc: n, strideC: m * n, precision: precision, pool: pool)
        onBackward(c) { [unowned self] dc in
            matmulBackward(a: a, b: b, dc: dc, transposeA: transposeA, transposeB: transposeB,
                           m: m, n: n, k: k, batch: batch)
        }
        return c
    }

    func matmulBackward(
        a: Variable, b: Variable, dc: Tensor, transposeA: Bool, transposeB: Bool,
        m: Int, n: Int, k: Int, batch: Int
    ) {
        let av = value(a), bv = value(b)
        let lda = transposeA ? m : k, ldb = transposeB ? k : n
        if let (da, overwriteA) = gradientSlot(a) {
            if transposeA {
                // dA (K, M) = op(B) · dCᵀ
                gemmBatched(batch: batch, transposeA: transposeB, transposeB: true, m: k, n: m, k: n,
                            a: bv.data, lda: ldb, strideA: k * n, b: dc.data, ldb: n, strideB: m * n,
                            c: da.data, ldc: m, strideC: m * k, accumulate: !overwriteA, precision: precision, pool: pool)
            } else {
                // dA (M, K) = dC · op(B)ᵀ
                gemmBatched(batch: batch, transposeA: false, transposeB: !transposeB, m: m, n: k, k: n,
                            a: dc.data, lda: n, strideA: m * n, b: bv.data, ldb: ldb, strideB: k * n,
                            c: da.data, ldc: k, strideC: m * k, accumulate: !overwriteA, precision: precision, pool: pool)
            }
        }
        if let (db, overwriteB) = gradientSlot(b) {
            if transposeB {
                // dB (N, K) = dCᵀ · op(A)
                gemmBatched(batch: batch, transposeA: true, transposeB: transposeA, m: n, n: k, k: m,
                            a: dc.data, lda: n, strideA: m * n, b: av.data, ldb: lda, strideB: m * k,
                            c: db.data, ldc: k, strideC: k * n, accumulate: !overwriteB, precision: precision, pool: pool)
            } else {
                // dB (K, N) = op(A)ᵀ · dC
                gemmBatched(batch: batch, transposeA: !transposeA, transposeB: false, m: k, n: n, k: m,
                            a: av.data, lda: lda, strideA: m * k, b: dc.data, ldb: n, strideB: m * n,
                            c: db.data, ldc: n, strideC: k * n, accumulate: !overwriteB, precision: precision, pool: pool)
            }
        }
    }
}
