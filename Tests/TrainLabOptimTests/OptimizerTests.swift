import XCTest
import TrainLabAutodiff
@testable import TrainLabOptim

/// Update rules on a constant gradient, where torch.optim's formulas have closed forms.
final class OptimizerTests: XCTestCase {
    func parameter(_ values: [Float], gradient: [Float]) -> Parameter {
        let p = Parameter(name: "w", value: Tensor(shape: [values.count], values: values))
        for i in gradient.indices { p.gradient[i] = gradient[i] }
        return p
    }

    /// Momentum 0.9, g = 0.5, lr 0.1: b₁ = g, b₂ = 0.9 g + g = 0.95; p = 1 - 0.05 - 0.095.
    func testSGDMomentum() {
        let p = parameter([1], gradient: [0.5])
        let sgd = SGD(momentum: 0.9)
        sgd.step([p], lr: 0.1)
        XCTAssertEqual(p.value[0], 0.95, accuracy: 1e-7)
        sgd.step([p], lr: 0.1)
        XCTAssertEqual(p.value[0], 0.855, accuracy: 1e-6)
    }

    /// Nesterov uses g + μ b: first step 0.5 + 0.9 · 0.5 = 0.95, so p = 1 - 0.095.
    func testSGDNesterovAndWeightDecay() {
        let p = parameter([1], gradient: [0.5])
        SGD(momentum: 0.9, nesterov: true).step([p], lr: 0.1)
        XCTAssertEqual(p.value[0], 0.905, accuracy: 1e-7)
        let q = parameter([2], gradient: [0])
        SGD(weightDecay: 0.1).step([q], lr: 0.5)  // g = 0 + 0.1 · 2
        XCTAssertEqual(q.value[0], 1.9, accuracy: 1e-7)
    }

    /// With a constant gradient, bias correction makes m̂ = g and v̂ = g², so every Adam step
    /// moves by lr · g / (|g| + ε).
    func testAdamConstantGradient() {
        let p = parameter([1, -1], gradient: [0.3, -2])
        let adam = Adam()
        for _ in 0..<3 { adam.step([p], lr: 0.01) }
        XCTAssertEqual(p.value[0], 1 - 0.03, accuracy: 1e-6)
        XCTAssertEqual(p.value[1], -1 + 0.03, accuracy: 1e-6)
    }

    /// Adam's L2 decay enters the gradient (and is normalized away); AdamW's shrinks the weight
    /// directly: p = p (1 - lr λ) - lr · sign(g). This is the difference the notes discuss.
    func testAdamL2VersusAdamW() {
        let l2 = parameter([2], gradient: [0])
        Adam(weightDecay: 0.1).step([l2], lr: 0.01)  // g = 0.2: a full lr step
        XCTAssertEqual(l2.value[0], 2 - 0.01, accuracy: 1e-6)
        let decoupled = parameter([2], gradient: [0])
        Adam(weightDecay: 0.1, decoupled: true).step([decoupled], lr: 0.01)  // g = 0: only the decay
        XCTAssertEqual(decoupled.value[0], 2 * (1 - 0.001), accuracy: 1e-6)
    }

    /// AMSGrad divides by the running maximum of v: after a large gradient then a small one,
    /// the step is smaller than Adam's.
    func testAMSGradUsesMaximum() {
        let a = parameter([0], gradient: [10]), b = parameter([0], gradient: [10])
        let adam = Adam(), ams = Adam(amsgrad: true)
        adam.step([a], lr: 0.1); ams.step([b], lr: 0.1)
        a.gradient[0] = 0.01; b.gradient[0] = 0.01
        let a1 = a.value[0], b1 = b.value[0]
        adam.step([a], lr: 0.1); ams.step([b], lr: 0.1)
        XCTAssertEqual(a1, b1)
        XCTAssertLessThan(abs(b.value[0] - b1), abs(a.value[0] - a1))
    }

    /// clip_grad_norm_: norm 5 clipped to 1 scales by 1 / (5 + 1e-6).
    func testGradientClipping() {
        let p = parameter([0, 0], gradient: [3, 4])
        let norm = Gradients.clip([p], maxNorm: 1)
        XCTAssertEqual(norm, 5, accuracy: 1e-9)
        XCTAssertEqual(p.gradient[0], 0.6, accuracy: 1e-6)
        XCTAssertEqual(p.gradient[1], 0.8, accuracy: 1e-6)
    }
}

final class ScheduleTests: XCTestCase {
    func testFormulas() {
        XCTAssertEqual(Schedule.constant.rate(step: 7, total: 10, lr: 0.1), 0.1)
        XCTAssertEqual(Schedule.step(stepSize: 3, gamma: 0.5).rate(step: 4, total: 10, lr: 1), 0.5)
        XCTAssertEqual(Schedule.step(stepSize: 3, gamma: 0.5).rate(step: 3, total: 10, lr: 1), 1)
        XCTAssertEqual(Schedule.exponential(gamma: 0.9).rate(step: 3, total: 10, lr: 1), 0.81, accuracy: 1e-12)
        XCTAssertEqual(Schedule.cosine(minLR: 0).rate(step: 1, total: 10, lr: 1), 1)
        XCTAssertEqual(Schedule.cosine(minLR: 0).rate(step: 6, total: 10, lr: 1), 0.5, accuracy: 1e-12)
        let warm = Schedule.warmupCosine(warmupSteps: 10, minLR: 0)
        XCTAssertEqual(warm.rate(step: 5, total: 110, lr: 1), 0.5)
        XCTAssertEqual(warm.rate(step: 10, total: 110, lr: 1), 1)
        XCTAssertEqual(warm.rate(step: 60, total: 110, lr: 1), 0.5, accuracy: 1e-12)
        XCTAssertEqual(Schedule.linearWarmup(warmupSteps: 4).rate(step: 2, total: 10, lr: 1), 0.5)
        XCTAssertEqual(Schedule.inverseSqrt(warmupSteps: 4).rate(step: 16, total: 100, lr: 1), 0.5)
    }
}
