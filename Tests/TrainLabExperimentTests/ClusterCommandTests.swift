import Foundation
import XCTest
@testable import trainlab
@testable import TrainLabStore

/// Sweeps split into shards (`run --shard`), merged back (`merge`), watched (`status`) and
/// scripted for SLURM (`slurm`), through the built binary.
final class ClusterCommandTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ClusterCommandTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    private func trainlab(_ arguments: [String], environment: [String: String] = [:]) throws -> TrainlabOutcome {
        try runTrainlab(arguments, in: self, environment: environment)
    }

    /// A sweep of tiny runs: `seeds` seeds × two learning rates, 60 steps each.
    private func writeSweep(seeds: Int = 3) throws -> String {
        let spec = """
            { "name": "shards", "seed": 0,
              "task": { "kind": "spirals", "classes": 3, "train_size": 128, "val_size": 32, "noise": 0.2 },
              "model": { "kind": "mlp", "hidden": [8], "activation": "tanh" },
              "loss": "cross_entropy", "optimizer": { "kind": "adam", "lr": 0.01 },
              "training": { "steps": 60, "batch_size": 16, "log_every": 1, "eval_every": 20 },
              "sweep": { "seed": [\((0..<seeds).map(String.init).joined(separator: ", "))], "optimizer.lr": [0.01, 0.003] } }
            """
        try spec.write(toFile: path("sweep.json"), atomically: true, encoding: .utf8)
        return path("sweep.json")
    }

    /// Every metric but wall-clock time, keyed by config hash: `[hash: [(step, name, value bits)]]`.
    static func metricsByConfig(_ database: String) throws -> [String: [String]] {
        let store = try ResultsStore(path: database, readOnly: true)
        var result: [String: [String]] = [:]
        for run in try store.runs() where run.supersededBy == nil {
            result[run.configHash!] = try store.database.rows("""
                SELECT step, name, value FROM metrics WHERE run_id = ? AND name != 'time' ORDER BY name, step
                """, [.integer(run.id)]) { "\($0.int(at: 0)) \($0.string(at: 1)) \($0.optionalDouble(at: 2)?.bitPattern.description ?? "null")" }
        }
        return result
    }

    func testShardsMergedEqualTheSweepRunOnOneMachineBitForBit() throws {
        let spec = try writeSweep()
        for shard in 0..<3 {
            let outcome = try trainlab(["run", spec, "--shard", "\(shard)/3", "--db", path("shard-{shard}.sqlite"), "--quiet"])
            XCTAssertEqual(outcome.status, 0, outcome.standardError)
        }
        XCTAssertEqual(try trainlab(["run", spec, "--db", path("one.sqlite"), "--quiet"]).status, 0)

        let shardFiles = (0..<3).map { path("shard-\($0).sqlite") }
        let counts = try shardFiles.map { try ResultsStore(path: $0, readOnly: true).runs().count }
        XCTAssertEqual(counts, [2, 2, 2], "equal costs: two runs each")
        let merge = try trainlab(["merge", path("out.sqlite")] + shardFiles + ["--expect", spec])
        XCTAssertEqual(merge.status, 0, merge.standardError)
        XCTAssertTrue(merge.standardOutput.contains("6 of 6 expected runs have a result"), merge.standardOutput)
        let merged = try Self.metricsByConfig(path("out.sqlite"))
        XCTAssertEqual(merged.count, 6)
        XCTAssertEqual(merged, try Self.metricsByConfig(path("one.sqlite")))

        let again = try trainlab(["merge", path("out.sqlite")] + shardFiles)
        XCTAssertEqual(again.standardOutput.components(separatedBy: "0 runs added").count - 1, 3, again.standardOutput)
        XCTAssertEqual(try ResultsStore(path: path("out.sqlite"), readOnly: true).runs().count, 6)

        let status = try trainlab(["status", path("shard-*.sqlite")])
        XCTAssertEqual(status.status, 0, status.standardError)
        XCTAssertTrue(status.standardOutput.contains("shard-2.sqlite: 2 runs: 2 done, 0 running, 0 failed, 0 interrupted"),
                      status.standardOutput)
    }

    func testMergeNamesMissingShardsAndRunsWithoutAResult() throws {
        let spec = try writeSweep()
        XCTAssertEqual(try trainlab(["run", spec, "--shard", "0/3", "--db", path("shard-{shard}.sqlite"), "--quiet"]).status, 0)
        let merge = try trainlab(["merge", path("out.sqlite"), path("shard-0.sqlite"), path("shard-1.sqlite"), "--expect", spec])
        XCTAssertEqual(merge.status, 1)
        XCTAssertTrue(merge.standardOutput.contains("missing: \(path("shard-1.sqlite")) does not exist"), merge.standardOutput)
        XCTAssertTrue(merge.standardOutput.contains("2 of 6 expected runs have a result"), merge.standardOutput)
        XCTAssertEqual(merge.standardOutput.components(separatedBy: "not completed: ").count - 1, 4, merge.standardOutput)
        XCTAssertEqual(try trainlab(["merge", path("out.sqlite"), path("out.sqlite")]).status, 2, "a database into itself")
    }

    /// `status --expect`: a shard that never started still shows, as the runs no database holds.
    func testStatusCountsTheRunsNoShardHasStarted() throws {
        let spec = try writeSweep()
        XCTAssertEqual(try trainlab(["run", spec, "--shard", "0/3", "--db", path("shard-{shard}.sqlite"), "--quiet"]).status, 0)
        let status = try trainlab(["status", path("shard-*.sqlite"), "--expect", spec])
        XCTAssertEqual(status.status, 0, status.standardError)
        XCTAssertTrue(status.standardOutput.contains("expected 6 runs (\(spec)): 2 done, 0 running, 0 failed, 0 interrupted, 4 pending (in no database yet)"),
                      status.standardOutput)
        XCTAssertEqual(status.standardOutput.components(separatedBy: "  pending: shards seed ").count - 1, 4, status.standardOutput)
        let plain = try trainlab(["status", path("shard-*.sqlite")])
        XCTAssertFalse(plain.standardOutput.contains("pending"), "without --expect only the databases are read")
    }

    func testShardAutoReadsASlurmArrayOrAnIndexedJob() throws {
        let spec = try writeSweep()
        let slurm = ["SLURM_ARRAY_TASK_ID": "6", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_COUNT": "3"]
        let task = try trainlab(["run", spec, "--shard", "auto", "--db", path("s-{shard}.sqlite")], environment: slurm)
        XCTAssertEqual(task.status, 0, task.standardError)
        XCTAssertTrue(task.standardOutput.hasPrefix("shard 2 of 3: 2 of the 6 runs"), task.standardOutput)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("s-2.sqlite")))

        let pod = ["JOB_COMPLETION_INDEX": "1"]
        XCTAssertEqual(try trainlab(["run", spec, "--shard", "auto", "--db", path("k-{shard}.sqlite")], environment: pod).status, 2,
                       "an indexed Job does not say how many shards")
        XCTAssertEqual(try trainlab(["run", spec, "--shard", "auto", "--shards", "3", "--db", path("k-{shard}.sqlite")], environment: pod).status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("k-1.sqlite")))

        for bad in [["--shard", "3/3"], ["--shard", "1of3"], ["--shard", "auto"], ["--db", path("x-{shard}.sqlite")], ["--shards", "2"]] {
            XCTAssertEqual(try trainlab(["run", spec] + bad).status, 2, "\(bad)")
        }
    }

    func testValidatePrintsEachShardsRunsAndEstimate() throws {
        let spec = try writeSweep()
        let outcome = try trainlab(["validate", spec, "--shards", "4"])
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        let shardLines = outcome.standardOutput.split(separator: "\n").filter { $0.hasPrefix("  shard ") }
        XCTAssertEqual(shardLines.count, 4, outcome.standardOutput)
        XCTAssertTrue(shardLines[0].hasPrefix("  shard 0: 2 runs (1, 5), "), String(shardLines[0]))
        XCTAssertTrue(shardLines[3].hasPrefix("  shard 3: 1 run (4), "), String(shardLines[3]))
    }

    /// A --time sbatch would refuse on submission is refused here (it used to be written as is).
    func testSlurmTimeIsOneOfSbatchsForms() throws {
        let spec = try writeSweep(seeds: 2)
        for bad in ["abc", "-5", "99:99", "1-24", "1:2:3:4"] {
            let outcome = try trainlab(["slurm", spec, "--shards", "2", "--time", bad, "-o", path("bad.sbatch")])
            XCTAssertEqual(outcome.status, 2, bad)
            XCTAssertTrue(outcome.standardError.contains("--time \(bad): expected sbatch's forms"), outcome.standardError)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("bad.sbatch")))
        for good in ["30", "30:00", "1:30:00", "2-12", "2-12:30", "2-12:30:00", "UNLIMITED"] {
            XCTAssertTrue(SlurmCommand.isSlurmTime(good), good)
        }
    }

    func testSlurmScriptsRunAsAnArrayTaskAndAMergeJobWould() throws {
        let spec = try writeSweep(seeds: 2)
        let outcome = try trainlab(["slurm", spec, "--shards", "2", "--time", "00:10:00", "--partition", "debug",
                                    "--db", path("out.sqlite"), "-o", path("sweep.sbatch")])
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        let script = try String(contentsOfFile: path("sweep.sbatch"), encoding: .utf8)
        for line in ["#SBATCH --array=0-1", "#SBATCH --requeue", "#SBATCH --signal=B:USR1@120", "#SBATCH --time=00:10:00",
                     "#SBATCH --partition=debug", "--shard auto", "scontrol requeue"] {
            XCTAssertTrue(script.contains(line), "\(line) in\n\(script)")
        }
        let mergeScript = try String(contentsOfFile: path("sweep-merge.sbatch"), encoding: .utf8)
        XCTAssertTrue(mergeScript.contains(" merge '\(path("out.sqlite"))' '\(path("out-shard-0.sqlite"))' '\(path("out-shard-1.sqlite"))'"),
                      mergeScript)
        XCTAssertTrue(outcome.standardOutput.contains("--dependency=afterany:"), outcome.standardOutput)

        // Task 1 as SLURM would start it, then the merge: shard 0 never ran.
        let task = try runToEnd("/bin/bash", [path("sweep.sbatch")], in: self, environment: ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2",
                                                                    "SLURM_CPUS_PER_TASK": "1"])
        XCTAssertEqual(task.status, 0, task.standardError)
        XCTAssertEqual(try ResultsStore(path: path("out-shard-1.sqlite"), readOnly: true).runs().map(\.status), [.completed, .completed])
        let merge = try runToEnd("/bin/bash", [path("sweep-merge.sbatch")], in: self)
        XCTAssertEqual(merge.status, 1)
        XCTAssertTrue(merge.standardOutput.contains("missing: \(path("out-shard-0.sqlite"))"), merge.standardOutput)
        XCTAssertTrue(merge.standardOutput.contains("2 of 4 expected runs have a result"), merge.standardOutput)
    }
}

/// Runs `executable arguments` to its end, in this process's environment with `environment`
/// added; the outputs must be small (one is read to its end before the other).
func runToEnd(_ executable: String, _ arguments: [String], in test: XCTestCase,
              environment: [String: String] = [:]) throws -> TrainlabOutcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    test.addTeardownBlock {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
    let standardOutput = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let standardError = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return TrainlabOutcome(status: process.terminationStatus, standardOutput: standardOutput, standardError: standardError)
}
