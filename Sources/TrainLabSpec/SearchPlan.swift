import Foundation

/// An adaptive search (`sweep_mode` successive_halving, hyperband or tpe; a benchmark's
/// `search` the same): which trials start, how far each trains, and from which results the
/// next are chosen. The decisions are `AdaptiveSearch`'s and `TreeParzenEstimator`'s; this is
/// what the spec says.
public struct SearchPlan: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case successiveHalving = "successive_halving"
        case hyperband
        case tpe
    }

    public let kind: Kind
    /// Trials of successive halving and TPE; Hyperband's follow from its brackets.
    public let trials: Int
    /// TPE: trials drawn at random before the Parzen estimators take over.
    public let startup: Int
    /// TPE: trials proposed at once from the trials before them (and trained in parallel with --jobs).
    public let batch: Int
    /// The first rung's steps; nil for TPE without pruning (every trial trains to the end).
    public let minSteps: Int?
    public let eta: Int
    public let metric: String
    public let goal: SearchGoal
    /// Every draw comes from it.
    public private(set) var seed: UInt64
    /// ASHA: promote as soon as a rung has η results above the cut, not once the rung is done.
    public let asynchronous: Bool
    /// Where the plan sits in the spec (`sweep_mode.successive_halving`), for errors.
    public let path: String

    /// The plan with its seed moved by `offset`: a benchmark's `search_seed` is another study of
    /// its TPE search, as it is of its random one.
    func seeded(offset: Int) -> SearchPlan {
        var plan = self
        plan.seed = seed &+ UInt64(offset)
        return plan
    }

    /// Whether trials stop at rungs below the run's steps.
    public var prunes: Bool { minSteps != nil }

    /// The rung ladder for a run of `steps` steps (just `steps` without pruning).
    public func rungSteps(maxSteps steps: Int) -> [Int] {
        guard let minSteps, minSteps <= steps else { return [steps] }
        return AdaptiveSearch.rungSteps(minSteps: minSteps, eta: eta, maxSteps: steps)
    }

    /// Hyperband's brackets for runs of `steps` steps; one bracket of `trials` at rung 0 otherwise.
    public func brackets(maxSteps steps: Int) -> [AdaptiveSearch.Bracket] {
        let rungs = rungSteps(maxSteps: steps).count
        if kind == .hyperband { return AdaptiveSearch.hyperbandBrackets(rungCount: rungs, eta: eta) }
        return [AdaptiveSearch.Bracket(s: rungs - 1, trials: trials, firstRung: 0)]
    }

    /// Most trials one search may start.
    public static let maxTrials = 10_000

    public static let modeNames = Kind.allCases.map(\.rawValue)

    /// The plan of a `sweep_mode` object or a benchmark's `search` object holding one of the
    /// kinds; nil when `reader` holds none of them. A benchmark gives its `metric` and `goal`
    /// (`fixed`), which the plan then may not name; a benchmark's trials are its `budget`.
    static func read(_ reader: ObjectReader, fixed: (metric: String, goal: String, trials: Int)? = nil) throws -> SearchPlan? {
        let present = modeNames.filter { reader.has($0) }
        guard let name = present.first else { return nil }
        if present.count > 1 {
            throw reader.error(present[1], "expected one search, got \(present.joined(separator: " and ")) (TPE prunes with \"tpe\": {..., \"pruner\": {\"min_steps\": r, \"eta\": 3}})")
        }
        let kind = Kind(rawValue: name)!
        let options = try reader.objectOrEmpty(name)
        return try SearchPlan(kind: kind, options: options, fixed: fixed)
    }

    private init(kind: Kind, options: ObjectReader, fixed: (metric: String, goal: String, trials: Int)?) throws {
        self.kind = kind
        path = options.path
        if let fixed {
            for key in ["metric", "goal", "trials"] where options.has(key) {
                throw options.error(key, "a benchmark's search takes \(key == "trials" ? "its trials from benchmark.budget" : "its \(key) from the benchmark"): remove it")
            }
            metric = fixed.metric
            goal = SearchGoal(rawValue: fixed.goal) ?? .min
        } else {
            metric = try options.string("metric", default: "val_loss")
            let goalName = try options.choice("goal", default: metric.lowercased().contains("loss") ? "min" : "max", among: ["min", "max"])
            goal = SearchGoal(rawValue: goalName)!
        }
        seed = UInt64(bitPattern: Int64(try options.int("seed", default: 0)))
        asynchronous = try options.bool("asynchronous", default: false)
        switch kind {
        case .successiveHalving, .hyperband:
            eta = try options.int("eta", default: 3, range: 2...1_000)
            minSteps = try options.int("min_steps", range: 1...100_000_000)
            if kind == .successiveHalving {
                trials = try fixed?.trials ?? options.int("trials", range: 1...Self.maxTrials)
                if trials < eta {
                    throw options.error(fixed == nil ? "trials" : "eta", "expected at least eta (\(eta)) trials, got \(trials): a rung of fewer than η trials cannot keep its best 1/η")
                }
            } else {
                trials = 0
            }
            startup = 0
            batch = 1
        case .tpe:
            trials = try fixed?.trials ?? options.int("trials", range: 1...Self.maxTrials)
            startup = try options.int("startup", default: min(10, trials), range: 1...Self.maxTrials)
            if startup > trials { throw options.error("startup", "expected at most trials (\(trials)) random trials, got \(startup)") }
            batch = try options.int("batch", default: 1, range: 1...Self.maxTrials)
            if let pruning = try options.object("pruner") {
                eta = try pruning.int("eta", default: 3, range: 2...1_000)
                minSteps = try pruning.int("min_steps", range: 1...100_000_000)
                try pruning.finish()
            } else {
                eta = 3
                minSteps = nil
            }
        }
        if asynchronous && kind == .tpe {
            throw options.error("asynchronous", "TPE trains its trials in batches (\"batch\"); asynchronous promotion is for successive_halving and hyperband")
        }
        try options.finish()
    }
}

/// The searched keys of an adaptive search as coordinates in [0, 1) (each distribution's
/// quantile): what TPE proposes in, and how a proposal becomes a run's assignments.
public struct SearchSpace: Sendable {
    public let paths: [String]
    let distributions: [Sweep.Distribution]

    init(paths: [String], distributions: [Sweep.Distribution]) {
        self.paths = paths
        self.distributions = distributions
    }

    /// A list is categorical; the rest continuous in their quantile.
    public var dimensions: [TreeParzenEstimator.Dimension] {
        distributions.map { if case .choice(let values) = $0 { return .categorical(values.count) } else { return .continuous } }
    }

    /// The assignments at `point` (one coordinate per path).
    public func assignments(at point: [Double]) -> [(path: String, value: JSONValue)] {
        zip(paths, zip(distributions, point)).map { ($0, $1.0.value(atQuantile: $1.1)) }
    }
}

/// One trial of an adaptive search, as its run knows it.
public struct SearchTrial: Sendable {
    public let plan: SearchPlan
    /// Trials of one search share it: the spec file's, or a benchmark's problem and optimizer.
    public let group: String
    /// The trial's number in its search, from 0, in the order trials start.
    public let trial: Int
    /// Its Hyperband bracket (0 for the other searches) and the rung it starts at.
    public let bracket: Int
    public let firstRung: Int
    /// Its coordinates in `space` (TPE's observations).
    public let point: [Double]
    public let space: SearchSpace
    /// A benchmark's problem and optimizer (nil in a sweep): where a TPE proposal's run is made.
    public var benchmarkCell: (problem: String, optimizer: String)? = nil

    public init(plan: SearchPlan, group: String, trial: Int, bracket: Int, firstRung: Int, point: [Double], space: SearchSpace) {
        self.plan = plan
        self.group = group
        self.trial = trial
        self.bracket = bracket
        self.firstRung = firstRung
        self.point = point
        self.space = space
    }
}
