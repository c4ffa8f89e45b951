/// Schema migrations, kept in `PRAGMA user_version`.
///
/// `steps[i]` moves a file from version i to i + 1. Never edit a released step; append one.
enum Schema {
    /// One migration: SQL, or Swift where the rows need converting.
    enum Step: Sendable {
        case sql(String)
        case code(@Sendable (Database) throws -> Void)
    }

    static var currentVersion: Int { steps.count }

    /// 32 hex digits from `text`: two 64-bit FNV-1a hashes with different offsets (a run's
    /// identity, not a secret: no cryptographic strength needed).
    static func legacyUID(_ text: String) -> String {
        func fnv1a(_ offset: UInt64) -> UInt64 {
            text.utf8.reduce(offset) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
        }
        let hex = { (x: UInt64) in String(repeating: "0", count: 16 - String(x, radix: 16).count) + String(x, radix: 16) }
        return hex(fnv1a(0xCBF2_9CE4_8422_2325)) + hex(fnv1a(0x6C62_272E_07BB_0142))
    }

    static let steps: [Step] = [
        // 0 -> 1
        .sql("""
        CREATE TABLE experiments (
            id INTEGER PRIMARY KEY,
            name TEXT UNIQUE NOT NULL,
            created_at TEXT
        );
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            experiment TEXT NOT NULL,
            experiment_id INTEGER REFERENCES experiments(id),
            status TEXT NOT NULL
                CHECK (status IN ('running', 'completed', 'diverged', 'failed', 'interrupted')),
            config TEXT NOT NULL,
            config_hash TEXT,
            seed INTEGER,
            started_at TEXT,
            finished_at TEXT,
            pid INTEGER,
            host TEXT,
            error TEXT,
            diverged_step INTEGER,
            program_version TEXT
        );
        CREATE INDEX runs_by_experiment ON runs(experiment);
        CREATE INDEX runs_by_config_hash ON runs(config_hash, status);
        CREATE TABLE metrics (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            step INTEGER NOT NULL,
            name TEXT NOT NULL,
            value REAL
        );
        CREATE INDEX metrics_by_run_name_step ON metrics(run_id, name, step);
        CREATE TABLE params (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            key TEXT NOT NULL,
            value TEXT,
            PRIMARY KEY (run_id, key)
        );
        CREATE TABLE summaries (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            name TEXT NOT NULL,
            final_value REAL,
            best_value REAL,
            best_step INTEGER,
            PRIMARY KEY (run_id, name)
        );
        """),
        // 1 -> 2: params values keep their type (a column without affinity: numbers are SQLite
        // numbers, booleans 1/0, strings and arrays text); `superseded_by` marks older attempts
        // of a config once a newer one has finished.
        .code { database in
            try database.execute("""
                CREATE TABLE params_typed (
                    run_id INTEGER NOT NULL REFERENCES runs(id),
                    key TEXT NOT NULL,
                    value,
                    PRIMARY KEY (run_id, key)
                );
                ALTER TABLE runs ADD COLUMN superseded_by INTEGER REFERENCES runs(id);
                """)
            let insert = try database.prepare("INSERT INTO params_typed(run_id, key, value) VALUES (?, ?, ?)")
            let old = try database.rows("SELECT run_id, key, value FROM params") {
                ($0.int64(at: 0), $0.string(at: 1), $0.optionalString(at: 2))
            }
            for (runID, key, text) in old {
                try insert.run([.integer(runID), .text(key), text.map(ParamValue.typed(fromText:)) ?? .null])
            }
            try database.execute("""
                DROP TABLE params;
                ALTER TABLE params_typed RENAME TO params;
                UPDATE runs SET superseded_by = (
                    SELECT max(newer.id) FROM runs newer
                    WHERE newer.config_hash = runs.config_hash AND newer.id > runs.id
                      AND newer.status IN ('completed', 'diverged'))
                WHERE config_hash IS NOT NULL AND status != 'running';
                """)
        },
        // 2 -> 3: a run's tags (one row each, so `WHERE tag = 'x'` filters) and its notes. Neither
        // is part of the config: they do not change its hash.
        .sql("""
        CREATE TABLE tags (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            tag TEXT NOT NULL,
            PRIMARY KEY (run_id, tag)
        );
        CREATE INDEX tags_by_tag ON tags(tag);
        ALTER TABLE runs ADD COLUMN notes TEXT;
        """),
        // 3 -> 4: a run's identity across databases, random when the run is inserted: `merge`
        // tells a run it already has (same uid: merging a shard twice adds nothing) from another
        // attempt at the same config (same config hash, another uid). The runs a file already
        // holds get a uid derived from what identifies them (id, experiment, config hash, start,
        // process and host), not a random one: a reader that cannot write an older file upgrades
        // a copy in memory each time it opens it, and must find the same identities every time.
        .code { database in
            try database.execute("ALTER TABLE runs ADD COLUMN uid TEXT")
            let rows = try database.rows("""
                SELECT id, experiment, coalesce(config_hash, ''), coalesce(started_at, ''), coalesce(pid, ''), coalesce(host, '')
                FROM runs
                """) { row in (row.int64(at: 0), (0..<6).map { row.string(at: $0) }.joined(separator: "\u{1F}")) }
            let update = try database.prepare("UPDATE runs SET uid = ? WHERE id = ?")
            for (id, identity) in rows { try update.run([.text(Schema.legacyUID(identity)), .integer(id)]) }
            try database.execute("CREATE UNIQUE INDEX runs_by_uid ON runs(uid)")
        },
        // 4 -> 5: the latest training state of each unfinished run (`ResultsStore.saveState`),
        // written in the transaction that commits its metrics up to `step`.
        .sql("""
        CREATE TABLE run_state (
            run_id INTEGER PRIMARY KEY REFERENCES runs(id),
            step INTEGER NOT NULL,
            saved_at TEXT NOT NULL,
            state BLOB NOT NULL
        );
        """),
        // 5 -> 6: a diverged run's final value of a metric is the one logged at divergence or
        // none: finals written before then (validation from before training went wrong) go NULL.
        .sql("""
        UPDATE summaries SET final_value = NULL
        WHERE run_id IN (SELECT id FROM runs WHERE status = 'diverged' AND diverged_step IS NOT NULL)
          AND (SELECT max(step) FROM metrics m WHERE m.run_id = summaries.run_id AND m.name = summaries.name)
              < (SELECT diverged_step FROM runs r WHERE r.id = summaries.run_id);
        """),
        // 6 -> 7: a run's duration, the sum of its attempts' seconds (training, evaluation and
        // store, each attempt counted up to its last saved state), written when it ends; an
        // older run's stays NULL and reads as its wall time from first start to finish.
        .sql("ALTER TABLE runs ADD COLUMN seconds REAL;"),
    ]

    /// Brings `database` to `currentVersion`, one transaction per step.
    ///
    /// The version is re-read inside each write transaction, so processes opening a new file at
    /// the same time apply every step once.
    static func migrate(_ database: Database) throws {
        while true {
            let done: Bool = try database.transaction {
                let version = try checkedVersion(database)
                guard version < currentVersion else { return true }
                switch steps[version] {
                case .sql(let sql): try database.execute(sql)
                case .code(let body): try body(database)
                }
                try database.setUserVersion(version + 1)
                return false
            }
            if done { return }
        }
    }

    /// What a reader finds in a file.
    enum Contents {
        /// No tables yet (a new file whose schema is not committed): read as no runs.
        case empty
        /// A TrainLab database at `version`, up to `currentVersion`.
        case results(version: Int)
    }

    /// Throws for a file that is not a TrainLab database or was written by a newer program.
    static func contents(of database: Database) throws -> Contents {
        let version = try checkedVersion(database)
        return version == 0 ? .empty : .results(version: version)
    }

    /// The file's schema version, checked: 0 (no tables at all) up to `currentVersion`. A file
    /// that is not ours, or from a newer program, is a bad input naming it.
    private static func checkedVersion(_ database: Database) throws -> Int {
        func refuse(_ reason: String) -> ResultsQueryError { .unreadableDatabase(path: database.path, reason: reason) }
        let version = try database.userVersion()
        guard version >= 0 else { throw refuse("unknown schema version \(version): not a TrainLab database") }
        guard version <= currentVersion else {
            throw refuse("it has schema version \(version); this program knows up to \(currentVersion). Use a newer trainlab.")
        }
        if version == 0 {
            let tables = try database.rows("SELECT count(*) FROM sqlite_master") { $0.int(at: 0) }.first ?? 0
            guard tables == 0 else {
                throw refuse("not a TrainLab database (an SQLite file with tables of its own and no TrainLab schema version)")
            }
        }
        return version
    }
}
