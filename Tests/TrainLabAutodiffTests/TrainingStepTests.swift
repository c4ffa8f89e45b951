import XCTest
import TrainLabKernels
@testable import TrainLabAutodiff

/// A two-layer MLP step (forward, cross-entropy, backward, SGD update), big enough that every
/// kernel takes its multithreaded path: 192 rows x 300 hidden (57,600 elements > the 16,384
/// elementwise grain; 192·300·100 multiply-adds > the GEMM threshold).
struct TinyMLPStep {
    let input: Tensor
    let targets: [Int]
    let w1: Parameter, b1: Parameter, w2: Parameter, b2: Parameter

    init() {
        input = randomTensor([192, 100], seed: 21)
        targets = (0..<192).map { ($0 * 7) % 10 }
        w1 = Parameter(name: "layers.0.weight", value: randomTensor([100, 300], seed: 22, low: -0.1, high: 0.1))
        b1 = Parameter(name: "layers.0.bias", value: randomTensor([300], seed: 23, low: -0.1, high: 0.1))
        w2 = Parameter(name: "layers.1.weight", value: randomTensor([300, 10], seed: 24, low: -0.1, high: 0.1))
        b2 = Parameter(name: "layers.1.bias", value: randomTensor([10], seed: 25, low: -0.1, high: 0.1))
    }

    var parameters: [Parameter] { [w1, b1, w2, b2] }

    /// One SGD step; returns the loss before the update.
    func step(_ tape: Tape, learningRate: Float = 0.1) -> Float {
        tape.reset()
        for p in parameters { p.zeroGradient() }
        let x = tape.constant(input)
        let h = tape.tanh(tape.addRowVector(tape.matmul(x, tape.parameter(w1)), tape.parameter(b1)))
        let logits = tape.addRowVector(tape.matmul(h, tape.parameter(w2)), tape.parameter(b2))
        let loss = tape.crossEntropy(logits: logits, targets: targets)
        tape.backward(from: loss)
        for p in parameters {
            VectorKernels.axpy(-learningRate, p.gradient.data, p.value.data, count: p.value.count, pool: tape.pool)
        }
        return tape.value(loss)[0]
    }
}

final class TrainingStepTests: XCTestCase {
    /// Loss, gradients and updated weights after three steps are bit-identical on 1, 2, 3 and 7
    /// threads: the determinism guarantee of the kernel layer, end to end.
    func testBitIdenticalAcrossThreadCounts() {
        func run(threads: Int) -> [[UInt32]] {
            let model = TinyMLPStep()
            let tape = Tape(pool: ThreadPool(threads: threads))
            var losses: [UInt32] = []
            for _ in 0..<3 { losses.append(model.step(tape).bitPattern) }
            return [losses] + model.parameters.flatMap { [$0.value.scalars.map(\.bitPattern), $0.gradient.scalars.map(\.bitPattern)] }
        }
        let reference = run(threads: 1)
        for threads in [2, 3, 7] {
            XCTAssertTrue(run(threads: threads) == reference, "results differ between 1 and \(threads) threads")
        }
    }

    /// Training lowers the loss (the step is a real descent step) and its first value is the
    /// cross-entropy of near-uniform logits, about log(10) = 2.30.
    func testLossDecreases() {
        let model = TinyMLPStep()
        let tape = Tape(pool: ThreadPool(threads: 2))
        let first = model.step(tape)
        var last = first
        for _ in 0..<30 { last = model.step(tape) }
        XCTAssertEqual(first, 2.30, accuracy: 0.1)
        XCTAssertLessThan(last, first - 0.3)
    }

    /// After the first step the arena holds every buffer the step needs: later steps with the
    /// same shapes allocate no new tensors and get the very same buffers back.
    func testSteadyStateReusesBuffers() {
        let model = TinyMLPStep()
        let tape = Tape(pool: .serial)
        _ = model.step(tape)
        let buffers = tape.arenaBuffers
        for _ in 0..<3 { _ = model.step(tape) }
        XCTAssertEqual(tape.arenaBuffers, buffers)
        XCTAssertGreaterThan(buffers.count, 10, "values, gradients and scratch of 11 ops")
    }
}
