import Foundation
import TrainLabAutodiff

/// How a Transformer knows token positions (`model.positional`).
public enum PositionalEncoding: String, Sendable, CaseIterable {
    /// A trained table `pos.weight` [max_len, d] added to the token embeddings.
    case learned
    /// The fixed table of Vaswani et al. 2017 added to the token embeddings:
    /// PE[t, 2i] = sin(t / 10000^(2i/d)), PE[t, 2i+1] = cos(t / 10000^(2i/d)).
    case sinusoidal
    /// Rotary embedding of q and k in every attention layer (`Tape.rotaryEmbedding`).
    case rope
    /// None: attention is then order-blind unless causal.
    case none

    /// One line for `trainlab catalog`.
    public var doc: String {
        switch self {
        case .learned: "a trained table pos.weight [max_len, d] added to the embeddings"
        case .sinusoidal: "the fixed sin/cos table of Vaswani et al. 2017 added to the embeddings"
        case .rope: "rotary embedding of q and k in every attention layer (rope_base)"
        case .none: "no positions (order-blind unless causal)"
        }
    }
}

/// A decoder-style Transformer's sizes and choices (docs/interface.md's `model` keys for
/// `"kind": "transformer"`). `validationError()` checks them with the spec's key names.
public struct TransformerConfig: Sendable {
    /// Token ids are 0 ..< vocab; logits have vocab columns (`vocab`).
    public var vocab: Int
    /// Longest sequence (`max_len`): rows of `pos.weight` and of the sinusoid table.
    public var maxLength: Int
    /// Model width d (`d_model`).
    public var dModel: Int = 64
    /// Number of blocks N (`layers`).
    public var layers: Int = 2
    /// Query heads H (`heads`); the head size is d / H.
    public var heads: Int = 4
    /// Key/value heads (`kv_heads`, default `heads`): H is multi-head, 1 multi-query attention.
    public var kvHeads: Int? = nil
    /// Width of the feed-forward layer (`ffn_hidden`, default 4·d).
    public var ffnHidden: Int? = nil
    public var activation: FeedForwardActivation = .plain(GELU())
    /// `layerNorm`, `rmsNorm` or `none` (BatchNorm is refused).
    public var norm: NormalizationKind = .layerNorm()
    public var placement: NormPlacement = .pre
    public var causal: Bool = true
    public var bias: Bool = true
    public var positional: PositionalEncoding = .learned
    /// The LM head reuses `embed.weight` (`head.weight` and `head.bias` are then absent).
    public var tieEmbeddings: Bool = false
    /// RoPE's base (10000, as RoFormer and Llama).
    public var ropeBase: Double = 10000
    /// Replaces the default initializers of every weight (linear and embedding tables).
    public var weightInit: Initializer? = nil
    /// Replaces the default initializer of every linear bias.
    public var biasInit: Initializer? = nil

    public init(vocab: Int, maxLength: Int) {
        self.vocab = vocab
        self.maxLength = maxLength
    }

    public var resolvedKVHeads: Int { kvHeads ?? heads }
    public var resolvedFFNHidden: Int { ffnHidden ?? 4 * dModel }
    public var headSize: Int { heads > 0 ? dModel / heads : 0 }

    /// The first problem with these settings, as "model.key: what is wrong", or nil.
    public func validationError() -> String? {
        if vocab < 1 { return "model.vocab: expected a positive integer, got \(vocab)" }
        if maxLength < 1 { return "model.max_len: expected a positive integer, got \(maxLength)" }
        if dModel < 1 { return "model.d_model: expected a positive integer, got \(dModel)" }
        if layers < 0 { return "model.layers: expected an integer ≥ 0, got \(layers)" }
        if heads < 1 { return "model.heads: expected a positive integer, got \(heads)" }
        if dModel % heads != 0 { return "model.heads: d_model \(dModel) is not a multiple of heads \(heads)" }
        let kv = resolvedKVHeads
        if kv < 1 || heads % kv != 0 {
            return "model.kv_heads: expected a divisor of heads \(heads) (\(heads) for multi-head, 1 for multi-query), got \(kv)"
        }
        if resolvedFFNHidden < 1 { return "model.ffn_hidden: expected a positive integer, got \(resolvedFFNHidden)" }
        if case .batchNorm = norm {
            return "model.norm: batchnorm mixes positions and sequences; a Transformer takes layernorm, rmsnorm or none"
        }
        if positional == .rope && headSize % 2 != 0 {
            return "model.positional: rope needs an even head size, but d_model / heads = \(dModel) / \(heads) = \(headSize)"
        }
        if !(ropeBase > 0 && ropeBase.isFinite) { return "model.rope_base: expected a positive number, got \(ropeBase)" }
        return nil
    }
}

/// A Transformer language model over token ids (docs/interface.md): token embedding `embed`, positions
/// (`pos` learned, sinusoidal, rotary or none), N blocks `blocks.{i}` (`TransformerBlock`: pre,
/// post or deepnorm), `final_norm` for pre-norm, and the LM head `head` (or the embedding matrix
/// when tied): logits = h Wₕᵀ (+ b).
///
/// Initialization, unless `weightInit` / `biasInit` are given: linear layers as `nn.Linear`
/// (U(±1/√in) for weight and bias), embedding tables as `nn.Embedding` (N(0, 1)), norm gains 1
/// and biases 0. DeepNet (Wang et al. 2022, https://arxiv.org/abs/2203.00555), for N blocks in the
/// paper's encoder-only form: α = (2N)^¼ scales the residual branch, and the v, o, up, gate and
/// down weights are multiplied by β = (8N)^-¼ after their initialization (q, k and biases keep
/// theirs).
public final class Transformer: Model {
    public let config: TransformerConfig
    public let embed: Parameter
    /// `pos.weight` [max_len, d] (learned positions only).
    public let positions: Parameter?
    public let blocks: [TransformerBlock]
    public let finalNorm: (any Normalization)?
    /// nil when the head is tied to `embed`.
    public let head: Linear?
    /// DeepNet's α and β (1 unless deepnorm).
    public let alpha: Float, beta: Float
    /// The sinusoid table [max_len, d] for sinusoidal positions.
    private let sinusoids: Tensor?

    public var isTraining = true

    /// Builds and initializes the model from `seed` (in parameter order); the configuration must
    /// pass `validationError()`.
    public init(_ config: TransformerConfig, seed: UInt64) {
        if let problem = config.validationError() { preconditionFailure("Transformer: \(problem)") }
        self.config = config
        var generator = SplitMix64(seed: seed)
        let width = config.dModel
        let tableInit = config.weightInit ?? .normal(mean: 0, std: 1)

        embed = Parameter(name: "embed.weight", value: Tensor(shape: [config.vocab, width]))
        tableInit.fill(embed.value, using: &generator)
        if config.positional == .learned {
            let p = Parameter(name: "pos.weight", value: Tensor(shape: [config.maxLength, width]))
            tableInit.fill(p.value, using: &generator)
            positions = p
        } else {
            positions = nil
        }
        sinusoids = config.positional == .sinusoidal ? Self.sinusoidTable(length: config.maxLength, width: width) : nil

        let deep = config.placement == .deepnorm && config.layers > 0
        alpha = deep ? Float(pow(2 * Double(config.layers), 0.25)) : 1
        beta = deep ? Float(pow(8 * Double(config.layers), -0.25)) : 1
        var built: [TransformerBlock] = []
        for i in 0..<config.layers {
            let name = "blocks.\(i)"
            let attentionNorm = config.norm.make(features: width, name: "\(name).attn_norm")
            let attention = SelfAttention(
                width: width, heads: config.heads, kvHeads: config.resolvedKVHeads, causal: config.causal,
                bias: config.bias, rotaryBase: config.positional == .rope ? config.ropeBase : nil, name: "\(name).attn",
                weightInit: config.weightInit, biasInit: config.biasInit, generator: &generator)
            let feedForwardNorm = config.norm.make(features: width, name: "\(name).ffn_norm")
            let feedForward = FeedForward(
                width: width, hidden: config.resolvedFFNHidden, activation: config.activation, bias: config.bias,
                name: "\(name).ffn", weightInit: config.weightInit, biasInit: config.biasInit, generator: &generator)
            if deep {
                let scaled = [attention.value, attention.output, feedForward.up, feedForward.down] + (feedForward.gate.map { [$0] } ?? [])
                for linear in scaled { Self.multiply(linear.weight.value, by: beta) }
            }
            built.append(TransformerBlock(attentionNorm: attentionNorm, attention: attention, feedForwardNorm: feedForwardNorm,
                                          feedForward: feedForward, placement: config.placement, alpha: alpha))
        }
        blocks = built
        finalNorm = config.placement == .pre ? config.norm.make(features: width, name: "final_norm") : nil
        head = config.tieEmbeddings ? nil : Linear(
            inputs: width, outputs: config.vocab, bias: config.bias, name: "head",
            weightInit: config.weightInit, biasInit: config.biasInit, generator: &generator)
    }

    /// In the order of the weights file: embed, pos, blocks (attn_norm, attn q k v o, ffn_norm,
    /// ffn up gate down), final_norm, head, then the activation's own (swish's learnable
    /// `activation.beta`, shared by every block, as in the MLP).
    public var parameters: [Parameter] {
        [embed] + (positions.map { [$0] } ?? []) + blocks.flatMap(\.parameters)
            + (finalNorm?.parameters ?? []) + (head?.parameters ?? []) + config.activation.activation.parameters
    }

    public var buffers: [(name: String, tensor: Tensor)] { [] }

    public func forward(_ x: Variable, on tape: Tape) -> Variable {
        forward(x, on: tape, observe: { _, _ in })
    }

    /// Logits (B·T, vocab) for token ids x (B, T) stored as Float (exact integers in 0 ..< vocab):
    /// row b·T + t holds the prediction after position t of sequence b. Hands `embed` (token plus
    /// position embedding), each block's output `blocks.{i}` and the logits `head` to `observe`.
    public func forward(_ x: Variable, on tape: Tape, observe: (String, Variable) -> Void) -> Variable {
        let sx = tape.shape(x)
        precondition(sx.count == 2, "Transformer takes token ids (B, T), got \(sx)")
        let (batch, length) = (sx[0], sx[1])
        if positions != nil || sinusoids != nil {
            precondition(length <= config.maxLength,
                         "Transformer: sequences of \(length) tokens (input \(sx)) exceed max_len \(config.maxLength)")
        }
        let ids = Tape.tokenIds(tape.value(x), vocabulary: config.vocab)
        var h = tape.embedding(tape.parameter(embed), ids: ids)
        if let table = positions.map({ tape.parameter($0) }) ?? sinusoids.map({ tape.constant($0) }) {
            let positionIds = (0..<(batch * length)).map { $0 % length }
            h = tape.add(h, tape.embedding(table, ids: positionIds))
        }
        observe("embed", h)
        for (i, block) in blocks.enumerated() {
            h = block(h, batch: batch, length: length, on: tape)
            observe("blocks.\(i)", h)
        }
        if let finalNorm { h = finalNorm(h, on: tape) }
        let logits = head.map { $0(h, on: tape) } ?? tape.matmul(h, tape.parameter(embed), transposeB: true)
        observe("head", logits)
        return logits
    }

    /// PE[t, 2i] = sin(t / 10000^(2i/d)), PE[t, 2i+1] = cos(t / 10000^(2i/d)), in Float64.
    static func sinusoidTable(length: Int, width: Int) -> Tensor {
        let table = Tensor(shape: [length, width])
        for t in 0..<length {
            for column in 0..<width {
                let angle = Double(t) / pow(10000, Double(column - column % 2) / Double(width))
                table[t * width + column] = Float(column % 2 == 0 ? sin(angle) : cos(angle))
            }
        }
        return table
    }

    private static func multiply(_ t: Tensor, by factor: Float) {
        for i in 0..<t.count { t[i] *= factor }
    }
}
