import Foundation

// Comparing the runs of an experiment grouped by params: `trainlab compare` and the report.

/// Which way a metric improves.
public enum MetricDirection: String, Sendable, CaseIterable {
    case min, max

    /// `min` for names containing "loss", "gap" (loss − f*) or "violation" (a constraint's g),
    /// `max` otherwise (accuracy, NDCG); the stored summaries choose their best the same way.
    public static func preferred(for metric: String) -> MetricDirection {
        let name = metric.lowercased()
        return ["loss", "gap", "violation"].contains(where: name.contains) ? .min : .max
    }

    /// Whether a metric is an objective with a best value: a loss, gap or violation (lowest),
    /// an accuracy or NDCG (highest). A learning rate, gradient norm, clock (`time`), counter
    /// (`evals`, `stopped_step`), probe or multiplier has none: its lowest value means nothing.
    public static func hasBest(_ metric: String) -> Bool {
        let name = metric.lowercased()
        return ["loss", "gap", "violation", "accuracy", "ndcg"].contains(where: name.contains)
    }

    public func isBetter(_ a: Double, than b: Double) -> Bool {
        self == .min ? a < b : a > b
    }
}

/// What `compare` needs of one run.
public struct RunOutcome: Sendable, Equatable {
    public var runID: Int64
    public var status: RunStatus
    /// Values of the grouping params, in key order; nil where the run lacks the key.
    public var groupValues: [String?]
    /// Final value of the compared metric; nil when missing or NaN.
    public var finalValue: Double?

    public init(runID: Int64, status: RunStatus, groupValues: [String?], finalValue: Double?) {
        self.runID = runID
        self.status = status
        self.groupValues = groupValues
        self.finalValue = finalValue
    }
}

/// The runs sharing one value (tuple) of the grouping params.
///
/// Mean, confidence interval and best are over `values`: the final metric values of the group's
/// `completed` runs that are finite. Diverged, failed, interrupted and running runs are counted
/// in `runIDs` but not in the statistics.
public struct ComparisonGroup: Sendable, Equatable {
    public var groupValues: [String?]
    public var runIDs: [Int64]
    public var values: [Double]
    public var divergedCount: Int
    public var mean: Double?
    /// `t(0.975, n-1) · s / √n`; nil for fewer than two values.
    public var confidenceHalfWidth: Double?
    public var best: Double?
    /// The run whose final value is `best` (the older on a tie).
    public var bestRunID: Int64?
    /// 1 = best mean; groups with equal means share a rank; nil without a mean.
    public var rank: Int?
}

/// The runs of an experiment grouped by params, compared on one metric's final value.
public struct Comparison: Sendable, Equatable {
    /// The experiment, or several joined by ", ".
    public var experiment: String
    public var keys: [String]
    public var metric: String
    public var direction: MetricDirection
    /// Groups in order of their param values (numbers numerically).
    public var groups: [ComparisonGroup]

    /// Groups `outcomes` by `groupValues`, with statistics and ranks.
    public static func groups(of outcomes: [RunOutcome], direction: MetricDirection) -> [ComparisonGroup] {
        var byValues: [[String?]: [RunOutcome]] = [:]
        for outcome in outcomes { byValues[outcome.groupValues, default: []].append(outcome) }
        var groups = byValues.map { values, members -> ComparisonGroup in
            let counted = members.filter { $0.status == .completed && ($0.finalValue?.isFinite ?? false) }
            let finals = counted.map { $0.finalValue! }
            let best = counted.min { direction.isBetter($0.finalValue!, than: $1.finalValue!) }
            return ComparisonGroup(
                groupValues: values, runIDs: members.map(\.runID), values: finals,
                divergedCount: members.filter { $0.status == .diverged }.count,
                mean: Statistics.mean(finals), confidenceHalfWidth: Statistics.confidenceHalfWidth95(finals),
                best: best?.finalValue, bestRunID: best?.runID, rank: nil)
        }
        groups.sort { paramTupleOrder($0.groupValues, $1.groupValues) }
        for index in groups.indices {
            guard let mean = groups[index].mean else { continue }
            groups[index].rank = 1 + groups.filter { other in
                other.mean.map { direction.isBetter($0, than: mean) } ?? false
            }.count
        }
        return groups
    }
}

/// Ascending order of param value tuples: missing first, numbers numerically, then text.
func paramTupleOrder(_ a: [String?], _ b: [String?]) -> Bool {
    for (x, y) in zip(a, b) where x != y {
        guard let x else { return true }
        guard let y else { return false }
        switch (Double(x), Double(y)) {
        case let (u?, v?) where u != v: return u < v
        case (_?, nil): return true
        case (nil, _?): return false
        default: return x < y
        }
    }
    return a.count < b.count
}

extension ResultsStore {
    /// Groups the runs of `experiment` by the values of param `keys` and compares the final value
    /// of `metric` (default: `val_loss` when any run has it, else `train_loss`), better in
    /// `direction` (default: `MetricDirection.preferred(for:)`).
    public func compare(experiment: String, by keys: [String], metric: String? = nil,
                        direction: MetricDirection? = nil, defaults: ChoiceDefaults? = nil) throws -> Comparison {
        try compare(experiments: [experiment], by: keys, metric: metric, direction: direction, defaults: defaults)
    }

    /// `compare` over the runs of several experiments together; the key `experiment` groups by
    /// the run's experiment. `defaults` refine the labels of a whole choice (`groupValues`).
    public func compare(experiments: [String], by keys: [String], metric: String? = nil,
                        direction: MetricDirection? = nil, defaults: ChoiceDefaults? = nil) throws -> Comparison {
        let experiment = experiments.joined(separator: ", ")
        let overviews = try experiments.flatMap { try runOverviews(experiment: $0) }
        let tuples = try Self.groupValues(by: keys, of: overviews, experiment: experiment, defaults: defaults)
        let metricNames = Set(overviews.flatMap(\.summaries.keys))
        let metric = metric ?? Self.defaultMetric(among: metricNames)
        guard metricNames.contains(metric) else {
            throw ResultsQueryError.unknownMetric(name: metric, experiment: experiment, known: metricNames.sorted())
        }
        let direction = direction ?? .preferred(for: metric)
        let outcomes = zip(overviews, tuples).map { overview, tuple in
            RunOutcome(runID: overview.run.id, status: overview.run.status, groupValues: tuple,
                       finalValue: overview.summaries[metric]?.finalValue)
        }
        return Comparison(experiment: experiment, keys: keys, metric: metric, direction: direction,
                          groups: Comparison.groups(of: outcomes, direction: direction))
    }

    /// Each run's values of the grouping `keys`. A key is a param, or the prefix of a catalogue
    /// choice's params (`optimizer`), whose value is then a label of the choice's params that tell
    /// the runs apart (`distinguishingParams`: `optimizer.kind=sgd optimizer.momentum=0.9`), or
    /// `experiment` (the run's experiment).
    public static func groupValues(by keys: [String], of overviews: [RunOverview],
                                   experiment: String, defaults: ChoiceDefaults? = nil) throws -> [[String?]] {
        let paramKeys = Set(overviews.flatMap(\.params.keys))
        let columns: [[String?]] = try keys.map { key in
            if paramKeys.contains(key) { return overviews.map { $0.params[key] } }
            if key == "experiment" { return overviews.map(\.run.experiment) }
            guard paramKeys.contains(where: { $0.hasPrefix(key + ".") }) else {
                throw ResultsQueryError.unknownParamKey(key: key, experiment: experiment, known: paramKeys.sorted())
            }
            return RunOverview.distinguishingParams(overviews, include: { $0.hasPrefix(key + ".") }, defaults: defaults)
                .map(ResultsStore.paramsText)
        }
        return overviews.indices.map { run in columns.map { $0[run] } }
    }

    /// The metric a comparison reads when none is named: `val_ndcg` for ranking runs, else
    /// `val_loss` when there is validation, else `train_loss`.
    public static func defaultMetric(among names: Set<String>) -> String {
        ["val_ndcg", "val_loss"].first(where: names.contains) ?? "train_loss"
    }

    /// `defaultMetric` in words, for the commands' help.
    public static let defaultMetricText = "val_ndcg for ranking runs, else val_loss when logged, else train_loss"
}

/// A comparison's groups as a grid: rows are the values of every key but the last, columns
/// the values of the last key (`compare --pivot`, the report's heatmap).
public struct PivotTable: Sendable, Equatable {
    public var rowKeys: [String]
    public var columnKey: String
    /// Row tuples and column values, each ascending (`paramTupleOrder`).
    public var rows: [[String?]]
    public var columns: [String?]
    /// `cells[row][column]`: the group with those values; nil where no run has them.
    public var cells: [[ComparisonGroup?]]
}

extension Comparison {
    /// The groups laid out with the last key as columns; nil without a key.
    public var pivot: PivotTable? {
        guard let columnKey = keys.last else { return nil }
        let rows = Self.distinct(groups.map { Array($0.groupValues.dropLast()) }).sorted(by: paramTupleOrder)
        let columns = Self.distinct(groups.map { $0.groupValues.last! }).sorted { paramTupleOrder([$0], [$1]) }
        let byValues = Dictionary(uniqueKeysWithValues: groups.map { ($0.groupValues, $0) })
        let cells = rows.map { row in columns.map { column in byValues[row + [column]] } }
        return PivotTable(rowKeys: Array(keys.dropLast()), columnKey: columnKey, rows: rows, columns: columns, cells: cells)
    }

    private static func distinct<T: Hashable>(_ items: [T]) -> [T] {
        var seen = Set<T>()
        return items.filter { seen.insert($0).inserted }
    }
}
