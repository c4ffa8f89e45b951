import TrainLabKernels
import TrainLabAutodiff

extension TaskDescriptor {
    static let linearRegression = TaskDescriptor(
        "linear_regression", .regression, doc: "y = xW* + b* + noise·ε; the Bayes MSE is noise²",
        options: TaskOption.sizes + [
            TaskOption("input_dim", 16, "x ~ N(0, I) in this many dimensions"),
            TaskOption("output_dim", 1, "target width; y = x·W* + b* + noise·ε, W* ~ N(0, 1/input_dim), b* ~ N(0, 1)"),
            TaskOption("noise", 0.1, "std of the target noise ε ~ N(0, 1); Bayes MSE = noise²"),
            TaskOption("condition_number", 1.0,
                       "κ of the input covariance: eigenvalues log-spaced from 1 to κ, eigenvectors a random reflection (1: x ~ N(0, I))"),
        ]) { try SyntheticTasks.linearRegression($0, seed: $1).data }

    static let teacherRegression = TaskDescriptor(
        "teacher_regression", .regression, doc: "a random tanh MLP of x, plus noise",
        options: TaskOption.sizes + [
            TaskOption("input_dim", 16, "x ~ N(0, I) in this many dimensions"),
            TaskOption("output_dim", 1, "target width; y = tanh(x·W1 + b1)·W2 + noise·ε"),
            TaskOption("teacher_hidden", 32, "teacher width; W1 ~ N(0, 1/input_dim), b1 ~ N(0, 1/4), W2 ~ N(0, 1/teacher_hidden)"),
            TaskOption("noise", 0.05, "std of the target noise; Bayes MSE = noise²"),
        ]) { try SyntheticTasks.teacherRegression($0, seed: $1, pool: $2).data }
}

extension SyntheticTasks {
    /// linear_regression: x ~ N(0, I_d), y = x·W* + b* + σε, W* ~ N(0, 1/d) (d×m), b* ~ N(0, 1),
    /// ε ~ N(0, I_m). Also returns W* (row-major d×m) and b*, for tests.
    ///
    /// With `condition_number` κ > 1 the inputs are x = (z ⊙ √s)·H, z ~ N(0, I_d), with
    /// eigenvalues s_j = κ^(j/(d−1)), j = 0 … d−1 (log-spaced from 1 to κ; d = 1 keeps s = 1) and
    /// H = I − 2vvᵀ/(vᵀv) a Householder reflection with v ~ N(0, I_d) drawn after b*, so the
    /// covariance Hᵀ diag(s) H has condition number κ and no axis-aligned eigenvectors (a
    /// per-coordinate step size such as Adam's cannot undo it). κ = 1 draws nothing more: the data
    /// are those of x ~ N(0, I) exactly.
    ///
    /// `notes["optimum_loss"]` is f* = min over W, b of mean ‖xW + b − y‖² over the training rows
    /// and outputs (PyTorch's MSELoss of a linear layer with bias), from the normal equations
    /// (`LeastSquares.optimumLoss`), when the training set determines the solution.
    static func linearRegression(_ options: TaskOptions, seed: UInt64) throws
        -> (data: TaskData, weights: [Double], bias: [Double])
    {
        let reader = OptionReader(options: options)
        try reader.check()
        let d = try reader.integer("input_dim", options.inputDim, min: 1)
        let m = try reader.integer("output_dim", options.outputDim, min: 1)
        let sigma = try reader.noise()
        let kappa = try reader.extra("condition_number", in: TaskOptionRanges.conditionNumber)
        try reader.checkSize(rows: max(options.trainSize, options.valSize), width: max(d, m), what: "a split")

        var stream = RandomStream(seed: seed, salt: StreamSalt.taskData)
        let scale = 1 / Double(d).squareRoot()
        let weights = (0..<(d * m)).map { _ in scale * stream.normal() }
        let bias = (0..<m).map { _ in stream.normal() }
        let conditioning = kappa > 1 ? InputConditioning(dimension: d, conditionNumber: kappa, stream: &stream) : nil

        func split(_ n: Int) -> Dataset {
            let x = Tensor(shape: [n, d]), y = Tensor(shape: [n, m])
            var row = [Double](repeating: 0, count: d)
            for i in 0..<n {
                drawGaussianRow(x, row: i, values: &row, stream: &stream)
                conditioning?.apply(to: &row, storingIn: x, row: i)
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
        let test: Dataset? = options.testSize > 0 ? { stream = RandomStream(seed: options.testSeed, salt: StreamSalt.testRows); return split(options.testSize) }() : nil
        var notes = ["bayes_mse": sigma * sigma, "train_target_variance": meanColumnVariance(train.targetsTensor)]
        notes["optimum_loss"] = LeastSquares.optimumLoss(inputs: train.inputs, targets: train.targetsTensor)
        let data = TaskData(kind: .regression, inputDim: d, outputDim: m, train: train, validation: validation, test: test, notes: notes)
        return (data, weights, bias)
    }

    /// teacher_regression: x ~ N(0, I_d), y = tanh(x·W1 + b1)·W2 + σε with a random teacher
    /// (W1 ~ N(0, 1/d), b1 ~ N(0, 1/4), W2 ~ N(0, 1/h)).
    ///
    /// Drawn in this order: the teacher's weights, then per split its inputs and its noise ε
    /// (Float32 Box–Muller, `RandomStream.fillStandardNormals`). The teacher runs in Float32 on
    /// the GEMM kernels, spread over `pool`: the same data for any thread count. Also returns the
    /// teacher, for tests.
    static func teacherRegression(_ options: TaskOptions, seed: UInt64, pool: ThreadPool) throws
        -> (data: TaskData, teacher: TeacherMLP)
    {
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
            w2Std: 1 / Double(h).squareRoot(), activation: .tanh, stream: &stream)

        func split(_ n: Int) -> Dataset {
            let x = Tensor(shape: [n, d]), y = Tensor(shape: [n, m]), noise = Tensor(shape: [n, m])
            stream.fillStandardNormals(x.data, count: n * d, pool: pool)
            teacher.forward(x.data, rows: n, into: y.data, pool: pool)
            stream.fillStandardNormals(noise.data, count: n * m, pool: pool)
            let scale = Float(sigma)
            for i in 0..<(n * m) { y.data[i] += scale * noise.data[i] }
            return Dataset(inputs: x, targets: .real(y))
        }
        let train = split(options.trainSize)
        let validation = options.valSize > 0 ? split(options.valSize) : nil
        let test: Dataset? = options.testSize > 0 ? { stream = RandomStream(seed: options.testSeed, salt: StreamSalt.testRows); return split(options.testSize) }() : nil
        let data = TaskData(
            kind: .regression, inputDim: d, outputDim: m, train: train, validation: validation, test: test,
            notes: ["bayes_mse": sigma * sigma, "train_target_variance": meanColumnVariance(train.targetsTensor)])
        return (data, teacher)
    }
}

extension Dataset {
    /// The real targets' tensor (an empty one for class targets).
    var targetsTensor: Tensor {
        if case .real(let t) = targets { return t }
        return Tensor(shape: [0, 1])
    }
}
