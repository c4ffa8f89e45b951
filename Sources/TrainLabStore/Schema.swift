/// Schema migrations, kept in `PRAGMA user_version`.
///
/// `steps[i]` moves a file from version i to i + 1. Never edit a released step; append one.
enum Schema {
    static var currentVersion: Int { steps.count }

    static let steps: [String] = [
        // 0 -> 1
        """
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
        """,
    ]

    /// Brings `database` to `currentVersion`, one transaction per step.
    ///
    /// The version is re-read inside each write transaction, so processes opening a new file at
    /// the same time apply every step once.
    static func migrate(_ database: Database) throws {
        while true {
            let done: Bool = try database.transaction {
                let version = try database.userVersion()
                guard version <= currentVersion else { throw newerFileError(database, version) }
                guard version < currentVersion else { return true }
                try database.execute(steps[version])
                try database.setUserVersion(version + 1)
                return false
            }
            if done { return }
        }
    }

    /// Throws when the file was written by a newer program than this one.
    static func checkReadable(_ database: Database) throws {
        let version = try database.userVersion()
        guard version <= currentVersion else { throw newerFileError(database, version) }
    }

    private static func newerFileError(_ database: Database, _ version: Int) -> SQLiteError {
        SQLiteError(code: 1, message: "\(database.path) has schema version \(version); this "
                    + "program knows up to \(currentVersion). Use a newer trainlab.")
    }
}
