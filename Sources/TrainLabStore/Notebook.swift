import Foundation

// The database as a lab notebook: tags and notes on runs, deleting runs, renaming experiments,
// finding the best run. Every change is one write transaction.

extension ResultsStore {
    /// Opens an existing results database for writing; a missing file is a `ResultsQueryError`
    /// (these commands never create one).
    public static func openForWriting(path: String) throws -> ResultsStore {
        guard FileManager.default.fileExists(atPath: path) else { throw ResultsQueryError.missingDatabase(path: path) }
        do {
            return try ResultsStore(path: path)
        } catch let error as SQLiteError {
            throw ResultsQueryError.unreadableDatabase(path: path, reason: error.message)
        }
    }

    /// Adds `tags` to each of `runIDs` (tags a run has already are kept once).
    public func addTags(_ tags: [String], to runIDs: [Int64]) throws {
        try locked {
            try database.transaction {
                for runID in runIDs { try insertTags(tags, runID: runID) }
            }
        }
    }

    /// Removes `tags` from each of `runIDs`; returns how many tag rows went.
    @discardableResult
    public func removeTags(_ tags: [String], from runIDs: [Int64]) throws -> Int {
        try locked {
            try database.transaction {
                var removed = 0
                for runID in runIDs {
                    for tag in tags {
                        try database.run("DELETE FROM tags WHERE run_id = ? AND tag = ?", [.integer(runID), .text(tag)])
                        removed += database.changes
                    }
                }
                return removed
            }
        }
    }

    /// Sets the run's notes; nil clears them.
    public func setNotes(_ notes: String?, runID: Int64) throws {
        try locked {
            try database.run("UPDATE runs SET notes = ? WHERE id = ?", [SQLiteValue(notes), .integer(runID)])
        }
    }

    /// Tables with a `run_id` column, sorted: every row a run owns (metrics, params, summaries,
    /// tags, and any table added later) is found through them.
    public func runKeyedTables() throws -> [String] {
        try locked { try Self.runKeyedTables(in: database) }
    }

    static func runKeyedTables(in database: Database) throws -> [String] {
        try database.rows("""
            SELECT m.name FROM sqlite_master m
            WHERE m.type = 'table' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'run_id')
            ORDER BY m.name
            """) { $0.string(at: 0) }
    }

    /// What `deleteRuns` would remove: how many rows of each run-keyed table belong to
    /// `runIDs`, in `runKeyedTables` order. Throws for an unknown or a live run.
    public func deletionPlan(_ runIDs: [Int64]) throws -> [(table: String, rows: Int)] {
        _ = try deletableRuns(runIDs)
        let tables = try runKeyedTables()
        return try locked {
            try tables.map { table in
                let count = try database.prepare("SELECT count(*) FROM \"\(table)\" WHERE run_id = ?")
                let rows = try runIDs.reduce(0) { sum, id in
                    sum + (try count.rows([.integer(id)]) { $0.int(at: 0) }.first ?? 0)
                }
                return (table, rows)
            }
        }
    }

    /// Deletes the runs and every row they own, in one transaction. Refuses (changing nothing)
    /// an unknown id or a live run. A run that `superseded_by` pointed to a deleted run points to
    /// the next later finished attempt instead, or to none (it counts again); an experiment
    /// left without runs loses its `experiments` row. Nothing else changes.
    public func deleteRuns(_ runIDs: [Int64]) throws {
        let experiments = Set(try deletableRuns(runIDs).map(\.experiment))
        let tables = try runKeyedTables()
        try locked {
            try database.transaction {
                for id in runIDs {
                    let key: [SQLiteValue] = [.integer(id)]
                    for table in tables { try database.run("DELETE FROM \"\(table)\" WHERE run_id = ?", key) }
                    try database.run("""
                        UPDATE runs SET superseded_by = (
                            SELECT max(newer.id) FROM runs newer
                            WHERE newer.config_hash = runs.config_hash AND newer.id > runs.id AND newer.id != ?1
                              AND newer.status IN ('completed', 'diverged'))
                        WHERE superseded_by = ?1
                        """, key)
                    try database.run("DELETE FROM runs WHERE id = ?", key)
                }
                for experiment in experiments {
                    try database.run("""
                        DELETE FROM experiments WHERE name = ?1 AND NOT EXISTS (SELECT 1 FROM runs WHERE experiment = ?1)
                        """, [.text(experiment)])
                }
            }
        }
    }

    /// The runs of `runIDs`; throws for an unknown id or a live run.
    private func deletableRuns(_ runIDs: [Int64]) throws -> [RunRecord] {
        let byID = Dictionary(uniqueKeysWithValues: try runs().map { ($0.id, $0) })
        return try runIDs.map { id in
            guard let run = byID[id] else { throw ResultsQueryError.unknownRun(id: id, path: path) }
            guard !run.isLive else { throw ResultsQueryError.liveRun(id: id, pid: run.pid, host: run.host) }
            return run
        }
    }

    /// Renames an experiment in `runs` and `experiments`; returns its run count. The configs keep
    /// the name they ran under (and so their hash): the spec that made them still finds them done.
    @discardableResult
    public func renameExperiment(_ name: String, to newName: String) throws -> Int {
        let known = try experimentNames()
        guard known.contains(name) else { throw ResultsQueryError.unknownExperiment(name: name, known: known) }
        return try locked {
            try database.transaction {
                let taken = try database.rows("""
                    SELECT (SELECT count(*) FROM runs WHERE experiment = ?1) + (SELECT count(*) FROM experiments WHERE name = ?1)
                    """, [.text(newName)]) { $0.int(at: 0) }.first ?? 0
                guard taken == 0 else { throw ResultsQueryError.experimentExists(name: newName) }
                try database.run("UPDATE experiments SET name = ? WHERE name = ?", [.text(newName), .text(name)])
                try database.run("UPDATE runs SET experiment = ? WHERE experiment = ?", [.text(newName), .text(name)])
                return database.changes
            }
        }
    }

    /// The best run of `experiment`: among its completed runs (latest attempts) with a finite
    /// final `metric` (default `defaultMetric`), the lowest or highest (`direction`, default
    /// `MetricDirection.preferred`); the older run on a tie.
    public func bestRun(experiment: String, metric: String? = nil, direction: MetricDirection? = nil)
        throws -> (run: RunOverview, metric: String, value: Double, candidates: Int) {
        let overviews = try runOverviews(experiment: experiment)
        let metricNames = Set(overviews.flatMap(\.summaries.keys))
        let metric = metric ?? Self.defaultMetric(among: metricNames)
        guard metricNames.contains(metric) else {
            throw ResultsQueryError.unknownMetric(name: metric, experiment: experiment, known: metricNames.sorted())
        }
        let direction = direction ?? .preferred(for: metric)
        let candidates = overviews.compactMap { overview -> (RunOverview, Double)? in
            guard overview.run.status == .completed, let value = overview.summaries[metric]?.finalValue,
                  value.isFinite else { return nil }
            return (overview, value)
        }
        guard let best = candidates.reduce(nil, { (best: (RunOverview, Double)?, next) in
            best.map { direction.isBetter(next.1, than: $0.1) ? next : $0 } ?? next
        }) else { throw ResultsQueryError.noCompletedRun(experiment: experiment, metric: metric) }
        return (best.0, metric, best.1, candidates.count)
    }
}

extension ResultsStore {
    /// One row per run, for pandas or a spreadsheet (`export --wide`): `id`, `experiment`,
    /// `status`, `seed`, `tags` (joined by ","), `superseded_by`, every other param as its own
    /// column (sorted; typed as stored; `seed` is the run's), then each metric's `NAME.final` and `NAME.best` (sorted by
    /// name); NULL where a run lacks one. Runs in `runIDs` order.
    public func wideTable(runIDs: [Int64]) throws -> QueryResult {
        let byID = Dictionary(uniqueKeysWithValues: try runs().map { ($0.id, $0) })
        let runs = try runIDs.map { id in
            guard let run = byID[id] else { throw ResultsQueryError.unknownRun(id: id, path: path) }
            return run
        }
        let params = try locked {
            let statement = try database.prepare("SELECT key, value FROM params WHERE run_id = ?")
            return try runs.map { run in
                Dictionary(uniqueKeysWithValues: try statement.rows([.integer(run.id)]) { ($0.string(at: 0), $0.value(at: 1)) })
            }
        }
        let summaries = try runs.map { try self.summaries(runID: $0.id) }
        let runColumns = ["id", "experiment", "status", "seed", "tags", "superseded_by"]
        let paramKeys = Set(params.flatMap(\.keys)).subtracting(runColumns).sorted()
        let metricNames = Set(summaries.flatMap(\.keys)).sorted()
        let columns = runColumns + paramKeys
            + metricNames.flatMap { ["\($0).final", "\($0).best"] }
        let rows = runs.indices.map { index -> [SQLiteValue] in
            let run = runs[index]
            let fields: [SQLiteValue] = [.integer(run.id), .text(run.experiment), .text(run.status.rawValue), SQLiteValue(run.seed),
                                         run.tags.isEmpty ? .null : .text(run.tags.joined(separator: ",")),
                                         SQLiteValue(run.supersededBy)]
            return fields + paramKeys.map { params[index][$0] ?? .null }
                + metricNames.flatMap { name in
                    [SQLiteValue(summaries[index][name]?.finalValue), SQLiteValue(summaries[index][name]?.bestValue)]
                }
        }
        return QueryResult(columns: columns, rows: rows)
    }
}
