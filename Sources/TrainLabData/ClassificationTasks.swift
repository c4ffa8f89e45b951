import Foundation
import TrainLabKernels
import TrainLabAutodiff

extension TaskDescriptor {
    static let blobs = TaskDescriptor(
        "blobs", .classification, doc: "Gaussian clusters, balanced",
        options: TaskOption.sizes + [
            TaskOption("input_dim", 2, "feature dimensions"),
            TaskOption("classes", 4, "Gaussian clusters, one per class, balanced exactly"),
            TaskOption("spread", 3, "centres ~ N(0, spread² I)"),
            TaskOption("noise", 1, "std of each cluster around its centre"),
        ]) { try SyntheticTasks.blobs($0, seed: $1) }

    static let spirals = TaskDescriptor(
        "spirals", .classification, doc: "interleaved spiral arms",
        options: TaskOption.sizes + [
            TaskOption("input_dim", 2, "must be 2"),
            TaskOption("classes", 3, "interleaved spiral arms (CS231n layout), balanced exactly"),
            TaskOption("noise", 0.1, "std of the angle noise (radians); x = r·(sin θ, cos θ), r ~ U(0, 1), θ = 2πk/classes + 4r + noise·ε"),
        ]) { try SyntheticTasks.spirals($0, seed: $1) }

    static let teacherClassification = TaskDescriptor(
        "teacher_classification", .classification, doc: "argmax of a random ReLU MLP's normalized logits",
        options: TaskOption.sizes + [
            TaskOption("input_dim", 64, "x ~ N(0, I) in this many dimensions"),
            TaskOption("classes", 10, "label = argmax of a random ReLU teacher's logits, each standardized to mean 0, std 1"),
            TaskOption("teacher_hidden", 64, "teacher width; W1 ~ N(0, 2/input_dim), W2 ~ N(0, 1/teacher_hidden)"),
            TaskOption("noise", 0, "probability that a label is replaced by a uniformly random class"),
        ]) { try SyntheticTasks.teacherClassification($0, seed: $1, pool: $2).data }
}

extension SyntheticTasks {
    /// blobs: K centres c_k ~ N(0, spread² I_d); a row of class k is x = c_k + σε, ε ~ N(0, I_d);
    /// labels balanced exactly (counts differ by at most one) in shuffled order.
    static func blobs(_ options: TaskOptions, seed: UInt64) throws -> TaskData {
        let reader = OptionReader(options: options)
        try reader.check()
        let d = try reader.integer("input_dim", options.inputDim, min: 1)
        let k = try reader.integer("classes", options.classes, min: 2)
        let spread = try reader.extra("spread", in: TaskOptionRanges.spread)
        let sigma = try reader.noise()
        try reader.checkSize(rows: max(options.trainSize, options.valSize, k), width: d, what: "a split")

        var stream = RandomStream(seed: seed, salt: StreamSalt.taskData)
        let centres = (0..<(k * d)).map { _ in spread * stream.normal() }

        func split(_ n: Int) -> Dataset {
            let labels = balancedLabels(count: n, classes: k, stream: &stream)
            let x = Tensor(shape: [n, d])
            for i in 0..<n {
                let c = labels[i] * d
                for j in 0..<d { x[i * d + j] = Float(centres[c + j] + sigma * stream.normal()) }
            }
            return Dataset(inputs: x, targets: .classes(labels))
        }
        let train = split(options.trainSize)
        let validation = options.valSize > 0 ? split(options.valSize) : nil
        let test: Dataset? = options.testSize > 0 ? { stream = RandomStream(seed: options.testSeed, salt: StreamSalt.testRows); return split(options.testSize) }() : nil
        return TaskData(
            kind: .classification, inputDim: d, outputDim: k, train: train, validation: validation, test: test,
            notes: ["chance_accuracy": 1 / Double(k)])
    }

    /// spirals (CS231n layout, arms evenly spaced): a row of class k has r ~ U(0, 1),
    /// θ = 2πk/K + 4r + σε, x = (r sin θ, r cos θ); labels balanced exactly in shuffled order.
    static func spirals(_ options: TaskOptions, seed: UInt64) throws -> TaskData {
        let reader = OptionReader(options: options)
        try reader.check()
        if let d = options.inputDim, d != 2 {
            throw TaskError("task.input_dim: spirals are 2-D, so input_dim must be 2 (got \(d))")
        }
        let k = try reader.integer("classes", options.classes, min: 2)
        let sigma = try reader.noise()
        try reader.checkSize(rows: max(options.trainSize, options.valSize), width: 2, what: "a split")

        var stream = RandomStream(seed: seed, salt: StreamSalt.taskData)
        func split(_ n: Int) -> Dataset {
            let labels = balancedLabels(count: n, classes: k, stream: &stream)
            let x = Tensor(shape: [n, 2])
            for i in 0..<n {
                let r = stream.uniform()
                let theta = 2 * Double.pi * Double(labels[i]) / Double(k) + 4 * r + sigma * stream.normal()
                x[2 * i] = Float(r * sin(theta))
                x[2 * i + 1] = Float(r * cos(theta))
            }
            return Dataset(inputs: x, targets: .classes(labels))
        }
        let train = split(options.trainSize)
        let validation = options.valSize > 0 ? split(options.valSize) : nil
        let test: Dataset? = options.testSize > 0 ? { stream = RandomStream(seed: options.testSeed, salt: StreamSalt.testRows); return split(options.testSize) }() : nil
        return TaskData(
            kind: .classification, inputDim: 2, outputDim: k, train: train, validation: validation, test: test,
            notes: ["chance_accuracy": 1 / Double(k)])
    }

    /// teacher_classification: x ~ N(0, I_d), label = argmax_c z_c with z = relu(x·W1)·W2 + b2
    /// (W1 ~ N(0, 2/d), W2 ~ N(0, 1/h)); each logit is then standardized, z_c ← (z_c − μ_c)/s_c,
    /// with μ_c, s_c measured on 1024 calibration draws, so that classes come out roughly balanced.
    /// With probability `noise` a label is replaced by a uniform random class.
    ///
    /// Drawn in this order: the teacher's weights, the calibration inputs, then per split its
    /// inputs (Float32 Box–Muller, `RandomStream.fillStandardNormals`) and each row's label noise
    /// (a uniform and a class, drawn for every row). The teacher runs in Float32 on the GEMM
    /// kernels, spread over `pool`: the same data for any thread count. Also returns the teacher,
    /// standardized, for tests.
    static func teacherClassification(_ options: TaskOptions, seed: UInt64, pool: ThreadPool) throws
        -> (data: TaskData, teacher: TeacherMLP)
    {
        let reader = OptionReader(options: options)
        try reader.check()
        let d = try reader.integer("input_dim", options.inputDim, min: 1)
        let k = try reader.integer("classes", options.classes, min: 2)
        let h = try reader.extraInteger("teacher_hidden", in: TaskOptionRanges.teacherHidden)
        let flip = try reader.noise(max: 1)
        try reader.checkSize(rows: max(options.trainSize, options.valSize), width: d, what: "a split")
        try reader.checkSize(rows: max(d, k), width: h, what: "the teacher")

        var stream = RandomStream(seed: seed, salt: StreamSalt.taskData)
        var teacher = TeacherMLP(
            inputDim: d, hidden: h, outputDim: k, w1Std: (2 / Double(d)).squareRoot(), b1Std: 0,
            w2Std: 1 / Double(h).squareRoot(), activation: .relu, stream: &stream)

        // Calibration: per-class mean and std of the logits on fresh inputs.
        let calibration = 1024
        let calibrationInputs = Tensor(shape: [calibration, d]), calibrationLogits = Tensor(shape: [calibration, k])
        stream.fillStandardNormals(calibrationInputs.data, count: calibration * d, pool: pool)
        teacher.forward(calibrationInputs.data, rows: calibration, into: calibrationLogits.data, pool: pool)
        var sum = [Double](repeating: 0, count: k), sumSquares = sum
        for i in 0..<calibration {
            for c in 0..<k {
                let z = Double(calibrationLogits[i * k + c])
                sum[c] += z
                sumSquares[c] += z * z
            }
        }
        for c in 0..<k {
            let mean = sum[c] / Double(calibration)
            let std = max((sumSquares[c] / Double(calibration) - mean * mean).squareRoot(), 1e-12)
            for j in 0..<h { teacher.w2[j * k + c] = Float(Double(teacher.w2[j * k + c]) / std) }
            teacher.b2[c] = Float(-mean / std)
        }

        func split(_ n: Int) -> Dataset {
            let x = Tensor(shape: [n, d])
            stream.fillStandardNormals(x.data, count: n * d, pool: pool)
            var labels = [Int](repeating: 0, count: n)
            let logits = Tensor(shape: [min(n, TeacherMLP.blockRows), k])
            for start in stride(from: 0, to: n, by: TeacherMLP.blockRows) {
                let rows = min(TeacherMLP.blockRows, n - start)
                teacher.forward(x.data + start * d, rows: rows, into: logits.data, pool: pool)
                for i in 0..<rows {
                    let z = logits.data + i * k
                    var best = 0
                    for c in 1..<k where z[c] > z[best] { best = c }
                    labels[start + i] = best
                }
            }
            for i in 0..<n {
                // Always draw both, so every row uses the same share of the stream.
                let u = stream.uniform(), random = stream.index(below: k)
                if u < flip { labels[i] = random }
            }
            return Dataset(inputs: x, targets: .classes(labels))
        }
        let train = split(options.trainSize)
        let validation = options.valSize > 0 ? split(options.valSize) : nil
        let test: Dataset? = options.testSize > 0 ? { stream = RandomStream(seed: options.testSeed, salt: StreamSalt.testRows); return split(options.testSize) }() : nil
        let data = TaskData(
            kind: .classification, inputDim: d, outputDim: k, train: train, validation: validation, test: test,
            notes: ["chance_accuracy": 1 / Double(k), "bayes_accuracy": 1 - flip * Double(k - 1) / Double(k)])
        return (data, teacher)
    }
}
