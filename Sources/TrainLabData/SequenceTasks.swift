import TrainLabAutodiff

// Sequence tasks for next-token prediction. Each example is a whole sequence of L + 1 tokens;
// the model reads tokens 0 ..< L (one data-set row of L token ids stored as Float, so
// input_dim = seq_len = L) and predicts token t + 1 at position t. Only the answer positions are
// scored: every other target is -100 (`Tape.ignoredTarget`, torch's ignore_index), so targets are
// `.classes` with L ids per row (N·L in all) and output_dim = vocab.

extension TaskDescriptor {
    static let copy = transduction("copy", "the symbols again") { $0 }
    static let reverse = transduction("reverse", "the symbols in reverse order") { $0.reversed() }
    static let sort = transduction("sort", "the symbols sorted ascending") { $0.sorted() }

    private static func transduction(_ name: String, _ output: String, _ transform: @escaping @Sendable ([Int]) -> [Int]) -> TaskDescriptor {
        TaskDescriptor(
            name, .sequence, doc: "x₁…xₙ SEP y₁…yₙ with y = \(output); SEP = vocab − 1 (the n outputs are scored)",
            options: TaskOption.sizes + [
                TaskOption("vocab", 16, "symbols are tokens 0 ..< vocab - 1, the separator is vocab - 1"),
                TaskOption("seq_len", 16, "even, 2n: n random symbols, the separator, then \(output); only those n outputs are scored"),
            ]) { try SyntheticTasks.transduction($0, seed: $1, transform) }
    }

    static let modularAddition = TaskDescriptor(
        "modular_addition", .sequence, doc: "a + b = c (mod p) (c only); train and validation never share a pair",
        options: [
            TaskOption("train_size", TaskOptions.defaultTrainSize, "training rows (distinct pairs a, b; train_size + val_size ≤ modulus²)"),
            TaskOption("val_size", TaskOptions.defaultValSize, "validation rows (pairs not in the training set; 0: no validation set)"),
            TaskOption("modulus", 97, "p: a row reads 'a + b =' and predicts c = (a + b) mod p; only c is scored"),
            TaskOption("vocab", derived: "modulus + 2", "numbers 0 ..< p, then '+' = p and '=' = p + 1 (may be given instead of modulus)"),
            TaskOption("seq_len", 4, "fixed: a + b ="),
        ]) { try SyntheticTasks.modularAddition($0, seed: $1) }

    static let associativeRecall = TaskDescriptor(
        "associative_recall", .sequence, doc: "k₁v₁…kₙvₙ q → v_q (the recalled value)",
        options: TaskOption.sizes + [
            TaskOption("vocab", 32, "keys are tokens 0 ..< vocab/2, values vocab/2 ..< vocab"),
            TaskOption("seq_len", 17, "odd, 2n + 1: n key-value pairs with distinct keys, then a query key; only the value that follows is scored"),
        ]) { try SyntheticTasks.associativeRecall($0, seed: $1) }
}

extension SyntheticTasks {
    /// copy, reverse, sort: n = L/2 symbols x drawn uniformly from 0 ..< vocab-1, the separator
    /// vocab-1, then f(x): x itself, x reversed or x sorted ascending. Sequence (L + 1 tokens):
    ///   x_1 … x_n SEP y_1 … y_n;  inputs x_1 … x_n SEP y_1 … y_{n-1};  scored targets y_1 … y_n
    /// at positions n ..< 2n (the model has read SEP and the outputs so far).
    static func transduction(_ options: TaskOptions, seed: UInt64, _ transform: ([Int]) -> [Int]) throws -> TaskData {
        let reader = OptionReader(options: options)
        try reader.check()
        let vocab = try reader.extraInteger("vocab", in: TaskOptionRanges.vocab)
        let length = try reader.extraInteger("seq_len", in: TaskOptionRanges.seqLen)
        guard length % 2 == 0 else {
            throw TaskError("task.seq_len: \(options.kind) needs an even seq_len (n symbols, the separator, n outputs: seq_len = 2n), got \(length)")
        }
        try reader.checkSize(rows: max(options.trainSize, options.valSize), width: length, what: "a split")
        let n = length / 2, separator = vocab - 1

        var stream = RandomStream(seed: seed, salt: StreamSalt.taskData)
        func split(_ rows: Int) -> Dataset {
            var builder = SequenceRows(rows: rows, length: length, scoredFrom: n)
            var tokens = [Int](repeating: 0, count: length + 1)
            for r in 0..<rows {
                let symbols = (0..<n).map { _ in stream.index(below: separator) }
                tokens.replaceSubrange(0..<n, with: symbols)
                tokens[n] = separator
                tokens.replaceSubrange((n + 1)...(2 * n), with: transform(symbols))
                builder.set(row: r, tokens: tokens)
            }
            return builder.dataset
        }
        let train = split(options.trainSize)
        let validation = options.valSize > 0 ? split(options.valSize) : nil
        let test: Dataset? = options.testSize > 0 ? { stream = RandomStream(seed: options.testSeed, salt: StreamSalt.testRows); return split(options.testSize) }() : nil
        return TaskData(kind: .sequence, inputDim: length, outputDim: vocab, train: train, validation: validation, test: test,
                        notes: ["scored_per_row": Double(n), "chance_accuracy": 1 / Double(vocab - 1)])
    }

    /// modular_addition (the grokking task of Power et al. 2022, https://arxiv.org/abs/2201.02177):
    /// tokens 0 ..< p are numbers, p is "+", p + 1 is "="; vocab = p + 2, seq_len = 4. Sequence
    ///   a + b = c,  c = (a + b) mod p;  inputs a + b =;  the only scored target is c (position 3).
    /// The p² pairs (a, b) are shuffled once; training takes the first train_size, validation the
    /// next val_size, so the splits never share a pair (train_size + val_size ≤ p²).
    static func modularAddition(_ options: TaskOptions, seed: UInt64) throws -> TaskData {
        let reader = OptionReader(options: options)
        try reader.check()
        let p: Int
        if options.extra["modulus"] != nil || options.extra["vocab"] == nil {
            p = try reader.extraInteger("modulus", in: TaskOptionRanges.modulus)
            if options.extra["vocab"] != nil {
                let vocab = try reader.extraInteger("vocab", in: 4...TaskOptionRanges.vocab.upperBound)
                guard vocab == p + 2 else {
                    throw TaskError("task.vocab: modular_addition's vocabulary is modulus + 2 = \(p + 2) (numbers, '+', '='), got \(vocab)")
                }
            }
        } else {
            p = try reader.extraInteger(
                "vocab", in: (TaskOptionRanges.modulus.lowerBound + 2)...(TaskOptionRanges.modulus.upperBound + 2)) - 2
        }
        let length = try reader.extraInteger("seq_len", in: 4...4)
        let pairs = p * p
        guard options.trainSize + options.valSize <= pairs else {
            throw TaskError("task.train_size: modular_addition mod \(p) has \(pairs) distinct pairs, fewer than train_size + val_size = \(options.trainSize + options.valSize)")
        }
        let plus = p, equals = p + 1

        var stream = RandomStream(seed: seed, salt: StreamSalt.taskData)
        var order = Array(0..<pairs)
        stream.shuffle(&order)
        func split(_ range: Range<Int>) -> Dataset {
            var builder = SequenceRows(rows: range.count, length: length, scoredFrom: 3)
            for (r, pair) in order[range].enumerated() {
                let a = pair / p, b = pair % p
                builder.set(row: r, tokens: [a, plus, b, equals, (a + b) % p])
            }
            return builder.dataset
        }
        let train = split(0..<options.trainSize)
        let validation = options.valSize > 0 ? split(options.trainSize..<(options.trainSize + options.valSize)) : nil
        // The pairs after the validation ones, when there are enough (no pair is drawn twice).
        let heldOut = options.trainSize + options.valSize
        let test = options.testSize > 0 && heldOut + options.testSize <= pairs ? split(heldOut..<(heldOut + options.testSize)) : nil
        return TaskData(kind: .sequence, inputDim: length, outputDim: p + 2, train: train, validation: validation, test: test,
                        notes: ["scored_per_row": 1, "chance_accuracy": 1 / Double(p)])
    }

    /// associative_recall: keys are tokens 0 ..< vocab/2, values vocab/2 ..< vocab. A row holds
    /// n = (seq_len - 1)/2 pairs with distinct keys (values drawn with replacement), then one of
    /// its keys as the query. Sequence (seq_len + 1 tokens):
    ///   k_1 v_1 … k_n v_n q v_q;  inputs k_1 … v_n q;  the only scored target is v_q (last position).
    static func associativeRecall(_ options: TaskOptions, seed: UInt64) throws -> TaskData {
        let reader = OptionReader(options: options)
        try reader.check()
        let vocab = try reader.extraInteger("vocab", in: 4...TaskOptionRanges.vocab.upperBound)
        let length = try reader.extraInteger("seq_len", in: 3...TaskOptionRanges.seqLen.upperBound)
        let keys = vocab / 2, values = vocab - keys
        guard length % 2 == 1 else {
            throw TaskError("task.seq_len: associative_recall needs an odd seq_len (n key-value pairs and the query: seq_len = 2n + 1), got \(length)")
        }
        let n = (length - 1) / 2
        guard n <= keys else {
            throw TaskError("task.seq_len: \(n) pairs with distinct keys need vocab ≥ \(2 * n) (keys are the lower half of the vocabulary), got vocab \(vocab)")
        }
        try reader.checkSize(rows: max(options.trainSize, options.valSize), width: length, what: "a split")

        var stream = RandomStream(seed: seed, salt: StreamSalt.taskData)
        func split(_ rows: Int) -> Dataset {
            var builder = SequenceRows(rows: rows, length: length, scoredFrom: length - 1)
            var keyOrder = Array(0..<keys)
            var tokens = [Int](repeating: 0, count: length + 1)
            for r in 0..<rows {
                // The first n entries of a partial Fisher–Yates shuffle: n distinct keys.
                for i in 0..<n { keyOrder.swapAt(i, i + stream.index(below: keys - i)) }
                for i in 0..<n {
                    tokens[2 * i] = keyOrder[i]
                    tokens[2 * i + 1] = keys + stream.index(below: values)
                }
                let query = stream.index(below: n)
                tokens[2 * n] = tokens[2 * query]
                tokens[2 * n + 1] = tokens[2 * query + 1]
                builder.set(row: r, tokens: tokens)
            }
            return builder.dataset
        }
        let train = split(options.trainSize)
        let validation = options.valSize > 0 ? split(options.valSize) : nil
        let test: Dataset? = options.testSize > 0 ? { stream = RandomStream(seed: options.testSeed, salt: StreamSalt.testRows); return split(options.testSize) }() : nil
        return TaskData(kind: .sequence, inputDim: length, outputDim: vocab, train: train, validation: validation, test: test,
                        notes: ["scored_per_row": 1, "chance_accuracy": 1 / Double(values)])
    }
}

/// Builds a split from whole sequences: row r's inputs are tokens 0 ..< L, its targets token t + 1
/// at positions t ≥ `scoredFrom` and `Tape.ignoredTarget` before.
struct SequenceRows {
    let length: Int, scoredFrom: Int
    let inputs: Tensor
    var targets: [Int]

    init(rows: Int, length: Int, scoredFrom: Int) {
        self.length = length
        self.scoredFrom = scoredFrom
        inputs = Tensor(shape: [rows, length])
        targets = [Int](repeating: Tape.ignoredTarget, count: rows * length)
    }

    /// `tokens`: the whole sequence, L + 1 ids.
    mutating func set(row: Int, tokens: [Int]) {
        precondition(tokens.count == length + 1, "\(tokens.count) tokens for a sequence of \(length) inputs")
        for t in 0..<length {
            inputs[row * length + t] = Float(tokens[t])
            if t >= scoredFrom { targets[row * length + t] = tokens[t + 1] }
        }
    }

    var dataset: Dataset { Dataset(inputs: inputs, targets: .classes(targets)) }
}
