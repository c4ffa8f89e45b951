import Foundation
import TrainLabAutodiff

/// The synthetic tasks, generated from one seeded stream (`RandomStream`, SplitMix64 seeded
/// with the seed mixed with a fixed salt): first the task's own parameters (weights, teacher,
/// centres), then the training rows, then the validation rows, so that val_size never changes
/// the training set and both splits come from the same distribution.
public enum SyntheticTasks {
    /// The kinds implemented here.
    public static let names: [String] = [
        "linear_regression", "teacher_regression", "blobs", "spirals", "teacher_classification",
        "ranking_lists", "pairs", "triplets", "contrastive_views",
        "copy", "reverse", "sort", "modular_addition", "associative_recall",
    ]

    /// Builds the task; throws `TaskError` for bad options.
    public static func make(_ options: TaskOptions, seed: UInt64) throws -> TaskData {
        switch options.kind {
        case "linear_regression": return try linearRegression(options, seed: seed).data
        case "teacher_regression": return try teacherRegression(options, seed: seed)
        case "blobs": return try blobs(options, seed: seed)
        case "spirals": return try spirals(options, seed: seed)
        case "teacher_classification": return try teacherClassification(options, seed: seed)
        case "ranking_lists": return try rankingLists(options, seed: seed).data
        case "pairs": return try pairs(options, seed: seed).data
        case "triplets": return try triplets(options, seed: seed)
        case "contrastive_views": return try contrastiveViews(options, seed: seed).data
        case "copy": return try transduction(options, seed: seed) { $0 }
        case "reverse": return try transduction(options, seed: seed) { $0.reversed() }
        case "sort": return try transduction(options, seed: seed) { $0.sorted() }
        case "modular_addition": return try modularAddition(options, seed: seed)
        case "associative_recall": return try associativeRecall(options, seed: seed)
        default:
            var message = "task.kind: unknown task '\(options.kind)'"
            if let hint = closest(to: options.kind, in: names) { message += " (did you mean '\(hint)'?)" }
            message += "; expected one of \(names.joined(separator: ", "))"
            throw TaskError(message)
        }
    }

    /// The defaults for each kind, for the README table: [kind: [(key, default, meaning)]].
    public static var documentation: [String: [(key: String, defaultValue: String, meaning: String)]] {
        func transduction(_ output: String) -> [(key: String, defaultValue: String, meaning: String)] {
            [
                ("vocab", "16", "symbols are tokens 0 ..< vocab - 1, the separator is vocab - 1"),
                ("seq_len", "16", "even, 2n: n random symbols, the separator, then \(output); only those n outputs are scored"),
            ]
        }
        let sizes: [(key: String, defaultValue: String, meaning: String)] = [
            ("train_size", "1024", "training rows"),
            ("val_size", "256", "validation rows (0: no validation set)"),
        ]
        return [
            "ranking_lists": sizes + [
                ("input_dim", "16", "document features x ~ N(0, I) in this many dimensions; a row is one list, inputs (N, list_size·input_dim)"),
                ("list_size", "8", "documents per list (query); the model scores each, output width 1"),
                ("noise", "0.5", "relevance 0..4 = quintile of s = w*·x + noise·ε, w* ~ N(0, I/input_dim): each grade has probability 1/5; targets (N, list_size)"),
            ],
            "pairs": sizes + [
                ("input_dim", "16", "item dimensions; a row is one pair, inputs (N, 2·input_dim)"),
                ("output_dim", "16", "embedding width the model outputs (1 for margin_ranking scores)"),
                ("classes", "10", "latent classes; items x = c_k + noise·ε, half the pairs same-class (label +1), half not (−1)"),
                ("spread", "1", "class centres c_k ~ N(0, spread² I)"),
                ("noise", "1", "std of each item around its class centre; targets (N, 2): similarity ±1, order ±1 (sign of w*·x₁ − w*·x₂)"),
            ],
            "triplets": sizes + [
                ("input_dim", "16", "item dimensions; a row is (anchor, positive, negative), inputs (N, 3·input_dim)"),
                ("output_dim", "16", "embedding width the model outputs"),
                ("classes", "10", "latent classes: anchor and positive share one, the negative has another"),
                ("spread", "1", "class centres c_k ~ N(0, spread² I)"),
                ("noise", "1", "std of each item around its class centre"),
            ],
            "contrastive_views": sizes + [
                ("input_dim", "16", "view dimensions; a row is two views of one point, inputs (N, 2·input_dim)"),
                ("output_dim", "16", "embedding width the model outputs"),
                ("noise", "0.5", "views = z + noise·ε each, z ~ N(0, I)"),
            ],
            "linear_regression": sizes + [
                ("input_dim", "16", "x ~ N(0, I) in this many dimensions"),
                ("output_dim", "1", "target width; y = x·W* + b* + noise·ε, W* ~ N(0, 1/input_dim), b* ~ N(0, 1)"),
                ("noise", "0.1", "std of the target noise ε ~ N(0, 1); Bayes MSE = noise²"),
            ],
            "teacher_regression": sizes + [
                ("input_dim", "16", "x ~ N(0, I) in this many dimensions"),
                ("output_dim", "1", "target width; y = tanh(x·W1 + b1)·W2 + noise·ε"),
                ("teacher_hidden", "32", "teacher width; W1 ~ N(0, 1/input_dim), b1 ~ N(0, 1/4), W2 ~ N(0, 1/teacher_hidden)"),
                ("noise", "0.05", "std of the target noise; Bayes MSE = noise²"),
            ],
            "blobs": sizes + [
                ("input_dim", "2", "feature dimensions"),
                ("classes", "4", "Gaussian clusters, one per class, balanced exactly"),
                ("spread", "3", "centres ~ N(0, spread² I)"),
                ("noise", "1", "std of each cluster around its centre"),
            ],
            "spirals": sizes + [
                ("input_dim", "2", "must be 2"),
                ("classes", "3", "interleaved spiral arms (CS231n layout), balanced exactly"),
                ("noise", "0.1", "std of the angle noise (radians); x = r·(sin θ, cos θ), r ~ U(0, 1), θ = 2πk/classes + 4r + noise·ε"),
            ],
            "teacher_classification": sizes + [
                ("input_dim", "64", "x ~ N(0, I) in this many dimensions"),
                ("classes", "10", "label = argmax of a random ReLU teacher's logits, each standardized to mean 0, std 1"),
                ("teacher_hidden", "64", "teacher width; W1 ~ N(0, 2/input_dim), W2 ~ N(0, 1/teacher_hidden)"),
                ("noise", "0", "probability that a label is replaced by a uniformly random class"),
            ],
            "copy": sizes + transduction("the symbols again"),
            "reverse": sizes + transduction("the symbols in reverse order"),
            "sort": sizes + transduction("the symbols sorted ascending"),
            "modular_addition": [
                ("train_size", "1024", "training rows (distinct pairs a, b; train_size + val_size ≤ modulus²)"),
                ("val_size", "256", "validation rows (pairs not in the training set; 0: no validation set)"),
                ("modulus", "97", "p: a row reads 'a + b =' and predicts c = (a + b) mod p; only c is scored"),
                ("vocab", "modulus + 2", "numbers 0 ..< p, then '+' = p and '=' = p + 1 (may be given instead of modulus)"),
                ("seq_len", "4", "fixed: a + b ="),
            ],
            "associative_recall": sizes + [
                ("vocab", "32", "keys are tokens 0 ..< vocab/2, values vocab/2 ..< vocab"),
                ("seq_len", "17", "odd, 2n + 1: n key-value pairs with distinct keys, then a query key; only the value that follows is scored"),
            ],
        ]
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
