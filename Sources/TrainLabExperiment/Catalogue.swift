import TrainLabSpec
import TrainLabData
import TrainLabModels
import TrainLabOptim

/// Every name a spec may use, mapped to what it builds. Adding an activation, loss or optimizer
/// is its own file plus one line here. The keys each entry reads are its PyTorch argument names.
typealias OptimizerFactory = @Sendable () -> any Optimizer
typealias ClosureOptimizerFactory = @Sendable () -> any ClosureOptimizer

/// An optimizer's catalogue entry: what its type declares (default lr, state size) and the reader
/// of its options, which returns a factory. Called like the reader: `Catalogue.optimizers[kind]!(options)`.
struct OptimizerEntry<Factory>: Sendable {
    let defaultLearningRate: Double
    let stateCount: Int
    let read: @Sendable (ObjectReader) throws -> Factory

    init(_ type: any OptimizerDefaults.Type, _ read: @escaping @Sendable (ObjectReader) throws -> Factory) {
        defaultLearningRate = type.defaultLearningRate
        stateCount = type.stateCount
        self.read = read
    }

    func callAsFunction(_ options: ObjectReader) throws -> Factory { try read(options) }
}

enum Catalogue {
    static let activations: [String: @Sendable (ObjectReader) throws -> any Activation] = [
        "relu": { _ in ReLU() },
        "tanh": { _ in Tanh() },
        "sigmoid": { _ in Sigmoid() },
        "silu": { _ in SiLU() },
        "identity": { _ in Identity() },
        "leaky_relu": { r in LeakyReLU(negativeSlope: Float(try r.double("negative_slope", default: 0.01, range: 0...1e3))) },
        "gelu": { r in
            GELU(approximate: GELU.Approximation(rawValue: try r.choice("approximate", default: "none", among: GELU.Approximation.allCases.map(\.rawValue)))!)
        },
        "swish": { r in Swish(beta: Float(try r.double("beta", default: 1, range: -1e3...1e3)), learnable: try r.bool("learnable", default: false)) },
    ]

    static let losses: [String: @Sendable (ObjectReader) throws -> any Loss] = [
        "mse": { _ in MSELoss() },
        "l1": { _ in L1Loss() },
        "huber": { r in HuberLoss(delta: Float(try r.double("delta", default: 1, range: .leastNonzeroMagnitude...1e6))) },
        "cross_entropy": { r in CrossEntropyLoss(labelSmoothing: Float(try r.double("label_smoothing", default: 0, range: 0...1))) },
        "bce": { _ in BCEWithLogitsLoss() },
        "kl_div": { _ in KLDivLoss() },
        "focal": { r in
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
        "margin_ranking": { r in MarginRankingLoss(margin: Float(try r.double("margin", default: 0, range: -1e6...1e6))) },
        "ranknet": { _ in RankNetLoss() },
        "listnet": { _ in ListNetLoss() },
        "cosent": { r in CoSENTLoss(scale: Float(try r.double("scale", default: 20, range: .leastNonzeroMagnitude...1e4))) },
        "circle": { r in CircleLoss(m: Float(try r.double("m", default: 0.25, range: -1...1)), gamma: Float(try r.double("gamma", default: 256, range: .leastNonzeroMagnitude...1e4))) },
        "hinge_embedding": { r in HingeEmbeddingLoss(margin: Float(try r.double("margin", default: 1, range: -1e6...1e6))) },
        "triplet_margin": { r in
            TripletMarginLoss(margin: Float(try r.double("margin", default: 1, range: -1e6...1e6)),
                              p: Float(try r.double("p", default: 2, range: .leastNonzeroMagnitude...100)),
                              eps: Float(try r.double("eps", default: 1e-6, range: 0...1)))
        },
        "info_nce": { r in InfoNCELoss(temperature: Float(try r.double("temperature", default: 0.07, range: 1e-4...1e4))) },
        "nce": { r in
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
        "sgd": .init(SGD.self) { r in
            let momentum = try r.double("momentum", default: 0, range: 0...1)
            let nesterov = try r.bool("nesterov", default: false)
            let dampening = try r.double("dampening", default: 0, range: 0...1)
            if nesterov && (momentum <= 0 || dampening != 0) {
                throw r.error("nesterov", "Nesterov momentum requires momentum > 0 and dampening 0 (as torch.optim.SGD)")
            }
            let decay = Float(try r.double("weight_decay", default: 0, range: 0...1e6))
            return { SGD(momentum: Float(momentum), dampening: Float(dampening), weightDecay: decay, nesterov: nesterov) }
        },
        "adam": .init(Adam.self) { r in try adam(r, decoupled: false, defaultDecay: 0) },
        "adamw": .init(Adam.self) { r in try adam(r, decoupled: true, defaultDecay: 0.01) },
        "adagrad": .init(Adagrad.self) { r in
            let lrDecay = Float(try r.double("lr_decay", default: 0, range: 0...1e6))
            let decay = Float(try r.double("weight_decay", default: 0, range: 0...1e6))
            let initial = Float(try r.double("initial_accumulator_value", default: 0, range: 0...1e6))
            let epsilon = Float(try r.double("eps", default: 1e-10, range: 0...1))
            return { Adagrad(learningRateDecay: lrDecay, weightDecay: decay, initialAccumulatorValue: initial, epsilon: epsilon) }
        },
        "rmsprop": .init(RMSprop.self) { r in
            let alpha = Float(try r.double("alpha", default: 0.99, range: 0...1))
            let epsilon = Float(try r.double("eps", default: 1e-8, range: 0...1))
            let decay = Float(try r.double("weight_decay", default: 0, range: 0...1e6))
            let momentum = Float(try r.double("momentum", default: 0, range: 0...1))
            let centered = try r.bool("centered", default: false)
            return { RMSprop(alpha: alpha, epsilon: epsilon, weightDecay: decay, momentum: momentum, centered: centered) }
        },
        "adadelta": .init(Adadelta.self) { r in
            let rho = Float(try r.double("rho", default: 0.9, range: 0...1))
            let epsilon = Float(try r.double("eps", default: 1e-6, range: 0...1))
            let decay = Float(try r.double("weight_decay", default: 0, range: 0...1e6))
            return { Adadelta(rho: rho, epsilon: epsilon, weightDecay: decay) }
        },
    ]

    /// Full-batch optimizers that re-evaluate the loss within a step (`ClosureOptimizer.step(_:lr:evaluate:)`);
    /// each entry reads its options and returns a factory, like `optimizers`.
    static let closureOptimizers: [String: OptimizerEntry<ClosureOptimizerFactory>] = [
        "lbfgs": .init(LBFGS.self) { r in
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
        "cg": .init(ConjugateGradient.self) { r in
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
        "newton": .init(Newton.self) { r in
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

    static let schedules: [String: @Sendable (ObjectReader, _ steps: Int) throws -> Schedule] = [
        "constant": { _, _ in .constant },
        "step": { r, _ in .step(stepSize: try r.int("step_size", range: 1...Int.max), gamma: try r.double("gamma", default: 0.1, range: 0...1)) },
        "exponential": { r, _ in .exponential(gamma: try r.double("gamma", range: 0...1)) },
        "cosine": { r, _ in .cosine(minLR: try r.double("eta_min", default: 0, range: 0...1e6)) },
        "warmup_cosine": { r, steps in
            .warmupCosine(warmupSteps: try r.int("warmup_steps", default: max(1, steps / 10), range: 1...Int.max),
                          minLR: try r.double("eta_min", default: 0, range: 0...1e6))
        },
        "linear_warmup": { r, steps in .linearWarmup(warmupSteps: try r.int("warmup_steps", default: max(1, steps / 10), range: 1...Int.max)) },
        "inverse_sqrt": { r, steps in .inverseSqrt(warmupSteps: try r.int("warmup_steps", default: max(1, steps / 10), range: 1...Int.max)) },
    ]

    static let initializers: [String: @Sendable (ObjectReader) throws -> Initializer] = [
        "zeros": { _ in .zeros },
        "ones": { _ in .ones },
        "normal": { r in .normal(mean: try r.double("mean", default: 0), std: try r.double("std", default: 1, range: 0...1e6)) },
        "uniform": { r in .uniform(a: try r.double("a", default: 0), b: try r.double("b", default: 1)) },
        "trunc_normal": { r in
            .truncatedNormal(mean: try r.double("mean", default: 0), std: try r.double("std", default: 1, range: 0...1e6),
                             a: try r.double("a", default: -2), b: try r.double("b", default: 2))
        },
        "xavier_normal": { r in .xavierNormal(gain: try r.double("gain", default: 1, range: 0...1e6)) },
        "xavier_uniform": { r in .xavierUniform(gain: try r.double("gain", default: 1, range: 0...1e6)) },
        "kaiming_normal": { r in let (a, mode, nl) = try kaiming(r); return .kaimingNormal(a: a, mode: mode, nonlinearity: nl) },
        "kaiming_uniform": { r in let (a, mode, nl) = try kaiming(r); return .kaimingUniform(a: a, mode: mode, nonlinearity: nl) },
        "lecun_normal": { r in .lecunNormal(mode: try fanMode(r)) },
        "lecun_uniform": { r in .lecunUniform(mode: try fanMode(r)) },
        "orthogonal": { r in .orthogonal(gain: try r.double("gain", default: 1, range: 0...1e6)) },
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
