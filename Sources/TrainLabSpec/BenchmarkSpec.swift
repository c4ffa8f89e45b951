import Foundation

/// A spec's `benchmark` protocol: every optimizer tuned with the same budget on every problem,
/// then each best setting rerun on the same (paired) seeds, as DeepOBS (Schneider et al. 2019)
/// and AlgoPerf (Dahl et al. 2023) prescribe.
///
///     "benchmark": {
///       "optimizers": {"momentum": {"kind": "sgd", "momentum": 0.9, "lr": {"log_uniform": [1e-3, 1]}}, ...},
///       "problems":   {"spirals": {}, "deep": {"model": {"hidden": [64, 64, 64]}}},
///       "budget": 16, "search": "random", "metric": "val_loss", "goal": "min", "seeds": 5,
///       "target": {"metric": "val_accuracy", "value": 0.95}
///     }
///
/// A problem is overrides merged onto the spec's own `task`, `model`, `loss`, `training` and
/// `schedule` (objects merged key by key; a different `kind`, or a non-object, replaces). An
/// optimizer's search space is its keys whose value is a distribution (`{"log_uniform": [lo,
/// hi]}`, `{"uniform": ...}`, `{"int_uniform": ...}`); every other key is fixed.
/// `search: "random"` takes the first `budget` points (from index 1) of the Halton sequence in
/// as many dimensions as the space has, digit-scrambled with `search_seed` (one study), mapped
/// through each distribution's quantile (`"halton"`: unscrambled);
/// `"grid"` takes k equally spaced quantiles per dimension, k the largest with k^d ≤ budget.
/// An optimizer without a search space has one trial. The points do not depend on the
/// problem: every problem sees the same settings.
///
/// What guards the comparison against its traps (DeepOBS, Choi et al. 2019, AlgoPerf):
/// `problems.NAME.optimizers` (who runs where: a full-batch method only on full-batch
/// problems), `budget` in trials or compute (`{"evals": N}`: equal cost for closure
/// optimizers), `"extend": true` (a log range widened while the best sits at its edge),
/// `selection` (the top k trials rerun on more seeds, the best mean picks) and `studies`
/// (the tuning repeated with other scramblings, its spread and the expected best of k trials).
///
/// Each run's config carries `benchmark` {`problem`, `optimizer`, `role` (`tune`|`final`),
/// `trial`, `metric`, `goal`, `target`, `space` (the searched keys' distributions)}, so its params say what it is and the results command
/// needs nothing but the database.
public struct BenchmarkPlan {
    public enum Search: String { case random, halton, grid }

    public let problems: [String]
    public let optimizers: [String]
    /// Each optimizer's keys searched with `"extend": true` (log_uniform only), in file order.
    private let extendable: [String: [String]]
    /// The keys of `optimizer` whose range `extend` may widen.
    public func extendableKeys(of optimizer: String) -> [String] { extendable[optimizer] ?? [] }

    /// A widened range of one searched key (`"extend": true`), for the trials from `fromTrial`:
    /// a best trial in the lowest (highest) 1/16 of a log range moves its lower (upper) end a
    /// decade out, and the search goes on over the wider range.
    public struct RangeExtension: Equatable, Sendable {
        public var fromTrial: Int
        public var key: String
        public var range: [Double]
        public init(fromTrial: Int, key: String, range: [Double]) {
            self.fromTrial = fromTrial
            self.key = key
            self.range = range
        }
    }

    /// The trials of the first round of a search that may extend its ranges: half the search,
    /// ⌈n/2⌉, so rounds that widen a range have trials left (then half the rest each round, and
    /// once the best is interior all the rest at once).
    public func nextRoundTrials(done: Int) -> Int { min(searchTrials, done + max(1, (searchTrials - done + 1) / 2)) }

    /// The range of `key` for `optimizer`'s trial `trial` under `extensions` (the last one of the
    /// key from at or before the trial), else the spec's; nil for a key not searched log-uniformly.
    public func range(of key: String, optimizer: String, problem: String? = nil, trial: Int, extensions: [RangeExtension]) -> [Double]? {
        if let widened = extensions.last(where: { $0.key == key && $0.fromTrial <= trial }) { return widened.range }
        guard case .logUniform(let lo, let hi)? = space(of: optimizer, on: problem).first(where: { $0.key == key })?.distribution else { return nil }
        return [lo, hi]
    }

    /// The ranges to widen after a round of `optimizer`'s search whose best trial has these
    /// searched `values`: each extendable key in the lowest or highest 1/16 of its current
    /// (log) range, its end a decade out, from trial `fromTrial` on.
    public func extensions(optimizer: String, problem: String? = nil, bestValues: [String: Double], fromTrial: Int,
                           extensions: [RangeExtension]) -> [RangeExtension] {
        extendableKeys(of: optimizer).compactMap { key in
            guard let value = bestValues[key], let range = range(of: key, optimizer: optimizer, problem: problem, trial: fromTrial, extensions: extensions),
                  range[1] > range[0], value > 0 else { return nil }
            let position = log(value / range[0]) / log(range[1] / range[0])
            let slack = 1e-9, edge = 1.0 / 16
            if position <= edge + slack { return RangeExtension(fromTrial: fromTrial, key: key, range: [range[0] / 10, range[1]]) }
            if position >= 1 - edge - slack { return RangeExtension(fromTrial: fromTrial, key: key, range: [range[0], range[1] * 10]) }
            return nil
        }
    }

    /// `problems.NAME.optimizers`: the labels that run on a problem (all when absent), e.g. a
    /// full-batch quasi-Newton method only where the batch is the whole training set.
    private let problemOptimizers: [String: [String]]
    /// The optimizers that run on `problem`, in `optimizers` order.
    public func optimizers(on problem: String) -> [String] { problemOptimizers[problem] ?? optimizers }
    public let budget: Int
    /// `selection: {"top_k": k, "seeds": s}`: the k best tuning trials of each problem and
    /// optimizer are rerun on s more seeds (role `select`, on the validation split) and the pick
    /// is the best mean over their 1 + s seeds, so one lucky seed cannot choose. Its k·s runs
    /// come out of `budget`: the search has `budget − k·s` trials. Nil: the best single run.
    public struct Selection: Equatable, Sendable {
        public var topK: Int
        public var seeds: Int
        public var runs: Int { topK * seeds }
    }
    public let selection: Selection?
    /// The trials the search itself runs: `budget`, less the selection's reruns.
    public var searchTrials: Int { budget - (selection?.runs ?? 0) }

    /// `budget: {"steps": N}`, `{"evals": N}` or `{"seconds": S}`: each problem and optimizer's
    /// tuning gets that much compute instead of a number of trials, so optimizers whose steps cost
    /// different numbers of loss/gradient evaluations (L-BFGS, CG, Newton against first-order
    /// ones) are tuned at an equal cost. Trials run in search order while the budget admits them
    /// (`budgetedTrials`). Nil: `budget` counts trials.
    public struct CostBudget: Equatable, Sendable {
        public enum Unit: String, Sendable, CaseIterable { case steps, evals, seconds }
        public var unit: Unit
        public var amount: Double
    }
    public let costBudget: CostBudget?
    public let search: Search
    /// The seed of the random search's scrambling (`search_seed`): one study of the search.
    public let searchSeed: Int
    /// `studies`: independent repetitions of the tuning (AlgoPerf runs 5), study s scrambled with
    /// `search_seed` + s. The final runs rerun study 0's pick; the others measure how much the
    /// outcome of tuning varies and pool into the expected best after k trials (Dodge et al.
    /// 2019; Sivaprasad et al. 2020). Runs carry `benchmark.study` when there are several.
    public let studies: Int
    /// An adaptive search per problem and optimizer (successive halving, Hyperband) over the
    /// Halton points of `"random"`; nil for `"random"` and `"grid"`.
    public let adaptive: SearchPlan?
    /// The final metric that selects the best trial, and which way it improves ("min"|"max").
    public let metric: String
    public let goal: String
    public let seeds: Int
    /// Time to target's threshold: a fixed value, or one set after tuning from the tuned runs.
    public enum TargetSpec: Equatable, Sendable {
        case fixed(metric: String, value: Double)
        /// The value that a share `quantile` of the problem's optimizers reach with their best
        /// tuning trial (0.5: the median optimizer's), in the metric's better direction.
        case reference(metric: String, quantile: Double)

        public var metric: String {
            switch self {
            case .fixed(let metric, _), .reference(let metric, _): return metric
            }
        }
    }

    /// How the best tuning trial is chosen (`select`): `"final"`, the best final `metric`; or
    /// `"time_to_target"`, the fewest loss/gradient evaluations to the problem's fixed target
    /// (as AlgoPerf scores and selects), trials that miss it ranked after by the final metric.
    public let select: String

    /// The benchmark's `target`, for every problem without its own.
    public let defaultTarget: TargetSpec?
    /// Each problem's target (`problems.NAME.target`, else `defaultTarget`).
    public let targets: [String: TargetSpec]
    /// The fixed target of the first problem, if any (kept for callers that read one target).
    public var target: (metric: String, value: Double)? {
        guard case .fixed(let metric, let value)? = problems.first.flatMap({ targets[$0] }) else { return nil }
        return (metric, value)
    }
    /// The held-out test split of each final run: `test_size` rows (0: the task's val_size) from
    /// their own stream, seeded `test_seed` + the problem's index, so each problem has its own.
    public let testSize: Int
    public let testSeed: Int
    /// The spec's `seed`, which every tuning run keeps.
    public let tuningSeed: Int

    private let base: JSONObject
    /// The spec file, which names its searches (`SearchTrial.group`).
    private let file: String
    private let problemOverrides: [String: JSONObject]
    private let optimizerSpecs: [String: JSONObject]
    /// Each optimizer's searched keys with their distributions, in file order.
    private let spaces: [String: [(key: String, distribution: Sweep.Distribution)]]
    /// `problems.NAME.search_space`: per problem and optimizer, searched keys whose distribution
    /// the problem replaces (as JSON, as the runs record it), e.g. SGD's learning rates below a
    /// κ = 1000 quadratic's stability limit (Choi et al. 2019 tune each workload's own space).
    private let problemSpaces: [String: [String: [String: (json: JSONValue, distribution: Sweep.Distribution)]]]

    /// `optimizer`'s searched keys on `problem`, in file order: its own distributions, with those
    /// `problems.NAME.search_space` replaces. The keys and their order are the optimizer's on every
    /// problem, so a trial's quantile point is the same everywhere; only its values move.
    func space(of optimizer: String, on problem: String?) -> [(key: String, distribution: Sweep.Distribution)] {
        let own = spaces[optimizer] ?? []
        guard let problem, let replaced = problemSpaces[problem]?[optimizer] else { return own }
        return own.map { (key: $0.key, distribution: replaced[$0.key]?.distribution ?? $0.distribution) }
    }

    /// Most trials per optimizer and problem, and most seeds.
    public static let maxBudget = 10_000
    public static let maxSeeds = 1_000
    static let problemKeys = ["task", "model", "loss", "training", "schedule"]

    /// The spec's benchmark plan, or nil when it has no `benchmark` key.
    public init?(_ document: JSONDocument) throws {
        guard case .object(var base) = document.root, let value = base["benchmark"] else { return nil }
        let root = try ObjectReader(document.root, path: "", document: document)
        if base["sweep"] != nil || base["sweep_mode"] != nil {
            throw root.error("sweep", "a spec with a benchmark tunes its optimizers itself: remove \"sweep\"")
        }
        let reader = try ObjectReader(value, path: "benchmark", document: document)

        guard let optimizersReader = try reader.object("optimizers"), !optimizersReader.keys.isEmpty else {
            throw reader.error("optimizers", "expected an object of optimizers by label, e.g. {\"adam\": {\"kind\": \"adam\", \"lr\": {\"log_uniform\": [1e-5, 0.1]}}}")
        }
        var optimizerSpecs: [String: JSONObject] = [:]
        var extendable: [String: [String]] = [:]
        var spaces: [String: [(key: String, distribution: Sweep.Distribution)]] = [:]
        for label in optimizersReader.keys {
            let spec = optimizersReader.value(label)!
            let optimizer: JSONObject
            switch spec {
            case .string(let kind): optimizer = Self.object(["kind": .string(kind)])
            case .object(let object): optimizer = object
            default: throw optimizersReader.error(label, "expected an optimizer (a name or an object with \"kind\"), got \(spec.typeName)")
            }
            let reader = try ObjectReader(.object(optimizer), path: optimizersReader.path(of: label), document: document)
            var space: [(key: String, distribution: Sweep.Distribution)] = []
            var stripped = optimizer
            for key in optimizer.keys {
                guard case .object(var object) = optimizer[key]!,
                      ["uniform", "log_uniform", "int_uniform", "choice"].contains(where: { object[$0] != nil }) else { continue }
                if object["extend"] != nil {
                    let options = try ObjectReader(.object(object), path: reader.path(of: key), document: document)
                    if try options.bool("extend") {
                        guard object["log_uniform"] != nil else {
                            throw options.error("extend", "extend widens a log_uniform range by a decade: use {\"log_uniform\": [lo, hi], \"extend\": true}")
                        }
                        extendable[label, default: []].append(key)
                    }
                    object["extend"] = nil
                    stripped[key] = .object(object)
                }
                let distributionReader = try ObjectReader(.object(stripped), path: reader.path, document: document)
                space.append((key, try Sweep.distribution(distributionReader, key)))
            }
            optimizerSpecs[label] = stripped
            spaces[label] = space
        }

        let problemsReader = try reader.objectOrEmpty("problems")
        var problemOverrides: [String: JSONObject] = [:]
        var problemTargets: [String: TargetSpec] = [:]
        var problemOptimizers: [String: [String]] = [:]
        var problemSpaces: [String: [String: [String: (json: JSONValue, distribution: Sweep.Distribution)]]] = [:]
        for name in problemsReader.keys {
            let problem = try ObjectReader(problemsReader.value(name)!, path: problemsReader.path(of: name), document: document)
            for key in Self.problemKeys { _ = problem.value(key) }
            if let target = try Self.readTarget(problem) { problemTargets[name] = target }
            if problem.has("optimizers") {
                let labels = try problem.nameArray("optimizers", among: optimizersReader.keys, what: "benchmark optimizer")
                guard !labels.isEmpty else { throw problem.error("optimizers", "expected at least one of benchmark.optimizers") }
                // In benchmark.optimizers order, so tables and runs keep one order on every problem.
                problemOptimizers[name] = optimizersReader.keys.filter(labels.contains)
            }
            if let spaceReader = try problem.object("search_space") {
                let running = problemOptimizers[name] ?? optimizersReader.keys
                for label in spaceReader.keys {
                    guard running.contains(label) else {
                        throw spaceReader.error(label, "expected one of the optimizers that run on problem \(name) (\(running.joined(separator: ", "))), got '\(label)'")
                    }
                    let keysReader = try ObjectReader(spaceReader.value(label)!, path: spaceReader.path(of: label), document: document)
                    let searched = (spaces[label] ?? []).map(\.key)
                    for key in keysReader.keys {
                        guard searched.contains(key) else {
                            throw keysReader.error(key, searched.isEmpty
                                ? "optimizer \(label) searches nothing: a problem's search_space replaces the distribution of a key benchmark.optimizers.\(label) searches"
                                : "expected a key benchmark.optimizers.\(label) searches (\(searched.joined(separator: ", "))), got '\(key)'")
                        }
                        if case .object(let object)? = keysReader.value(key), object["extend"] != nil {
                            throw keysReader.error(key, "\"extend\" belongs to the optimizer's own range (benchmark.optimizers.\(label).\(key)); a problem's search_space gives only the distribution")
                        }
                        problemSpaces[name, default: [:]][label, default: [:]][key] = (keysReader.value(key)!, try Sweep.distribution(keysReader, key))
                    }
                    try keysReader.finish()
                }
                try spaceReader.finish()
            }
            try problem.finish()
            var overrides = problem.object
            overrides["target"] = nil
            overrides["optimizers"] = nil
            overrides["search_space"] = nil
            problemOverrides[name] = overrides
        }

        if case .object? = reader.value("budget") {
            let budgetReader = try reader.objectOrEmpty("budget")
            let units = ["trials"] + CostBudget.Unit.allCases.map(\.rawValue)
            let given = units.filter(budgetReader.has)
            guard given.count == 1 else {
                throw reader.error("budget", "expected a number of trials or one of {\"trials\": N}, {\"steps\": N}, {\"evals\": N}, {\"seconds\": S}, got \(given.isEmpty ? "none" : given.joined(separator: " and "))")
            }
            if given[0] == "trials" {
                budget = try budgetReader.int("trials", range: 1...Self.maxBudget)
                costBudget = nil
            } else {
                let amount = try budgetReader.double(given[0], range: 1e-9...1e15)
                costBudget = CostBudget(unit: CostBudget.Unit(rawValue: given[0])!, amount: amount)
                budget = Self.maxBudget
            }
            try budgetReader.finish()
        } else {
            budget = try reader.int("budget", default: 16, range: 1...Self.maxBudget)
            costBudget = nil
        }
        metric = try reader.string("metric", default: "val_loss")
        goal = try reader.string("goal", default: metric.lowercased().contains("loss") ? "min" : "max")
        guard goal == "min" || goal == "max" else { throw reader.error("goal", "expected \"min\" or \"max\", got '\(goal)'") }
        searchSeed = try reader.int("search_seed", default: 0, range: 0...Int(Int32.max) - 1000)
        studies = try reader.int("studies", default: 1, range: 1...100)
        let expectedSearch = "expected \"random\" (scrambled Halton), \"halton\" (unscrambled), \"grid\" or {\"successive_halving\": {\"min_steps\": r, \"eta\": 3}} / {\"hyperband\": {...}} / {\"tpe\": {\"startup\": k}}"
        if case .object? = reader.value("search") {
            let searchReader = try reader.objectOrEmpty("search")
            guard let plan = try SearchPlan.read(searchReader, fixed: (metric, goal, budget)) else {
                try searchReader.finish()
                throw reader.error("search", expectedSearch)
            }
            try searchReader.finish()
            adaptive = plan.seeded(offset: searchSeed)
            search = .random
        } else {
            let searchName = try reader.string("search", default: "random")
            guard let search = Search(rawValue: searchName) else {
                throw reader.error("search", "\(expectedSearch), got '\(searchName)'")
            }
            self.search = search
            adaptive = nil
        }
        seeds = try reader.int("seeds", default: 5, range: 1...Self.maxSeeds)
        testSize = try reader.int("test_size", default: 0, range: 0...1_000_000)
        testSeed = try reader.int("test_seed", default: 1_000_000, range: 0...Int(Int32.max) - 10_000)
        defaultTarget = try Self.readTarget(reader)
        select = try reader.string("select", default: "final")
        guard select == "final" || select == "time_to_target" else {
            throw reader.error("select", "expected \"final\" (the best final metric) or \"time_to_target\", got '\(select)'")
        }
        if studies > 1 && (search != .random || adaptive != nil || costBudget != nil) {
            throw reader.error("studies", "a study is one scrambling of the random search: studies go with search \"random\" and a budget in trials")
        }
        if costBudget != nil && (adaptive != nil || search == .grid) {
            throw reader.error("budget", "a budget in steps, evals or seconds takes trials in search order until it is spent: it goes with search \"random\" or \"halton\", not \(adaptive != nil ? "an adaptive search" : "\"grid\"")")
        }
        if let selectionReader = try reader.object("selection") {
            let topK = try selectionReader.int("top_k", range: 1...Self.maxBudget)
            let seeds = try selectionReader.int("seeds", range: 1...Self.maxSeeds)
            try selectionReader.finish()
            if adaptive != nil {
                throw reader.error("selection", "an adaptive search already picks from its last rung: selection goes with search \"random\", \"halton\" or \"grid\"")
            }
            guard costBudget != nil || budget - topK * seeds >= topK else {
                throw reader.error("selection", "top_k \(topK) × seeds \(seeds) = \(topK * seeds) reruns come out of budget \(budget), leaving \(budget - topK * seeds) search trials, fewer than top_k: raise benchmark.budget to at least \(topK * seeds + topK)")
            }
            selection = Selection(topK: topK, seeds: seeds)
        } else {
            selection = nil
        }
        try reader.finish()

        base["benchmark"] = nil
        if case .number(let number)? = base["seed"], let seed = Int(exactly: number.value) { tuningSeed = seed } else { tuningSeed = 0 }
        self.base = base
        file = document.file
        self.problems = problemsReader.keys.isEmpty ? ["default"] : problemsReader.keys
        var targets = problemTargets
        for problem in self.problems where targets[problem] == nil { targets[problem] = defaultTarget }
        self.targets = targets
        if select == "time_to_target" {
            for problem in self.problems {
                guard case .fixed? = targets[problem] else {
                    throw reader.error("select", "\"time_to_target\" selects by a fixed target known before tuning: give problem \(problem) a target {\"metric\", \"value\"}")
                }
            }
        }
        self.problemOverrides = problemOverrides
        self.optimizers = optimizersReader.keys
        self.problemOptimizers = problemOptimizers
        self.extendable = extendable
        if !extendable.isEmpty && (costBudget != nil || adaptive != nil || search == .grid || studies > 1) {
            throw reader.error("optimizers", "\"extend\" widens a range between rounds of a search in trials: it goes with search \"random\" or \"halton\", a budget in trials and one study")
        }
        self.optimizerSpecs = optimizerSpecs
        self.spaces = spaces
        self.problemSpaces = problemSpaces
    }

    /// What the seed count allows before anything trains: the smallest two-sided p an exact
    /// signed-rank (or sign) test of `seeds` pairs can give, 2/2^seeds (every difference of one
    /// sign), against the smallest Holm threshold of a problem's family, α/(optimizers − 1) (each
    /// optimizer against the best, α = 0.05). When the first exceeds the second no result can be
    /// significant, whatever the optimizers do.
    public struct SignificanceFloor: Equatable, Sendable {
        public var smallestP: Double
        /// Tests per problem (the family); 0 for a single optimizer.
        public var tests: Int
        public var threshold: Double
        public var attainable: Bool { tests == 0 || smallestP < threshold }
        /// The fewest seeds with 2/2^seeds below the threshold.
        public var seedsNeeded: Int {
            var n = 1
            while tests > 0 && 2 / pow(2, Double(n)) >= threshold { n += 1 }
            return n
        }
    }

    public static let significanceLevel = 0.05

    public var significanceFloor: SignificanceFloor {
        let tests = max(0, (problems.map { optimizers(on: $0).count }.max() ?? optimizers.count) - 1)
        return SignificanceFloor(smallestP: min(1, 2 / pow(2, Double(seeds))), tests: tests,
                                 threshold: tests == 0 ? Self.significanceLevel : Self.significanceLevel / Double(tests))
    }

    /// The line `validate` and `run` print about `significanceFloor`, and whether it is a warning.
    public var significanceNote: (text: String, isWarning: Bool) {
        let floor = significanceFloor
        guard floor.tests > 0 else { return ("benchmark: one optimizer, nothing to test", false) }
        let head = "benchmark: \(seeds) seed\(seeds == 1 ? "" : "s") allow p ≥ 2/2^\(seeds) = \(String(format: "%.3g", floor.smallestP)); "
            + "the Holm threshold for the \(floor.tests) tests per problem (each optimizer vs the best) starts at "
            + "\(Self.significanceLevel)/\(floor.tests) = \(String(format: "%.3g", floor.threshold))"
        if floor.attainable { return (head, false) }
        return ("warning: " + head + ": no result can be significant; use at least \(floor.seedsNeeded) seeds (benchmark.seeds)", true)
    }

    /// The searched settings of `optimizer`, trial by trial: (key, value) for each searched key.
    /// `count` trials of a random search (an adaptive search's, e.g. Hyperband's brackets);
    /// `budget` by default.
    public func trials(of optimizer: String, on problem: String? = nil, count: Int? = nil, study: Int = 0) -> [[(key: String, value: JSONValue)]] {
        let space = space(of: optimizer, on: problem)
        guard !space.isEmpty else { return [[]] }
        return quantilePoints(of: optimizer, count: count, study: study).map { point in
            zip(space, point).map { ($0.key, $0.distribution.value(atQuantile: $1)) }
        }
    }

    /// The search's points in quantile coordinates, one per searched key, trial by trial.
    func quantilePoints(of optimizer: String, count: Int? = nil, study: Int = 0) -> [[Double]] {
        let space = spaces[optimizer] ?? []
        let points: [[Double]]
        switch search {
        case .random:
            let scrambles = space.indices.map { Self.digitScramble(base: Self.primes[$0 % Self.primes.count], seed: searchSeed + study, dimension: $0) }
            points = (1...(count ?? searchTrials)).map { index in
                space.indices.map { Self.halton(index: index, base: Self.primes[$0 % Self.primes.count], scramble: scrambles[$0]) }
            }
        case .halton:
            points = (1...(count ?? searchTrials)).map { index in space.indices.map { Self.halton(index: index, base: Self.primes[$0 % Self.primes.count]) } }
        case .grid:
            var perAxis = 1
            while Self.power(perAxis + 1, space.count) <= searchTrials { perAxis += 1 }
            let quantiles = (0..<perAxis).map { perAxis == 1 ? 0.5 : Double($0) / Double(perAxis - 1) }
            points = (0..<Self.power(perAxis, space.count)).map { flat in
                // The last key changes fastest, as in a sweep grid.
                var rest = flat
                return space.indices.reversed().map { _ -> Double in
                    defer { rest /= perAxis }
                    return quantiles[rest % perAxis]
                }.reversed()
            }
        }
        return points
    }

    /// How far a cost budget (`costBudget`) admits a problem and optimizer's trials, given the
    /// costs of its trials trained so far (`costs`, trial order: steps trained, `evals` or
    /// training seconds). Trial j is admitted when j = 0 or, with C the sum of the costs of
    /// trials 0..<j and c̄ their mean,
    ///     C + k·s·c̄ < budget        (k·s: the selection's reruns, 0 without `selection`)
    /// and the search stops at the first trial it does not admit. `complete`: `admitted` is the
    /// final count. Otherwise `admitted` trials (more than `costs.count`) may be trained now:
    /// every one of them is admitted whatever it costs up to `bound` (a trial's most possible
    /// cost; nil: unknown, one trial at a time), as the test only grows with each cost.
    /// A trial counts at least 1 step or evaluation (1 ms), so a search always ends.
    public func budgetedTrials(costs: [Double], bound: Double?) -> (admitted: Int, complete: Bool) {
        guard let costBudget else { return (searchTrials, true) }
        let floor = costBudget.unit == .seconds ? 1e-3 : 1
        let reruns = Double(selection?.runs ?? 0)
        func admits(_ spent: Double, _ count: Int) -> Bool {
            count == 0 || spent + reruns * spent / Double(count) < costBudget.amount
        }
        var spent = 0.0
        for (j, cost) in costs.enumerated() {
            if !admits(spent, j) { return (j, true) }
            spent += max(cost, floor)
        }
        var count = costs.count
        guard admits(spent, count) else { return (count, true) }
        guard count < Self.maxBudget else { return (count, true) }
        // Trial `count` is admitted; those after it while even their most costly predecessors are.
        count += 1
        if let bound {
            var worst = spent + max(bound, floor)
            while count < Self.maxBudget && admits(worst, count) {
                count += 1
                worst += max(bound, floor)
            }
        }
        return (count, false)
    }

    /// The tuning runs: for each problem, each optimizer, each trial (in that order).
    public func tuneRuns() throws -> [(spec: JSONValue, assignments: [(path: String, value: JSONValue)])] {
        try tuneRunsWithSearch(defaultSteps: 1000).runs
    }

    /// `tuneRuns`, and with an adaptive `search` each run's trial: one search per problem and
    /// optimizer, over the first of `"random"`'s points (all `budget` of them for successive
    /// halving, as many as Hyperband's brackets start), its ladder up to the problem's steps
    /// (`defaultSteps` when the spec leaves training.steps out). An optimizer without a search
    /// space has one trial, trained straight through (nil among the trials, which follow the runs).
    /// With a cost budget, `trialCount` says how many trials each problem and optimizer has
    /// so far (`budgetedTrials`); `firstOrder` whether an optimizer kind takes one evaluation a
    /// step, for the first count's bound.
    /// `extensions` gives the ranges that `"extend"` widened so far (`extensions(optimizer:...)`).
    public func tuneRunsWithSearch(defaultSteps: Int, trialCount: ((_ problem: String, _ optimizer: String) -> Int)? = nil,
                                   extensions: (_ problem: String, _ optimizer: String) -> [RangeExtension] = { _, _ in [] },
                                   firstOrder: (_ kind: String) -> Bool = { _ in false }) throws
        -> (runs: [(spec: JSONValue, assignments: [(path: String, value: JSONValue)])], trials: [SearchTrial?]) {
        var runs: [(spec: JSONValue, assignments: [(path: String, value: JSONValue)])] = []
        var searchTrials: [SearchTrial?] = []
        for problem in problems {
            for optimizer in optimizers(on: problem) {
                guard let adaptive, !(spaces[optimizer] ?? []).isEmpty else {
                    var count: Int? = extendableKeys(of: optimizer).isEmpty ? nil : (trialCount?(problem, optimizer) ?? nextRoundTrials(done: 0))
                    if costBudget != nil {
                        count = try trialCount?(problem, optimizer)
                            ?? budgetedTrials(costs: [], bound: try costBound(problem: problem, optimizer: optimizer,
                                                                              defaultSteps: defaultSteps, firstOrder: firstOrder)).admitted
                    }
                    let widened = extensions(problem, optimizer)
                    for study in 0..<((spaces[optimizer] ?? []).isEmpty ? 1 : studies) {
                        runs += try trials(of: optimizer, count: count, study: study).indices.map {
                            try run(problem: problem, optimizer: optimizer, trial: $0, seed: nil, extensions: widened, study: study)
                        }
                    }
                    searchTrials += [SearchTrial?](repeating: nil, count: runs.count - searchTrials.count)
                    continue
                }
                if adaptive.kind == .tpe {
                    let space = space(of: optimizer, on: problem)
                    let searchSpace = SearchSpace(paths: space.map { "optimizer." + $0.key }, distributions: space.map(\.distribution))
                    // The startup trials are random's first points (scrambled with search_seed), so
                    // TPE and random start from the same trials and another search_seed is another study.
                    let startupPoints = quantilePoints(of: optimizer, count: adaptive.startup)
                    for number in 0..<adaptive.startup {
                        let point = startupPoints[number]
                        runs.append(try run(problem: problem, optimizer: optimizer, trial: number, seed: nil, point: pointValues(optimizer, on: problem, point)))
                        var trial = SearchTrial(plan: adaptive, group: "\(file): \(problem)/\(optimizer)", trial: number, bracket: 0,
                                                firstRung: 0, point: point, space: searchSpace)
                        trial.benchmarkCell = (problem, optimizer)
                        searchTrials.append(trial)
                    }
                    continue
                }
                let brackets = adaptive.brackets(maxSteps: try steps(of: problem, default: defaultSteps))
                let count = brackets.reduce(0) { $0 + $1.trials }
                if count > Self.maxBudget { throw SpecError(file: "", path: adaptive.path, message: "the search starts more than \(Self.maxBudget) trials") }
                let points = trials(of: optimizer, on: problem, count: count)
                var number = 0
                for (b, bracket) in brackets.enumerated() {
                    for _ in 0..<bracket.trials {
                        runs.append(try run(problem: problem, optimizer: optimizer, trial: number, seed: nil, point: points[number]))
                        searchTrials.append(SearchTrial(plan: adaptive, group: "\(file): \(problem)/\(optimizer)", trial: number, bracket: b,
                                                        firstRung: bracket.firstRung, point: [], space: SearchSpace(paths: [], distributions: [])))
                        number += 1
                    }
                }
            }
        }
        return (runs, searchTrials)
    }

    /// The most a tuning trial of the problem and optimizer can cost under `costBudget`: its
    /// steps (in steps; in evals for a first-order optimizer, one evaluation a step); nil
    /// (unknown) for seconds and for a closure optimizer's evaluations.
    public func costBound(problem: String, optimizer: String, defaultSteps: Int, firstOrder: (_ kind: String) -> Bool) throws -> Double? {
        guard let costBudget else { return nil }
        let steps = Double(try self.steps(of: problem, default: defaultSteps))
        switch costBudget.unit {
        case .steps: return steps
        case .evals:
            guard case .string(let kind)? = optimizerSpecs[optimizer]?["kind"], firstOrder(kind) else { return nil }
            return steps
        case .seconds: return nil
        }
    }

    /// The optimizer's searched keys at quantile coordinates `point`.
    func pointValues(_ optimizer: String, on problem: String, _ point: [Double]) -> [(key: String, value: JSONValue)] {
        zip(space(of: optimizer, on: problem), point).map { ($0.key, $0.distribution.value(atQuantile: $1)) }
    }

    /// A TPE proposal's tuning run: trial `trial` of the problem and optimizer at `point`.
    public func tuneRun(problem: String, optimizer: String, trial: Int, point: [Double]) throws
        -> (spec: JSONValue, assignments: [(path: String, value: JSONValue)]) {
        try run(problem: problem, optimizer: optimizer, trial: trial, seed: nil, point: pointValues(optimizer, on: problem, point))
    }

    /// The problem's training.steps: its override, else the spec's, else `defaultValue`.
    private func steps(of problem: String, default defaultValue: Int) throws -> Int {
        var training = base["training"]
        if let override = problemOverrides[problem]?["training"] { training = Self.merged(override, onto: training) }
        if case .object(let object)? = training, case .number(let number)? = object["steps"],
           let whole = Int(exactly: number.value), whole >= 1 { return whole }
        return defaultValue
    }

    /// `target`: `{"metric", "value"}` or `{"metric", "from": "reference", "quantile": q}`.
    static func readTarget(_ reader: ObjectReader) throws -> TargetSpec? {
        guard let target = try reader.object("target") else { return nil }
        let metric = try target.string("metric")
        let result: TargetSpec
        if target.has("from") {
            let from = try target.string("from")
            guard from == "reference" else { throw target.error("from", "expected \"reference\", got '\(from)'") }
            let quantile = try target.double("quantile", default: 0.5)
            guard quantile > 0 && quantile <= 1 else { throw target.error("quantile", "expected a share of the optimizers in (0, 1], got \(quantile)") }
            result = .reference(metric: metric, quantile: quantile)
        } else {
            result = .fixed(metric: metric, value: try target.double("value"))
        }
        try target.finish()
        return result
    }

    /// The seeds the tuning runs train at: the spec's `seed` (default 0), then the selection's
    /// reruns' seeds, the next `selection.seeds` integers after it.
    public var tuningSeeds: [Int] { [tuningSeed] + selectionSeeds }

    /// The seeds of the selection's reruns (role `select`): tuningSeed + 1, ..., tuningSeed + s.
    public var selectionSeeds: [Int] { (0..<(selection?.seeds ?? 0)).map { tuningSeed + 1 + $0 } }

    /// The selection's reruns: each of the problem and optimizer's `candidates` (trial indices,
    /// the top k by the tuning runs; nil: none) on every `selectionSeeds` seed, on the
    /// validation split as the tuning runs are.
    public func selectionRuns(candidates: (_ problem: String, _ optimizer: String) -> [Int]?,
                              extensions: (_ problem: String, _ optimizer: String) -> [RangeExtension] = { _, _ in [] }) throws
        -> [(spec: JSONValue, assignments: [(path: String, value: JSONValue)])] {
        try problems.flatMap { problem in
            try optimizers(on: problem).flatMap { optimizer -> [(spec: JSONValue, assignments: [(path: String, value: JSONValue)])] in
                try (candidates(problem, optimizer) ?? []).flatMap { trial in
                    try selectionSeeds.map {
                        try run(problem: problem, optimizer: optimizer, trial: trial, seed: $0, role: "select", extensions: extensions(problem, optimizer))
                    }
                }
            }
        }
    }

    /// The final runs' seeds: the first `seeds` non-negative integers that are no tuning seed, so
    /// no final run repeats a tuning run (the best of `budget` trials on the same data and
    /// initial weights would otherwise be one of the samples: a selection leak).
    public var finalSeeds: [Int] {
        let tuning = Set(tuningSeeds)
        var out: [Int] = []
        var seed = 0
        while out.count < seeds {
            if !tuning.contains(seed) { out.append(seed) }
            seed += 1
        }
        return out
    }

    /// The final runs: each (problem, optimizer)'s best trial on `finalSeeds`, the same seeds
    /// (so the same data, initial weights and batch order) for every optimizer. `bestTrial`
    /// gives the trial index per problem and optimizer; a pair it lacks gets no final runs.
    /// With a TPE `search`, `bestPoint` gives the best trial's quantile coordinates (its
    /// `search.point`), since a proposal's point does not follow from its number.
    /// `referenceTarget` gives a problem's reference target value, set from its tuning runs
    /// (nil: not yet known, the final runs carry none).
    public func finalRuns(bestTrial: (_ problem: String, _ optimizer: String) -> Int?,
                          bestPoint: (_ problem: String, _ optimizer: String) -> [Double]? = { _, _ in nil },
                          referenceTarget: (_ problem: String) -> Double? = { _ in nil },
                          extensions: (_ problem: String, _ optimizer: String) -> [RangeExtension] = { _, _ in [] }) throws
        -> [(spec: JSONValue, assignments: [(path: String, value: JSONValue)])] {
        try problems.flatMap { problem in
            try optimizers(on: problem).flatMap { optimizer -> [(spec: JSONValue, assignments: [(path: String, value: JSONValue)])] in
                guard let trial = bestTrial(problem, optimizer) else { return [] }
                let point = adaptive?.kind == .tpe ? bestPoint(problem, optimizer).map { pointValues(optimizer, on: problem, $0) } : nil
                return try finalSeeds.map {
                    try run(problem: problem, optimizer: optimizer, trial: trial, seed: $0, role: "final", point: point,
                            referenceValue: referenceTarget(problem), extensions: extensions(problem, optimizer))
                }
            }
        }
    }

    /// One run's spec: the base with the problem's overrides, the optimizer at the trial's
    /// point and the `benchmark` tag; `seed` set for a final or selection run (nil: a tuning run).
    private func run(problem: String, optimizer: String, trial: Int, seed: Int?, role: String = "tune",
                     point givenPoint: [(key: String, value: JSONValue)]? = nil, referenceValue: Double? = nil,
                     extensions: [RangeExtension] = [], study: Int = 0) throws
        -> (spec: JSONValue, assignments: [(path: String, value: JSONValue)]) {
        var spec = base
        for (key, value) in (problemOverrides[problem] ?? JSONObject()).members {
            spec[key] = Self.merged(value, onto: spec[key])
        }
        var optimizerSpec = optimizerSpecs[optimizer]!
        // An adaptive search's trial numbers run past `budget` (Hyperband): its point is random's at that number.
        // Random and Halton points do not depend on the count: only the trial's prefix is made.
        let space = space(of: optimizer, on: problem)
        let widened = extensions.filter { $0.fromTrial <= trial }
        let point: [(key: String, value: JSONValue)]
        if let givenPoint {
            point = givenPoint
        } else if !widened.isEmpty {
            // The trial's quantiles through its ranges as widened when it was drawn.
            let quantiles = quantilePoints(of: optimizer, count: trial + 1, study: study)[trial]
            point = zip(space, quantiles).map { entry, u in
                guard let range = range(of: entry.key, optimizer: optimizer, problem: problem, trial: trial, extensions: widened) else {
                    return (entry.key, entry.distribution.value(atQuantile: u))
                }
                return (entry.key, Sweep.Distribution.logUniform(range[0], range[1]).value(atQuantile: u))
            }
        } else {
            point = search != .grid && !space.isEmpty ? trials(of: optimizer, on: problem, count: trial + 1, study: study)[trial]
                : trials(of: optimizer, on: problem)[trial]
        }
        for (key, value) in point { optimizerSpec[key] = value }
        spec["optimizer"] = .object(optimizerSpec)
        if let seed { spec["seed"] = .number(Double(seed)) }
        var tag = Self.object([
            "problem": .string(problem), "optimizer": .string(optimizer),
            "role": .string(role), "trial": .number(Double(trial)),
            "metric": .string(metric), "goal": .string(goal),
        ])
        if select != "final" { tag["select"] = .string(select) }
        // Several studies: each run says which (the final runs rerun study 0's pick).
        if studies > 1 {
            if role == "tune" { tag["study"] = .number(Double(study)) }
            tag["studies"] = .number(Double(studies))
        }
        if let selection { tag["selection"] = ["top_k": .number(Double(selection.topK)), "seeds": .number(Double(selection.seeds))] }
        switch targets[problem] {
        case .fixed(let metric, let value)?:
            tag["target"] = ["metric": .string(metric), "value": .number(value)]
        case .reference(let metric, let quantile)?:
            var target = Self.object(["metric": .string(metric), "from": .string("reference"), "quantile": .number(quantile)])
            if let referenceValue { target["value"] = .number(referenceValue) }
            tag["target"] = .object(target)
        case nil:
            break
        }
        if role == "final" {
            tag["test"] = ["size": .number(Double(testSize)),
                           "seed": .number(Double(testSeed + (problems.firstIndex(of: problem) ?? 0)))]
        }
        // The searched ranges, so the analysis can tell a best trial at a range's edge.
        if let space = spaces[optimizer], !space.isEmpty {
            var ranges = JSONObject()
            for (key, _) in space {
                if let range = widened.last(where: { $0.key == key })?.range {
                    ranges[key] = ["log_uniform": .array(range.map { .number($0) })]
                } else {
                    ranges[key] = problemSpaces[problem]?[optimizer]?[key]?.json ?? optimizerSpecs[optimizer]![key]!
                }
            }
            tag["space"] = .object(ranges)
        }
        spec["benchmark"] = .object(tag)
        var assignments: [(path: String, value: JSONValue)] = [
            ("benchmark.problem", .string(problem)), ("benchmark.optimizer", .string(optimizer)),
            ("benchmark.trial", .number(Double(trial))),
        ]
        if studies > 1 && role == "tune" { assignments.append(("benchmark.study", .number(Double(study)))) }
        if let seed { assignments.append(("seed", .number(Double(seed)))) }
        assignments += point.map { ("optimizer." + $0.key, $0.value) }
        return (.object(spec), assignments)
    }

    /// `override` merged onto `base`: objects of the same `kind` (or without one) key by key,
    /// recursively; anything else replaces.
    static func merged(_ override: JSONValue, onto base: JSONValue?) -> JSONValue {
        guard case .object(let top) = override else { return override }
        var below: JSONObject
        switch base {
        case .object(let object)?: below = object
        case .string(let kind)?: below = object(["kind": .string(kind)])
        default: return override
        }
        if let kind = top["kind"], let baseKind = below["kind"], kind != baseKind { return override }
        for (key, value) in top.members { below[key] = merged(value, onto: below[key]) }
        return .object(below)
    }

    /// An object of these members, in this order.
    private static func object(_ members: KeyValuePairs<String, JSONValue>) -> JSONObject {
        var object = JSONObject()
        for (key, value) in members { object[key] = value }
        return object
    }

    /// The radical inverse of `index` in `base`: the Halton sequence's coordinate in that base
    /// (Halton 1960), e.g. base 2: 1/2, 1/4, 3/4, 1/8, ...
    public static func halton(index: Int, base: Int) -> Double {
        var result = 0.0
        var fraction = 1.0 / Double(base)
        var rest = index
        while rest > 0 {
            result += Double(rest % base) * fraction
            rest /= base
            fraction /= Double(base)
        }
        return result
    }

    /// The scrambled radical inverse (random digit permutations, Matoušek 1998 / Owen's
    /// scrambling restricted to one permutation per digit position): digit k of `index` in `base`
    /// (trailing zeros included, up to the digits a Double resolves) goes through `scramble[k]`,
    /// a permutation of 0..<base. The points keep the sequence's stratification (each base^k
    /// block still holds one point per base^k consecutive indices) but no longer sit on a fixed
    /// grid, so in one dimension they come arbitrarily near both ends of the range.
    public static func halton(index: Int, base: Int, scramble: [[Int]]) -> Double {
        var result = 0.0
        var fraction = 1.0 / Double(base)
        var rest = index
        for permutation in scramble {
            result += Double(permutation[rest % base]) * fraction
            rest /= base
            fraction /= Double(base)
        }
        return min(result, 1.0.nextDown)
    }

    /// One random permutation of 0..<base per digit position (as many as 53 bits need), from
    /// SplitMix64 seeded with the study seed and the dimension.
    public static func digitScramble(base: Int, seed: Int, dimension: Int) -> [[Int]] {
        var rng = SplitMix64(seed: UInt64(seed) &* 0x9E37_79B9 &+ UInt64(dimension) &+ 0x6861_6c74_6f6e)
        let digits = Int((53 / log2(Double(base))).rounded(.up))
        return (0..<digits).map { _ in
            var permutation = Array(0..<base)
            for i in stride(from: base - 1, to: 0, by: -1) { permutation.swapAt(i, rng.below(i + 1)) }
            return permutation
        }
    }

    /// One prime base per searched dimension.
    static let primes = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53]

    private static func power(_ base: Int, _ exponent: Int) -> Int {
        var result = 1
        for _ in 0..<exponent {
            let (product, overflow) = result.multipliedReportingOverflow(by: base)
            if overflow { return Int.max }
            result = product
        }
        return result
    }
}
