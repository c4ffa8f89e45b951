import Foundation

// The benchmark's robust selection (`benchmark.selection` {top_k, seeds}): the k best tuning
// trials of each problem and optimizer are rerun on more seeds (role `select`) and the pick is
// the best mean, so one lucky seed cannot choose (Choi et al. 2019 tune on several seeds too).

/// One run's place in the selection order, lower first: `primary` then `secondary`.
/// By final metric: (the final value, made lower-is-better; 0). By time to target: (evaluations
/// to the target, ∞ for a miss; the final value, made lower-is-better). A failed run is +∞.
public struct SelectionKey: Sendable, Equatable {
    public var run: BenchmarkRun
    public var primary: Double
    public var secondary: Double

    public init(run: BenchmarkRun, goal: MetricDirection, cost: Double? = nil) {
        self.run = run
        let score = run.score(goal)
        let lowerIsBetter = goal == .min ? score : -score
        if let cost {
            (primary, secondary) = (cost, lowerIsBetter)
        } else {
            (primary, secondary) = (lowerIsBetter, 0)
        }
    }
}

extension BenchmarkSelection {
    /// Each problem and optimizer's `k` best trials, best first: by `primary`, then
    /// `secondary`, then the lower trial (as `bestTrials` breaks ties).
    public static func topTrials(_ keys: [SelectionKey], k: Int) -> [BenchmarkCell: [Int]] {
        Dictionary(grouping: keys) { BenchmarkCell(problem: $0.run.problem, optimizer: $0.run.optimizer) }
            .mapValues { cell in
                cell.sorted { ($0.primary, $0.secondary, $0.run.trial) < ($1.primary, $1.secondary, $1.run.trial) }
                    .prefix(k).map(\.run.trial)
            }
    }

    /// The pick among each cell's `candidates`: the best mean over all of a trial's runs (its
    /// tuning run and its selection reruns, every seed): mean `primary`, then mean `secondary`,
    /// then the lower trial. A failed run makes its trial's mean +∞. A cell without candidates
    /// is absent.
    public static func bestByMean(_ keys: [SelectionKey], candidates: [BenchmarkCell: [Int]]) -> [BenchmarkCell: Int] {
        var sums: [BenchmarkCell: [Int: (primary: Double, secondary: Double, count: Int)]] = [:]
        for key in keys {
            let cell = BenchmarkCell(problem: key.run.problem, optimizer: key.run.optimizer)
            guard candidates[cell]?.contains(key.run.trial) == true else { continue }
            var entry = sums[cell, default: [:]][key.run.trial] ?? (0, 0, 0)
            entry.primary += key.primary
            entry.secondary += key.secondary
            entry.count += 1
            sums[cell, default: [:]][key.run.trial] = entry
        }
        return sums.compactMapValues { trials in
            trials.map { (trial: $0.key, primary: $0.value.primary / Double($0.value.count), secondary: $0.value.secondary / Double($0.value.count)) }
                .min { ($0.primary, $0.secondary, $0.trial) < ($1.primary, $1.secondary, $1.trial) }?.trial
        }
    }
}

extension ResultsStore {
    /// The selection keys of the `role` runs of `experiment` whose config hash is in
    /// `configHashes`. `byTimeToTarget`: keyed by evaluations to each run's tagged target.
    public func benchmarkSelectionKeys(experiment: String, configHashes: Set<String>, role: String, metric: String,
                                       goal: MetricDirection, byTimeToTarget: Bool) throws -> [SelectionKey] {
        let overviews = try runOverviews(experiment: experiment).filter { $0.run.configHash.map(configHashes.contains) ?? false }
        return try benchmarkRuns(overviews, role: role, metric: metric).map { run, overview in
            guard byTimeToTarget else { return SelectionKey(run: run, goal: goal) }
            return SelectionKey(run: run, goal: goal, cost: try evaluationsToTarget(run: run, overview: overview))
        }
    }

    /// Loss/gradient evaluations until the run reached its tagged target (`benchmark.target`):
    /// ∞ for a miss, a failed run or a run without a target value.
    func evaluationsToTarget(run: BenchmarkRun, overview: RunOverview) throws -> Double {
        guard run.status == .completed, let name = overview.params["benchmark.target.metric"],
              let value = overview.params["benchmark.target.value"].flatMap(Double.init) else { return .infinity }
        let history = try metrics(runID: overview.run.id, name: name).map { (step: $0.step, value: $0.value) }
        guard let step = BenchmarkSelection.stepToTarget(history, target: value, direction: .preferred(for: name)) else { return .infinity }
        return BenchmarkSelection.counter(try metrics(runID: overview.run.id, name: "evals").map { ($0.step, $0.value) }, atStep: step)
    }
}
