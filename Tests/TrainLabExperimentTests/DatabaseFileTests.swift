import XCTest
import Foundation
import TrainLabStore

/// People copy the `.sqlite` file alone (to a laptop, into a report): once a command returns,
/// that file must hold every row, none of them left behind in `-wal`.
extension ProcessTests {
    /// Copies only the main database file elsewhere and returns (runs, metric rows, tags) in it.
    private func countsInCopyOfMainFile(_ database: String) throws -> [Int] {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("copy-\(UUID().uuidString).sqlite").path
        try FileManager.default.copyItem(atPath: database, toPath: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let reader = try Database(path: copy, mode: .readOnly)
        return try ["runs", "metrics", "tags"].map { table in
            try reader.rows("SELECT count(*) FROM \(table)") { $0.int(at: 0) }[0]
        }
    }

    /// The same counts read through SQLite with the WAL, as every trainlab command reads.
    private func counts(_ database: String) throws -> [Int] {
        let reader = try Database(path: database, mode: .readOnly)
        return try ["runs", "metrics", "tags"].map { table in
            try reader.rows("SELECT count(*) FROM \(table)") { $0.int(at: 0) }[0]
        }
    }

    private func runToEnd(_ arguments: [String]) throws {
        let process = try launch(arguments)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, arguments.joined(separator: " "))
    }

    func testMainFileAloneHoldsEveryRowAfterRunMergeAndTag() throws {
        let spec = try specFile(ResumeSpecs.mlpBatchNormAdam(steps: 40), name: "wal-\(UUID().uuidString).json")
        let folder = URL(fileURLWithPath: spec).deletingLastPathComponent()
        let database = folder.appendingPathComponent("q.sqlite").path
        try runToEnd(["run", spec, "--db", database, "--quiet"])
        let afterRun = try counts(database)
        XCTAssertEqual(afterRun[0], 1)
        XCTAssertGreaterThan(afterRun[1], 40, "the run logs every step")
        XCTAssertEqual(try countsInCopyOfMainFile(database), afterRun, "run left rows in the WAL")

        try runToEnd(["tag", "1", "baseline", "--db", database])
        XCTAssertEqual(try counts(database)[2], 1)
        XCTAssertEqual(try countsInCopyOfMainFile(database), try counts(database), "tag left rows in the WAL")

        let merged = folder.appendingPathComponent("merged.sqlite").path
        try runToEnd(["merge", merged, database])
        XCTAssertEqual(try counts(merged)[0...1], afterRun[0...1])
        XCTAssertEqual(try countsInCopyOfMainFile(merged), try counts(merged), "merge left rows in the WAL")
    }

    func testMainFileAloneHoldsTheRowsOfAnInterruptedRun() throws {
        let spec = try specFile(ResumeSpecs.mlpBatchNormAdam(steps: 10_000_000), name: "wal-int-\(UUID().uuidString).json")
        let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("i.sqlite").path
        let process = try launch(["run", spec, "--db", database])
        XCTAssertTrue(try waitUntil(60) {
            guard FileManager.default.fileExists(atPath: database) else { return false }
            return try counts(database)[1] >= 200
        }, "the run never logged 200 rows")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130)
        let all = try counts(database)
        XCTAssertEqual(try countsInCopyOfMainFile(database), all, "Ctrl-C left rows in the WAL")
        let status = try Database(path: database, mode: .readOnly).rows("SELECT status FROM runs") { $0.string(at: 0) }
        XCTAssertEqual(status, ["interrupted"])
    }
}
