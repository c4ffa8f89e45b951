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

    @inline(__always) static var avx2: Bool { InstructionSet.current == .avx2 }

    /// y = f(x) elementwise.
    public static func unary(
        _ kind: UnaryMap, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
        pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(count, grain: elementGrain) { r, _ in
            let n = r.count
            if avx2 {
                MicroKernelsAVX2.unaryForward(MicroKernelsAVX2.UnaryMap(kind), x + r.lowerBound, y + r.lowerBound, n)
            } else {
                MicroKernels.unaryForward(kind, x + r.lowerBound, y + r.lowerBound, n)
            }
        }
    }

    /// dx += dy * f'(x), given y = f(x).
    public static func unaryBackward(
        _ kind: UnaryMap, x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>, count: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(count, grain: elementGrain) { r, _ in
            let o = r.lowerBound
            if avx2 {
                MicroKernelsAVX2.unaryBackward(
                    MicroKernelsAVX2.UnaryMap(kind), x: x + o, y: y + o, dy: dy + o, dx: dx + o, r.count)
            } else {
                MicroKernels.unaryBackward(kind, x: x + o, y: y + o, dy: dy + o, dx: dx + o, r.count)
            }
        }
    }

    /// z = x + y.
    public static func add(
        _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>,
        count: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(count, grain: elementGrain) { r, _ in
            let o = r.lowerBound
            if avx2 { MicroKernelsAVX2.add(x + o, y + o, z + o, r.count) } else { MicroKernels.add(x + o, y + o, z + o, r.count) }
        }
    }

    /// z = x * y.
    public static func multiply(
        _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>,
        count: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(count, grain: elementGrain) { r, _ in
            let o = r.lowerBound
            if avx2 { MicroKernelsAVX2.multiply(x + o, y + o, z + o, r.count) } else { MicroKernels.multiply(x + o, y + o, z + o, r.count) }
        }
    }

    /// z += x * y.
    public static func multiplyAccumulate(
        _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>,
        count: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(count, grain: elementGrain) { r, _ in
            let o = r.lowerBound
            if avx2 {
                MicroKernelsAVX2.multiplyAccumulate(x + o, y + o, z + o, r.count)
            } else {
                MicroKernels.multiplyAccumulate(x + o, y + o, z + o, r.count)
            }
        }
    }

    /// y += alpha * x.
    public static func axpy(
        _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
        pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(count, grain: elementGrain) { r, _ in
            let o = r.lowerBound
            if avx2 { MicroKernelsAVX2.axpy(alpha, x + o, y + o, r.count) } else { MicroKernels.axpy(alpha, x + o, y + o, r.count) }
        }
    }

    /// y = alpha * x.
    public static func scale(
        _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
        pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(count, grain: elementGrain) { r, _ in
            let o = r.lowerBound
            if avx2 { MicroKernelsAVX2.scale(alpha, x + o, y + o, r.count) } else { MicroKernels.scale(alpha, x + o, y + o, r.count) }
        }
    }

    /// Σ x: chunks of `sumChunk` summed (in parallel), then the partials added in order.
    public static func sum(_ x: UnsafePointer<Float>, count: Int, pool: ThreadPool = .shared) -> Float {
        chunkedReduce(count: count, pool: pool) { o, n in
            avx2 ? MicroKernelsAVX2.sum(x + o, n) : MicroKernels.sum(x + o, n)
        }
    }

    /// Σ x * y, in the same fixed chunks as `sum`.
    public static func dot(
        _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int, pool: ThreadPool = .shared
    ) -> Float {
        chunkedReduce(count: count, pool: pool) { o, n in
            avx2 ? MicroKernelsAVX2.dot(x + o, y + o, n) : MicroKernels.dot(x + o, y + o, n)
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
                if avx2 { MicroKernelsAVX2.softmaxRow(x + o, y + o, columns) } else { MicroKernels.softmaxRow(x + o, y + o, columns) }
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
                if avx2 {
                    MicroKernelsAVX2.logSoftmaxRow(x + o, y + o, columns)
                } else {
                    MicroKernels.logSoftmaxRow(x + o, y + o, columns)
                }
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
                let s = avx2
                    ? MicroKernelsAVX2.meanAndVariance(x + i * columns, columns)
                    : MicroKernels.meanAndVariance(x + i * columns, columns)
                mean[i] = s.mean
                variance[i] = s.variance
            }
        }
    }

    /// y[r, :] = (x[r, :] - shift[r]) * factor[r]: the normalize step of LayerNorm and RMSNorm.
    public static func shiftAndScaleRows(
        _ x: UnsafePointer<Float>, shift: UnsafePointer<Float>?, factor: UnsafePointer<Float>,
        _ y: UnsafeMutablePointer<Float>, rows: Int, columns: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(rows, grain: max(1, elementGrain / max(columns, 1))) { r, _ in
            for i in r {
                let o = i * columns
                let s = shift?[i] ?? 0
                if avx2 {
                    MicroKernelsAVX2.shiftAndScale(x + o, shift: s, factor: factor[i], y + o, columns)
                } else {
                    MicroKernels.shiftAndScale(x + o, shift: s, factor: factor[i], y + o, columns)
                }
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
                if avx2 {
                    MicroKernelsAVX2.accumulate(x + o, into: y + r.lowerBound, r.count)
                } else {
                    MicroKernels.accumulate(x + o, into: y + r.lowerBound, r.count)
                }
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
                if avx2 { MicroKernelsAVX2.add(x + o, v, y + o, columns) } else { MicroKernels.add(x + o, v, y + o, columns) }
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
                if avx2 {
                    MicroKernelsAVX2.softmaxBackwardRow(y + o, dy + o, dx + o, columns)
                } else {
                    MicroKernels.softmaxBackwardRow(y + o, dy + o, dx + o, columns)
                }
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
                if avx2 {
                    MicroKernelsAVX2.logSoftmaxBackwardRow(y + o, dy + o, dx + o, columns)
                } else {
                    MicroKernels.logSoftmaxBackwardRow(y + o, dy + o, dx + o, columns)
                }
            }
        }
    }

    /// Row backward of a normalization y = (x - μ) r or y = x r (see `normalizeBackwardRow`).
    public static func normalizeBackwardRows(
        y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
        rstd: UnsafePointer<Float>, centered: Bool, rows: Int, columns: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelRanges(rows, grain: max(1, elementGrain / max(columns, 1))) { r, _ in
            for i in r {
                let o = i * columns
                if avx2 {
                    MicroKernelsAVX2.normalizeBackwardRow(y + o, dy + o, dx + o, columns, rstd: rstd[i], centered: centered)
                } else {
                    MicroKernels.normalizeBackwardRow(y + o, dy + o, dx + o, columns, rstd: rstd[i], centered: centered)
                }
            }
        }
    }
}

extension MicroKernelsAVX2.UnaryMap {
    /// The same map in the AVX2 copy of the hot loops.
    init(_ portable: MicroKernels.UnaryMap) {
        switch portable {
        case .exp: self = .exp
        case .tanh: self = .tanh
        case .sigmoid: self = .sigmoid
        case .relu: self = .relu
        case .log: self = .log
        case .square: self = .square
        case .abs: self = .abs
        case .erf: self = .erf
        case .gelu: self = .gelu
        case .geluTanh: self = .geluTanh
        }
    }
}
