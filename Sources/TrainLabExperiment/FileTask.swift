import Foundation
import TrainLabSpec
import TrainLabAutodiff
import TrainLabData
import TrainLabIO

/// `task.kind = "file"`: data from NumPy `.npy` files (CONTRACT.md). For the MLP, inputs are
/// float features (N, D) and targets float (N, K) or (N) for regression, integer class ids (N)
/// for classification; for the Transformer, inputs are integer token ids (N, L) and targets token
/// ids (N, L), -100 where a position is not scored (a sequence task, like `copy`). Paths are
/// relative to the spec's folder. Loaded once per spec file.
struct FileTask {
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
        let classes = try r.optionalInt("classes", range: 2...largestVocab)
        let vocab = try r.optionalInt("vocab", range: 2...largestVocab)
        if let classes, let vocab, classes != vocab {
            throw r.error("vocab", "vocab and classes are synonyms (the number of ids); got vocab \(vocab) and classes \(classes)")
        }
        let idCount = classes ?? vocab, idCountKey = classes == nil && vocab != nil ? "vocab" : "classes"
        try r.finish()
        let key = [trainInputs.path, trainTargets.path, valInputs?.path ?? "", valTargets?.path ?? "", "\(idCount ?? 0)", "\(tokens)"].joined(separator: "\n")
        if let hit = cache.loaded[key] { return hit }

        func fail(_ key: String, _ message: String) -> SpecError { r.error(key, message) }
        func read(_ key: String, _ file: (path: String, name: String)) throws -> NumPyArray {
            do { return try NumPy.read(path: file.path) } catch { throw fail(key, "\(error)") }
        }
        let trainX = try read("train_inputs", trainInputs), trainY = try read("train_targets", trainTargets)
        let validation = try valInputs.map { (try read("val_inputs", $0), try read("val_targets", valTargets!)) }
        let data: TaskData
        if tokens {
            var splits = [Split(inputsKey: "train_inputs", inputsName: trainInputs.name, inputs: trainX,
                                targetsKey: "train_targets", targetsName: trainTargets.name, targets: trainY)]
            if let (x, y) = validation {
                splits.append(Split(inputsKey: "val_inputs", inputsName: valInputs!.name, inputs: x,
                                    targetsKey: "val_targets", targetsName: valTargets!.name, targets: y))
            }
            data = try tokenData(splits, vocab: idCount, fail: fail)
        } else {
            data = try featureData(train: (trainX, trainY), validation: validation, classes: idCount, classesKey: idCountKey, fail: fail)
        }
        let task = FileTask(data: data, paths: [trainInputs, trainTargets, valInputs, valTargets].compactMap { $0?.path })
        cache.loaded[key] = task
        return task
    }

    /// The largest `classes` or `vocab`.
    static let largestVocab = 1 << 20

    /// One split's two files, with their spec keys and names (for messages).
    struct Split {
        let inputsKey: String, inputsName: String, inputs: NumPyArray
        let targetsKey: String, targetsName: String, targets: NumPyArray
    }

    /// Token ids: inputs (N, L) in [0, vocab), targets (N, L) in [0, vocab) or -100 (not scored),
    /// both stored as the synthetic sequence tasks store them (ids as floats, targets as classes).
    /// vocab defaults to the largest id + 1, at most `largestVocab` (ids as Float32 stay exact).
    static func tokenData(_ splits: [Split], vocab: Int?, fail: (String, String) -> SpecError) throws -> TaskData {
        for split in splits {
            let x = split.inputs, y = split.targets
            guard x.intValues != nil, x.shape.count == 2, x.count > 0 else {
                throw fail(split.inputsKey, "\(split.inputsName): expected integer token ids (int32/int64) of shape (rows, seq_len), both at least 1, for the transformer, got \(x.fileDType) of shape \(x.shape)")
            }
            guard y.intValues != nil, y.shape == x.shape else {
                throw fail(split.targetsKey, "\(split.targetsName): expected integer token ids (int32/int64) of shape \(x.shape) like the inputs (-100 where a position is not scored), got \(y.fileDType) of shape \(y.shape)")
            }
        }
        let length = splits[0].inputs.shape[1]
        if let validation = splits.dropFirst().first, validation.inputs.shape[1] != length {
            throw fail(validation.inputsKey, "\(validation.inputsName): validation sequences have \(validation.inputs.shape[1]) tokens, training sequences \(length)")
        }
        let ids = splits.flatMap { $0.inputs.intValues! + $0.targets.intValues!.filter { $0 != Tape.ignoredTarget } }
        let resolvedVocab = vocab ?? min(ids.max() ?? 0, largestVocab - 1) + 1
        func check(_ key: String, _ name: String, _ values: [Int], scoredOnly: Bool) throws {
            guard let index = values.firstIndex(where: { !(0..<resolvedVocab).contains($0) && !(scoredOnly && $0 == Tape.ignoredTarget) }) else { return }
            throw fail(key, "\(name): token id \(values[index]) at row \(index / length), column \(index % length) is outside [0, \(resolvedVocab)) (vocab \(resolvedVocab))"
                       + (scoredOnly ? "; -100 marks a position that is not scored" : ""))
        }
        var datasets: [Dataset] = []
        for split in splits {
            try check(split.inputsKey, split.inputsName, split.inputs.intValues!, scoredOnly: false)
            try check(split.targetsKey, split.targetsName, split.targets.intValues!, scoredOnly: true)
            let inputs = Tensor(shape: split.inputs.shape, values: split.inputs.intValues!.map { Float($0) })
            datasets.append(Dataset(inputs: inputs, targets: .classes(split.targets.intValues!)))
        }
        return TaskData(kind: .sequence, inputDim: length, outputDim: resolvedVocab,
                        train: datasets[0], validation: datasets.count > 1 ? datasets[1] : nil)
    }

    /// Float features (N, D) with float targets (N, K) or (N) (regression) or integer class ids
    /// (N) (classification, `classes` defaulting to the largest id + 1).
    static func featureData(train: (NumPyArray, NumPyArray), validation: (NumPyArray, NumPyArray)?, classes: Int?, classesKey: String,
                            fail: (String, String) -> SpecError) throws -> TaskData {
        func split(_ inputsKey: String, _ x: NumPyArray, _ targetsKey: String, _ y: NumPyArray) throws -> (Tensor, NumPyArray) {
            guard x.shape.count == 2, let inputs = x.floatTensor() else {
                throw fail(inputsKey, "expected a 2-D float array (rows, features), got shape \(x.shape) of \(x.fileDType)"
                           + (x.intValues == nil ? "" : "; integer token ids are read by \"model\": {\"kind\": \"transformer\"}"))
            }
            guard let rows = y.shape.first, rows == x.shape[0], y.shape.count <= 2 else {
                throw fail(targetsKey, "expected \(x.shape[0]) rows of targets (shape (\(x.shape[0])) or (\(x.shape[0]), K)), got shape \(y.shape)")
            }
            return (inputs, y)
        }
        let (trainX, trainY) = try split("train_inputs", train.0, "train_targets", train.1)
        let validation = try validation.map { try split("val_inputs", $0.0, "val_targets", $0.1) }
        if let validation, validation.0.shape[1] != trainX.shape[1] {
            throw fail("val_inputs", "validation rows have \(validation.0.shape[1]) features, training rows \(trainX.shape[1])")
        }
        let classification = trainY.intValues != nil
        var outputDim: Int
        if classification {
            let ids = trainY.intValues! + (validation?.1.intValues ?? [])
            if validation != nil && validation!.1.intValues == nil {
                throw fail("val_targets", "training targets are class ids, validation targets are floats")
            }
            if let negative = ids.first(where: { $0 < 0 }) { throw fail("train_targets", "class ids must be >= 0, found \(negative)") }
            // Ids obey the cap on `classes`, so the default (largest id + 1) neither overflows
            // nor asks for an output layer of a billion classes.
            for (key, splitIds) in [("train_targets", trainY.intValues!), ("val_targets", validation?.1.intValues ?? [])] {
                if let row = splitIds.firstIndex(where: { $0 >= largestVocab }) {
                    throw fail(key, "class id \(splitIds[row]) at row \(row) is outside [0, \(largestVocab))")
                }
            }
            let largest = ids.max() ?? 0
            outputDim = classes ?? largest + 1
            if largest >= outputDim { throw fail(classesKey, "class id \(largest) does not fit \(outputDim) classes") }
        } else {
            outputDim = trainY.shape.count == 2 ? trainY.shape[1] : 1
        }
        func dataset(_ x: Tensor, _ y: NumPyArray) -> Dataset {
            if let ids = y.intValues { return Dataset(inputs: x, targets: .classes(ids)) }
            let t = y.floatTensor()!
            return Dataset(inputs: x, targets: .real(Tensor(shape: [t.shape[0], t.count / max(t.shape[0], 1)], values: t.scalars)))
        }
        return TaskData(kind: classification ? .classification : .regression, inputDim: trainX.shape[1], outputDim: outputDim,
                        train: dataset(trainX, trainY), validation: validation.map { dataset($0.0, $0.1) })
    }
}

/// Where a run's weights come from and go (`checkpoint`, safetensors with CONTRACT.md's names).
/// `{run}` in a path is replaced by the run's number in its sweep (1-based), so a sweep does not
/// overwrite one file.
public struct CheckpointSpec: Sendable {
    public let initFrom: String?
    public let saveInit: String?
    public let saveFinal: String?

    static func decode(_ r: ObjectReader, specFile: String, runIndex: Int, runCount: Int) throws -> CheckpointSpec {
        let folder = URL(fileURLWithPath: specFile).deletingLastPathComponent()
        func path(_ key: String) throws -> String? {
            guard var value = try r.optionalString(key) else { return nil }
            if runCount > 1 && key != "init_from" && !value.contains("{run}") {
                throw r.error(key, "this spec expands to \(runCount) runs that would all write '\(value)': put {run} in the name")
            }
            value = value.replacingOccurrences(of: "{run}", with: String(runIndex + 1))
            return value.hasPrefix("/") ? value : folder.appendingPathComponent(value).path
        }
        let spec = CheckpointSpec(initFrom: try path("init_from"), saveInit: try path("save_init"), saveFinal: try path("save_final"))
        try r.finish()
        for (key, target) in [("save_init", spec.saveInit), ("save_final", spec.saveFinal)] {
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
    /// Writes the files into `folder` (created when missing) and returns their paths.
    @discardableResult
    public static func write(_ spec: ExperimentSpec, to folder: String) throws -> [String] {
        let data = try spec.fileData ?? SyntheticTasks.make(spec.task, seed: spec.seed)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
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
    /// Next-token prediction for the Transformer: a synthetic sequence task, or a file task of
    /// token ids (whose options carry `vocab` and `seq_len`, see `FileTask.options`).
    var isTokenSequence: Bool { Catalogue.sequenceTasks.contains(kind) || kind == "file" && extra["vocab"] != nil }
}
