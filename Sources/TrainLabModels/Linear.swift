import TrainLabAutodiff
import TrainLabKernels

/// y = x Wᵀ + b with W [out, in] and b [out] (`torch.nn.Linear`'s layout and default init).
public final class Linear {
    public let weight: Parameter
    public let bias: Parameter?

    /// Default init as PyTorch: W ~ U(±1/√in) (kaiming_uniform with a = √5), b ~ U(±1/√in).
    public init(inputs: Int, outputs: Int, bias: Bool = true, name: String,
                weightInit: Initializer? = nil, biasInit: Initializer? = nil, generator: inout SplitMix64) {
        weight = Parameter(name: "\(name).weight", value: Tensor(shape: [outputs, inputs]))
        let bound = 1 / Double(inputs).squareRoot()
        (weightInit ?? .kaimingUniform(a: 5.0.squareRoot(), mode: .fanIn, nonlinearity: .leakyRelu))
            .fill(weight.value, using: &generator)
        if bias {
            let b = Parameter(name: "\(name).bias", value: Tensor(shape: [outputs]))
            // A bias vector's own fans are its length: use the layer's fan_in for the default.
            if let biasInit { biasInit.fill(b.value, using: &generator) } else {
                Initializer.uniform(a: -bound, b: bound).fill(b.value, using: &generator)
            }
            self.bias = b
        } else {
            self.bias = nil
        }
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    /// x (B, in) -> (B, out), one fused op with the bias; `activation` (a map the layer can
    /// fuse, see `Tape.linear`) is applied in the same pass.
    public func callAsFunction(_ x: Variable, on tape: Tape, activation: UnaryMap? = nil) -> Variable {
        tape.linear(x, weight: tape.parameter(weight), bias: bias.map { tape.parameter($0) }, activation: activation)
    }

    /// Several layers of one input x, as one op (`Tape.linears`): each output has the bits of
    /// the layer's own call, and a bf16 x is rounded once for all of them.
    public static func apply(_ layers: [Linear], to x: Variable, on tape: Tape) -> [Variable] {
        tape.linears(x, layers.map { (tape.parameter($0.weight), $0.bias.map { tape.parameter($0) }) })
    }
}
