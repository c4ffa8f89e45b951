import Foundation
import XCTest
import TrainLabAutodiff
import TrainLabKernels
@testable import TrainLabOptim

/// The driver behind every elementwise optimizer: the same bits on any thread count, packed or
/// not, and a new rule needs only its update.
final class ElementwiseOptimizerTests: XCTestCase {
    /// Every elementwise optimizer, each option that changes its state or loop turned on once.
    let configurations: [(String, () -> any ElementwiseOptimizer)] = [
        ("sgd", { SGD() }),
        ("sgd momentum", { SGD(momentum: 0.9, dampening: 0.1, weightDecay: 0.01) }),
        ("sgd nesterov", { SGD(momentum: 0.9, weightDecay: 0.01, nesterov: true) }),
        ("adagrad", { Adagrad(learningRateDecay: 0.01, weightDecay: 0.01, initialAccumulatorValue: 0.1) }),
        ("rmsprop", { RMSprop() }),
        ("rmsprop centered momentum", { RMSprop(weightDecay: 0.01, momentum: 0.9, centered: true) }),
        ("adadelta", { Adadelta(weightDecay: 0.01) }),
        ("adam", { Adam(weightDecay: 0.01) }),
        ("adamw amsgrad", { Adam(weightDecay: 0.1, amsgrad: true, decoupled: true) }),
    ]

    /// One parameter spanning two driver chunks (the second ending in a partial vector), and small ones.
    func makeParameters() -> [Parameter] {
        [[3, 5], [ElementwiseOptimizerDriver.chunkSize + 13], [1], [7, 2], [30]]
            .enumerated().map { i, shape in
                let count = shape.reduce(1, *)
                let values = (0..<count).map { j in cos(Float(j * 13 + i)) * 0.5 }
                return Parameter(name: "p\(i)", value: Tensor(shape: shape, values: values))
            }
    }

    func setGradients(_ parameters: [Parameter], step: Int) {
        for (i, p) in parameters.enumerated() {
            p.zeroGradient()
            let gradient = p.gradient.data
            for j in 0..<p.gradient.count { gradient[j] = sin(Float(step * 31 + i * 7 + j)) }
        }
    }

    /// Values after three steps, as bit patterns.
    func train(_ optimizer: any ElementwiseOptimizer, threads: Int, packed: Bool) -> [[UInt32]] {
        let parameters = makeParameters()
        if packed { Parameter.packContiguously(parameters) }
        optimizer.driver.pool = threads == 1 ? .serial : ThreadPool(threads: threads)
        for step in 0..<3 {
            setGradients(parameters, step: step)
            optimizer.step(parameters, lr: 0.01)
        }
        return parameters.map { $0.value.scalars.map(\.bitPattern) }
    }

    func testBitIdenticalOnOneAndThreeThreadsPackedAndApart() {
        for (name, make) in configurations {
            let reference = train(make(), threads: 1, packed: false)
            XCTAssertNotEqual(reference, makeParameters().map { $0.value.scalars.map(\.bitPattern) }, "\(name) moved nothing")
            XCTAssertTrue(train(make(), threads: 3, packed: false) == reference, "\(name): 3 threads differ from 1")
            XCTAssertTrue(train(make(), threads: 1, packed: true) == reference, "\(name): packed differs from apart")
            XCTAssertTrue(train(make(), threads: 3, packed: true) == reference, "\(name): packed on 3 threads differs")
        }
    }

    /// Signum (Bernstein et al. 2018, https://arxiv.org/abs/1802.04434): b = β b + (1 - β) ∇;
    /// p -= lr · sign(b). A rule the library does not have, in a few lines.
    final class Signum: ElementwiseOptimizer {
        static let defaultLearningRate = 1e-4, stateCount = 1
        let driver = ElementwiseOptimizerDriver()
        let beta: Float = 0.9
        var name: String { "signum" }

        func update(range: Range<Int>, parameters w: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                    state: [UnsafeMutablePointer<Float>], step: Int, lr: Float) {
            let b = state[0]
            for i in range {
                b[i] = beta * b[i] + (1 - beta) * gradients[i]
                if b[i] != 0 { w[i] -= b[i] > 0 ? lr : -lr }
            }
        }
    }

    func testAnOptimizerDefinedOutsideRunsThroughTheDriver() {
        let p = Parameter(name: "w", value: Tensor(shape: [11], values: (0..<11).map { Float($0) }))
        let optimizer = Signum()
        // Gradient +1 then -3: b = 0.1, then 0.09 - 0.3 = -0.21; p moves -lr, then +lr.
        for (gradient, expected) in [(Float(1), Float(-0.5)), (-3, 0)] {
            p.zeroGradient()
            for i in 0..<11 { p.gradient[i] = gradient }
            optimizer.step([p], lr: 0.5)
            XCTAssertEqual(p.value.scalars, (0..<11).map { Float($0) + expected })
        }
        XCTAssertEqual(optimizer.driver.steps, 2)
        XCTAssertEqual(optimizer.activeStateCount, 1)
    }

    /// The state each optimizer's type declares bounds what a configuration uses.
    func testActiveStateCountsStayWithinTheDeclaredOnes() {
        for (name, make) in configurations {
            let optimizer = make()
            XCTAssertLessThanOrEqual(optimizer.activeStateCount, type(of: optimizer).stateCount, name)
        }
        XCTAssertEqual(SGD().activeStateCount, 0)
        XCTAssertEqual(RMSprop(momentum: 0.9, centered: true).activeStateCount, RMSprop.stateCount)
        XCTAssertEqual(Adam(amsgrad: true).activeStateCount, Adam.stateCount)
    }
}
