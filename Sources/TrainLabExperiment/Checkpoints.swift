import TrainLabSpec
import TrainLabAutodiff
import TrainLabModels
import TrainLabIO

/// Model weights to and from safetensors files, with CONTRACT.md's names (parameters, then
/// BatchNorm's running statistics).
enum Checkpoints {
    static func tensors(of model: any Model) -> [(name: String, tensor: Tensor)] {
        model.parameters.map { ($0.name, $0.value) } + model.buffers
    }

    /// Replaces the model's initial weights with the file's. Every name the model has must be in
    /// the file with the same shape, and the file may hold nothing else: a mismatch is a bad input.
    static func load(_ path: String, into model: any Model, specFile: String) throws {
        let stored: [String: Tensor]
        do { stored = try SafeTensors.read(path: path) } catch {
            throw SpecError(file: specFile, path: "checkpoint.init_from", message: "\(error)")
        }
        let wanted = tensors(of: model)
        var problems: [String] = []
        for (name, tensor) in wanted {
            guard let found = stored[name] else { problems.append("missing '\(name)' \(tensor.shape)"); continue }
            if found.shape != tensor.shape { problems.append("'\(name)' is \(found.shape) in the file, the model needs \(tensor.shape)") }
        }
        let extra = Set(stored.keys).subtracting(wanted.map(\.name)).sorted()
        if !extra.isEmpty { problems.append("names the model does not have: \(extra.prefix(5).joined(separator: ", "))\(extra.count > 5 ? ", ..." : "")") }
        if !problems.isEmpty {
            throw SpecError(file: specFile, path: "checkpoint.init_from",
                            message: "\(path) does not fit this model: \(problems.prefix(5).joined(separator: "; "))")
        }
        for (name, tensor) in wanted { tensor.copy(from: stored[name]!) }
    }

    static func save(_ model: any Model, to path: String, metadata: [String: String]) throws {
        try SafeTensors.write(tensors(of: model), metadata: metadata, to: path)
    }
}
