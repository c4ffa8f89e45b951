import Foundation

// What tuning itself is worth: the expected best after k trials (Dodge et al. 2019, "Show Your
// Work"; Sivaprasad et al. 2020 plot it against the budget) from the pooled tuning trials of every
// study, and each study's best (how much the outcome of one tuning varies: AlgoPerf repeats its
// tuning in 5 studies).

/// One problem and optimizer's tuning as a function of its budget.
public struct TuningCurve: Sendable, Equatable {
    public var problem: String
    public var optimizer: String
    /// Studies pooled (`benchmark.studies`, 1 without several).
    public var studies: Int
    /// E[best final metric of k trials], k = 1 ... trials per study, drawn without replacement
    /// from the pooled trials (`BenchmarkSelection.expectedBest`).
    public var expectedBest: [Double]
    /// Each study's best tuning value (study order), failures the worst.
    public var studyBests: [Double]
}

extension BenchmarkSelection {
    /// The expected best of k values drawn without replacement from `values` (n of them):
    /// with v₍₁₎ ≥ … ≥ v₍ₙ₎ from worst to best, the best of k is v₍ᵢ₎ with probability
    ///     C(i − 1, k − 1) / C(n, k)
    /// (the other k − 1 draws among the i − 1 worse ones). Exact for a finite pool, so it equals
    /// the mean over all k-subsets. Nil for no values or k outside 1...n. Every value must be finite.
    public static func expectedBest(_ values: [Double], k: Int, goal: MetricDirection) -> Double? {
        let n = values.count
        guard n > 0, k >= 1, k <= n else { return nil }
        let worstFirst = values.sorted { goal.isBetter($1, than: $0) }
        // log C(a, b) through lgamma: exact enough for the weights (they sum to 1 to ~1e-12).
        func logChoose(_ a: Int, _ b: Int) -> Double { lgamma(Double(a + 1)) - lgamma(Double(b + 1)) - lgamma(Double(a - b + 1)) }
        let total = logChoose(n, k)
        var sum = 0.0
        for i in k...n { sum += worstFirst[i - 1] * exp(logChoose(i - 1, k - 1) - total) }
        return sum
    }

    /// The tuning curves of each problem and optimizer from its tuning runs of every study
    /// (`trials`: run and study). A failed trial counts as the problem's worst completed tuning
    /// trial (over all its optimizers), so a line stays finite and still pays for failures; a
    /// problem without one has no curves.
    public static func tuningCurves(_ trials: [(run: BenchmarkRun, study: Int)], goal: MetricDirection) -> [TuningCurve] {
        var problems: [String] = []
        var optimizers: [String: [String]] = [:]
        for (run, _) in trials {
            if !problems.contains(run.problem) { problems.append(run.problem) }
            if !(optimizers[run.problem] ?? []).contains(run.optimizer) { optimizers[run.problem, default: []].append(run.optimizer) }
        }
        return problems.flatMap { problem -> [TuningCurve] in
            let own = trials.filter { $0.run.problem == problem }
            let finite = own.map { $0.run.score(goal) }.filter(\.isFinite)
            guard let worst = finite.max(by: { goal.isBetter($0, than: $1) }) else { return [] }
            return (optimizers[problem] ?? []).map { optimizer in
                let cell = own.filter { $0.run.optimizer == optimizer }
                let studies = Set(cell.map(\.study)).sorted()
                let perStudy = studies.map { study in cell.filter { $0.study == study }.count }.min() ?? 0
                let pooled = cell.map { $0.run.score(goal).isFinite ? $0.run.score(goal) : worst }
                let studyBests = studies.map { study in
                    cell.filter { $0.study == study }.map { $0.run.score(goal) }
                        .reduce(goal == .min ? Double.infinity : -.infinity) { goal.isBetter($1, than: $0) ? $1 : $0 }
                }
                return TuningCurve(problem: problem, optimizer: optimizer, studies: studies.count,
                                   expectedBest: perStudy == 0 ? [] : (1...perStudy).compactMap { expectedBest(pooled, k: $0, goal: goal) },
                                   studyBests: studyBests)
            }
        }
    }
}

extension ResultsStore {
    /// `BenchmarkSelection.tuningCurves` of the tuning runs among `overviews`, every study.
    public func benchmarkTuningCurves(_ overviews: [RunOverview], metric: String, goal: MetricDirection) -> [TuningCurve] {
        let trials = benchmarkRuns(overviews, role: "tune", metric: metric, allStudies: true).map { run, overview in
            (run: run, study: overview.params["benchmark.study"].flatMap(Double.init).map(Int.init) ?? 0)
        }
        return BenchmarkSelection.tuningCurves(trials, goal: goal)
    }
}
