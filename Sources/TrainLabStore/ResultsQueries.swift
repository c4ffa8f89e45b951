import Foundation

// Reading the results database: run overviews, parameter diffs and metric history (comparisons
// in Comparison.swift, SQL in ReadOnlyQuery.swift). The `trainlab` reading commands are thin
// formatting over these.

/// A run with its params and metric summaries.
public struct RunOverview: Sendable, Equatable {
    public var run: RunRecord
    public var params: [String: String]
    public var summaries: [String: MetricSummary]
}
extension ResultsStore {
    /// Opens an existing results database read-only; a missing or unreadable file is a
    /// `ResultsQueryError`.
    public static func openForReading(path: String) throws -> ResultsStore {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ResultsQueryError.missingDatabase(path: path)
        }
        do {
            return try ResultsStore(path: path, readOnly: true)
        } catch let error as SQLiteError {
            throw ResultsQueryError.unreadableDatabase(path: path, reason: error.message)
        }
    }

    /// Experiment names that have runs, sorted.
    public func experimentNames() throws -> [String] {
        try locked {
            try database.rows("SELECT DISTINCT experiment FROM runs ORDER BY experiment") { $0.string(at: 0) }
        }
    }

    /// The run with this id.
    public func run(id: Int64) throws -> RunRecord {
        guard let run = try runs().first(where: { $0.id == id }) else {
            throw ResultsQueryError.unknownRun(id: id, path: path)
        }
        return run
    }

    /// Runs of `experiment` (all when nil) with their params and summaries, oldest first;
    /// attempts superseded by a later one at the same config only with `includeSuperseded`.
    /// An experiment without runs is an error.
    public func runOverviews(experiment: String? = nil, includeSuperseded: Bool = false) throws -> [RunOverview] {
        let records = try runs(experiment: experiment)
        if let experiment, records.isEmpty {
            throw ResultsQueryError.unknownExperiment(name: experiment, known: try experimentNames())
        }
        return try records.filter { includeSuperseded || $0.supersededBy == nil }.map {
            RunOverview(run: $0, params: try params(runID: $0.id), summaries: try summaries(runID: $0.id))
        }
    }

    /// Keys whose value differs between some of `params` (a key missing from one counts), sorted.
    public static func differingParamKeys(_ params: [[String: String]]) -> [String] {
        let keys = Set(params.flatMap(\.keys))
        return keys.filter { key in Set(params.map { $0[key] }).count > 1 }.sorted()
    }

    /// The params of two runs that differ: key and each run's value (nil when missing).
    public func paramDifferences(_ first: Int64, _ second: Int64)
        throws -> [(key: String, first: String?, second: String?)] {
        _ = try run(id: first)
        _ = try run(id: second)
        let a = try params(runID: first), b = try params(runID: second)
        return Self.differingParamKeys([a, b]).map { ($0, a[$0], b[$0]) }
    }
    /// Column names of `writeMetricHistory`.
    public static let metricHistoryColumns = ["run_id", "step", "name", "value"]

    /// Writes every metric row of `runIDs` (in that order; each run's rows by step, then in
    /// logging order) as `format` text, handing it to `write` in chunks of about 64 KiB.
    /// Returns the number of rows.
    @discardableResult
    public func writeMetricHistory(runIDs: [Int64], format: TableTextFormat,
                                   to write: (String) throws -> Void) throws -> Int {
        try locked {
            let statement = try database.prepare(
                "SELECT run_id, step, name, value FROM metrics WHERE run_id = ? ORDER BY step, rowid")
            let columns = Self.metricHistoryColumns
            var chunk = format.header(columns: columns)
            var count = 0
            for runID in runIDs {
                try statement.bind([.integer(runID)])
                defer { statement.reset() }
                while try statement.step() {
                    chunk += format.row(columns.indices.map { statement.value(at: $0) },
                                        columns: columns, isFirst: count == 0)
                    count += 1
                    if chunk.utf8.count >= 1 << 16 {
                        try write(chunk)
                        chunk = ""
                    }
                }
            }
            chunk += format.footer(isEmpty: count == 0)
            try write(chunk)
            return count
        }
    }

    /// `writeMetricHistory` collected into one string.
    public func metricHistoryText(runIDs: [Int64], format: TableTextFormat) throws -> String {
        var text = ""
        try writeMetricHistory(runIDs: runIDs, format: format) { text += $0 }
        return text
    }
}
extension RunRecord {
    /// The run's duration: the sum of its attempts' seconds once it has ended (`seconds`, what
    /// `run` prints as "completed in"); for a run still training, or one an older program
    /// finished, the wall time from `startedAt` to `finishedAt` or to `now`.
    public func durationSeconds(now: Date = Date()) -> Double? {
        if let seconds { return seconds }
        guard let start = startedAt.flatMap(Timestamp.date(iso8601:)) else { return nil }
        if let finishedAt {
            return Timestamp.date(iso8601: finishedAt).map { $0.timeIntervalSince(start) }
        }
        return status == .running && !isOrphaned ? now.timeIntervalSince(start) : nil
    }
}

extension Timestamp {
    /// Parses what `iso8601(_:)` writes, `2026-11-27T07:30:00.123Z` (fraction optional).
    public static func date(iso8601 text: String) -> Date? {
        let parts = text.split(whereSeparator: { "-T:Z".contains($0) })
        guard text.hasSuffix("Z"), parts.count == 6,
              let year = Int32(parts[0]), let month = Int32(parts[1]), let day = Int32(parts[2]),
              let hour = Int32(parts[3]), let minute = Int32(parts[4]), let seconds = Double(parts[5])
        else { return nil }
        var fields = tm()
        fields.tm_year = year - 1900
        fields.tm_mon = month - 1
        fields.tm_mday = day
        fields.tm_hour = hour
        fields.tm_min = minute
        let whole = timegm(&fields)
        return Date(timeIntervalSince1970: Double(whole) + seconds)
    }
}
