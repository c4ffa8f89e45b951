import XCTest
import Foundation
import TrainLabStore

/// The command line as a user runs it: separate `trainlab` processes on one database, killed
/// at arbitrary moments.
final class ProcessTests: XCTestCase {
    /// The `trainlab` binary built beside the test bundle.
    var binary: URL {
        let bundle = URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
        return bundle.deletingLastPathComponent().appendingPathComponent("trainlab")
    }

    func launch(_ arguments: [String], output: Pipe? = nil) throws -> Process {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.standardOutput = output ?? FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.environment = ["TRAINLAB_THREADS": "1"]
        try process.run()
        // Ended in teardown whatever the test's outcome: a failed assertion must not leave a
        // 10-million-step run behind.
        addTeardownBlock {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        return process
    }

    /// Polls `condition` every 20 ms for up to `seconds`.
    func waitUntil(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(20_000)
        }
        return false
    }

    /// Every step logged (`log_every` 1, not the default's 1 in 10,000 for the 10⁷-step run):
    /// the tests compare the last logged step with the saved state's.
    func spec(steps: String, name: String = "sweep") throws -> String {
        try specFile("""
            {"name": "\(name)", "task": {"kind": "blobs", "train_size": 128, "val_size": 32},
             "model": {"hidden": [8]}, "loss": "cross_entropy", "optimizer": {"kind": "sgd", "lr": 0.1},
             "training": {"batch_size": 16, "eval_every": 0, "log_every": 1},
             "sweep": {"training.steps": \(steps)}}
            """)
    }

    struct MissingBinary: Error, CustomStringConvertible {
        let path: String
        var description: String { "trainlab is not built at \(path) (the test target depends on it)" }
    }

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else { throw MissingBinary(path: binary.path) }
    }

    /// kill -9 mid-run: the database stays consistent and readable, the run is later marked
    /// `interrupted`; rerunning the sweep skips the completed run and resumes the interrupted
    /// one under its id (from the start: it saved no state); Ctrl-C (SIGINT) ends a run cleanly
    /// as `interrupted`, its state saved, with exit status 130.
    func testKilledRunIsInterruptedAndTheSweepResumes() throws {
        let specPath = try spec(steps: "[30, 10000000]")
        let database = URL(fileURLWithPath: specPath).deletingLastPathComponent().appendingPathComponent("r.sqlite").path
        let first = try launch(["run", specPath, "--db", database, "--quiet"])
        let started = try waitUntil(20) {
            guard FileManager.default.fileExists(atPath: database) else { return false }
            let store = try ResultsStore(path: database, readOnly: true)
            let runs = try store.runs()
            guard runs.count == 2 else { return false }
            return try store.metrics(runID: runs[1].id, name: "train_loss").count > 0
        }
        XCTAssertTrue(started, "the second run never logged metrics")
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()

        let store = try ResultsStore(path: database)
        XCTAssertEqual(try store.markInterruptedRuns(), [2])
        XCTAssertEqual(try store.runs().map(\.status), [.completed, .interrupted])
        XCTAssertGreaterThan(try store.metrics(runID: 2, name: "train_loss").count, 0)
        let check = try Database(path: database, mode: .readOnly).rows("PRAGMA integrity_check") { $0.string(at: 0) }
        XCTAssertEqual(check, ["ok"])

        let output = Pipe()
        let second = try launch(["run", specPath, "--db", database], output: output)
        XCTAssertTrue(try waitUntil(20) {
            guard try store.runs()[1].pid == Int(second.processIdentifier) else { return false }
            return try store.metrics(runID: 2, name: "train_loss").count > 0
        })
        kill(second.processIdentifier, SIGINT)
        second.waitUntilExit()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(second.terminationStatus, 130)
        XCTAssertTrue(printed.contains("already completed as run 1, skipped"), printed)
        XCTAssertTrue(printed.contains("resuming run 2 from the start"), printed)
        XCTAssertEqual(try store.runs().map(\.status), [.completed, .interrupted])
        XCTAssertNotNil(try store.runs()[1].finishedAt)
        let saved = try XCTUnwrap(try store.savedStateStep(runID: 2))
        XCTAssertEqual(try store.metrics(runID: 2, name: "train_loss").last?.step, saved)
    }

    /// Two processes writing one database at once: both succeed, every run and metric lands.
    func testTwoProcessesShareADatabase() throws {
        let a = try spec(steps: "[200, 201, 202]", name: "a")
        let b = try spec(steps: "[200, 201, 202]", name: "b")
        let database = URL(fileURLWithPath: a).deletingLastPathComponent().appendingPathComponent("shared.sqlite").path
        let processes = try [a, b].map { try launch(["run", $0, "--db", database, "--quiet"]) }
        for p in processes { p.waitUntilExit() }
        XCTAssertEqual(processes.map(\.terminationStatus), [0, 0])
        let store = try ResultsStore(path: database, readOnly: true)
        let runs = try store.runs()
        XCTAssertEqual(runs.count, 6)
        XCTAssertTrue(runs.allSatisfy { $0.status == .completed })
        for run in runs {
            let steps = try store.metrics(runID: run.id, name: "train_loss").map(\.step)
            XCTAssertEqual(steps.count, steps.last, "run \(run.id): every step 1...N logged once")
        }
    }

    /// SIGHUP ends a run as Ctrl-C does (interrupted, exit 130); two signals in a phase that does
    /// not check for them (building a large data set) end the process at once, its run marked
    /// interrupted all the same.
    func testSignalsAtEveryPhaseLeaveTheRunInterrupted() throws {
        let folder = URL(fileURLWithPath: try spec(steps: "[1]")).deletingLastPathComponent()
        let long = try specFile("""
            {"name": "hup", "task": {"kind": "blobs", "train_size": 128, "val_size": 0}, "model": {"hidden": [8]},
             "loss": "cross_entropy", "optimizer": "sgd", "training": {"steps": 10000000, "batch_size": 16}}
            """)
        let huge = try specFile("""
            {"name": "big", "task": {"kind": "teacher_classification", "train_size": 2000000, "val_size": 0},
             "model": {"hidden": [8]}, "loss": "cross_entropy", "optimizer": "sgd", "training": {"steps": 10}}
            """)
        for (file, signals) in [(long, [SIGHUP]), (huge, [SIGINT, SIGINT])] {
            let database = folder.appendingPathComponent("\(UUID().uuidString).sqlite").path
            let process = try launch(["run", file, "--db", database, "--quiet"])
            let started = try waitUntil(60) {
                guard FileManager.default.fileExists(atPath: database) else { return false }
                let runs = try ResultsStore(path: database, readOnly: true).runs()
                guard let run = runs.first else { return false }
                // The long run is past its data; the big one is still building it.
                if signals.count == 2 { return true }
                return try ResultsStore(path: database, readOnly: true).metrics(runID: run.id, name: "train_loss").count > 0
            }
            XCTAssertTrue(started, "\(file) never started")
            for number in signals {
                kill(process.processIdentifier, number)
                usleep(50_000)
            }
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 130, "\(signals)")
            let runs = try ResultsStore(path: database, readOnly: true).runs()
            XCTAssertEqual(runs.map(\.status), [.interrupted], "\(signals)")
            XCTAssertNotNil(runs.first?.finishedAt)
        }
    }
}
