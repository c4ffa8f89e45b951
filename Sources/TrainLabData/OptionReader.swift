/// Reads and checks one task's options, naming the spec key in every error ("task.classes: ...").
/// Which keys the task takes and their defaults come from its `TaskDescriptor`.
struct OptionReader {
    let options: TaskOptions
    let descriptor: TaskDescriptor
    /// Largest input_dim, output_dim, classes or teacher width.
    static let maxWidth = 1 << 16
    static let standardKeys = ["train_size", "val_size", "input_dim", "output_dim", "classes", "noise"]

    init(options: TaskOptions) {
        guard let descriptor = SyntheticTasks.descriptor(options.kind) else {
            preconditionFailure("no task descriptor for '\(options.kind)'")
        }
        self.options = options
        self.descriptor = descriptor
    }

    var kind: String { options.kind }

    /// Rejects the standard options this kind does not document and any extra key it does not know.
    func check() throws {
        let documented = descriptor.options.map(\.key)
        let extras = documented.filter { !Self.standardKeys.contains($0) }
        let given: [(String, Bool)] = [
            ("input_dim", options.inputDim != nil), ("output_dim", options.outputDim != nil),
            ("classes", options.classes != nil), ("noise", options.noise != nil),
        ]
        for (key, present) in given where present && !documented.contains(key) {
            throw TaskError("task.\(key): not an option of task '\(kind)'")
        }
        for key in options.extra.keys.sorted() where !extras.contains(key) {
            var message = "task.\(key): unknown key for task '\(kind)'"
            if let hint = closest(to: key, in: extras + Self.standardKeys) {
                message += " (did you mean '\(hint)'?)"
            }
            throw TaskError(message)
        }
        if options.trainSize < 1 || options.trainSize > TaskOptionRanges.maxElements {
            throw TaskError("task.train_size: expected an integer from 1 to \(TaskOptionRanges.maxElements), got \(options.trainSize)")
        }
        if options.valSize < 0 || options.valSize > TaskOptionRanges.maxElements {
            throw TaskError("task.val_size: expected an integer from 0 to \(TaskOptionRanges.maxElements), got \(options.valSize)")
        }
    }

    /// The descriptor's default of `key`; a task reads only keys with a numeric default when absent.
    private func fallback(_ key: String) -> Double {
        guard let value = descriptor.defaultValue(key) else { preconditionFailure("task '\(kind)' has no default for \(key)") }
        return value
    }

    /// An integer option in min ... max.
    func integer(_ key: String, _ value: Int?, min: Int, max: Int = maxWidth) throws -> Int {
        let v = value ?? Int(fallback(key))
        guard v >= min && v <= max else {
            throw TaskError("task.\(key): expected an integer from \(min) to \(max), got \(v)")
        }
        return v
    }

    /// `noise`: finite, ≥ 0 and ≤ max.
    func noise(max: Double = 1e6) throws -> Double {
        let v = options.noise ?? fallback("noise")
        guard v.isFinite && v >= 0 && v <= max else {
            throw TaskError("task.noise: expected a number from 0 to \(max), got \(v)")
        }
        return v
    }

    /// A numeric extra option, finite, in `range` (its `TaskOptionRanges` entry).
    func extra(_ key: String, in range: ClosedRange<Double>) throws -> Double {
        let v = options.extra[key] ?? fallback(key)
        guard v.isFinite && range.contains(v) else {
            throw TaskError("task.\(key): expected a number from \(range.lowerBound) to \(range.upperBound), got \(v)")
        }
        return v
    }

    /// An integral extra option in `range` (its `TaskOptionRanges` entry, or a task's narrower one).
    func extraInteger(_ key: String, in range: ClosedRange<Int>) throws -> Int {
        let v = options.extra[key] ?? fallback(key)
        guard v.isFinite && v == v.rounded() && v >= Double(range.lowerBound) && v <= Double(range.upperBound) else {
            throw TaskError("task.\(key): expected an integer from \(range.lowerBound) to \(range.upperBound), got \(v)")
        }
        return Int(v)
    }

    /// Checks that rows × width elements fit in one tensor.
    func checkSize(rows: Int, width: Int, what: String) throws {
        let (product, overflow) = rows.multipliedReportingOverflow(by: width)
        if overflow || product > TaskOptionRanges.maxElements {
            throw TaskError("task.train_size: \(what) would hold \(rows) × \(width) elements, more than \(TaskOptionRanges.maxElements)")
        }
    }
}

/// The range of each task-specific option, whichever task reads it: one table for both checks.
/// The spec check applies it when the spec is decoded, before the resource estimate computes with
/// the value; each task reads its options within it (some narrow it further: modular_addition's
/// `seq_len` is 4, associative_recall's `vocab` at least 4).
public enum TaskOptionRanges {
    public enum Range: Sendable {
        case integer(ClosedRange<Int>)
        case number(ClosedRange<Double>)
    }

    /// Rows of a training split and of a validation split (`train_size`, `val_size`, a data file's rows).
    public static let trainSize = 1...1 << 26
    public static let valSize = 0...1 << 26
    /// Features in and out (`input_dim`, `output_dim`, a data file's columns).
    public static let width = 1...1 << 20
    /// Class or token ids (`classes`, a file task's `classes` or `vocab`).
    public static let classes = 2...1 << 20
    /// Largest number of elements one split's inputs or targets may hold (2²⁸ floats = 1 GiB).
    public static let maxElements = 1 << 28
    public static let spread: ClosedRange<Double> = 0...1e6
    public static let teacherHidden = 1...4096
    public static let listSize = 2...4096
    public static let vocab = 3...OptionReader.maxWidth
    /// Attention holds seq_len² scores per head: longer sequences do not fit a CPU run.
    public static let seqLen = 2...4096
    public static let modulus = 2...1000
    /// linear_regression's κ: Float32 inputs keep about 7 digits, so the spectrum stays resolvable.
    public static let conditionNumber: ClosedRange<Double> = 1...1e6

    /// By spec key, for every option a `TaskDescriptor` lists beyond the standard ones.
    public static let byKey: [String: Range] = [
        "spread": .number(spread), "teacher_hidden": .integer(teacherHidden), "list_size": .integer(listSize),
        "vocab": .integer(vocab), "seq_len": .integer(seqLen), "modulus": .integer(modulus),
        "condition_number": .number(conditionNumber),
    ]
}

/// The candidate nearest to `word` by edit distance, if within max(2, |word|/3) edits.
func closest(to word: String, in candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where j <= b.count {
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
    let w = Array(word)
    let best = candidates.map { ($0, distance(w, Array($0))) }.min { $0.1 < $1.1 }
    guard let (name, d) = best, d <= max(2, word.count / 3) else { return nil }
    return name
}
