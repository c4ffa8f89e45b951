import CSQLite
import Foundation

/// Outcome of a run, as stored in `runs.status`.
public enum RunStatus: String, Sendable, CaseIterable {
    case running, completed, diverged, failed, interrupted
}

/// One row of `runs`.
public struct RunRecord: Sendable, Equatable {
    public var id: Int64
    public var experiment: String
    public var status: RunStatus
    /// Fully resolved JSON config of the run.
    public var config: String
    public var configHash: String?
    public var seed: Int?
    public var startedAt: String?
    public var finishedAt: String?
    public var pid: Int?
    public var host: String?
    public var error: String?
    public var divergedStep: Int?
    public var programVersion: String?
    /// The id of a later attempt at the same config (same `configHash`) that finished: this
    /// attempt no longer counts in statistics. Nil for the latest attempt.
    public var supersededBy: Int64? = nil
    /// Free text about the run (`notes` in the spec, `trainlab note`).
    public var notes: String? = nil
    /// Labels of the run, sorted (`tags` in the spec, `trainlab tag`; table `tags`).
    public var tags: [String] = []
    /// The sum of its attempts' seconds, set when a run ends (nil before, and in older files).
    public var seconds: Double? = nil

    /// `running` and not orphaned: its process exists on this host, or it runs on another host
    /// (whose processes cannot be asked).
    public var isLive: Bool { status == .running && !isOrphaned }

    /// A `running` run on this host whose process no longer exists (killed; not yet marked
    /// `interrupted` by the next `trainlab run`).
    public var isOrphaned: Bool {
        status == .running && host == ResultsStore.hostName && !ResultsStore.isProcessAlive(pid)
    }
}

/// One row of `summaries`: a metric's last value and its best value (as
/// `MetricDirection.preferred`: minimum for losses and gaps, maximum otherwise). NaN values are
/// stored as NULL and never best.
public struct MetricSummary: Sendable, Equatable {
    public var name: String
    /// Value at the largest step; nil when that value is NULL (NaN).
    public var finalValue: Double?
    public var bestValue: Double?
    public var bestStep: Int?
    /// Step of the final value; known for summaries computed from the rows (a live run's).
    public var finalStep: Int? = nil
}

/// The results database: experiments, runs, metrics, params and summaries in one SQLite file.
///
/// Safe to share between threads: every method holds `lock` while it touches the connection or
/// the metric buffer (hence `@unchecked Sendable`). Separate processes coordinate through SQLite
/// itself (WAL, `BEGIN IMMEDIATE`, 10 s busy timeout).
public final class ResultsStore: @unchecked Sendable {
    /// Schema version this program writes (`PRAGMA user_version`).
    public static var schemaVersion: Int { Schema.currentVersion }

    public let path: String
    /// Buffered metric rows are written in one transaction once this many are pending...
    public let flushEvery: Int
    /// ...or once this long has passed since the last write, so a killed run keeps all but its
    /// last second of metrics and readers see a live run progress.
    public let flushInterval: Double

    // Internal (not private) for the read helpers in ResultsQueries.swift.
    let database: Database
    private let lock = NSLock()
    private var pending: [(runID: Int64, step: Int, name: String, value: Double)] = []
    private var insertMetric: Statement?
    /// `insertMetric` for `metricRowsPerInsert` rows at once.
    private var insertMetrics: Statement?
    private var lastFlush = DispatchTime.now().uptimeNanoseconds
    /// The first failed metric write (e.g. a full disk): later rows are refused at once rather
    /// than retried with every row, and the run ends with this reason.
    private var metricWriteFailure: (any Error)?

    /// Opens (creating the file and its parent folder when missing) and migrates the database.
    /// A new file appears with its schema already in it (built under a temporary name, then
    /// linked into place), so no reader ever sees a database without tables.
    ///
    /// With `readOnly`, nothing is created and every write fails. A file with no tables reads
    /// as empty; one from an older schema is read through an upgraded copy in memory when it
    /// cannot be upgraded in place (or `upgradeInPlace` is false).
    public init(path: String, readOnly: Bool = false, flushEvery: Int = 2048, flushInterval: Double = 1,
                upgradeInPlace: Bool = true) throws {
        precondition(flushEvery > 0, "flushEvery must be positive, got \(flushEvery)")
        self.path = path
        self.flushEvery = flushEvery
        self.flushInterval = flushInterval
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
        if exists, isFolder.boolValue || !FileManager.default.isRegularFile(path) {
            throw ResultsQueryError.unreadableDatabase(path: path, reason: "not a regular file")
        }
        do {
            if readOnly {
                database = try Self.openForReadingOnly(path, upgradeInPlace: upgradeInPlace)
            } else {
                if !exists { try Self.prepareFolder(for: path) }
                do {
                    if !exists { try Self.createWithSchema(path) }
                    database = try Database(path: path, mode: .readWrite)
                } catch let error as SQLiteError where error.code == SQLITE_CANTOPEN || error.code == SQLITE_READONLY
                                                    || error.code == SQLITE_PERM || error.code == SQLITE_IOERR {
                    throw ResultsQueryError.unwritableDatabase(path: path, reason: Self.openFailureReason(path))
                }
                try Schema.migrate(database)
            }
        } catch let error as SQLiteError where error.code == SQLITE_NOTADB {
            throw ResultsQueryError.unreadableDatabase(path: path, reason: "not an SQLite database")
        }
        pending.reserveCapacity(flushEvery)
    }

    /// Creates the folders above a new database, or says in one line why it cannot: a path
    /// component that is a file, or a folder that refuses (permissions, `/proc`).
    private static func prepareFolder(for path: String) throws {
        var folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var missing: [URL] = []
        var isFolder: ObjCBool = false
        while !FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder) && folder.path != "/" {
            missing.append(folder)
            folder = folder.deletingLastPathComponent()
        }
        guard isFolder.boolValue else {
            throw ResultsQueryError.unwritableDatabase(path: path, reason: "\(folder.path) is a file, not a folder")
        }
        for created in missing.reversed() where mkdir(created.path, 0o777) != 0 && errno != EEXIST {
            throw ResultsQueryError.unwritableDatabase(
                path: path, reason: "cannot create the folder \(created.path): \(String(cString: strerror(errno)))")
        }
    }

    /// Why SQLite could not create or open `path` for writing, as the system says it.
    private static func openFailureReason(_ path: String) -> String {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if access(folder, W_OK) != 0 { return "the folder \(folder) is not writable (\(String(cString: strerror(errno))))" }
        if FileManager.default.fileExists(atPath: path), access(path, W_OK) != 0 { return "the file is not writable" }
        return "the file system refuses to create or lock an SQLite file there"
    }

    /// Builds the schema in a private file beside `path`, then links it to `path` (which fails,
    /// harmlessly, when another process created the file first).
    private static func createWithSchema(_ path: String) throws {
        let temporary = path + ".creating-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer {
            for suffix in ["", "-wal", "-shm", "-journal"] { unlink(temporary + suffix) }
        }
        do {
            let database = try Database(path: temporary, mode: .readWrite)
            try Schema.migrate(database)
        }  // closed here: the WAL is checkpointed into the file
        if link(temporary, path) != 0 && errno != EEXIST {
            throw SQLiteError(code: 14, message: "cannot create \(path): \(String(cString: strerror(errno)))")  // SQLITE_CANTOPEN
        }
    }

    private static func openForReadingOnly(_ path: String, upgradeInPlace: Bool) throws -> Database {
        var file = try Database(path: path, mode: .readOnly)
        let contents: Schema.Contents
        do {
            contents = try Schema.contents(of: file)
        } catch let error as SQLiteError where [SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_IOERR].contains(error.code) {
            // A WAL database in a folder we may not write: SQLite cannot make the -shm file it
            // needs to read the WAL. Read a copy of both instead, made where we may write.
            file = try snapshotCopy(of: path)
            contents = try Schema.contents(of: file)
        }
        switch contents {
        case .empty:
            return try upgradedInMemory(from: nil)
        case .results(let version) where version < Schema.currentVersion:
            // Upgrade the file itself when we may write it, else read an upgraded copy.
            if upgradeInPlace, let writable = try? Database(path: path, mode: .readWrite), (try? Schema.migrate(writable)) != nil {
                return try Database(path: path, mode: .readOnly)
            }
            return try upgradedInMemory(from: path)
        case .results:
            return file
        }
    }

    /// A read-only connection to a private copy of the database file and its WAL, which is
    /// removed once the connection is open (the connection keeps the files it has open).
    private static func snapshotCopy(of path: String) throws -> Database {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trainlab-read-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let copy = folder.appendingPathComponent("results.sqlite").path
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        if FileManager.default.fileExists(atPath: path + "-wal") {
            try FileManager.default.copyItem(atPath: path + "-wal", toPath: copy + "-wal")
        }
        // Read-write, so SQLite may fold the WAL into the copy; nothing is written to `path`.
        let database = try Database(path: copy, mode: .readWrite)
        _ = try database.userVersion()
        return try upgradedInMemory(from: copy)
    }

    /// An in-memory database at the current schema, holding the rows of `path` when given.
    private static func upgradedInMemory(from path: String?) throws -> Database {
        let memory = try Database(path: ":memory:", mode: .readWrite)
        guard let path else {
            try Schema.migrate(memory)
            return memory
        }
        let uri = "file:" + path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed)! + "?mode=ro"
        try memory.run("ATTACH DATABASE ? AS old", [.text(uri)])
        let version = try memory.rows("PRAGMA old.user_version") { $0.int(at: 0) }.first ?? 0
        let schema = try memory.rows("SELECT sql FROM old.sqlite_master WHERE sql IS NOT NULL ORDER BY rowid") { $0.string(at: 0) }
        let tables = try memory.rows("SELECT name FROM old.sqlite_master WHERE type = 'table'") { $0.string(at: 0) }
        try memory.transaction {
            for statement in schema { try memory.execute(statement) }
            for table in tables { try memory.execute("INSERT INTO main.\"\(table)\" SELECT * FROM old.\"\(table)\"") }
            try memory.setUserVersion(version)
        }
        try memory.execute("DETACH DATABASE old")
        try Schema.migrate(memory)
        return memory
    }

    deinit {
        try? flushLocked()
    }

    // MARK: Writing

    /// Inserts a run with status `running`, this process's pid and host, and its flattened
    /// `params` (e.g. `optimizer.lr`); creates the experiment when new. Returns the run id.
    public func beginRun(experiment: String, config: String, configHash: String? = nil,
                         seed: Int? = nil, params: [String: SQLiteValue] = [:],
                         programVersion: String? = nil, tags: [String] = [], notes: String? = nil) throws -> Int64 {
        try locked {
            try database.transaction {
                try insertRun(experiment: experiment, config: config, configHash: configHash, seed: seed,
                              params: params, programVersion: programVersion, tags: tags, notes: notes)
            }
        }
    }

    /// What `claimRun` found.
    public enum Claim: Sendable, Equatable {
        /// The run was inserted (status `running`) under this id: train it.
        case started(Int64)
        /// An interrupted attempt at the config is `running` again under its id: train it from
        /// `state` (saved after update `step`), or from the start when it saved none.
        case resumed(Int64, step: Int, state: [UInt8]?)
        /// The config already completed as this run (same program version).
        case completed(Int64)
        /// The config already diverged as this run, at `step` (same program version): a result
        /// like a completed run, and training is deterministic, so a retry would diverge again.
        case diverged(Int64, step: Int?)
        /// Another live process is training the config as this run.
        case running(Int64)
    }

    /// `beginRun`, unless the config (same hash and program version) completed or diverged already (when
    /// `rerunCompleted` is false) or is being trained by another live process: checked and
    /// inserted in one write transaction, so two processes given the same spec never train
    /// one config twice. Tags and notes are not part of the config: a completed run found here
    /// gains the `tags` it lacks and keeps its notes.
    ///
    /// The latest `interrupted` attempt is resumed instead: back to `running` with this
    /// process's pid and host, its metric rows past its saved state's step deleted (all of them
    /// when it saved none: rows flushed after the last save, which will be logged again,
    /// identically), in the same transaction.
    public func claimRun(experiment: String, config: String, configHash: String, seed: Int? = nil,
                         params: [String: SQLiteValue] = [:], programVersion: String? = nil,
                         tags: [String] = [], notes: String? = nil,
                         rerunCompleted: Bool = false) throws -> Claim {
        try locked {
            try database.transaction {
                let key: [SQLiteValue] = [.text(configHash), SQLiteValue(programVersion)]
                if !rerunCompleted, let done = try database.rows("""
                    SELECT id, status, diverged_step FROM runs
                    WHERE config_hash = ? AND program_version IS ? AND status IN ('completed', 'diverged')
                    ORDER BY id DESC LIMIT 1
                    """, key, { ($0.int64(at: 0), $0.string(at: 1), $0.optionalInt(at: 2)) }).first {
                    try insertTags(tags, runID: done.0)
                    return done.1 == "diverged" ? .diverged(done.0, step: done.2) : .completed(done.0)
                }
                let running = try database.rows("""
                    SELECT id, pid, host FROM runs WHERE config_hash = ? AND program_version IS ? AND status = 'running'
                    """, key) { ($0.int64(at: 0), $0.optionalInt(at: 1), $0.optionalString(at: 2)) }
                // A run on another host is taken as live: its process cannot be asked.
                if let live = running.first(where: { $0.2 != Self.hostName || Self.isProcessAlive($0.1) }) {
                    return .running(live.0)
                }
                if let interrupted = try database.rows("""
                    SELECT id FROM runs WHERE config_hash = ? AND program_version IS ? AND status = 'interrupted'
                    ORDER BY id DESC LIMIT 1
                    """, key, { $0.int64(at: 0) }).first {
                    return try reopenRun(interrupted, tags: tags)
                }
                return .started(try insertRun(experiment: experiment, config: config, configHash: configHash, seed: seed,
                                              params: params, programVersion: programVersion, tags: tags, notes: notes))
            }
        }
    }

    /// What `claimRun` would find for a config, without claiming it (`validate --db`): its
    /// completed or diverged run, else a running one, else the interrupted attempt it would
    /// resume with the step of its saved state; nil when the config has no run yet.
    public func priorRun(configHash: String, programVersion: String?) throws -> (id: Int64, status: RunStatus, savedStep: Int?)? {
        try locked {
            let key: [SQLiteValue] = [.text(configHash), SQLiteValue(programVersion)]
            return try database.rows("""
                SELECT r.id, r.status, s.step FROM runs r LEFT JOIN run_state s ON s.run_id = r.id
                WHERE r.config_hash = ? AND r.program_version IS ? AND r.status IN ('completed', 'diverged', 'running', 'interrupted')
                ORDER BY CASE r.status WHEN 'completed' THEN 0 WHEN 'diverged' THEN 0 WHEN 'running' THEN 1 ELSE 2 END, r.id DESC
                LIMIT 1
                """, key) { ($0.int64(at: 0), RunStatus(rawValue: $0.string(at: 1)) ?? .interrupted, $0.optionalInt(at: 2)) }.first
        }
    }

    /// `claimRun`'s resume of an interrupted run; the caller holds `lock` inside a transaction.
    private func reopenRun(_ id: Int64, tags: [String]) throws -> Claim {
        let saved = try database.rows("SELECT step, state FROM run_state WHERE run_id = ?", [.integer(id)]) {
            ($0.int(at: 0), $0.blob(at: 1))
        }.first
        let keptThrough = saved?.0 ?? -1
        try database.run("DELETE FROM metrics WHERE run_id = ? AND step > ?", [.integer(id), .integer(Int64(keptThrough))])
        try database.run("DELETE FROM summaries WHERE run_id = ?", [.integer(id)])
        try database.run("""
            UPDATE runs SET status = 'running', finished_at = NULL, error = NULL, superseded_by = NULL,
                            pid = ?, host = ? WHERE id = ?
            """, [.integer(Int64(getpid())), .text(Self.hostName), .integer(id)])
        try insertTags(tags, runID: id)
        return .resumed(id, step: max(keptThrough, 0), state: saved?.1)
    }

    /// Commits the buffered metric rows and the run's training state after update `step` in one
    /// transaction, replacing its earlier state: the database never holds a state without the
    /// metrics up to its step.
    public func saveState(runID: Int64, step: Int, state: [UInt8]) throws {
        try locked {
            try database.transaction {
                try flushLocked()
                let upsert = try database.prepare("""
                    INSERT INTO run_state(run_id, step, saved_at, state) VALUES (?, ?, ?, ?)
                    ON CONFLICT(run_id) DO UPDATE SET step = excluded.step, saved_at = excluded.saved_at, state = excluded.state
                    """)
                try upsert.bind([.integer(runID), .integer(Int64(step)), .text(Timestamp.iso8601())])
                try upsert.bindBlob(state, at: 4)
                defer { upsert.reset() }
                try upsert.step()
            }
        }
    }

    /// The step of the run's saved training state, nil when it has none.
    public func savedStateStep(runID: Int64) throws -> Int? {
        try locked {
            try database.rows("SELECT step FROM run_state WHERE run_id = ?", [.integer(runID)]) { $0.int(at: 0) }.first
        }
    }

    /// The insert of `beginRun`; the caller holds `lock` inside a transaction.
    private func insertRun(experiment: String, config: String, configHash: String?, seed: Int?,
                           params: [String: SQLiteValue], programVersion: String?,
                           tags: [String], notes: String?) throws -> Int64 {
        let now = Timestamp.iso8601()
        try database.run("INSERT INTO experiments(name, created_at) VALUES (?, ?) "
                         + "ON CONFLICT(name) DO NOTHING", [.text(experiment), .text(now)])
        let experimentID = try database.rows("SELECT id FROM experiments WHERE name = ?",
                                             [.text(experiment)]) { $0.int64(at: 0) }.first
        try database.run("""
            INSERT INTO runs(experiment, experiment_id, status, config, config_hash, seed,
                             started_at, pid, host, program_version, notes, uid)
            VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, lower(hex(randomblob(16))))
            """, [.text(experiment), SQLiteValue(experimentID), .text(config),
                  SQLiteValue(configHash), SQLiteValue(seed), .text(now),
                  .integer(Int64(getpid())), .text(Self.hostName), SQLiteValue(programVersion), SQLiteValue(notes)])
        let runID = database.lastInsertRowID
        try insertTags(tags, runID: runID)
        let insertParam = try database.prepare("INSERT INTO params(run_id, key, value) VALUES (?, ?, ?)")
        for key in params.keys.sorted() {
            try insertParam.run([.integer(runID), .text(key), params[key]!])
        }
        return runID
    }

    /// Buffers one metric row; writes the buffer once `flushEvery` rows are pending or
    /// `flushInterval` seconds have passed since the last write.
    /// NaN is stored as NULL. A failed write drops the rows it could not write and is thrown,
    /// now and by every later append: what was committed before stays.
    public func appendMetric(runID: Int64, step: Int, name: String, value: Double) throws {
        try locked {
            if let metricWriteFailure { throw metricWriteFailure }
            pending.append((runID, step, name, value))
            if pending.count >= flushEvery
                || Double(DispatchTime.now().uptimeNanoseconds &- lastFlush) >= flushInterval * 1e9 {
                try flushLocked()
            }
        }
    }

    /// Writes all buffered metric rows in one transaction.
    public func flush() throws {
        try locked { try flushLocked() }
    }

    /// The first metric write that failed, if any.
    public var writeFailure: (any Error)? {
        locked { metricWriteFailure }
    }

    /// Flushes, stores the run's summaries and sets its final status and `finished_at`.
    /// A run that ends with a result (`completed` or `diverged`) supersedes the earlier,
    /// finished attempts at its config: statistics then count it alone.
    public func finishRun(id: Int64, status: RunStatus, error: String? = nil,
                          divergedStep: Int? = nil, seconds: Double? = nil) throws {
        precondition(status != .running, "finishRun needs a final status")
        try locked {
            try flushLocked()
            try database.transaction {
                try writeSummaries(runID: id, divergedStep: status == .diverged ? divergedStep : nil)
                try database.run("""
                    UPDATE runs SET status = ?, finished_at = ?, error = ?, diverged_step = ?, seconds = ?
                    WHERE id = ?
                    """, [.text(status.rawValue), .text(Timestamp.iso8601()), SQLiteValue(error),
                          SQLiteValue(divergedStep), SQLiteValue(seconds), .integer(id)])
                guard database.changes == 1 else {
                    throw SQLiteError(code: 12, message: "no run with id \(id)")  // SQLITE_NOTFOUND
                }
                // Only an interrupted run resumes: another's state would be dead weight.
                if status != .interrupted {
                    try database.run("DELETE FROM run_state WHERE run_id = ?", [.integer(id)])
                }
                if status == .completed || status == .diverged {
                    try database.run("""
                        UPDATE runs SET superseded_by = ?1
                        WHERE config_hash = (SELECT config_hash FROM runs WHERE id = ?1)
                          AND id < ?1 AND status != 'running'
                        """, [.integer(id)])
                }
            }
        }
    }

    /// Marks `interrupted` every `running` run started on this host whose process is gone
    /// (e.g. killed with SIGKILL), with summaries of the metrics it committed — and with
    /// `includingThisProcess`, this process's own (it is about to exit). Returns their ids.
    @discardableResult
    public func markInterruptedRuns(includingThisProcess: Bool = false) throws -> [Int64] {
        try locked {
            try flushLocked()
            return try database.transaction {
                let running = try database.rows(
                    "SELECT id, pid FROM runs WHERE status = 'running' AND host = ?",
                    [.text(Self.hostName)]) { ($0.int64(at: 0), $0.optionalInt(at: 1)) }
                var marked: [Int64] = []
                for (id, pid) in running where !Self.isProcessAlive(pid) || (includingThisProcess && pid == Int(getpid())) {
                    try writeSummaries(runID: id)
                    try database.run("""
                        UPDATE runs SET status = 'interrupted', finished_at = coalesce(finished_at, ?),
                            error = coalesce(error, 'process ' || coalesce(pid, '?') || ' on ' || host
                                             || ' ended without finishing the run')
                        WHERE id = ? AND status = 'running'
                        """, [.text(Timestamp.iso8601()), .integer(id)])
                    marked.append(id)
                }
                return marked
            }
        }
    }

    // MARK: Reading

    /// Runs of `experiment` (all runs when nil), oldest first.
    public func runs(experiment: String? = nil) throws -> [RunRecord] {
        try locked {
            var tags: [Int64: [String]] = [:]
            for (runID, tag) in try database.rows("""
                SELECT run_id, tag FROM tags
                WHERE ?1 IS NULL OR run_id IN (SELECT id FROM runs WHERE experiment = ?1) ORDER BY run_id, tag
                """, [SQLiteValue(experiment)], { ($0.int64(at: 0), $0.string(at: 1)) }) {
                tags[runID, default: []].append(tag)
            }
            return try database.rows("""
                SELECT id, experiment, status, config, config_hash, seed, started_at, finished_at,
                       pid, host, error, diverged_step, program_version, superseded_by, notes, seconds
                FROM runs WHERE ?1 IS NULL OR experiment = ?1 ORDER BY id
                """, [SQLiteValue(experiment)]) { row in
                RunRecord(id: row.int64(at: 0), experiment: row.string(at: 1),
                          status: RunStatus(rawValue: row.string(at: 2)) ?? .failed,
                          config: row.string(at: 3), configHash: row.optionalString(at: 4),
                          seed: row.optionalInt(at: 5), startedAt: row.optionalString(at: 6),
                          finishedAt: row.optionalString(at: 7), pid: row.optionalInt(at: 8),
                          host: row.optionalString(at: 9), error: row.optionalString(at: 10),
                          divergedStep: row.optionalInt(at: 11),
                          programVersion: row.optionalString(at: 12), supersededBy: row.optionalInt64(at: 13),
                          notes: row.optionalString(at: 14), tags: tags[row.int64(at: 0)] ?? [],
                          seconds: row.optionalDouble(at: 15))
            }
        }
    }

    /// The (step, value) series of one metric, by step; NULL values read as NaN.
    /// Rows still buffered by this store are flushed first.
    public func metrics(runID: Int64, name: String) throws -> [(step: Int, value: Double)] {
        try locked {
            try flushLocked()
            return try database.rows("""
                SELECT step, value FROM metrics WHERE run_id = ? AND name = ? ORDER BY step, rowid
                """, [.integer(runID), .text(name)]) { ($0.int(at: 0), $0.optionalDouble(at: 1) ?? .nan) }
        }
    }

    /// Summaries of a run, keyed by metric name: as stored when it ended, computed from the
    /// rows so far while it is `running`.
    public func summaries(runID: Int64) throws -> [String: MetricSummary] {
        try locked {
            let running = try database.rows("SELECT status = 'running' FROM runs WHERE id = ?", [.integer(runID)]) { $0.int(at: 0) }
            if running.first == 1 {
                return Dictionary(uniqueKeysWithValues: try computeSummaries(runID: runID).map { ($0.name, $0) })
            }
            let rows = try database.rows("""
                SELECT name, final_value, best_value, best_step FROM summaries WHERE run_id = ?
                """, [.integer(runID)]) {
                MetricSummary(name: $0.string(at: 0), finalValue: $0.optionalDouble(at: 1),
                              bestValue: $0.optionalDouble(at: 2), bestStep: $0.optionalInt(at: 3))
            }
            return Dictionary(uniqueKeysWithValues: rows.map { ($0.name, $0) })
        }
    }

    /// The run's flattened config (`params` table), values as text (`ParamValue.text`).
    public func params(runID: Int64) throws -> [String: String] {
        try locked {
            let rows = try database.rows("SELECT key, value FROM params WHERE run_id = ?",
                                         [.integer(runID)]) { ($0.string(at: 0), ParamValue.text($0.value(at: 1))) }
            return Dictionary(uniqueKeysWithValues: rows)
        }
    }

    /// Sets the run's params `values` (replacing those keys' earlier values): what an adaptive
    /// search records of a trial's fate as it goes (`search.rung`, `search.promoted`, ...).
    public func setParams(runID: Int64, _ values: [String: SQLiteValue]) throws {
        try locked {
            try database.transaction {
                let upsert = try database.prepare("""
                    INSERT INTO params(run_id, key, value) VALUES (?, ?, ?)
                    ON CONFLICT(run_id, key) DO UPDATE SET value = excluded.value
                    """)
                for key in values.keys.sorted() { try upsert.run([.integer(runID), .text(key), values[key]!]) }
            }
        }
    }

    /// A `MetricsSink` that appends to run `runID`.
    public func metricsSink(runID: Int64) -> RunMetricsWriter {
        RunMetricsWriter(store: self, runID: runID)
    }

    // MARK: Private (callers hold `lock`)

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Metric rows one INSERT statement writes: a statement step costs more than a row.
    static let metricRowsPerInsert = 32

    private func flushLocked() throws {
        guard !pending.isEmpty else { return }
        lastFlush = DispatchTime.now().uptimeNanoseconds
        if insertMetric == nil {
            let row = "(?, ?, ?, ?)"
            insertMetric = try database.prepare("INSERT INTO metrics(run_id, step, name, value) VALUES \(row)")
            insertMetrics = try database.prepare("INSERT INTO metrics(run_id, step, name, value) VALUES "
                                                 + [String](repeating: row, count: Self.metricRowsPerInsert).joined(separator: ", "))
        }
        let single = insertMetric!, batch = insertMetrics!
        defer { pending.removeAll(keepingCapacity: true) }
        do {
            try database.transaction {
                var start = 0
                while start < pending.count {
                    let statement = pending.count - start >= Self.metricRowsPerInsert ? batch : single
                    let rows = statement === batch ? Self.metricRowsPerInsert : 1
                    statement.reset()
                    for (offset, row) in pending[start..<(start + rows)].enumerated() {
                        let first = 4 * offset + 1
                        try statement.bind(row.runID, at: first)
                        try statement.bind(row.step, at: first + 1)
                        try statement.bind(row.name, at: first + 2)
                        try statement.bind(row.value.isNaN ? nil : row.value, at: first + 3)
                    }
                    defer { statement.reset() }
                    while try statement.step() {}
                    start += rows
                }
            }
        } catch {
            metricWriteFailure = error
            throw error
        }
    }

    /// Adds `tags` to the run (one it has already stays once).
    func insertTags(_ tags: [String], runID: Int64) throws {
        let insert = try database.prepare("INSERT INTO tags(run_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING")
        for tag in tags { try insert.run([.integer(runID), .text(tag)]) }
    }

    /// Replaces the run's summaries with ones computed from its metrics rows. A run that diverged
    /// at `divergedStep` has, as a metric's final value, the one logged at divergence or none
    /// (NULL): validation last measured before training went wrong is not its result.
    private func writeSummaries(runID: Int64, divergedStep: Int? = nil) throws {
        try database.run("DELETE FROM summaries WHERE run_id = ?", [.integer(runID)])
        let insert = try database.prepare("""
            INSERT INTO summaries(run_id, name, final_value, best_value, best_step)
            VALUES (?, ?, ?, ?, ?)
            """)
        for var summary in try computeSummaries(runID: runID) {
            if let divergedStep, (summary.finalStep ?? 0) < divergedStep { summary.finalValue = nil }
            try insert.run([.integer(runID), .text(summary.name), SQLiteValue(summary.finalValue),
                            SQLiteValue(summary.bestValue), SQLiteValue(summary.bestStep)])
        }
    }

    /// Summaries of the run's metrics rows as they stand (a live run's so far), from one pass
    /// over its rows in index order (name, step, insertion): per name the value at the largest
    /// step (the last written there), and the best non-NULL value by `MetricDirection.preferred`,
    /// the earliest step of a tie.
    func computeSummaries(runID: Int64) throws -> [MetricSummary] {
        var summaries: [MetricSummary] = []
        var direction = MetricDirection.min
        _ = try database.prepare("SELECT name, step, value FROM metrics WHERE run_id = ? ORDER BY name, step, rowid")
            .rows([.integer(runID)]) { row in
                let name = row.string(at: 0), step = row.int(at: 1), value = row.optionalDouble(at: 2)
                if summaries.last?.name != name {
                    direction = MetricDirection.preferred(for: name)
                    summaries.append(MetricSummary(name: name, finalValue: nil, bestValue: nil, bestStep: nil))
                }
                summaries[summaries.count - 1].finalValue = value
                summaries[summaries.count - 1].finalStep = step
                if let value, summaries[summaries.count - 1].bestValue.map({ direction.isBetter(value, than: $0) }) ?? true {
                    summaries[summaries.count - 1].bestValue = value
                    summaries[summaries.count - 1].bestStep = step
                }
            }
        return summaries
    }

    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// `kill(pid, 0)` succeeds, or fails only for lack of permission, while the process exists.
    static func isProcessAlive(_ pid: Int?) -> Bool {
        guard let pid, pid > 0, pid <= Int(Int32.max) else { return false }
        if kill(pid_t(pid), 0) == 0 { return true }
        return errno == EPERM
    }
}

extension FileManager {
    /// True for a regular file, following a symbolic link (not a device, FIFO or folder).
    func isRegularFile(_ path: String) -> Bool {
        (try? attributesOfItem(atPath: (path as NSString).resolvingSymlinksInPath)[.type] as? FileAttributeType) == .typeRegular
    }
}
