import Foundation
import XCTest
import TrainLabStore

/// `trainlab slurm --submit` against a real SLURM: the one-node cluster `.ci/slurm-up` starts
/// (`.ci/run` does, around the tests). Skipped where no cluster answers.
final class ClusterSlurmTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        let nodes = try? runToEnd("/usr/bin/env", ["sinfo", "-h", "-o", "%T"], in: self)
        guard let nodes, nodes.status == 0, nodes.standardOutput.contains("idle") else {
            throw XCTSkip("no SLURM cluster with an idle node here (.ci/slurm-up starts one)")
        }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ClusterSlurmTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    private func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func testASweepSubmittedAsAJobArrayMergesToTheSameMetricsAsOneMachine() throws {
        let spec = """
            { "name": "slurm-sweep", "seed": 0,
              "task": { "kind": "spirals", "classes": 3, "train_size": 256, "val_size": 64, "noise": 0.2 },
              "model": { "kind": "mlp", "hidden": [16], "activation": "tanh" },
              "loss": "cross_entropy", "optimizer": { "kind": "adam", "lr": 0.01 },
              "training": { "steps": 300, "batch_size": 32, "log_every": 1, "eval_every": 50 },
              "sweep": { "seed": [0, 1, 2, 3], "optimizer.lr": [0.01, 0.003] } }
            """
        let (_, mergeJob) = try submit(spec, shards: 4)
        try assertMergeCompletes(mergeJob, runs: 8)
    }

    /// What a time limit and a preemption do to a task mid-run: shard 0's batch shell gets
    /// SIGUSR1, as `--signal=B:USR1@120` sends it before the limit, and its handler stops trainlab
    /// and requeues the task; shard 1 is requeued by `scontrol requeue`, which sends SIGTERM to
    /// every process of the task, as preemption does. Each requeued task resumes its interrupted
    /// run from the state saved when it stopped, and the merge equals one machine's run.
    func testTasksStoppedMidRunAndRequeuedResumeTheirRunsAndTheMergeStillMatches() throws {
        // Two runs per shard of a few seconds each: a run's rows are first committed with its
        // evaluation at step 0, and 4000 steps keep it running well past the signal.
        let steps = 4000
        let spec = """
            { "name": "slurm-requeue", "seed": 0,
              "task": { "kind": "spirals", "classes": 3, "train_size": 1024, "val_size": 64, "noise": 0.2 },
              "model": { "kind": "mlp", "hidden": [128, 128], "activation": "tanh" },
              "loss": "cross_entropy", "optimizer": { "kind": "adam", "lr": 0.01 },
              "training": { "steps": \(steps), "batch_size": 128, "log_every": 1, "eval_every": 100 },
              "sweep": { "seed": [0, 1], "optimizer.lr": [0.01, 0.003] } }
            """
        let (arrayJob, mergeJob) = try submit(spec, shards: 2)
        let stops = [["scancel", "--signal=USR1", "--batch", "\(arrayJob)_0"], ["scontrol", "requeue", "\(arrayJob)_1"]]
        var stoppedRuns: [RunRecord] = []
        for (shard, stop) in stops.enumerated() {
            let database = path("out-shard-\(shard).sqlite")
            var caught: RunRecord?
            XCTAssertTrue(try waitUntil(120) {
                caught = try runningRun(in: database, withRowsAtLeast: 1)
                return caught != nil
            }, "shard \(shard) never had a run with rows")
            guard let caught else { return }
            // Held, so that once requeued it waits while its database is read (a held running
            // task runs on).
            for command in [["scontrol", "hold", "\(arrayJob)_\(shard)"], stop] {
                let sent = try runToEnd("/usr/bin/env", command, in: self)
                XCTAssertEqual(sent.status, 0, "\(command): \(sent.standardError)")
            }
            stoppedRuns.append(caught)
        }
        for (shard, stopped) in stoppedRuns.enumerated() {
            let task = "\(arrayJob)_\(shard)"
            let database = path("out-shard-\(shard).sqlite")
            // Stopped at a step boundary with its state saved, and the task back in the queue.
            XCTAssertTrue(try waitUntil(120) {
                try ResultsStore(path: database, readOnly: true).runs().first { $0.id == stopped.id }?.status != .running
                    && jobField("JobState", of: task) == "PENDING"
            }, "task \(task) was not requeued with its run stopped")
            let interrupted = try XCTUnwrap(ResultsStore(path: database, readOnly: true).runs().first { $0.id == stopped.id })
            XCTAssertEqual(interrupted.status, .interrupted, "shard \(shard)'s run ended before the signal: make the runs longer")
            let savedStep = try Database(path: database, mode: .readOnly).rows(
                "SELECT step FROM run_state WHERE run_id = ?", [.integer(stopped.id)]) { $0.int(at: 0) }.first ?? 0
            XCTAssertTrue((1..<steps).contains(savedStep), "shard \(shard): no training state saved mid-run (step \(savedStep))")
            XCTAssertEqual(jobField("Restarts", of: task), "1")
            // It starts again once its old credential has expired (`cred_expire`: 5 s in
            // `.ci/slurm-up`, SLURM's default 120 s); the merge waits for it.
            let release = try runToEnd("/usr/bin/env", ["scontrol", "release", task], in: self)
            XCTAssertEqual(release.status, 0, release.standardError)
        }
        try assertMergeCompletes(mergeJob, runs: 4)
        for (shard, stopped) in stoppedRuns.enumerated() {
            // Resumed under the same id by the requeued task's process.
            let resumed = try XCTUnwrap(ResultsStore(path: path("out-shard-\(shard).sqlite"), readOnly: true).runs().first { $0.id == stopped.id })
            XCTAssertEqual(resumed.status, .completed)
            XCTAssertEqual(resumed.configHash, stopped.configHash)
            XCTAssertNotEqual(resumed.pid, stopped.pid, "shard \(shard)'s run was not resumed by a new process")
        }
    }

    /// A successive-halving search (9 trials, η = 3, rungs at 10, 30 and 90 steps) submitted as
    /// one array job per rung, each after the previous rung's merge: the last merge leaves the
    /// same trials, statuses, metrics (bit for bit, `time` aside) and `search.*` params
    /// (`search.rung`, `search.promoted`, ...) as the synchronous search run on one machine.
    func testASearchSubmittedAsOneArrayJobPerRungMergesToTheOneMachineSearch() throws {
        try AdaptiveSearchRunTests.halvingSpec.write(toFile: path("search.json"), atomically: true, encoding: .utf8)
        let submit = try runTrainlab(["slurm", path("search.json"), "--shards", "2", "--time", "00:10:00",
                                      "--db", path("out.sqlite"), "-o", path("search.sbatch"), "--submit"],
                                     in: self, environment: ProcessInfo.processInfo.environment)
        XCTAssertEqual(submit.status, 0, submit.standardError)
        // "rung 0 (to step 10): submitted array job 7 (2 tasks) and merge job 8", one line per rung.
        let lines = submit.standardOutput.split(separator: "\n").filter { $0.hasPrefix("rung ") }
        let jobs = lines.map { line -> [String] in
            let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
            return words.indices.filter { words[$0] == "job" && $0 + 1 < words.count }.map { words[$0 + 1] }
        }
        addTeardownBlock {
            let cancel = Process()
            cancel.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            cancel.arguments = ["scancel"] + jobs.flatMap { $0 }
            try? cancel.run()
            cancel.waitUntilExit()
        }
        XCTAssertEqual(jobs.map(\.count), [2, 2, 2], submit.standardOutput)
        guard jobs.count == 3, jobs.allSatisfy({ $0.count == 2 }) else { return }
        // Rung 1's array waits for rung 0's merge, which waits for rung 0's array.
        XCTAssertTrue(jobField("Dependency", of: jobs[1][0]).contains(jobs[0][1]) || jobField("JobState", of: jobs[1][0]) != "PENDING")
        for (rung, job) in jobs.enumerated() {
            let state = waitForEnd(ofJob: job[1])
            XCTAssertEqual(state, "COMPLETED", "rung \(rung)'s merge: "
                           + ((try? String(contentsOfFile: path("search-rung-\(rung)-merge.sbatch.\(job[1]).log"), encoding: .utf8)) ?? ""))
        }
        let one = try runTrainlab(["run", path("search.json"), "--db", path("one.sqlite"), "--quiet"], in: self)
        XCTAssertEqual(one.status, 0, one.standardError)
        let merged = try ClusterRungTests.searchResults(path("out.sqlite"))
        XCTAssertEqual(merged.count, 9)
        XCTAssertEqual(merged.values.filter { $0.contains("search.promoted=1") }.count, 3, "3 trials at rung 1, one of them at rung 2")
        XCTAssertEqual(merged, try ClusterRungTests.searchResults(path("one.sqlite")))
        // Every rung's tasks trained what their rung holds: 9, 3 and 1 trials.
        let trained = try (0..<3).map { rung in
            try (0..<(rung == 2 ? 1 : 2)).reduce(0) { count, shard in
                count + (try ResultsStore(path: path("out-rung-\(rung)-shard-\(shard).sqlite"), readOnly: true).runs().count)
            }
        }
        XCTAssertEqual(trained, [9, 3, 1])
    }

    /// Writes `spec` and submits it with `trainlab slurm --submit` as `shards` array tasks;
    /// returns the array's and the merge's job ids, both cancelled when the test ends.
    private func submit(_ spec: String, shards: Int) throws -> (array: String, merge: String) {
        try spec.write(toFile: path("sweep.json"), atomically: true, encoding: .utf8)
        let submit = try runTrainlab(["slurm", path("sweep.json"), "--shards", "\(shards)", "--time", "00:10:00",
                                      "--db", path("out.sqlite"), "-o", path("sweep.sbatch"), "--submit"],
                                     in: self, environment: ProcessInfo.processInfo.environment)
        XCTAssertEqual(submit.status, 0, submit.standardError)
        // "submitted array job 7 (4 tasks) and merge job 8 (after every task has ended)"
        let words = submit.standardOutput.split(whereSeparator: \.isWhitespace).map(String.init)
        let jobs = words.indices.filter { words[$0] == "job" && $0 + 1 < words.count }.map { words[$0 + 1] }
        let submitted = try XCTUnwrap(jobs.count == 2 ? (jobs[0], jobs[1]) : nil, submit.standardOutput)
        addTeardownBlock {
            // Jobs left by a failure are cancelled (scancel ends by itself, at once).
            let cancel = Process()
            cancel.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            cancel.arguments = ["scancel"] + jobs
            try? cancel.run()
            cancel.waitUntilExit()
        }
        return submitted
    }

    /// Waits for the merge job, then compares every metric but `time` of the merged database with
    /// the same sweep trained here in one process, bit for bit.
    private func assertMergeCompletes(_ mergeJob: String, runs: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let mergeState = waitForEnd(ofJob: mergeJob)
        XCTAssertEqual(mergeState, "COMPLETED", (try? String(contentsOfFile: path("sweep-merge.sbatch.\(mergeJob).log"), encoding: .utf8)) ?? "",
                       file: file, line: line)
        let one = try runTrainlab(["run", path("sweep.json"), "--db", path("one.sqlite"), "--quiet"], in: self)
        XCTAssertEqual(one.status, 0, one.standardError, file: file, line: line)
        let merged = try ClusterCommandTests.metricsByConfig(path("out.sqlite"))
        XCTAssertEqual(merged.count, runs, file: file, line: line)
        XCTAssertEqual(merged, try ClusterCommandTests.metricsByConfig(path("one.sqlite")), file: file, line: line)
    }

    /// The run `running` in `database` once it has logged `rows` metric rows; nil before (also
    /// while the task has not yet created the file).
    private func runningRun(in database: String, withRowsAtLeast rows: Int) throws -> RunRecord? {
        guard FileManager.default.fileExists(atPath: database),
              let run = try ResultsStore(path: database, readOnly: true).runs().first(where: { $0.status == .running }) else { return nil }
        let logged = try Database(path: database, mode: .readOnly).rows(
            "SELECT count(*) FROM metrics WHERE run_id = ?", [.integer(run.id)]) { $0.int(at: 0) }[0]
        return logged >= rows ? run : nil
    }

    /// `condition` polled until it holds (true) or `seconds` have passed (false).
    private func waitUntil(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    /// `FIELD=value` of `scontrol show job JOB`: its value, or "unknown".
    private func jobField(_ field: String, of job: String) -> String {
        let shown = try? runToEnd("/usr/bin/env", ["scontrol", "show", "job", job], in: self)
        return shown?.standardOutput.split(whereSeparator: \.isWhitespace)
            .first { $0.hasPrefix(field + "=") }.map { String($0.dropFirst(field.count + 1)) } ?? "unknown"
    }

    /// The job's final state (`JobState=` of `scontrol show job`), polled until it leaves
    /// pending and running; a deadline far beyond what the jobs need stops a stuck cluster.
    private func waitForEnd(ofJob job: String) -> String {
        let deadline = Date().addingTimeInterval(600)
        while Date() < deadline {
            let state = jobField("JobState", of: job)
            if !["PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED"].contains(state) { return state }
            Thread.sleep(forTimeInterval: 0.5)
        }
        return "still not ended after 600 s"
    }
}
