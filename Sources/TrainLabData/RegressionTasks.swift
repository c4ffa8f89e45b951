import TrainLabAutodiff

extension TaskDescriptor {
    static let linearRegression = TaskDescriptor(
        "linear_regression", .regression, doc: "y = xW* + b* + noise·ε; the Bayes MSE is noise²",
        options: TaskOption.sizes + [
            TaskOption("input_dim", 16, "x ~ N(0, I) in this many dimensions"),
            TaskOption("output_dim", 1, "target width; y = x·W* + b* + noise·ε, W* ~ N(0, 1/input_dim), b* ~ N(0, 1)"),
            TaskOption("noise", 0.1, "std of the target noise ε ~ N(0, 1); Bayes MSE = noise²"),
        ]) { try SyntheticTasks.linearRegression($0, seed: $1).data }

    static let teacherRegression = TaskDescriptor(
        "teacher_regression", .regression, doc: "a random tanh MLP of x, plus noise",
        options: TaskOption.sizes + [
            TaskOption("input_dim", 16, "x ~ N(0, I) in this many dimensions"),
            TaskOption("output_dim", 1, "target width; y = tanh(x·W1 + b1)·W2 + noise·ε"),
            TaskOption("teacher_hidden", 32, "teacher width; W1 ~ N(0, 1/input_dim), b1 ~ N(0, 1/4), W2 ~ N(0, 1/teacher_hidden)"),
            TaskOption("noise", 0.05, "std of the target noise; Bayes MSE = noise²"),
        ]) { try SyntheticTasks.teacherRegression($0, seed: $1) }
}

extension SyntheticTasks {
    /// linear_regression: x ~ N(0, I_d), y = x·W* + b* + σε, W* ~ N(0, 1/d) (d×m), b* ~ N(0, 1),
    /// ε ~ N(0, I_m). Also returns W* (row-major d×m) and b*, for tests.
    static func linearRegression(_ options: TaskOptions, seed: UInt64) throws
        -> (data: TaskData, weights: [Double], bias: [Double])
    {
        let reader = OptionReader(options: options)
        try reader.check()
        let d = try reader.integer("input_dim", options.inputDim, min: 1)
        let m = try reader.integer("output_dim", options.outputDim, min: 1)
        let sigma = try reader.noise()
        try reader.checkSize(rows: max(options.trainSize, options.valSize), width: max(d, m), what: "a split")

        var stream = RandomStream(seed: seed, salt: StreamSalt.taskData)
        let scale = 1 / Double(d).squareRoot()
        let weights = (0..<(d * m)).map { _ in scale * stream.normal() }
        let bias = (0..<m).map { _ in stream.normal() }

        func split(_ n: Int) -> Dataset {
            let x = Tensor(shape: [n, d]), y = Tensor(shape: [n, m])
            var row = [Double](repeating: 0, count: d)
            for i in 0..<n {
                drawGaussianRow(x, row: i, values: &row, stream: &stream)
                for k in 0..<m {
                    var s = bias[k]
                    for j in 0..<d { s += row[j] * weights[j * m + k] }
                    y[i * m + k] = Float(s + sigma * stream.normal())
                }
            }
            return Dataset(inputs: x, targets: .real(y))
        }
        let train = split(options.trainSize)
        let validation = options.valSize > 0 ? split(options.valSize) : nil
        let data = TaskData(
            kind: .regression, inputDim: d, outputDim: m, train: train, validation: validation,
            notes: ["bayes_mse": sigma * sigma, "train_target_variance": meanColumnVariance(train.targetsTensor)])
        return (data, weights, bias)
    }

    /// teacher_regression: x ~ N(0, I_d), y = tanh(x·W1 + b1)·W2 + σε with a random teacher
    /// (W1 ~ N(0, 1/d), b1 ~ N(0, 1/4), W2 ~ N(0, 1/h)).
    static func teacherRegression(_ options: TaskOptions, seed: UInt64) throws -> TaskData {
        let reader = OptionReader(options: options)
        try reader.check()
        let d = try reader.integer("input_dim", options.inputDim, min: 1)
        let m = try reader.integer("output_dim", options.outputDim, min: 1)
        let h = try reader.extraInteger("teacher_hidden", in: TaskOptionRanges.teacherHidden)
        let sigma = try reader.noise()
        try reader.checkSize(rows: max(options.trainSize, options.valSize), width: max(d, m), what: "a split")
        try reader.checkSize(rows: d, width: max(h, m), what: "the teacher")

        var stream = RandomStream(seed: seed, salt: StreamSalt.taskData)
        let teacher = TeacherMLP(
            inputDim: d, hidden: h, outputDim: m, w1Std: 1 / Double(d).squareRoot(), b1Std: 0.5,
            w2Std: 1 / Double(h).squareRoot(), relu: false, stream: &stream)

        func split(_ n: Int) -> Dataset {
            let x = Tensor(shape: [n, d]), y = Tensor(shape: [n, m])
            var row = [Double](repeating: 0, count: d)
            var hidden = [Double](repeating: 0, count: h)
            var out = [Double](repeating: 0, count: m)
            for i in 0..<n {
                drawGaussianRow(x, row: i, values: &row, stream: &stream)
                teacher.forward(row, hiddenScratch: &hidden, into: &out)
                for k in 0..<m { y[i * m + k] = Float(out[k] + sigma * stream.normal()) }
            }
            return Dataset(inputs: x, targets: .real(y))
        }
        let train = split(options.trainSize)
        let validation = options.valSize > 0 ? split(options.valSize) : nil
        return TaskData(
            kind: .regression, inputDim: d, outputDim: m, train: train, validation: validation,
            notes: ["bayes_mse": sigma * sigma, "train_target_variance": meanColumnVariance(train.targetsTensor)])
    }
}

extension Dataset {
    /// The real targets' tensor (an empty one for class targets).
    var targetsTensor: Tensor {
        if case .real(let t) = targets { return t }
        return Tensor(shape: [0, 1])
    }
}
