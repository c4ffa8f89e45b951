import Foundation
import XCTest
import TrainLabAutodiff
@testable import TrainLabOptim

/// Adagrad, RMSprop and Adadelta on a constant gradient g, against torch.optim's update rules
/// written out by hand (Float64 closed forms, Float32 optimizer: compared to 1e-6).
final class FirstOrderOptimizerTests: XCTestCase {
    func parameter(_ values: [Float], gradient: [Float]) -> Parameter {
        let p = Parameter(name: "w", value: Tensor(shape: [values.count], values: values))
        for i in gradient.indices { p.gradient[i] = gradient[i] }
        return p
    }

    /// Runs `steps` updates and returns the value after each.
    func trajectory(_ optimizer: any Optimizer, from start: Float, gradient: Float, lr: Float, steps: Int) -> [Float] {
        let p = parameter([start], gradient: [gradient])
        return (0..<steps).map { _ in
            optimizer.step([p], lr: lr)
            return p.value[0]
        }
    }

    func assertTrajectory(_ actual: [Float], _ expected: [Double], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, file: file, line: line)
        for (a, e) in zip(actual, expected) {
            XCTAssertEqual(Double(a), e, accuracy: 1e-6, file: file, line: line)
        }
    }

    // MARK: Adagrad

    /// G_k = k g², so step k moves lr · g / (√k |g| + ε) = lr / √k for g = 0.5, lr = 0.1.
    func testAdagradConstantGradient() {
        let values = trajectory(Adagrad(), from: 1, gradient: 0.5, lr: 0.1, steps: 3)
        assertTrajectory(values, [1 - 0.1, 1 - 0.1 - 0.1 / sqrt(2), 1 - 0.1 - 0.1 / sqrt(2) - 0.1 / sqrt(3)])
    }

    /// lr_decay 0.5: clr_k = 0.1 / (1 + 0.5 (k - 1)); initial_accumulator_value 1: G_k = 1 + k g².
    func testAdagradLearningRateDecayAndInitialAccumulator() {
        let optimizer = Adagrad(learningRateDecay: 0.5, initialAccumulatorValue: 1)
        let values = trajectory(optimizer, from: 1, gradient: 0.5, lr: 0.1, steps: 3)
        let step1 = 0.1 * 0.5 / sqrt(1.25), step2 = 0.1 / 1.5 * 0.5 / sqrt(1.5), step3 = 0.1 / 2 * 0.5 / sqrt(1.75)
        assertTrajectory(values, [1 - step1, 1 - step1 - step2, 1 - step1 - step2 - step3])
    }

    /// weight_decay enters the gradient: g = 0 + 0.1 · 2 = 0.2, G = 0.04, so the first step is lr.
    func testAdagradWeightDecay() {
        let values = trajectory(Adagrad(weightDecay: 0.1), from: 2, gradient: 0, lr: 0.01, steps: 1)
        assertTrajectory(values, [2 - 0.01])
    }

    // MARK: RMSprop

    /// v_k = (1 - αᵏ) g², so step k moves lr · g / (|g| √(1 - αᵏ) + ε).
    func testRMSpropConstantGradient() {
        let lr = 0.01, g = 0.5, alpha = 0.99, eps = 1e-8
        let steps = (1...3).map { k in lr * g / (g * (1 - pow(alpha, Double(k))).squareRoot() + eps) }
        XCTAssertEqual(steps[0], 0.1, accuracy: 1e-6)  // √(1 - 0.99) = 0.1
        let values = trajectory(RMSprop(), from: 1, gradient: 0.5, lr: 0.01, steps: 3)
        assertTrajectory(values, [1 - steps[0], 1 - steps[0] - steps[1], 1 - steps[0] - steps[1] - steps[2]])
    }

    /// Centered: ḡ_k = (1 - αᵏ) g, so v - ḡ² = g² (1 - αᵏ) αᵏ and a_k = |g| √((1 - αᵏ) αᵏ) + ε.
    func testRMSpropCentered() {
        let lr = 0.01, g = 0.5, alpha = 0.99, eps = 1e-8
        let steps = (1...3).map { k -> Double in
            let decay = pow(alpha, Double(k))
            return lr * g / (g * ((1 - decay) * decay).squareRoot() + eps)
        }
        let values = trajectory(RMSprop(centered: true), from: 1, gradient: 0.5, lr: 0.01, steps: 3)
        assertTrajectory(values, [1 - steps[0], 1 - steps[0] - steps[1], 1 - steps[0] - steps[1] - steps[2]])
    }

    /// Momentum μ: b_k = μ b_{k-1} + g / a_k and p -= lr b_k, with a_k as without momentum.
    func testRMSpropMomentum() {
        let lr = 0.01, g = 0.5, alpha = 0.99, eps = 1e-8, mu = 0.9
        let a = (1...3).map { k in g * (1 - pow(alpha, Double(k))).squareRoot() + eps }
        let b1 = g / a[0], b2 = mu * b1 + g / a[1], b3 = mu * b2 + g / a[2]
        let values = trajectory(RMSprop(momentum: 0.9), from: 1, gradient: 0.5, lr: 0.01, steps: 3)
        assertTrajectory(values, [1 - lr * b1, 1 - lr * (b1 + b2), 1 - lr * (b1 + b2 + b3)])
    }

    /// Both flags: the momentum buffer accumulates g / a_k with the centered a_k.
    func testRMSpropCenteredMomentum() {
        let lr = 0.01, g = 0.5, alpha = 0.99, eps = 1e-8, mu = 0.9
        let a = (1...3).map { k -> Double in
            let decay = pow(alpha, Double(k))
            return g * ((1 - decay) * decay).squareRoot() + eps
        }
        let b1 = g / a[0], b2 = mu * b1 + g / a[1], b3 = mu * b2 + g / a[2]
        let values = trajectory(RMSprop(momentum: 0.9, centered: true), from: 1, gradient: 0.5, lr: 0.01, steps: 3)
        assertTrajectory(values, [1 - lr * b1, 1 - lr * (b1 + b2), 1 - lr * (b1 + b2 + b3)])
    }

    /// weight_decay: g = 0 + 0.1 · 2 = 0.2; the first step is lr · 0.2 / (0.2 √0.01 + ε) = 10 lr.
    func testRMSpropWeightDecay() {
        let values = trajectory(RMSprop(weightDecay: 0.1), from: 2, gradient: 0, lr: 0.001, steps: 1)
        assertTrajectory(values, [2 - 0.001 * 0.2 / (0.2 * 0.1 + 1e-8)])
    }

    /// torch adds ε after the square root (√v + ε, not √(v + ε)); a large ε tells the two apart:
    /// Adagrad ε = 0.5: 0.1 · 0.5 / (0.5 + 0.5) = 0.05;  RMSprop ε = 0.5: 0.1 · 0.5 / (0.05 + 0.5).
    func testEpsilonIsAddedAfterTheSquareRoot() {
        assertTrajectory(trajectory(Adagrad(epsilon: 0.5), from: 1, gradient: 0.5, lr: 0.1, steps: 1), [1 - 0.05])
        assertTrajectory(trajectory(RMSprop(epsilon: 0.5), from: 1, gradient: 0.5, lr: 0.1, steps: 1), [1 - 0.05 / 0.55])
    }

    // MARK: Adadelta

    /// v_k = (1 - ρᵏ) g²;  Δ_k = √(u_{k-1} + ε) / √(v_k + ε) · g;  u_k = ρ u_{k-1} + (1 - ρ) Δ_k²;  p -= lr Δ_k.
    /// The first step is √ε g / √((1 - ρ) g² + ε) ≈ 0.0031622 (for g = 0.5): Adadelta starts slowly.
    func testAdadeltaConstantGradient() {
        let g = 0.5, rho = 0.9, eps = 1e-6
        let v1 = (1 - rho) * g * g, v2 = (1 - rho * rho) * g * g, v3 = (1 - pow(rho, 3)) * g * g
        let delta1 = eps.squareRoot() / (v1 + eps).squareRoot() * g
        let u1 = (1 - rho) * delta1 * delta1
        let delta2 = (u1 + eps).squareRoot() / (v2 + eps).squareRoot() * g
        let u2 = rho * u1 + (1 - rho) * delta2 * delta2
        let delta3 = (u2 + eps).squareRoot() / (v3 + eps).squareRoot() * g
        XCTAssertEqual(delta1, 0.0031622, accuracy: 1e-7)

        let values = trajectory(Adadelta(), from: 1, gradient: 0.5, lr: 1, steps: 3)
        assertTrajectory(values, [1 - delta1, 1 - delta1 - delta2, 1 - delta1 - delta2 - delta3])
        // lr only scales Δ.
        let half = trajectory(Adadelta(), from: 1, gradient: 0.5, lr: 0.5, steps: 2)
        assertTrajectory(half, [1 - delta1 / 2, 1 - (delta1 + delta2) / 2])
    }

    /// Each parameter keeps its own state: two parameters stepped together match two stepped alone.
    func testStateIsPerParameter() {
        let together = [parameter([1], gradient: [0.5]), parameter([-1], gradient: [-2])]
        let optimizer = RMSprop(momentum: 0.5, centered: true)
        for _ in 0..<3 { optimizer.step(together, lr: 0.01) }
        let first = trajectory(RMSprop(momentum: 0.5, centered: true), from: 1, gradient: 0.5, lr: 0.01, steps: 3)
        let second = trajectory(RMSprop(momentum: 0.5, centered: true), from: -1, gradient: -2, lr: 0.01, steps: 3)
        XCTAssertEqual(together[0].value[0], first[2])
        XCTAssertEqual(together[1].value[0], second[2])
    }
}
