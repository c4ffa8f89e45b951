import XCTest
import Foundation
@testable import trainlab

/// The command-line conventions of git and cargo: help on stdout with exit 0, `--version`, a
/// did-you-mean for a misspelt option, progress of parallel runs, output that arrives when piped.
final class CommandLineTests: XCTestCase {
    typealias Outcome = TrainlabOutcome

    func trainlab(_ arguments: [String]) throws -> Outcome { try runTrainlab(arguments, in: self) }

    func testHelpPrintsUsageOnStandardOutputAndSucceeds() throws {
        for arguments in [["--help"], ["-h"], ["help"]] {
            let outcome = try trainlab(arguments)
            XCTAssertEqual(outcome.status, 0, "\(arguments)")
            XCTAssertEqual(outcome.standardOutput, usage, "\(arguments)")
            XCTAssertEqual(outcome.standardError, "", "\(arguments)")
        }
        let run = try lookUpCommand("run")
        for arguments in [["help", "run"], ["run", "--help"], ["run", "-h"], ["run", "spec.json", "--help"]] {
            let outcome = try trainlab(arguments)
            XCTAssertEqual(outcome.status, 0, "\(arguments)")
            XCTAssertEqual(outcome.standardOutput, run.usage, "\(arguments)")
            XCTAssertTrue(outcome.standardOutput.hasPrefix("usage: trainlab run SPEC.json..."), outcome.standardOutput)
            XCTAssertTrue(outcome.standardOutput.contains("--jobs N"), outcome.standardOutput)
        }
    }

    /// An instruction set the user asks for is honoured or refused, never silently replaced.
    func testUnknownInstructionSetIsABadInput() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let spec = root.appendingPathComponent("experiments/quickstart.json").path
        let bogus = try runTrainlab(["validate", spec], in: self, environment: ["TRAINLAB_ISA": "avx9000"])
        XCTAssertEqual(bogus.status, 2)
        XCTAssertEqual(bogus.standardError,
                       "trainlab: TRAINLAB_ISA: unknown instruction set 'avx9000'; expected one of avx512_bf16, avx512, avx2, portable\n")
        let portable = try runTrainlab(["validate", spec], in: self, environment: ["TRAINLAB_ISA": "portable"])
        XCTAssertEqual(portable.status, 0, portable.standardError)
    }

    /// A TRAINLAB_THREADS that is not a positive integer used to fall back to every core, silently.
    func testBadThreadCountInTheEnvironmentIsABadInput() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let spec = root.appendingPathComponent("experiments/quickstart.json").path
        for bad in ["banana", "0", "-2", "1.5"] {
            let outcome = try runTrainlab(["validate", spec], in: self, environment: ["TRAINLAB_THREADS": bad])
            XCTAssertEqual(outcome.status, 2, bad)
            XCTAssertEqual(outcome.standardError, "trainlab: TRAINLAB_THREADS: expected a positive integer (kernel threads), got '\(bad)'\n")
        }
        XCTAssertEqual(try runTrainlab(["validate", spec], in: self, environment: ["TRAINLAB_THREADS": "1"]).status, 0)
    }

    func testEveryCommandAnswersHelpAndListsItsOptionsInItsUsageLines() throws {
        for command in commandTable {
            let outcome = try trainlab([command.name, "--help"])
            XCTAssertEqual(outcome.status, 0, command.name)
            XCTAssertEqual(outcome.standardOutput, command.usage, command.name)
            for synopsis in command.synopses { XCTAssertTrue(usage.contains("  \(synopsis)\n"), synopsis) }
            let synopses = command.synopses.joined(separator: " ")
            for option in command.options {
                XCTAssertTrue(option.names.contains { synopses.contains($0) },
                              "\(command.name): \(option.spelled) is accepted but not in its usage lines")
            }
        }
    }

    func testVersion() throws {
        for arguments in [["--version"], ["version"]] {
            let outcome = try trainlab(arguments)
            XCTAssertEqual(outcome.status, 0)
            XCTAssertEqual(outcome.standardOutput, "trainlab \(programVersion)\n")
        }
    }

    func testUsageErrorsGoToStandardErrorWithExitStatus2() throws {
        let misspelt = try trainlab(["run", "x.json", "--jbos", "2"])
        XCTAssertEqual(misspelt.status, 2)
        XCTAssertEqual(misspelt.standardOutput, "")
        XCTAssertTrue(misspelt.standardError.hasPrefix("trainlab: unknown option '--jbos' for run, did you mean '--jobs'?\nusage: trainlab run "),
                      misspelt.standardError)

        let command = try trainlab(["lsit"])
        XCTAssertEqual(command.status, 2)
        XCTAssertTrue(command.standardError.contains("unknown command 'lsit', did you mean 'list'?"), command.standardError)

        let helpForNothing = try trainlab(["help", "rnu"])
        XCTAssertEqual(helpForNothing.status, 2)
        XCTAssertTrue(helpForNothing.standardError.contains("did you mean 'run'?"), helpForNothing.standardError)

        let nothing = try trainlab([])
        XCTAssertEqual(nothing.status, 2)
        XCTAssertEqual(nothing.standardOutput, usage)
    }

    /// `--jobs 2` with stderr not a terminal: every run gets plain progress lines (at least the
    /// one at its last step) with its ETA and the sweep's; stdout, piped, has each run's result.
    func testParallelRunsShowProgressWithTheSweepETA() throws {
        let spec = try specFile("""
            {"name": "cli-sweep", "task": {"kind": "blobs", "train_size": 64, "val_size": 16},
             "model": {"hidden": [4]}, "loss": "cross_entropy", "optimizer": {"kind": "sgd", "lr": 0.1},
             "training": {"batch_size": 16, "eval_every": 0},
             "sweep": {"training.steps": [20, 21, 22]}}
            """)
        let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("cli.sqlite").path
        let outcome = try trainlab(["run", spec, "--db", database, "--jobs", "2"])
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        for (i, steps) in [20, 21, 22].enumerated() {
            let label = "[\(i + 1)/3] cli-sweep training.steps=\(steps)"
            XCTAssertTrue(outcome.standardOutput.contains("\(label): run "), outcome.standardOutput)
            let progress = outcome.standardError.split(separator: "\n").filter { $0.hasPrefix(label + "  step ") }
            XCTAssertFalse(progress.isEmpty, outcome.standardError)
            XCTAssertTrue(progress.allSatisfy { $0.contains(" ETA ") && $0.contains("  sweep ") }, outcome.standardError)
        }
        XCTAssertTrue(outcome.standardError.contains("%, ETA "), outcome.standardError)
        XCTAssertTrue(outcome.standardOutput.hasSuffix("results in \(database)\n"), outcome.standardOutput)

        let quiet = try trainlab(["run", spec, "--db", database, "--jobs", "2", "--force", "--quiet"])
        XCTAssertEqual(quiet.status, 0)
        XCTAssertEqual(quiet.standardOutput + quiet.standardError, "")
    }

    /// `validate --db` says what `run` would do with each run (the contract's "which runs are
    /// done already"): seed 0 trained before is skipped, seed 1 would train.
    func testValidateWithTheDatabaseSaysWhichRunsAreDone() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trainlab-done-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func spec(seeds: String) throws -> String {
            let path = folder.appendingPathComponent("s\(seeds.count).json").path
            try #"{"name": "done", "task": {"kind": "spirals", "train_size": 64, "val_size": 0}, "model": {"hidden": [4]}, "loss": "cross_entropy", "optimizer": "sgd", "training": {"steps": 3}, "sweep": {"seed": \#(seeds)}}"#
                .write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let database = folder.appendingPathComponent("r.sqlite").path
        let fresh = try runTrainlab(["validate", try spec(seeds: "[0, 1]"), "--db", database], in: self)
        XCTAssertEqual(fresh.status, 0, fresh.standardError)
        XCTAssertTrue(fresh.standardOutput.hasPrefix("\(database): no database yet; every run would train\n"), fresh.standardOutput)
        XCTAssertFalse(FileManager.default.fileExists(atPath: database), "validate creates no database")

        XCTAssertEqual(try runTrainlab(["run", try spec(seeds: "[0]"), "--db", database, "--quiet"], in: self).status, 0)
        let outcome = try runTrainlab(["validate", try spec(seeds: "[0, 1]"), "--db", database], in: self)
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        let lines = outcome.standardOutput.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, outcome.standardOutput)
        XCTAssertTrue(lines[1].hasSuffix("[seed=0]; completed already as run 1, skipped"), lines[1])
        XCTAssertTrue(lines[2].hasSuffix("[seed=1]"), lines[2])
        XCTAssertEqual(lines[3], "\(database): 1 of 2 runs done already (--force reruns them), 0 to resume, 0 running, 1 to train")
    }

    /// docs/command-line.md's usage block is what `trainlab --help` prints.
    func testReadmeShowsTheUsage() throws {
        let readme = try String(contentsOf: URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/command-line.md"), encoding: .utf8)
        XCTAssertTrue(readme.contains("```\n$ trainlab --help\n\(usage)```\n"), "docs/command-line.md's usage block differs from `trainlab --help`")
    }
}

struct TrainlabOutcome {
    let status: Int32
    let standardOutput: String
    let standardError: String
}

/// The `trainlab` binary built beside the test bundle.
var trainlabBinary: URL {
    let bundle = URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
    return bundle.deletingLastPathComponent().appendingPathComponent("trainlab")
}

/// Runs `trainlab arguments` to its end with stdout and stderr in files (neither a terminal,
/// and no pipe to fill up while the other is read), with `environment` added to its own.
func runTrainlab(_ arguments: [String], in test: XCTestCase, environment: [String: String] = [:]) throws -> TrainlabOutcome {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trainlab-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let outPath = folder.appendingPathComponent("stdout").path, errPath = folder.appendingPathComponent("stderr").path
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let process = Process()
    process.executableURL = trainlabBinary
    process.arguments = arguments
    process.standardOutput = FileHandle(forWritingAtPath: outPath)
    process.standardError = FileHandle(forWritingAtPath: errPath)
    process.environment = ["TRAINLAB_THREADS": "2"].merging(environment) { $1 }
    try process.run()
    // Ended in teardown whatever the test's outcome.
    test.addTeardownBlock {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
    process.waitUntilExit()
    return TrainlabOutcome(status: process.terminationStatus,
                   standardOutput: try String(contentsOfFile: outPath, encoding: .utf8),
                   standardError: try String(contentsOfFile: errPath, encoding: .utf8))
}
