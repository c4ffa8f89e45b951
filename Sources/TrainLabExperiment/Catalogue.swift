import TrainLabSpec
import TrainLabModels
import TrainLabOptim

/// Every name a spec may use, mapped to what it builds. Adding an activation, loss or optimizer
/// is its own file plus one line here. The keys each entry reads are its PyTorch argument names.
typealias OptimizerFactory = @Sendable () -> any Optimizer

enum Catalogue {
    static let activations: [String: @Sendable (ObjectReader) throws -> any Activation] = [
        "relu": { _ in ReLU() },
        "tanh": { _ in Tanh() },
        "sigmoid": { _ in Sigmoid() },
        "silu": { _ in SiLU() },
        "identity": { _ in Identity() },
    ]

    static let losses: [String: @Sendable (ObjectReader) throws -> any Loss] = [
        "cross_entropy": { _ in CrossEntropyLoss() },
        "mse": { _ in MSELoss() },
    ]

    /// Each entry reads its options and returns a factory: every run gets a fresh optimizer state.
    static let optimizers: [String: @Sendable (ObjectReader) throws -> OptimizerFactory] = [
        "sgd": { r in
            let momentum = try r.double("momentum", default: 0, range: 0...1)
            let nesterov = try r.bool("nesterov", default: false)
            let dampening = try r.double("dampening", default: 0, range: 0...1)
            if nesterov && (momentum <= 0 || dampening != 0) {
                throw r.error("nesterov", "Nesterov momentum requires momentum > 0 and dampening 0 (as torch.optim.SGD)")
            }
            let decay = Float(try r.double("weight_decay", default: 0, range: 0...1e6))
            return { SGD(momentum: Float(momentum), dampening: Float(dampening), weightDecay: decay, nesterov: nesterov) }
        },
        "adam": { r in try adam(r, decoupled: false, defaultDecay: 0) },
        "adamw": { r in try adam(r, decoupled: true, defaultDecay: 0.01) },
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

    /// Tasks whose targets are class ids.
    static let classificationTasks: Set<String> = ["blobs", "spirals", "teacher_classification"]

    /// Names in a sorted list, for messages and the README.
    static func names<T>(_ table: [String: T]) -> [String] { table.keys.sorted() }
}
