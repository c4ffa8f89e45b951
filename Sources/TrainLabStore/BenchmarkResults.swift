import Foundation

// The results of a `benchmark` spec's runs (params `benchmark.*`): the best trial of each
// problem and optimizer, the final runs' statistics over paired seeds, time to target and the
// performance profile across problems. `trainlab run` selects with `bestTrials`; `trainlab
// benchmark` prints `BenchmarkResults`.

/// One benchmark run as the analysis needs it.
public struct BenchmarkRun: Sendable, Equatable {
    public var problem: String
    public var optimizer: String
    public var trial: Int
    public var seed: Int
    public var status: RunStatus
    /// The final value of the selection metric; nil when the run has none (diverged, failed).
    public var finalValue: Double?

    public init(problem: String, optimizer: String, trial: Int, seed: Int, status: RunStatus, finalValue: Double?) {
        self.problem = problem
        self.optimizer = optimizer
        self.trial = trial
        self.seed = seed
        self.status = status
        self.finalValue = finalValue
    }

    /// The final value as compared: a run that did not complete, or whose value is missing or
    /// NaN, is the worst possible (+∞ when lower is better, −∞ otherwise): counted, never dropped.
    public func score(_ goal: MetricDirection) -> Double {
        guard status == .completed, let finalValue, !finalValue.isNaN else { return goal == .min ? .infinity : -.infinity }
        return finalValue
    }
}

/// Where each problem and optimizer's pair of names points to.
public struct BenchmarkCell: Hashable, Sendable {
    public var problem: String
    public var optimizer: String
    public init(problem: String, optimizer: String) {
        self.problem = problem
        self.optimizer = optimizer
    }
}

public enum BenchmarkSelection {
    /// The best tuning trial of each problem and optimizer: the best `score` under `goal`, the
    /// lower trial index on a tie (so a pair whose trials all failed still gets its first).
    public static func bestTrials(_ trials: [BenchmarkRun], goal: MetricDirection) -> [BenchmarkCell: Int] {
        var best: [BenchmarkCell: BenchmarkRun] = [:]
        for run in trials {
            let cell = BenchmarkCell(problem: run.problem, optimizer: run.optimizer)
            if let current = best[cell] {
                let (a, b) = (run.score(goal), current.score(goal))
                if goal.isBetter(a, than: b) || (a == b && run.trial < current.trial) { best[cell] = run }
            } else {
                best[cell] = run
            }
        }
        return best.mapValues(\.trial)
    }

    /// The best tuning trial by time to target: the fewest evaluations to the target (`cost`,
    /// ∞ for a miss), then the best final `score`, then the lower trial.
    public static func bestTrialsByTimeToTarget(_ trials: [(run: BenchmarkRun, cost: Double)], goal: MetricDirection) -> [BenchmarkCell: Int] {
        var best: [BenchmarkCell: (run: BenchmarkRun, cost: Double)] = [:]
        for trial in trials {
            let cell = BenchmarkCell(problem: trial.run.problem, optimizer: trial.run.optimizer)
            guard let current = best[cell] else { best[cell] = trial; continue }
            let (a, b) = (trial.run.score(goal), current.run.score(goal))
            let better = trial.cost != current.cost ? trial.cost < current.cost
                : (a != b ? goal.isBetter(a, than: b) : trial.run.trial < current.run.trial)
            if better { best[cell] = trial }
        }
        return best.mapValues(\.run.trial)
    }

    /// The first step at which `history` (steps ascending) reaches `target`: value ≥ target
    /// when higher is better, ≤ when lower is; nil for a miss.
    public static func stepToTarget(_ history: [(step: Int, value: Double)], target: Double, direction: MetricDirection) -> Int? {
        history.first { direction == .max ? $0.value >= target : $0.value <= target }?.step
    }

    /// The value of a cumulative counter (`evals`, `time`) at `step`: its last logged value at
    /// or before it; 0 at step 0 and before the first log.
    public static func counter(_ history: [(step: Int, value: Double)], atStep step: Int) -> Double {
        history.last { $0.step <= step }?.value ?? 0
    }

    /// The cost of reaching `target`, interpolated between evaluations, so that a coarse
    /// `eval_every` does not round every run up to the next evaluation. With (s₀, v₀) the last
    /// evaluation that misses the target before the first one that reaches it, (s₁, v₁) (steps
    /// ascending in `history`), the fraction of that interval at which the target is crossed is
    ///
    ///     f = (target − v₀) / (v₁ − v₀)        (in (0, 1]; the metric taken as linear in between)
    ///
    /// and the cost is steps s* = s₀ + f·(s₁ − s₀), and each cumulative counter c (`evals`,
    /// `time`) read at s* by `counter(_:atFractionalStep:)`. A first evaluation that already
    /// reaches the target, or a non-finite v₀, gives s* = s₁ (nothing to interpolate from).
    /// nil for a miss. `BenchmarkResults` reports these costs and scores the performance profile
    /// with them; `select: time_to_target` keeps the first logged step (`stepToTarget`), so a
    /// spec's selected trials do not change.
    public static func costToTarget(_ history: [(step: Int, value: Double)], target: Double, direction: MetricDirection,
                                    evals: [(step: Int, value: Double)], time: [(step: Int, value: Double)])
        -> (steps: Double, evals: Double, seconds: Double)? {
        guard let hit = history.firstIndex(where: { direction == .max ? $0.value >= target : $0.value <= target }) else { return nil }
        var steps = Double(history[hit].step)
        if hit > 0 {
            let (miss, reach) = (history[hit - 1], history[hit])
            if miss.value.isFinite, reach.value != miss.value {
                let f = min(1, max(0, (target - miss.value) / (reach.value - miss.value)))
                steps = Double(miss.step) + f * Double(reach.step - miss.step)
            }
        }
        return (steps, counter(evals, atFractionalStep: steps), counter(time, atFractionalStep: steps))
    }

    /// A cumulative counter at a fractional step: linear between its logged values around
    /// `step` (the counter is 0 at step 0), its last logged value past the last log.
    public static func counter(_ history: [(step: Int, value: Double)], atFractionalStep step: Double) -> Double {
        var previous: (step: Double, value: Double) = (0, 0)
        for point in history where Double(point.step) > 0 {
            let x = Double(point.step)
            if x >= step {
                return x == previous.step ? point.value
                    : previous.value + (point.value - previous.value) * (step - previous.step) / (x - previous.step)
            }
            previous = (x, point.value)
        }
        return previous.value
    }
}

/// A protocol trap found after tuning (DeepOBS, Choi et al. 2019): the best trial at the edge of
/// a searched range, or most trials diverged; `key` and `range` say which range to widen.
public struct BenchmarkWarning: Sendable, Equatable {
    public enum Kind: String, Sendable { case rangeEdge = "range_edge", mostlyDiverged = "mostly_diverged" }
    public var kind: Kind
    public var key: String?
    /// [lo, hi] of the searched distribution.
    public var range: [Double]?
    /// "log_uniform" or "uniform".
    public var distribution: String?

    public init(kind: Kind, key: String?, range: [Double]?, distribution: String?) {
        self.kind = kind
        self.key = key
        self.range = range
        self.distribution = distribution
    }

    /// One line naming the key and the range to widen.
    public var message: String {
        let where_ = key.map { " \($0) in \(distribution ?? "range") [\(range.map { $0.map { String(format: "%.4g", $0) }.joined(separator: ", ") } ?? "?")]" } ?? ""
        switch kind {
        case .rangeEdge: return "best trial at the edge of its searched range:\(where_); widen it"
        case .mostlyDiverged: return "most tuning trials diverged or failed\(where_.isEmpty ? "" : ":" + where_); the range may hold no stable setting"
        }
    }
}

extension BenchmarkSelection {
    /// The target that a share `quantile` of the optimizers reach: `reached` (each optimizer's
    /// best value) sorted best first, the ⌈quantile·n⌉-th; nil for no values.
    public static func referenceTarget(_ reached: [Double], quantile: Double, direction: MetricDirection) -> Double? {
        guard !reached.isEmpty else { return nil }
        let sorted = reached.sorted { direction == .max ? $0 > $1 : $0 < $1 }
        let k = min(sorted.count, max(1, Int((quantile * Double(sorted.count)).rounded(.up))))
        return sorted[k - 1]
    }

    /// The share of a range at each end within which a best trial counts as at the edge.
    public static let edgeShare = 1.0 / 16

    /// The search-space checks of each problem and optimizer's tuning trials (`params` each run's
    /// params): `range_edge` for each searched key (`benchmark.space.KEY.log_uniform` or
    /// `.uniform`, [lo, hi]) whose best-trial value lies in the lowest or highest 1/16 of the
    /// range, measured in log space for a log range (ends included); `mostly_diverged`, one per
    /// searched key (or one without a key), when more than half the trials did not complete
    /// with a finite value. A cell whose best trial failed too gets no edge warning.
    public static func searchWarnings(_ trials: [(run: BenchmarkRun, params: [String: String])], goal: MetricDirection)
        -> [BenchmarkCell: [BenchmarkWarning]] {
        let best = bestTrials(trials.map(\.run), goal: goal)
        var warnings: [BenchmarkCell: [BenchmarkWarning]] = [:]
        let cells = Dictionary(grouping: trials) { BenchmarkCell(problem: $0.run.problem, optimizer: $0.run.optimizer) }
        for (cell, runs) in cells {
            var found: [BenchmarkWarning] = []
            guard let bestTrial = best[cell], let bestRun = runs.first(where: { $0.run.trial == bestTrial }) else { continue }
            let space = searchSpace(bestRun.params)
            if bestRun.run.score(goal).isFinite {
                for (key, distribution, range) in space {
                    guard let text = bestRun.params["optimizer." + key], let value = Double(text) else { continue }
                    let position = distribution == "log_uniform"
                        ? (range[1] > range[0] ? log(value / range[0]) / log(range[1] / range[0]) : 0.5)
                        : (range[1] > range[0] ? (value - range[0]) / (range[1] - range[0]) : 0.5)
                    let slack = 1e-9
                    if position <= edgeShare + slack || position >= 1 - edgeShare - slack {
                        found.append(.init(kind: .rangeEdge, key: key, range: range, distribution: distribution))
                    }
                }
            }
            let failed = runs.filter { !$0.run.score(goal).isFinite }.count
            if 2 * failed > runs.count {
                if space.isEmpty {
                    found.append(.init(kind: .mostlyDiverged, key: nil, range: nil, distribution: nil))
                } else {
                    for (key, distribution, range) in space {
                        found.append(.init(kind: .mostlyDiverged, key: key, range: range, distribution: distribution))
                    }
                }
            }
            warnings[cell] = found
        }
        return warnings
    }

    /// (key, distribution, [lo, hi]) of each `benchmark.space.KEY.log_uniform|uniform` param
    /// (an array's JSON text), keys sorted.
    static func searchSpace(_ params: [String: String]) -> [(key: String, distribution: String, range: [Double])] {
        let prefix = "benchmark.space."
        return params.keys.sorted().compactMap { name in
            guard name.hasPrefix(prefix) else { return nil }
            let rest = name.dropFirst(prefix.count)
            guard let dot = rest.lastIndex(of: ".") else { return nil }
            let distribution = String(rest[rest.index(after: dot)...])
            guard distribution == "log_uniform" || distribution == "uniform" else { return nil }
            let bounds = params[name]!.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
                .split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard bounds.count == 2 else { return nil }
            return (String(rest[..<dot]), distribution, bounds)
        }
    }
}

/// `trainlab benchmark`'s figures for one experiment.
public struct BenchmarkResults: Sendable {
    public struct Target: Sendable, Equatable {
        public var metric: String
        public var value: Double
    }

    /// One optimizer on one problem: its best setting and its final runs over the seeds.
    public struct OptimizerResult: Sendable {
        public var name: String
        public var bestTrial: Int
        /// The optimizer's params (`optimizer.*` without the prefix) of the best setting.
        public var bestParams: [(key: String, value: String)]
        /// The params of the best setting that tell it apart from the problem's other runs (tuning
        /// and final, every optimizer: `ResultsStore.distinguishingParams` of `optimizer.*`),
        /// qualified (`optimizer.lr`).
        public var bestSetting: [(key: String, value: String?)] = []
        /// Final metric per seed (seeds ascending), failures as the worst value.
        public var seeds: [Int]
        public var finals: [Double]
        public var median: Double?
        public var mean: Double?
        /// Half-width of the 95% Student-t interval of the mean.
        public var ci: Double?
        /// The test metric (`testMetric`, e.g. test_loss) per seed on the held-out test split, as
        /// `finals` counts failures (the worst value); its median. Empty without a test split.
        public var testFinals: [Double] = []
        public var testMedian: Double?
        /// Final runs that reached the target, of `finals.count`; the medians over all seeds
        /// (a miss is ∞) of the steps, loss/gradient evaluations and training seconds to it,
        /// interpolated between evaluations (`BenchmarkSelection.costToTarget`).
        public var targetHits = 0
        /// Per seed (as `seeds`), the interpolated cost to the target; ∞ for a miss. Empty
        /// without a target.
        public var stepsToTarget: [Double] = []
        public var evalsToTarget: [Double] = []
        public var secondsToTarget: [Double] = []
        public var stepsMedian: Double?
        public var evalsMedian: Double?
        public var secondsMedian: Double?
        /// 1 for the best median final value.
        public var rank = 0
        /// Wilcoxon signed-rank test of this optimizer's finals against the best's, paired by seed.
        public var test: Statistics.SignedRankTest?
        /// The Hodges–Lehmann estimate of the paired difference (this optimizer − the best) with
        /// its 95% distribution-free interval.
        public var effect: Statistics.HodgesLehmann?
        /// The test's p Holm-adjusted over the problem's family: each optimizer against the best.
        public var pHolm: Double?
        /// The search-space checks of its tuning trials (empty when clean).
        public var warnings: [BenchmarkWarning] = []
        /// Not distinguishable from the best: the best itself, or its Holm-adjusted p ≥ `significanceLevel`.
        public var indistinguishableFromBest = false
        /// What its tuning runs on this problem cost (as `BenchmarkResults.tuning`, one cell);
        /// nil when the database holds none.
        public var tuning: TuningCost?
    }

    public struct ProblemResult: Sendable {
        public var name: String
        /// The problem's target (the benchmark's, for now the same on every problem).
        public var target: Target?
        /// Ordered by rank.
        public var optimizers: [OptimizerResult]
        /// The optimizers not distinguishable from the best, in rank order (the best first).
        public var indistinguishableFromBest: [String] { optimizers.filter(\.indistinguishableFromBest).map(\.name) }
        /// A target that no optimizer's median final run reaches: the problem scores every
        /// optimizer ∞ in time to target, so it adds nothing to the profile (the trap of a shared
        /// target on a harder problem; a per-problem or reference target fixes it).
        public var targetUnreached: Bool {
            target != nil && !optimizers.isEmpty && !optimizers.contains { ($0.evalsMedian ?? .infinity).isFinite }
        }
    }

    /// The level at which a test tells an optimizer apart from the best.
    public static let significanceLevel = 0.05

    /// How each best trial was chosen: "final" (best final metric) or "time_to_target".
    public var selection = "final"
    /// `benchmark.selection`: the top k tuning trials were rerun on `seeds` more seeds and the
    /// best mean picked (nil: the best single tuning run).
    public var robustSelection: (topK: Int, seeds: Int)?
    public var experiment: String
    public var metric: String
    /// The selection metric's name on the test split: `val_X` → `test_X`; nil for other names.
    public var testMetric: String? { Self.testMetric(for: metric) }
    public static func testMetric(for metric: String) -> String? {
        metric.hasPrefix("val_") ? "test_" + metric.dropFirst("val_".count) : nil
    }
    public var goal: MetricDirection
    public var target: Target?
    public var problems: [ProblemResult]
    /// Per optimizer (in first-seen order): the performance-profile score over the problems,
    /// cost = median evaluations to target, interpolated (τ from 1 to 4), and the geometric mean of its
    /// time-to-target ratios to the best optimizer of each problem (∞ when it misses one);
    /// `ratios` are those ratios, one per problem in `problems` order, from which the report
    /// draws ρ(τ).
    public var profile: [(optimizer: String, score: Double, geometricMeanRatio: Double?, ratios: [Double])]
    /// Per optimizer (as `profile`), the profile score and the share of problems solved (its
    /// median run reaches the target) with 95% intervals from a paired bootstrap over the final
    /// seeds (`Statistics.bootstrapPerformanceProfile`); empty without a target.
    public var profileIntervals: [ProfileInterval] = []

    public struct ProfileInterval: Sendable, Equatable {
        public var optimizer: String
        public var score: Double
        /// [lower, upper]: the 2.5% and 97.5% percentiles over the resamples.
        public var scoreInterval: [Double]
        public var solved: Double
        public var solvedInterval: [Double]
    }

    /// Per optimizer (in first-seen order), what its tuning runs cost on all problems together,
    /// so optimizers can be compared at an equal budget rather than an equal trial count.
    public var tuning: [TuningCost] = []
    /// Per problem and optimizer, the expected best after k tuning trials and each study's best.
    public var tuningCurves: [TuningCurve] = []

    /// The compute of an optimizer's tuning runs (their latest attempts): trials, training steps
    /// trained (an adaptive search's pruned trials only to their rung, a diverged one to its
    /// divergence), loss/gradient evaluations (`evals`) and training seconds (`time`).
    public struct TuningCost: Sendable, Equatable {
        public var optimizer: String
        public var trials = 0
        public var steps = 0
        public var evals = 0.0
        public var seconds = 0.0

        /// Counts one more trial that trained `steps` steps.
        mutating func add(steps: Int, evals: Double, seconds: Double) {
            trials += 1
            self.steps += steps
            self.evals += evals
            self.seconds += seconds
        }
    }
}

extension ResultsStore {
    /// The benchmark runs of `experiment` (latest attempts), with the selection metric's final
    /// value. `role` is "tune", "select" or "final". Of several studies' tuning runs only study
    /// 0's (the one the finals rerun), unless `allStudies`.
    public func benchmarkRuns(_ overviews: [RunOverview], role: String, metric: String, allStudies: Bool = false) -> [(BenchmarkRun, RunOverview)] {
        overviews.compactMap { overview in
            let p = overview.params
            guard p["benchmark.role"] == role, allStudies || (p["benchmark.study"].flatMap(Double.init) ?? 0) == 0, let problem = p["benchmark.problem"], let optimizer = p["benchmark.optimizer"],
                  let trial = p["benchmark.trial"].flatMap(Double.init).map(Int.init) else { return nil }
            return (BenchmarkRun(problem: problem, optimizer: optimizer, trial: trial, seed: overview.run.seed ?? 0,
                                 status: overview.run.status, finalValue: overview.summaries[metric]?.finalValue), overview)
        }
    }

    /// The best tuning trial per problem and optimizer among the runs of `experiment` whose
    /// config hash is in `configHashes` (the tuning runs of the spec as it is now).
    /// `byTimeToTarget`: the fewest evaluations (`evals`) to each run's tagged target instead
    /// (`BenchmarkSelection.bestTrialsByTimeToTarget`).
    public func benchmarkBestTrials(experiment: String, configHashes: Set<String>, metric: String,
                                    goal: MetricDirection, byTimeToTarget: Bool = false) throws -> [BenchmarkCell: Int] {
        let overviews = try runOverviews(experiment: experiment).filter { $0.run.configHash.map(configHashes.contains) ?? false }
        let tune = benchmarkRuns(overviews, role: "tune", metric: metric)
        guard byTimeToTarget else { return BenchmarkSelection.bestTrials(tune.map(\.0), goal: goal) }
        let costs = try tune.map { try evaluationsToTarget(run: $0, overview: $1) }
        return BenchmarkSelection.bestTrialsByTimeToTarget(Array(zip(tune.map(\.0), costs)), goal: goal)
    }

    /// Each problem's reference target (tag `target` {`metric`, `from`: "reference", `quantile`}),
    /// from the tuning runs whose config hash is in `configHashes`: the final `target.metric` of
    /// each optimizer's best trial, then `BenchmarkSelection.referenceTarget`. Problems with a
    /// fixed target, or none, are absent.
    public func benchmarkReferenceTargets(experiment: String, configHashes: Set<String>, metric: String,
                                          goal: MetricDirection) throws -> [String: Double] {
        let overviews = try runOverviews(experiment: experiment).filter { $0.run.configHash.map(configHashes.contains) ?? false }
        let tune = benchmarkRuns(overviews, role: "tune", metric: metric)
        let best = BenchmarkSelection.bestTrials(tune.map(\.0), goal: goal)
        var values: [String: (metric: String, quantile: Double, reached: [Double])] = [:]
        for (run, overview) in tune where best[BenchmarkCell(problem: run.problem, optimizer: run.optimizer)] == run.trial {
            let p = overview.params
            guard p["benchmark.target.from"] == "reference", let name = p["benchmark.target.metric"],
                  let quantile = p["benchmark.target.quantile"].flatMap(Double.init) else { continue }
            var entry = values[run.problem] ?? (name, quantile, [])
            if run.status == .completed, let value = overview.summaries[name]?.finalValue, value.isFinite { entry.reached.append(value) }
            values[run.problem] = entry
        }
        return values.compactMapValues { entry in
            BenchmarkSelection.referenceTarget(entry.reached, quantile: entry.quantile, direction: .preferred(for: entry.metric))
        }
    }

    /// The search-space checks (`BenchmarkSelection.searchWarnings`) of the tuning runs whose
    /// config hash is in `configHashes`.
    public func benchmarkSearchWarnings(experiment: String, configHashes: Set<String>, metric: String,
                                        goal: MetricDirection) throws -> [BenchmarkCell: [BenchmarkWarning]] {
        let overviews = try runOverviews(experiment: experiment).filter { $0.run.configHash.map(configHashes.contains) ?? false }
        return BenchmarkSelection.searchWarnings(benchmarkRuns(overviews, role: "tune", metric: metric).map { ($0.0, $0.1.params) }, goal: goal)
    }

    /// The results of `experiment`'s final benchmark runs. A missing experiment, or one without
    /// final runs, is a `ResultsQueryError`. `defaults` refine `bestSetting`.
    public func benchmarkResults(experiment: String, defaults: ChoiceDefaults? = nil) throws -> BenchmarkResults {
        let overviews = try runOverviews(experiment: experiment)
        guard let first = overviews.first(where: { $0.params["benchmark.role"] == "final" }) else {
            throw ResultsQueryError.noBenchmarkRuns(experiment: experiment)
        }
        let metric = first.params["benchmark.metric"] ?? "val_loss"
        let goal = first.params["benchmark.goal"].flatMap(MetricDirection.init(rawValue:)) ?? .preferred(for: metric)
        let target = first.params["benchmark.target.metric"].flatMap { name in
            first.params["benchmark.target.value"].flatMap(Double.init).map { BenchmarkResults.Target(metric: name, value: $0) }
        }
        let finals = benchmarkRuns(overviews, role: "final", metric: metric)
        let warnings = BenchmarkSelection.searchWarnings(
            benchmarkRuns(overviews, role: "tune", metric: metric).map { ($0.0, $0.1.params) }, goal: goal)

        var problemNames: [String] = []
        var optimizerNames: [String] = []
        for (run, _) in finals {
            if !problemNames.contains(run.problem) { problemNames.append(run.problem) }
            if !optimizerNames.contains(run.optimizer) { optimizerNames.append(run.optimizer) }
        }
        var problems: [BenchmarkResults.ProblemResult] = []
        for problem in problemNames {
            // The problem's own target (a reference target's value is set in its final runs).
            let problemFinal = finals.first { $0.0.problem == problem }?.1.params ?? [:]
            let target = problemFinal["benchmark.target.metric"].flatMap { name in
                problemFinal["benchmark.target.value"].flatMap(Double.init).map { BenchmarkResults.Target(metric: name, value: $0) }
            } ?? target
            let problemRuns = overviews.filter { $0.params["benchmark.problem"] == problem }
            let settings = Dictionary(uniqueKeysWithValues: zip(
                problemRuns.map(\.run.id),
                RunOverview.distinguishingParams(problemRuns, include: { $0.hasPrefix("optimizer.") }, defaults: defaults)))
            var results: [BenchmarkResults.OptimizerResult] = []
            for optimizer in optimizerNames {
                let runs = finals.filter { $0.0.problem == problem && $0.0.optimizer == optimizer }.sorted { $0.0.seed < $1.0.seed }
                guard let bestRun = runs.first else { continue }
                let scores = runs.map { $0.0.score(goal) }
                let finite = scores.filter(\.isFinite)
                var result = BenchmarkResults.OptimizerResult(
                    name: optimizer, bestTrial: bestRun.0.trial,
                    bestParams: bestRun.1.params.filter { $0.key.hasPrefix("optimizer.") }
                        .map { (String($0.key.dropFirst("optimizer.".count)), $0.value) }.sorted { $0.key < $1.key },
                    seeds: runs.map(\.0.seed), finals: scores, median: Statistics.median(scores),
                    mean: finite.count == scores.count ? Statistics.mean(scores) : (goal == .min ? .infinity : -.infinity),
                    ci: finite.count == scores.count ? Statistics.confidenceHalfWidth95(scores) : nil)
                result.bestSetting = settings[bestRun.1.run.id] ?? []
                result.warnings = warnings[BenchmarkCell(problem: problem, optimizer: optimizer)] ?? []
                if let testMetric = BenchmarkResults.testMetric(for: metric) {
                    let worst = goal == .min ? Double.infinity : -.infinity
                    let values = try runs.map { run -> Double? in
                        guard run.0.status == .completed else { return worst }
                        return try metrics(runID: run.1.run.id, name: testMetric).last.map { $0.value.isNaN ? worst : $0.value }
                    }
                    // Runs from before the test split have none: no column rather than a wrong one.
                    if values.allSatisfy({ $0 != nil }) {
                        result.testFinals = values.map { $0! }
                        result.testMedian = Statistics.median(result.testFinals)
                    }
                }
                if let target {
                    var steps: [Double] = [], evals: [Double] = [], seconds: [Double] = []
                    for (_, overview) in runs {
                        let id = overview.run.id
                        func history(_ name: String) throws -> [(step: Int, value: Double)] {
                            try metrics(runID: id, name: name).map { (step: $0.step, value: $0.value) }
                        }
                        if let cost = BenchmarkSelection.costToTarget(try history(target.metric), target: target.value,
                                                                      direction: .preferred(for: target.metric),
                                                                      evals: try history("evals"), time: try history("time")) {
                            result.targetHits += 1
                            steps.append(cost.steps)
                            evals.append(cost.evals)
                            seconds.append(cost.seconds)
                        } else {
                            steps.append(.infinity)
                            evals.append(.infinity)
                            seconds.append(.infinity)
                        }
                    }
                    (result.stepsToTarget, result.evalsToTarget, result.secondsToTarget) = (steps, evals, seconds)
                    result.stepsMedian = Statistics.median(steps)
                    result.evalsMedian = Statistics.median(evals)
                    result.secondsMedian = Statistics.median(seconds)
                }
                results.append(result)
            }
            // Rank by median final value, then mean; the best one is the reference of the tests.
            results.sort { a, b in
                let (x, y) = (a.median ?? .nan, b.median ?? .nan)
                if x != y { return goal.isBetter(x, than: y) }
                return goal.isBetter(a.mean ?? .nan, than: b.mean ?? .nan)
            }
            for i in results.indices { results[i].rank = i + 1 }
            if let best = results.first {
                let bestBySeed = Dictionary(zip(best.seeds, best.finals), uniquingKeysWith: { a, _ in a })
                for i in results.indices.dropFirst() {
                    let differences = zip(results[i].seeds, results[i].finals).compactMap { seed, value in
                        bestBySeed[seed].map { value - $0 }
                    }
                    results[i].test = Statistics.wilcoxonSignedRank(differences)
                    results[i].effect = Statistics.hodgesLehmann(differences)
                }
                // The family is the problem's comparisons with the best; no test (every pair tied)
                // counts as p = 1.
                let adjusted = Statistics.holmAdjusted(results.dropFirst().map { $0.test?.pValue ?? 1 })
                results[0].indistinguishableFromBest = true
                for (i, p) in zip(results.indices.dropFirst(), adjusted) {
                    results[i].pHolm = results[i].test == nil ? nil : p
                    results[i].indistinguishableFromBest = p >= BenchmarkResults.significanceLevel
                }
            }
            problems.append(.init(name: problem, target: target, optimizers: results))
        }

        var profile: [(optimizer: String, score: Double, geometricMeanRatio: Double?, ratios: [Double])] = []
        var bootstrap: [BenchmarkResults.ProfileInterval] = []
        if target != nil {
            // Cost: median evaluations to target, at least one (a target met at step 0).
            let costs = problems.map { problem in
                optimizerNames.map { name in max(1, problem.optimizers.first { $0.name == name }?.evalsMedian ?? .infinity) }
            }
            let scores = Statistics.performanceProfileScores(costs: costs)
            let ratios = Statistics.performanceRatios(costs: costs)
            for (s, name) in optimizerNames.enumerated() {
                let own = ratios.map { $0[s] }
                profile.append((name, scores[s], Statistics.geometricMean(own), own))
            }
            // Per problem, each optimizer's evaluations to target by seed, aligned on the
            // problem's seeds (nil where an optimizer has no run at a seed).
            let perSeed = problems.map { problem -> [[Double?]] in
                let seeds = Array(Set(problem.optimizers.flatMap(\.seeds))).sorted()
                return optimizerNames.map { name in
                    guard let o = problem.optimizers.first(where: { $0.name == name }) else { return seeds.map { _ in nil } }
                    let bySeed = Dictionary(zip(o.seeds, o.evalsToTarget), uniquingKeysWith: { a, _ in a })
                    return seeds.map { bySeed[$0] }
                }
            }
            let intervals = Statistics.bootstrapPerformanceProfile(perSeedCosts: perSeed)
            for (s, name) in optimizerNames.enumerated() {
                let solved = Double(costs.filter { $0[s].isFinite }.count) / Double(max(1, costs.count))
                bootstrap.append(.init(optimizer: name, score: scores[s], scoreInterval: intervals[s].score,
                                       solved: solved, solvedInterval: intervals[s].solved))
            }
        }
        var results = BenchmarkResults(experiment: experiment, metric: metric, goal: goal, target: target, problems: problems, profile: profile)
        results.profileIntervals = bootstrap
        results.selection = first.params["benchmark.select"] ?? "final"
        if let k = first.params["benchmark.selection.top_k"].flatMap(Int.init), let seeds = first.params["benchmark.selection.seeds"].flatMap(Int.init) {
            results.robustSelection = (k, seeds)
        }
        var tuning: [String: BenchmarkResults.TuningCost] = [:]
        var tuningOrder: [String] = []
        var cellTuning: [BenchmarkCell: BenchmarkResults.TuningCost] = [:]
        // The selection's reruns are tuning compute too: they come out of the same budget.
        let tuningRuns = benchmarkRuns(overviews, role: "tune", metric: metric) + benchmarkRuns(overviews, role: "select", metric: metric)
        for (run, overview) in tuningRuns where overview.run.supersededBy == nil {
            if tuning[run.optimizer] == nil { tuningOrder.append(run.optimizer) }
            // The last logged training step is the last trained: logged every log_every, at the end, at a rung.
            let steps = try metrics(runID: overview.run.id, name: "train_loss").last?.step ?? 0
            let evals = overview.summaries["evals"]?.finalValue ?? 0
            let seconds = overview.summaries["time"]?.finalValue ?? 0
            let cell = BenchmarkCell(problem: run.problem, optimizer: run.optimizer)
            tuning[run.optimizer, default: .init(optimizer: run.optimizer)].add(steps: steps, evals: evals, seconds: seconds)
            cellTuning[cell, default: .init(optimizer: run.optimizer)].add(steps: steps, evals: evals, seconds: seconds)
        }
        results.tuning = tuningOrder.map { tuning[$0]! }
        results.tuningCurves = benchmarkTuningCurves(overviews, metric: metric, goal: goal)
        for p in results.problems.indices {
            for o in results.problems[p].optimizers.indices {
                results.problems[p].optimizers[o].tuning =
                    cellTuning[BenchmarkCell(problem: results.problems[p].name, optimizer: results.problems[p].optimizers[o].name)]
            }
        }
        return results
    }
}
