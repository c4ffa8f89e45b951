import TrainLabAutodiff
import TrainLabKernels

/// An elementwise nonlinearity applied on a tape. Composite activations are written as
/// compositions of differentiated ops (tinygrad's rule: silu is x · sigmoid(x), no backward of
/// its own), so each is gradient-checked by construction.
public protocol Activation: Sendable {
    /// The catalogue name (`relu`, `tanh`, ...).
    var name: String { get }
    /// The `calculate_gain` nonlinearity for Kaiming initialization.
    var nonlinearity: Initializer.Nonlinearity { get }
    func callAsFunction(_ x: Variable, on tape: Tape) -> Variable
    /// Trainable parameters of the activation itself (swish's learnable β), shared by all layers.
    var parameters: [Parameter] { get }
    /// The one elementwise map this activation is, when it is one (gated units then fuse it).
    var map: UnaryMap? { get }
    /// Floats per unit its own ops keep on a training step's tape when it runs as ops of its own
    /// (their values, gradients and kept derivatives; not its input's). `validate`'s memory
    /// estimate counts these; a test checks them against the arena for every catalogue entry.
    var tapeFloatsPerUnit: Int { get }
}

extension Activation {
    public var parameters: [Parameter] { [] }
    public var map: UnaryMap? { nil }
    /// One map is one node: its value and gradient, and f'(x) where the forward stores it.
    public var tapeFloatsPerUnit: Int { map?.storesDerivative == true ? 3 : 2 }

    /// The map a linear layer's GEMM applies to its output in the same pass (f'(z) stored, or
    /// read from y), so act(Linear(x)) is one op; nil when the activation runs as its own ops.
    public var fusedMap: UnaryMap? { map.flatMap { $0.storesDerivative || $0.derivativeFromOutput ? $0 : nil } }
}

/// max(x, 0).
public struct ReLU: Activation {
    public init() {}
    public var name: String { "relu" }
    public var nonlinearity: Initializer.Nonlinearity { .relu }
    public var map: UnaryMap? { .relu }
    public func callAsFunction(_ x: Variable, on tape: Tape) -> Variable { tape.relu(x) }
}

/// tanh(x).
public struct Tanh: Activation {
    public init() {}
    public var name: String { "tanh" }
    public var nonlinearity: Initializer.Nonlinearity { .tanh }
    public var map: UnaryMap? { .tanh }
    public func callAsFunction(_ x: Variable, on tape: Tape) -> Variable { tape.tanh(x) }
}

/// σ(x) = 1 / (1 + e^(-x)).
public struct Sigmoid: Activation {
    public init() {}
    public var name: String { "sigmoid" }
    public var nonlinearity: Initializer.Nonlinearity { .sigmoid }
    public var map: UnaryMap? { .sigmoid }
    public func callAsFunction(_ x: Variable, on tape: Tape) -> Variable { tape.sigmoid(x) }
}

/// SiLU(x) = x · σ(x)  (swish with β = 1), one fused map: SwiGLU's gate runs it over every hidden unit.
public struct SiLU: Activation {
    public init() {}
    public var name: String { "silu" }
    public var nonlinearity: Initializer.Nonlinearity { .relu }
    public var map: UnaryMap? { .silu }
    public func callAsFunction(_ x: Variable, on tape: Tape) -> Variable { tape.unary(.silu, x) }
}

/// LeakyReLU(x) = max(x, 0) + a · min(x, 0) = relu(x) - a · relu(-x)  (negative_slope a = 0.01).
public struct LeakyReLU: Activation {
    public let negativeSlope: Float
    public init(negativeSlope: Float = 0.01) { self.negativeSlope = negativeSlope }
    public var name: String { "leaky_relu" }
    public var nonlinearity: Initializer.Nonlinearity { .leakyRelu }
    /// Five nodes of a value and a gradient; the sum hands its gradient buffer on.
    public var tapeFloatsPerUnit: Int { 9 }
    public func callAsFunction(_ x: Variable, on tape: Tape) -> Variable {
        tape.add(tape.relu(x), tape.scale(tape.relu(tape.scale(x, by: -1)), by: -negativeSlope))
    }
}

/// GELU (`nn.GELU`): approximate none x Φ(x); tanh ½x(1 + tanh(√(2/π)(x + 0.044715x³)));
/// sigmoid x σ(1.702 x) (Hendrycks & Gimpel 2016, https://arxiv.org/abs/1606.08415).
public struct GELU: Activation {
    public enum Approximation: String, Sendable, CaseIterable { case none, tanh, sigmoid }
    public let approximate: Approximation
    public init(approximate: Approximation = .none) { self.approximate = approximate }
    public var name: String { "gelu" }
    public var nonlinearity: Initializer.Nonlinearity { .relu }
    public var map: UnaryMap? {
        switch approximate {
        case .none: .gelu
        case .tanh: .geluTanh
        case .sigmoid: nil
        }
    }
    /// The sigmoid form is three nodes (scale, σ, product) of a value and a gradient.
    public var tapeFloatsPerUnit: Int { approximate == .sigmoid ? 6 : 3 }
    public func callAsFunction(_ x: Variable, on tape: Tape) -> Variable {
        switch approximate {
        case .none: tape.unary(.gelu, x)
        case .tanh: tape.unary(.geluTanh, x)
        case .sigmoid: tape.multiply(x, tape.sigmoid(tape.scale(x, by: 1.702)))
        }
    }
}

/// Swish(x) = x · σ(β x) (Ramachandran et al. 2017, https://arxiv.org/abs/1710.05941); β = 1 is
/// SiLU. With `learnable`, β is one trainable scalar `activation.beta` shared by every layer.
public final class Swish: Activation, @unchecked Sendable {
    public let beta: Float
    public let learnedBeta: Parameter?
    public init(beta: Float = 1, learnable: Bool = false) {
        self.beta = beta
        learnedBeta = learnable ? Parameter(name: "activation.beta", value: Tensor(shape: [1], values: [beta])) : nil
    }
    public var name: String { "swish" }
    public var nonlinearity: Initializer.Nonlinearity { .relu }
    public var parameters: [Parameter] { learnedBeta.map { [$0] } ?? [] }
    /// Three nodes (scale, σ, product) of a value and a gradient.
    public var tapeFloatsPerUnit: Int { 6 }
    public func callAsFunction(_ x: Variable, on tape: Tape) -> Variable {
        let scaled = learnedBeta.map { tape.scale(x, by: tape.parameter($0)) } ?? tape.scale(x, by: beta)
        return tape.multiply(x, tape.sigmoid(scaled))
    }
}

/// x (no nonlinearity).
public struct Identity: Activation {
    public init() {}
    public var name: String { "identity" }
    public var nonlinearity: Initializer.Nonlinearity { .linear }
    public var tapeFloatsPerUnit: Int { 0 }
    public func callAsFunction(_ x: Variable, on tape: Tape) -> Variable { x }
}
