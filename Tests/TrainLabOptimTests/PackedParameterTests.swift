import XCTest
import TrainLabAutodiff
import TrainLabKernels
@testable import TrainLabOptim

/// A model's parameters packed into one buffer (what the runner does) train exactly as the same
/// parameters kept apart: the packed path only changes how the optimizer walks memory.
final class PackedParameterTests: XCTestCase {
    func makeParameters() -> [Parameter] {
        [[3, 5], [5], [1], [7, 2]].enumerated().map { i, shape in
            let count = shape.reduce(1, *)
            return Parameter(name: "p\(i)", value: Tensor(shape: shape, values: (0..<count).map { Float($0 + i) * 0.1 - 0.4 }))
        }
    }

    func setGradients(_ parameters: [Parameter], step: Int) {
        for (i, p) in parameters.enumerated() {
            p.zeroGradient()
            for j in 0..<p.gradient.count { p.gradient[j] = sin(Float(step * 31 + i * 7 + j)) }
        }
    }

    /// Packing keeps values and gradients, and the parameters then form one span in order.
    func testPackingKeepsValuesAndMakesOneSpan() {
        let parameters = makeParameters()
        setGradients(parameters, step: 0)
        let before = parameters.map { ($0.value.scalars, $0.gradient.scalars, $0.value.shape) }
        XCTAssertNil(Parameter.contiguousSpan(parameters))
        Parameter.packContiguously(parameters)
        for (p, b) in zip(parameters, before) {
            XCTAssertEqual(p.value.scalars, b.0)
            XCTAssertEqual(p.gradient.scalars, b.1)
            XCTAssertEqual(p.value.shape, b.2)
        }
        let span = Parameter.contiguousSpan(parameters)
        XCTAssertEqual(span?.count, 15 + 5 + 1 + 14)
        XCTAssertEqual(span?.values, parameters[0].value.data)
        // A parameter left with a pending zero reads as zeros through the span too.
        parameters[2].zeroGradient()
        XCTAssertEqual(Parameter.contiguousSpan(parameters).map { $0.gradients[20] }, 0)
    }

    /// AdamW (and AMSGrad) over the packed span gives the per-parameter results bit for bit.
    func testAdamOverThePackedSpanMatchesPerParameterUpdates() {
        for amsgrad in [false, true] {
            let apart = makeParameters(), packed = makeParameters()
            Parameter.packContiguously(packed)
            let a = Adam(weightDecay: 0.1, amsgrad: amsgrad, decoupled: true)
            let b = Adam(weightDecay: 0.1, amsgrad: amsgrad, decoupled: true)
            for step in 0..<4 {
                setGradients(apart, step: step)
                setGradients(packed, step: step)
                a.step(apart, lr: 0.01)
                b.step(packed, lr: 0.01)
            }
            for (x, y) in zip(apart, packed) { XCTAssertEqual(x.value.scalars, y.value.scalars, "amsgrad \(amsgrad)") }
        }
    }

    /// The global norm of a packed model is the same number as of the unpacked one (the logged
    /// grad_norm does not depend on packing), and clipping scales every packed gradient.
    func testGlobalNormAndClippingOverThePackedSpan() {
        let apart = makeParameters(), packed = makeParameters()
        Parameter.packContiguously(packed)
        setGradients(apart, step: 1)
        setGradients(packed, step: 1)
        let norm = Gradients.globalNorm(apart, pool: .serial)
        XCTAssertEqual(Gradients.globalNorm(packed, pool: .serial), norm)
        Gradients.clip(packed, maxNorm: norm / 2, pool: .serial)
        XCTAssertEqual(Gradients.globalNorm(packed, pool: .serial), norm / 2, accuracy: norm * 1e-5)
    }
}
