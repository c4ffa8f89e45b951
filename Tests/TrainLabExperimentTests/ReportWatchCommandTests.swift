import Foundation
import XCTest
@testable import TrainLabStore

/// `report --watch` on a database a real `trainlab run` is writing, and `report --db GLOB` on
/// shards. No sleeps to wait on: each step polls for a condition, with a generous deadline.
final class ReportWatchCommandTests: XCTestCase {
    private var folder: URL!
    private var processes: [Process] = []

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ReportWatchCommandTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        for process in processes where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }

    private func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// Starts `trainlab arguments` in the background, stdout to `name`.out; ended in teardown.
    private func start(_ arguments: [String], output name: String) throws -> Process {
        let process = Process()
        process.executableURL = trainlabBinary
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: path(name + ".out"), contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: path(name + ".out"))
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        process.environment = ["TRAINLAB_THREADS": "1", "PATH": "/usr/bin:/bin"]
        processes.append(process)
        try process.run()
        return process
    }

    /// Polls `condition` until it holds or `seconds` pass (a deadline for a hung process, not a timing).
    private func waitFor(_ what: String, seconds: Double = 240, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw NSError(domain: "ReportWatchCommandTests", code: 1,
                      userInfo: [NSLocalizedDescriptionKey: "gave up waiting for \(what) after \(Int(seconds)) s"])
    }

    /// The last logged step of the page's train_loss chart and whether the page says it is live.
    private func page() -> (last: Int, live: Bool)? {
        guard let html = try? String(contentsOfFile: path("live.html"), encoding: .utf8),
              let chart = html.range(of: "\"id\":\"chart-train-loss\"") else { return nil }
        let rest = html[chart.upperBound...]
        guard let last = rest.range(of: "\"last\":[0-9]+", options: .regularExpression) else { return nil }
        return (Int(rest[last].dropFirst(7))!, html.contains("\"live\":true"))
    }

    func testWatchFollowsARunningSweepAndStopsWhenNoRunIsRunning() throws {
        let spec = path("live.json")
        try """
            { "name": "live", "seed": 0,
              "task": { "kind": "spirals", "classes": 2, "train_size": 256, "val_size": 64, "noise": 0.2 },
              "model": { "kind": "mlp", "hidden": [8], "activation": "tanh" },
              "loss": "cross_entropy", "optimizer": { "kind": "sgd", "lr": 0.05 },
              "training": { "steps": 100000000, "batch_size": 16, "log_every": 1, "eval_every": 1000 } }
            """.write(toFile: spec, atomically: true, encoding: .utf8)
        let database = path("live.sqlite")
        let writer = try start(["run", spec, "--db", database, "--quiet"], output: "writer")
        // The run exists and has logged (committed) steps before the report starts.
        try waitFor("the writer's first committed metrics") {
            guard FileManager.default.fileExists(atPath: database),
                  let store = try? ResultsStore(path: database, readOnly: true),
                  let run = try? store.runs().first, run.status == .running else { return false }
            return ((try? store.metrics(runID: run.id, name: "train_loss").count) ?? 0) > 0
        }
        let watcher = try start(["report", "live", "--db", database, "-o", path("live.html"), "--watch", "0.2"], output: "watch")
        var first = 0
        try waitFor("a live page") {
            guard let page = page(), page.live else { return false }
            first = page.last
            return true
        }
        // Rewritten while the run trains: a later page reaches further.
        try waitFor("a rewritten page with more steps than \(first)") { (page()?.last ?? 0) > first && page()!.live }
        XCTAssertTrue(watcher.isRunning, "still watching while the run is running")

        kill(writer.processIdentifier, SIGINT)  // Ctrl-C: the run is marked interrupted
        writer.waitUntilExit()
        try waitFor("the watcher to exit after the last rewrite") { !watcher.isRunning }
        XCTAssertEqual(watcher.terminationStatus, 0)
        let output = try String(contentsOfFile: path("watch.out"), encoding: .utf8)
        XCTAssertTrue(output.hasSuffix("no run is running, done watching\n"), output)
        let last = try XCTUnwrap(page())
        XCTAssertFalse(last.live, "the last rewrite no longer reloads itself")
        XCTAssertGreaterThan(last.last, first)
        let html = try String(contentsOfFile: path("live.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<p id=\"live\" class=\"live\" hidden=\"hidden\">"), "the live banner hidden")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("live.html") && $0 != "live.html" }
        XCTAssertEqual(leftovers, [], "atomic rewrites leave no temporary file")
    }

    /// Two shards of one sweep (seed 0 in one, seed 1 in the other): one report of both runs.
    func testReportReadsAGlobOfShards() throws {
        for seed in 0..<2 {
            let store = try ResultsStore(path: path("sweep-shard-\(seed).sqlite"))
            let id = try store.beginRun(experiment: "sharded", config: "{\"seed\":\(seed)}", configHash: "hash-\(seed)", seed: seed,
                                        params: ["optimizer.lr": .text("0.1"), "seed": .text(String(seed))])
            for step in 1...5 { try store.appendMetric(runID: id, step: step, name: "train_loss", value: 1 / Double(step + seed)) }
            try store.finishRun(id: id, status: .completed)
        }
        let glob = path("sweep-shard-*.sqlite")
        let once = try runTrainlab(["report", "sharded", "--db", glob, "-o", path("sharded.html")], in: self)
        XCTAssertEqual(once.status, 0, once.standardError)
        XCTAssertEqual(once.standardOutput, "wrote report of sharded: 2 runs in 1 config to \(path("sharded.html"))\n")
        // Watching finished shards: one rewrite, then done.
        let watched = try runTrainlab(["report", "sharded", "--db", glob, "-o", path("sharded.html"), "--watch"], in: self)
        XCTAssertEqual(watched.status, 0, watched.standardError)
        XCTAssertTrue(watched.standardOutput.hasSuffix("2 runs in 1 config to \(path("sharded.html")); no run is running, done watching\n"),
                      watched.standardOutput)
        let none = try runTrainlab(["report", "sharded", "--db", path("nothing-*.sqlite")], in: self)
        XCTAssertEqual(none.status, 2)
        XCTAssertTrue(none.standardError.contains("no database matches"), none.standardError)
        let stdout = try runTrainlab(["report", "sharded", "--db", glob, "-o", "-", "--watch", "1"], in: self)
        XCTAssertEqual(stdout.status, 2)
        XCTAssertTrue(stdout.standardError.contains("--watch rewrites a file"), stdout.standardError)
    }
}
