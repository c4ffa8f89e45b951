import TrainLabAutodiff

/// What a loss compares the model's output with.
public enum LossTargets {
    /// Class ids, one per row.
    case classes([Int])
    /// Real targets shaped like the prediction.
    case real(Tensor)
}

/// A scalar training objective (mean reduction, as PyTorch's default).
public protocol Loss: Sendable {
    var name: String { get }
    /// Whether targets are class ids (else real values shaped like the prediction).
    var wantsClasses: Bool { get }
    func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable
}

/// L = mean over rows of -log softmax(x)[target]  (`nn.CrossEntropyLoss`, no smoothing yet).
public struct CrossEntropyLoss: Loss {
    public init() {}
    public var name: String { "cross_entropy" }
    public var wantsClasses: Bool { true }
    public func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable {
        guard case let .classes(ids) = targets else { preconditionFailure("cross_entropy needs class targets") }
        return tape.crossEntropy(logits: prediction, targets: ids)
    }
}

/// L = mean (x - y)²  (`nn.MSELoss`).
public struct MSELoss: Loss {
    public init() {}
    public var name: String { "mse" }
    public var wantsClasses: Bool { false }
    public func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable {
        guard case let .real(y) = targets else { preconditionFailure("mse needs real targets") }
        let difference = tape.add(prediction, tape.scale(tape.constant(y), by: -1))
        return tape.mean(tape.square(difference))
    }
}
