import Foundation

/// What `ResultsStore.merge(from:)` did with one source database.
public struct MergeOutcome: Sendable, Equatable {
    /// The source database's path.
    public var source: String
    /// Runs new to this database, copied under new ids.
    public var added = 0
    /// Runs this database held unfinished (running or interrupted) that the source holds in
    /// another state: their rows were replaced by the source's, keeping their id here.
    public var updated = 0
    /// Runs this database already holds (same uid) finished, or exactly as the source has them.
    public var unchanged = 0

    public init(source: String) { self.source = source }
}

extension ResultsStore {
    /// Copies the runs of `sources` into this database under new ids, with every row they own in
    /// every table with a `run_id` column that both databases have (metrics, params, summaries,
    /// tags, and tables added later, such as a run's saved training state), blobs included.
    ///
    /// A run is known by its `uid`, not its id: one already here is skipped, so merging a source
    /// twice adds nothing; one here unfinished is replaced by the source's copy when that has
    /// moved on (a shard merged while it was still training, then again). Attempts at one config
    /// from different sources are all kept, and for every config touched the latest attempt with
    /// a result (completed or diverged, by `finished_at`) supersedes the others, as `finishRun`
    /// does in one database. Everything happens in one transaction: an error or a crash part-way
    /// leaves this database as it was. With `configHashes`, only the runs of those configs are
    /// copied (an adaptive search's rung task takes the trials it trains from the merged database).
    public func merge(from sources: [ResultsStore], configHashes: Set<String>? = nil) throws -> [MergeOutcome] {
        try locked {
            try database.transaction {
                var touchedConfigs = Set<String>()
                let outcomes = try sources.map { source in
                    try source.locked { try copyRuns(from: source.database, path: source.path, only: configHashes, touching: &touchedConfigs) }
                }
                let supersede = try database.prepare("""
                    UPDATE runs SET superseded_by = (
                        SELECT newer.id FROM runs newer
                        WHERE newer.config_hash = runs.config_hash AND newer.id != runs.id
                          AND newer.status IN ('completed', 'diverged')
                          AND (newer.finished_at > runs.finished_at OR (newer.finished_at = runs.finished_at AND newer.id > runs.id))
                        ORDER BY newer.finished_at DESC, newer.id DESC LIMIT 1)
                    WHERE config_hash = ? AND status != 'running'
                    """)
                for config in touchedConfigs.sorted() { try supersede.run([.text(config)]) }
                return outcomes
            }
        }
    }

    /// For every config hash, the status that counts: the latest attempt with a result
    /// (completed or diverged) when there is one, else the latest attempt's.
    public func statusByConfigHash() throws -> [String: RunStatus] {
        try locked {
            var statuses: [String: RunStatus] = [:]
            let rows = try database.rows("""
                SELECT config_hash, status FROM runs WHERE config_hash IS NOT NULL
                ORDER BY status IN ('completed', 'diverged'), coalesce(finished_at, started_at), id
                """) { ($0.string(at: 0), RunStatus(rawValue: $0.string(at: 1)) ?? .failed) }
            for (hash, status) in rows { statuses[hash] = status }
            return statuses
        }
    }

    /// One source's part of `merge`; the caller holds both locks inside this database's transaction.
    private func copyRuns(from source: Database, path: String, only configHashes: Set<String>?,
                          touching touchedConfigs: inout Set<String>) throws -> MergeOutcome {
        var outcome = MergeOutcome(source: path)
        // The ids and the links between runs are this database's own.
        let runColumns = try Self.sharedColumns(of: "runs", from: source, into: database)
            .filter { !["id", "experiment_id", "superseded_by"].contains($0) }
        let uidColumn = runColumns.firstIndex(of: "uid")!, statusColumn = runColumns.firstIndex(of: "status")!
        let finishedColumn = runColumns.firstIndex(of: "finished_at")!, hashColumn = runColumns.firstIndex(of: "config_hash")!
        let experimentColumn = runColumns.firstIndex(of: "experiment")!
        let list = runColumns.map { "\"\($0)\"" }.joined(separator: ", ")
        let readRuns = try source.prepare("SELECT id, \(list) FROM runs ORDER BY id")
        let insertRun = try database.prepare("""
            INSERT INTO runs(experiment_id, \(list))
            VALUES ((SELECT id FROM experiments WHERE name = ?), \(runColumns.map { _ in "?" }.joined(separator: ", ")))
            """)
        let updateRun = try database.prepare(
            "UPDATE runs SET \(runColumns.map { "\"\($0)\" = ?" }.joined(separator: ", ")) WHERE id = ?")
        let insertExperiment = try database.prepare(
            "INSERT INTO experiments(name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING")
        let findRun = try database.prepare("SELECT id, status, finished_at FROM runs WHERE uid = ?")
        let ownedRows = try RunRowsCopier(from: source, into: database)

        try readRuns.bind([])
        defer { readRuns.reset() }
        while try readRuns.step() {
            let sourceID = readRuns.int64(at: 0)
            func value(_ column: Int) -> SQLiteValue { readRuns.value(at: column + 1) }
            if let configHashes {
                guard case .text(let hash) = value(hashColumn), configHashes.contains(hash) else { continue }
            }
            let here = try findRun.rows([value(uidColumn)]) {
                (id: $0.int64(at: 0), status: $0.string(at: 1), finishedAt: $0.value(at: 2))
            }.first
            let runID: Int64
            if let here {
                let unfinished = here.status == RunStatus.running.rawValue || here.status == RunStatus.interrupted.rawValue
                let same = here.status == readRuns.string(at: statusColumn + 1) && here.finishedAt == value(finishedColumn)
                guard unfinished && !same else {
                    outcome.unchanged += 1
                    continue
                }
                runID = here.id
                try ownedRows.delete(runID: runID)
                try updateRun.bind([])
                for column in runColumns.indices { try updateRun.bind(columnOf: readRuns, at: column + 1, to: column + 1) }
                try updateRun.bind(.integer(runID), at: runColumns.count + 1)
                try updateRun.step()
                updateRun.reset()
                outcome.updated += 1
            } else {
                try insertExperiment.run([value(experimentColumn), .text(Timestamp.iso8601())])
                try insertRun.bind([value(experimentColumn)])
                for column in runColumns.indices { try insertRun.bind(columnOf: readRuns, at: column + 1, to: column + 2) }
                try insertRun.step()
                insertRun.reset()
                runID = database.lastInsertRowID
                outcome.added += 1
            }
            try ownedRows.copy(sourceID: sourceID, to: runID)
            if case .text(let hash) = value(hashColumn) { touchedConfigs.insert(hash) }
        }
        return outcome
    }

    /// The columns `table` has in both databases, in `destination`'s order.
    fileprivate static func sharedColumns(of table: String, from source: Database, into destination: Database) throws -> [String] {
        let query = "SELECT name FROM pragma_table_info(?) ORDER BY cid"
        let sourceColumns = Set(try source.rows(query, [.text(table)]) { $0.string(at: 0) })
        return try destination.rows(query, [.text(table)]) { $0.string(at: 0) }.filter(sourceColumns.contains)
    }
}

/// Copies the rows a run owns in every run-keyed table of both databases; deletes those of a
/// run in every run-keyed table of the destination.
private struct RunRowsCopier {
    private struct Table {
        let read: Statement
        let insert: Statement
        let columns: Int
    }

    private let tables: [Table]
    private let deletes: [Statement]

    init(from source: Database, into destination: Database) throws {
        let sourceTables = Set(try ResultsStore.runKeyedTables(in: source))
        let destinationTables = try ResultsStore.runKeyedTables(in: destination)
        deletes = try destinationTables.map { try destination.prepare("DELETE FROM \"\($0)\" WHERE run_id = ?") }
        tables = try destinationTables.filter(sourceTables.contains).map { table in
            let columns = try ResultsStore.sharedColumns(of: table, from: source, into: destination).filter { $0 != "run_id" }
            let list = columns.map { ", \"\($0)\"" }.joined()
            return Table(
                read: try source.prepare("SELECT run_id\(list) FROM \"\(table)\" WHERE run_id = ? ORDER BY rowid"),
                insert: try destination.prepare(
                    "INSERT INTO \"\(table)\"(run_id\(list)) VALUES (?\(String(repeating: ", ?", count: columns.count)))"),
                columns: columns.count)
        }
    }

    func copy(sourceID: Int64, to runID: Int64) throws {
        for table in tables {
            try table.read.bind([.integer(sourceID)])
            defer { table.read.reset() }
            while try table.read.step() {
                try table.insert.bind([.integer(runID)])
                for column in 0..<table.columns { try table.insert.bind(columnOf: table.read, at: column + 1, to: column + 2) }
                try table.insert.step()
                table.insert.reset()
            }
        }
    }

    func delete(runID: Int64) throws {
        for delete in deletes { try delete.run([.integer(runID)]) }
    }
}
