import TrainLabAutodiff

extension SyntheticTasks {
    /// linear_regression: x ~ N(0, I_d), y = x·W* + b* + σε, W* ~ N(0, 1/d) (d×m), b* ~ N(0, 1),
    /// ε ~ N(0, I_m). Also returns W* (row-major d×m) and b*, for tests.
    static func linearRegression(_ options: TaskOptions, seed: UInt64) throws
        -> (data: TaskData, weights: [Double], bias: [Double])
    {
        let reader = OptionReader(options: options)
        try reader.check(takesOutputDim: true)
        let d = try reader.integer("input_dim", options.inputDim, default: 16, min: 1)
        let m = try reader.integer("output_dim", options.outputDim, default: 1, min: 1)
        let sigma = try reader.noise(default: 0.1)
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
        try reader.check(takesOutputDim: true, extras: ["teacher_hidden"])
        let d = try reader.integer("input_dim", options.inputDim, default: 16, min: 1)
        let m = try reader.integer("output_dim", options.outputDim, default: 1, min: 1)
        let h = try reader.extraInteger("teacher_hidden", default: 32, in: TaskOptionRanges.teacherHidden)
        let sigma = try reader.noise(default: 0.05)
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
