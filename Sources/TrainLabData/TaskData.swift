import TrainLabAutodiff

/// What a task's targets are and which losses fit them.
public enum TaskKind: String, Sendable {
    case regression, classification, ranking, metricPairs, metricTriplets, contrastive, sequence
}

/// A split's targets.
public enum Targets {
    /// (N, output_dim) float targets.
    case real(Tensor)
    /// N class ids (or N·T token ids for sequences, T per row).
    case classes([Int])
}

/// One split of a task's data: row i of `inputs` goes with target i.
public struct Dataset {
    /// (N, input_dim) float features.
    public let inputs: Tensor
    public let targets: Targets

    /// N, the number of rows.
    public var count: Int { inputs.shape.first ?? 0 }

    /// `inputs` must be 2-D (N, input_dim); real targets (N, output_dim); class ids a multiple of N.
    /// The caller (e.g. a file loader) validates user data first: these are preconditions.
    public init(inputs: Tensor, targets: Targets) {
        precondition(inputs.shape.count == 2, "inputs must be (N, input_dim), got \(inputs.shape)")
        let n = inputs.shape[0]
        switch targets {
        case .real(let t):
            precondition(t.shape.count == 2 && t.shape[0] == n, "real targets \(t.shape) for \(n) rows")
        case .classes(let ids):
            precondition(n == 0 ? ids.isEmpty : ids.count % n == 0, "\(ids.count) class ids for \(n) rows")
        }
        self.inputs = inputs
        self.targets = targets
    }

    /// Gathers rows `indices` into preallocated batch buffers: input row i → `inputs` row b
    /// (shape (B, input_dim)); real targets → `realTargets` (B, output_dim) when given; class ids
    /// (T per row) → `classTargets[b·T ..< (b+1)·T]`. `classTargets` is resized only when its count
    /// is not B·T (the first call), so a reused buffer never allocates. Nothing else is touched.
    public func gather(_ indices: ArraySlice<Int>, inputs: Tensor, realTargets: Tensor?, classTargets: inout [Int]) {
        let b = indices.count
        let d = self.inputs.columns
        precondition(inputs.count == b * d, "input buffer \(inputs.shape) for \(b) rows of width \(d)")
        let n = count
        let source = self.inputs.data
        var row = 0
        for i in indices {
            precondition(i >= 0 && i < n, "row \(i) out of range 0..<\(n)")
            (inputs.data + row * d).update(from: source + i * d, count: d)
            row += 1
        }
        switch targets {
        case .real(let t):
            guard let out = realTargets else { return }
            let m = t.columns
            precondition(out.count == b * m, "target buffer \(out.shape) for \(b) rows of width \(m)")
            row = 0
            for i in indices {
                (out.data + row * m).update(from: t.data + i * m, count: m)
                row += 1
            }
        case .classes(let ids):
            let perRow = n == 0 ? 1 : ids.count / n
            if classTargets.count != b * perRow {
                classTargets = [Int](repeating: 0, count: b * perRow)
            }
            row = 0
            for i in indices {
                for t in 0..<perRow { classTargets[row * perRow + t] = ids[i * perRow + t] }
                row += 1
            }
        }
    }
}

/// A task's data: its splits and sizes.
public struct TaskData {
    public let kind: TaskKind
    public let inputDim: Int
    /// Regression: target width; classification: number of classes.
    public let outputDim: Int
    public let train: Dataset
    /// nil when val_size == 0.
    public let validation: Dataset?
    /// A held-out test split (`TaskOptions.testSize` rows; nil when 0): the task's own parameters
    /// (weights, teacher, centres: drawn from the run's seed), its rows from their own stream
    /// (`testSeed`), so no tuning run that evaluates on the validation split ever sees them.
    public let test: Dataset?
    /// What an ideal predictor achieves where known (e.g. "bayes_mse" = noise² for the regression
    /// tasks, "bayes_accuracy", "chance_accuracy" = 1/classes), for write-ups.
    public let notes: [String: Double]

    public init(kind: TaskKind, inputDim: Int, outputDim: Int, train: Dataset, validation: Dataset?, test: Dataset? = nil,
                notes: [String: Double] = [:]) {
        self.kind = kind
        self.inputDim = inputDim
        self.outputDim = outputDim
        self.train = train
        self.validation = validation
        self.test = test
        self.notes = notes
    }
}

/// The spec's "task" object; nil means "the kind's default" (see its `TaskDescriptor`).
public struct TaskOptions: Sendable {
    public static let defaultTrainSize = 1024, defaultValSize = 256

    public var kind: String
    public var trainSize: Int = defaultTrainSize, valSize: Int = defaultValSize
    public var inputDim: Int?, outputDim: Int?, classes: Int?, noise: Double?
    /// Task-specific numeric options (e.g. "teacher_hidden", "spread"), by spec key.
    public var extra: [String: Double] = [:]
    /// Rows of the held-out test split (0: none) and the seed of their own stream; set by the
    /// runner for a benchmark's final runs, not a spec key of `task`.
    public var testSize = 0
    public var testSeed: UInt64 = 0

    public init(kind: String) { self.kind = kind }
}

/// A bad task option. `message` starts with the JSON path, e.g. "task.classes: ...".
public struct TaskError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
