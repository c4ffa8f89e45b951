import MicroKernels
import MicroKernelsAVX2

public typealias UnaryMap = MicroKernels.UnaryMap

/// Elementwise, row and reduction kernels: the hot loops of MicroKernels spread over the pool.
/// Elementwise work is split into contiguous ranges (each element is computed alone, so the split
/// cannot change a result); reductions use fixed chunks or give each thread whole rows or columns.
public enum VectorKernels {
    /// Elements below which an elementwise kernel stays on the caller's thread.
    public static let elementGrain = 1 << 14
    /// Summation chunk: partial sums of this many elements are added in index order.
    public static let sumChunk = 1 << 12

    static var loops: HotLoops { HotLoops.current }

    /// y = f(x) elementwise; also d = f'(x) when given (`UnaryMap.storesDerivative` maps only).
    public static func unary(
        _ kind: UnaryMap, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
        derivative: UnsafeMutablePointer<Float>? = nil, count: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(count, grain: elementGrain) { r, _ in
            let o = r.lowerBound
            loops.unary(kind, x + o, y + o, r.count, derivative.map { $0 + o })
        }
    }

    /// dx += dy * f'(x), given y = f(x); dx = dy * f'(x) unless `accumulate`.
    public static func unaryBackward(
        _ kind: UnaryMap, x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>, accumulate: Bool = true, count: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(count, grain: elementGrain) { r, _ in
            let o = r.lowerBound
            loops.unaryBackward(kind, x + o, y + o, dy + o, dx + o, r.count, accumulate)
        }
    }

    /// y = f(g) ⊙ u elementwise (gated linear units).
    public static func gatedUnary(
        _ kind: UnaryMap, gate g: UnsafePointer<Float>, up u: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
        count: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(count, grain: elementGrain) { r, _ in
            let o = r.lowerBound
            loops.gatedForward(kind, g + o, u + o, y + o, r.count)
        }
    }

    /// dg (+)= dy ⊙ u ⊙ f'(g), du (+)= dy ⊙ f(g); either may be nil.
    public static func gatedUnaryBackward(
        _ kind: UnaryMap, gate g: UnsafePointer<Float>, up u: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dGate: UnsafeMutablePointer<Float>?, accumulateGate: Bool, dUp: UnsafeMutablePointer<Float>?, accumulateUp: Bool,
        count: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(count, grain: elementGrain) { r, _ in
            let o = r.lowerBound
            loops.gatedBackward(kind, g + o, u + o, dy + o, dGate.map { $0 + o }, dUp.map { $0 + o }, r.count,
                                accumulateGate, accumulateUp)
        }
    }

    /// y = x.
    public static func copy(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, pool: ThreadPool = .shared) {
        pool.parallelRanges(count, grain: 4 * elementGrain) { r, _ in
            (y + r.lowerBound).update(from: x + r.lowerBound, count: r.count)
        }
    }

    /// z = x + y.
    public static func add(
        _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>,
        count: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(count, grain: elementGrain) { r, _ in
            let o = r.lowerBound
            loops.add(x + o, y + o, z + o, r.count)
        }
    }

    /// z = x * y.
    public static func multiply(
        _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>,
        count: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(count, grain: elementGrain) { r, _ in
            let o = r.lowerBound
            loops.multiply(x + o, y + o, z + o, r.count)
        }
    }

    /// z += x * y.
    public static func multiplyAccumulate(
        _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>,
        count: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(count, grain: elementGrain) { r, _ in
            let o = r.lowerBound
            loops.multiplyAccumulate(x + o, y + o, z + o, r.count)
        }
    }

    /// y += alpha * x.
    public static func axpy(
        _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
        pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(count, grain: elementGrain) { r, _ in
            let o = r.lowerBound
            loops.axpy(alpha, x + o, y + o, r.count)
        }
    }

    /// y = alpha * x.
    public static func scale(
        _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
        pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(count, grain: elementGrain) { r, _ in
            let o = r.lowerBound
            loops.scale(alpha, x + o, y + o, r.count)
        }
    }

    /// Σ x: chunks of `sumChunk` summed (in parallel), then the partials added in order.
    public static func sum(_ x: UnsafePointer<Float>, count: Int, pool: ThreadPool = .shared) -> Float {
        chunkedReduce(count: count, pool: pool) { o, n in
            loops.sum(x + o, n)
        }
    }

    /// Σ x * y, in the same fixed chunks as `sum`.
    public static func dot(
        _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int, pool: ThreadPool = .shared
    ) -> Float {
        chunkedReduce(count: count, pool: pool) { o, n in
            loops.dot(x + o, y + o, n)
        }
    }

    static func chunkedReduce(count: Int, pool: ThreadPool, _ partial: (Int, Int) -> Float) -> Float {
        let chunks = (count + sumChunk - 1) / sumChunk
        if chunks <= 1 { return count == 0 ? 0 : partial(0, count) }
        var partials = [Float](repeating: 0, count: chunks)
        partials.withUnsafeMutableBufferPointer { out in
            let out = out.baseAddress!
            pool.parallelRanges(chunks, grain: 4) { r, _ in
                for c in r { out[c] = partial(c * sumChunk, min(sumChunk, count - c * sumChunk)) }
            }
        }
        var total: Float = 0
        for p in partials { total += p }
        return total
    }

    /// y (R, C) = softmax over each row of x (R, C).
    public static func softmaxRows(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, columns: Int,
        pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(rows, grain: max(1, elementGrain / max(columns, 1))) { r, _ in
            for i in r {
                let o = i * columns
                loops.softmaxRow(x + o, y + o, columns)
            }
        }
    }

    /// y (R, C) = log_softmax over each row of x (R, C).
    public static func logSoftmaxRows(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, columns: Int,
        pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(rows, grain: max(1, elementGrain / max(columns, 1))) { r, _ in
            for i in r {
                let o = i * columns
                loops.logSoftmaxRow(x + o, y + o, columns)
            }
        }
    }

    /// Per row of x (R, C): mean[r] and variance[r] = Σ (x - mean)² / C (biased, as the norms use).
    public static func rowMeanAndVariance(
        _ x: UnsafePointer<Float>, rows: Int, columns: Int,
        mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>,
        pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(rows, grain: max(1, elementGrain / max(columns, 1))) { r, _ in
            for i in r {
                let s = loops.meanAndVariance(x + i * columns, columns)
                mean[i] = s.mean
                variance[i] = s.variance
            }
        }
    }

    /// y[r, :] = (x[r, :] - shift[r]) · factor[r] ⊙ γ + β: LayerNorm (shift = mean) and RMSNorm
    /// (no shift) with their optional gain γ and bias β (C), one pass per row.
    public static func normalizeAffineRows(
        _ x: UnsafePointer<Float>, shift: UnsafePointer<Float>?, factor: UnsafePointer<Float>,
        gain: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>, rows: Int, columns: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(rows, grain: max(1, elementGrain / max(columns, 1))) { r, _ in
            for i in r {
                let o = i * columns
                loops.normalizeAffineRow(x + o, y + o, columns, shift?[i] ?? 0, factor[i], gain, bias)
            }
        }
    }

    /// y (C) (+)= Σ over rows of x (R, C). Threads own column ranges and add rows in order.
    public static func columnSums(
        _ x: UnsafePointer<Float>, rows: Int, columns: Int, into y: UnsafeMutablePointer<Float>,
        accumulate: Bool, pool: ThreadPool = .shared
    ) {
        if !accumulate { y.update(repeating: 0, count: columns) }
        let grain = max(64, elementGrain / max(rows, 1))
        pool.parallelRanges(columns, grain: grain) { r, _ in
            for i in 0..<rows {
                let o = i * columns + r.lowerBound
                loops.accumulate(x + o, y + r.lowerBound, r.count)
            }
        }
    }

    /// table[rows[n], :] += x[n, :] for n in order (an embedding's backward): threads own column
    /// ranges, so a repeated row sums its contributions in the same order for any thread count.
    public static func scatterAddRows(
        _ x: UnsafePointer<Float>, rows: UnsafeBufferPointer<Int>, width: Int,
        into table: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(width, grain: max(64, elementGrain / max(rows.count, 1))) { columns, _ in
            for n in 0..<rows.count {
                loops.accumulate(x + n * width + columns.lowerBound, table + rows[n] * width + columns.lowerBound, columns.count)
            }
        }
    }

    /// y (R, C) = x (R, C) ⊙ v (C) broadcast over rows; y (+)= ... when `accumulate`.
    public static func multiplyRowVector(
        _ x: UnsafePointer<Float>, _ v: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
        rows: Int, columns: Int, accumulate: Bool = false, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(rows, grain: max(1, elementGrain / max(columns, 1))) { r, _ in
            for i in r {
                let o = i * columns
                if accumulate { loops.multiplyAccumulate(x + o, v, y + o, columns) } else { loops.multiply(x + o, v, y + o, columns) }
            }
        }
    }

    /// y (C) (+)= Σ over rows of x ⊙ z (R, C): a gain's gradient. Threads own column ranges and
    /// add rows in order, as in `columnSums`.
    public static func columnProductSums(
        _ x: UnsafePointer<Float>, _ z: UnsafePointer<Float>, rows: Int, columns: Int,
        into y: UnsafeMutablePointer<Float>, accumulate: Bool, pool: ThreadPool = .shared
    ) {
        if !accumulate { y.update(repeating: 0, count: columns) }
        let grain = max(64, elementGrain / max(rows, 1))
        pool.parallelRanges(columns, grain: grain) { r, _ in
            for i in 0..<rows {
                let o = i * columns + r.lowerBound
                loops.multiplyAccumulate(x + o, z + o, y + r.lowerBound, r.count)
            }
        }
    }

    /// y (R, C) = x (R, C) + v (C) broadcast over rows.
    public static func addRowVector(
        _ x: UnsafePointer<Float>, _ v: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
        rows: Int, columns: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(rows, grain: max(1, elementGrain / max(columns, 1))) { r, _ in
            for i in r {
                let o = i * columns
                loops.add(x + o, v, y + o, columns)
            }
        }
    }
}

extension VectorKernels {
    /// Row backward of `softmaxRows`: dx += y ⊙ (dy - Σ dy ⊙ y) per row.
    public static func softmaxBackwardRows(
        y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
        rows: Int, columns: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(rows, grain: max(1, elementGrain / max(columns, 1))) { r, _ in
            for i in r {
                let o = i * columns
                loops.softmaxBackwardRow(y + o, dy + o, dx + o, columns)
            }
        }
    }

    /// Row backward of `logSoftmaxRows`: dx += dy - exp(y) Σ dy per row.
    public static func logSoftmaxBackwardRows(
        y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
        rows: Int, columns: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(rows, grain: max(1, elementGrain / max(columns, 1))) { r, _ in
            for i in r {
                let o = i * columns
                loops.logSoftmaxBackwardRow(y + o, dy + o, dx + o, columns)
            }
        }
    }

    /// Backward of a fused linear layer's activation: dz = dy ⊙ f'(z) per row, f'(z) from
    /// `derivative` or from the output y (see `UnaryMap.derivativeFromOutput`); the bias gradient
    /// (+)= Σ_rows dz through per-chunk partial sums in `scratch` (`rows / 16` rounded up × columns
    /// floats), added in chunk order.
    public static func linearActivationBackwardRows(
        _ kind: UnaryMap, y: UnsafePointer<Float>, derivative: UnsafePointer<Float>?, dy: UnsafePointer<Float>,
        dz: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?, accumulateBias: Bool,
        rows: Int, columns: Int, scratch: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared
    ) {
        let chunkRows = normalizeChunkRows, chunks = (rows + chunkRows - 1) / chunkRows
        let partials = biasGradient == nil ? nil : scratch
        pool.parallelRanges(chunks, grain: max(1, elementGrain / max(columns * chunkRows, 1))) { r, _ in
            for chunk in r {
                let partial = partials.map { $0 + chunk * columns }
                partial?.update(repeating: 0, count: columns)
                for i in (chunk * chunkRows)..<min(rows, (chunk + 1) * chunkRows) {
                    let o = i * columns
                    loops.linearActivationBackward(kind, y + o, derivative.map { $0 + o }, dy + o, dz + o, columns, partial)
                }
            }
        }
        if let biasGradient, let partials {
            columnSums(partials, rows: chunks, columns: columns, into: biasGradient, accumulate: accumulateBias, pool: pool)
        }
    }

    /// Scratch floats `linearActivationBackwardRows` needs.
    public static func linearActivationScratchCount(rows: Int, columns: Int) -> Int {
        (rows + normalizeChunkRows - 1) / normalizeChunkRows * columns
    }

    /// Rows per chunk of the gain and bias gradients' partial sums: fixed, so the sums do not
    /// depend on the thread count.
    public static let normalizeChunkRows = 16

    /// Scratch floats `normalizeAffineBackwardRows` needs for `rows` × `columns`.
    public static func normalizeAffineScratchCount(rows: Int, columns: Int, gain: Bool, bias: Bool) -> Int {
        (rows + normalizeChunkRows - 1) / normalizeChunkRows * columns * ((gain ? 1 : 0) + (bias ? 1 : 0))
    }

    /// Backward of `normalizeAffineRows` (see `normalizeAffineBackwardRow`): dx (+)= ... per row;
    /// dγ (+)= Σ_rows dy ⊙ x̂ and dβ (+)= Σ_rows dy through per-chunk partial sums in `scratch`
    /// (`normalizeAffineScratchCount` floats), added chunk by chunk in order.
    public static func normalizeAffineBackwardRows(
        x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, accumulate: Bool,
        shift: UnsafePointer<Float>?, rstd: UnsafePointer<Float>, centered: Bool, gain: UnsafePointer<Float>?,
        gainGradient: UnsafeMutablePointer<Float>?, accumulateGain: Bool,
        biasGradient: UnsafeMutablePointer<Float>?, accumulateBias: Bool,
        rows: Int, columns: Int, scratch: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared
    ) {
        let chunkRows = normalizeChunkRows, chunks = (rows + chunkRows - 1) / chunkRows
        let gainPartials = gainGradient == nil ? nil : scratch
        let biasPartials = biasGradient == nil ? nil : scratch + (gainGradient == nil ? 0 : chunks * columns)
        pool.parallelRanges(chunks, grain: max(1, elementGrain / max(columns * chunkRows, 1))) { r, _ in
            for chunk in r {
                let g = gainPartials.map { $0 + chunk * columns }, b = biasPartials.map { $0 + chunk * columns }
                g?.update(repeating: 0, count: columns)
                b?.update(repeating: 0, count: columns)
                for i in (chunk * chunkRows)..<min(rows, (chunk + 1) * chunkRows) {
                    let o = i * columns
                    loops.normalizeAffineBackwardRow(x + o, dy + o, dx.map { $0 + o }, columns, shift?[i] ?? 0, rstd[i],
                                                     centered, gain, accumulate, g, b)
                }
            }
        }
        if let gainGradient, let gainPartials {
            columnSums(gainPartials, rows: chunks, columns: columns, into: gainGradient, accumulate: accumulateGain, pool: pool)
        }
        if let biasGradient, let biasPartials {
            columnSums(biasPartials, rows: chunks, columns: columns, into: biasGradient, accumulate: accumulateBias, pool: pool)
        }
    }
}

public typealias AdamStepConstants = MicroKernels.AdamStepConstants

extension VectorKernels {
    /// One Adam/AdamW update over n parameters, split into ranges between threads (every element
    /// is updated alone, so the split cannot change a result).
    public static func adamUpdate(
        weights: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
        v: UnsafeMutablePointer<Float>, vMax: UnsafeMutablePointer<Float>?, count: Int,
        constants: AdamStepConstants, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(count, grain: elementGrain) { r, _ in
            let o = r.lowerBound
            loops.adamUpdate(weights + o, gradient + o, m + o, v + o, vMax.map { $0 + o }, r.count, constants)
        }
    }
}

extension MicroKernelsAVX2.AdamStepConstants {
    init(_ k: MicroKernels.AdamStepConstants) {
        self.init(beta1: k.beta1, beta2: k.beta2, epsilon: k.epsilon, weightDecay: k.weightDecay, lr: k.lr,
                  stepSize: k.stepSize, correction2Root: k.correction2Root, decoupled: k.decoupled)
    }
}

extension MicroKernelsAVX2.UnaryMap {
    /// The same map in the AVX2 copy of the hot loops (one source file: the raw values agree).
    init(_ portable: MicroKernels.UnaryMap) {
        self.init(rawValue: portable.rawValue)!
    }
}
