import TrainLabAutodiff

/// An elementwise nonlinearity applied on a tape. Composite activations are written as
/// compositions of differentiated ops (tinygrad's rule: silu is x · sigmoid(x), no backward of
/// its own), so each is gradient-checked by construction.
public protocol Activation: Sendable {
    /// The catalogue name (`relu`, `tanh`, ...).
    var name: String { get }
    /// The `calculate_gain` nonlinearity for Kaiming initialization.
    var nonlinearity: Initializer.Nonlinearity { get }
    func callAsFunction(_ x: Variable, on tape: Tape) -> Variable
}

/// max(x, 0).
public struct ReLU: Activation {
    public init() {}
    public var name: String { "relu" }
    public var nonlinearity: Initializer.Nonlinearity { .relu }
    public func callAsFunction(_ x: Variable, on tape: Tape) -> Variable { tape.relu(x) }
}

/// tanh(x).
public struct Tanh: Activation {
    public init() {}
    public var name: String { "tanh" }
    public var nonlinearity: Initializer.Nonlinearity { .tanh }
    public func callAsFunction(_ x: Variable, on tape: Tape) -> Variable { tape.tanh(x) }
}

/// σ(x) = 1 / (1 + e^(-x)).
public struct Sigmoid: Activation {
    public init() {}
    public var name: String { "sigmoid" }
    public var nonlinearity: Initializer.Nonlinearity { .sigmoid }
    public func callAsFunction(_ x: Variable, on tape: Tape) -> Variable { tape.sigmoid(x) }
}

/// SiLU(x) = x · σ(x)  (swish with β = 1).
public struct SiLU: Activation {
    public init() {}
    public var name: String { "silu" }
    public var nonlinearity: Initializer.Nonlinearity { .relu }
    public func callAsFunction(_ x: Variable, on tape: Tape) -> Variable { tape.multiply(x, tape.sigmoid(x)) }
}

/// x (no nonlinearity).
public struct Identity: Activation {
    public init() {}
    public var name: String { "identity" }
    public var nonlinearity: Initializer.Nonlinearity { .linear }
    public func callAsFunction(_ x: Variable, on tape: Tape) -> Variable { x }
}
