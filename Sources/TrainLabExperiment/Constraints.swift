import TrainLabAutodiff
import TrainLabSpec

/// One entry of the spec's `constraints`: min L(θ) subject to g(θ) ≤ 0, trained on a Lagrangian.
///
/// `weight_norm`: g(θ) = Σ ‖W‖²_F − max², summed over every parameter of rank 2 (the linear
/// layers' weights; the Transformer's embeddings too), biases and norm gains excluded. So the
/// weights as one vector must lie in the ball of radius `max`.
public struct ConstraintSpec: Sendable, Equatable {
    public static let kinds = ["weight_norm"]

    /// How the multiplier λ ≥ 0 enters the loss and is updated after each optimizer step.
    public enum Method: Sendable, Equatable {
        /// Gradient descent on θ, ascent on λ (Arrow–Hurwicz; Platt & Barr 1988, "Constrained
        /// differential optimization", the basic differential multiplier method):
        /// loss L + λ·g(θ), then λ ← max(0, λ + η·g(θ)), η = `dual_lr`.
        case dualAscent(dualLearningRate: Double)
        /// The augmented Lagrangian of an inequality constraint (Bertsekas 1982, "Constrained
        /// Optimization and Lagrange Multiplier Methods", §3.1; Rockafellar 1973):
        /// loss L + (max(0, λ + ρ·g(θ))² − λ²)/(2ρ), whose θ-gradient is max(0, λ + ρg)·∇g,
        /// then λ ← max(0, λ + ρ·g(θ)), ρ = `rho`.
        case augmented(rho: Double)
    }

    public let kind: String
    /// The bound on the Frobenius norm of all weight matrices together (`max`).
    public let maxNorm: Double
    public let method: Method

    public init(kind: String = "weight_norm", maxNorm: Double, method: Method) {
        self.kind = kind
        self.maxNorm = maxNorm
        self.method = method
    }

    /// Metric names, logged with train_loss: λ used by update k and g(θ) before update k.
    public var multiplierMetric: String { "constraint/\(kind)/multiplier" }
    public var violationMetric: String { "constraint/\(kind)/violation" }

    /// Reads `constraints` (a list of objects; nil or missing: none). Each kind at most once.
    static func decodeList(_ root: ObjectReader) throws -> [ConstraintSpec] {
        guard let value = root.value("constraints"), value != .null else { return [] }
        guard case .array(let elements) = value else {
            throw root.error("constraints", "expected a list of constraints like [{\"kind\": \"weight_norm\", \"max\": 3}], got \(value.typeName)")
        }
        var resolved: [JSONValue] = []
        var specs: [ConstraintSpec] = []
        for (index, element) in elements.enumerated() {
            let reader = try ObjectReader(element, path: "constraints[\(index)]", document: root.document)
            let kind = try reader.choice("kind", among: kinds)
            let maxNorm = try reader.double("max", range: 1e-12...1e12)
            let methodName = try reader.choice("method", default: "dual_ascent", among: ["dual_ascent", "augmented"])
            let method: Method = methodName == "augmented"
                ? .augmented(rho: try reader.double("rho", default: 1, range: 1e-12...1e12))
                : .dualAscent(dualLearningRate: try reader.double("dual_lr", default: 0.1, range: 0...1e12))
            try reader.finish()
            if specs.contains(where: { $0.kind == kind }) {
                throw root.error("constraints[\(index)].kind", "a second '\(kind)' constraint: each kind may appear once")
            }
            specs.append(ConstraintSpec(kind: kind, maxNorm: maxNorm, method: method))
            resolved.append(reader.resolved)
        }
        root.resolve("constraints", .array(resolved))
        return specs
    }
}

/// A `weight_norm` constraint during training: its multiplier λ (≥ 0, starting at 0) and the
/// penalty it adds to the loss on the tape, so that backward gives the Lagrangian's exact gradient.
public final class WeightNormConstraint {
    public let spec: ConstraintSpec
    public private(set) var multiplier = 0.0
    /// Constants recorded on the tape, refilled each step: −max², and λ for the augmented form.
    private let negativeBoundSquared = Tensor(shape: [1])
    private let shift = Tensor(shape: [1])
    private let offset = Tensor(shape: [1])

    public init(_ spec: ConstraintSpec) {
        self.spec = spec
        negativeBoundSquared[0] = Float(-spec.maxNorm * spec.maxNorm)
    }

    /// The parameters g sums over: each distinct parameter of rank 2, in model order.
    public static func constrainedParameters(_ parameters: [Parameter]) -> [Parameter] {
        var seen = Set<ObjectIdentifier>()
        return parameters.filter { $0.value.shape.count == 2 && seen.insert(ObjectIdentifier($0)).inserted }
    }

    /// Records g(θ) = Σ ‖W‖²_F − max² on `weights` and the penalty of `spec.method` with the
    /// current λ (see `ConstraintSpec.Method`); returns both (scalars of shape [1]).
    public func record(weights: [Variable], on tape: Tape) -> (penalty: Variable, violation: Variable) {
        precondition(!weights.isEmpty, "weight_norm needs at least one weight matrix")
        var squaredNorm = tape.sum(tape.square(weights[0]))
        for w in weights.dropFirst() { squaredNorm = tape.add(squaredNorm, tape.sum(tape.square(w))) }
        let violation = tape.add(squaredNorm, tape.constant(negativeBoundSquared))
        switch spec.method {
        case .dualAscent:
            return (tape.scale(violation, by: Float(multiplier)), violation)
        case .augmented(let rho):
            shift[0] = Float(multiplier)
            offset[0] = Float(-multiplier * multiplier / (2 * rho))
            let active = tape.relu(tape.add(tape.scale(violation, by: Float(rho)), tape.constant(shift)))
            let penalty = tape.add(tape.scale(tape.square(active), by: Float(1 / (2 * rho))), tape.constant(offset))
            return (penalty, violation)
        }
    }

    /// The dual step after an optimizer step, with g(θ) at the parameters that step started from.
    public func updateMultiplier(violation g: Double) {
        switch spec.method {
        case .dualAscent(let eta): multiplier = max(0, multiplier + eta * g)
        case .augmented(let rho): multiplier = max(0, multiplier + rho * g)
        }
    }

    private var archiveKey: String { "constraint.\(spec.kind).multiplier" }

    func save(to archive: inout StateArchive) {
        archive.set(archiveKey, doubles: [multiplier])
    }

    func restore(from archive: StateArchive) throws {
        multiplier = try archive.doubles(archiveKey, count: 1)[0]
    }
}
