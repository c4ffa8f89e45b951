import Foundation
import XCTest
import TrainLabAutodiff
@testable import TrainLabOptim

/// A full-batch problem f(x) with a hand-written gradient, over Float32 parameters; `evaluate` is
/// the closure the closure optimizers call (it counts its calls).
final class ClosureProblem {
    let parameters: [Parameter]
    let lossAndGradient: ([Double]) -> (loss: Double, gradient: [Double])
    private(set) var evaluations = 0

    /// `sizes` splits x over several parameters, to exercise the flat view.
    init(start: [Double], sizes: [Int], lossAndGradient: @escaping ([Double]) -> (loss: Double, gradient: [Double])) {
        precondition(sizes.reduce(0, +) == start.count)
        var offset = 0
        parameters = sizes.enumerated().map { i, size in
            defer { offset += size }
            return Parameter(name: "x\(i)", value: Tensor(shape: [size], values: start[offset..<offset + size].map { Float($0) }))
        }
        self.lossAndGradient = lossAndGradient
    }

    var x: [Double] { parameters.flatMap { $0.value.scalars.map { Double($0) } } }

    /// ‖∇f‖ at the current parameters (not counted as an evaluation).
    var gradientNorm: Double { lossAndGradient(x).gradient.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    func evaluate() -> Float {
        evaluations += 1
        let (loss, gradient) = lossAndGradient(x)
        var offset = 0
        for p in parameters {
            p.zeroGradient()
            for i in 0..<p.gradient.count { p.gradient[i] += Float(gradient[offset + i]) }
            offset += p.gradient.count
        }
        return Float(loss)
    }
}

enum TestProblems {
    /// A (20 × 5): Aᵢⱼ = (1 + j/2) cos(0.7 (i+1)(j+1) + 0.3 j);  bᵢ = sin(0.9 i) + 0.5.
    static let a: [[Double]] = (0..<20).map { (i: Int) -> [Double] in
        (0..<5).map { (j: Int) -> Double in
            let column = Double(j), angle = 0.7 * Double((i + 1) * (j + 1)) + 0.3 * column
            return (1 + column / 2) * cos(angle)
        }
    }
    static let b: [Double] = (0..<20).map { i in sin(0.9 * Double(i)) + 0.5 }

    /// ½‖A x - b‖², gradient Aᵀ(A x - b).
    static func leastSquares(_ x: [Double]) -> (loss: Double, gradient: [Double]) {
        var gradient = [Double](repeating: 0, count: 5)
        var loss = 0.0
        for i in 0..<20 {
            var residual = -b[i]
            for j in 0..<5 { residual += a[i][j] * x[j] }
            loss += 0.5 * residual * residual
            for j in 0..<5 { gradient[j] += a[i][j] * residual }
        }
        return (loss, gradient)
    }

    /// The minimizer from the normal equations AᵀA x = Aᵀb (Gaussian elimination with partial pivoting).
    static func leastSquaresSolution() -> [Double] {
        var m = (0..<5).map { r in (0..<5).map { c in (0..<20).reduce(0.0) { $0 + a[$1][r] * a[$1][c] } } }
        var rhs = (0..<5).map { r in (0..<20).reduce(0.0) { $0 + a[$1][r] * b[$1] } }
        for col in 0..<5 {
            let pivot = (col..<5).max { abs(m[$0][col]) < abs(m[$1][col]) }!
            m.swapAt(col, pivot)
            rhs.swapAt(col, pivot)
            for row in col + 1..<5 {
                let factor = m[row][col] / m[col][col]
                for c in col..<5 { m[row][c] -= factor * m[col][c] }
                rhs[row] -= factor * rhs[col]
            }
        }
        var x = [Double](repeating: 0, count: 5)
        for row in (0..<5).reversed() {
            let known = (row + 1..<5).reduce(0.0) { $0 + m[row][$1] * x[$1] }
            x[row] = (rhs[row] - known) / m[row][row]
        }
        return x
    }

    /// 40 points, 3 features Xᵢⱼ = 2 sin(1.1 (i+1)(j+1) + 0.5 j); labels from w = (1, -2, 0.5), bias 0.3,
    /// with every 4th label flipped (not separable, so the minimum is finite).
    static let features: [[Double]] = (0..<40).map { (i: Int) -> [Double] in
        (0..<3).map { (j: Int) -> Double in
            let angle = 1.1 * Double((i + 1) * (j + 1)) + 0.5 * Double(j)
            return 2 * sin(angle)
        }
    }
    static let labels: [Double] = features.enumerated().map { i, row in
        let positive = row[0] - 2 * row[1] + 0.5 * row[2] + 0.3 > 0
        return positive != (i % 4 == 1) ? 1 : 0
    }

    /// Mean logistic loss over x = (w₁, w₂, w₃, bias): -mean(y log σ(z) + (1 - y) log(1 - σ(z))),
    /// gradient mean((σ(z) - y) (row, 1)).
    static func logistic(_ x: [Double]) -> (loss: Double, gradient: [Double]) {
        var gradient = [Double](repeating: 0, count: 4)
        var loss = 0.0
        let n = Double(features.count)
        for (row, y) in zip(features, labels) {
            let z = row[0] * x[0] + row[1] * x[1] + row[2] * x[2] + x[3]
            // log(1 + eˣ) without overflow
            let softplus = max(z, 0) + log1p(exp(-abs(z)))
            loss += (softplus - y * z) / n
            let error = 1 / (1 + exp(-z)) - y
            for j in 0..<3 { gradient[j] += error * row[j] / n }
            gradient[3] += error / n
        }
        return (loss, gradient)
    }

    static func leastSquaresProblem() -> ClosureProblem {
        ClosureProblem(start: [0, 0, 0, 0, 0], sizes: [3, 2], lossAndGradient: leastSquares)
    }

    static func logisticProblem() -> ClosureProblem {
        ClosureProblem(start: [0, 0, 0, 0], sizes: [3, 1], lossAndGradient: logistic)
    }
}

final class ClosureOptimizerTests: XCTestCase {
    func assertClose(_ x: [Double], _ expected: [Double], tolerance: Double,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(x.count, expected.count, file: file, line: line)
        for (a, e) in zip(x, expected) { XCTAssertEqual(a, e, accuracy: tolerance, file: file, line: line) }
    }

    // MARK: Line search

    /// On a quadratic the cubic through two points with their slopes is the quadratic itself:
    /// f = (t - 1)², points 0 and 3, minimum at 1; clamped to the bounds when outside them.
    func testCubicInterpolationIsExactOnQuadratics() {
        XCTAssertEqual(StrongWolfe.cubicInterpolate(0, 1, -2, 3, 4, 4), 1, accuracy: 1e-12)
        XCTAssertEqual(StrongWolfe.cubicInterpolate(3, 4, 4, 0, 1, -2), 1, accuracy: 1e-12)
        XCTAssertEqual(StrongWolfe.cubicInterpolate(0, 1, -2, 3, 4, 4, bounds: (2, 5)), 2)
        // f = t³ - 3t has its local minimum at 1.
        XCTAssertEqual(StrongWolfe.cubicInterpolate(0, 0, -3, 2, 2, 9), 1, accuracy: 1e-12)
    }

    /// The accepted step satisfies both strong Wolfe conditions, here on f(t) = (t - 3)² from t = 0.1
    /// (bracketing has to extrapolate).
    func testStrongWolfeStepSatisfiesConditions() {
        let f0 = 9.0, g0 = [-6.0], d = [1.0]
        let result = StrongWolfe.search(objective: { t in ((t - 3) * (t - 3), [2 * (t - 3)]) }, direction: d,
                                        initialStep: 0.1, loss: f0, gradient: g0, directionalDerivative: -6)
        XCTAssertLessThanOrEqual(result.loss, f0 + 1e-4 * result.step * -6)
        XCTAssertLessThanOrEqual(abs(result.gradient[0]), 0.9 * 6)
        XCTAssertEqual(result.loss, (result.step - 3) * (result.step - 3), accuracy: 1e-12)
        XCTAssertLessThanOrEqual(result.evaluations, 4)
    }

    // MARK: L-BFGS

    /// torch's LBFGS with line_search_fn="strong_wolfe" on ½‖Ax - b‖²: the normal-equations
    /// solution within 20 evaluations (12 at the time of writing).
    func testLBFGSStrongWolfeLeastSquares() {
        let problem = TestProblems.leastSquaresProblem()
        let lbfgs = LBFGS(lineSearch: .strongWolfe)
        let initialLoss = lbfgs.step(problem.parameters, lr: 1, evaluate: problem.evaluate)
        XCTAssertEqual(Double(initialLoss), TestProblems.leastSquares([0, 0, 0, 0, 0]).loss, accuracy: 1e-5)
        for _ in 0..<3 where problem.gradientNorm > 1e-4 {
            _ = lbfgs.step(problem.parameters, lr: 1, evaluate: problem.evaluate)
        }
        assertClose(problem.x, TestProblems.leastSquaresSolution(), tolerance: 1e-5)
        XCTAssertLessThanOrEqual(problem.evaluations, 20)
        XCTAssertEqual(lbfgs.evaluations, problem.evaluations)
    }

    /// Without a line search (t = lr after the first iteration) L-BFGS still solves the quadratic.
    func testLBFGSFixedStepLeastSquares() {
        let problem = TestProblems.leastSquaresProblem()
        let lbfgs = LBFGS()
        for _ in 0..<5 where problem.gradientNorm > 1e-4 {
            _ = lbfgs.step(problem.parameters, lr: 1, evaluate: problem.evaluate)
        }
        assertClose(problem.x, TestProblems.leastSquaresSolution(), tolerance: 1e-4)
        XCTAssertLessThanOrEqual(problem.evaluations, 20)
    }

    func testLBFGSLogisticRegression() {
        let problem = TestProblems.logisticProblem()
        let lbfgs = LBFGS(lineSearch: .strongWolfe)
        for _ in 0..<5 where problem.gradientNorm >= 1e-4 {
            _ = lbfgs.step(problem.parameters, lr: 1, evaluate: problem.evaluate)
        }
        XCTAssertLessThan(problem.gradientNorm, 1e-4)
        XCTAssertLessThanOrEqual(problem.evaluations, 15)
    }

    /// torch returns at once, parameters untouched, when max |g| ≤ tolerance_grad.
    func testLBFGSStopsAtAStationaryPoint() {
        let problem = ClosureProblem(start: [0.5, -0.5], sizes: [2]) { x in
            (0.5 * x[0] * x[0] + 0.5 * x[1] * x[1], x)
        }
        let loss = LBFGS(toleranceGrad: 1).step(problem.parameters, lr: 1, evaluate: problem.evaluate)
        XCTAssertEqual(loss, 0.25)
        XCTAssertEqual(problem.x, [0.5, -0.5])
        XCTAssertEqual(problem.evaluations, 1)
    }

    // MARK: Conjugate gradient

    /// Nonlinear CG on a 5-dimensional quadratic: about n = 5 iterations with a near-exact line search.
    func testConjugateGradientLeastSquares() {
        let problem = TestProblems.leastSquaresProblem()
        let cg = ConjugateGradient()
        for _ in 0..<3 where problem.gradientNorm > 1e-4 {
            _ = cg.step(problem.parameters, lr: 1, evaluate: problem.evaluate)
        }
        assertClose(problem.x, TestProblems.leastSquaresSolution(), tolerance: 1e-5)
        XCTAssertLessThanOrEqual(cg.iterations, 10)
        XCTAssertLessThanOrEqual(problem.evaluations, 20)
    }

    func testConjugateGradientLogisticRegression() {
        let problem = TestProblems.logisticProblem()
        let cg = ConjugateGradient()
        for _ in 0..<5 where problem.gradientNorm >= 1e-4 {
            _ = cg.step(problem.parameters, lr: 1, evaluate: problem.evaluate)
        }
        XCTAssertLessThan(problem.gradientNorm, 1e-4)
        XCTAssertLessThanOrEqual(problem.evaluations, 30)
    }

    // MARK: Newton

    /// On a quadratic the Newton step is exact up to the finite-difference Hessian-vector
    /// products: one step lands near the minimum, the second on it.
    func testNewtonLeastSquaresInTwoSteps() {
        let problem = TestProblems.leastSquaresProblem()
        let newton = Newton()
        let solution = TestProblems.leastSquaresSolution()
        _ = newton.step(problem.parameters, lr: 1, evaluate: problem.evaluate)
        assertClose(problem.x, solution, tolerance: 1e-4)
        _ = newton.step(problem.parameters, lr: 1, evaluate: problem.evaluate)
        assertClose(problem.x, solution, tolerance: 1e-6)
        XCTAssertLessThan(problem.gradientNorm, 1e-6)
    }

    /// Quadratic convergence on logistic regression: once close, ‖g_{k+1}‖ ≤ C ‖g_k‖² (C = 5; exact
    /// Newton in Float64 gives 0.0376 → 0.00218 → 1.0e-5 here, C ≈ 2), down to ‖g‖ < 1e-7 (near
    /// Float32's floor) within 6 steps.
    func testNewtonLogisticRegressionConvergesQuadratically() {
        let problem = TestProblems.logisticProblem()
        let newton = Newton()
        var norms = [problem.gradientNorm]
        for _ in 0..<6 {
            _ = newton.step(problem.parameters, lr: 1, evaluate: problem.evaluate)
            norms.append(problem.gradientNorm)
        }
        print("Newton logistic ‖g‖ per step:", norms.map { String(format: "%.2e", $0) }.joined(separator: " "))
        // Steps from 1e-4 < ‖g‖ < 0.05 (close, and with a successor above the Float32 floor) square the norm.
        var squaredSteps = 0
        for k in 0..<norms.count - 1 where norms[k] < 0.05 && norms[k] > 1e-4 {
            XCTAssertLessThanOrEqual(norms[k + 1], 5 * norms[k] * norms[k], "step \(k + 1): \(norms[k]) → \(norms[k + 1])")
            squaredSteps += 1
        }
        XCTAssertGreaterThanOrEqual(squaredSteps, 2)
        XCTAssertLessThan(norms.last!, 1e-7)
    }

    /// Damping: on f = ½ h x² the step is -(h + λ)⁻¹ h x, so h = λ = 2 halves x (the full step
    /// passes the Armijo test).
    func testNewtonDampedStep() {
        let problem = ClosureProblem(start: [1], sizes: [1]) { x in (x[0] * x[0], [2 * x[0]]) }
        _ = Newton(damping: 2).step(problem.parameters, lr: 1, evaluate: problem.evaluate)
        XCTAssertEqual(problem.x[0], 0.5, accuracy: 1e-5)
    }

    /// Negative curvature (f = -½x² + ¼x⁴ at x = 0.1, f'' < 0) makes the direction -g; the full
    /// step x = 0.1 + 0.099 decreases f enough to be taken.
    func testNewtonNegativeCurvatureFallsBackToGradientDescent() {
        let problem = ClosureProblem(start: [0.1], sizes: [1]) { x in
            (-0.5 * x[0] * x[0] + 0.25 * pow(x[0], 4), [-x[0] + pow(x[0], 3)])
        }
        _ = Newton().step(problem.parameters, lr: 1, evaluate: problem.evaluate)
        XCTAssertEqual(problem.x[0], 0.199, accuracy: 1e-6)
    }

    /// Newton refuses models above its documented limit before the first step.
    func testNewtonRefusesTooManyParameters() throws {
        let newton: any ClosureOptimizer = Newton()
        XCTAssertNoThrow(try newton.validate(parameterCount: Newton.maximumParameterCount))
        XCTAssertThrowsError(try newton.validate(parameterCount: Newton.maximumParameterCount + 1)) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains("newton") && message.contains("20000") && message.contains("20001"), message)
        }
        XCTAssertThrowsError(try Newton.validate(parameterCount: 1_000_000))
        // The other closure optimizers accept any size.
        XCTAssertNoThrow(try (LBFGS() as any ClosureOptimizer).validate(parameterCount: 1_000_000))
    }
}
