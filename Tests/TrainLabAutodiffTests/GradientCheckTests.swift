import XCTest
import Foundation
import TrainLabKernels
@testable import TrainLabAutodiff

/// A tensor of deterministic values in [low, high).
func randomTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
    var generator = SplitMix64(seed: seed)
    let t = Tensor(shape: shape)
    for i in 0..<t.count { t[i] = low + (high - low) * Float(generator.nextUnit()) }
    return t
}

/// Every op's Float32 backward against central differences of its Float64 twin (Reference).
/// Shapes are chosen to hit partial GEMM micro-tiles (1, 7, 17, 33) and vector tails (n % 8 != 0).
/// Tolerance: 2e-3 relative (with a floor at 1% of the largest gradient) is ~100x the Float32
/// rounding of these sizes, and far below any real mistake (a wrong term gives O(1) errors).
final class GradientCheckTests: XCTestCase {
    let tolerance = 2e-3
    let checker = GradientCheck()
    let pool = ThreadPool(threads: 2)

    func assertPasses(_ report: GradientCheck.Report, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertLessThan(report.worstError, tolerance, "\(what): \(report)", file: file, line: line)
        XCTAssertLessThan(report.forwardError, 1e-4, "\(what) forward: \(report)", file: file, line: line)
    }

    func testMatmulAllLayouts() {
        for (m, n, k) in [(1, 1, 1), (7, 17, 33), (13, 33, 7)] {
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = randomTensor(ta ? [k, m] : [m, k], seed: 1)
                    let b = randomTensor(tb ? [n, k] : [k, n], seed: 2)
                    let report = checker.run(inputs: [a, b], pool: pool) { tape, v in
                        tape.matmul(v[0], v[1], transposeA: ta, transposeB: tb)
                    } reference: { x in
                        Reference.matmul(x[0], x[1], m: m, n: n, k: k, transposeA: ta, transposeB: tb)
                    }
                    assertPasses(report, "matmul \(m)x\(n)x\(k) transposeA \(ta) transposeB \(tb)")
                }
            }
        }
    }

    func testBatchedMatmul() {
        let batch = 3, m = 5, n = 7, k = 9
        for (ta, tb) in [(false, false), (false, true), (true, false)] {
            let a = randomTensor(ta ? [batch, k, m] : [batch, m, k], seed: 3)
            let b = randomTensor(tb ? [batch, n, k] : [batch, k, n], seed: 4)
            let report = checker.run(inputs: [a, b], pool: pool) { tape, v in
                tape.batchedMatmul(v[0], v[1], transposeA: ta, transposeB: tb)
            } reference: { x in
                Reference.matmul(x[0], x[1], m: m, n: n, k: k, transposeA: ta, transposeB: tb, batch: batch)
            }
            assertPasses(report, "batchedMatmul transposeA \(ta) transposeB \(tb)")
        }
    }

    func testElementwiseBinary() {
        let a = randomTensor([5, 11], seed: 5), b = randomTensor([5, 11], seed: 6)
        assertPasses(checker.run(inputs: [a, b], pool: pool) { $0.add($1[0], $1[1]) } reference: { x in
            zip(x[0], x[1]).map { $0 + $1 }
        }, "add")
        assertPasses(checker.run(inputs: [a, b], pool: pool) { $0.multiply($1[0], $1[1]) } reference: { x in
            zip(x[0], x[1]).map { $0 * $1 }
        }, "multiply")
        assertPasses(checker.run(inputs: [a], pool: pool) { $0.scale($1[0], by: -2.5) } reference: { x in
            x[0].map { $0 * -2.5 }
        }, "scale")
        assertPasses(checker.run(inputs: [a], pool: pool) { $0.reshape($1[0], to: [55]) } reference: { x in x[0] }, "reshape")
    }

    func testAddRowVector() {
        let x = randomTensor([6, 19], seed: 7), v = randomTensor([19], seed: 8)
        let report = checker.run(inputs: [x, v], pool: pool) { $0.addRowVector($1[0], $1[1]) } reference: { x in
            x[0].enumerated().map { $0.element + x[1][$0.offset % 19] }
        }
        assertPasses(report, "addRowVector")
    }

    func testUnaryMaps() {
        // Kinks (relu, abs at 0) and log's domain are kept away from: inputs in ±[0.1, 2].
        let magnitude = randomTensor([3, 13], seed: 9, low: 0.1, high: 2)
        let signed = Tensor(shape: [3, 13])
        for i in 0..<signed.count { signed[i] = i % 3 == 0 ? -magnitude[i] : magnitude[i] }
        let cases: [(UnaryMap, Tensor, (Double) -> Double)] = [
            (.exp, signed, Foundation.exp), (.tanh, signed, Foundation.tanh),
            (.sigmoid, signed, { 1 / (1 + Foundation.exp(-$0)) }), (.relu, signed, { max($0, 0) }),
            (.silu, signed, { $0 / (1 + Foundation.exp(-$0)) }),
            (.log, magnitude, Foundation.log), (.square, signed, { $0 * $0 }), (.abs, signed, Swift.abs),
            (.erf, signed, Foundation.erf), (.gelu, signed, { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }),
            (.geluTanh, signed, { 0.5 * $0 * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) }),
        ]
        for (map, input, f) in cases {
            let report = checker.run(inputs: [input], pool: pool) { $0.unary(map, $1[0]) } reference: { x in x[0].map(f) }
            assertPasses(report, "\(map)")
        }
    }

    /// The fused linear layer y = f(x Wᵀ + b): every activation the GEMM epilogue applies (stored
    /// derivative: GELU, SiLU; from the output: ReLU, σ, tanh), with and without a bias, over 37
    /// rows (three bias-gradient chunks of 16). ReLU's inputs keep away from its kink.
    func testFusedLinear() {
        let (rows, inputs, outputs) = (37, 5, 7)
        let x = randomTensor([rows, inputs], seed: 51), w = randomTensor([outputs, inputs], seed: 52)
        let b = randomTensor([outputs], seed: 53)
        let maps: [(UnaryMap?, (Double) -> Double)] = [
            (nil, { $0 }), (.relu, { max($0, 0) }), (.sigmoid, { 1 / (1 + Foundation.exp(-$0)) }), (.tanh, Foundation.tanh),
            (.silu, { $0 / (1 + Foundation.exp(-$0)) }), (.gelu, { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }),
        ]
        func z(_ v: [[Double]], bias: Bool) -> [Double] {
            (0..<rows).flatMap { r in
                (0..<outputs).map { o in
                    (0..<inputs).reduce(bias ? v[2][o] : 0) { $0 + v[0][r * inputs + $1] * v[1][o * inputs + $1] }
                }
            }
        }
        for (map, f) in maps {
            let withBias = checker.run(inputs: [x, w, b], pool: pool) {
                $0.linear($1[0], weight: $1[1], bias: $1[2], activation: map)
            } reference: { v in z(v, bias: true).map(f) }
            assertPasses(withBias, "linear \(map.map { "\($0)" } ?? "identity") with bias")
            let noBias = checker.run(inputs: [x, w], pool: pool) {
                $0.linear($1[0], weight: $1[1], bias: nil, activation: map)
            } reference: { v in z(v, bias: false).map(f) }
            assertPasses(noBias, "linear \(map.map { "\($0)" } ?? "identity") without bias")
        }
    }

    /// Gated units y = f(gate) ⊙ up for GLU, SwiGLU, GeGLU, and the gate fed as its own up
    /// (f(x) ⊙ x: both gradients land in one buffer).
    func testGatedUnary() {
        let gate = randomTensor([3, 13], seed: 41, low: -2, high: 2), up = randomTensor([3, 13], seed: 42, low: -2, high: 2)
        let maps: [(UnaryMap, (Double) -> Double)] = [
            (.sigmoid, { 1 / (1 + Foundation.exp(-$0)) }), (.silu, { $0 / (1 + Foundation.exp(-$0)) }),
            (.gelu, { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }),
        ]
        for (map, f) in maps {
            assertPasses(checker.run(inputs: [gate, up], pool: pool) { $0.gatedUnary(map, gate: $1[0], up: $1[1]) } reference: { x in
                zip(x[0], x[1]).map { f($0) * $1 }
            }, "gated \(map)")
            assertPasses(checker.run(inputs: [gate], pool: pool) { $0.gatedUnary(map, gate: $1[0], up: $1[0]) } reference: { x in
                x[0].map { f($0) * $0 }
            }, "gated \(map), gate as up")
        }
    }

    func testReductions() {
        let x = randomTensor([4, 9], seed: 10)
        let w = randomTensor([4, 9], seed: 11)
        assertPasses(checker.run(inputs: [x], pool: pool) { $0.sum($1[0]) } reference: { [$0[0].reduce(0, +)] }, "sum")
        assertPasses(checker.run(inputs: [x], pool: pool) { $0.mean($1[0]) } reference: { [$0[0].reduce(0, +) / 36] }, "mean")
        let wd = w.scalars.map(Double.init)
        assertPasses(checker.run(inputs: [x], pool: pool) { $0.weightedSum($1[0], weights: w) } reference: { x in
            [zip(x[0], wd).map { $0 * $1 }.reduce(0, +)]
        }, "weightedSum")
    }

    func testRowOps() {
        let x = randomTensor([5, 11], seed: 12, low: -3, high: 3)
        assertPasses(checker.run(inputs: [x], pool: pool) { $0.softmax($1[0]) } reference: { x in
            Reference.rows(x[0], columns: 11, Reference.softmax)
        }, "softmax")
        assertPasses(checker.run(inputs: [x], pool: pool) { $0.logSoftmax($1[0]) } reference: { x in
            Reference.rows(x[0], columns: 11, Reference.logSoftmax)
        }, "logSoftmax")
        for centered in [true, false] {
            let report = checker.run(inputs: [x], pool: pool) { $0.normalizeRows($1[0], epsilon: 1e-5, centered: centered) } reference: { x in
                Reference.rows(x[0], columns: 11) { Reference.normalize($0, epsilon: 1e-5, centered: centered) }
            }
            assertPasses(report, centered ? "layer normalization" : "RMS normalization")
        }
        let targets = [0, 10, 3, 3, 7]
        assertPasses(checker.run(inputs: [x], pool: pool) { $0.crossEntropy(logits: $1[0], targets: targets) } reference: { x in
            [Reference.crossEntropy(x[0], targets: targets, columns: 11)]
        }, "crossEntropy")
    }

    /// The fused affine norm: gain and bias gradients go through per-chunk partial sums (37 rows
    /// = three chunks of 16), the input gradient through the recomputed x̂.
    func testNormalizeRowsWithGainAndBias() {
        let x = randomTensor([37, 11], seed: 31, low: -3, high: 3)
        let gain = randomTensor([11], seed: 32, low: 0.5, high: 1.5), bias = randomTensor([11], seed: 33)
        for centered in [true, false] {
            let report = checker.run(inputs: [x, gain, bias], pool: pool) {
                $0.normalizeRows($1[0], epsilon: 1e-5, centered: centered, gain: $1[1], bias: $1[2])
            } reference: { x in
                Reference.rows(x[0], columns: 11) { Reference.normalize($0, epsilon: 1e-5, centered: centered) }
                    .enumerated().map { $0.element * x[1][$0.offset % 11] + x[2][$0.offset % 11] }
            }
            assertPasses(report, centered ? "layer normalization, affine" : "RMS normalization, affine")
            let gainOnly = checker.run(inputs: [x, gain], pool: pool) {
                $0.normalizeRows($1[0], epsilon: 1e-5, centered: centered, gain: $1[1])
            } reference: { x in
                Reference.rows(x[0], columns: 11) { Reference.normalize($0, epsilon: 1e-5, centered: centered) }
                    .enumerated().map { $0.element * x[1][$0.offset % 11] }
            }
            assertPasses(gainOnly, centered ? "layer normalization, gain only" : "RMSNorm")
        }
    }

    func testNormOps() {
        let x = randomTensor([6, 11], seed: 17, low: -2, high: 2), v = randomTensor([11], seed: 18)
        assertPasses(checker.run(inputs: [x, v], pool: pool) { $0.multiplyRowVector($1[0], $1[1]) } reference: { x in
            x[0].enumerated().map { $0.element * x[1][$0.offset % 11] }
        }, "multiplyRowVector")
        let mean = Tensor(shape: [11]), variance = Tensor(shape: [11])
        assertPasses(checker.run(inputs: [x], pool: pool) {
            $0.batchNormalize($1[0], epsilon: 1e-5, mean: mean, variance: variance)
        } reference: { x in
            Reference.batchNormalize(x[0], rows: 6, columns: 11, epsilon: 1e-5)
        }, "batchNormalize")
        var expected = 0.0
        for r in 0..<6 { expected += Double(x[r * 11 + 3]) }
        XCTAssertEqual(Double(mean[3]), expected / 6, accuracy: 1e-6, "batch mean is written out")
    }

    /// A composite graph (two layers, shared input used twice) checks accumulation into a
    /// gradient from several consumers.
    func testCompositeGraph() {
        let x = randomTensor([4, 6], seed: 13), w = randomTensor([6, 5], seed: 14), b = randomTensor([5], seed: 15)
        let report = checker.run(inputs: [x, w, b], pool: pool) { tape, v in
            let h = tape.tanh(tape.addRowVector(tape.matmul(v[0], v[1]), v[2]))
            return tape.add(tape.multiply(h, h), tape.matmul(v[0], v[1]))
        } reference: { x in
            let z = Reference.matmul(x[0], x[1], m: 4, n: 5, k: 6, transposeA: false, transposeB: false)
            return z.enumerated().map { i, zi in
                let h = Foundation.tanh(zi + x[2][i % 5])
                return h * h + zi
            }
        }
        assertPasses(report, "composite")
    }

    /// The checker itself can fail: a reference that differs from the op (2x instead of x) is
    /// reported with an O(1) error, so a passing check above means something.
    func testCheckerDetectsAWrongGradient() {
        let x = randomTensor([3, 4], seed: 16)
        let report = checker.run(inputs: [x], pool: pool) { $0.scale($1[0], by: 1) } reference: { x in x[0].map { 2 * $0 } }
        XCTAssertGreaterThan(report.worstError, 0.4)
        XCTAssertGreaterThan(report.forwardError, 0.4)
    }
}
