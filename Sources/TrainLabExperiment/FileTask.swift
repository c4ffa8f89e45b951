import Foundation
import TrainLabSpec
import TrainLabAutodiff
import TrainLabData
import TrainLabIO

/// `task.kind = "file"`: data from NumPy `.npy` files (docs/interface.md). For the MLP, inputs are
/// float features (N, D) and targets float (N, K) or (N) for regression, integer class ids (N)
/// for classification; for the Transformer, inputs are integer token ids (N, L) and targets token
/// ids (N, L), -100 where a position is not scored (a sequence task, like `copy`). Paths are
/// relative to the spec's folder. Loaded once per spec file.
struct FileTask {
    /// The catalogue's line for `task.kind: "file"`.
    static let doc = "NumPy .npy files: train_inputs, train_targets, optional val_inputs, val_targets (docs/specs.md)"

    let data: TaskData
    let paths: [String]

    /// Files already read while loading one spec file (a sweep reuses them).
    final class Cache {
        var loaded: [String: FileTask] = [:]
    }

    /// The task options a run reports: sizes from the files; a sequence task carries `vocab` and
    /// `seq_len` as the synthetic ones do.
    var options: TaskOptions {
        var options = TaskOptions(kind: "file")
        options.trainSize = data.train.count
        options.valSize = data.validation?.count ?? 0
        options.inputDim = data.inputDim
        switch data.kind {
        case .classification: options.classes = data.outputDim
        case .sequence: options.extra = ["vocab": Double(data.outputDim), "seq_len": Double(data.inputDim)]
        default: options.outputDim = data.outputDim
        }
        return options
    }

    /// `tokens`: the model reads token ids (the Transformer), not float features (the MLP).
    static func decode(_ r: ObjectReader, specFile: String, tokens: Bool, cache: Cache) throws -> FileTask {
        let folder = URL(fileURLWithPath: specFile).deletingLastPathComponent()
        /// The file's path, and its name as the spec writes it (for messages).
        func path(_ key: String, required: Bool) throws -> (path: String, name: String)? {
            guard let value = required ? try r.string(key) : try r.optionalString(key) else { return nil }
            return (value.hasPrefix("/") ? value : folder.appendingPathComponent(value).path, value)
        }
        let trainInputs = try path("train_inputs", required: true)!
        let trainTargets = try path("train_targets", required: true)!
        let valInputs = try path("val_inputs", required: false)
        let valTargets = try path("val_targets", required: false)
        if (valInputs == nil) != (valTargets == nil) {
            throw r.error(valInputs == nil ? "val_targets" : "val_inputs", "val_inputs and val_targets come together")
        }
        // `classes` and `vocab` are synonyms: the number of class ids, or of token ids.
        let classes = try r.optionalInt("classes", range: TaskOptionRanges.classes)
        let vocab = try r.optionalInt("vocab", range: TaskOptionRanges.classes)
        if let classes, let vocab, classes != vocab {
            throw r.error("vocab", "vocab and classes are synonyms (the number of ids); got vocab \(vocab) and classes \(classes)")
        }
        let idCount = classes ?? vocab, idCountKey = classes == nil && vocab != nil ? "vocab" : "classes"
        try r.finish()
        let key = [trainInputs.path, trainTargets.path, valInputs?.path ?? "", valTargets?.path ?? "", "\(idCount ?? 0)", "\(tokens)"].joined(separator: "\n")
        if let hit = cache.loaded[key] { return hit }

        func fail(_ key: String, _ message: String) -> SpecError { r.error(key, message) }
        func open(_ key: String, _ file: (path: String, name: String)) throws -> DataFile {
            do { return DataFile(key: key, name: file.name, header: try NumPy.open(path: file.path)) } catch { throw fail(key, "\(error)") }
        }
        var splits = [Split(inputs: try open("train_inputs", trainInputs), targets: try open("train_targets", trainTargets), rows: TaskOptionRanges.trainSize)]
        if let valInputs, let valTargets {
            splits.append(Split(inputs: try open("val_inputs", valInputs), targets: try open("val_targets", valTargets), rows: TaskOptionRanges.valSize))
        }
        let data = tokens ? try tokenData(splits, vocab: idCount, fail: fail)
                          : try featureData(splits, classes: idCount, classesKey: idCountKey, fail: fail)
        let task = FileTask(data: data, paths: [trainInputs, trainTargets, valInputs, valTargets].compactMap { $0?.path })
        cache.loaded[key] = task
        return task
    }

    /// One .npy file of a file task: its spec key and name as the spec writes it (for messages),
    /// and its checked header.
    struct DataFile {
        let key: String, name: String, header: NumPyFile

        /// Reads the data (its shape was judged from the header first).
        func read(fail: (String, String) -> SpecError) throws -> NumPyArray {
            do { return try header.read() } catch { throw fail(key, "\(error)") }
        }
    }

    /// One split's two files and the range its row count must lie in (`TaskOptionRanges`, as for
    /// a synthetic task's `train_size` and `val_size`; a validation file has at least 1 row).
    struct Split {
        let inputs: DataFile, targets: DataFile
        let rows: ClosedRange<Int>

        /// The rows of the inputs, refused before anything is read when out of range or when
        /// either file holds more than `TaskOptionRanges.maxElements` elements.
        func checkedRows(fail: (String, String) -> SpecError) throws -> Int {
            let count = inputs.header.shape.first ?? 0
            guard count >= max(rows.lowerBound, 1), count <= rows.upperBound else {
                throw fail(inputs.key, "\(inputs.name): expected 1 to \(rows.upperBound) rows, got shape \(inputs.header.shape)")
            }
            for file in [inputs, targets] where file.header.count > TaskOptionRanges.maxElements {
                throw fail(file.key, "\(file.name): shape \(file.header.shape) holds \(file.header.count) elements, more than \(TaskOptionRanges.maxElements)")
            }
            return count
        }
    }

    /// Token ids: inputs (N, L) in [0, vocab), targets (N, L) in [0, vocab) or -100 (not scored),
    /// both stored as the synthetic sequence tasks store them (ids as floats, targets as classes).
    /// vocab defaults to the largest id + 1, at most the `classes` cap (ids as Float32 stay exact).
    static func tokenData(_ splits: [Split], vocab: Int?, fail: (String, String) -> SpecError) throws -> TaskData {
        let lengths = 1...TaskOptionRanges.seqLen.upperBound
        for split in splits {
            let x = split.inputs.header, y = split.targets.header
            guard x.holdsIntegers, x.shape.count == 2, lengths.contains(x.shape[1]) else {
                throw fail(split.inputs.key, "\(split.inputs.name): expected integer token ids (int32/int64) of shape (rows, seq_len), seq_len from 1 to \(lengths.upperBound), for the transformer, got \(x.fileDType) of shape \(x.shape)")
            }
            _ = try split.checkedRows(fail: fail)
            guard y.holdsIntegers, y.shape == x.shape else {
                throw fail(split.targets.key, "\(split.targets.name): expected integer token ids (int32/int64) of shape \(x.shape) like the inputs (-100 where a position is not scored), got \(y.fileDType) of shape \(y.shape)")
            }
        }
        let length = splits[0].inputs.header.shape[1]
        if let validation = splits.dropFirst().first, validation.inputs.header.shape[1] != length {
            throw fail(validation.inputs.key, "\(validation.inputs.name): validation sequences have \(validation.inputs.header.shape[1]) tokens, training sequences \(length)")
        }
        let arrays = try splits.map { (inputs: try $0.inputs.read(fail: fail).intValues!, targets: try $0.targets.read(fail: fail).intValues!) }
        let largestId = arrays.lazy.flatMap { $0.inputs + $0.targets.filter { $0 != Tape.ignoredTarget } }.max() ?? 0
        let resolvedVocab = vocab ?? min(largestId, TaskOptionRanges.classes.upperBound - 1) + 1
        func check(_ file: DataFile, _ values: [Int], scoredOnly: Bool) throws {
            guard let index = values.firstIndex(where: { !(0..<resolvedVocab).contains($0) && !(scoredOnly && $0 == Tape.ignoredTarget) }) else { return }
            throw fail(file.key, "\(file.name): token id \(values[index]) at row \(index / length), column \(index % length) is outside [0, \(resolvedVocab)) (vocab \(resolvedVocab))"
                       + (scoredOnly ? "; -100 marks a position that is not scored" : ""))
        }
        var datasets: [Dataset] = []
        for (split, array) in zip(splits, arrays) {
            try check(split.inputs, array.inputs, scoredOnly: false)
            try check(split.targets, array.targets, scoredOnly: true)
            let inputs = Tensor(shape: split.inputs.header.shape, values: array.inputs.map { Float($0) })
            datasets.append(Dataset(inputs: inputs, targets: .classes(array.targets)))
        }
        return TaskData(kind: .sequence, inputDim: length, outputDim: resolvedVocab,
                        train: datasets[0], validation: datasets.count > 1 ? datasets[1] : nil)
    }

    /// Float features (N, D) with float targets (N, K) or (N) (regression) or integer class ids
    /// (N) (classification, `classes` defaulting to the largest id + 1). Shapes are judged from
    /// the headers; then every feature and float target must be finite (a NaN would only end the
    /// run as "diverged") and every class id within the `classes` cap.
    static func featureData(_ splits: [Split], classes: Int?, classesKey: String, fail: (String, String) -> SpecError) throws -> TaskData {
        let train = splits[0]
        let classification = train.targets.header.holdsIntegers
        for split in splits {
            let x = split.inputs.header, y = split.targets.header
            guard !x.holdsIntegers, x.shape.count == 2, TaskOptionRanges.width.contains(x.shape[1]) else {
                throw fail(split.inputs.key, "\(split.inputs.name): expected a 2-D float array (rows, features), features from 1 to \(TaskOptionRanges.width.upperBound), got shape \(x.shape) of \(x.fileDType)"
                           + (x.holdsIntegers ? "; integer token ids are read by \"model\": {\"kind\": \"transformer\"}" : ""))
            }
            let rows = try split.checkedRows(fail: fail)
            if x.shape[1] != train.inputs.header.shape[1] {
                throw fail(split.inputs.key, "\(split.inputs.name): validation rows have \(x.shape[1]) features, training rows \(train.inputs.header.shape[1])")
            }
            if classification {
                guard y.holdsIntegers, y.shape == [rows] else {
                    throw fail(split.targets.key, "\(split.targets.name): expected \(rows) integer class ids (shape (\(rows),)) like the training targets, got shape \(y.shape) of \(y.fileDType)")
                }
            } else {
                let outputs = y.shape.count == 2 ? y.shape[1] : 1
                guard !y.holdsIntegers, y.shape.first == rows, y.shape.count <= 2, TaskOptionRanges.width.contains(outputs),
                      y.shape.dropFirst() == train.targets.header.shape.dropFirst() else {
                    throw fail(split.targets.key, "\(split.targets.name): expected \(rows) rows of float targets, shape (\(rows),) or (\(rows), K) with K from 1 to \(TaskOptionRanges.width.upperBound) like the training targets, got shape \(y.shape) of \(y.fileDType)")
                }
            }
        }
        var datasets: [Dataset] = []
        var largestId = 0
        for split in splits {
            let features = try split.inputs.read(fail: fail)
            try checkFinite(features.floatValues!, columns: features.shape[1], split.inputs, fail: fail)
            let x = features.floatTensor()!
            let y = try split.targets.read(fail: fail)
            if let ids = y.intValues {
                if let row = ids.firstIndex(where: { !(0..<TaskOptionRanges.classes.upperBound).contains($0) }) {
                    throw fail(split.targets.key, "\(split.targets.name): class id \(ids[row]) at row \(row) is outside [0, \(TaskOptionRanges.classes.upperBound))")
                }
                largestId = max(largestId, ids.max() ?? 0)
                datasets.append(Dataset(inputs: x, targets: .classes(ids)))
            } else {
                let t = y.floatValues!, columns = y.shape.count == 2 ? y.shape[1] : 1
                try checkFinite(t, columns: columns, split.targets, fail: fail)
                datasets.append(Dataset(inputs: x, targets: .real(Tensor(shape: [x.shape[0], columns], values: t))))
            }
        }
        let outputDim: Int
        if classification {
            outputDim = classes ?? largestId + 1
            if largestId >= outputDim { throw fail(classesKey, "class id \(largestId) does not fit \(outputDim) classes") }
        } else {
            let shape = train.targets.header.shape
            outputDim = shape.count == 2 ? shape[1] : 1
        }
        return TaskData(kind: classification ? .classification : .regression, inputDim: train.inputs.header.shape[1], outputDim: outputDim,
                        train: datasets[0], validation: datasets.count > 1 ? datasets[1] : nil)
    }

    /// Refuses the first NaN or infinity in `values` (rows of `columns`), naming its row and column.
    static func checkFinite(_ values: [Float], columns: Int, _ file: DataFile, fail: (String, String) -> SpecError) throws {
        guard let index = values.firstIndex(where: { !$0.isFinite }) else { return }
        throw fail(file.key, "\(file.name): \(values[index]) at row \(index / columns), column \(index % columns): expected finite numbers")
    }
}

/// Where a run's weights come from and go (`checkpoint`, safetensors with docs/interface.md's names).
/// `{run}` in a path is replaced by the run's number in its sweep (1-based), so a sweep does not
/// overwrite one file.
public struct CheckpointSpec: Sendable {
    public let initFrom: String?
    public let saveInit: String?
    public let saveFinal: String?
    /// `save_every` {`steps`: N, `path`}: the weights after every N updates, `{step}` in the path
    /// replaced by the update's number.
    public var snapshots: (every: Int, path: String)? = nil
    /// `save_best`: the weights at each new best evaluation of `training.early_stopping`'s metric.
    public var saveBest: String? = nil

    /// Where the snapshot after update `step` goes.
    func snapshotPath(step: Int) -> String? {
        guard let snapshots, step % snapshots.every == 0 else { return nil }
        return snapshots.path.replacingOccurrences(of: "{step}", with: String(step))
    }

    static func decode(_ r: ObjectReader, specFile: String, runIndex: Int, runCount: Int) throws -> CheckpointSpec {
        let folder = URL(fileURLWithPath: specFile).deletingLastPathComponent()
        func path(_ key: String, in r: ObjectReader = r) throws -> String? {
            guard var value = try r.optionalString(key) else { return nil }
            if runCount > 1 && key != "init_from" && !value.contains("{run}") {
                throw r.error(key, "this spec expands to \(runCount) runs that would all write '\(value)': put {run} in the name")
            }
            value = value.replacingOccurrences(of: "{run}", with: String(runIndex + 1))
            return value.hasPrefix("/") ? value : folder.appendingPathComponent(value).path
        }
        var spec = CheckpointSpec(initFrom: try path("init_from"), saveInit: try path("save_init"), saveFinal: try path("save_final"))
        if let saveEvery = try r.object("save_every") {
            let every = try saveEvery.int("steps", range: 1...Int(Int32.max))
            guard let snapshotPath = try path("path", in: saveEvery) else { throw saveEvery.error("path", "required") }
            guard snapshotPath.contains("{step}") else {
                throw saveEvery.error("path", "every snapshot would overwrite '\(snapshotPath)': put {step} in the name")
            }
            try saveEvery.finish()
            spec.snapshots = (every, snapshotPath)
        }
        spec.saveBest = try path("save_best")
        try r.finish()
        for (key, target) in [("save_init", spec.saveInit), ("save_final", spec.saveFinal), ("save_best", spec.saveBest),
                              ("save_every", spec.snapshots?.path)] {
            if let target, let reason = Checkpoints.unwritableReason(target) {
                throw r.error(key, "cannot write \(target): \(reason)")
            }
        }
        if let initFrom = spec.initFrom, !FileManager.default.fileExists(atPath: initFrom) {
            throw r.error("init_from", "no such file: \(initFrom)")
        }
        return spec
    }
}

/// `trainlab export-data`: a run's task data as `.npy` files (train_inputs, train_targets,
/// val_inputs, val_targets), so the run can be reproduced in any tool, or by `task.kind = "file"`.
public enum DataExport {
    /// Why the files could not be written into `folder`, judged before anything is computed (a
    /// file where a folder is expected, a folder that is not writable); nil when they can.
    public static func unwritableReason(folder: String) -> String? {
        Checkpoints.unwritableReason(folder + "/train_inputs.npy")
    }

    /// Writes the files into `folder` (created when missing) and returns their paths.
    @discardableResult
    public static func write(_ spec: ExperimentSpec, to folder: String) throws -> [String] {
        let data = try spec.fileData ?? SyntheticTasks.make(spec.task, seed: spec.seed)
        try OutputFolder.create(folder)
        var written: [String] = []
        func save(_ dataset: Dataset, _ prefix: String) throws {
            let inputs = "\(folder)/\(prefix)_inputs.npy", targets = "\(folder)/\(prefix)_targets.npy"
            if data.kind == .sequence {
                // Token ids, stored as floats in memory, leave as the integers they are.
                try NumPy.writeInt64(dataset.inputs.scalars.map { Int($0) }, shape: dataset.inputs.shape, to: inputs)
            } else {
                try NumPy.write(dataset.inputs, to: inputs)
            }
            switch dataset.targets {
            case let .classes(ids):
                let perRow = ids.count / max(dataset.count, 1)
                try NumPy.writeInt64(ids, shape: perRow == 1 ? [dataset.count] : [dataset.count, perRow], to: targets)
            case let .real(t):
                try NumPy.write(t, to: targets)
            }
            written += [inputs, targets]
        }
        try save(data.train, "train")
        if let validation = data.validation { try save(validation, "val") }
        return written
    }
}

extension TaskOptions {
    /// The synthetic task's descriptor; nil for a file task.
    var descriptor: TaskDescriptor? { SyntheticTasks.descriptor(kind) }

    /// Next-token prediction for the Transformer: a synthetic sequence task, or a file task of
    /// token ids (whose options carry `vocab` and `seq_len`, see `FileTask.options`).
    var isTokenSequence: Bool { descriptor?.isSequence ?? (kind == "file" && extra["vocab"] != nil) }

    /// Targets that are class ids: a classification task's, or a file task's integer targets
    /// (it then reports its classes).
    var hasClassTargets: Bool { descriptor.map { $0.kind == .classification } ?? (kind == "file" && classes != nil) }

    /// The synthetic task's integral default of `key`; nil for a file task or a derived default.
    func defaultInteger(_ key: String) -> Int? { descriptor?.defaultValue(key).map { Int($0) } }
}
