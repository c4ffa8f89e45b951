import Foundation
import TrainLabSpec
import TrainLabAutodiff
import TrainLabModels
import TrainLabIO

/// Model weights to and from safetensors files, with docs/interface.md's names (parameters, then
/// BatchNorm's running statistics).
enum Checkpoints {
    static func tensors(of model: any Model) -> [(name: String, tensor: Tensor)] {
        model.parameters.map { ($0.name, $0.value) } + model.buffers
    }

    /// Whether a state may leave the tensor out, as PyTorch's `load_state_dict` allows: BatchNorm's
    /// step counter `num_batches_tracked` (older states lack it), which then starts at 0.
    static func mayBeMissing(_ name: String) -> Bool { name.hasSuffix(".num_batches_tracked") }

    /// Replaces the model's initial weights with the file's. Every name the model has must be in
    /// the file with the same shape (but `mayBeMissing`), the file may hold nothing else, and every
    /// value must be finite (a NaN would only show as a diverged run): a mismatch is a bad input.
    /// Names and shapes are judged from the header, before any tensor is read.
    static func load(_ path: String, into model: any Model, specFile: String) throws {
        func badInput(_ message: String) -> SpecError { SpecError(file: specFile, path: "checkpoint.init_from", message: message) }
        let header: SafeTensorsHeader
        do { header = try SafeTensors.open(path: path) } catch { throw badInput("\(error)") }
        let stored = Dictionary(uniqueKeysWithValues: header.entries.map { ($0.name, $0) })
        let wanted = tensors(of: model)
        var problems: [String] = []
        for (name, tensor) in wanted {
            guard let found = stored[name] else {
                if !mayBeMissing(name) { problems.append("missing '\(name)' \(tensor.shape)") }
                continue
            }
            if found.shape != tensor.shape { problems.append("'\(name)' is \(found.shape) in the file, the model needs \(tensor.shape)") }
        }
        let extra = Set(stored.keys).subtracting(wanted.map(\.name)).sorted()
        if !extra.isEmpty { problems.append("names the model does not have: \(extra.prefix(5).joined(separator: ", "))\(extra.count > 5 ? ", ..." : "")") }
        if !problems.isEmpty {
            throw badInput("\(path) does not fit this model: \(problems.prefix(5).joined(separator: "; "))")
        }
        for (name, tensor) in wanted {
            guard let entry = stored[name] else { tensor.fill(0); continue }
            let found: Tensor
            do { found = try header.read(entry) } catch { throw badInput("\(error)") }
            if let index = found.scalars.firstIndex(where: { !$0.isFinite }) {
                throw badInput("\(path): tensor '\(name)' holds \(found.scalars[index]) at element \(index): weights must be finite numbers")
            }
            tensor.copy(from: found)
        }
    }

    /// Writes the weights, creating the file's folder when missing (as for the database).
    static func save(_ model: any Model, to path: String, metadata: [String: String]) throws {
        try OutputFolder.create(URL(fileURLWithPath: path).deletingLastPathComponent().path)
        try SafeTensors.write(tensors(of: model), metadata: metadata, to: path)
    }

    /// Why a weights file could not be written at `path`, judged before training: the nearest
    /// existing folder above it must be a writable folder. Nil when it can be written.
    static func unwritableReason(_ path: String) -> String? {
        var folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var isFolder: ObjCBool = false
        while !FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder) {
            folder = folder.deletingLastPathComponent()
        }
        if !isFolder.boolValue { return "\(folder.path) is a file, not a folder" }
        if access(folder.path, W_OK) != 0 { return "the folder \(folder.path) is not writable" }
        return nil
    }
}
