import XCTest
import Foundation
import TrainLabStore

/// Databases that are not ours, or odd: each is a bad input (exit 2) with a message naming it,
/// never a raw SQL error or a trap.
final class OddDatabaseTests: XCTestCase {
    func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("trainlab-odd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func testOddDatabasesAreBadInputs() throws {
        let dir = try folder()
        let spec = dir.appendingPathComponent("s.json").path
        try #"{"name": "o", "task": {"kind": "blobs", "train_size": 16, "val_size": 0}, "model": {"hidden": [4]}, "loss": "cross_entropy", "optimizer": "sgd", "training": {"steps": 2}}"#
            .write(toFile: spec, atomically: true, encoding: .utf8)
        let foreign = dir.appendingPathComponent("foreign.sqlite").path
        try Database(path: foreign).execute("CREATE TABLE t(x)")
        let negative = dir.appendingPathComponent("negative.sqlite").path
        try Database(path: negative).execute("PRAGMA user_version = -5")
        let text = dir.appendingPathComponent("text.sqlite").path
        try String(repeating: "not a database\n", count: 100).write(toFile: text, atomically: true, encoding: .utf8)
        let cases: [(String, String)] = [
            (foreign, "not a TrainLab database"),
            (negative, "unknown schema version -5"),
            (text, "not an SQLite database"),
            ("/dev/null", "not a regular file"),
            (dir.path, "not a regular file"),
        ]
        for (database, expected) in cases {
            for arguments in [["run", spec, "--db", database, "--quiet"], ["list", "--db", database]] {
                let outcome = try runTrainlab(arguments, in: self)
                XCTAssertEqual(outcome.status, 2, "\(arguments): \(outcome.standardError)")
                XCTAssertTrue(outcome.standardError.contains(expected), "\(arguments): \(outcome.standardError)")
                XCTAssertFalse(outcome.standardError.contains("SQLite error"), outcome.standardError)
            }
        }
        XCTAssertEqual(try Database(path: foreign).rows("SELECT count(*) FROM sqlite_master") { $0.int(at: 0) }, [1],
                       "the foreign file is left as it was")
    }
}
