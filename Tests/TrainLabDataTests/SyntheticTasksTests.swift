import XCTest
import TrainLabKernels
import TrainLabAutodiff
@testable import TrainLabData

final class SyntheticTasksTests: XCTestCase {
    func options(_ kind: String, train: Int = 64, val: Int = 16, _ configure: (inout TaskOptions) -> Void = { _ in }) -> TaskOptions {
        var o = TaskOptions(kind: kind)
        o.trainSize = train
        o.valSize = val
        configure(&o)
        return o
    }

    /// All values of a split as bit patterns (inputs, then targets).
    func bits(_ d: Dataset) -> [UInt64] {
        var out = d.inputs.scalars.map { UInt64($0.bitPattern) }
        switch d.targets {
        case .real(let t): out += t.scalars.map { UInt64($0.bitPattern) }
        case .classes(let ids): out += ids.map { UInt64(bitPattern: Int64($0)) }
        }
        return out
    }

    /// What each descriptor declares (target kind, items per row) is what its make function builds.
    func testDescriptorsDescribeTheirData() throws {
        XCTAssertEqual(Set(SyntheticTasks.names).count, SyntheticTasks.registry.count, "task names are distinct")
        for descriptor in SyntheticTasks.registry {
            let taskOptions = options(descriptor.name)
            let task = try SyntheticTasks.make(taskOptions, seed: 1)
            XCTAssertEqual(task.kind, descriptor.kind, descriptor.name)
            XCTAssertEqual(task.groupSize, descriptor.groupSize(taskOptions), descriptor.name)
            XCTAssertFalse(descriptor.doc.isEmpty || descriptor.doc.contains("\n"), descriptor.name)
        }
    }

    func testShapesForEachKind() throws {
        let expected: [String: (kind: TaskKind, input: Int, output: Int)] = [
            "linear_regression": (.regression, 16, 1), "teacher_regression": (.regression, 16, 1),
            "blobs": (.classification, 2, 4), "spirals": (.classification, 2, 3),
            "teacher_classification": (.classification, 64, 10),
        ]
        // Grouped (ranking, metric) and sequence tasks have layouts of their own, tested beside them.
        XCTAssertTrue(Set(expected.keys).isSubset(of: Set(SyntheticTasks.names)))
        for name in expected.keys.sorted() {
            let task = try SyntheticTasks.make(options(name), seed: 1)
            let e = try XCTUnwrap(expected[name])
            XCTAssertEqual(task.kind, e.kind, name)
            XCTAssertEqual(task.inputDim, e.input, name)
            XCTAssertEqual(task.outputDim, e.output, name)
            for (split, n) in [(task.train, 64), (try XCTUnwrap(task.validation), 16)] {
                XCTAssertEqual(split.count, n, name)
                XCTAssertEqual(split.inputs.shape, [n, e.input], name)
                XCTAssert(split.inputs.scalars.allSatisfy { $0.isFinite }, name)
                switch split.targets {
                case .real(let t):
                    XCTAssertEqual(e.kind, .regression, name)
                    XCTAssertEqual(t.shape, [n, e.output], name)
                    XCTAssert(t.scalars.allSatisfy { $0.isFinite }, name)
                case .classes(let ids):
                    XCTAssertEqual(e.kind, .classification, name)
                    XCTAssertEqual(ids.count, n, name)
                    XCTAssert(ids.allSatisfy { (0..<e.output).contains($0) }, name)
                }
            }
            XCTAssertNil(try SyntheticTasks.make(options(name, val: 0), seed: 1).validation, name)
        }
        let wide = try SyntheticTasks.make(options("linear_regression") { $0.inputDim = 5; $0.outputDim = 3 }, seed: 0)
        XCTAssertEqual(wide.train.inputs.shape, [64, 5])
        XCTAssertEqual(wide.train.targetsTensor.shape, [64, 3])
        XCTAssertEqual(wide.notes["bayes_mse"]!, 0.01, accuracy: 1e-12)
    }

    func testDeterministicFromSeed() throws {
        for name in SyntheticTasks.names {
            let a = try SyntheticTasks.make(options(name), seed: 42)
            let b = try SyntheticTasks.make(options(name), seed: 42)
            let c = try SyntheticTasks.make(options(name), seed: 43)
            XCTAssertEqual(bits(a.train), bits(b.train), name)
            XCTAssertEqual(bits(a.validation!), bits(b.validation!), name)
            XCTAssertNotEqual(bits(a.train), bits(c.train), name)
            XCTAssertNotEqual(bits(a.validation!), bits(c.validation!), name)
        }
    }

    /// Pinned values: the same data on every platform (SplitMix64 + Box–Muller, no system RNG).
    func testPinnedValues() throws {
        let task = try SyntheticTasks.make(options("linear_regression", train: 2, val: 0), seed: 0)
        XCTAssertEqual(task.train.inputs.scalars.prefix(4).map(\.bitPattern), [3198783970, 1059331357, 1051869860, 1045755064])
    }

    func testTrainSetIndependentOfValidationSize() throws {
        for name in SyntheticTasks.names {
            let without = try SyntheticTasks.make(options(name, val: 0), seed: 7)
            let with = try SyntheticTasks.make(options(name, val: 100), seed: 7)
            XCTAssertEqual(bits(without.train), bits(with.train), name)
        }
    }

    /// Least squares on 4096 rows recovers W* and b*: each coefficient's estimate has std
    /// ≈ σ/√N (x ~ N(0, I)), so 6σ/√N bounds every error with overwhelming probability;
    /// the residual mean square estimates σ² (the Bayes MSE).
    func testLinearRegressionLeastSquaresRecoversWeights() throws {
        let (n, d, m, sigma) = (4096, 16, 2, 0.1)
        let o = options("linear_regression", train: n, val: 0) { $0.inputDim = d; $0.outputDim = m; $0.noise = sigma }
        let (task, weights, bias) = try SyntheticTasks.linearRegression(o, seed: 3)
        let x = task.train.inputs, y = task.train.targetsTensor
        // Normal equations A β = Xᵀy with X = [x, 1] (p = d + 1 columns), solved by Gaussian elimination.
        let p = d + 1
        var a = [Double](repeating: 0, count: p * p), rhs = [Double](repeating: 0, count: p * m)
        var row = [Double](repeating: 1, count: p)
        for i in 0..<n {
            for j in 0..<d { row[j] = Double(x[i * d + j]) }
            for r in 0..<p {
                for c in 0..<p { a[r * p + c] += row[r] * row[c] }
                for k in 0..<m { rhs[r * m + k] += row[r] * Double(y[i * m + k]) }
            }
        }
        for col in 0..<p {
            let pivot = (col..<p).max { abs(a[$0 * p + col]) < abs(a[$1 * p + col]) }!
            for c in 0..<p { a.swapAt(col * p + c, pivot * p + c) }
            for k in 0..<m { rhs.swapAt(col * m + k, pivot * m + k) }
            for r in 0..<p where r != col {
                let f = a[r * p + col] / a[col * p + col]
                for c in 0..<p { a[r * p + c] -= f * a[col * p + c] }
                for k in 0..<m { rhs[r * m + k] -= f * rhs[col * m + k] }
            }
        }
        let tolerance = 6 * sigma / Double(n).squareRoot()
        for k in 0..<m {
            for j in 0..<d {
                XCTAssertEqual(rhs[j * m + k] / a[j * p + j], weights[j * m + k], accuracy: tolerance, "W*[\(j), \(k)]")
            }
            XCTAssertEqual(rhs[d * m + k] / a[d * p + d], bias[k], accuracy: tolerance, "b*[\(k)]")
        }
        // Residual mean square of the true model ≈ σ² (relative std √(2/(N·m)) ≈ 1.6%).
        var sse = 0.0
        for i in 0..<n {
            for k in 0..<m {
                var s = bias[k]
                for j in 0..<d { s += Double(x[i * d + j]) * weights[j * m + k] }
                sse += (Double(y[i * m + k]) - s) * (Double(y[i * m + k]) - s)
            }
        }
        XCTAssertEqual(sse / Double(n * m), task.notes["bayes_mse"]!, accuracy: 0.1 * sigma * sigma)
    }

    func testBlobsAndSpiralsClassBalanceIsExact() throws {
        for name in ["blobs", "spirals"] {
            let task = try SyntheticTasks.make(options(name, train: 1000, val: 101) { $0.classes = 3 }, seed: 5)
            for (split, n) in [(task.train, 1000), (task.validation!, 101)] {
                guard case .classes(let ids) = split.targets else { return XCTFail(name) }
                var counts = [0, 0, 0]
                for id in ids { counts[id] += 1 }
                XCTAssertEqual(counts.sorted(), (0..<3).map { n / 3 + ($0 >= 3 - n % 3 ? 1 : 0) }, name)
                XCTAssertNotEqual(Array(ids.prefix(6)), [0, 1, 2, 0, 1, 2], "\(name): labels are shuffled")
            }
        }
    }

    func testBlobsClusterAroundTheirCentres() throws {
        // With spread 10 and unit noise, class means sit far apart and within-class std is ≈ 1.
        let task = try SyntheticTasks.make(options("blobs", train: 800, val: 0) { $0.extra["spread"] = 10 }, seed: 9)
        guard case .classes(let ids) = task.train.targets else { return XCTFail() }
        let x = task.train.inputs
        var mean = [[Double]](repeating: [0, 0], count: 4), sq = [Double](repeating: 0, count: 4)
        for i in 0..<800 { for j in 0..<2 { mean[ids[i]][j] += Double(x[2 * i + j]) / 200 } }
        for i in 0..<800 { for j in 0..<2 { sq[ids[i]] += pow(Double(x[2 * i + j]) - mean[ids[i]][j], 2) / 400 } }
        for c in 0..<4 { XCTAssertEqual(sq[c], 1, accuracy: 0.2) }
    }

    func testSpiralsRadiusAndTeacherClassesRoughlyBalanced() throws {
        let spirals = try SyntheticTasks.make(options("spirals", train: 300, val: 0), seed: 2)
        for i in 0..<300 {
            let r = hypot(spirals.train.inputs[2 * i], spirals.train.inputs[2 * i + 1])
            XCTAssert(r >= 0 && r < 1.0001)
        }
        let teacher = try SyntheticTasks.make(options("teacher_classification", train: 2000, val: 0), seed: 4)
        guard case .classes(let ids) = teacher.train.targets else { return XCTFail() }
        var counts = [Int](repeating: 0, count: 10)
        for id in ids { counts[id] += 1 }
        XCTAssert(counts.allSatisfy { $0 >= 60 }, "teacher classes too unbalanced: \(counts)")
        XCTAssertEqual(teacher.notes["bayes_accuracy"], 1)
    }

    func testBadOptionsThrow() {
        let bad: [(TaskOptions, String)] = [
            (options("blobs") { $0.classes = 1 }, "task.classes"),
            (options("spirals") { $0.inputDim = 3 }, "task.input_dim"),
            (options("linear_regression") { $0.noise = -1 }, "task.noise"),
            (options("linear_regression") { $0.classes = 3 }, "task.classes"),
            (options("blobs") { $0.outputDim = 3 }, "task.output_dim"),
            (options("blobs") { $0.extra["spred"] = 2 }, "did you mean 'spread'"),
            (options("teacher_regression") { $0.extra["teacher_hidden"] = 2.5 }, "task.teacher_hidden"),
            (options("teacher_classification") { $0.noise = 1.5 }, "task.noise"),
            (options("linear_regression", train: 0), "task.train_size"),
            (options("linear_regression", val: -1), "task.val_size"),
            (options("linear_regression", train: 1 << 20) { $0.inputDim = 1 << 16 }, "task.train_size"),
            (options("blobz"), "did you mean 'blobs'"),
        ]
        for (o, fragment) in bad {
            XCTAssertThrowsError(try SyntheticTasks.make(o, seed: 0)) { error in
                let message = (error as? TaskError)?.message ?? ""
                XCTAssert(message.contains(fragment), "'\(message)' lacks '\(fragment)'")
            }
        }
    }

    func testGatherCopiesRows() throws {
        let reg = try SyntheticTasks.make(options("linear_regression", train: 10, val: 0) { $0.inputDim = 3; $0.outputDim = 2 }, seed: 1)
        let x = Tensor(shape: [3, 3]), y = Tensor(shape: [3, 2])
        var unused: [Int] = []
        let rows = [7, 0, 7]
        reg.train.gather(rows[...], inputs: x, realTargets: y, classTargets: &unused)
        let sx = reg.train.inputs.scalars, sy = reg.train.targetsTensor.scalars
        for (b, i) in rows.enumerated() {
            XCTAssertEqual(Array(x.scalars[(b * 3)..<(b * 3 + 3)]), Array(sx[(i * 3)..<(i * 3 + 3)]))
            XCTAssertEqual(Array(y.scalars[(b * 2)..<(b * 2 + 2)]), Array(sy[(i * 2)..<(i * 2 + 2)]))
        }
        XCTAssertTrue(unused.isEmpty)

        let cls = try SyntheticTasks.make(options("blobs", train: 10, val: 0), seed: 1)
        guard case .classes(let ids) = cls.train.targets else { return XCTFail() }
        let bx = Tensor(shape: [2, 2])
        var labels = [-1, -1]
        let picked = [3, 9, 4]
        cls.train.gather(picked[1...], inputs: bx, realTargets: nil, classTargets: &labels)
        XCTAssertEqual(labels, [ids[9], ids[4]])
        XCTAssertEqual(bx.scalars, [cls.train.inputs[18], cls.train.inputs[19], cls.train.inputs[8], cls.train.inputs[9]])

        // Token targets: T ids per row.
        let seq = Dataset(inputs: Tensor(shape: [3, 1], values: [0, 1, 2]), targets: .classes([10, 11, 20, 21, 30, 31]))
        var tokens: [Int] = []
        seq.gather([2, 0][...], inputs: Tensor(shape: [2, 1]), realTargets: nil, classTargets: &tokens)
        XCTAssertEqual(tokens, [30, 31, 10, 11])
    }
}

extension SyntheticTasksTests {
    /// Every task gives the same bits on one thread and on three (the teacher tasks split their
    /// normals and GEMMs over the pool; 4096 rows are enough for both to be split).
    func testSameDataForAnyThreadCount() throws {
        for name in SyntheticTasks.names {
            let one = try SyntheticTasks.make(options(name, train: 4096, val: 64), seed: 8, pool: .serial)
            let three = try SyntheticTasks.make(options(name, train: 4096, val: 64), seed: 8, pool: ThreadPool(threads: 3))
            XCTAssertEqual(bits(one.train), bits(three.train), name)
            XCTAssertEqual(bits(one.validation!), bits(three.validation!), name)
        }
    }

    /// The held-out test split: rows of their own (a stream from `testSeed`), the task's own
    /// parameters; asking for it changes neither the training nor the validation rows.
    func testTheTestSplitHasItsOwnRowsAndTheTasksParameters() throws {
        let plain = try SyntheticTasks.linearRegression(options("linear_regression") { $0.noise = 0 }, seed: 5)
        let withTest = try SyntheticTasks.linearRegression(options("linear_regression") {
            $0.noise = 0
            $0.testSize = 24
            $0.testSeed = 99
        }, seed: 5)
        XCTAssertNil(plain.data.test)
        XCTAssertEqual(bits(withTest.data.train), bits(plain.data.train))
        XCTAssertEqual(bits(try XCTUnwrap(withTest.data.validation)), bits(try XCTUnwrap(plain.data.validation)))
        let test = try XCTUnwrap(withTest.data.test)
        XCTAssertEqual(test.count, 24)
        XCTAssertEqual(withTest.weights, plain.weights, "the same task")
        // Noise 0: every test row's target is x·W + b with the task's weights (Float32 rounding).
        guard case .real(let y) = test.targets else { return XCTFail("regression targets") }
        let d = test.inputs.shape[1], m = y.shape[1]
        for i in 0..<test.count {
            for k in 0..<m {
                var s = withTest.bias[k]
                for j in 0..<d { s += Double(test.inputs.scalars[i * d + j]) * withTest.weights[j * m + k] }
                XCTAssertEqual(Double(y.scalars[i * m + k]), s, accuracy: 1e-4)
            }
        }
        let validationInputs = Set(try XCTUnwrap(withTest.data.validation).inputs.scalars.map(\.bitPattern))
        XCTAssertTrue(test.inputs.scalars.allSatisfy { !validationInputs.contains($0.bitPattern) }, "new rows, not validation ones")
        let otherSeed = try SyntheticTasks.linearRegression(options("linear_regression") { $0.testSize = 24; $0.testSeed = 100 }, seed: 5)
        XCTAssertNotEqual(bits(try XCTUnwrap(otherSeed.data.test)), bits(test), "its own data seed")
        // Every synthetic task honours it.
        for name in SyntheticTasks.names {
            let data = try SyntheticTasks.make(options(name) { $0.testSize = 8; $0.testSeed = 1 }, seed: 2)
            XCTAssertEqual(data.test?.count ?? 0 > 0, true, name)
        }
    }
}
