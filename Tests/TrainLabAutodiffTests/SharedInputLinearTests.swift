import XCTest
import Foundation
import TrainLabKernels
@testable import TrainLabAutodiff

/// `Tape.linears`: linear layers of one input as one op (attention's q, k, v; gate and up).
final class SharedInputLinearTests: XCTestCase {
    /// Widths of three layers: a full panel, a partial one, and one past a panel edge, so the
    /// layers' panels meet inside a thread's tile.
    static let widths = [32, 7, 45]
    static let (rows, inputs) = (67, 40)

    /// Values and every gradient as `linear` layers give them, one after another.
    static func run(fused: Bool, precision: MatrixPrecision, threads: Int, bias: Bool,
                    unused: Int? = nil) -> [[UInt32]] {
        let tape = Tape(pool: ThreadPool(threads: threads), precision: precision)
        let x = tape.input(randomTensor([rows, inputs], seed: 7))
        let layers = widths.enumerated().map { s, width in
            (weight: tape.input(randomTensor([width, inputs], seed: 10 + UInt64(s))),
             bias: bias ? tape.input(randomTensor([width], seed: 20 + UInt64(s))) : nil)
        }
        let ys = fused ? tape.linears(x, layers)
            : layers.map { tape.linear(x, weight: $0.weight, bias: $0.bias, activation: nil) }
        var loss: Variable?
        for (s, y) in ys.enumerated() where s != unused {
            let weighted = tape.sum(tape.multiply(y, tape.constant(randomTensor([rows, widths[s]], seed: 30 + UInt64(s)))))
            loss = loss.map { tape.add($0, weighted) } ?? weighted
        }
        tape.backward(from: loss!)
        let gradients = [x] + layers.flatMap { [$0.weight] + ($0.bias.map { [$0] } ?? []) }
        return (ys.map { tape.value($0) } + gradients.map { tape.gradient($0) ?? Tensor(shape: [0]) })
            .map { $0.scalars.map(\.bitPattern) }
    }

    /// The fused op gives each layer's own bits, forward and backward (the input gradient adds
    /// the layers' parts last first, as separate ops would), FP32 and bf16, on any thread count,
    /// with biases, and with one output unused (its layer gets no gradient).
    func testGivesTheBitsOfSeparateLinearLayers() {
        for precision in MatrixPrecision.allCases {
            for bias in [false, true] {
                for unused in [nil, 1] {
                    let separate = Self.run(fused: false, precision: precision, threads: 1, bias: bias, unused: unused)
                    for threads in [1, 2, 3] {
                        let fused = Self.run(fused: true, precision: precision, threads: threads, bias: bias, unused: unused)
                        XCTAssertEqual(fused.map(\.count), separate.map(\.count))
                        let differing = zip(fused, separate).map { zip($0, $1).filter { $0 != $1 }.count }
                        XCTAssertEqual(differing, Array(repeating: 0, count: separate.count),
                                       "values that differ in each output and gradient: \(precision), bias \(bias), "
                                       + "unused \(unused.map(String.init) ?? "none"), \(threads) threads")
                    }
                }
            }
        }
    }

    /// One parameter in two layers (tied weights): its gradient adds both layers' parts, one
    /// product after the other as separate layers add them. 1100 rows: the weight gradient's
    /// products run over three KC blocks, where parts computed at once would interleave them.
    func testTiedWeightsAddTheirGradientsAsSeparateLayers() {
        func run(fused: Bool, threads: Int) -> [UInt32] {
            let tape = Tape(pool: ThreadPool(threads: threads), precision: .bf16)
            let x = tape.input(randomTensor([1100, 24], seed: 3))
            let w = Parameter(name: "tied", value: randomTensor([40, 24], seed: 4))
            let layers = [(weight: tape.parameter(w), bias: Variable?.none), (weight: tape.parameter(w), bias: Variable?.none)]
            let ys = fused ? tape.linears(x, layers) : layers.map { tape.linear(x, weight: $0.weight, bias: nil, activation: nil) }
            let loss = tape.add(tape.sum(ys[0]), tape.sum(tape.multiply(ys[1], ys[1])))
            tape.backward(from: loss)
            return w.gradient.scalars.map(\.bitPattern) + tape.gradient(x)!.scalars.map(\.bitPattern)
        }
        let separate = run(fused: false, threads: 1)
        for threads in [1, 2, 3] {
            let fused = run(fused: true, threads: threads)
            XCTAssertEqual(zip(fused, separate).filter { $0 != $1 }.count, 0, "values that differ, \(threads) threads")
        }
    }

    /// The backward against finite differences: L mixes the outputs unequally (y0 + 2 y1 + y2²),
    /// so a gradient sent to the wrong layer shows.
    func testBackwardMatchesFiniteDifferences() {
        let (rows, inputs, widths) = (9, 5, [4, 7, 3])
        let x = randomTensor([rows, inputs], seed: 1)
        let weights = widths.enumerated().map { randomTensor([$1, inputs], seed: 2 + UInt64($0)) }
        let biases = widths.enumerated().map { randomTensor([$1], seed: 6 + UInt64($0)) }
        let report = GradientCheck().run(inputs: [x] + weights + biases, pool: ThreadPool(threads: 2)) { tape, v in
            let ys = tape.linears(v[0], (0..<3).map { (v[1 + $0], v[4 + $0]) })
            let squares = tape.sum(tape.multiply(ys[2], ys[2]))
            return tape.add(tape.add(tape.sum(ys[0]), tape.scale(tape.sum(ys[1]), by: 2)), squares)
        } reference: { v in
            func z(_ s: Int) -> [Double] {
                (0..<rows).flatMap { r in
                    (0..<widths[s]).map { o in (0..<inputs).reduce(v[4 + s][o]) { $0 + v[0][r * inputs + $1] * v[1 + s][o * inputs + $1] } }
                }
            }
            return [z(0).reduce(0, +) + 2 * z(1).reduce(0, +) + z(2).reduce(0) { $0 + $1 * $1 }]
        }
        XCTAssertLessThan(report.worstError, 2e-3, "\(report)")
        XCTAssertLessThan(report.forwardError, 1e-4, "\(report)")
    }
}
