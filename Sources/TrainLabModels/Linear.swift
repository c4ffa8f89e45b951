import TrainLabAutodiff

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

    /// x (B, in) -> (B, out).
    public func callAsFunction(_ x: Variable, on tape: Tape) -> Variable {
        let y = tape.matmul(x, tape.parameter(weight), transposeB: true)
        guard let bias else { return y }
        return tape.addRowVector(y, tape.parameter(bias))
    }
}
