import XCTest
import TrainLabKernels
import TrainLabAutodiff
@testable import TrainLabData

/// The teacher tasks, generated in Float32 on the kernels, checked by distribution against the
/// documented definitions recomputed in Float64 (not by pinned values).
final class TeacherTasksTests: XCTestCase {
    func options(_ kind: String, train: Int, _ configure: (inout TaskOptions) -> Void = { _ in }) -> TaskOptions {
        var o = TaskOptions(kind: kind)
        o.trainSize = train
        o.valSize = 0
        configure(&o)
        return o
    }

    /// act(x·W1 + b1)·W2 + b2 for row `row` of `x`, in Float64 from the Float32 inputs and weights.
    func teacherOutputs(_ teacher: TeacherMLP, _ x: Tensor, row: Int) -> [Double] {
        let (d, h, o) = (teacher.inputDim, teacher.hidden, teacher.outputDim)
        var y = teacher.b2.map(Double.init)
        for j in 0..<h {
            var a = Double(teacher.b1[j])
            for i in 0..<d { a += Double(x[row * d + i]) * Double(teacher.w1[i * h + j]) }
            a = teacher.activation == .relu ? max(a, 0) : Foundation.tanh(a)
            for c in 0..<o { y[c] += a * Double(teacher.w2[j * o + c]) }
        }
        return y
    }

    /// Mean and population variance of all values.
    func moments(_ values: [Float]) -> (mean: Double, variance: Double) {
        let n = Double(values.count)
        let mean = values.reduce(0.0) { $0 + Double($1) } / n
        return (mean, values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n)
    }

    /// Inputs ~ N(0, 1): over 4096 × 64 values the mean's standard error is 0.002 and the
    /// variance's 0.003, so 0.01 and 0.015 are five of them. Labels are the argmax of the teacher's
    /// standardized logits recomputed in Float64: Float32 rounding can only flip a near-tie
    /// (margin below 1e-4 here), so at most 0.1% of rows may differ, and only at such a margin.
    func testClassificationInputsAreStandardNormalAndLabelsTheTeachersArgmax() throws {
        let (task, teacher) = try SyntheticTasks.teacherClassification(options("teacher_classification", train: 4096), seed: 11,
                                                                          pool: ThreadPool(threads: 2))
        let x = task.train.inputs
        let (mean, variance) = moments(x.scalars)
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, 1, accuracy: 0.015)
        guard case .classes(let labels) = task.train.targets else { return XCTFail("class targets") }
        var differing = 0
        var counts = [Int](repeating: 0, count: 10)
        for row in 0..<4096 {
            let z = teacherOutputs(teacher, x, row: row)
            let best = z.indices.max { z[$0] < z[$1] }!
            counts[labels[row]] += 1
            if labels[row] != best {
                differing += 1
                XCTAssertLessThan(z[best] - z[labels[row]], 1e-4, "row \(row): a label away from the teacher's argmax is a near-tie")
            }
        }
        XCTAssertLessThanOrEqual(differing, 4)
        // Standardized logits keep every class frequent (chance 10%).
        XCTAssert(counts.allSatisfy { $0 >= 4096 * 3 / 100 }, "classes too unbalanced: \(counts)")
    }

    /// Label noise p replaces a label by a uniform class, so a share p·(K−1)/K = 0.27 of labels
    /// (p = 0.3, K = 10) leave the teacher's argmax; over 8192 rows its standard error is 0.005.
    func testClassificationNoiseFlipsTheDocumentedShare() throws {
        let (task, teacher) = try SyntheticTasks.teacherClassification(
            options("teacher_classification", train: 8192) { $0.noise = 0.3 }, seed: 5, pool: .serial)
        guard case .classes(let labels) = task.train.targets else { return XCTFail("class targets") }
        var away = 0
        for row in 0..<8192 {
            let z = teacherOutputs(teacher, task.train.inputs, row: row)
            if labels[row] != z.indices.max(by: { z[$0] < z[$1] })! { away += 1 }
        }
        XCTAssertEqual(Double(away) / 8192, 0.27, accuracy: 0.025)
        XCTAssertEqual(task.notes["bayes_accuracy"]!, 0.73, accuracy: 1e-12)
    }

    /// y − teacher(x) is the noise σε: mean 0 and standard deviation σ = 0.05 (8192 rows:
    /// standard errors 0.0006 and 0.0004, the kernels' tanh and GEMM add ~1e-6); the inputs are N(0, 1).
    func testRegressionTargetsAreTheTeacherPlusNoise() throws {
        let (task, teacher) = try SyntheticTasks.teacherRegression(options("teacher_regression", train: 8192), seed: 3,
                                                                      pool: ThreadPool(threads: 3))
        let (mean, variance) = moments(task.train.inputs.scalars)
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, 1, accuracy: 0.015)
        let y = task.train.targetsTensor
        let residuals = (0..<8192).map { row in Float(Double(y[row]) - teacherOutputs(teacher, task.train.inputs, row: row)[0]) }
        let noise = moments(residuals)
        XCTAssertEqual(noise.mean, 0, accuracy: 0.003)
        XCTAssertEqual(noise.variance.squareRoot(), 0.05, accuracy: 0.002)
        XCTAssertEqual(task.notes["bayes_mse"]!, 0.0025, accuracy: 1e-12)
    }
}
