import TrainLabKernels

/// One synthetic task: what the spec check, the loss check, the resource estimate, the catalogue
/// and the option readers derive from. A new task is its file (descriptor and make function)
/// plus one line in `SyntheticTasks.registry`.
public struct TaskDescriptor: Sendable {
    public let name: String
    /// What its targets are, which decides the losses that fit.
    public let kind: TaskKind
    /// Items per data row (see `TaskData.groupSize`).
    public let groupSize: GroupSize
    /// Every option it reads, in the order it documents them.
    public let options: [TaskOption]
    /// One line: what the task is.
    public let doc: String
    /// Builds the data from the options and the seed; the pool's threads may share the work
    /// (the data are the same for any thread count).
    let make: @Sendable (TaskOptions, UInt64, ThreadPool) throws -> TaskData

    public enum GroupSize: Sendable {
        case fixed(Int)
        /// An option's value (ranking_lists' `list_size`).
        case option(String)
    }

    init(_ name: String, _ kind: TaskKind, groupSize: GroupSize = .fixed(1), doc: String, options: [TaskOption],
         make: @escaping @Sendable (TaskOptions, UInt64, ThreadPool) throws -> TaskData) {
        self.name = name
        self.kind = kind
        self.groupSize = groupSize
        self.doc = doc
        self.options = options
        self.make = make
    }

    /// A task built on the caller's thread alone.
    init(_ name: String, _ kind: TaskKind, groupSize: GroupSize = .fixed(1), doc: String, options: [TaskOption],
         make: @escaping @Sendable (TaskOptions, UInt64) throws -> TaskData) {
        self.init(name, kind, groupSize: groupSize, doc: doc, options: options) { options, seed, _ in try make(options, seed) }
    }

    /// Next-token prediction for the Transformer.
    public var isSequence: Bool { kind == .sequence }

    /// The default of `key` as a number; nil for an unknown key or a default derived from another option.
    public func defaultValue(_ key: String) -> Double? {
        guard let option = options.first(where: { $0.key == key }) else { return nil }
        switch option.defaultValue {
        case .integer(let v): return Double(v)
        case .number(let v): return v
        case .derived: return nil
        }
    }

    /// Items per data row for these options.
    public func groupSize(_ task: TaskOptions) -> Int {
        switch groupSize {
        case .fixed(let k): return k
        case .option(let key): return Int(task.extra[key] ?? defaultValue(key) ?? 1)
        }
    }
}

/// One task option: its spec key, default and meaning (one line).
public struct TaskOption: Sendable {
    public enum Default: Sendable {
        case integer(Int)
        case number(Double)
        /// Computed from another option (modular_addition's vocab = modulus + 2), as text.
        case derived(String)

        public var text: String {
            switch self {
            case .integer(let v): return String(v)
            case .number(let v): return v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
            case .derived(let text): return text
            }
        }
    }

    public let key: String
    public let defaultValue: Default
    public let meaning: String

    init(_ key: String, _ defaultValue: Int, _ meaning: String) {
        (self.key, self.defaultValue, self.meaning) = (key, .integer(defaultValue), meaning)
    }

    init(_ key: String, _ defaultValue: Double, _ meaning: String) {
        (self.key, self.defaultValue, self.meaning) = (key, .number(defaultValue), meaning)
    }

    init(_ key: String, derived text: String, _ meaning: String) {
        (self.key, self.defaultValue, self.meaning) = (key, .derived(text), meaning)
    }

    /// `train_size` and `val_size`, which every task reads.
    static let sizes = [
        TaskOption("train_size", TaskOptions.defaultTrainSize, "training rows"),
        TaskOption("val_size", TaskOptions.defaultValSize, "validation rows (0: no validation set)"),
    ]
}
