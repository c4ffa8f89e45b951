import Foundation
import TrainLabStore

/// What a report shows of a `benchmark` experiment: the results `trainlab benchmark` prints
/// (`ResultsStore.benchmarkResults`: the selection, the final runs, the performance profile) and
/// the tuning trials they were selected from.
public struct BenchmarkReport: Sendable {
    /// One tuning trial: its run as the selection saw it and the learning rate it tried.
    public struct Trial: Sendable, Equatable {
        public var run: BenchmarkRun
        /// `optimizer.lr`; nil for an optimizer without one.
        public var lr: Double?
    }

    public var results: BenchmarkResults
    /// Optimizer names in the spec's order (first tuning run of each): the series order and style.
    public var optimizers: [String]
    /// Per problem, per optimizer: the tuning trials, trial ascending.
    public var trials: [String: [String: [Trial]]]

    /// The benchmark of `experiment`'s runs (`overviews`); nil when none carries `benchmark.*`
    /// params or there are no final runs yet (nothing has been selected to show).
    static func load(from store: ResultsStore, experiment: String, overviews: [RunOverview]) throws -> BenchmarkReport? {
        guard overviews.contains(where: { $0.params["benchmark.role"] != nil }) else { return nil }
        let results: BenchmarkResults
        do {
            results = try store.benchmarkResults(experiment: experiment)
        } catch ResultsQueryError.noBenchmarkRuns {
            return nil
        }
        var optimizers: [String] = []
        var trials: [String: [String: [Trial]]] = [:]
        for (run, overview) in store.benchmarkRuns(overviews, role: "tune", metric: results.metric) {
            if !optimizers.contains(run.optimizer) { optimizers.append(run.optimizer) }
            trials[run.problem, default: [:]][run.optimizer, default: []]
                .append(Trial(run: run, lr: overview.params["optimizer.lr"].flatMap(Double.init)))
        }
        for problem in trials.keys {
            for optimizer in trials[problem]!.keys { trials[problem]![optimizer]!.sort { $0.run.trial < $1.run.trial } }
        }
        return BenchmarkReport(results: results, optimizers: optimizers, trials: trials)
    }

    /// The problems in the results' order.
    public var problems: [String] { results.problems.map(\.name) }

    func style(of optimizer: String) -> SeriesStyle {
        SeriesStyle.at(optimizers.firstIndex(of: optimizer) ?? optimizers.count)
    }

    /// The best score so far after each trial (x = trials run, 1-based), as the selection
    /// compares them (`BenchmarkRun.score`: a failure is the worst); trials before the first
    /// finite score give no point.
    public static func bestSoFar(_ trials: [Trial], goal: MetricDirection) -> [ChartPoint] {
        var best = goal == .min ? Double.infinity : -Double.infinity
        return trials.enumerated().compactMap { index, trial in
            let score = trial.run.score(goal)
            if goal.isBetter(score, than: best) { best = score }
            return best.isFinite ? ChartPoint(x: Double(index + 1), y: best, low: best, high: best) : nil
        }
    }

    /// ρ(τ), the share of problems whose ratio (cost / the best optimizer's cost) is at most τ,
    /// for τ from 1 to `tauMax`, as the corners of its step function: (1, ρ(1)), then at each
    /// ratio inside (1, tauMax] a vertical step up, and (tauMax, ρ(tauMax)).
    public static func profileSteps(ratios: [Double], tauMax: Double = 4) -> [ChartPoint] {
        guard !ratios.isEmpty else { return [] }
        let share = 1 / Double(ratios.count)
        func point(_ tau: Double, _ rho: Double) -> ChartPoint { ChartPoint(x: tau, y: rho, low: rho, high: rho) }
        var rho = Double(ratios.filter { $0 <= 1 }.count) * share
        var points = [point(1, rho)]
        for ratio in ratios.filter({ $0 > 1 && $0 <= tauMax }).sorted() {
            points.append(point(ratio, rho))
            rho += share
            points.append(point(ratio, rho))
        }
        points.append(point(tauMax, rho))
        return points
    }
}

extension ReportCharts {
    /// Final `metric` against the learning rate of each tuning trial on `problem`, one line per
    /// optimizer on a log x axis; trials that diverged or failed are ✕ at the top (bottom when
    /// higher is better). Nil for an unknown problem or one without a trial with an lr.
    public static func lrSensitivity(_ benchmark: BenchmarkReport, problem: String) -> LineChart? {
        guard let perOptimizer = benchmark.trials[problem] else { return nil }
        let results = benchmark.results
        let series = benchmark.optimizers.compactMap { optimizer -> LineSeries? in
            let withLR = (perOptimizer[optimizer] ?? []).compactMap { trial in trial.lr.map { (lr: $0, run: trial.run) } }
                .sorted { $0.lr < $1.lr }
            guard !withLR.isEmpty else { return nil }
            let scored = withLR.map { ($0.lr, $0.run.score(results.goal)) }
            return LineSeries(id: SVG.identifier(optimizer), label: optimizer, style: benchmark.style(of: optimizer),
                              points: scored.filter { $0.1.isFinite }.map { ChartPoint(x: $0.0, y: $0.1, low: $0.1, high: $0.1) },
                              failures: scored.filter { !$0.1.isFinite }.map(\.0))
        }
        guard !series.isEmpty else { return nil }
        var chart = LineChart(
            id: "chart-lr-sensitivity-" + SVG.identifier(problem),
            title: "Learning-rate sensitivity on \(problem): final \(results.metric) by lr",
            subtitle: "One point per tuning trial (the spec's seed), each optimizer's other keys at that trial's values; "
                + "✕: a trial that diverged or failed (the worst value to the selection). A flat, wide valley is a setting "
                + "that is easy to tune.",
            xLabel: "optimizer.lr", yLabel: "final \(results.metric) (\(results.goal == .min ? "lower" : "higher") is better)",
            series: series)
        chart.xScale = .log
        chart.failuresAtBottom = results.goal == .max
        chart.failureLabel = "trial diverged or failed"
        return chart
    }

    /// The expected best final `metric` after k tuning trials on `problem` (Dodge et al. 2019,
    /// from every study's trials: `TuningCurve`), one line per optimizer: what a smaller budget
    /// would find on average, rather than what one search order happened to find. Nil for an
    /// unknown problem.
    public static func tuningCurve(_ benchmark: BenchmarkReport, problem: String) -> LineChart? {
        guard benchmark.trials[problem] != nil else { return nil }
        let results = benchmark.results
        let series = benchmark.optimizers.compactMap { optimizer -> LineSeries? in
            guard let curve = results.tuningCurves.first(where: { $0.problem == problem && $0.optimizer == optimizer }),
                  !curve.expectedBest.isEmpty else { return nil }
            return LineSeries(id: SVG.identifier(optimizer), label: optimizer, style: benchmark.style(of: optimizer),
                              points: curve.expectedBest.enumerated().map { ChartPoint(x: Double($0.offset + 1), y: $0.element, low: $0.element, high: $0.element) })
        }
        let studies = results.tuningCurves.filter { $0.problem == problem }.map(\.studies).max() ?? 1
        var chart = LineChart(
            id: "chart-tuning-" + SVG.identifier(problem),
            title: "Tuning curve on \(problem): expected best final \(results.metric) after k trials",
            subtitle: "The mean over every k of the " + (studies > 1 ? "\(studies) studies' pooled" : "") + " tuning trials (Dodge et al. 2019): "
                + "what a budget of k trials finds on average; a diverged or failed trial counts as the problem's worst completed one.",
            xLabel: "tuning trials k", yLabel: "expected best final \(results.metric)", series: series)
        chart.xFromZero = false
        return chart
    }

    /// The Dolan–Moré performance profile across problems: ρ(τ) for τ from 1 to 4, one step line
    /// per optimizer, cost = median evaluations to the target. Nil without a target.
    public static func performanceProfile(_ benchmark: BenchmarkReport) -> LineChart? {
        let results = benchmark.results
        guard let target = results.target, !results.profile.isEmpty else { return nil }
        let series = results.profile.map { entry in
            LineSeries(id: SVG.identifier(entry.optimizer),
                       label: "\(entry.optimizer) (score \(String(format: "%.3f", entry.score)))",
                       style: benchmark.style(of: entry.optimizer), points: BenchmarkReport.profileSteps(ratios: entry.ratios))
        }
        var chart = LineChart(
            id: "chart-performance-profile", title: "Performance profile over \(results.problems.count) problems",
            subtitle: "ρ(τ): the share of problems on which an optimizer reaches \(target.metric) "
                + "\(target.metric.contains("loss") ? "≤" : "≥") \(SVG.metricValue(target.value)) within τ times the median "
                + "evaluations of the best optimizer there (Dolan & Moré 2002). ρ(1): the share where it is the fastest; "
                + "a line that never rises missed the target. Score: the area under ρ from 1 to 4, divided by 3.",
            xLabel: "τ (ratio to the fastest optimizer's evaluations to target)", yLabel: "ρ(τ) (share of problems)",
            series: series)
        chart.xFromZero = false
        chart.xIntegerTicks = false
        chart.yDomain = 0...1
        chart.dotsUpTo = 0
        return chart
    }

    /// Each problem and optimizer's median evaluations to the target over the final runs (a
    /// miss counted as ∞), with its hits and median training seconds. Nil without a target.
    public static func timeToTarget(_ benchmark: BenchmarkReport) -> BarChart? {
        let results = benchmark.results
        guard let target = results.target else { return nil }
        var items: [BarItem] = []
        for problem in results.problems {
            for optimizer in benchmark.optimizers {
                guard let result = problem.optimizers.first(where: { $0.name == optimizer }) else { continue }
                let reached = result.evalsMedian.map(\.isFinite) ?? false
                var note = "\(result.targetHits)/\(result.finals.count) hit"
                note += reached ? ", \(SVG.metricValue(result.secondsMedian)) s" : ", median: missed"
                items.append(BarItem(id: SVG.identifier(problem.name + "-" + optimizer), label: "\(problem.name) · \(optimizer)",
                                     style: benchmark.style(of: optimizer), value: reached ? result.evalsMedian : nil,
                                     errorHalfWidth: nil, samples: [], note: note))
            }
        }
        var chart = BarChart(
            id: "chart-time-to-target", title: "Time to target: \(target.metric) \(target.metric.contains("loss") ? "≤" : "≥") "
                + SVG.metricValue(target.value),
            subtitle: "Median over the final runs (paired seeds) of the loss and gradient evaluations until the target was "
                + "reached (interpolated between evaluations), a run that missed it counted as never (no bar when most missed); right: hits and the "
                + "median training seconds (one shared machine: approximate).",
            valueLabel: "evaluations to target (median)", items: items)
        chart.valueRange = 0...Double.infinity
        return chart
    }
}
