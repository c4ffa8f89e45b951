import Foundation
import TrainLabStore

/// A config of an experiment: the runs that share the values of the grouping params (by default
/// every param that varies, `seed` aside), i.e. one setting repeated over seeds.
public struct ReportConfig: Sendable, Equatable {
    /// 1-based, in the comparison's order (param values ascending).
    public var number: Int
    /// `activation=relu, lr=0.01`: the grouping params' values (see `ReportData.labels`).
    public var label: String
    public var groupValues: [String?]
    public var runs: [RunOverview]
    /// Final-metric statistics of the config (mean and CI over completed runs, diverged count).
    public var group: ComparisonGroup
    public var style: SeriesStyle

    /// `data-config` of the config's chart elements.
    public var id: String { String(number) }
    public var divergedRuns: [RunOverview] { runs.filter { $0.run.status == .diverged } }
}

/// A config's curve of one metric: the mean over its runs at each logged step with the min–max
/// band (runs that diverged left out), and each diverged run's own values up to where it stopped.
public struct ConfigCurve: Sendable, Equatable {
    public var config: Int
    public var points: [ChartPoint]
    public var diverged: [ChartTrace]
}

/// What a report shows, read from the results database.
public struct ReportData: Sendable {
    public var experiment: String
    public var databasePath: String
    /// The params that define a config; with a pivot key, that key is the last.
    public var groupKeys: [String]
    /// The param whose values are the heatmap's columns (`--pivot`); nil: no heatmap.
    public var pivotKey: String?
    public var configs: [ReportConfig]
    /// The final-metric comparison (`metric`, `direction`, groups in `configs` order).
    public var comparison: Comparison
    /// Every metric the experiment's runs logged.
    public var metricNames: [String]
    /// Curve metrics in display order, and their curves (one per config, `configs` order).
    public var curveMetrics: [String]
    public var curves: [String: [ConfigCurve]]
    /// The most logged steps in one display column, per curve metric (1: raw; see `minMaxPerColumn`).
    public var stepsPerPoint: [String: Int]
    /// Per curve metric, each run's own curve (raw, unsmoothed; a diverged run's up to its last
    /// finite value) downsampled on the chart's column grid (`runColumns`): what the page's
    /// script groups, filters and smooths.
    public var runCurves: [String: [ChartTrace]] = [:]
    /// Per curve metric, the column grid of `runCurves`: the step range and the column count.
    public var runColumns: [String: (first: Double, last: Double, columns: Int)] = [:]
    /// The EMA weight the `train_loss` curves are smoothed with (see `exponentialMovingAverage`);
    /// nil: raw.
    public var smoothing: Double?
    /// Init-probe RMS by depth at step 0 (x = layer index): "act_rms", "grad_rms" when logged.
    public var probes: [String: [ConfigCurve]]
    /// The benchmark protocol's results and tuning trials, when the runs carry `benchmark.*`
    /// params and the final runs exist; nil otherwise.
    public var benchmark: BenchmarkReport?
    /// A benchmark's runs other than its finals (tuning, selection), which only its section shows.
    public var benchmarkRunsLeftOut = 0
    /// An adaptive search's trials (runs with `search.*` params), by trial number; empty otherwise.
    public var searchTrials: [SearchTrialCurve] = []

    /// One trial of an adaptive search: its search metric at every step it was measured, up to
    /// the last rung it trained, and whether it trained to the end.
    public struct SearchTrialCurve: Sendable, Equatable {
        public var runID: Int64
        public var trial: Int
        public var metric: String
        public var points: [ChartPoint]
        public var reachedTheEnd: Bool
    }

    /// Curve metrics shown when logged, in this order.
    public static let standardCurveMetrics = ["train_loss", "val_loss", "val_accuracy", "val_ndcg"]
    /// Probe families drawn by depth: metric prefix `probe/<kind>/`, names `layers.{i}`.
    public static let probeKinds = ["act_rms", "grad_rms"]

    /// Reads `experiment` from `store`.
    ///
    /// - `groupKeys`: params defining a config; nil: every param whose value differs between
    ///   runs, `seed` aside (a benchmark's finals: problem and optimizer). An unknown key is
    ///   `ResultsQueryError.unknownParamKey`.
    /// - `metric`: the final-metric comparison's metric; nil: `val_loss` when logged, else
    ///   `train_loss`. Its curve is drawn too. A metric no run logged is `unknownMetric`.
    /// - `columns`: a curve with more than two points per column is downsampled for display to
    ///   the lowest and highest point of each of this many equal step ranges (`minMaxPerColumn`),
    ///   so a spike or a divergence stays visible however long the run; nil: `displayColumns`,
    ///   fewer when many runs share a chart (`columnsFor(runCount:)`) to bound the file size.
    /// - `smoothing`: the `train_loss` curves (line, band and diverged runs) are exponential moving
    ///   averages with this weight, in `0..<1`, over the logged steps, before those are averaged
    ///   into points; nil: raw.
    /// - `pivotKey`: a param that becomes the last group key, the heatmap's columns; the other
    ///   keys (`groupKeys`, or every differing param but it and `seed`) are its rows.
    public static func load(from store: ResultsStore, experiment: String, groupKeys: [String]? = nil,
                            metric: String? = nil, columns: Int? = nil, smoothing: Double? = nil,
                            pivotKey: String? = nil) throws -> ReportData {
        let allRuns = try store.runOverviews(experiment: experiment)  // throws for an unknown experiment
        // A benchmark's tuning and selection runs (hundreds of settings on one seed each) are what
        // its own section summarises; the general sections show its finals, one config per
        // problem and optimizer, which keeps the page readable and its size bounded.
        let finals = allRuns.filter { $0.params["benchmark.role"] == "final" }
        let isBenchmark = !finals.isEmpty
        let overviews = isBenchmark ? finals : allRuns
        let defaultKeys = isBenchmark
            ? ["benchmark.problem", "benchmark.optimizer"]
            : ResultsStore.differingParamKeys(overviews.map(\.params)).filter { $0 != "seed" }
        let keys = (groupKeys ?? defaultKeys)
            .filter { $0 != pivotKey } + (pivotKey.map { [$0] } ?? [])
        let tuples = try ResultsStore.groupValues(by: keys, of: overviews, experiment: experiment)
        let metricNames = try store.metricNames(experiment: experiment)
        let metric = metric ?? ResultsStore.defaultMetric(among: Set(metricNames))
        guard metricNames.contains(metric) else {
            throw ResultsQueryError.unknownMetric(name: metric, experiment: experiment, known: metricNames)
        }

        // Configs: Comparison's grouping (summaries give the final values; a run still running has none).
        let direction = MetricDirection.preferred(for: metric)
        let outcomes = zip(overviews, tuples).map { overview, tuple in
            RunOutcome(runID: overview.run.id, status: overview.run.status, groupValues: tuple,
                       finalValue: overview.summaries[metric]?.finalValue)
        }
        let comparison = Comparison(experiment: experiment, keys: keys, metric: metric, direction: direction,
                                    outcomes: outcomes)
        let groups = comparison.groups
        let byID = Dictionary(uniqueKeysWithValues: overviews.map { ($0.run.id, $0) })
        let labels = Self.labels(keys: keys, values: groups.map(\.groupValues))
        let styles = Self.styles(values: groups.map(\.groupValues))
        let configs = groups.enumerated().map { index, group in
            ReportConfig(number: index + 1, label: labels[index], groupValues: group.groupValues,
                         runs: group.runIDs.compactMap { byID[$0] }, group: group, style: styles[index])
        }

        let columns = columns ?? Self.columnsFor(runCount: overviews.count)
        var curveMetrics = standardCurveMetrics.filter(metricNames.contains)
        if !curveMetrics.contains(metric) && !metric.hasPrefix("probe/") { curveMetrics.append(metric) }
        var curves: [String: [ConfigCurve]] = [:], stepsPerPoint: [String: Int] = [:]
        var runCurves: [String: [ChartTrace]] = [:], runColumns: [String: (first: Double, last: Double, columns: Int)] = [:]
        for name in curveMetrics {
            var raw: [ChartTrace] = []
            let curveSmoothing = name == "train_loss" ? smoothing : nil
            func smoothed(_ points: [ChartPoint]) -> [ChartPoint] {
                curveSmoothing.map { Self.exponentialMovingAverage(points, smoothing: $0) } ?? points
            }
            var perConfig: [ConfigCurve] = []
            var bucket = 1
            for config in configs {
                var kept: [[(step: Int, value: Double)]] = [], traces: [ChartTrace] = []
                for overview in config.runs {
                    let series = try store.metrics(runID: overview.run.id, name: name)
                    let own = (overview.run.status == .diverged ? Array(series.prefix { $0.value.isFinite }) : series)
                        .filter { $0.value.isFinite }
                    raw.append(ChartTrace(runID: overview.run.id,
                                          points: own.map { ChartPoint(x: Double($0.step), y: $0.value, low: $0.value, high: $0.value) }))
                    if overview.run.status == .diverged {
                        let finite = series.prefix { $0.value.isFinite }
                        let points = finite.map { ChartPoint(x: Double($0.step), y: $0.value, low: $0.value, high: $0.value) }
                        if !points.isEmpty { traces.append(ChartTrace(runID: overview.run.id, points: points)) }
                    } else {
                        kept.append(series)
                    }
                }
                let (points, size) = Self.minMaxPerColumn(smoothed(Self.aggregate(kept)), columns: columns)
                bucket = max(bucket, size)
                traces = traces.map {
                    ChartTrace(runID: $0.runID, points: Self.minMaxPerColumn(smoothed($0.points), columns: columns).points)
                }
                perConfig.append(ConfigCurve(config: config.number, points: points, diverged: traces))
            }
            curves[name] = perConfig
            stepsPerPoint[name] = bucket
            let xs = raw.flatMap { $0.points.map(\.x) }
            let range = (first: xs.min() ?? 0, last: xs.max() ?? 0, columns: columns)
            runColumns[name] = range
            runCurves[name] = raw.map {
                ChartTrace(runID: $0.runID, points: Self.minMaxPerColumn($0.points, columns: columns, range: (range.first, range.last)).points)
            }
        }

        var probes: [String: [ConfigCurve]] = [:]
        for kind in probeKinds where metricNames.contains(where: { $0.hasPrefix("probe/\(kind)/") }) {
            var perConfig: [ConfigCurve] = []
            for config in configs {
                var byRun: [[(step: Int, value: Double)]] = []
                for overview in config.runs {
                    let values = try store.metricValues(runID: overview.run.id, step: 0, namePrefix: "probe/\(kind)/")
                    let layers = values.compactMap { name, value -> (step: Int, value: Double)? in
                        Self.layerIndex(name, prefix: "probe/\(kind)/").map { ($0, value) }
                    }
                    if !layers.isEmpty { byRun.append(layers.sorted { $0.step < $1.step }) }
                }
                perConfig.append(ConfigCurve(config: config.number, points: Self.aggregate(byRun), diverged: []))
            }
            if perConfig.contains(where: { !$0.points.isEmpty }) { probes[kind] = perConfig }
        }

        let benchmark = try BenchmarkReport.load(from: store, experiment: experiment, overviews: allRuns)
        var searchTrials: [SearchTrialCurve] = []
        for overview in allRuns {
            let p = overview.params
            guard let trial = p["search.trial"].flatMap(Double.init), let metric = p["search.metric"] else { continue }
            let points = try store.metrics(runID: overview.run.id, name: metric).filter { $0.value.isFinite }
                .map { ChartPoint(x: Double($0.step), y: $0.value, low: $0.value, high: $0.value) }
            searchTrials.append(SearchTrialCurve(runID: overview.run.id, trial: Int(trial), metric: metric, points: points,
                                                 reachedTheEnd: overview.run.status == .completed))
        }
        var data = ReportData(experiment: experiment, databasePath: store.path, groupKeys: keys, pivotKey: pivotKey, configs: configs,
                          comparison: comparison, metricNames: metricNames, curveMetrics: curveMetrics,
                          curves: curves, stepsPerPoint: stepsPerPoint, smoothing: smoothing, probes: probes,
                          benchmark: benchmark)
        data.searchTrials = searchTrials.sorted { $0.trial < $1.trial }
        data.benchmarkRunsLeftOut = allRuns.count - overviews.count
        data.runCurves = runCurves
        data.runColumns = runColumns
        return data
    }

    /// Series styles of configs with these group values. Up to seven configs get a colour each.
    /// More get a colour for the values of all keys but one and a dash pattern for that one (the
    /// key with the fewest values, 2 to 4, that leaves at most seven colours): `optimizer=adam`
    /// solid and `adamw` dashed, one colour per weight decay. Otherwise colours repeat with dashes.
    public static func styles(values: [[String?]]) -> [SeriesStyle] {
        let colors = SeriesStyle.okabeIto.count
        guard values.count > colors, let width = values.first?.count, width >= 2 else {
            return values.indices.map { SeriesStyle.at($0) }
        }
        func distinct<T: Hashable>(_ items: [T]) -> [T] {
            var seen = Set<T>()
            return items.filter { seen.insert($0).inserted }
        }
        let candidates = (0..<width).compactMap { key -> (key: Int, dashes: [String?], rest: [[String?]])? in
            let dashValues = distinct(values.map { $0[key] })
            var rest = values
            for index in rest.indices { rest[index].remove(at: key) }
            guard (2...4).contains(dashValues.count), distinct(rest).count <= colors else { return nil }
            return (key, dashValues, rest)
        }
        guard let best = candidates.min(by: { $0.dashes.count < $1.dashes.count }) else {
            return values.indices.map { SeriesStyle.at($0) }
        }
        let colorOrder = distinct(best.rest)
        return values.indices.map { index in
            let color = colorOrder.firstIndex(of: best.rest[index])!
            let dash = best.dashes.firstIndex(of: values[index][best.key])!
            return SeriesStyle.at(color + dash * colors)
        }
    }

    /// Mean and min–max over the runs at each step any of them logged; NaN and ±inf are skipped
    /// (a step with no finite value gives no point). A step a run logged twice counts its last value.
    public static func aggregate(_ runs: [[(step: Int, value: Double)]]) -> [ChartPoint] {
        var byStep: [Int: [Double]] = [:]
        for run in runs {
            var last: [Int: Double] = [:]
            for row in run { last[row.step] = row.value }
            for (step, value) in last where value.isFinite { byStep[step, default: []].append(value) }
        }
        return byStep.keys.sorted().map { step in
            let values = byStep[step]!
            return ChartPoint(x: Double(step), y: values.reduce(0, +) / Double(values.count),
                              low: values.min()!, high: values.max()!)
        }
    }

    /// Pixel columns of a chart's plot (900 wide, less the axes): the most a curve is drawn with.
    public static let displayColumns = 800
    /// Logged points one chart may keep over all its runs: bounds the page's size (the shipped
    /// benchmark's 576 runs get 6 columns; a sweep of a few runs every pixel column). The page
    /// embeds each run's curve as well, so its share of the bytes counts twice.
    public static let pointBudgetPerChart = 7_000

    /// Columns for a chart of `runCount` runs: `displayColumns`, fewer when the runs' points
    /// (two per column) would pass `pointBudgetPerChart`, never under 6.
    public static func columnsFor(runCount: Int) -> Int {
        min(displayColumns, max(6, pointBudgetPerChart / max(1, 2 * runCount)))
    }

    /// `points` (x ascending) cut into `columns` equal x ranges; each range keeps its lowest and
    /// its highest point by `y`, in x order (one when they are the same), with the band of the
    /// whole range (min of the lows, max of the highs). Averaging would flatten a spike or the
    /// jump of a divergence; min and max keep both extremes. `size`: the most points a range
    /// held (1: nothing was dropped). Curves with at most two points per column are kept as they are.
    /// `range`: the x range the columns divide (a chart's, shared by its runs); nil: the points' own.
    public static func minMaxPerColumn(_ points: [ChartPoint], columns: Int,
                                       range: (Double, Double)? = nil) -> (points: [ChartPoint], size: Int) {
        guard columns > 0, points.count > 2 * columns, let first = range?.0 ?? points.first?.x,
              let last = range?.1 ?? points.last?.x, last > first else { return (points, 1) }
        var out: [ChartPoint] = [], size = 1
        out.reserveCapacity(2 * columns)
        var start = 0
        while start < points.count {
            let column = min(columns - 1, Int((points[start].x - first) / (last - first) * Double(columns)))
            var end = start + 1
            while end < points.count,
                  min(columns - 1, Int((points[end].x - first) / (last - first) * Double(columns))) == column { end += 1 }
            let chunk = points[start..<end]
            size = max(size, chunk.count)
            var lowest = start, highest = start
            for index in chunk.indices {
                if chunk[index].y < chunk[lowest].y { lowest = index }
                if chunk[index].y > chunk[highest].y { highest = index }
            }
            let bandLow = chunk.map(\.low).min()!, bandHigh = chunk.map(\.high).max()!
            for index in Set([lowest, highest]).sorted() {
                out.append(ChartPoint(x: points[index].x, y: points[index].y, low: bandLow, high: bandHigh))
            }
            start = end
        }
        return (out, size)
    }

    /// The exponential moving average of `values` (finite) with TensorBoard's debiasing:
    /// ema_t = smoothing·ema_{t−1} + (1 − smoothing)·x_t from ema_0 = 0, shown as
    /// ema_t / (1 − smoothing^t), so the first value is x_1 rather than pulled towards 0.
    public static func exponentialMovingAverage(_ values: [Double], smoothing: Double) -> [Double] {
        var average = 0.0, weight = 1.0
        return values.map { value in
            average = smoothing * average + (1 - smoothing) * value
            weight *= smoothing
            return average / (1 - weight)
        }
    }

    /// `points` with their line and band (`y`, `low`, `high`) each an exponential moving average;
    /// the band still encloses the line (the average is monotone).
    public static func exponentialMovingAverage(_ points: [ChartPoint], smoothing: Double) -> [ChartPoint] {
        let y = exponentialMovingAverage(points.map(\.y), smoothing: smoothing)
        let low = exponentialMovingAverage(points.map(\.low), smoothing: smoothing)
        let high = exponentialMovingAverage(points.map(\.high), smoothing: smoothing)
        return points.indices.map { ChartPoint(x: points[$0].x, y: y[$0], low: low[$0], high: high[$0]) }
    }

    /// `i` of `<prefix>layers.{i}`; nil for other names.
    static func layerIndex(_ name: String, prefix: String) -> Int? {
        guard name.hasPrefix(prefix + "layers.") else { return nil }
        return Int(name.dropFirst(prefix.count + "layers.".count))
    }

    /// Config labels: `name=value` for each grouping key a config has, joined by ", ". A key is
    /// named by its last dotted part (`optimizer.lr` → `lr`), a longer suffix where that is
    /// ambiguous; `X.kind` is shown as `X` (a catalogue choice written as an object). No keys:
    /// "all runs".
    public static func labels(keys: [String], values: [[String?]]) -> [String] {
        guard !keys.isEmpty else { return values.map { _ in "all runs" } }
        let shown = keys.map { $0.hasSuffix(".kind") && $0 != ".kind" ? String($0.dropLast(5)) : $0 }
        let names = shortNames(shown)
        return values.map { tuple in
            let parts = zip(names, tuple).compactMap { name, value in value.map { "\(name)=\(ParamValue.compact($0))" } }
            return parts.isEmpty ? "(no value)" : parts.joined(separator: ", ")
        }
    }

    /// The shortest dotted suffix of each key that no other (different) key shares.
    static func shortNames(_ keys: [String]) -> [String] {
        let distinct = Array(Set(keys))
        func suffix(_ key: String, _ count: Int) -> String {
            key.split(separator: ".", omittingEmptySubsequences: false).suffix(count).joined(separator: ".")
        }
        return keys.map { key in
            let parts = key.split(separator: ".", omittingEmptySubsequences: false).count
            for count in 1...max(parts, 1) {
                let candidate = suffix(key, count)
                if !distinct.contains(where: { $0 != key && suffix($0, count) == candidate }) { return candidate }
            }
            return key
        }
    }

    /// One row of the config table: a param and its values in each config.
    public struct ParamRow: Sendable, Equatable {
        public var key: String
        /// Per config, the distinct values among its runs ("–" for runs without the key).
        public var values: [[String]]
        /// True when configs differ in this key, or runs within a config do.
        public var differs: Bool
    }

    /// Every param but `seed`, differing ones first (each part sorted by key).
    public func paramRows() -> [ParamRow] {
        let keys = Set(configs.flatMap { $0.runs.flatMap(\.params.keys) }).subtracting(["seed"])
        let rows = keys.sorted().map { key -> ParamRow in
            let values = configs.map { config in
                Array(Set(config.runs.map { $0.params[key] ?? "–" })).sorted { paramValueOrder($0, $1) }
            }
            let differs = values.contains { $0.count > 1 } || Set(values).count > 1
            return ParamRow(key: key, values: values, differs: differs)
        }
        return rows.filter(\.differs) + rows.filter { !$0.differs }
    }
}

/// Numbers numerically, then text.
func paramValueOrder(_ a: String, _ b: String) -> Bool {
    switch (Double(a), Double(b)) {
    case let (x?, y?) where x != y: return x < y
    case (_?, nil): return true
    case (nil, _?): return false
    default: return a < b
    }
}
