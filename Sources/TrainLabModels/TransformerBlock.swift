import TrainLabAutodiff

/// The position-wise feed-forward network's nonlinearity (`model.activation` of a Transformer).
///   plain:  FFN(x) = down(act(up(x)))
///   gated:  FFN(x) = down(act(gate(x)) ⊙ up(x))  (Shazeer 2020, https://arxiv.org/abs/2002.05202):
///           GLU uses the sigmoid, SwiGLU swish/SiLU, GeGLU GELU (exact, x Φ(x))
public enum FeedForwardActivation: Sendable {
    case plain(any Activation)
    case gated(name: String, any Activation)

    public static let glu = FeedForwardActivation.gated(name: "glu", Sigmoid())
    public static let swiglu = FeedForwardActivation.gated(name: "swiglu", SiLU())
    public static let geglu = FeedForwardActivation.gated(name: "geglu", GELU())

    /// The gated kinds' names, which `model.activation` accepts for a Transformer.
    public static let gatedNames = ["glu", "swiglu", "geglu"]

    /// `glu`, `swiglu` or `geglu`; nil for any other name (a plain activation's).
    public static func gated(named name: String) -> FeedForwardActivation? {
        switch name {
        case "glu": .glu
        case "swiglu": .swiglu
        case "geglu": .geglu
        default: nil
        }
    }

    public var name: String {
        switch self {
        case .plain(let activation): activation.name
        case .gated(let name, _): name
        }
    }

    public var isGated: Bool {
        if case .gated = self { return true }
        return false
    }

    /// The elementwise map (applied to `up(x)`, or to `gate(x)` when gated).
    public var activation: any Activation {
        switch self {
        case .plain(let activation), .gated(_, let activation): activation
        }
    }
}

/// Multi-head self-attention with `kvHeads` key/value heads (grouped-query; kvHeads = heads is
/// multi-head, 1 multi-query), optional causal mask and rotary positions on q and k:
///   q = x Wqᵀ (B, T, H, D), k = x Wkᵀ, v = x Wvᵀ (B, T, Hkv, D),
///   y = o(attention(RoPE(q), RoPE(k), v)) with attention = softmax(q kᵀ / √D [+ mask]) v per head.
/// Parameters `{name}.q`, `.k`, `.v`, `.o` (`.weight` [out, in], `.bias`).
public final class SelfAttention {
    public let query: Linear, key: Linear, value: Linear, output: Linear
    public let heads: Int, kvHeads: Int, headSize: Int
    public let causal: Bool
    /// RoPE's base when rotary positions are on.
    public let rotaryBase: Double?

    init(width: Int, heads: Int, kvHeads: Int, causal: Bool, bias: Bool, rotaryBase: Double?, name: String,
         weightInit: Initializer?, biasInit: Initializer?, generator: inout SplitMix64) {
        self.heads = heads
        self.kvHeads = kvHeads
        headSize = width / heads
        self.causal = causal
        self.rotaryBase = rotaryBase
        func linear(_ part: String, outputs: Int) -> Linear {
            Linear(inputs: width, outputs: outputs, bias: bias, name: "\(name).\(part)",
                   weightInit: weightInit, biasInit: biasInit, generator: &generator)
        }
        query = linear("q", outputs: heads * headSize)
        key = linear("k", outputs: kvHeads * headSize)
        value = linear("v", outputs: kvHeads * headSize)
        output = linear("o", outputs: width)
    }

    public var parameters: [Parameter] { query.parameters + key.parameters + value.parameters + output.parameters }

    // x (B·T, C) -> (B·T, C)
    func callAsFunction(_ x: Variable, batch: Int, length: Int, on tape: Tape) -> Variable {
        let projected = Linear.apply([query, key, value], to: x, on: tape)
        var q = tape.reshape(projected[0], to: [batch, length, heads, headSize])
        var k = tape.reshape(projected[1], to: [batch, length, kvHeads, headSize])
        let v = tape.reshape(projected[2], to: [batch, length, kvHeads, headSize])
        if let rotaryBase {
            q = tape.rotaryEmbedding(q, base: rotaryBase)
            k = tape.rotaryEmbedding(k, base: rotaryBase)
        }
        let attended = tape.attention(q, k, v, causal: causal)
        return output(tape.reshape(attended, to: [batch * length, heads * headSize]), on: tape)
    }
}

/// The position-wise feed-forward network: down(act(up(x))), or down(act(gate(x)) ⊙ up(x)) when
/// gated. Parameters `{name}.up`, `.gate` (gated only), `.down`.
public final class FeedForward {
    public let up: Linear
    public let gate: Linear?
    public let down: Linear
    public let activation: FeedForwardActivation

    init(width: Int, hidden: Int, activation: FeedForwardActivation, bias: Bool, name: String,
         weightInit: Initializer?, biasInit: Initializer?, generator: inout SplitMix64) {
        self.activation = activation
        up = Linear(inputs: width, outputs: hidden, bias: bias, name: "\(name).up",
                    weightInit: weightInit, biasInit: biasInit, generator: &generator)
        gate = activation.isGated
            ? Linear(inputs: width, outputs: hidden, bias: bias, name: "\(name).gate",
                     weightInit: weightInit, biasInit: biasInit, generator: &generator)
            : nil
        down = Linear(inputs: hidden, outputs: width, bias: bias, name: "\(name).down",
                      weightInit: weightInit, biasInit: biasInit, generator: &generator)
    }

    public var parameters: [Parameter] { up.parameters + (gate?.parameters ?? []) + down.parameters }

    // x (R, C) -> (R, C)
    func callAsFunction(_ x: Variable, on tape: Tape) -> Variable {
        let act = activation.activation
        let hidden: Variable
        if let gate {
            let projected = Linear.apply([gate, up], to: x, on: tape)
            if let map = act.map {
                hidden = tape.gatedUnary(map, gate: projected[0], up: projected[1])
            } else {
                hidden = tape.multiply(act(projected[0], on: tape), projected[1])
            }
        } else {
            hidden = act(up(x, on: tape), on: tape)
        }
        return down(hidden, on: tape)
    }
}

/// One Transformer block `blocks.{i}` (docs/interface.md), N1 = `attn_norm`, N2 = `ffn_norm`:
///   pre:       x = x + Attn(N1(x));   x = x + FFN(N2(x))
///   post:      x = N1(x + Attn(x));   x = N2(x + FFN(x))
///   deepnorm:  x = N1(αx + Attn(x));  x = N2(αx + FFN(x))
/// A norm kind of `none` leaves the norms out (identity).
public final class TransformerBlock {
    public let attentionNorm: (any Normalization)?
    public let attention: SelfAttention
    public let feedForwardNorm: (any Normalization)?
    public let feedForward: FeedForward
    public let placement: NormPlacement
    /// DeepNet's residual scale (1 unless deepnorm).
    public let alpha: Float

    init(attentionNorm: (any Normalization)?, attention: SelfAttention, feedForwardNorm: (any Normalization)?,
         feedForward: FeedForward, placement: NormPlacement, alpha: Float) {
        self.attentionNorm = attentionNorm
        self.attention = attention
        self.feedForwardNorm = feedForwardNorm
        self.feedForward = feedForward
        self.placement = placement
        self.alpha = alpha
    }

    public var parameters: [Parameter] {
        (attentionNorm?.parameters ?? []) + attention.parameters
            + (feedForwardNorm?.parameters ?? []) + feedForward.parameters
    }

    // x (B·T, C) -> (B·T, C)
    func callAsFunction(_ x: Variable, batch: Int, length: Int, on tape: Tape) -> Variable {
        func normalized(_ norm: (any Normalization)?, _ y: Variable) -> Variable { norm.map { $0(y, on: tape) } ?? y }
        func attend(_ y: Variable) -> Variable { attention(y, batch: batch, length: length, on: tape) }
        switch placement {
        case .pre:
            let h = tape.add(x, attend(normalized(attentionNorm, x)))
            return tape.add(h, feedForward(normalized(feedForwardNorm, h), on: tape))
        case .post, .deepnorm:
            func residual(_ y: Variable) -> Variable { alpha == 1 ? y : tape.scale(y, by: alpha) }
            let h = normalized(attentionNorm, tape.add(residual(x), attend(x)))
            return normalized(feedForwardNorm, tape.add(residual(h), feedForward(h, on: tape)))
        }
    }
}
