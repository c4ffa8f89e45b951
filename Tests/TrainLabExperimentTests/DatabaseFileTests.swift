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

/// One duration everywhere: the sum of the attempts' seconds. The pause between an interrupted
/// attempt and its resume is not training time: `run`'s "completed in", the database's
/// `runs.seconds` (which `list` and `show` print) agree, and leave the pause out.
extension ProcessTests {
    func testDurationOfAResumedRunIsTheSumOfItsAttempts() throws {
        let spec = try specFile(ResumeSpecs.mlpBatchNormAdam(steps: 3000), name: "duration-\(UUID().uuidString).json")
        let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("t.sqlite").path
        let first = try launch(["run", spec, "--db", database])
        XCTAssertTrue(try waitUntil(60) {
            guard FileManager.default.fileExists(atPath: database) else { return false }
            return try Database(path: database, mode: .readOnly).rows("SELECT count(*) FROM metrics") { $0.int(at: 0) }[0] >= 300
        })
        kill(first.processIdentifier, SIGINT)
        first.waitUntilExit()
        let pause = 1.5
        Thread.sleep(forTimeInterval: pause)
        let output = Pipe()
        let second = try launch(["run", spec, "--db", database], output: output)
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        second.waitUntilExit()
        XCTAssertEqual(second.terminationStatus, 0)
        XCTAssertTrue(printed.contains("resuming run 1"), printed)
        let completed = try XCTUnwrap(printed.range(of: #"completed in ([0-9.]+) s"#, options: .regularExpression).map { String(printed[$0]) })
        let printedSeconds = try XCTUnwrap(Double(completed.split(separator: " ")[2]))
        let row = try Database(path: database, mode: .readOnly).rows("SELECT seconds, started_at, finished_at FROM runs") {
            ($0.optionalDouble(at: 0), $0.string(at: 1), $0.string(at: 2))
        }[0]
        let seconds = try XCTUnwrap(row.0, "runs.seconds is written when the run ends")
        XCTAssertEqual(seconds, printedSeconds, accuracy: 0.006, "stdout and the database give one duration")
        let wall = Timestamp.date(iso8601: row.2)!.timeIntervalSince(Timestamp.date(iso8601: row.1)!)
        XCTAssertLessThanOrEqual(seconds, wall - pause + 0.01, "the pause between attempts is not counted")
        let run = try XCTUnwrap(try ResultsStore(path: database, readOnly: true).runs().first)
        XCTAssertEqual(run.durationSeconds(), seconds, "list and show print this")
    }
}
