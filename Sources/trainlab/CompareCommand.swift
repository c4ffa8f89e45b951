import Foundation
import TrainLabStore

/// `trainlab compare EXPERIMENT --by KEY... [--metric NAME] [--best min|max] [--db PATH]`: the
/// experiment's runs grouped by param values, each group's final metric as mean ± 95% CI over
/// seeds, best, diverged count and rank. `trainlab compare --diff RUN1 RUN2`: the params that differ.
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
        let metric = try arguments.option("--metric")
        let direction = try arguments.option("--best").map { text in
            guard let direction = MetricDirection(rawValue: text) else {
                throw UsageError("--best expects min or max, got '\(text)'")
            }
            return direction
        }
        guard let experiment = arguments.next() else {
            throw UsageError("compare needs an experiment and --by KEY (or --diff RUN1 RUN2)")
        }
        try arguments.finish()
        guard !keys.isEmpty else { throw UsageError("compare needs --by KEY, a param such as optimizer.lr") }
        let store = try ResultsStore.openForReading(path: databasePath)
        let comparison = try store.compare(experiment: experiment, by: keys, metric: metric, direction: direction)

        let runCount = comparison.groups.reduce(0) { $0 + $1.runIDs.count }
        print("\(experiment): final \(comparison.metric) by \(keys.joined(separator: ", ")), "
              + "\(comparison.direction == .min ? "lower" : "higher") is better; \(runCount) runs; "
              + "mean ± 95% CI (Student t) over completed runs")
        var table = TextTable(header: keys + ["runs", "n", "mean", "95% CI", "best", "diverged", "rank"],
                              rightAligned: Set(keys.count..<(keys.count + 7)))
        for group in comparison.groups {
            let halfWidth: String = group.confidenceHalfWidth.map { "± " + formatMetric($0) } ?? "-"
            let statistics: [String] = [
                String(group.runIDs.count), String(group.values.count), formatMetric(group.mean), halfWidth,
                formatMetric(group.best), String(group.divergedCount), group.rank.map { String($0) } ?? "-",
            ]
            table.rows.append(group.groupValues.map { $0.map(ParamValue.compact) ?? "-" } + statistics)
        }
        print(table.rendered())
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
