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

// MARK: - Tape footprint

/// Floats a hidden layer's activation keeps per unit on the tape for a training step. Fused into
/// the linear layer: its value and gradient, the pre-activation gradient, and f'(z) where the
/// forward stores it. Otherwise the linear output's value and gradient, then the activation's
/// own ops.
private func activatedFloats(_ activation: any Activation, fused: Bool) -> Int {
    if fused, let map = activation.fusedMap { return map.storesDerivative ? 4 : 3 }
    return 2 + activation.tapeFloatsPerUnit
}

/// Floats a norm keeps per feature: its value and gradient (BatchNorm also its normalized input
/// and a centred copy for the batch statistics' gradient).
private func normFloats(_ norm: NormalizationKind) -> Int {
    switch norm {
    case .none: 0
    case .batchNorm: 4
    case .layerNorm, .rmsNorm: 2
    }
}

extension MLP {
    /// Floats the tape's arena holds per sample once a training step has run (values,
    /// gradients, kept derivatives; what `init` and `forward` build, counted without building
    /// them): the resource estimate's activations. Within about 10% of the arena for every
    /// catalogue activation, norm and placement (tested).
    public static func tapeFloatsPerSample(inputs: Int, hidden: [Int], outputs: Int, norm: NormalizationKind,
                                           placement: NormPlacement, residual: Bool, activation: any Activation) -> Int {
        geometry(inputs: inputs, hidden: hidden, outputs: outputs, placement: placement, residual: residual)
            .reduce(inputs + 4 * outputs) { total, layer in
                // `forward` fuses act(Linear(x)) unless a norm sits between them (post and
                // deepnorm outside residual blocks); deepnorm scales the skip path, one more node.
                let normBetween = norm != .none && layer.hasNorm && placement != .pre && !layer.isResidual
                return total + (layer.isHidden ? activatedFloats(activation, fused: !normBetween) * layer.outputs : 0)
                    + (layer.hasNorm ? normFloats(norm) * layer.normWidth : 0)
                    + (layer.isResidual ? (placement == .deepnorm ? 4 : 2) * layer.outputs : 0)
            }
    }
}

extension Transformer {
    /// Floats the tape's arena holds per token once a training step has run, besides the
    /// attention probabilities kept for the backward: per block two norms, q k v (and their
    /// rotated copies with RoPE), the attention output, its projection, the FFN (gate, up and
    /// their product; or up and its activation) and the down projection, two residual sums;
    /// then the embedding (plus positions), the final norm and the logits with their softmax.
    /// Each node a value and a gradient. Within about 10% of the arena (tested).
    public static func tapeFloatsPerToken(_ config: TransformerConfig) -> Int {
        let d = config.dModel, q = config.heads * config.headSize, kv = 2 * config.resolvedKVHeads * config.headSize
        let h = config.resolvedFFNHidden
        let feedForward: Int = switch config.activation {
        case .gated: 6 * h
        case .plain(let activation): (2 + activation.tapeFloatsPerUnit) * h  // up, then f's own ops
        }
        let rotary = config.positional == .rope ? 2 * (q + kv / 2) : 0
        let norms = 2 * normFloats(config.norm) * d
        let block = norms + 2 * (4 * d + 2 * q + kv) + feedForward + rotary
        let positions = config.positional == .learned || config.positional == .sinusoidal ? 2 * d : 0
        return config.layers * block + 2 * d + positions + normFloats(config.norm) * d + 3 * config.vocab
    }
}
