import Foundation
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

    /// Builds the task; throws `TaskError` for bad options.
    public static func make(_ options: TaskOptions, seed: UInt64) throws -> TaskData {
        guard let descriptor = byName[options.kind] else {
            var message = "task.kind: unknown task '\(options.kind)'"
            if let hint = closest(to: options.kind, in: names) { message += " (did you mean '\(hint)'?)" }
            message += "; expected one of \(names.joined(separator: ", "))"
            throw TaskError(message)
        }
        return try descriptor.make(options, seed)
    }
}

// MARK: - Shared pieces

/// A random two-layer teacher, y = act(x·W1 + b1)·W2 + b2 (row-major, x a row vector).
struct TeacherMLP {
    let inputDim: Int, hidden: Int, outputDim: Int
    var w1: [Double], b1: [Double], w2: [Double], b2: [Double]
    let relu: Bool

    /// Draws W1 (inputDim×hidden), then b1, then W2 (hidden×outputDim), each N(0, std²); b2 = 0.
    init(inputDim: Int, hidden: Int, outputDim: Int, w1Std: Double, b1Std: Double, w2Std: Double,
         relu: Bool, stream: inout RandomStream) {
        self.inputDim = inputDim
        self.hidden = hidden
        self.outputDim = outputDim
        self.relu = relu
        w1 = (0..<(inputDim * hidden)).map { _ in w1Std * stream.normal() }
        b1 = (0..<hidden).map { _ in b1Std * stream.normal() }
        w2 = (0..<(hidden * outputDim)).map { _ in w2Std * stream.normal() }
        b2 = [Double](repeating: 0, count: outputDim)
    }

    /// y = act(x·W1 + b1)·W2 + b2, with `h` a scratch buffer of `hidden` values.
    func forward(_ x: [Double], hiddenScratch h: inout [Double], into y: inout [Double]) {
        let (d, m, o) = (inputDim, hidden, outputDim)
        w1.withUnsafeBufferPointer { w1 in
            x.withUnsafeBufferPointer { x in
                h.withUnsafeMutableBufferPointer { h in
                    for j in 0..<m { h[j] = b1[j] }
                    for i in 0..<d {
                        let xi = x[i]
                        let row = i * m
                        for j in 0..<m { h[j] += xi * w1[row + j] }
                    }
                    for j in 0..<m { h[j] = relu ? Swift.max(h[j], 0) : tanh(h[j]) }
                }
            }
        }
        w2.withUnsafeBufferPointer { w2 in
            h.withUnsafeBufferPointer { h in
                y.withUnsafeMutableBufferPointer { y in
                    for k in 0..<o { y[k] = b2[k] }
                    for j in 0..<m {
                        let hj = h[j]
                        let row = j * o
                        for k in 0..<o { y[k] += hj * w2[row + k] }
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
