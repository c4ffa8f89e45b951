/// A parameter as the weights file names it (docs/interface.md), with its shape.
public struct ParameterShape: Equatable, Sendable, CustomStringConvertible {
    public let name: String
    public let shape: [Int]

    /// Elements, in floating point: a shape's product may pass Int.max before a size check refuses it.
    public var count: Double { shape.reduce(1.0) { $0 * Double($1) } }

    public var description: String { "\(name) \(shape)" }
}

extension NormalizationKind {
    /// The parameters `make(features:name:)` builds: γ (`weight`), then β (`bias`) where it has one.
    public func parameterShapes(features: Int, name: String) -> [ParameterShape] {
        ["weight", "bias"].prefix(parametersPerFeature).map { ParameterShape(name: "\(name).\($0)", shape: [features]) }
    }
}

/// A linear layer's parameters: `weight` [out, in] (PyTorch's layout), then `bias` [out].
func linearShapes(name: String, inputs: Int, outputs: Int, bias: Bool) -> [ParameterShape] {
    [ParameterShape(name: "\(name).weight", shape: [outputs, inputs])]
        + (bias ? [ParameterShape(name: "\(name).bias", shape: [outputs])] : [])
}

extension MLP {
    /// One layer as `init` builds it: its widths, whether it is hidden (activated) and a
    /// residual block, whether it has a norm and the width that norm covers. Post and deepnorm
    /// normalize each hidden layer's output; pre normalizes the input of every layer but the
    /// first (the head included), so the first Linear reads the raw input, as in pre-activation
    /// ResNets and pre-LN Transformers.
    struct LayerGeometry {
        let inputs: Int, outputs: Int
        let isHidden: Bool, isResidual: Bool
        let hasNorm: Bool
        let normWidth: Int
    }

    static func geometry(inputs: Int, hidden: [Int], outputs: Int, placement: NormPlacement, residual: Bool) -> [LayerGeometry] {
        let widths = [inputs] + hidden + [outputs]
        return (0..<(widths.count - 1)).map { i in
            let isHidden = i < widths.count - 2
            return LayerGeometry(inputs: widths[i], outputs: widths[i + 1], isHidden: isHidden,
                                 isResidual: residual && isHidden && i > 0 && widths[i] == widths[i + 1],
                                 hasNorm: placement == .pre ? i > 0 : isHidden,
                                 normWidth: placement == .pre ? widths[i] : widths[i + 1])
        }
    }

    /// The parameters `init` builds, named and in the weights file's order, without building
    /// them: the resource estimate counts these, so `validate`'s count is the model's.
    public static func parameterShapes(inputs: Int, hidden: [Int], outputs: Int, bias: Bool, norm: NormalizationKind,
                                       placement: NormPlacement, residual: Bool, activation: any Activation) -> [ParameterShape] {
        geometry(inputs: inputs, hidden: hidden, outputs: outputs, placement: placement, residual: residual)
            .enumerated().flatMap { i, layer in
                linearShapes(name: "layers.\(i)", inputs: layer.inputs, outputs: layer.outputs, bias: bias)
                    + (layer.hasNorm ? norm.parameterShapes(features: layer.normWidth, name: "layers.\(i).norm") : [])
            }
            + activation.parameters.map { ParameterShape(name: $0.name, shape: $0.value.shape) }
    }
}

extension Transformer {
    /// The parameters `init` builds for `config`, named and in the weights file's order (see
    /// `parameters`), without building them: the resource estimate counts these.
    public static func parameterShapes(_ config: TransformerConfig) -> [ParameterShape] {
        let d = config.dModel, hd = config.headSize, hidden = config.resolvedFFNHidden
        var shapes = [ParameterShape(name: "embed.weight", shape: [config.vocab, d])]
        if config.positional == .learned { shapes.append(ParameterShape(name: "pos.weight", shape: [config.maxLength, d])) }
        for i in 0..<config.layers {
            let block = "blocks.\(i)"
            shapes += config.norm.parameterShapes(features: d, name: "\(block).attn_norm")
            shapes += linearShapes(name: "\(block).attn.q", inputs: d, outputs: config.heads * hd, bias: config.bias)
            shapes += linearShapes(name: "\(block).attn.k", inputs: d, outputs: config.resolvedKVHeads * hd, bias: config.bias)
            shapes += linearShapes(name: "\(block).attn.v", inputs: d, outputs: config.resolvedKVHeads * hd, bias: config.bias)
            shapes += linearShapes(name: "\(block).attn.o", inputs: d, outputs: d, bias: config.bias)
            shapes += config.norm.parameterShapes(features: d, name: "\(block).ffn_norm")
            shapes += linearShapes(name: "\(block).ffn.up", inputs: d, outputs: hidden, bias: config.bias)
            if config.activation.isGated {
                shapes += linearShapes(name: "\(block).ffn.gate", inputs: d, outputs: hidden, bias: config.bias)
            }
            shapes += linearShapes(name: "\(block).ffn.down", inputs: hidden, outputs: d, bias: config.bias)
        }
        if config.placement == .pre { shapes += config.norm.parameterShapes(features: d, name: "final_norm") }
        if !config.tieEmbeddings { shapes += linearShapes(name: "head", inputs: d, outputs: config.vocab, bias: config.bias) }
        return shapes + config.activation.activation.parameters.map { ParameterShape(name: $0.name, shape: $0.value.shape) }
    }
}
