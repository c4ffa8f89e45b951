import Foundation
import TrainLabSpec
import TrainLabAutodiff
import TrainLabData
import TrainLabIO

/// `task.kind = "file"`: data from NumPy `.npy` files (CONTRACT.md). Inputs are float features
/// (N, D); targets are float (N, K) or (N) for regression, integer class ids (N) for
/// classification. Paths are relative to the spec's folder. Loaded once per spec file.
struct FileTask {
    let data: TaskData
    let paths: [String]

    /// Files already read while loading one spec file (a sweep reuses them).
    final class Cache {
        var loaded: [String: FileTask] = [:]
    }

    static func decode(_ r: ObjectReader, specFile: String, cache: Cache) throws -> FileTask {
        let folder = URL(fileURLWithPath: specFile).deletingLastPathComponent()
        func path(_ key: String, required: Bool) throws -> String? {
            guard let value = required ? try r.string(key) : try r.optionalString(key) else { return nil }
            return value.hasPrefix("/") ? value : folder.appendingPathComponent(value).path
        }
        let trainInputs = try path("train_inputs", required: true)!
        let trainTargets = try path("train_targets", required: true)!
        let valInputs = try path("val_inputs", required: false)
        let valTargets = try path("val_targets", required: false)
        if (valInputs == nil) != (valTargets == nil) {
            throw r.error(valInputs == nil ? "val_targets" : "val_inputs", "val_inputs and val_targets come together")
        }
        let classes = try r.optionalInt("classes", range: 2...1 << 20)
        try r.finish()
        let key = [trainInputs, trainTargets, valInputs ?? "", valTargets ?? "", "\(classes ?? 0)"].joined(separator: "\n")
        if let hit = cache.loaded[key] { return hit }

        func fail(_ key: String, _ message: String) -> SpecError { r.error(key, message) }
        func read(_ key: String, _ file: String) throws -> NumPyArray {
            do { return try NumPy.read(path: file) } catch { throw fail(key, "\(error)") }
        }
        func split(_ inputsKey: String, _ inputsPath: String, _ targetsKey: String, _ targetsPath: String) throws -> (Tensor, NumPyArray) {
            let x = try read(inputsKey, inputsPath), y = try read(targetsKey, targetsPath)
            guard x.shape.count == 2, let inputs = x.floatTensor() else {
                throw fail(inputsKey, "expected a 2-D float array (rows, features), got shape \(x.shape) of \(x.fileDType)")
            }
            guard let rows = y.shape.first, rows == x.shape[0], y.shape.count <= 2 else {
                throw fail(targetsKey, "expected \(x.shape[0]) rows of targets (shape (\(x.shape[0])) or (\(x.shape[0]), K)), got shape \(y.shape)")
            }
            return (inputs, y)
        }
        let (trainX, trainY) = try split("train_inputs", trainInputs, "train_targets", trainTargets)
        var validation: (Tensor, NumPyArray)? = nil
        if let valInputs, let valTargets {
            validation = try split("val_inputs", valInputs, "val_targets", valTargets)
            if validation!.0.shape[1] != trainX.shape[1] {
                throw fail("val_inputs", "validation rows have \(validation!.0.shape[1]) features, training rows \(trainX.shape[1])")
            }
        }
        let classification = trainY.intValues != nil
        var outputDim: Int
        if classification {
            let ids = trainY.intValues! + (validation?.1.intValues ?? [])
            if validation != nil && validation!.1.intValues == nil {
                throw fail("val_targets", "training targets are class ids, validation targets are floats")
            }
            let largest = ids.max() ?? 0
            if let negative = ids.first(where: { $0 < 0 }) { throw fail("train_targets", "class ids must be >= 0, found \(negative)") }
            outputDim = classes ?? largest + 1
            if largest >= outputDim { throw fail("classes", "class id \(largest) does not fit \(outputDim) classes") }
        } else {
            outputDim = trainY.shape.count == 2 ? trainY.shape[1] : 1
        }
        func dataset(_ x: Tensor, _ y: NumPyArray) -> Dataset {
            if let ids = y.intValues { return Dataset(inputs: x, targets: .classes(ids)) }
            let t = y.floatTensor()!
            return Dataset(inputs: x, targets: .real(Tensor(shape: [t.shape[0], t.count / max(t.shape[0], 1)], values: t.scalars)))
        }
        let data = TaskData(kind: classification ? .classification : .regression, inputDim: trainX.shape[1], outputDim: outputDim,
                            train: dataset(trainX, trainY), validation: validation.map { dataset($0.0, $0.1) })
        let task = FileTask(data: data, paths: [trainInputs, trainTargets] + [valInputs, valTargets].compactMap { $0 })
        cache.loaded[key] = task
        return task
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
            try NumPy.write(dataset.inputs, to: inputs)
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
