import Foundation
import TrainLabStore

/// `trainlab compare EXPERIMENT... --by KEY... [--pivot KEY] [--metric NAME] [--best min|max] [--db PATH]`:
/// the experiments' runs grouped by param values, each group's final metric as mean ± 95% CI over
/// seeds, best and its run, diverged count and rank; with `--pivot` the means as a grid, the
/// pivot key's values as columns. `trainlab compare --diff RUN1 RUN2`: the params that differ.
enum CompareCommand {
    static func run(_ arguments: inout Arguments) throws {
        let databasePath = try arguments.option("--db") ?? defaultDatabasePath
        if arguments.flag("--diff") {
            try diff(&arguments, databasePath: databasePath)
            return
        }
        var keys: [String] = []
        while let value = try arguments.option("--by") {
            keys += value.split(separator: ",").map { String($0) }
        }
        let pivotKey = try arguments.option("--pivot")
        let metric = try arguments.option("--metric")
        let direction = try arguments.option("--best").map(parseDirection)
        var experiments: [String] = []
        while let experiment = arguments.next() {
            if !experiments.contains(experiment) { experiments.append(experiment) }  // named twice: its runs once
        }
        try arguments.finish()
        guard !experiments.isEmpty else {
            throw UsageError("compare needs an experiment and --by KEY (or --diff RUN1 RUN2)")
        }
        guard !keys.isEmpty || pivotKey != nil else { throw UsageError("compare needs --by KEY, a param such as optimizer.lr") }
        let store = try ResultsStore.openForReading(path: databasePath)
        let groupKeys = keys.filter { $0 != pivotKey } + (pivotKey.map { [$0] } ?? [])
        let comparison = try store.compare(experiments: experiments, by: groupKeys, metric: metric, direction: direction,
                                           defaults: catalogueDefaults)

        let runCount = comparison.groups.reduce(0) { $0 + $1.runIDs.count }
        print("\(comparison.experiment): final \(comparison.metric) by \(groupKeys.joined(separator: ", ")), "
              + "\(comparison.direction == .min ? "lower" : "higher") is better; \(runCount) runs; "
              + "mean ± 95% CI (Student t) over completed runs")
        if pivotKey != nil, let pivot = comparison.pivot {
            print(grid(pivot).rendered())
            print("(cells: mean ± 95% CI; * the best mean; - no completed run)")
            return
        }
        var table = TextTable(header: groupKeys + ["runs", "n", "mean", "95% CI", "best", "best run", "diverged", "rank"],
                              rightAligned: Set(groupKeys.count..<(groupKeys.count + 8)))
        for group in comparison.groups {
            let halfWidth: String = group.confidenceHalfWidth.map { "± " + formatMetric($0) } ?? "-"
            let statistics: [String] = [
                String(group.runIDs.count), String(group.values.count), formatMetric(group.mean), halfWidth,
                formatMetric(group.best), group.bestRunID.map { String($0) } ?? "-", String(group.divergedCount),
                group.rank.map { String($0) } ?? "-",
            ]
            table.rows.append(group.groupValues.map { $0.map(ParamValue.compact) ?? "-" } + statistics)
        }
        print(table.rendered())
    }

    /// The pivot as text: a row per row tuple, a column per value of the pivot key
    /// (`weight_decay=0.01`), cells `mean ± half-width`, the best mean marked `*`.
    static func grid(_ pivot: PivotTable) -> TextTable {
        let columnName = pivot.columnKey.split(separator: ".").last.map(String.init) ?? pivot.columnKey
        let header = pivot.rowKeys + pivot.columns.map { "\(columnName)=\($0.map(ParamValue.compact) ?? "-")" }
        var table = TextTable(header: header, rightAligned: Set(pivot.rowKeys.count..<header.count))
        for (row, cells) in zip(pivot.rows, pivot.cells) {
            table.rows.append(row.map { $0.map(ParamValue.compact) ?? "-" } + cells.map { group in
                guard let group, let mean = group.mean else { return "-" }
                return formatMetric(mean) + (group.confidenceHalfWidth.map { " ± " + formatMetric($0) } ?? "")
                    + (group.rank == 1 ? " *" : "")
            })
        }
        return table
    }

    static func diff(_ arguments: inout Arguments, databasePath: String) throws {
        guard let firstText = arguments.next(), let secondText = arguments.next() else {
            throw UsageError("compare --diff needs two run ids")
        }
        try arguments.finish()
        let first = try parseRunID(firstText), second = try parseRunID(secondText)
        let store = try ResultsStore.openForReading(path: databasePath)
        let differences = try store.paramDifferences(first, second)
        guard !differences.isEmpty else {
            print("runs \(first) and \(second) have the same params")
            return
        }
        var table = TextTable(header: ["param", "run \(first)", "run \(second)"])
        for difference in differences {
            table.rows.append([difference.key, difference.first ?? "(missing)", difference.second ?? "(missing)"])
        }
        print(table.rendered())
    }
}
