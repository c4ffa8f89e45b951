import TrainLabKernels

// Attention ops on heads laid out as a linear layer's output: (B, T, H, D) is (B·T, H·D)
// reshaped, so q, k, v come straight from their projections and the output goes straight into
// the output projection after a reshape; no head transposes are needed.

extension Tape {
    /// Scaled dot-product attention (Vaswani et al. 2017, https://arxiv.org/abs/1706.03762) with
    /// grouped-query heads (Ainslie et al. 2023, https://arxiv.org/abs/2305.13245):
    ///   y[b, :, h] = softmax(scale · q[b, :, h] k[b, :, g]ᵀ + mask) v[b, :, g],  g = h / (H / Hkv)
    /// scale = 1/√D unless given; the causal mask keeps key j ≤ query i. Hkv = H is multi-head,
    /// Hkv = 1 multi-query attention. Fused (`AttentionKernels`): the masked part is skipped; the
    /// probabilities are kept for the backward up to 64 MiB per call, recomputed beyond.
    ///   dv += Pᵀ dy,  dS = scale · P ⊙ (dy vᵀ - rowsum(dy ⊙ y)),  dq += dS k,  dk += dSᵀ q
    /// (summed over the H / Hkv query heads that share a key/value head). `rowBlock`: query rows
    /// handled together (the causal skip works in whole blocks; tests use small ones).
    // q (B, T, H, D), k (B, T, Hkv, D), v (B, T, Hkv, D) -> y (B, T, H, D)
    /// `keepProbabilities`: keep them for the backward (true), recompute them there (false), or
    /// keep them when they fit in `AttentionKernels.keptProbabilityLimit` (nil).
    public func attention(
        _ q: Variable, _ k: Variable, _ v: Variable, causal: Bool, scale: Float? = nil,
        rowBlock: Int = AttentionKernels.defaultRowBlock, keepProbabilities: Bool? = nil
    ) -> Variable {
        let sq = shape(q), sk = shape(k), sv = shape(v)
        precondition(sq.count == 4 && sk.count == 4 && sv.count == 4,
                     "attention takes q (B, T, H, D), k and v (B, T, Hkv, D), got \(sq), \(sk), \(sv)")
        precondition(sk == sv, "attention: keys \(sk) and values \(sv) differ in shape")
        precondition(sq[0] == sk[0] && sq[1] == sk[1] && sq[3] == sk[3],
                     "attention: queries \(sq) and keys \(sk) differ in batch, length or head size")
        precondition(sk[2] >= 1 && sq[2] % sk[2] == 0,
                     "attention: \(sq[2]) query heads (q \(sq)) are not a multiple of \(sk[2]) key/value heads (k \(sk))")
        precondition(sq[3] >= 1, "attention: empty heads in q \(sq)")
        precondition(rowBlock >= 1, "attention: row block \(rowBlock)")
        let s = AttentionShape(batch: sq[0], length: sq[1], heads: sq[2], kvHeads: sk[2], headSize: sq[3])
        let factor = scale ?? 1 / Float(s.headSize).squareRoot()
        let (y, out) = output(shape: sq, from: q, k, v)
        let qv = value(q), kv = value(k), vv = value(v)
        let work = scratch([AttentionKernels.forwardScratchCount(s, rowBlock: rowBlock, threads: pool.threadCount, precision: precision)])
        // The probabilities are kept for the backward when they fit (else it recomputes them).
        let keep = requiresGradient(y)
            && (keepProbabilities ?? (AttentionKernels.keptProbabilityCount(s) <= AttentionKernels.keptProbabilityLimit))
        let kept = keep ? scratch([AttentionKernels.keptProbabilityCount(s)]) : nil
        AttentionKernels.forward(q: qv.data, k: kv.data, v: vv.data, out: out.data, shape: s, causal: causal,
                                 scale: factor, rowBlock: rowBlock, scratch: work.data, keep: kept?.data, precision: precision, pool: pool)
        onBackward(y) { [unowned self] dy in
            // k and v first: when q is the same variable as one of them, its slot is then the
            // zero-filled buffer they add into, not a fresh one dq would overwrite.
            let dk = gradientIfTracked(k), dv = gradientIfTracked(v), dq = gradientSlot(q)
            let work = scratch([AttentionKernels.backwardScratchCount(s, rowBlock: rowBlock, threads: pool.threadCount, precision: precision)])
            AttentionKernels.backward(q: qv.data, k: kv.data, v: vv.data, out: out.data, dOut: dy.data,
                                      dq: dq?.tensor.data, overwriteQueryGradient: dq?.overwrite ?? false,
                                      dk: dk?.data, dv: dv?.data, shape: s, causal: causal,
                                      scale: factor, rowBlock: rowBlock, scratch: work.data, kept: kept?.data, precision: precision, pool: pool)
        }
        return y
    }

    /// Rotary position embedding (RoPE, Su et al. 2021, https://arxiv.org/abs/2104.09864), the
    /// half-split convention of GPT-NeoX and Hugging Face's `LlamaRotaryEmbedding` /
    /// `apply_rotary_pos_emb` (`rotate_half`): for position t, head element i < D/2 and
    /// θ_i = base^(-2i/D),
    ///   y_i = x_i cos(tθ_i) - x_{i+D/2} sin(tθ_i),  y_{i+D/2} = x_{i+D/2} cos(tθ_i) + x_i sin(tθ_i)
    ///   dx = R(-tθ) dy  (a rotation's transpose is its inverse)
    /// Positions are 0 ..< T along the second dimension; D must be even.
    // x (B, T, H, D) -> y (B, T, H, D)
    public func rotaryEmbedding(_ x: Variable, base: Double = 10000) -> Variable {
        let sx = shape(x)
        precondition(sx.count == 4, "rotaryEmbedding takes (B, T, H, D), got \(sx)")
        precondition(sx[3] % 2 == 0, "rotaryEmbedding needs an even head size D, got \(sx) (D = \(sx[3]))")
        precondition(base > 0 && base.isFinite, "rotaryEmbedding: base must be positive, got \(base)")
        let (batch, length, heads, headSize) = (sx[0], sx[1], sx[2], sx[3])
        let (y, out) = output(shape: sx, from: x)
        let cos = scratch([length, headSize / 2]), sin = scratch([length, headSize / 2])
        RotaryKernels.tables(length: length, headSize: headSize, base: base, cos: cos.data, sin: sin.data)
        RotaryKernels.rotate(value(x).data, into: out.data, batch: batch, length: length, heads: heads, headSize: headSize,
                             cos: cos.data, sin: sin.data, inverse: false, accumulate: false, pool: pool)
        onBackward(y) { [unowned self] dy in
            guard let dx = gradientIfTracked(x) else { return }
            RotaryKernels.rotate(dy.data, into: dx.data, batch: batch, length: length, heads: heads, headSize: headSize,
                                 cos: cos.data, sin: sin.data, inverse: true, accumulate: true, pool: pool)
        }
        return y
    }
}
