import XCTest
import Foundation
import TrainLabAutodiff
import TrainLabStore

/// Resume as a user meets it: `trainlab run` killed with kill -9 at several moments, or stopped
/// by Ctrl-C, SIGTERM or SIGUSR1, then run again until it completes; every metric row then
/// equals, bit for bit, those of the same spec run without interruption.
extension ProcessTests {
    /// (name, step, value bits) of every metric row of the database's one run.
    func metricRows(_ database: String) throws -> [String] {
        let store = try ResultsStore(path: database, readOnly: true)
        let runs = try store.runs()
        XCTAssertEqual(runs.count, 1, database)
        return try Database(path: database, mode: .readOnly).rows(
            "SELECT name, step, value FROM metrics WHERE run_id = ? ORDER BY name, step", [.integer(runs[0].id)]) {
            // `time` is wall-clock training seconds: the same steps, never the same values.
            $0.string(at: 0) == "time" ? "time \($0.int(at: 1))"
                : "\($0.string(at: 0)) \($0.int(at: 1)) \(($0.optionalDouble(at: 2) ?? .nan).bitPattern)"
        }
    }


    func testKilledAndSignalledRunsResumeBitIdentically() throws {
        // (spec, how each attempt but the last ends: a signal after the run has logged k rows)
        let cases: [(String, [(Int32, Int)])] = [
            (ResumeSpecs.mlpBatchNormAdam(steps: 600), [(SIGKILL, 100), (SIGKILL, 500), (SIGINT, 900), (SIGKILL, 1400)]),
            (ResumeSpecs.transformerAdamW(steps: 300), [(SIGKILL, 60), (SIGTERM, 300), (SIGKILL, 600)]),
            (ResumeSpecs.lbfgs(steps: 300), [(SIGKILL, 50), (SIGUSR1, 400), (SIGKILL, 700)]),
        ]
        for (text, stops) in cases {
            let specPath = try specFile(text, name: "resume-\(UUID().uuidString).json")
            let folder = URL(fileURLWithPath: specPath).deletingLastPathComponent()
            let reference = folder.appendingPathComponent("\(UUID().uuidString).sqlite").path
            let uninterrupted = try launch(["run", specPath, "--db", reference, "--quiet"])
            uninterrupted.waitUntilExit()
            XCTAssertEqual(uninterrupted.terminationStatus, 0)

            let database = folder.appendingPathComponent("\(UUID().uuidString).sqlite").path
            var printed = ""
            for (number, rows) in stops {
                let output = Pipe()
                let process = try launch(["run", specPath, "--db", database], output: output)
                _ = try waitUntil(60) {
                    if !process.isRunning { return true }
                    guard FileManager.default.fileExists(atPath: database) else { return false }
                    guard let run = try ResultsStore(path: database, readOnly: true).runs().first,
                          run.pid == Int(process.processIdentifier) else { return false }
                    return try Database(path: database, mode: .readOnly).rows(
                        "SELECT count(*) FROM metrics WHERE run_id = ?", [.integer(run.id)]) { $0.int(at: 0) }[0] >= rows
                }
                kill(process.processIdentifier, number)
                process.waitUntilExit()
                printed += String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                // A run that finished before the signal exits 0; a stopped one 130.
                if number != SIGKILL { XCTAssertTrue([0, 130].contains(process.terminationStatus), "\(process.terminationStatus)") }
            }
            let last = try launch(["run", specPath, "--db", database, "--quiet"])
            last.waitUntilExit()
            XCTAssertEqual(last.terminationStatus, 0)
            let runs = try ResultsStore(path: database, readOnly: true).runs()
            XCTAssertEqual(runs.map(\.status), [.completed], text)
            XCTAssertTrue(printed.contains("resuming run 1 after step"), printed)
            XCTAssertEqual(try metricRows(database), try metricRows(reference), text)
        }
    }
}
