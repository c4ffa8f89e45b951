import XCTest
import Foundation
import TrainLabStore
@testable import trainlab

/// The write-up's benchmark block: `benchmark --format markdown` on a database written here with
/// known figures, tools/update-benchmark-writeup.sh, and results/README.md's committed block
/// against the committed database.
final class BenchmarkWriteUpTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("BenchmarkWriteUpTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func trainlab(_ arguments: [String]) throws -> TrainlabOutcome { try runTrainlab(arguments, in: self) }

    /// The text between the markers (the lines after `<!-- benchmark:begin -->` up to
    /// `<!-- benchmark:end -->`).
    static func block(of text: String) throws -> String {
        let begin = try XCTUnwrap(text.range(of: "<!-- benchmark:begin -->\n"), "no begin marker")
        let end = try XCTUnwrap(text.range(of: "<!-- benchmark:end -->", range: begin.upperBound..<text.endIndex), "no end marker")
        return String(text[begin.upperBound..<end.lowerBound])
    }

    /// Final val_loss per seed (0...7) of problem "p", as in BenchmarkResultsTests: `worse` is
    /// `best` + 0.1 on every seed, `close` above it on five seeds and below on three.
    static let finals: [String: [Double]] = [
        "best": [0.50, 0.52, 0.48, 0.51, 0.49, 0.50, 0.53, 0.47],
        "worse": [0.60, 0.62, 0.58, 0.61, 0.59, 0.60, 0.63, 0.57],
        "close": [0.51, 0.51, 0.49, 0.52, 0.48, 0.51, 0.52, 0.48],
    ]
    /// Each optimizer's two tuning trials' lr, the better first; lr searched log-uniform in
    /// [1e-4, 1], so worse's 0.9 sits at the range's upper edge.
    static let trialRates: [String: [Double]] = ["best": [0.01, 0.1], "worse": [0.9, 0.01], "close": [0.003, 0.03]]

    /// A benchmark database: for each optimizer two tuning trials (20 steps, `evals` 1 per step,
    /// 0.5 s) and eight final runs at the better trial's lr, val_loss 1 at step 0, 0.6 at step 10
    /// and the final value at step 20, test_loss = final + 0.01, target val_loss ≤ 0.55 (which
    /// `best` and `close` reach at step 20, `worse` never). `worse` costs 2 evals per step.
    func makeDatabase() throws -> String {
        let path = folder.appendingPathComponent("bm.sqlite").path
        let store = try ResultsStore(path: path)
        var serial = 0
        func run(_ optimizer: String, role: String, trial: Int, seed: Int, lr: Double, history: [(Int, Double)], test: Double?) throws {
            serial += 1
            let params: [String: SQLiteValue] = [
                "benchmark.problem": .text("p"), "benchmark.optimizer": .text(optimizer), "benchmark.role": .text(role),
                "benchmark.trial": .integer(Int64(trial)), "benchmark.metric": .text("val_loss"), "benchmark.goal": .text("min"),
                "benchmark.target.metric": .text("val_loss"), "benchmark.target.value": .real(0.55),
                "benchmark.space.lr.log_uniform": .text("[0.0001,1]"),
                "optimizer.kind": .text("sgd"), "optimizer.lr": .real(lr), "seed": .integer(Int64(seed))]
            let id = try store.beginRun(experiment: "bm", config: "{\"run\": \(serial)}", configHash: "hash\(serial)", seed: seed, params: params)
            let evalsPerStep = optimizer == "worse" ? 2.0 : 1.0
            for step in [10, 20] {
                try store.appendMetric(runID: id, step: step, name: "train_loss", value: 1)
                try store.appendMetric(runID: id, step: step, name: "evals", value: evalsPerStep * Double(step))
                try store.appendMetric(runID: id, step: step, name: "time", value: 0.025 * Double(step))
            }
            for (step, value) in history { try store.appendMetric(runID: id, step: step, name: "val_loss", value: value) }
            if let test { try store.appendMetric(runID: id, step: 20, name: "test_loss", value: test) }
            try store.finishRun(id: id, status: .completed)
        }
        for optimizer in ["best", "worse", "close"] {
            let rates = Self.trialRates[optimizer]!
            for (trial, lr) in rates.enumerated() {
                try run(optimizer, role: "tune", trial: trial, seed: 0, lr: lr, history: [(0, 1), (20, 0.5 + 0.1 * Double(trial))], test: nil)
            }
            for (seed, value) in Self.finals[optimizer]!.enumerated() {
                try run(optimizer, role: "final", trial: 0, seed: seed + 1, lr: rates[0], history: [(0, 1), (10, 0.6), (20, value)],
                        test: value + 0.01)
            }
        }
        try store.flush()
        return path
    }

    func testMarkdownOfAKnownDatabase() throws {
        let database = try makeDatabase()
        let outcome = try trainlab(["benchmark", "bm", "--db", database, "--format", "markdown"])
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        let lines = outcome.standardOutput.components(separatedBy: "\n")
        XCTAssertEqual(lines.first, "<!-- generated by `trainlab benchmark bm --format markdown`; "
                       + "tools/update-benchmark-writeup.sh rewrites this block: do not edit it by hand -->")
        XCTAssertTrue(lines.contains("### p"))
        XCTAssertTrue(lines.contains("Target: `val_loss` ≤ 0.55."))
        XCTAssertTrue(lines.contains(
            "| rank | optimizer | best setting | n | median | mean ± 95% CI | test | Δ vs best [95%] | p | p (Holm) | ≈ best "
            + "| hits | steps to target | evals to target | tuning steps | tuning evals | tuning s | warnings |"), outcome.standardOutput)
        // best: median of the eight finals 0.50; mean 0.5 ± t₇·s/√8 (s = 0.02); every run crosses
        // 0.55 between step 10 (0.6) and step 20 (v): at 10 + 10·(0.6 − 0.55)/(0.6 − v), 15 for the
        // median v = 0.5 (the median of the interpolated steps, 1 eval per step).
        XCTAssertTrue(lines.contains("| 1 | best | #0 lr=0.01 | 8 | 0.5 | 0.5 ± 0.0167 | 0.51 | - | - | - | yes | 8/8 | 15 | 15 | 40 | 40 | 1 |  |"),
                      outcome.standardOutput)
        // close − best: ±0.01 on every seed, five up: p = 2·P(Bin(8, ½) ≤ 3) = 0.727; Holm: max(2·2/2⁸, 0.727).
        // Its median crossing: v = 0.51, 10 + 10·0.05/0.09 = 15.56.
        XCTAssertTrue(lines.contains { $0.hasPrefix("| 2 | close | #0 lr=0.003 | 8 | 0.51 |") && $0.contains("| 0.73 | 0.73 | yes | 8/8 | 15.6 | 15.6 |") },
                      outcome.standardOutput)
        // worse − best = 0.1 on every seed: Δ 0.1 [0.1, 0.1], p = 2/2⁸, Holm 2·2/2⁸; no hit; two evals per tuning step; lr 0.9 at the edge.
        XCTAssertTrue(lines.contains(
            "| 3 | worse | #0 lr=0.9 | 8 | 0.6 | 0.6 ± 0.0167 | 0.61 | 0.1 [0.1, 0.1] | 0.0078 | 0.016 | no | 0/8 | ∞ | ∞ | 40 | 80 | 1 | range edge: lr in [0.0001, 1] |"),
            outcome.standardOutput)
        // Profile: best 1; close's ratio 15.56/15 = 1.037, score (4 − 1.037)/3 = 0.988; worse misses
        // on every seed, so in every resample too: [0, 0].
        XCTAssertTrue(lines.contains { $0.hasPrefix("| best | 1 [") && $0.hasSuffix("| 1 [1, 1] | 1 |") }, "the fastest: " + outcome.standardOutput)
        XCTAssertTrue(lines.contains { $0.hasPrefix("| close | 0.988 [") && $0.hasSuffix("| 1 [1, 1] | 1.04 |") }, outcome.standardOutput)
        XCTAssertTrue(lines.contains("| worse | 0 [0, 0] | 0 [0, 0] | ∞ |"), "never at the target: " + outcome.standardOutput)
        XCTAssertTrue(lines.contains("| worse | 2 | 40 | 80 | 1 |"), "tuning cost over all problems: " + outcome.standardOutput)
        // The same database always gives the same text.
        let again = try trainlab(["benchmark", "bm", "--db", database, "--format", "markdown"])
        XCTAssertEqual(again.standardOutput, outcome.standardOutput)
    }

    func testCompactNumbers() {
        let cases: [(Double?, Int, String)] = [
            (4.3e-5, 3, "4.3e-5"), (0.02817, 3, "0.0282"), (0.0078125, 2, "0.0078"), (1, 3, "1"), (15.5556, 3, "15.6"),
            (1234.5, 3, "1235"), (60468, 3, "60468"), (123_456, 3, "1.23e5"), (-0.01, 3, "-0.01"), (.infinity, 3, "∞"),
            (-.infinity, 3, "-∞"), (nil, 3, "-"), (.nan, 3, "nan"), (0.0001, 3, "0.0001"),
        ]
        for (value, digits, text) in cases {
            XCTAssertEqual(BenchmarkCommand.compact(value, digits: digits), text, "\(String(describing: value))")
        }
        XCTAssertEqual(BenchmarkCommand.markdownTable(header: [("a|b", false), ("n", true)], rows: [["x|y", "1"]]),
                       ["| a\\|b | n |", "| --- | ---: |", "| x\\|y | 1 |"])
    }

    /// The script replaces only what lies between the markers, on a copy of a write-up.
    func testUpdateScriptRewritesTheBlockOnly() throws {
        let database = try makeDatabase()
        let writeUp = folder.appendingPathComponent("README.md")
        try "# Results\n\nbefore\n<!-- benchmark:begin -->\nthe old hand table\n<!-- benchmark:end -->\n\nafter\n"
            .write(to: writeUp, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [root.appendingPathComponent("tools/update-benchmark-writeup.sh").path, database, writeUp.path]
        process.environment = ["TRAINLAB": trainlabBinary.path, "BENCHMARK_EXPERIMENT": "bm",
                               "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        addTeardownBlock {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let text = try String(contentsOf: writeUp, encoding: .utf8)
        let markdown = try trainlab(["benchmark", "bm", "--db", database, "--format", "markdown"]).standardOutput
        XCTAssertEqual(try Self.block(of: text), markdown)
        XCTAssertTrue(text.hasPrefix("# Results\n\nbefore\n<!-- benchmark:begin -->\n<!-- generated by"))
        XCTAssertTrue(text.hasSuffix("\n<!-- benchmark:end -->\n\nafter\n"))
        XCTAssertFalse(text.contains("the old hand table"))
    }

    /// results/README.md's block is what the committed database gives. The database is
    /// committed xz-compressed (results/optimizer-benchmark.sqlite.xz, the slim copy of
    /// tools/slim-benchmark-db.sh); a decompressed results/optimizer-benchmark.sqlite beside it wins.
    func testCommittedWriteUpMatchesTheCommittedDatabase() throws {
        let plain = root.appendingPathComponent("results/optimizer-benchmark.sqlite").path
        let compressed = plain + ".xz"
        var database = plain
        if !FileManager.default.fileExists(atPath: plain) {
            guard FileManager.default.fileExists(atPath: compressed) else {
                throw XCTSkip("results/optimizer-benchmark.sqlite(.xz) is not in this checkout")
            }
            guard let xz = ["/usr/bin/xz", "/bin/xz"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
                if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("xz is missing: .ci/run installs xz-utils") }
                throw XCTSkip("no xz to decompress \(compressed)")
            }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("writeup-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
            database = folder.appendingPathComponent("optimizer-benchmark.sqlite").path
            XCTAssertTrue(FileManager.default.createFile(atPath: database, contents: nil))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: xz)
            process.arguments = ["-dc", compressed]
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: database))
            try process.run()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "xz -dc \(compressed)")
        }
        let writeUp = try String(contentsOf: root.appendingPathComponent("results/README.md"), encoding: .utf8)
        let outcome = try trainlab(["benchmark", "optimizer-benchmark", "--db", database, "--format", "markdown"])
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        XCTAssertEqual(try Self.block(of: writeUp), outcome.standardOutput,
                       "results/README.md's benchmark block is stale: run tools/update-benchmark-writeup.sh")

        // The shipped benchmark falls into none of the search-space traps it checks for.
        let json = try trainlab(["benchmark", "optimizer-benchmark", "--db", database, "--format", "json"])
        XCTAssertEqual(json.status, 0, json.standardError)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        let problems = try XCTUnwrap(object["problems"] as? [[String: Any]])
        XCTAssertEqual(problems.count, 7)
        for problem in problems {
            XCTAssertEqual((problem["warnings"] as? [Any])?.count, 0, "\(problem["name"] ?? "?") reaches its target")
            for optimizer in try XCTUnwrap(problem["optimizers"] as? [[String: Any]]) {
                let warnings = try XCTUnwrap(optimizer["warnings"] as? [Any], "every optimizer carries its warnings")
                XCTAssertTrue(warnings.isEmpty, "\(problem["name"] ?? "?")/\(optimizer["name"] ?? "?"): \(warnings)")
            }
        }
    }
}
