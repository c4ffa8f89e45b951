import XCTest
import Foundation
@testable import TrainLabAutodiff

/// The ops of ElementwiseMoreOps and IndexingOps, each against central differences of a Float64
/// twin (same tolerances as GradientCheckTests), plus the values at their edges.
final class MoreOpsTests: XCTestCase {
    let checker = GradientCheck()

    func assertPasses(_ report: GradientCheck.Report, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertLessThan(report.worstError, 2e-3, "\(what): \(report)", file: file, line: line)
        XCTAssertLessThan(report.forwardError, 1e-4, "\(what) forward: \(report)", file: file, line: line)
    }

    /// Magnitudes in [0.1, 2] with every third element negated: no element near 0.
    func signedAwayFromZero(_ shape: [Int], seed: UInt64) -> Tensor {
        let t = randomTensor(shape, seed: seed, low: 0.1, high: 2)
        for i in stride(from: 0, to: t.count, by: 3) { t[i] = -t[i] }
        return t
    }

    func testAddScalarClampPower() {
        let x = signedAwayFromZero([3, 7], seed: 20)
        assertPasses(checker.run(inputs: [x]) { $0.addScalar($1[0], -0.75) } reference: { x in x[0].map { $0 - 0.75 } }, "addScalar")
        // Bounds at ±0.05 and 1.05: every input is at least 0.05 from them.
        let clamped = checker.run(inputs: [x]) { $0.clamp($1[0], min: 0.05, max: 1.05) } reference: { x in
            x[0].map { min(max($0, 0.05), 1.05) }
        }
        assertPasses(clamped, "clamp min max")
        assertPasses(checker.run(inputs: [x]) { $0.clamp($1[0], min: -0.05) } reference: { x in x[0].map { max($0, -0.05) } }, "clamp min")
        assertPasses(checker.run(inputs: [x]) { $0.clamp($1[0], max: 0.05) } reference: { x in x[0].map { min($0, 0.05) } }, "clamp max")

        let positive = randomTensor([4, 5], seed: 21, low: 0.1, high: 2)
        for exponent in [2.0, 0.5, 2.5, -1.0] {
            assertPasses(checker.run(inputs: [positive]) { $0.power($1[0], Float(exponent)) } reference: { x in
                x[0].map { Foundation.pow($0, exponent) }
            }, "power \(exponent)")
        }
        assertPasses(checker.run(inputs: [x]) { $0.power($1[0], 3) } reference: { x in x[0].map { $0 * $0 * $0 } }, "power 3 of signed")
    }

    func testClampAndPowerEdges() {
        let tape = Tape()
        let x = tape.input(Tensor(shape: [4], values: [-2, 0, 0.5, 3]))
        let y = tape.clamp(x, min: 0, max: 1)
        XCTAssertEqual(tape.value(y).scalars, [0, 0, 0.5, 1])
        let z = tape.power(tape.clamp(x, min: 0), 0)   // x^0 = 1, no gradient even at 0
        XCTAssertEqual(tape.value(z).scalars, [1, 1, 1, 1])
        tape.backward(from: tape.add(tape.sum(y), tape.sum(z)))
        // Outside the bounds nothing passes; at a bound it does (torch's convention).
        XCTAssertEqual(tape.gradient(x)?.scalars, [0, 1, 1, 0])
    }

    func testSoftplus() {
        let x = randomTensor([5, 9], seed: 22, low: -20, high: 20)
        assertPasses(checker.run(inputs: [x]) { $0.softplus($1[0]) } reference: { x in
            x[0].map { max($0, 0) + Foundation.log1p(Foundation.exp(-Swift.abs($0))) }
        }, "softplus")
        let tape = Tape()
        let far = tape.input(Tensor(shape: [3], values: [-200, 0, 200]))
        let y = tape.softplus(far)
        XCTAssertEqual(tape.value(y)[0], 0, accuracy: 1e-30)
        XCTAssertEqual(tape.value(y)[1], Float(Foundation.log(2.0)), accuracy: 1e-7)
        XCTAssertEqual(tape.value(y)[2], 200)
        tape.backward(from: tape.sum(y))
        XCTAssertEqual(tape.gradient(far)?.scalars, [0, 0.5, 1])
    }

    func testRowReductions() {
        let x = randomTensor([4, 3, 7], seed: 23, low: -3, high: 3)
        let rowSum = checker.run(inputs: [x]) { tape, v in
            let y = tape.rowSum(v[0])
            XCTAssertEqual(tape.shape(y), [4, 3])
            return y
        } reference: { x in
            stride(from: 0, to: 84, by: 7).map { x[0][$0..<($0 + 7)].reduce(0, +) }
        }
        assertPasses(rowSum, "rowSum")
        let logSumExp = checker.run(inputs: [x]) { $0.logSumExpRows($1[0]) } reference: { x in
            stride(from: 0, to: 84, by: 7).map { start in
                let row = x[0][start..<(start + 7)], m = row.max()!
                return m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +))
            }
        }
        assertPasses(logSumExp, "logSumExpRows")
        let tape = Tape()
        let big = tape.constant(Tensor(shape: [2], values: [1000, 1000]))
        XCTAssertEqual(tape.value(tape.logSumExpRows(big))[0], 1000 + Float(Foundation.log(2.0)), accuracy: 1e-3)
        XCTAssertEqual(tape.shape(tape.rowSum(big)), [1])
    }

    func testNormalizeRowsL2() {
        let x = randomTensor([6, 5], seed: 24)
        assertPasses(checker.run(inputs: [x]) { $0.normalizeRowsL2($1[0]) } reference: { x in
            stride(from: 0, to: 30, by: 5).flatMap { start in
                let row = x[0][start..<(start + 5)]
                let norm = row.map { $0 * $0 }.reduce(0, +).squareRoot()
                return row.map { $0 / norm }
            }
        }, "normalizeRowsL2")
        // A zero row stays zero (x / max(‖x‖, ε)) and passes dy / ε back.
        let tape = Tape()
        let rows = tape.input(Tensor(shape: [2, 2], values: [3, 4, 0, 0]))
        let y = tape.normalizeRowsL2(rows, epsilon: 0.5)
        XCTAssertEqual(tape.value(y).scalars, [0.6, 0.8, 0, 0])
        tape.backward(from: tape.sum(y))
        XCTAssertEqual(tape.gradient(rows)!.scalars[2...], [2, 2])
    }

    func testRowNorm() {
        let x = signedAwayFromZero([5, 6], seed: 25)
        for p in [1.0, 2.0, 3.0, 0.7] {
            let report = checker.run(inputs: [x]) { $0.rowNorm($1[0], p: Float(p)) } reference: { x in
                stride(from: 0, to: 30, by: 6).map { start in
                    Foundation.pow(x[0][start..<(start + 6)].map { Foundation.pow(Swift.abs($0), p) }.reduce(0, +), 1 / p)
                }
            }
            assertPasses(report, "rowNorm p \(p)")
        }
        let tape = Tape()
        let v = tape.input(Tensor(shape: [2, 2], values: [3, -4, 0, 0]))
        let norms = tape.rowNorm(v, p: 2)
        XCTAssertEqual(tape.value(norms).scalars, [5, 0])
        XCTAssertEqual(tape.value(tape.rowNorm(tape.constant(Tensor(shape: [2], values: [1e30, 1e30])), p: 40))[0], 1e30 * Float(Foundation.pow(2.0, 1.0 / 40)), accuracy: 1e24)
        tape.backward(from: tape.sum(norms))
        XCTAssertEqual(tape.gradient(v)?.scalars, [0.6, -0.8, 0, 0])
    }

    func testGathers() {
        let x = randomTensor([4, 6], seed: 26)
        let indices = [0, 23, 5, 5, 17, 0, 12]   // repeats: their gradients add up
        assertPasses(checker.run(inputs: [x]) { $0.gatherElements($1[0], at: indices) } reference: { x in
            indices.map { x[0][$0] }
        }, "gatherElements")
        let columns = [5, 0, 3, 3]
        assertPasses(checker.run(inputs: [x]) { $0.pickColumns($1[0], columns) } reference: { x in
            columns.enumerated().map { x[0][$0.offset * 6 + $0.element] }
        }, "pickColumns")
        let cube = randomTensor([5, 2, 3], seed: 27)
        let rows = [4, 0, 4, 2]
        assertPasses(checker.run(inputs: [cube]) { tape, v in
            let y = tape.selectRows(v[0], rows)
            XCTAssertEqual(tape.shape(y), [4, 2, 3])
            return y
        } reference: { x in
            rows.flatMap { x[0][($0 * 6)..<($0 * 6 + 6)] }
        }, "selectRows")
        let tape = Tape()
        XCTAssertEqual(tape.shape(tape.gatherElements(tape.input(x), at: [])), [0])
    }

    /// Gradients accumulate (+=) when one input feeds several of the new ops.
    func testSharedInputAccumulates() {
        let x = signedAwayFromZero([3, 4], seed: 28)
        let report = checker.run(inputs: [x]) { tape, v in
            let a = tape.softplus(tape.addScalar(v[0], 0.5))
            let b = tape.selectRows(tape.normalizeRowsL2(v[0]), [2, 1, 0])
            let c = tape.gatherElements(v[0], at: [1, 5, 5])
            return tape.add(tape.add(tape.rowSum(tape.add(a, b)), tape.rowNorm(v[0], p: 2)), c)
        } reference: { x in
            let r = (0..<3).map { x[0][($0 * 4)..<($0 * 4 + 4)] }
            let norms = r.map { $0.map { $0 * $0 }.reduce(0, +).squareRoot() }
            let gathered = [x[0][1], x[0][5], x[0][5]]
            return (0..<3).map { i in
                let a = r[i].map { v in Foundation.log1p(Foundation.exp(v + 0.5)) }.reduce(0, +)
                let b = r[2 - i].map { $0 / norms[2 - i] }.reduce(0, +)
                return a + b + norms[i] + gathered[i]
            }
        }
        assertPasses(report, "shared input")
    }
}
