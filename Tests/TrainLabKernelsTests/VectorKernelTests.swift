import XCTest
import Foundation
@testable import TrainLabKernels

final class VectorKernelTests: XCTestCase {
    /// Vector exp, tanh, sigmoid and SiLU against libm in Float64, across their whole useful range,
    /// including |x| near 0 where tanh's polynomial branch runs: relative error below 4e-7
    /// (a few Float32 ulps).
    func testTranscendentalsMatchLibm() {
        let xs = (0..<4001).map { Float($0 - 2000) / 100 } + [1e-6, -1e-6, 1e-3, 0.6249, 0.6251]
        for map in [UnaryMap.exp, .tanh, .sigmoid, .silu] {
            var y = [Float](repeating: 0, count: xs.count)
            VectorKernels.unary(map, xs, &y, count: xs.count, pool: .serial)
            for (x, got) in zip(xs, y) {
                let d = Double(x)
                let want: Double = switch map {
                case .exp: Foundation.exp(d)
                case .tanh: Foundation.tanh(d)
                case .silu: d / (1 + Foundation.exp(-d))
                default: 1 / (1 + Foundation.exp(-d))
                }
                let error = abs(Double(got) - want) / max(abs(want), 1e-30)
                XCTAssertLessThan(error, 4e-7, "\(map)(\(x)) = \(got), want \(want)")
            }
        }
    }

    /// erf and GELU against libm's erf in Float64: absolute error below 3e-7 everywhere, and
    /// relative error below 1e-6 near 0 (where the polynomial branch keeps erf(x) ≈ 1.128 x exact).
    func testErfAndGELU() {
        let xs = (0..<2001).map { Float($0 - 1000) / 200 } + [1e-5, -3e-4, 0.999, 1.001]
        var y = [Float](repeating: 0, count: xs.count), g = y, gt = y
        VectorKernels.unary(.erf, xs, &y, count: xs.count, pool: .serial)
        VectorKernels.unary(.gelu, xs, &g, count: xs.count, pool: .serial)
        VectorKernels.unary(.geluTanh, xs, &gt, count: xs.count, pool: .serial)
        for i in xs.indices {
            let d = Double(xs[i])
            XCTAssertEqual(Double(y[i]), Foundation.erf(d), accuracy: 3e-7, "erf(\(d))")
            if abs(d) < 0.5, d != 0 { XCTAssertEqual(Double(y[i]) / Foundation.erf(d), 1, accuracy: 1e-6, "erf(\(d)) relative") }
            XCTAssertEqual(Double(g[i]), 0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot())), accuracy: 2e-6, "gelu(\(d))")
            let u = (2 / Double.pi).squareRoot() * (d + 0.044715 * d * d * d)
            XCTAssertEqual(Double(gt[i]), 0.5 * d * (1 + Foundation.tanh(u)), accuracy: 2e-6, "gelu tanh(\(d))")
        }
    }

    /// Softmax rows sum to 1 and hold the right ratios even with large logits (stability).
    func testSoftmaxIsStable() {
        let x: [Float] = [1000, 1001, 1002, -5, 0, 5, 3, 3, 3]
        var y = [Float](repeating: 0, count: 9)
        VectorKernels.softmaxRows(x, &y, rows: 3, columns: 3, pool: .serial)
        let e = [exp(-2.0), exp(-1.0), 1.0]
        let s = e.reduce(0, +)
        for j in 0..<3 { XCTAssertEqual(Double(y[j]), e[j] / s, accuracy: 1e-6) }
        XCTAssertEqual(y[6], 1.0 / 3, accuracy: 1e-7)
        var logY = [Float](repeating: 0, count: 9)
        VectorKernels.logSoftmaxRows(x, &logY, rows: 3, columns: 3, pool: .serial)
        XCTAssertEqual(Double(logY[2]), -Foundation.log(s), accuracy: 1e-5)
    }

    /// Sums are bit-identical for any thread count (fixed chunks added in order) and close to
    /// the Float64 sum.
    func testSumIsDeterministic() {
        let n = 100_003
        let x = pseudoRandom(n, seed: 9)
        let reference = VectorKernels.sum(x, count: n, pool: .serial)
        for threads in [2, 3, 7] {
            XCTAssertEqual(VectorKernels.sum(x, count: n, pool: ThreadPool(threads: threads)).bitPattern, reference.bitPattern)
        }
        XCTAssertEqual(Double(reference), x.reduce(0.0) { $0 + Double($1) }, accuracy: 1e-2)
    }

    /// Elementwise kernels that accumulate (z += x·y, dx += dy·f'(x), a gain's column products)
    /// give bit-identical results for any thread count: a thread's range may end anywhere, and
    /// its tail must round as the vector body does (a fused multiply-add either way).
    func testAccumulatingKernelsAreBitIdenticalAcrossThreadCounts() {
        let n = 50_001
        let x = pseudoRandom(n, seed: 21), y = pseudoRandom(n, seed: 22), start = pseudoRandom(n, seed: 23)
        func run(_ threads: Int) -> [[Float]] {
            let pool = threads == 1 ? ThreadPool.serial : ThreadPool(threads: threads)
            var z = start
            VectorKernels.multiplyAccumulate(x, y, &z, count: n, pool: pool)
            var dx = start
            VectorKernels.unaryBackward(.tanh, x: x, y: y, dy: y, dx: &dx, accumulate: true, count: n, pool: pool)
            var gain = [Float](repeating: 0.5, count: 200)
            VectorKernels.columnProductSums(x, y, rows: 250, columns: 200, into: &gain, accumulate: true, pool: pool)
            return [z, dx, gain]
        }
        let reference = run(1)
        for threads in [2, 3, 5] { XCTAssertEqual(run(threads), reference, "\(threads) threads") }
    }

    /// Column sums (bias gradients): exact on small integers, bit-identical across threads.
    func testColumnSums() {
        let rows = 300, columns = 1000
        let x = (0..<(rows * columns)).map { Float(($0 % 7) - 3) }
        var expected = [Float](repeating: 0, count: columns)
        for r in 0..<rows { for c in 0..<columns { expected[c] += x[r * columns + c] } }
        for threads in [1, 2, 3] {
            var y = [Float](repeating: 1, count: columns)
            VectorKernels.columnSums(x, rows: rows, columns: columns, into: &y, accumulate: false, pool: ThreadPool(threads: threads))
            XCTAssertEqual(y, expected)
        }
    }

    /// Row statistics against a direct computation.
    func testRowMeanAndVariance() {
        let x: [Float] = [1, 2, 3, 4, 10, 10, 10, 10]
        var mean = [Float](repeating: 0, count: 2), variance = mean
        VectorKernels.rowMeanAndVariance(x, rows: 2, columns: 4, mean: &mean, variance: &variance, pool: .serial)
        XCTAssertEqual(mean, [2.5, 10])
        XCTAssertEqual(variance, [1.25, 0])
    }
}

final class ThreadPoolTests: XCTestCase {
    /// Every index runs exactly once, on a worker number inside the pool.
    func testEachIndexOnce() {
        let pool = ThreadPool(threads: 4)
        for count in [1, 2, 3, 5, 64, 1000] {
            var hits = [Int](repeating: 0, count: count)
            var badWorker = false
            hits.withUnsafeMutableBufferPointer { h in
                let h = h.baseAddress!
                pool.parallelFor(count) { i, worker in
                    h[i] += 1
                    if worker < 0 || worker >= 4 { badWorker = true }
                }
            }
            XCTAssertEqual(hits, [Int](repeating: 1, count: count), "count \(count)")
            XCTAssertFalse(badWorker)
        }
    }

    /// A job started from inside a job runs inline instead of deadlocking.
    func testNestedCallRunsInline() {
        let pool = ThreadPool(threads: 2)
        var total = [Int](repeating: 0, count: 4)
        total.withUnsafeMutableBufferPointer { t in
            let t = t.baseAddress!
            pool.parallelFor(4) { i, _ in
                pool.parallelFor(3) { _, _ in t[i] += 1 }
            }
        }
        XCTAssertEqual(total, [3, 3, 3, 3])
    }

    /// Ranges tile 0..<total without gaps or overlap.
    func testRangesTile() {
        let pool = ThreadPool(threads: 3)
        var seen = [Int](repeating: 0, count: 1000)
        seen.withUnsafeMutableBufferPointer { s in
            let s = s.baseAddress!
            pool.parallelRanges(1000, grain: 10) { r, _ in for i in r { s[i] += 1 } }
        }
        XCTAssertEqual(seen, [Int](repeating: 1, count: 1000))
    }

    /// Workers that parked after their spin wake up for the next job.
    func testWakesAfterParking() {
        let pool = ThreadPool(threads: 2, spinMicroseconds: 0)
        usleep(20_000)
        var count = [Int](repeating: 0, count: 2)
        count.withUnsafeMutableBufferPointer { c in
            let c = c.baseAddress!
            pool.parallelFor(2) { i, _ in c[i] = 1 }
        }
        XCTAssertEqual(count, [1, 1])
    }
}
