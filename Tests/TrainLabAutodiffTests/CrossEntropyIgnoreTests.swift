import XCTest
import Foundation
import TrainLabKernels
@testable import TrainLabAutodiff

/// `crossEntropy` with ignored targets (-100, torch's `ignore_index`): the mean runs over the
/// counted rows and ignored rows get no gradient.
final class CrossEntropyIgnoreGradientCheckTests: XCTestCase {
    let pool = ThreadPool(threads: 2)

    func testIgnoredRowsGradientCheck() {
        let x = randomTensor([6, 11], seed: 51, low: -3, high: 3)
        let targets = [4, Tape.ignoredTarget, 0, Tape.ignoredTarget, 10, 4]
        let counted = targets.enumerated().filter { $0.element != Tape.ignoredTarget }
        let report = GradientCheck().run(inputs: [x], pool: pool) { $0.crossEntropy(logits: $1[0], targets: targets) } reference: { x in
            let logP = Reference.rows(x[0], columns: 11, Reference.logSoftmax)
            return [-counted.map { logP[$0.offset * 11 + $0.element] }.reduce(0, +) / Double(counted.count)]
        }
        XCTAssertLessThan(report.worstError, 2e-3, "\(report)")
        XCTAssertLessThan(report.forwardError, 1e-5, "\(report)")

        // Ignored rows' gradients are exactly zero; the loss equals the one over the counted rows alone.
        let tape = Tape(pool: pool)
        let logits = tape.input(x)
        let loss = tape.crossEntropy(logits: logits, targets: targets)
        tape.backward(from: loss)
        let gradient = tape.gradient(logits)!
        for r in [1, 3] { XCTAssert((0..<11).allSatisfy { gradient[r * 11 + $0] == 0 }, "row \(r)") }
        XCTAssertNotEqual(gradient[0], 0)
        let kept = Tensor(shape: [4, 11], values: [0, 2, 4, 5].flatMap { r in (0..<11).map { x[r * 11 + $0] } })
        let alone = Tape(pool: pool)
        let reference = alone.value(alone.crossEntropy(logits: alone.constant(kept), targets: [4, 0, 10, 4]))[0]
        XCTAssertEqual(tape.value(loss)[0], reference, accuracy: 1e-6)
    }

    func testEveryRowIgnoredGivesZeroLossAndNoGradient() {
        let tape = Tape(pool: pool)
        let logits = tape.input(randomTensor([3, 5], seed: 52))
        let loss = tape.crossEntropy(logits: logits, targets: [Tape.ignoredTarget, Tape.ignoredTarget, Tape.ignoredTarget])
        XCTAssertEqual(tape.value(loss)[0], 0)
        tape.backward(from: loss)
        XCTAssert(tape.gradient(logits).map { $0.scalars.allSatisfy { $0 == 0 } } ?? true)
    }
}
