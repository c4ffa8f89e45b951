import Foundation
import TrainLabStore

/// The report's charts, built from `ReportData`.
public enum ReportCharts {
    /// Legend label of a config: `#2 lr=0.1` plus how many of its runs diverged.
    public static func legendLabel(_ config: ReportConfig) -> String {
        let diverged = config.divergedRuns.count
        let note = diverged == 0 ? "" : " (\(diverged)/\(config.runs.count) diverged)"
        return "#\(config.number) \(config.label)\(note)"
    }

    /// Titles and y-axis labels of the known metrics; `smoothing` (of train_loss) is named in the
    /// label: `train_loss (EMA 0.9, nats)`.
    static func describe(_ metric: String, unit: String?, smoothing: Double? = nil) -> (title: String, axis: String) {
        let notes = [smoothing.map(emaLabel), unit].compactMap { $0 }
        let withUnit = notes.isEmpty ? metric : "\(metric) (\(notes.joined(separator: ", ")))"
        switch metric {
        case "train_loss": return ("Training loss", withUnit)
        case "val_loss": return ("Validation loss", withUnit)
        case "val_accuracy": return ("Validation accuracy", "val_accuracy (fraction correct)")
        case "val_ndcg": return ("Validation NDCG", "val_ndcg (0 to 1)")
        case "grad_norm": return ("Gradient norm", "grad_norm (global L2, before clipping)")
        case "lr": return ("Learning rate", "lr")
        default: return (metric, metric)
        }
    }

    /// What a loss metric is measured in: "nats" when every run's loss is a negative
    /// log-likelihood (natural log), else the loss kind when all runs share it (`mse`); nil otherwise.
    static func unit(of metric: String, in data: ReportData) -> String? {
        guard metric.contains("loss") else { return nil }
        let natural: Set<String> = ["cross_entropy", "bce", "kl_div", "nce", "info_nce"]
        let kinds = data.configs.flatMap(\.runs).map { $0.params["loss"] ?? $0.params["loss.kind"] ?? "" }
        guard let first = kinds.first, !first.isEmpty else { return nil }
        if kinds.allSatisfy(natural.contains) { return "nats" }
        return kinds.allSatisfy { $0 == first } ? first : nil
    }

    /// `EMA 0.9`: how a smoothed curve is labelled.
    static func emaLabel(_ smoothing: Double) -> String {
        "EMA " + String(format: "%g", smoothing)
    }

    /// The curves of `metric`, one line per config; nil when the metric has no curves.
    public static func curves(_ data: ReportData, metric: String) -> LineChart? {
        guard let curves = data.curves[metric] else { return nil }
        let smoothing = metric == "train_loss" ? data.smoothing : nil
        let (title, axis) = describe(metric, unit: unit(of: metric, in: data), smoothing: smoothing)
        let series = zip(data.configs, curves).map { config, curve in
            LineSeries(id: config.id, label: legendLabel(config), style: config.style,
                       points: curve.points, traces: curve.diverged,
                       band: config.runs.count - config.divergedRuns.count > 1)
        }
        var subtitle = "Line: mean over each config's runs at every logged step; band: min to max over those runs."
        if curves.contains(where: { !$0.diverged.isEmpty }) {
            subtitle += " Diverged runs are left out of both and drawn alone, a ✕ where they stopped."
        }
        var shownMetric = metric
        if let smoothing {
            let a = String(format: "%g", smoothing), b = String(format: "%g", 1 - smoothing)
            subtitle += " Smoothed (line, band and diverged runs): exponential moving average over the logged steps, "
                + "ema_t = \(a)·ema_{t−1} + \(b)·x_t, divided by 1 − \(a)^t as TensorBoard does."
            shownMetric += " (\(emaLabel(smoothing)))"
        }
        if let size = data.stepsPerPoint[metric], size > 1 {
            subtitle += " Up to \(size) logged steps per pixel column: each column shows its lowest and highest value."
        }
        var chart = LineChart(id: "chart-" + SVG.identifier(metric), title: "\(title): \(shownMetric) by step",
                              subtitle: subtitle, xLabel: "step (optimizer updates)", yLabel: axis, series: series)
        // Dots help a few short curves; on hundreds of series they are only bytes.
        chart.dotsUpTo = series.count <= 12 ? 25 : 0
        return chart
    }

    /// An adaptive search's rungs: each trial's search metric against steps, one line a trial,
    /// those trained to the end in colour, the rest (stopped at a rung) in grey.
    public static func searchRungs(_ data: ReportData) -> LineChart? {
        guard let metric = data.searchTrials.first?.metric else { return nil }
        var colour = 0
        let series = data.searchTrials.map { trial -> LineSeries in
            guard trial.reachedTheEnd else {
                return LineSeries(id: "trial-\(trial.trial)", label: "stopped at a rung",
                                  style: SeriesStyle(color: "#BBBBBB", dash: nil), points: trial.points)
            }
            defer { colour += 1 }
            return LineSeries(id: "trial-\(trial.trial)", label: "trial \(trial.trial) (run \(trial.runID)), trained to the end",
                              style: SeriesStyle.at(colour), points: trial.points)
        }
        let ended = data.searchTrials.filter(\.reachedTheEnd).count
        var chart = LineChart(id: "chart-search-rungs", title: "Adaptive search: \(metric) by step, one line a trial",
                              subtitle: "\(data.searchTrials.count) trials; \(ended) promoted to the end in colour, the others stopped at a rung in grey. "
                                  + "A promoted trial's line continues its own run (a resume), never a retraining.",
                              xLabel: "step (optimizer updates)", yLabel: metric, series: series)
        chart.dotsUpTo = 0
        return chart
    }

    /// The final value of the comparison's metric per config: mean ± 95% CI over completed runs.
    public static func finalComparison(_ data: ReportData) -> BarChart {
        let metric = data.comparison.metric
        let items = data.configs.map { config -> BarItem in
            let group = config.group
            var note: String
            if let mean = group.mean {
                note = SVG.metricValue(mean)
                if let half = group.confidenceHalfWidth { note += " ± " + SVG.metricValue(half) }
                note += " (n=\(group.values.count))"
            } else {
                note = "no completed run"
            }
            if group.divergedCount > 0 { note += ", \(group.divergedCount) diverged" }
            return BarItem(id: config.id, label: "#\(config.number) \(config.label)", style: config.style,
                           value: group.mean, errorHalfWidth: group.confidenceHalfWidth, samples: group.values,
                           note: note)
        }
        let better = data.comparison.direction == .min ? "lower is better" : "higher is better"
        let unit = unit(of: metric, in: data).map { " (\($0))" } ?? ""
        var chart = BarChart(
            id: "chart-final-" + SVG.identifier(metric), title: "Final \(metric) by config",
            subtitle: "Bar: mean of the last logged \(metric) over completed runs; error bar: 95% confidence "
                + "interval of the mean (Student t, n−1 degrees of freedom; none for n=1); dots: each run. "
                + "Diverged runs are counted on the right, not averaged.",
            valueLabel: "final \(metric)\(unit), \(better)", items: items)
        chart.valueRange = valueRange(of: metric, values: data.configs.flatMap(\.group.values))
        if chart.cutsAnErrorBar {
            chart.subtitle! += " An arrowhead ends an error bar cut where the axis, or the values \(metric) can take, end."
        }
        return chart
    }

    /// The pivot (`ReportData.pivotKey`) as a heatmap of the configs' mean final metric; nil
    /// without a pivot key.
    public static func heatmap(_ data: ReportData) -> Heatmap? {
        guard data.pivotKey != nil, let pivot = data.comparison.pivot else { return nil }
        let metric = data.comparison.metric
        let rowLabels = pivot.rows.isEmpty || pivot.rowKeys.isEmpty
            ? pivot.rows.map { _ in "all runs" } : ReportData.labels(keys: pivot.rowKeys, values: pivot.rows)
        let columnLabels = pivot.columns.map { $0.map(ParamValue.compact) ?? "–" }
        let details = pivot.cells.map { row in
            row.map { group -> String in
                guard let group, let mean = group.mean else { return "no completed run" }
                return SVG.metricValue(mean) + (group.confidenceHalfWidth.map { " ± " + SVG.metricValue($0) } ?? "")
                    + " (n=\(group.values.count))" + (group.bestRunID.map { ", best run \($0)" } ?? "")
            }
        }
        let better = data.comparison.direction == .min ? "lower" : "higher"
        return Heatmap(
            id: "chart-heatmap-" + SVG.identifier(metric), title: "Final \(metric): \(pivot.rowKeys.joined(separator: ", ")) × \(pivot.columnKey)",
            subtitle: "Each cell: the mean final \(metric) over the completed runs with those values (\(better) is better; "
                + "yellow the best, dark purple the worst); – no completed run.",
            rowTitle: pivot.rowKeys.isEmpty ? "" : ReportData.shortNames(pivot.rowKeys).joined(separator: ", "),
            columnTitle: pivot.columnKey, rowLabels: rowLabels, columnLabels: columnLabels,
            values: pivot.cells.map { $0.map { $0?.mean } }, details: details, lowerIsBetter: data.comparison.direction == .min)
    }

    /// The values `metric` can take, judged from its name and its `values`: `0...1` for an
    /// accuracy or NDCG whose values lie there, `0...∞` when no value is negative (a loss),
    /// else unbounded.
    static func valueRange(of metric: String, values: [Double]) -> ClosedRange<Double> {
        let finite = values.filter(\.isFinite), name = metric.lowercased()
        if name.contains("accuracy") || name.contains("ndcg"), finite.allSatisfy({ (0...1).contains($0) }) {
            return 0...1
        }
        return finite.allSatisfy { $0 >= 0 } ? 0...Double.infinity : -Double.infinity...Double.infinity
    }

    /// RMS by depth at initialization ("act_rms" or "grad_rms"); nil when not logged.
    public static func probe(_ data: ReportData, kind: String) -> LineChart? {
        guard let curves = data.probes[kind] else { return nil }
        let series = zip(data.configs, curves).map { config, curve in
            LineSeries(id: config.id, label: legendLabel(config), style: config.style, points: curve.points)
        }
        let (title, axis) = kind == "act_rms"
            ? ("Activation RMS by depth at initialization", "RMS of layer i's output")
            : ("Gradient RMS by depth at initialization", "RMS of ∂loss/∂(layer i output)")
        var chart = LineChart(
            id: "chart-probe-" + SVG.identifier(kind), title: title,
            subtitle: "probe/\(kind)/layers.i at step 0, on one training batch. Line: mean over each config's "
                + "runs; band: min to max.",
            xLabel: "layer index i (Linear layers from the input, 0-based)", yLabel: axis, series: series)
        chart.xTargetTicks = 10
        chart.dotsUpTo = 64
        return chart
    }
}
