import TrainLabAutodiff

// Regression losses: prediction and real targets of the same shape, mean over all elements.

/// The real targets, checked to have the prediction's shape.
private func realTargets(_ loss: some Loss, _ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Tensor {
    guard case let .real(y) = targets else { loss.wrongTargets(targets, needs: "real targets shaped like the prediction") }
    precondition(y.shape == tape.shape(prediction),
                 "\(loss.name): prediction \(tape.shape(prediction)) and targets \(y.shape) differ in shape")
    return y
}

/// L = mean (x - y)²  ([`nn.MSELoss`](https://pytorch.org/docs/stable/generated/torch.nn.MSELoss.html)).
public struct MSELoss: Loss {
    public init() {}
    public var name: String { "mse" }
    public var targetKind: LossTargetKind { .real }
    public func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable {
        let y = realTargets(self, prediction, targets, on: tape)
        return tape.mean(tape.square(tape.difference(prediction, tape.constant(y))))
    }
}

/// L = mean |x - y|  ([`nn.L1Loss`](https://pytorch.org/docs/stable/generated/torch.nn.L1Loss.html));
/// the gradient at x = y is 0, as torch's sign(0).
public struct L1Loss: Loss {
    public init() {}
    public var name: String { "l1" }
    public var targetKind: LossTargetKind { .real }
    public func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable {
        let y = realTargets(self, prediction, targets, on: tape)
        return tape.mean(tape.abs(tape.difference(prediction, tape.constant(y))))
    }
}

/// L = mean ℓ(x - y) with ℓ(d) = d²/2 for |d| < δ, δ (|d| - δ/2) otherwise, δ = `delta` = 1
/// ([`nn.HuberLoss`](https://pytorch.org/docs/stable/generated/torch.nn.HuberLoss.html)).
///
/// Written as ℓ(d) = q²/2 + δ (|d| - q) with q = min(|d|, δ): one expression for both branches,
/// whose derivative is d inside and δ·sign(d) outside.
public struct HuberLoss: Loss {
    public let delta: Float

    public init(delta: Float = 1) {
        precondition(delta > 0, "huber: delta must be positive, got \(delta)")
        self.delta = delta
    }

    public var name: String { "huber" }
    public var targetKind: LossTargetKind { .real }
    public func callAsFunction(_ prediction: Variable, _ targets: LossTargets, on tape: Tape) -> Variable {
        let y = realTargets(self, prediction, targets, on: tape)
        let magnitude = tape.abs(tape.difference(prediction, tape.constant(y)))
        let inside = tape.clamp(magnitude, max: delta)
        let quadratic = tape.scale(tape.square(inside), by: 0.5)
        let linear = tape.scale(tape.difference(magnitude, inside), by: delta)
        return tape.mean(tape.add(quadratic, linear))
    }
}
