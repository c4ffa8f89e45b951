import TrainLabSpec
import TrainLabData
import TrainLabModels
import TrainLabOptim

/// Every name a spec may use, mapped to what it builds. Adding an activation, loss or optimizer
/// is its own file plus one line here. The keys each entry reads are its PyTorch argument names.
typealias OptimizerFactory = @Sendable () -> any Optimizer
typealias ClosureOptimizerFactory = @Sendable () -> any ClosureOptimizer

/// A catalogue entry: one line saying what it is (formula first), and `make`, which reads the
/// entry's options and builds it.
struct CatalogueEntry<Make: Sendable>: Sendable {
    let doc: String
    let make: Make

    init(_ doc: String, _ make: Make) {
        self.doc = doc
        self.make = make
    }
}

/// An optimizer's catalogue entry: what its type declares (default lr, state size), one line of
/// doc, and the reader of its options, which returns a factory. Called like the reader:
/// `Catalogue.optimizers[kind]!(options)`.
struct OptimizerEntry<Factory>: Sendable {
    let defaultLearningRate: Double
    let stateCount: Int
    let doc: String
    let read: @Sendable (ObjectReader) throws -> Factory

    init(_ type: any OptimizerDefaults.Type, _ doc: String, _ read: @escaping @Sendable (ObjectReader) throws -> Factory) {
        defaultLearningRate = type.defaultLearningRate
        stateCount = type.stateCount
        self.doc = doc
        self.read = read
    }

    func callAsFunction(_ options: ObjectReader) throws -> Factory { try read(options) }
}

enum Catalogue {
    static let activations: [String: CatalogueEntry<@Sendable (ObjectReader) throws -> any Activation>] = [
        "relu": .init("max(0, x)") { _ in ReLU() },
        "tanh": .init("tanh x") { _ in Tanh() },
        "sigmoid": .init("1/(1 + e^−x)") { _ in Sigmoid() },
        "silu": .init("x·σ(x)") { _ in SiLU() },
        "identity": .init("x") { _ in Identity() },
        "leaky_relu": .init("x for x ≥ 0, else negative_slope·x") { r in LeakyReLU(negativeSlope: Float(try r.double("negative_slope", default: 0.01, range: 0...1e3))) },
        "gelu": .init("x·Φ(x) (approximate: none), or its tanh or sigmoid (x·σ(1.702x)) approximation") { r in
            GELU(approximate: GELU.Approximation(rawValue: try r.choice("approximate", default: "none", among: GELU.Approximation.allCases.map(\.rawValue)))!)
        },
        "swish": .init("x·σ(βx); learnable: β is one trainable scalar (activation.beta)") { r in Swish(beta: Float(try r.double("beta", default: 1, range: -1e3...1e3)), learnable: try r.bool("learnable", default: false)) },
    ]

    static let losses: [String: CatalogueEntry<@Sendable (ObjectReader) throws -> any Loss>] = [
        "mse": .init("mean (x − y)²") { _ in MSELoss() },
        "l1": .init("mean |x − y|") { _ in L1Loss() },
        "huber": .init("½d² for |d| ≤ δ, else δ(|d| − ½δ)") { r in HuberLoss(delta: Float(try r.double("delta", default: 1, range: .leastNonzeroMagnitude...1e6))) },
        "cross_entropy": .init("(1 − ε)·NLL(log_softmax x, t) + ε·mean over classes of −log p") { r in CrossEntropyLoss(labelSmoothing: Float(try r.double("label_smoothing", default: 0, range: 0...1))) },
        "bce": .init("with logits, stable: max(x, 0) − x·y + log(1 + e^−|x|)") { _ in BCEWithLogitsLoss() },
        "kl_div": .init("input log-probabilities, target probabilities: Σ t (log t − x) / batch") { _ in KLDivLoss() },
        "focal": .init("−α_t (1 − p_t)^γ log p_t; alpha: none, a number, or one weight per class") { r in
            let gamma = Float(try r.double("gamma", default: 2, range: 0...1e3))
            switch r.value("alpha") {
            case nil, .null?: return FocalLoss(gamma: gamma)
            case .number?: return FocalLoss(gamma: gamma, alpha: .constant(Float(try r.double("alpha", range: 0...1e6))))
            case .array?:
                let weights = try r.doubleArray("alpha")
                if let (i, w) = weights.enumerated().first(where: { !(0...1e6).contains($0.element) }) {
                    throw r.error("alpha[\(i)]", "expected a number in [0, 1000000], got \(JSONWriter.number(w))")
                }
                return FocalLoss(gamma: gamma, alpha: .perClass(weights.map { Float($0) }))
            case let other?: throw r.error("alpha", "expected a number or an array of one weight per class, got \(other.typeName)")
            }
        },
        "margin_ranking": .init("max(0, −y (x₁ − x₂) + margin), one score per item") { r in MarginRankingLoss(margin: Float(try r.double("margin", default: 0, range: -1e6...1e6))) },
        "ranknet": .init("log(1 + e^−(s_i − s_j)) over pairs with rel_i > rel_j, averaged") { _ in RankNetLoss() },
        "listnet": .init("cross-entropy of softmax(relevance) against softmax(scores) per list") { _ in ListNetLoss() },
        "cosent": .init("log(1 + Σ_{sim(i,j) > sim(k,l)} e^{λ(cos(k,l) − cos(i,j))})") { r in CoSENTLoss(scale: Float(try r.double("scale", default: 20, range: .leastNonzeroMagnitude...1e4))) },
        "circle": .init("Sun et al. 2020: log(1 + Σ_n e^{γα_n(s_n − Δ_n)} Σ_p e^{−γα_p(s_p − Δ_p)})") { r in CircleLoss(m: Float(try r.double("m", default: 0.25, range: -1...1)), gamma: Float(try r.double("gamma", default: 256, range: .leastNonzeroMagnitude...1e4))) },
        "hinge_embedding": .init("x for y = 1, max(0, margin − x) for y = −1") { r in HingeEmbeddingLoss(margin: Float(try r.double("margin", default: 1, range: -1e6...1e6))) },
        "triplet_margin": .init("max(‖a − p + eps‖_p − ‖a − n + eps‖_p + margin, 0)") { r in
            TripletMarginLoss(margin: Float(try r.double("margin", default: 1, range: -1e6...1e6)),
                              p: Float(try r.double("p", default: 2, range: .leastNonzeroMagnitude...100)),
                              eps: Float(try r.double("eps", default: 1e-6, range: 0...1)))
        },
        "info_nce": .init("cross-entropy of (z₁ z₂ᵀ / τ) with the diagonal as targets, rows L2-normalized") { r in InfoNCELoss(temperature: Float(try r.double("temperature", default: 0.07, range: 1e-4...1e4))) },
        "nce": .init("−log σ(Δ_t) − Σ_j log σ(−Δ_{y_j}), Δ = s − log(k·q); noise: uniform or unigram weights") { r in
            let k = try r.int("k", default: 10, range: 1...100_000)
            switch r.value("noise") {
            case nil, .string("uniform")?: return NCELoss(k: k, noise: .uniform)
            case .array?:
                let weights = try r.doubleArray("noise")
                if weights.isEmpty { throw r.error("noise", "expected one positive weight per class, got an empty array") }
                if let (i, w) = weights.enumerated().first(where: { !($0.element > 0) }) {
                    throw r.error("noise[\(i)]", "expected a positive number (a unigram count or probability), got \(JSONWriter.number(w))")
                }
                return NCELoss(k: k, noise: .unigram(weights))
            case .string(let name)?:
                throw r.error("noise", "unknown noise '\(name)': expected \"uniform\" or an array of unigram weights, one per class")
            case let other?:
                throw r.error("noise", "expected \"uniform\" or an array of unigram weights, one per class, got \(other.typeName)")
            }
        },
    ]

    /// Each entry reads its options and returns a factory: every run gets a fresh optimizer state.
    static let optimizers: [String: OptimizerEntry<OptimizerFactory>] = [
        "sgd": .init(SGD.self, "b = μb + (1 − τ)g; p −= lr·(g + μb if Nesterov, else b)") { r in
            let momentum = try r.double("momentum", default: 0, range: 0...1)
            let nesterov = try r.bool("nesterov", default: false)
            let dampening = try r.double("dampening", default: 0, range: 0...1)
            if nesterov && (momentum <= 0 || dampening != 0) {
                throw r.error("nesterov", "Nesterov momentum requires momentum > 0 and dampening 0 (as torch.optim.SGD)")
            }
            let decay = Float(try r.double("weight_decay", default: 0, range: 0...1e6))
            return { SGD(momentum: Float(momentum), dampening: Float(dampening), weightDecay: decay, nesterov: nesterov) }
        },
        "adam": .init(Adam.self, "p −= lr/(1−β₁ᵗ) · m/(√v̂/√(1−β₂ᵗ) + ε); weight_decay is L2") { r in try adam(r, decoupled: false, defaultDecay: 0) },
        "adamw": .init(Adam.self, "p ← p(1 − lr·λ), then the Adam step without L2") { r in try adam(r, decoupled: true, defaultDecay: 0.01) },
        "adagrad": .init(Adagrad.self, "G += g²; p −= lr/(1 + (t−1)·lr_decay) · g/(√G + ε)") { r in
            let lrDecay = Float(try r.double("lr_decay", default: 0, range: 0...1e6))
            let decay = Float(try r.double("weight_decay", default: 0, range: 0...1e6))
            let initial = Float(try r.double("initial_accumulator_value", default: 0, range: 0...1e6))
            let epsilon = Float(try r.double("eps", default: 1e-10, range: 0...1))
            return { Adagrad(learningRateDecay: lrDecay, weightDecay: decay, initialAccumulatorValue: initial, epsilon: epsilon) }
        },
        "rmsprop": .init(RMSprop.self, "v = αv + (1−α)g²; a = √(v − ḡ²) + ε (centered) or √v + ε; b = μb + g/a") { r in
            let alpha = Float(try r.double("alpha", default: 0.99, range: 0...1))
            let epsilon = Float(try r.double("eps", default: 1e-8, range: 0...1))
            let decay = Float(try r.double("weight_decay", default: 0, range: 0...1e6))
            let momentum = Float(try r.double("momentum", default: 0, range: 0...1))
            let centered = try r.bool("centered", default: false)
            return { RMSprop(alpha: alpha, epsilon: epsilon, weightDecay: decay, momentum: momentum, centered: centered) }
        },
        "adadelta": .init(Adadelta.self, "v = ρv + (1−ρ)g²; Δ = √(u + ε)/√(v + ε)·g; u = ρu + (1−ρ)Δ²; p −= lr·Δ") { r in
            let rho = Float(try r.double("rho", default: 0.9, range: 0...1))
            let epsilon = Float(try r.double("eps", default: 1e-6, range: 0...1))
            let decay = Float(try r.double("weight_decay", default: 0, range: 0...1e6))
            return { Adadelta(rho: rho, epsilon: epsilon, weightDecay: decay) }
        },
    ]

    /// Full-batch optimizers that re-evaluate the loss within a step (`ClosureOptimizer.step(_:lr:evaluate:)`);
    /// each entry reads its options and returns a factory, like `optimizers`.
    static let closureOptimizers: [String: OptimizerEntry<ClosureOptimizerFactory>] = [
        "lbfgs": .init(LBFGS.self, "torch.optim.LBFGS: two-loop recursion, optional strong Wolfe line search; full batch") { r in
            let maxIterations = try r.int("max_iter", default: 20, range: 1...1_000_000)
            let maxEvaluations = try r.optionalInt("max_eval", range: 1...1_000_000)
            let toleranceGrad = try r.double("tolerance_grad", default: 1e-7, range: 0...1e6)
            let toleranceChange = try r.double("tolerance_change", default: 1e-9, range: 0...1e6)
            let historySize = try r.int("history_size", default: 100, range: 1...1_000_000)
            let lineSearch: LBFGS.LineSearch?
            switch try r.optionalString("line_search_fn") {
            case nil: lineSearch = nil
            case "strong_wolfe": lineSearch = .strongWolfe
            case let other?:
                throw r.error("line_search_fn", "expected null or \"strong_wolfe\" (as torch.optim.LBFGS), got '\(other)'")
            }
            return {
                LBFGS(maxIterations: maxIterations, maxEvaluations: maxEvaluations, toleranceGrad: toleranceGrad,
                      toleranceChange: toleranceChange, historySize: historySize, lineSearch: lineSearch)
            }
        },
        "cg": .init(ConjugateGradient.self, "nonlinear CG, Polak–Ribière+, restarts, strong Wolfe; full batch") { r in
            let maxIterations = try r.int("max_iter", default: 20, range: 1...1_000_000)
            let maxEvaluations = try r.optionalInt("max_eval", range: 1...1_000_000)
            let toleranceGrad = try r.double("tolerance_grad", default: 1e-7, range: 0...1e6)
            let toleranceChange = try r.double("tolerance_change", default: 1e-9, range: 0...1e6)
            let restartInterval = try r.optionalInt("restart_every", range: 1...Int.max)
            return {
                ConjugateGradient(maxIterations: maxIterations, maxEvaluations: maxEvaluations, toleranceGrad: toleranceGrad,
                                  toleranceChange: toleranceChange, restartInterval: restartInterval)
            }
        },
        "newton": .init(Newton.self, "(H + λI)d = −g by linear CG on Hessian-vector products, then Armijo backtracking; full batch") { r in
            let damping = try r.double("damping", default: 1e-4, range: 0...1e6)
            let maxCGIterations = try r.int("max_cg_iter", default: 50, range: 1...10_000)
            let toleranceGrad = try r.double("tolerance_grad", default: 1e-7, range: 0...1e6)
            return { Newton(damping: damping, maxConjugateGradientIterations: maxCGIterations, toleranceGrad: toleranceGrad) }
        },
    ]

    private static func adam(_ r: ObjectReader, decoupled: Bool, defaultDecay: Double) throws -> OptimizerFactory {
        let betas = try r.doubleArray("betas", default: [0.9, 0.999], count: 2)
        for (i, b) in betas.enumerated() where !(0..<1).contains(b) {
            throw r.error("betas[\(i)]", "expected a number in [0, 1), got \(b)")
        }
        let epsilon = Float(try r.double("eps", default: 1e-8, range: 0...1))
        let decay = Float(try r.double("weight_decay", default: defaultDecay, range: 0...1e6))
        let amsgrad = try r.bool("amsgrad", default: false)
        return {
            Adam(beta1: Float(betas[0]), beta2: Float(betas[1]), epsilon: epsilon, weightDecay: decay,
                 amsgrad: amsgrad, decoupled: decoupled)
        }
    }

    /// `none` and the normalizations of `model.norm` (the Transformer takes all but batchnorm);
    /// `placement` is read beside them, in `ModelSpec.decode`.
    static let norms: [String: CatalogueEntry<@Sendable (ObjectReader) throws -> NormalizationKind>] = [
        "none": .init("no normalization") { _ in .none },
        "layernorm": .init("(x − mean)/√(var + eps)·γ + β over each row's features") { r in
            .layerNorm(epsilon: try r.double("eps", default: 1e-5, range: 0...1), affine: try r.bool("affine", default: true))
        },
        "rmsnorm": .init("x/√(mean x² + eps)·γ; eps defaults to Float32 machine epsilon, as nn.RMSNorm") { r in
            .rmsNorm(epsilon: try r.double("eps", default: 1.1920929e-7, range: 0...1), affine: try r.bool("affine", default: true))
        },
        "batchnorm": .init("per feature over the batch in training, running statistics in evaluation (MLP only)") { r in
            .batchNorm(epsilon: try r.double("eps", default: 1e-5, range: 0...1),
                       momentum: try r.double("momentum", default: 0.1, range: 0...1),
                       affine: try r.bool("affine", default: true))
        },
    ]

    static let schedules: [String: CatalogueEntry<@Sendable (ObjectReader, _ steps: Int) throws -> Schedule>] = [
        "constant": .init("lr") { _, _ in .constant },
        "step": .init("lr·gamma^⌊t/step_size⌋") { r, _ in .step(stepSize: try r.int("step_size", range: 1...Int.max), gamma: try r.double("gamma", default: 0.1, range: 0...1)) },
        "exponential": .init("lr·gamma^t") { r, _ in .exponential(gamma: try r.double("gamma", range: 0...1)) },
        "cosine": .init("eta_min + (lr − eta_min)(1 + cos(πt/steps))/2") { r, _ in .cosine(minLR: try r.double("eta_min", default: 0, range: 0...1e6)) },
        "warmup_cosine": .init("linear warmup over warmup_steps (default steps/10: 100 of the default 1000 steps), then cosine to eta_min") { r, steps in
            .warmupCosine(warmupSteps: try r.int("warmup_steps", default: max(1, steps / 10), range: 1...Int.max),
                          minLR: try r.double("eta_min", default: 0, range: 0...1e6))
        },
        "linear_warmup": .init("lr·min(1, t/warmup_steps); warmup_steps default steps/10 (100 of the default 1000 steps)") { r, steps in .linearWarmup(warmupSteps: try r.int("warmup_steps", default: max(1, steps / 10), range: 1...Int.max)) },
        "inverse_sqrt": .init("linear warmup, then lr·√(warmup_steps/t); warmup_steps default steps/10 (100 of the default 1000 steps)") { r, steps in .inverseSqrt(warmupSteps: try r.int("warmup_steps", default: max(1, steps / 10), range: 1...Int.max)) },
    ]

    static let initializers: [String: CatalogueEntry<@Sendable (ObjectReader) throws -> Initializer>] = [
        "zeros": .init("0") { _ in .zeros },
        "ones": .init("1") { _ in .ones },
        "normal": .init("N(mean, std²)") { r in .normal(mean: try r.double("mean", default: 0), std: try r.double("std", default: 1, range: 0...1e6)) },
        "uniform": .init("U(a, b)") { r in .uniform(a: try r.double("a", default: 0), b: try r.double("b", default: 1)) },
        "trunc_normal": .init("N(mean, std²) truncated to [a, b]") { r in
            .truncatedNormal(mean: try r.double("mean", default: 0), std: try r.double("std", default: 1, range: 0...1e6),
                             a: try r.double("a", default: -2), b: try r.double("b", default: 2))
        },
        "xavier_normal": .init("N(0, gain²·2/(fan_in + fan_out))") { r in .xavierNormal(gain: try r.double("gain", default: 1, range: 0...1e6)) },
        "xavier_uniform": .init("U(±gain·√(6/(fan_in + fan_out)))") { r in .xavierUniform(gain: try r.double("gain", default: 1, range: 0...1e6)) },
        "kaiming_normal": .init("N(0, gain²/fan), gain from nonlinearity and a") { r in let (a, mode, nl) = try kaiming(r); return .kaimingNormal(a: a, mode: mode, nonlinearity: nl) },
        "kaiming_uniform": .init("U(±gain·√(3/fan)), gain from nonlinearity and a") { r in let (a, mode, nl) = try kaiming(r); return .kaimingUniform(a: a, mode: mode, nonlinearity: nl) },
        "lecun_normal": .init("N(0, 1/fan)") { r in .lecunNormal(mode: try fanMode(r)) },
        "lecun_uniform": .init("U(±√(3/fan))") { r in .lecunUniform(mode: try fanMode(r)) },
        "orthogonal": .init("a (semi-)orthogonal matrix times gain") { r in .orthogonal(gain: try r.double("gain", default: 1, range: 0...1e6)) },
    ]

    private static func fanMode(_ r: ObjectReader) throws -> Initializer.FanMode {
        Initializer.FanMode(rawValue: try r.choice("mode", default: "fan_in", among: ["fan_in", "fan_out"]))!
    }

    private static func kaiming(_ r: ObjectReader) throws -> (Double, Initializer.FanMode, Initializer.Nonlinearity) {
        let nonlinearity = try r.choice("nonlinearity", default: "leaky_relu",
                                        among: Initializer.Nonlinearity.allCases.map(\.rawValue))
        return (try r.double("a", default: 0), try fanMode(r), Initializer.Nonlinearity(rawValue: nonlinearity)!)
    }

    /// torch.optim's default learning rate per optimizer, from its type (cg and newton: 1, a full first step).
    static let defaultLearningRates = optimizers.mapValues { $0.defaultLearningRate }
        .merging(closureOptimizers.mapValues { $0.defaultLearningRate }) { first, _ in first }

    /// Copies of the parameters the optimizer `kind` keeps as state (its type's `stateCount`);
    /// nil for an unknown name.
    static func optimizerStateCount(_ kind: String) -> Int? {
        optimizers[kind]?.stateCount ?? closureOptimizers[kind]?.stateCount
    }

    /// Names in a sorted list, for messages and the README.
    static func names<T>(_ table: [String: T]) -> [String] { table.keys.sorted() }
}

extension TaskKind {
    /// The kinds of loss targets a task of this kind produces; class ids also serve as one-hot real
    /// targets (the MSE-vs-cross-entropy question). Sequence tasks take cross_entropy alone, which
    /// `ExperimentSpec.checkLoss` checks apart.
    var lossTargets: Set<LossTargetKind> {
        switch self {
        case .regression: [.real]
        case .classification: [.classes, .noiseSamples, .real]
        case .ranking: [.lists]
        case .metricPairs: [.pairs]
        case .metricTriplets: [.triplets]
        case .contrastive: [.views]
        case .sequence: []
        }
    }
}
