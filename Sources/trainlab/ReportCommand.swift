import Foundation
import TrainLabReport
import TrainLabStore
import TrainLabExperiment
import TrainLabIO
import TrainLabSpec

/// `trainlab report EXPERIMENT [-o FILE] [--db PATH|GLOB] [--by KEY...] [--metric NAME] [--smooth A]
/// [--format html|svg] [--chart C] [--problem P] [--watch [SECONDS]]`: an experiment's charts and
/// config table as one self-contained HTML file, or one chart as SVG. `--watch` rewrites the
/// page (atomically) every SECONDS while runs of the experiment are running, once more when none
/// is, and exits; the page reloads itself meanwhile. A `--db` glob (quoted) reads the shards a
/// sweep writes, merged into a temporary database for each rendering. `--smooth A` draws the train_loss curves as
/// exponential moving averages of weight A (see `ReportData.exponentialMovingAverage`). A
/// benchmark's charts: `lr_sensitivity` and `tuning` of one problem (`--problem`, default the
/// first), `profile` and `time_to_target` across problems.
enum ReportCommand {
    static let charts = ["curves", "final", "heatmap", "act_rms", "grad_rms", "lr_sensitivity", "tuning", "profile", "time_to_target"]
    static let benchmarkCharts: Set = ["lr_sensitivity", "tuning", "profile", "time_to_target"]

    static func run(_ arguments: inout Arguments) throws {
        let databasePath = try arguments.option("--db") ?? defaultDatabasePath
        let outputPath = try arguments.option("-o") ?? arguments.option("--output")
        var keys: [String] = []
        while let value = try arguments.option("--by") {
            keys += value.split(separator: ",").map { String($0) }
        }
        let pivotKey = try arguments.option("--pivot")
        let metric = try arguments.option("--metric")
        var smoothing: Double?
        if let text = try arguments.option("--smooth") {
            guard let value = Double(text), (0..<1).contains(value) else {
                throw UsageError("--smooth expects a number in [0, 1), the EMA weight of the past (e.g. 0.9), got '\(text)'")
            }
            smoothing = value
        }
        let format = try arguments.option("--format") ?? "html"
        guard format == "html" || format == "svg" else {
            throw UsageError("--format expects html or svg, got '\(format)'")
        }
        let chart = try arguments.option("--chart")
        if let chart {
            guard format == "svg" else { throw UsageError("--chart needs --format svg") }
            guard charts.contains(chart) else {
                throw UsageError("--chart expects \(charts.joined(separator: ", ")), got '\(chart)'"
                                 + suggestion(for: chart, among: charts))
            }
        }
        if chart == "heatmap" && pivotKey == nil { throw UsageError("--chart heatmap needs --pivot KEY") }
        var watchSeconds: Double?
        if let watch = try arguments.optionalNumber("--watch") {
            let text = watch ?? String(Int(defaultWatchSeconds))
            guard let seconds = Double(text), seconds >= 0.2, seconds <= 3600 else {
                throw UsageError("--watch expects seconds between 0.2 and 3600 (default \(Int(defaultWatchSeconds))), got '\(text)'")
            }
            guard format == "html" else { throw UsageError("--watch writes the html report, not --format svg") }
            watchSeconds = seconds
        }
        let problem = try arguments.option("--problem")
        if problem != nil && chart != "lr_sensitivity" && chart != "tuning" {
            throw UsageError("--problem goes with --chart lr_sensitivity or tuning")
        }
        guard let experiment = arguments.next() else { throw UsageError("report needs an experiment name") }
        try arguments.finish()

        let path = outputPath ?? defaultFileName(experiment: experiment, format: format)
        if path == "-" && watchSeconds != nil { throw UsageError("--watch rewrites a file: give -o FILE, not -") }
        let databases = isGlob(databasePath) ? StatusCommand.expandGlob(databasePath) : [databasePath]
        if databases.isEmpty { throw UsageError("--db \(databasePath): no database matches") }
        func render(live: Bool) throws -> (text: String, what: String, running: Int) {
            let data = try load(databases) { store in
                try ReportData.load(from: store, experiment: experiment, groupKeys: keys.isEmpty ? nil : keys,
                                    metric: metric, smoothing: smoothing, pivotKey: pivotKey)
            }
            let running = data.configs.flatMap(\.runs).filter(\.run.isLive).count
            let text: String
            var what: String
            if format == "html" {
                text = HTMLReport.render(data, generator: "trainlab \(programVersion) report", live: live && running > 0,
                                         reloadSeconds: watchSeconds ?? defaultWatchSeconds)
                what = "report"
            } else {
                text = try svg(data, chart: chart ?? "curves", metric: metric ?? "train_loss", problem: problem)
                what = "chart"
            }
            let runCount = data.configs.reduce(0) { $0 + $1.runs.count }
            what += " of \(experiment): \(runCount) run\(runCount == 1 ? "" : "s") in \(data.configs.count) "
                + "config\(data.configs.count == 1 ? "" : "s")"
            return (text, what, running)
        }

        if path == "-" {
            FileHandle.standardOutput.write(Data(try render(live: false).text.utf8))
            return
        }
        for database in databases { try checkOutput(path, database: database) }
        guard let watchSeconds else {
            let page = try render(live: false)
            try AtomicTextFile.write(path) { write in try write(page.text) }
            print("wrote \(page.what) to \(path)")
            return
        }
        // Watching: the file is replaced whole (temporary file + rename), so a browser reloading
        // it never reads half a page; the last rendering, with no run running, is not live.
        while true {
            let page = try render(live: true)
            try AtomicTextFile.write(path) { write in try write(page.text) }
            if page.running == 0 {
                print("wrote \(page.what) to \(path); no run is running, done watching")
                return
            }
            print("wrote \(page.what) to \(path) (\(page.running) running; again in \(SVG.dataValue(watchSeconds)) s)")
            Thread.sleep(forTimeInterval: watchSeconds)
        }
    }

    static let defaultWatchSeconds = 5.0

    static func isGlob(_ path: String) -> Bool { path.contains { "*?[".contains($0) } }

    /// `body` on the database, or for several (a shard glob) on a temporary one they are merged
    /// into, removed afterwards. Each call opens the files afresh: a sweep writing them (WAL) is
    /// read as of its last commit.
    static func load<T>(_ databases: [String], _ body: (ResultsStore) throws -> T) throws -> T {
        if databases.count == 1 { return try body(try ResultsStore.openForReading(path: databases[0])) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trainlab-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let merged = try ResultsStore(path: folder.appendingPathComponent("merged.sqlite").path)
        _ = try merged.merge(from: try databases.map { try ResultsStore.openForReading(path: $0) })
        return try body(merged)
    }

    static func svg(_ data: ReportData, chart: String, metric: String, problem: String?) throws -> String {
        if benchmarkCharts.contains(chart) { return try benchmarkSVG(data, chart: chart, problem: problem) }
        switch chart {
        case "final":
            return ReportCharts.finalComparison(data).svg(standalone: true)
        case "heatmap":
            guard let heatmap = ReportCharts.heatmap(data) else { throw UsageError("--chart heatmap needs --pivot KEY") }
            return heatmap.svg(standalone: true)
        case "act_rms", "grad_rms":
            guard let probe = ReportCharts.probe(data, kind: chart) else {
                throw ResultsQueryError.unknownMetric(name: "probe/\(chart)/layers.0", experiment: data.experiment,
                                                      known: data.metricNames)
            }
            return probe.svg(standalone: true)
        default:
            guard let curves = ReportCharts.curves(data, metric: metric) else {
                throw ResultsQueryError.unknownMetric(name: metric, experiment: data.experiment, known: data.metricNames)
            }
            return curves.svg(standalone: true)
        }
    }

    /// One of a benchmark's charts; an experiment without final benchmark runs, an unknown
    /// problem, or (`profile`, `time_to_target`) a benchmark without a target is a usage error.
    static func benchmarkSVG(_ data: ReportData, chart: String, problem: String?) throws -> String {
        guard let benchmark = data.benchmark else {
            throw UsageError("--chart \(chart): \(data.experiment) has no final benchmark runs (a spec with \"benchmark\", run to the end)")
        }
        let problems = benchmark.problems
        let name = problem ?? problems[0]
        guard problems.contains(name) else {
            throw UsageError("--problem expects one of \(problems.joined(separator: ", ")), got '\(name)'" + suggestion(for: name, among: problems))
        }
        let svg: String?
        switch chart {
        case "lr_sensitivity": svg = ReportCharts.lrSensitivity(benchmark, problem: name)?.svg(standalone: true)
        case "tuning": svg = ReportCharts.tuningCurve(benchmark, problem: name)?.svg(standalone: true)
        case "profile": svg = ReportCharts.performanceProfile(benchmark)?.svg(standalone: true)
        default: svg = ReportCharts.timeToTarget(benchmark)?.svg(standalone: true)
        }
        guard let svg else {
            throw UsageError(chart == "lr_sensitivity" ? "--chart lr_sensitivity: no tuning trial of \(name) has an optimizer.lr"
                             : "--chart \(chart) needs a benchmark with a \"target\"")
        }
        return svg
    }

    /// `EXPERIMENT.html` (or `.svg`) in the current folder: letters and digits of any script,
    /// `-`, `_` and `.` kept, anything else replaced by `_`, cut to 200 bytes (the file system's
    /// limit is 255). Where a character was replaced or the name cut, 8 hex digits of the name's
    /// SHA-256 follow, so two names (`日本語`, `中文字`; `a b`, `a/b`) never share a file.
    static func defaultFileName(experiment: String, format: String) -> String {
        var safe = String(experiment.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
        while safe.utf8.count > 200 { safe.removeLast() }
        if safe != experiment { safe += "-" + Digest.sha256Hex(experiment).prefix(8) }
        return (safe.isEmpty || safe.hasPrefix(".") ? "report" + safe : safe) + "." + format
    }
}
