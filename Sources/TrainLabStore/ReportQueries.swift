import Foundation

// Reads the `report` command needs beyond ResultsQueries: which metrics an experiment logged,
// and the values several metrics took at one step (the init probe's per-layer RMS at step 0).

extension ResultsStore {
    /// Distinct metric names logged by any run of `experiment`, sorted.
    public func metricNames(experiment: String) throws -> [String] {
        try flush()
        return try locked {
            try database.rows("""
                SELECT DISTINCT name FROM metrics
                WHERE run_id IN (SELECT id FROM runs WHERE experiment = ?) ORDER BY name
                """, [.text(experiment)]) { $0.string(at: 0) }
        }
    }

    /// The metrics of run `runID` whose names start with `namePrefix`, at `step`, keyed by name;
    /// NULL values read as NaN. A name logged twice at the step keeps its last value.
    public func metricValues(runID: Int64, step: Int, namePrefix: String) throws -> [String: Double] {
        try flush()
        return try locked {
            let rows = try database.rows("""
                SELECT name, value FROM metrics
                WHERE run_id = ?1 AND step = ?2 AND substr(name, 1, length(?3)) = ?3 ORDER BY rowid
                """, [.integer(runID), SQLiteValue(step), .text(namePrefix)]) {
                ($0.string(at: 0), $0.optionalDouble(at: 1) ?? .nan)
            }
            return Dictionary(rows, uniquingKeysWith: { _, last in last })
        }
    }
}

extension Comparison {
    /// Groups `outcomes` (`Comparison.groups(of:direction:)`) into a comparison; for callers that
    /// read the runs themselves, e.g. including runs that have no summaries yet.
    public init(experiment: String, keys: [String], metric: String, direction: MetricDirection,
                outcomes: [RunOutcome]) {
        self.init(experiment: experiment, keys: keys, metric: metric, direction: direction,
                  groups: Self.groups(of: outcomes, direction: direction))
    }
}
