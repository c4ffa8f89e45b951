import Foundation
import TrainLabKernels
import TrainLabAutodiff

/// The synthetic tasks, generated from one seeded stream (`RandomStream`, SplitMix64 seeded
/// with the seed mixed with a fixed salt): first the task's own parameters (weights, teacher,
/// centres), then the training rows, then the validation rows, so that val_size never changes
/// the training set and both splits come from the same distribution.
public enum SyntheticTasks {
    /// Every synthetic task, in the order messages and the README list them.
    public static let registry: [TaskDescriptor] = [
        .linearRegression, .teacherRegression, .blobs, .spirals, .teacherClassification,
        .rankingLists, .pairs, .triplets, .contrastiveViews,
        .copy, .reverse, .sort, .modularAddition, .associativeRecall,
    ]

    /// The task names, in registry order.
    public static let names = registry.map(\.name)

    private static let byName = Dictionary(uniqueKeysWithValues: registry.map { ($0.name, $0) })

    /// The descriptor of task `name`; nil for an unknown name (or `file`, which the experiment module reads).
    public static func descriptor(_ name: String) -> TaskDescriptor? { byName[name] }

    /// Builds the task, on `pool`'s threads where it can use them (the data are the same for
    /// any thread count); throws `TaskError` for bad options.
    public static func make(_ options: TaskOptions, seed: UInt64, pool: ThreadPool = .shared) throws -> TaskData {
        guard let descriptor = byName[options.kind] else {
            var message = "task.kind: unknown task '\(options.kind)'"
            if let hint = closest(to: options.kind, in: names) { message += " (did you mean '\(hint)'?)" }
            message += "; expected one of \(names.joined(separator: ", "))"
            throw TaskError(message)
        }
        return try descriptor.make(options, seed, pool)
    }
}

// MARK: - Shared pieces

/// A random two-layer teacher, y = act(x·W1 + b1)·W2 + b2 (row-major, x a row vector), in
/// Float32, evaluated by the GEMM kernels with the bias and activation in their epilogue.
struct TeacherMLP {
    let inputDim: Int, hidden: Int, outputDim: Int
    /// W1 (inputDim × hidden), b1, W2 (hidden × outputDim), b2.
    var w1: [Float], b1: [Float], w2: [Float], b2: [Float]
    /// `.relu` or `.tanh`.
    let activation: UnaryMap

    /// Rows per pass of `forward`, so the hidden activations it keeps stay small for any row count.
    static let blockRows = 4096

    /// Draws W1 (inputDim×hidden), then b1, then W2 (hidden×outputDim), each N(0, std²) by the
    /// stream's Float64 Box–Muller, rounded to Float32; b2 = 0.
    init(inputDim: Int, hidden: Int, outputDim: Int, w1Std: Double, b1Std: Double, w2Std: Double,
         activation: UnaryMap, stream: inout RandomStream) {
        self.inputDim = inputDim
        self.hidden = hidden
        self.outputDim = outputDim
        self.activation = activation
        w1 = (0..<(inputDim * hidden)).map { _ in Float(w1Std * stream.normal()) }
        b1 = (0..<hidden).map { _ in Float(b1Std * stream.normal()) }
        w2 = (0..<(hidden * outputDim)).map { _ in Float(w2Std * stream.normal()) }
        b2 = [Float](repeating: 0, count: outputDim)
    }

    /// y (rows × outputDim) = act(x·W1 + b1)·W2 + b2 for x (rows × inputDim), `blockRows` rows
    /// a pass; the same values for any thread count (the GEMM's sums run in one order).
    func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let (d, h, o) = (inputDim, hidden, outputDim)
        var activations = [Float](repeating: 0, count: min(rows, Self.blockRows) * h)
        w1.withUnsafeBufferPointer { w1 in
            b1.withUnsafeBufferPointer { b1 in
                w2.withUnsafeBufferPointer { w2 in
                    b2.withUnsafeBufferPointer { b2 in
                        activations.withUnsafeMutableBufferPointer { a in
                            for start in stride(from: 0, to: rows, by: Self.blockRows) {
                                let n = min(Self.blockRows, rows - start)
                                gemm(m: n, n: h, k: d, a: x + start * d, lda: d, b: w1.baseAddress!, ldb: h,
                                     c: a.baseAddress!, ldc: h,
                                     epilogue: GEMMEpilogue(bias: b1.baseAddress, activation: activation, derivative: nil), pool: pool)
                                gemm(m: n, n: o, k: h, a: a.baseAddress!, lda: h, b: w2.baseAddress!, ldb: o,
                                     c: y + start * o, ldc: o,
                                     epilogue: GEMMEpilogue(bias: b2.baseAddress, activation: nil, derivative: nil), pool: pool)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Fills row `row` of `x` with N(0, 1) draws (stored as Float) and returns them, rounded to
/// Float, in `values`, so targets are computed from exactly the inputs the model sees.
func drawGaussianRow(_ x: Tensor, row: Int, values: inout [Double], stream: inout RandomStream) {
    let d = x.columns
    let p = x.data + row * d
    for j in 0..<d {
        let v = Float(stream.normal())
        p[j] = v
        values[j] = Double(v)
    }
}

/// Labels 0, 1, …, K−1, 0, 1, … (N of them, so class counts differ by at most one), shuffled.
func balancedLabels(count: Int, classes: Int, stream: inout RandomStream) -> [Int] {
    var labels = (0..<count).map { $0 % classes }
    stream.shuffle(&labels)
    return labels
}

/// Mean over columns of the per-column population variance of a (N, m) tensor.
func meanColumnVariance(_ t: Tensor) -> Double {
    let (n, m) = (t.rows, t.columns)
    guard n > 0 else { return 0 }
    var total = 0.0
    for k in 0..<m {
        var s = 0.0, s2 = 0.0
        for i in 0..<n {
            let v = Double(t[i * m + k])
            s += v
            s2 += v * v
        }
        let mean = s / Double(n)
        total += s2 / Double(n) - mean * mean
    }
    return total / Double(m)
}
