import Foundation
import TrainLabExperiment
import TrainLabSpec
import TrainLabStore

// The commands that read the results database (list, show, compare, query, export) open it
// read-only; a missing database or an unknown run or experiment is a `ResultsQueryError` (exit 2).

let defaultDatabasePath = "results/trainlab.sqlite"

/// The defaults of a run's catalogue choice (`ChoiceDefaults`), from its stored config resolved
/// with the choice's kind alone: how `list`, `compare` and `benchmark` tell that one sgd run's
/// `momentum` 0.9 is not sgd's default.
func catalogueDefaults(_ config: String, _ prefix: String) -> [String: String]? {
    guard let root = try? JSONParser.parse(config, file: "").root,
          let defaults = ExperimentSpec.choiceDefaults(in: root, prefix: prefix) else { return nil }
    return defaults.mapValues { ParamValue.text(storedParam($0)) }
}

/// `trainlab list [EXPERIMENT] [--status S] [--tag T] [--sort METRIC [--desc]] [--limit N] [--all] [--db PATH]`:
/// one line per run; `--all` adds the attempts superseded by a later run of the same config.
/// `--sort` orders by the final value of a metric, ascending (`--desc`: descending), runs
/// without it last; `--limit` keeps the first N lines.
enum ListCommand {
    /// Notes longer than this are cut with "…" in the listing (`show` has them whole).
    static let notesWidth = 40

    static func run(_ arguments: inout Arguments) throws {
        let databasePath = try arguments.option("--db") ?? defaultDatabasePath
        let status = try arguments.option("--status").map(parseStatus)
        let tag = try arguments.option("--tag")
        let sortMetric = try arguments.option("--sort")
        let descending = arguments.flag("--desc")
        let limit = try arguments.intOption("--limit", atLeast: 1)
        let all = arguments.flag("--all")
        let experiment = arguments.next()
        try arguments.finish()
        if descending && sortMetric == nil { throw UsageError("--desc needs --sort METRIC") }
        let store = try ResultsStore.openForReading(path: databasePath)

        let overviews = try store.runOverviews(experiment: experiment, includeSuperseded: all)
        // The params that tell the runs of each experiment apart (the sweep), seed aside: it has its
        // own column, as an adaptive search's trial fates do (`searchText`).
        var paramsText: [Int64: String] = [:]
        for runs in Dictionary(grouping: overviews, by: \.run.experiment).values {
            let distinguishing = RunOverview.distinguishingParams(runs, include: { $0 != "seed" && !$0.hasPrefix("search.") }, defaults: catalogueDefaults)
            for (overview, pairs) in zip(runs, distinguishing) { paramsText[overview.run.id] = ResultsStore.paramsText(pairs) }
        }
        var shown = overviews.filter { (status == nil || $0.run.status == status) && (tag == nil || $0.run.tags.contains(tag!)) }
        guard !shown.isEmpty else {
            let what = [status?.rawValue, tag.map { "tagged \($0)" }].compactMap { $0 }
            print("no \(what.isEmpty ? "" : what.joined(separator: ", ") + " ")runs in \(databasePath)")
            return
        }
        if let sortMetric {
            guard shown.contains(where: { $0.summaries[sortMetric] != nil }) else {
                throw ResultsQueryError.unknownMetric(name: sortMetric, experiment: experiment ?? "the listed runs",
                                                      known: Set(shown.flatMap(\.summaries.keys)).sorted())
            }
            // Stable: equal values keep id order; a missing or NaN value, and any diverged run's
            // (its loss at divergence is no result), sorts last either way.
            let value = { (overview: RunOverview) in
                overview.run.status == .diverged ? nil : overview.summaries[sortMetric]?.finalValue.flatMap { $0.isNaN ? nil : $0 }
            }
            shown = shown.filter { value($0) != nil }.enumerated().sorted { a, b in
                let x = value(a.element)!, y = value(b.element)!
                return x != y ? (descending ? x > y : x < y) : a.offset < b.offset
            }.map(\.element) + shown.filter { value($0) == nil }
        }
        if let limit { shown = Array(shown.prefix(limit)) }
        // Metric columns: those any shown run has (and the sort metric); a live run's are its latest values.
        let metrics = (["train_loss", "val_loss", "val_accuracy", "val_ndcg"] + [sortMetric].compactMap { $0 })
            .reduce(into: [String]()) { names, name in if !names.contains(name) { names.append(name) } }
            .filter { name in shown.contains { $0.summaries[name] != nil } }
        let hasTags = shown.contains { !$0.run.tags.isEmpty }, hasNotes = shown.contains { $0.run.notes != nil }
        // The params and notes columns come last: runs of other experiments with long sweeps pad nothing.
        let header = ["id", "experiment", "status", "seed"] + metrics + ["duration"] + (hasTags ? ["tags"] : [])
            + ["params"] + (hasNotes ? ["notes"] : [])
        var table = TextTable(header: header, rightAligned: Set([0, 3]).union(4..<(4 + metrics.count + 1)))
        for overview in shown {
            let run = overview.run
            var cells: [String] = [String(run.id), run.experiment, statusText(run) + stoppedEarlyText(overview.summaries)
                                    + searchText(overview.params), run.seed.map(String.init) ?? "-"]
            cells += metrics.map { formatMetric(overview.summaries[$0]?.finalValue) }
            cells.append(run.durationSeconds().map(formatDuration) ?? "-")
            if hasTags { cells.append(run.tags.isEmpty ? "-" : run.tags.joined(separator: ",")) }
            cells.append(paramsText[run.id] ?? "")
            if hasNotes { cells.append(run.notes.map { oneLine($0, width: notesWidth) } ?? "-") }
            table.rows.append(cells)
        }
        print(table.rendered())
        if shown.contains(where: { $0.run.isOrphaned }) {
            print("(process gone: the run's process on this host has ended; the next trainlab run marks it interrupted)")
        }
    }

    /// The status, with what it hides: a superseded attempt, a running run whose process is gone.
    static func statusText(_ run: RunRecord) -> String {
        if run.isOrphaned { return "running (process gone)" }
        if run.supersededBy != nil { return "\(run.status.rawValue) (superseded)" }
        return run.status.rawValue
    }

    /// " (rung R, S steps)" for a trial of an adaptive search (its `search.rung` and
    /// `search.steps` params): how far the search trained it; else "".
    static func searchText(_ params: [String: String]) -> String {
        guard let rung = params["search.rung"] else { return "" }
        return " (rung \(rung), \(params["search.steps"] ?? "?") steps)"
    }

    /// " (stopped early at step N)" for a run that `training.early_stopping` ended (its
    /// `stopped_step` metric), else "".
    static func stoppedEarlyText(_ summaries: [String: MetricSummary]) -> String {
        guard let step = summaries["stopped_step"]?.finalValue else { return "" }
        return " (stopped early at step \(Int(step)))"
    }

    /// `text` on one line (line breaks as spaces), cut with "…" past `width` characters.
    static func oneLine(_ text: String, width: Int) -> String {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return line.count > width ? String(line.prefix(width - 1)) + "…" : line
    }

    static func parseStatus(_ text: String) throws -> RunStatus {
        guard let status = RunStatus(rawValue: text) else {
            let names = RunStatus.allCases.map(\.rawValue)
            throw UsageError("--status expects one of \(names.joined(separator: ", ")), got '\(text)'"
                             + suggestion(for: text, among: names))
        }
        return status
    }
}

/// `trainlab show RUN [--db PATH]`: a run's fields, config, metric summaries and loss sparklines.
enum ShowCommand {
    static let sparklineWidth = 60

    static func run(_ arguments: inout Arguments) throws {
        let databasePath = try arguments.option("--db") ?? defaultDatabasePath
        guard let idText = arguments.next() else { throw UsageError("show needs a run id") }
        try arguments.finish()
        let runID = try parseRunID(idText)
        let store = try ResultsStore.openForReading(path: databasePath)
        let run = try store.run(id: runID)

        let summaries = try store.summaries(runID: run.id)
        var fields: [(String, String)] = [("experiment", run.experiment),
                                          ("status", ListCommand.statusText(run) + ListCommand.stoppedEarlyText(summaries)
                                              + ListCommand.searchText(try store.params(runID: run.id)))]
        if !run.tags.isEmpty { fields.append(("tags", run.tags.joined(separator: ", "))) }
        if let notes = run.notes { fields.append(("notes", notes)) }
        if let newer = run.supersededBy { fields.append(("superseded by", "run \(newer) (same config; statistics count that one)")) }
        if let step = run.divergedStep { fields.append(("diverged at", "step \(step)")) }
        if let error = run.error { fields.append(("error", error)) }
        fields.append(("seed", run.seed.map(String.init) ?? "-"))
        fields.append(("started", run.startedAt ?? "-"))
        fields.append(("finished", run.finishedAt ?? "-"))
        fields.append(("duration", run.durationSeconds().map(formatDuration) ?? "-"))
        fields.append(("host, pid", "\(run.host ?? "-"), \(run.pid.map(String.init) ?? "-")"))
        fields.append(("program", run.programVersion.map { "trainlab \($0)" } ?? "-"))
        fields.append(("config hash", run.configHash ?? "-"))
        print("run \(run.id)")
        let labelWidth = fields.map(\.0.count).max() ?? 0
        for (label, value) in fields { print("  " + label.padding(toLength: labelWidth, withPad: " ", startingAt: 0) + "  " + value) }

        print("\nconfig")
        let config = (try? JSONParser.parse(run.config, file: "config")).map {
            JSONWriter.write($0.root, pretty: true, sortedKeys: true)
        } ?? run.config
        print(config.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))

        print("")
        if run.status == .running {
            print(progressLine(run, params: try store.params(runID: run.id), summaries: summaries) + "\n")
        }
        if summaries.isEmpty {
            print("no metrics yet")
        } else {
            var table = TextTable(header: ["metric", "final", "best", "best step"], rightAligned: [1, 2, 3])
            for name in summaries.keys.sorted() {
                let summary = summaries[name]!
                // A best only for objectives (losses, accuracies): the lowest lr or time is no result.
                let hasBest = MetricDirection.hasBest(name)
                table.rows.append([name, formatMetric(summary.finalValue), hasBest ? formatMetric(summary.bestValue) : "-",
                                   hasBest ? summary.bestStep.map(String.init) ?? "-" : "-"])
            }
            print(table.rendered())
        }

        for name in ["train_loss", "val_loss"] {
            let series = try store.metrics(runID: run.id, name: name)
            guard let first = series.first, let last = series.last else { continue }
            print("\n\(name), steps \(first.step)–\(last.step) (\(series.count) value\(series.count == 1 ? "" : "s"))")
            guard let sparkline = Sparkline(series.map(\.value), width: sparklineWidth) else {
                print("  no finite values")
                continue
            }
            var note = "min \(formatMetric(sparkline.low)), max \(formatMetric(sparkline.high))"
            if sparkline.isLogScale {
                note += "; log scale (spans \(format(log10(sparkline.high / sparkline.low), 1)) decades)"
            }
            if sparkline.nonFiniteCount > 0 { note += "; \(sparkline.nonFiniteCount) non-finite values (blank)" }
            print("  \(sparkline.text)\n  \(note)")
        }
    }
}

/// Where a running run stands: its latest step and loss, and its ETA from the pace so far (or
/// that its process is gone).
func progressLine(_ run: RunRecord, params: [String: String], summaries: [String: MetricSummary]) -> String {
    let step = summaries.values.compactMap(\.finalStep).max() ?? 0
    let latest = summaries["train_loss"].map { step > 0 ? ", train_loss \(formatMetric($0.finalValue))" : "" } ?? ""
    guard let total = params["training.steps"].flatMap(Int.init), total > 0 else { return "at step \(step)\(latest)" }
    var line = "at step \(step) of \(total) (\(format(100 * Double(step) / Double(total), 0))%)\(latest)"
    if run.isOrphaned {
        line += "; its process is gone (the next trainlab run marks it interrupted)"
    } else if step > 0, let elapsed = run.durationSeconds() {
        line += ", ETA \(formatDuration(elapsed / Double(step) * Double(total - step)))"
    }
    return line
}

/// A run id argument.
func parseRunID(_ text: String) throws -> Int64 {
    guard let id = Int64(text), id > 0 else { throw UsageError("expected a run id (a positive integer), got '\(text)'") }
    return id
}

/// A metric value with 4 significant digits; "-" when missing, "nan" for NaN.
func formatMetric(_ value: Double?) -> String {
    guard let value else { return "-" }
    return value.isFinite ? String(format: "%.4g", value) : "\(value)"
}

/// `0.26 s`, `2m05s`, `1h02m`.
func formatDuration(_ seconds: Double) -> String {
    if seconds < 60 { return format(seconds, seconds < 10 ? 2 : 1) + " s" }
    let whole = Int(seconds.rounded())
    if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
    return String(format: "%dh%02dm", whole / 3600, whole % 3600 / 60)
}

/// Columns aligned on their widest cell, two spaces apart.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []
    /// Indices of columns aligned to the right (numbers).
    var rightAligned: Set<Int> = []

    init(header: [String], rows: [[String]] = [], rightAligned: Set<Int> = []) {
        self.header = header
        self.rows = rows
        self.rightAligned = rightAligned
    }

    func rendered() -> String {
        let lines = [header] + rows
        let widths = header.indices.map { column in lines.map { $0[column].count }.max() ?? 0 }
        return lines.map { cells in
            var line = ""
            for (column, cell) in cells.enumerated() {
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                if column > 0 { line += "  " }
                line += rightAligned.contains(column) ? padding + cell : cell + padding
            }
            return String(line.reversed().drop(while: { $0 == " " }).reversed())
        }.joined(separator: "\n")
    }
}
