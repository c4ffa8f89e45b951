import XCTest
@testable import TrainLabAutodiff

/// Write on first touch: gradients are written, not added to zeros, the first time an op reaches
/// them in a step; buffers are handed on where an op's input gradient equals its output's.
/// These pin down the bookkeeping that makes that safe.
final class GradientBufferTests: XCTestCase {
    /// zeroGradient only marks the buffer; reading it gives zeros, never the stale values.
    func testZeroedGradientReadsAsZeros() {
        let p = Parameter(name: "w", value: Tensor(shape: [3], values: [1, 2, 3]))
        p.gradient.fill(7)
        p.zeroGradient()
        XCTAssertEqual(p.gradient.scalars, [0, 0, 0])
    }

    /// A stale weight gradient (garbage from "last step") must not leak into this step's: the
    /// matmul backward writes C instead of accumulating into it.
    ///   L = Σ x Wᵀ, x (2, 2) = [[1, 2], [3, 4]], W (1, 2) → dW = Σ_rows x = [4, 6]
    func testFirstBackwardOverwritesStaleParameterGradient() {
        let w = Parameter(name: "w", value: Tensor(shape: [1, 2], values: [0.5, -1]))
        w.gradient.fill(1e6)
        w.zeroGradient()
        let tape = Tape(pool: .serial)
        let x = tape.constant(Tensor(shape: [2, 2], values: [1, 2, 3, 4]))
        tape.backward(from: tape.sum(tape.matmul(x, tape.parameter(w), transposeB: true)))
        XCTAssertEqual(w.gradient.scalars, [4, 6])
    }

    /// Without zeroGradient, a second backward adds to the first (torch's accumulation).
    func testGradientsAccumulateAcrossBackwardPasses() {
        let w = Parameter(name: "w", value: Tensor(shape: [1, 2], values: [0.5, -1]))
        w.zeroGradient()
        for _ in 0..<2 {
            let tape = Tape(pool: .serial)
            let x = tape.constant(Tensor(shape: [2, 2], values: [1, 2, 3, 4]))
            tape.backward(from: tape.sum(tape.matmul(x, tape.parameter(w), transposeB: true)))
        }
        XCTAssertEqual(w.gradient.scalars, [8, 12])
    }

    /// A parameter recorded twice (tied weights) gets both contributions: the first writes, the
    /// second adds.  L = Σ (x₁ + x₂) w → dw = Σ x₁ + Σ x₂ = 3 + 7
    func testParameterUsedTwiceSumsBothUses() {
        let w = Parameter(name: "w", value: Tensor(shape: [1, 1], values: [2]))
        w.gradient.fill(-5)
        w.zeroGradient()
        let tape = Tape(pool: .serial)
        let x1 = tape.constant(Tensor(shape: [2, 1], values: [1, 2]))
        let x2 = tape.constant(Tensor(shape: [2, 1], values: [3, 4]))
        let y = tape.add(tape.matmul(x1, tape.parameter(w)), tape.matmul(x2, tape.parameter(w)))
        tape.backward(from: tape.sum(y))
        XCTAssertEqual(w.gradient.scalars, [10])
    }

    /// add(x, x): the first input takes dy's buffer, the second adds dy into that same buffer.
    func testAddOfAVariableToItselfDoublesTheGradient() {
        let tape = Tape(pool: .serial)
        let x = tape.input(Tensor(shape: [3], values: [1, 2, 3]))
        tape.backward(from: tape.sum(tape.scale(tape.add(x, x), by: 1.5)))
        XCTAssertEqual(tape.gradient(x)?.scalars, [3, 3, 3])
    }

    /// y = a + b is recorded after t = 3a, so y's backward runs first and hands y's buffer to a;
    /// t's backward then adds 3 into a's. Leaves are right either way; y's own gradient (1) is
    /// still readable afterwards only when retained (torch's retain_grad).
    func testRetainedGradientIsNotHandedOn() {
        for retain in [false, true] {
            let tape = Tape(pool: .serial)
            let a = tape.input(Tensor(shape: [2], values: [1, 2]))
            let b = tape.input(Tensor(shape: [2], values: [3, 4]))
            let t = tape.scale(a, by: 3)
            let y = tape.add(a, b)
            if retain { tape.retainGradient(y) }
            tape.backward(from: tape.add(tape.sum(y), tape.sum(t)))
            XCTAssertEqual(tape.gradient(a)?.scalars, [4, 4])
            XCTAssertEqual(tape.gradient(b)?.scalars, [1, 1])
            if retain { XCTAssertEqual(tape.gradient(y)?.scalars, [1, 1]) }
        }
    }

    /// reshape shares its input's memory (no copy) and passes the gradient back with x's shape.
    func testReshapeIsAView() {
        let tape = Tape(pool: .serial)
        let x = tape.input(Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]))
        let r = tape.reshape(x, to: [3, 2])
        XCTAssertEqual(tape.value(r).data, tape.value(x).data)
        XCTAssertEqual(tape.shape(r), [3, 2])
        tape.backward(from: tape.weightedSum(r, weights: Tensor(shape: [3, 2], values: [1, 2, 3, 4, 5, 6])))
        XCTAssertEqual(tape.gradient(x)?.shape, [2, 3])
        XCTAssertEqual(tape.gradient(x)?.scalars, [1, 2, 3, 4, 5, 6])
    }

    /// The steady state reuses the same buffers: a second identical step takes no new arena memory.
    func testRepeatedStepsReuseBuffers() {
        let w = Parameter(name: "w", value: Tensor(shape: [4, 3], values: (0..<12).map { Float($0) / 10 }))
        let tape = Tape(pool: .serial)
        var sizes: [Int] = []
        for _ in 0..<3 {
            tape.reset()
            w.zeroGradient()
            let x = tape.constant(Tensor(shape: [5, 3], values: (0..<15).map { Float($0) }))
            let h = tape.reshape(tape.unary(.silu, tape.matmul(x, tape.parameter(w), transposeB: true)), to: [20])
            tape.backward(from: tape.sum(h))
            sizes.append(tape.arenaSize)
        }
        XCTAssertEqual(sizes[1], sizes[0])
        XCTAssertEqual(sizes[2], sizes[0])
    }
}
