import Foundation

/// Float64 twins of the tape's ops: plain loops, the oracle for forward values and the function
/// whose finite differences check each backward.
enum Reference {
    /// C (M, N) = op(A) · op(B) with A stored (M, K) or, transposed, (K, M); likewise B.
    static func matmul(_ a: [Double], _ b: [Double], m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool,
                       batch: Int = 1) -> [Double] {
        var c = [Double](repeating: 0, count: batch * m * n)
        for t in 0..<batch {
            let ao = t * m * k, bo = t * k * n, co = t * m * n
            for i in 0..<m {
                for j in 0..<n {
                    var s = 0.0
                    for p in 0..<k {
                        let x = transposeA ? a[ao + p * m + i] : a[ao + i * k + p]
                        let y = transposeB ? b[bo + j * k + p] : b[bo + p * n + j]
                        s += x * y
                    }
                    c[co + i * n + j] = s
                }
            }
        }
        return c
    }

    static func rows(_ x: [Double], columns: Int, _ f: (ArraySlice<Double>) -> [Double]) -> [Double] {
        stride(from: 0, to: x.count, by: columns).flatMap { f(x[$0..<($0 + columns)]) }
    }

    static func softmax(_ row: ArraySlice<Double>) -> [Double] {
        let m = row.max()!
        let e = row.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    static func logSoftmax(_ row: ArraySlice<Double>) -> [Double] {
        let m = row.max()!
        let lse = m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +))
        return row.map { $0 - lse }
    }

    static func normalize(_ row: ArraySlice<Double>, epsilon: Double, centered: Bool) -> [Double] {
        let n = Double(row.count)
        let mean = centered ? row.reduce(0, +) / n : 0
        let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n
        return row.map { ($0 - mean) / (variance + epsilon).squareRoot() }
    }

    static func crossEntropy(_ logits: [Double], targets: [Int], columns: Int) -> Double {
        let logP = rows(logits, columns: columns, logSoftmax)
        return -targets.enumerated().map { logP[$0.offset * columns + $0.element] }.reduce(0, +) / Double(targets.count)
    }
}

extension Reference {
    /// Column-wise batch normalization (biased variance).
    static func batchNormalize(_ x: [Double], rows: Int, columns: Int, epsilon: Double) -> [Double] {
        var y = x
        for c in 0..<columns {
            let column = (0..<rows).map { x[$0 * columns + c] }
            let mean = column.reduce(0, +) / Double(rows)
            let variance = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(rows)
            for r in 0..<rows { y[r * columns + c] = (x[r * columns + c] - mean) / (variance + epsilon).squareRoot() }
        }
        return y
    }
}
