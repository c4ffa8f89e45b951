import TrainLabSpec
import TrainLabModels

/// The Transformer keys of a spec (docs/interface.md), before the task supplies vocab and max_len.
public struct TransformerSettings {
    public var config: TransformerConfig
    public let vocab: Int?
    public let maxLength: Int?

    /// The configuration for a task with `vocab` tokens and sequences of `sequenceLength`.
    public func resolved(vocab taskVocab: Int, sequenceLength: Int) -> TransformerConfig {
        var c = config
        c.vocab = vocab ?? taskVocab
        c.maxLength = maxLength ?? sequenceLength
        return c
    }
}

extension ExperimentSpec.ModelSpec {
    /// Reads `model` of `kind` (`mlp` or `transformer`): the shared keys, then the kind's own.
    static func decode(kind: String, _ r: ObjectReader) throws -> Self {
        let isTransformer = kind == "transformer"
        let activationKinds = Catalogue.names(Catalogue.activations) + (isTransformer ? FeedForwardActivation.gatedNames : [])
        guard let (activationKind, activationOptions) = try r.catalogue(
            "activation", default: isTransformer ? "gelu" : "relu", kinds: activationKinds.sorted()) else { fatalError("defaulted") }
        let gated = FeedForwardActivation.gated(named: activationKind)
        let activation: any Activation = gated == nil ? try Catalogue.activations[activationKind]!.make(activationOptions) : Identity()
        try activationOptions.finish()

        var normalization = NormalizationKind.none
        var placement = isTransformer ? NormPlacement.pre : .post
        // "none" first, as messages list it.
        let normKinds = ["none"] + Catalogue.names(Catalogue.norms).filter { $0 != "none" && !(isTransformer && $0 == "batchnorm") }
        if let norm = try r.catalogue("norm", default: isTransformer ? "layernorm" : "none", kinds: normKinds) {
            let options = norm.options
            placement = NormPlacement(rawValue: try options.choice(
                "placement", default: placement.rawValue, among: NormPlacement.allCases.map(\.rawValue)))!
            normalization = try Catalogue.norms[norm.kind]!.make(options)
            try options.finish()
        }
        let bias = try r.bool("bias", default: true)
        var weightInit: Initializer? = nil, biasInit: Initializer? = nil
        if let initReader = try r.object("init") {
            let kinds = Catalogue.names(Catalogue.initializers)
            if let (kind, options) = try initReader.catalogue("weight", kinds: kinds) {
                weightInit = try Catalogue.initializers[kind]!.make(options)
                try options.finish()
            }
            if let (kind, options) = try initReader.catalogue("bias", kinds: kinds) {
                biasInit = try Catalogue.initializers[kind]!.make(options)
                try options.finish()
            }
            try initReader.finish()
        }

        if isTransformer {
            var c = TransformerConfig(vocab: 1, maxLength: 1)
            c.dModel = try r.int("d_model", default: 64, range: 1...1 << 16)
            c.layers = try r.int("layers", default: 2, range: 1...1024)
            c.heads = try r.int("heads", default: 4, range: 1...1024)
            c.kvHeads = try r.optionalInt("kv_heads", range: 1...1024)
            c.ffnHidden = try r.optionalInt("ffn_hidden", range: 1...1 << 20)
            c.activation = gated ?? .plain(activation)
            c.norm = normalization
            c.placement = placement
            c.causal = try r.bool("causal", default: true)
            c.bias = bias
            c.positional = PositionalEncoding(rawValue: try r.choice(
                "positional", default: "learned", among: PositionalEncoding.allCases.map(\.rawValue)))!
            // RoPE's θ: position p turns pair i by p·θ^(-2i/head_dim) (Su et al. 2021; Llama's 10000).
            if c.positional == .rope { c.ropeBase = try r.double("rope_base", default: c.ropeBase, range: 1...1e9) }
            c.tieEmbeddings = try r.bool("tie_embeddings", default: false)
            c.weightInit = weightInit
            c.biasInit = biasInit
            let settings = TransformerSettings(config: c, vocab: try r.optionalInt("vocab", range: 1...1 << 22),
                                               maxLength: try r.optionalInt("max_len", range: 1...1 << 20))
            try r.finish()
            // Shape rules (kv_heads dividing heads, head size, RoPE's even head size) that do not
            // depend on the task, checked now with placeholder sizes.
            if let message = settings.resolved(vocab: 2, sequenceLength: 1).validationError() {
                throw Self.configError(message, r)
            }
            return .init(kind: kind, hidden: [], activation: activation, bias: bias, norm: normalization, placement: placement,
                         residual: true, weightInit: weightInit, biasInit: biasInit, transformer: settings)
        }

        let hidden = try r.intArray("hidden", default: [64], elementRange: 1...1 << 20)
        if hidden.count > maxHiddenLayers {
            throw r.error("hidden", "expected at most \(maxHiddenLayers) widths, got \(hidden.count)")
        }
        let residual = try r.bool("residual", default: false)
        if placement == .deepnorm && !residual {
            throw r.error("norm", "placement 'deepnorm' scales a residual branch: it needs \"residual\": true")
        }
        try r.finish()
        return .init(kind: kind, hidden: hidden, activation: activation, bias: bias, norm: normalization, placement: placement,
                     residual: residual, weightInit: weightInit, biasInit: biasInit, transformer: nil)
    }

    /// Most hidden layers an MLP may have (as many as a Transformer's `layers`).
    static let maxHiddenLayers = 1024

    /// A `TransformerConfig.validationError()` message ("model.heads: ...") as a spec error at that path.
    static func configError(_ message: String, _ r: ObjectReader) -> SpecError {
        guard let colon = message.range(of: ": "), message.hasPrefix("model.") else { return r.error(nil, message) }
        let key = String(message[message.index(message.startIndex, offsetBy: 6)..<colon.lowerBound])
        return r.error(key, String(message[colon.upperBound...]))
    }
}
