import XCTest
import Foundation
import TrainLabAutodiff
@testable import TrainLabModels

/// Statistical checks with tolerances that a wrong formula cannot meet: for n = 65,536 samples
/// the sample standard deviation's relative error is about 1/√(2n) ≈ 0.3%, so 3% is ten sigma
/// away from a false failure and far below the smallest gain mistake (√2 or 5/3).
final class InitializerTests: XCTestCase {
    func standardDeviation(_ t: Tensor) -> Double {
        let values = t.scalars.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        return (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
    }

    func sampled(_ initializer: Initializer, shape: [Int] = [256, 256]) -> Tensor {
        var generator = SplitMix64(seed: 42)
        let t = Tensor(shape: shape)
        initializer.fill(t, using: &generator)
        return t
    }

    func testVarianceScalingFamilies() {
        let fanIn = 256.0, fanOut = 256.0
        let cases: [(Initializer, Double)] = [
            (.xavierNormal(), (2 / (fanIn + fanOut)).squareRoot()),
            (.xavierUniform(gain: 2), 2 * (2 / (fanIn + fanOut)).squareRoot()),
            (.kaimingNormal(nonlinearity: .relu), (2 / fanIn).squareRoot()),
            (.kaimingUniform(mode: .fanOut, nonlinearity: .tanh), 5.0 / 3 / fanOut.squareRoot()),
            (.lecunNormal(), 1 / fanIn.squareRoot()),
            (.lecunUniform(), 1 / fanIn.squareRoot()),
            (.normal(mean: 0, std: 0.02), 0.02),
            (.uniform(a: -1, b: 1), 1 / 3.0.squareRoot()),
        ]
        for (initializer, expected) in cases {
            XCTAssertEqual(standardDeviation(sampled(initializer)) / expected, 1, accuracy: 0.03, "\(initializer)")
        }
    }

    /// Fans follow torch: a [out, in] weight has fan_in = in, fan_out = out.
    func testFansUseTorchLayout() {
        XCTAssertTrue(Initializer.fans([10, 784]) == (784, 10))
        let t = sampled(.lecunNormal(mode: .fanOut), shape: [64, 4096])
        XCTAssertEqual(standardDeviation(t) * 8, 1, accuracy: 0.03)  // 1/√64
    }

    /// An orthogonal [n, m] weight has orthonormal columns (n ≥ m) or rows (n < m): ‖WᵀW − I‖ tiny.
    func testOrthogonal() {
        for shape in [[32, 32], [48, 16], [16, 48]] {
            let w = sampled(.orthogonal(gain: 1), shape: shape)
            let (rows, columns) = (shape[0], shape[1])
            let k = min(rows, columns)
            var worst = 0.0
            for i in 0..<k {
                for j in 0..<k {
                    var dot = 0.0
                    for r in 0..<max(rows, columns) where (rows >= columns ? r < rows : r < columns) {
                        let a = rows >= columns ? w[r * columns + i] : w[i * columns + r]
                        let b = rows >= columns ? w[r * columns + j] : w[j * columns + r]
                        dot += Double(a) * Double(b)
                    }
                    worst = max(worst, abs(dot - (i == j ? 1 : 0)))
                }
            }
            XCTAssertLessThan(worst, 1e-5, "\(shape)")
        }
    }

    /// trunc_normal never leaves [a, b].
    func testTruncatedNormalBounds() {
        let t = sampled(.truncatedNormal(mean: 0, std: 1, a: -0.5, b: 0.5))
        XCTAssertLessThanOrEqual(t.scalars.map(abs).max()!, 0.5)
    }

    /// calculate_gain values.
    func testGains() {
        XCTAssertEqual(Initializer.Nonlinearity.tanh.gain(0), 5.0 / 3)
        XCTAssertEqual(Initializer.Nonlinearity.relu.gain(0), 2.0.squareRoot())
        XCTAssertEqual(Initializer.Nonlinearity.leakyRelu.gain(5.0.squareRoot()), (2.0 / 6).squareRoot(), accuracy: 1e-15)
    }
}

/// Activations against their closed forms, and the learnable swish β's gradient against a
/// central difference of the Float64 function.
final class ActivationTests: XCTestCase {
    func values(_ activation: any Activation, _ xs: [Float]) -> [Float] {
        let tape = Tape(pool: .serial)
        return tape.value(activation(tape.constant(Tensor(shape: [xs.count], values: xs)), on: tape)).scalars
    }

    func testClosedForms() {
        let xs: [Float] = [-2, -0.5, 0.3, 1.7]
        func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }
        let cases: [(any Activation, (Double) -> Double)] = [
            (LeakyReLU(negativeSlope: 0.2), { $0 > 0 ? $0 : 0.2 * $0 }),
            (GELU(), { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }),
            (GELU(approximate: .sigmoid), { $0 * sigmoid(1.702 * $0) }),
            (Swish(beta: 2), { $0 * sigmoid(2 * $0) }),
            (SiLU(), { $0 * sigmoid($0) }),
        ]
        for (activation, f) in cases {
            for (x, y) in zip(xs, values(activation, xs)) {
                XCTAssertEqual(Double(y), f(Double(x)), accuracy: 2e-6, "\(activation.name)(\(x))")
            }
        }
    }

    /// d/dβ Σ x σ(βx) = Σ x² σ'(βx): the learnable β's gradient against a central difference.
    func testLearnableSwishBetaGradient() {
        let xs: [Float] = [-1.5, -0.2, 0.4, 2.0]
        let swish = Swish(beta: 0.8, learnable: true)
        let tape = Tape(pool: .serial)
        let y = swish(tape.constant(Tensor(shape: [4], values: xs)), on: tape)
        tape.backward(from: tape.sum(y))
        func total(_ beta: Double) -> Double { xs.map { Double($0) }.reduce(0) { $0 + $1 / (1 + Foundation.exp(-beta * $1)) } }
        let numeric = (total(0.8 + 1e-6) - total(0.8 - 1e-6)) / 2e-6
        XCTAssertEqual(Double(swish.learnedBeta!.gradient[0]), numeric, accuracy: 1e-5)
        XCTAssertEqual(swish.parameters.map(\.name), ["activation.beta"])
    }
}
