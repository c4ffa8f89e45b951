// Fused scaled-dot-product attention over raw buffers (forward and backward), in the layout a
// linear projection produces: q (B, T, H, D) is x (B·T, C) · Wqᵀ seen as heads, so no head
// split or merge copies are needed; each head is a strided (T, D) matrix with row stride H·D.
//
// Per (b, h), with g = h / (H / Hkv) the key/value head it reads (grouped-query attention:
// Hkv = H is multi-head, Hkv = 1 multi-query):
//   S = scale · Q Kᵀ (T, T),  P = softmax(S) per row (causal: row i over columns 0...i),  O = P V
// Rows are processed in blocks of `rowBlock`: a block of rows r0 ..< r1 needs only the key
// columns 0 ..< r1 when causal, so the masked upper triangle is skipped (not computed and then
// masked), and no (T, T) matrix per head is ever held: each worker owns one (rowBlock, T) buffer.
// The backward uses the probabilities the forward kept when they fit (`keptProbabilityLimit`),
// else recomputes each block's P exactly as the forward did (bit-identical), then
//   dV += Pᵀ dO,  dP = dO Vᵀ,  dS = scale · P ⊙ (dP - rowsum(dO ⊙ O)),  dQ += dS K,  dK += dSᵀ Q
// (rowsum(dO ⊙ O)_i = Σ_j P_ij dP_ij, the softmax backward's inner product, without a T×T pass).
//
// Threads: forward and backward give each (b, g) to one task, with its query heads in order (in
// the backward they all add into the same dK, dV rows). A task packs its head's keys and values
// once (Kᵀ, V; and Vᵀ, K for the backward) for all its query heads and row blocks: packing a
// transposed operand costs about as much as a (64 × 128 × 32) product. Every task runs its GEMMs
// serially in an order fixed by the shapes, so results are bit-identical for any thread count.

/// The sizes of one attention call. Queries (B, T, H, D); keys and values (B, T, Hkv, D).
public struct AttentionShape: Equatable, Sendable {
    public let batch: Int, length: Int, heads: Int, kvHeads: Int, headSize: Int

    public init(batch: Int, length: Int, heads: Int, kvHeads: Int, headSize: Int) {
        precondition(batch >= 0 && length >= 0 && heads >= 1 && kvHeads >= 1 && headSize >= 0,
                     "attention sizes: batch \(batch), length \(length), heads \(heads), kv heads \(kvHeads), head size \(headSize)")
        precondition(heads % kvHeads == 0, "attention: \(heads) query heads do not split into groups of \(kvHeads) key/value heads")
        self.batch = batch
        self.length = length
        self.heads = heads
        self.kvHeads = kvHeads
        self.headSize = headSize
    }

    /// Query heads per key/value head, H / Hkv.
    public var groupSize: Int { heads / kvHeads }
    /// Floats between consecutive positions of a query (and output) head: H·D.
    public var queryRowStride: Int { heads * headSize }
    /// Floats between consecutive positions of a key or value head: Hkv·D.
    public var keyRowStride: Int { kvHeads * headSize }
}

public enum AttentionKernels {
    /// Query rows per block: the causal mask skips whole key columns beyond each block's last row.
    public static let defaultRowBlock = 64

    /// Words of one packed key or value head (k × n or n × k, columns in whole panels).
    static func packedHeadCount(_ s: AttentionShape, precision: MatrixPrecision) -> Int {
        max(PackedMatrix.count(k: s.headSize, n: s.length, precision: precision),
            PackedMatrix.count(k: s.length, n: s.headSize, precision: precision))
    }

    /// Scratch floats the forward needs per worker: a (rowBlock, T) probability block and the
    /// packed Kᵀ and V of one key/value head.
    public static func forwardScratchCount(_ shape: AttentionShape, rowBlock: Int, threads: Int,
                                           precision: MatrixPrecision = .fp32) -> Int {
        threads * (min(rowBlock, max(shape.length, 1)) * shape.length + 2 * packedHeadCount(shape, precision: precision))
    }

    /// Scratch floats the backward needs per worker: probability and score-gradient blocks and
    /// the packed Kᵀ, Vᵀ and K of one key/value head.
    public static func backwardScratchCount(_ shape: AttentionShape, rowBlock: Int, threads: Int,
                                            precision: MatrixPrecision = .fp32) -> Int {
        threads * (2 * min(rowBlock, max(shape.length, 1)) * shape.length + 3 * packedHeadCount(shape, precision: precision))
    }

    /// Floats of the probabilities `forward` can keep for `backward`: one (T, T) matrix per
    /// (batch, head) (the causal part written).
    public static func keptProbabilityCount(_ s: AttentionShape) -> Int { s.batch * s.heads * s.length * s.length }

    /// Above this many floats (64 MiB) the backward recomputes the probabilities instead.
    public static let keptProbabilityLimit = 1 << 24

    /// out = softmax(scale · q kᵀ [+ causal mask]) v per (batch, head). With `keep`
    /// (`keptProbabilityCount` floats), the probabilities are written there for `backward`,
    /// which then skips recomputing them (one of its five products and the softmax).
    // q (B, T, H, D), k (B, T, Hkv, D), v (B, T, Hkv, D), out (B, T, H, D),
    // scratch: forwardScratchCount floats
    public static func forward(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>, shape s: AttentionShape, causal: Bool, scale: Float,
        rowBlock: Int = defaultRowBlock, scratch: UnsafeMutablePointer<Float>,
        keep: UnsafeMutablePointer<Float>? = nil, precision: MatrixPrecision = .fp32, pool: ThreadPool = .shared
    ) {
        precondition(rowBlock >= 1, "attention: row block \(rowBlock)")
        let t = s.length, d = s.headSize, qs = s.queryRowStride, ks = s.keyRowStride
        let block = min(rowBlock, max(t, 1))
        let packed = packedHeadCount(s, precision: precision)
        let perWorker = block * t + 2 * packed
        // One task per key/value head: its Kᵀ and V are packed once for all its query heads.
        pool.parallelFor(s.batch * s.kvHeads) { task, worker in
            let b = task / s.kvHeads, g = task % s.kvHeads
            let kHead = k + b * t * ks + g * d, vHead = v + b * t * ks + g * d
            let probabilities = scratch + worker * perWorker
            let keys = PackedMatrix(packing: kHead, ldb: ks, transposed: true, k: d, n: t, precision: precision,
                                    into: probabilities + block * t)
            let values = PackedMatrix(packing: vHead, ldb: ks, transposed: false, k: t, n: d, precision: precision,
                                      into: probabilities + block * t + packed)
            for h in (g * s.groupSize)..<((g + 1) * s.groupSize) {
                let qHead = q + b * t * qs + h * d, oHead = out + b * t * qs + h * d
                var r0 = 0
                while r0 < t {
                    let rows = min(block, t - r0), width = causal ? r0 + rows : t
                    let p = keep.map { $0 + ((b * s.heads + h) * t + r0) * t } ?? probabilities
                    probabilityBlock(qBlock: qHead + r0 * qs, keys: keys, shape: s, firstRow: r0, rows: rows, width: width,
                                     causal: causal, scale: scale, into: p)
                    // O[r0 ..< r0 + rows] = P (rows, width) · V[0 ..< width]
                    gemm(m: rows, n: d, k: width, a: p, lda: t, packedB: values, c: oHead + r0 * qs, ldc: qs)
                    r0 += rows
                }
            }
        }
    }

    /// Adds the gradients of `forward` into dq, dk, dv (each optional: nil skips it); with
    /// `overwriteQueryGradient`, dq is written (=), not added to (each of its rows is produced once).
    /// `kept`: the probabilities `forward` kept, else they are recomputed (bit-identical).
    // q, out, dOut, dq (B, T, H, D); k, v, dk, dv (B, T, Hkv, D); scratch: backwardScratchCount floats
    public static func backward(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        out: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
        dq: UnsafeMutablePointer<Float>?, overwriteQueryGradient: Bool = false,
        dk: UnsafeMutablePointer<Float>?, dv: UnsafeMutablePointer<Float>?,
        shape s: AttentionShape, causal: Bool, scale: Float,
        rowBlock: Int = defaultRowBlock, scratch: UnsafeMutablePointer<Float>,
        kept: UnsafePointer<Float>? = nil, precision: MatrixPrecision = .fp32, pool: ThreadPool = .shared
    ) {
        precondition(rowBlock >= 1, "attention: row block \(rowBlock)")
        if dq == nil && dk == nil && dv == nil { return }
        let t = s.length, d = s.headSize, qs = s.queryRowStride, ks = s.keyRowStride
        let block = min(rowBlock, max(t, 1))
        let needsScoreGradient = dq != nil || dk != nil
        let packed = packedHeadCount(s, precision: precision)
        let perWorker = 2 * block * t + 3 * packed
        pool.parallelFor(s.batch * s.kvHeads) { task, worker in
            let b = task / s.kvHeads, g = task % s.kvHeads
            let kHead = k + b * t * ks + g * d, vHead = v + b * t * ks + g * d
            let dkHead = dk.map { $0 + b * t * ks + g * d }, dvHead = dv.map { $0 + b * t * ks + g * d }
            let recomputed = scratch + worker * perWorker
            let scoreGradient = recomputed + block * t
            let packs = scoreGradient + block * t
            let keysT = PackedMatrix(packing: kHead, ldb: ks, transposed: true, k: d, n: t, precision: precision, into: packs)
            let valuesT = PackedMatrix(packing: vHead, ldb: ks, transposed: true, k: d, n: t, precision: precision,
                                       into: packs + packed)
            let keys = PackedMatrix(packing: kHead, ldb: ks, transposed: false, k: t, n: d, precision: precision,
                                    into: packs + 2 * packed)
            for h in (g * s.groupSize)..<((g + 1) * s.groupSize) {
                let headOffset = b * t * qs + h * d
                var r0 = 0
                while r0 < t {
                    let rows = min(block, t - r0), width = causal ? r0 + rows : t
                    let rowOffset = headOffset + r0 * qs
                    let probabilities: UnsafePointer<Float>
                    if let kept {
                        probabilities = kept + ((b * s.heads + h) * t + r0) * t
                    } else {
                        probabilityBlock(qBlock: q + rowOffset, keys: keysT, shape: s, firstRow: r0, rows: rows, width: width,
                                         causal: causal, scale: scale, into: recomputed)
                        probabilities = UnsafePointer(recomputed)
                    }
                    if let dvHead {
                        // dV[0 ..< width] += Pᵀ (width, rows) · dO[r0 ..< r0 + rows]
                        gemm(transposeA: true, m: width, n: d, k: rows, a: probabilities, lda: t, b: dOut + rowOffset, ldb: qs,
                             c: dvHead, ldc: ks, accumulate: true, precision: precision, pool: .serial)
                    }
                    if needsScoreGradient {
                        // dP (rows, width) = dO[r0 ..< r0 + rows] · V[0 ..< width]ᵀ
                        gemm(m: rows, n: width, k: d, a: dOut + rowOffset, lda: qs, packedB: valuesT, c: scoreGradient, ldc: t)
                        let loops = HotLoops.current
                        for i in 0..<rows {
                            loops.attentionScoreGradientRow(probabilities + i * t, scoreGradient + i * t,
                                                            dOut + rowOffset + i * qs, out + rowOffset + i * qs, d,
                                                            causal ? r0 + i + 1 : width, width, scale)
                        }
                        if let dq {
                            // dQ[r0 ..< r0 + rows] += dS (rows, width) · K[0 ..< width]
                            gemm(m: rows, n: d, k: width, a: scoreGradient, lda: t, packedB: keys,
                                 c: dq + rowOffset, ldc: qs, accumulate: !overwriteQueryGradient)
                        }
                        if let dkHead {
                            // dK[0 ..< width] += dSᵀ (width, rows) · Q[r0 ..< r0 + rows]
                            gemm(transposeA: true, m: width, n: d, k: rows, a: scoreGradient, lda: t, b: q + rowOffset, ldb: qs,
                                 c: dkHead, ldc: ks, accumulate: true, precision: precision, pool: .serial)
                        }
                    }
                    r0 += rows
                }
            }
        }
    }

    /// P[i, 0 ..< width] for query rows firstRow ..< firstRow + rows of one head: softmax of
    /// scale · q_i · k_j over the valid columns (j ≤ firstRow + i when causal), zero beyond them.
    // qBlock (rows, D) with row stride H·D; keys: Kᵀ (D, T) packed; p (rows, width), row stride T
    @inline(__always)
    static func probabilityBlock(
        qBlock: UnsafePointer<Float>, keys: PackedMatrix, shape s: AttentionShape,
        firstRow: Int, rows: Int, width: Int, causal: Bool, scale: Float, into p: UnsafeMutablePointer<Float>
    ) {
        let t = s.length
        gemm(m: rows, n: width, k: s.headSize, a: qBlock, lda: s.queryRowStride, packedB: keys, c: p, ldc: t)
        let loops = HotLoops.current
        for i in 0..<rows {
            loops.attentionSoftmaxRow(p + i * t, causal ? firstRow + i + 1 : width, width, scale)
        }
    }
}
