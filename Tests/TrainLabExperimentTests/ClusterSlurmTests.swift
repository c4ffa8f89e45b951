import Foundation
import XCTest

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
        try spec.write(toFile: path("sweep.json"), atomically: true, encoding: .utf8)
        let submit = try runTrainlab(["slurm", path("sweep.json"), "--shards", "4", "--time", "00:10:00",
                                      "--db", path("out.sqlite"), "-o", path("sweep.sbatch"), "--submit"],
                                     in: self, environment: ProcessInfo.processInfo.environment)
        XCTAssertEqual(submit.status, 0, submit.standardError)
        // "submitted array job 7 (4 tasks) and merge job 8 (after every task has ended)"
        let words = submit.standardOutput.split(whereSeparator: \.isWhitespace).map(String.init)
        let jobs = words.indices.filter { words[$0] == "job" && $0 + 1 < words.count }.map { words[$0 + 1] }
        XCTAssertEqual(jobs.count, 2, submit.standardOutput)
        guard jobs.count == 2 else { return }
        addTeardownBlock {
            // Jobs left by a failure are cancelled (scancel ends by itself, at once).
            let cancel = Process()
            cancel.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            cancel.arguments = ["scancel"] + jobs
            try? cancel.run()
            cancel.waitUntilExit()
        }

        let mergeState = try waitForEnd(ofJob: jobs[1])
        XCTAssertEqual(mergeState, "COMPLETED", (try? String(contentsOfFile: path("sweep-merge.sbatch.\(jobs[1]).log"), encoding: .utf8)) ?? "")
        let one = try runTrainlab(["run", path("sweep.json"), "--db", path("one.sqlite"), "--quiet"], in: self)
        XCTAssertEqual(one.status, 0, one.standardError)
        let merged = try ClusterCommandTests.metricsByConfig(path("out.sqlite"))
        XCTAssertEqual(merged.count, 8)
        XCTAssertEqual(merged, try ClusterCommandTests.metricsByConfig(path("one.sqlite")))
    }

    /// The job's final state (`JobState=` of `scontrol show job`), polled until it leaves
    /// pending and running; a deadline far beyond what the jobs need stops a stuck cluster.
    private func waitForEnd(ofJob job: String) throws -> String {
        let deadline = Date().addingTimeInterval(600)
        while Date() < deadline {
            let shown = try runToEnd("/usr/bin/env", ["scontrol", "show", "job", job], in: self)
            let state = shown.standardOutput.split(whereSeparator: \.isWhitespace)
                .first { $0.hasPrefix("JobState=") }.map { String($0.dropFirst("JobState=".count)) } ?? "unknown"
            if !["PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED"].contains(state) { return state }
            Thread.sleep(forTimeInterval: 0.5)
        }
        return "still not ended after 600 s"
    }
}
