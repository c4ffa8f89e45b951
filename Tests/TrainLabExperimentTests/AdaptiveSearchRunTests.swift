import XCTest
import Foundation
import TrainLabStore
import TrainLabSpec
@testable import TrainLabExperiment

/// Adaptive search in `trainlab run` (sweep_mode successive_halving, hyperband, tpe): promotions
/// are resumes, the database records each trial's fate, bad ladders are bad input.
final class AdaptiveSearchRunTests: XCTestCase {
    /// 9 trials of Adam on blobs with a cosine schedule (whose rate depends on the run's total
    /// steps, so a trial paused at a rung must still be the 90-step run), rungs at 10, 30, 90.
    static let halvingSpec = """
        {"name": "sh", "task": {"kind": "blobs", "train_size": 96, "val_size": 32},
         "model": {"hidden": [12]}, "loss": "cross_entropy",
         "optimizer": {"kind": "adam", "lr": 0.01}, "schedule": "cosine",
         "training": {"steps": 90, "batch_size": 16, "eval_every": 10},
         "sweep": {"optimizer.lr": {"log_uniform": [1e-4, 1]}},
         "sweep_mode": {"successive_halving": {"trials": 9, "min_steps": 10, "eta": 3, "metric": "val_loss"}}}
        """

    /// Every metric row of run `id`: name, step and the value's bits (`time`: its step only).
    func metricRows(_ store: ResultsStore, runID: Int64) throws -> [String] {
        try store.query("""
            SELECT name, step, value FROM metrics WHERE run_id = \(runID) ORDER BY name, step, rowid
            """).rows.map { row in
            guard case .text(let name) = row[0], case .integer(let step) = row[1] else { return "unexpected row \(row)" }
            let value: String = switch row[2] {
            case .real(let v) where name != "time": String(v.bitPattern, radix: 16)
            case .null: "null"
            default: "-"
            }
            return "\(name) \(step) \(value)"
        }
    }

    func param(_ store: ResultsStore, _ runID: Int64, _ key: String) throws -> String? {
        try store.params(runID: runID)[key]
    }

    /// The survivor of the last rung was paused at 10 and 30 steps and resumed twice: every
    /// metric it logged (but `time`) is the bit of the same config trained straight through in
    /// another database, at the same steps, none twice; and its config hash is that run's.
    func testAPromotedTrialEqualsTheSameConfigTrainedStraightThrough() throws {
        let spec = try specFile(Self.halvingSpec)
        let folder = URL(fileURLWithPath: spec).deletingLastPathComponent()
        let searchDB = folder.appendingPathComponent("search.sqlite").path
        let outcome = try runTrainlab(["run", spec, "--db", searchDB, "--quiet"], in: self)
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        let store = try ResultsStore(path: searchDB, readOnly: true)
        let completed = try store.runs().filter { $0.status == .completed }
        XCTAssertEqual(completed.count, 1, "one trial reaches the last rung")
        let survivor = try XCTUnwrap(completed.first)
        XCTAssertEqual(try param(store, survivor.id, "search.rung"), "2")
        XCTAssertEqual(try param(store, survivor.id, "search.steps"), "90")

        // The survivor's resolved config as a spec of its own: no sweep, trained to the end.
        let straight = folder.appendingPathComponent("straight.json").path
        try survivor.config.write(toFile: straight, atomically: true, encoding: .utf8)
        let straightDB = folder.appendingPathComponent("straight.sqlite").path
        let plain = try runTrainlab(["run", straight, "--db", straightDB, "--quiet"], in: self)
        XCTAssertEqual(plain.status, 0, plain.standardError)
        let reference = try ResultsStore(path: straightDB, readOnly: true)
        let run = try XCTUnwrap(try reference.runs().first)
        XCTAssertEqual(run.configHash, survivor.configHash)
        let expected = try metricRows(reference, runID: run.id)
        XCTAssertEqual(expected.filter { $0.hasPrefix("train_loss ") }.count, 90)
        XCTAssertEqual(expected.filter { $0.hasPrefix("val_loss ") }.count, 10, "steps 0, 10, …, 90")
        XCTAssertEqual(try metricRows(store, runID: survivor.id), expected)
    }

    /// 9 trials, η = 3: 9 train 10 steps, the best 3 go on to 30, the best of those to 90; the
    /// rest stay interrupted at their rung (resumable). The params say so, and the steps trained
    /// are 6·10 + 2·30 + 90 = 210 where random search trains 9·90 = 810. The same with --jobs 2,
    /// to the bit; a second `run` trains nothing and changes nothing.
    func testTrialsFatesAreRecordedAndDoNotDependOnJobs() throws {
        let spec = try specFile(Self.halvingSpec)
        let folder = URL(fileURLWithPath: spec).deletingLastPathComponent()
        var fates: [[String]] = []
        var rows: [[String]] = []
        for (name, jobs) in [("jobs-1", "1"), ("jobs-2", "2")] {
            let database = folder.appendingPathComponent("\(name).sqlite").path
            let outcome = try runTrainlab(["run", spec, "--db", database, "--jobs", jobs], in: self)
            XCTAssertEqual(outcome.status, 0, outcome.standardError)
            XCTAssertTrue(outcome.standardOutput.contains("search: rung 0 (step 10): 9 trials (0 diverged or failed), promoted #"), outcome.standardOutput)
            let store = try ResultsStore(path: database, readOnly: true)
            let runs = try store.runs()
            XCTAssertEqual(runs.count, 9)
            var fate: [String] = []
            var steps = 0
            var all: [String] = []
            for run in runs {
                let p = try store.params(runID: run.id)
                fate.append("\(p["search.trial"] ?? "?") \(run.status.rawValue) rung \(p["search.rung"] ?? "?") promoted \(p["search.promoted"] ?? "?")")
                steps += Int(p["search.steps"] ?? "") ?? 0
                all += try metricRows(store, runID: run.id).map { "\(p["search.trial"] ?? "?") \($0)" }
                XCTAssertEqual(try store.metrics(runID: run.id, name: "train_loss").count, Int(p["search.steps"] ?? "") ?? -1)
            }
            XCTAssertEqual(steps, 210)
            XCTAssertEqual(fate.filter { $0.contains("rung 0 promoted 0") && $0.contains("interrupted") }.count, 6, "\(fate)")
            XCTAssertEqual(fate.filter { $0.contains("rung 1 promoted 1") && $0.contains("interrupted") }.count, 2, "\(fate)")
            XCTAssertEqual(fate.filter { $0.contains("completed rung 2 promoted 1") }.count, 1, "\(fate)")
            fates.append(fate)
            rows.append(all)

            // Again: every trial is found at its rung, nothing trains, nothing changes.
            let again = try runTrainlab(["run", spec, "--db", database, "--jobs", jobs, "--quiet"], in: self)
            XCTAssertEqual(again.status, 0, again.standardError)
            let store2 = try ResultsStore(path: database, readOnly: true)
            XCTAssertEqual(try store2.runs().count, 9)
            var after: [String] = []
            for run in try store2.runs() {
                let trial = try store2.params(runID: run.id)["search.trial"] ?? "?"
                after += try metricRows(store2, runID: run.id).map { "\(trial) \($0)" }
            }
            XCTAssertEqual(after.filter { !$0.contains(" time ") }, all.filter { !$0.contains(" time ") })
        }
        XCTAssertEqual(fates[0], fates[1])
        XCTAssertEqual(rows[0], rows[1])
    }

    /// SGD with learning rates up to 1e5: the trials that diverge before the first rung are
    /// never promoted, though fewer than ⌊6/3⌋ others would otherwise fill the cut.
    func testDivergedTrialsAreNeverPromoted() throws {
        let spec = try specFile("""
            {"name": "dv", "task": {"kind": "blobs", "train_size": 96, "val_size": 32},
             "model": {"hidden": [12]}, "loss": "cross_entropy", "optimizer": {"kind": "sgd", "lr": 0.01},
             "training": {"steps": 30, "batch_size": 16, "eval_every": 10},
             "sweep": {"optimizer.lr": {"log_uniform": [1e-3, 1e5]}},
             "sweep_mode": {"successive_halving": {"trials": 6, "min_steps": 10, "eta": 3}}}
            """)
        let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("dv.sqlite").path
        let outcome = try runTrainlab(["run", spec, "--db", database, "--quiet"], in: self)
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        let store = try ResultsStore(path: database, readOnly: true)
        let runs = try store.runs()
        let diverged = runs.filter { $0.status == .diverged }
        XCTAssertGreaterThanOrEqual(diverged.count, 1, "lr up to 1e5 must diverge somewhere")
        for run in diverged { XCTAssertEqual(try param(store, run.id, "search.promoted"), "0") }
        XCTAssertEqual(runs.filter { $0.status == .completed }.count, 2, "⌊6/3⌋ promoted, both measured")
    }

    /// Hyperband over rungs 10, 30, 90 (η = 3, s_max = 2): brackets of 9, 5 and 3 trials
    /// starting at 10, 30 and 90 steps; 17 trials in all, 3 + 1 + 3 of them trained to the end.
    func testHyperbandRunsItsBrackets() throws {
        let spec = try specFile(Self.halvingSpec.replacingOccurrences(
            of: #""successive_halving": {"trials": 9, "min_steps": 10, "eta": 3, "metric": "val_loss"}"#,
            with: #""hyperband": {"min_steps": 10, "eta": 3}"#))
        let runs = try ExperimentSpec.load(file: spec)
        XCTAssertEqual(runs.count, 17)
        XCTAssertEqual(runs.map { $0.search!.firstRung }, [Int](repeating: 0, count: 9) + [1, 1, 1, 1, 1, 2, 2, 2])
        let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("hb.sqlite").path
        let outcome = try runTrainlab(["run", spec, "--db", database, "--quiet"], in: self)
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        let store = try ResultsStore(path: database, readOnly: true)
        let completed = try store.runs().filter { $0.status == .completed }
        // Bracket 0: 9 → 3 → 1; bracket 1: 5 → 1; bracket 2: 3 straight to the end.
        XCTAssertEqual(try completed.map { try param(store, $0.id, "search.bracket") ?? "?" }.sorted(), ["0", "1", "2", "2", "2"])
    }

    /// TPE: 4 random trials then 4 proposed one at a time, each from the trials before it; the
    /// same spec gives the same proposals (by their configs) in a second database.
    func testTPEProposesTheSameTrialsFromTheSameSpec() throws {
        let spec = try specFile(Self.halvingSpec.replacingOccurrences(
            of: #""successive_halving": {"trials": 9, "min_steps": 10, "eta": 3, "metric": "val_loss"}"#,
            with: #""tpe": {"trials": 8, "startup": 4, "seed": 5, "pruner": {"min_steps": 30, "eta": 3}}"#))
        XCTAssertEqual(try ExperimentSpec.load(file: spec).count, 4, "the startup trials; the rest come from results")
        var configs: [[String]] = []
        for name in ["a", "b"] {
            let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("\(name).sqlite").path
            let outcome = try runTrainlab(["run", spec, "--db", database, "--quiet"], in: self)
            XCTAssertEqual(outcome.status, 0, outcome.standardError)
            let store = try ResultsStore(path: database, readOnly: true)
            let runs = try store.runs()
            XCTAssertEqual(runs.count, 8)
            XCTAssertEqual(try runs.map { try param(store, $0.id, "search.trial") ?? "?" }, (0..<8).map(String.init))
            configs.append(runs.map(\.config))
        }
        XCTAssertEqual(configs[0], configs[1])
        XCTAssertEqual(Set(configs[0]).count, 8)
    }

    /// Bad ladders and searches that cannot rank: file, JSON path, what was expected.
    func testImpossibleSearchesAreBadInput() throws {
        func loadError(_ mode: String, training: String = #""steps": 90, "batch_size": 16, "eval_every": 10"#,
                       optimizer: String = #"{"kind": "adam", "lr": 0.01}"#, task: String = #"{"kind": "blobs", "train_size": 96, "val_size": 32}"#) throws -> String {
            let spec = try specFile("""
                {"name": "bad", "task": \(task), "model": {"hidden": [4]}, "loss": "cross_entropy",
                 "optimizer": \(optimizer), "training": {\(training)},
                 "sweep": {"optimizer.lr": {"log_uniform": [1e-4, 1]}}, "sweep_mode": \(mode)}
                """)
            do {
                _ = try ExperimentSpec.loadChecked(file: spec)
                return "no error"
            } catch let error as SpecError {
                XCTAssertEqual(error.file, spec)
                return "\(error.path): \(error.message)"
            }
        }
        let sh = #"{"successive_halving": {"trials": 9, "min_steps": 10, "eta": 3}}"#
        XCTAssertEqual(try loadError(#"{"successive_halving": {"trials": 9, "min_steps": 100, "eta": 3}}"#),
                       "sweep_mode.successive_halving.min_steps: expected at most training.steps (90), got 100: the first rung must end within the run")
        XCTAssertTrue(try loadError(#"{"successive_halving": {"trials": 9, "min_steps": 10, "eta": 1}}"#)
            .hasPrefix("sweep_mode.successive_halving.eta: "))
        XCTAssertEqual(try loadError(#"{"successive_halving": {"trials": 2, "min_steps": 10, "eta": 3}}"#),
                       "sweep_mode.successive_halving.trials: expected at least eta (3) trials, got 2: a rung of fewer than η trials cannot keep its best 1/η")
        XCTAssertTrue(try loadError(#"{"successive_halving": {"trials": 9, "min_steps": 10, "eta": 3, "metric": "val_ndcg"}}"#)
            .hasPrefix("sweep_mode.successive_halving.metric: the search ranks trials by val_ndcg, but this run logs val_loss, val_accuracy, train_loss"))
        XCTAssertTrue(try loadError(sh, optimizer: #"{"kind": "lbfgs", "lr": 1}"#).hasPrefix("optimizer.kind: a pruned search compares trials at equal steps"))
        XCTAssertTrue(try loadError(sh, training: #""steps": 90, "eval_every": 10, "early_stopping": {"metric": "val_loss", "patience": 2}"#)
            .hasPrefix("training.early_stopping: "))
        XCTAssertEqual(try loadError(sh, training: #""steps": 90, "eval_every": 20"#),
                       "sweep_mode.successive_halving.min_steps: the rungs end at steps 10, 30, 90, but val_loss is measured every 20 steps (training.eval_every): expected every rung, 10 first, to be a multiple of 20")
        XCTAssertTrue(try loadError(#"{"tpe": {"trials": 4, "startup": 5}}"#).hasPrefix("sweep_mode.tpe.startup: expected at most trials (4)"))
        XCTAssertTrue(try loadError(#"{"successive_halving": {"trials": 9, "min_steps": 10}, "hyperband": {"min_steps": 10}}"#)
            .hasPrefix("sweep_mode.hyperband: expected one search"))
    }

    /// `validate` on an impossible ladder exits 2 with the file and the path.
    func testValidateExitsTwoOnAnImpossibleLadder() throws {
        let spec = try specFile(Self.halvingSpec.replacingOccurrences(of: #""min_steps": 10"#, with: #""min_steps": 91"#))
        let outcome = try runTrainlab(["validate", spec], in: self)
        XCTAssertEqual(outcome.status, 2)
        XCTAssertTrue(outcome.standardError.contains(spec), outcome.standardError)
        XCTAssertTrue(outcome.standardError.contains("sweep_mode.successive_halving.min_steps"), outcome.standardError)
    }
}

extension AdaptiveSearchRunTests {
    /// ASHA (`asynchronous`) with 2 jobs: promotions come as results do, so which trials go on
    /// may vary, but every trial starts once, trains only to its rungs, and every one that
    /// reaches the end logged each of the 90 steps once, as a straight run does.
    func testAsynchronousHalvingPromotesAsResultsComeIn() throws {
        let spec = try specFile(Self.halvingSpec.replacingOccurrences(of: #""metric": "val_loss""#,
                                                                      with: #""metric": "val_loss", "asynchronous": true"#))
        let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("asha.sqlite").path
        let outcome = try runTrainlab(["run", spec, "--db", database, "--jobs", "2", "--quiet"], in: self)
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        let store = try ResultsStore(path: database, readOnly: true)
        let runs = try store.runs()
        XCTAssertEqual(runs.count, 9)
        XCTAssertGreaterThanOrEqual(runs.filter { $0.status == .completed }.count, 1)
        for run in runs {
            let steps = Int(try param(store, run.id, "search.steps") ?? "") ?? -1
            XCTAssertTrue([10, 30, 90].contains(steps), "\(steps)")
            let logged = try store.metrics(runID: run.id, name: "train_loss").map(\.step)
            XCTAssertEqual(logged, Array(1...steps), "each step once")
            XCTAssertEqual(run.status == .completed, steps == 90)
        }
    }
}

extension AdaptiveSearchRunTests {
    /// `list` and `show` give each trial's rung and steps beside its status; the search params
    /// stay out of list's params column, which keeps the swept lr.
    func testListAndShowGiveEachTrialsRung() throws {
        let spec = try specFile(Self.halvingSpec)
        let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("list.sqlite").path
        XCTAssertEqual(try runTrainlab(["run", spec, "--db", database, "--quiet"], in: self).status, 0)
        let list = try runTrainlab(["list", "--db", database], in: self)
        XCTAssertEqual(list.status, 0, list.standardError)
        XCTAssertEqual(list.standardOutput.components(separatedBy: "interrupted (rung 0, 10 steps)").count - 1, 6, list.standardOutput)
        XCTAssertEqual(list.standardOutput.components(separatedBy: "interrupted (rung 1, 30 steps)").count - 1, 2, list.standardOutput)
        XCTAssertEqual(list.standardOutput.components(separatedBy: "completed (rung 2, 90 steps)").count - 1, 1, list.standardOutput)
        XCTAssertFalse(list.standardOutput.contains("search."), list.standardOutput)
        XCTAssertTrue(list.standardOutput.contains("lr="), list.standardOutput)
        let survivor = try XCTUnwrap(try ResultsStore(path: database, readOnly: true).runs().first { $0.status == .completed })
        let show = try runTrainlab(["show", String(survivor.id), "--db", database], in: self)
        XCTAssertTrue(show.standardOutput.contains("completed (rung 2, 90 steps)"), show.standardOutput)

        // `status` counts the stopped trials apart from work lost to an interruption.
        let status = try runTrainlab(["status", database], in: self)
        XCTAssertEqual(status.standardOutput, "\(database): 9 runs: 1 done, 0 running, 0 failed, 0 interrupted, 8 stopped by a search at their rung\n")
    }

    static let benchmarkSpec = """
        {"name": "bm", "seed": 0, "task": {"kind": "blobs", "train_size": 96, "val_size": 32},
         "model": {"hidden": [8]}, "loss": "cross_entropy", "optimizer": "sgd",
         "training": {"steps": 90, "batch_size": 16, "eval_every": 10},
         "benchmark": {
           "optimizers": {"sgd": {"kind": "sgd", "lr": {"log_uniform": [1e-3, 1]}}, "adam": {"kind": "adam", "lr": {"log_uniform": [1e-4, 1e-1]}},
                          "fixed": {"kind": "sgd", "lr": 0.1}},
           "problems": {"a": {}, "b": {"training": {"steps": 30}}},
           "budget": 9, "search": {"successive_halving": {"min_steps": 10, "eta": 3}}, "seeds": 2}}
        """

    /// A benchmark's `search` by successive halving: one search per problem and optimizer over
    /// random search's 9 points, rungs up to each problem's steps (90: 10, 30, 90; 30: 10, 30);
    /// the best survivor of each is rerun on the seeds; `benchmark` reports what tuning cost:
    /// 6·10 + 2·30 + 90 = 210 steps on a, 6·10 + 3·30 = 150 on b, 360 per searched optimizer;
    /// the optimizer without a search space trains its one trial straight through (90 + 30).
    func testBenchmarkSearchHalvesEachCellAndReportsTheTuningCost() throws {
        let spec = try specFile(Self.benchmarkSpec)
        let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("bm.sqlite").path
        let outcome = try runTrainlab(["run", spec, "--db", database, "--quiet"], in: self)
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        let store = try ResultsStore(path: database, readOnly: true)
        XCTAssertEqual(try store.runs().filter { $0.config.contains(#""role":"final""#) }.count, 2 * 3 * 2)
        let report = try runTrainlab(["benchmark", "bm", "--db", database, "--format", "json"], in: self)
        XCTAssertEqual(report.status, 0, report.standardError)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(report.standardOutput.utf8)) as? [String: Any])
        let tuning = try XCTUnwrap(json["tuning"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: tuning.map { ($0["optimizer"] as! String, $0) })
        XCTAssertEqual(byName["sgd"]?["steps"] as? Double, 360)
        XCTAssertEqual(byName["sgd"]?["trials"] as? Double, 18)
        XCTAssertEqual(byName["sgd"]?["evals"] as? Double, 360, "first-order: one evaluation a step")
        XCTAssertEqual(byName["adam"]?["steps"] as? Double, 360)
        XCTAssertEqual(byName["fixed"]?["steps"] as? Double, 120)
        let table = try runTrainlab(["benchmark", "bm", "--db", database], in: self)
        XCTAssertTrue(table.standardOutput.contains("tuning cost, all problems"), table.standardOutput)

        // The same trials as random search: trial 2 of sgd has random's trial-2 lr.
        let random = try ExperimentSpec.load(file: try specFile(Self.benchmarkSpec.replacingOccurrences(
            of: #"{"successive_halving": {"min_steps": 10, "eta": 3}}"#, with: #""random""#)))
        let halving = try ExperimentSpec.load(file: spec)
        XCTAssertEqual(Set(random.map(\.canonicalConfig)), Set(halving.map(\.canonicalConfig)))
    }

    /// A benchmark's search takes its metric, goal and trials from the benchmark.
    func testBenchmarkSearchErrors() throws {
        func error(_ search: String) throws -> String {
            let spec = try specFile(Self.benchmarkSpec.replacingOccurrences(of: #"{"successive_halving": {"min_steps": 10, "eta": 3}}"#, with: search))
            do { _ = try ExperimentSpec.load(file: spec); return "no error" } catch let e as SpecError { return e.path + ": " + e.message }
        }
        XCTAssertTrue(try error(#"{"successive_halving": {"min_steps": 10, "metric": "val_accuracy"}}"#)
            .hasPrefix("benchmark.search.successive_halving.metric: a benchmark's search takes its metric from the benchmark"))
        XCTAssertTrue(try error(#"{"tpe": {"startup": 4, "trials": 9}}"#)
            .hasPrefix("benchmark.search.tpe.trials: a benchmark's search takes its trials from benchmark.budget"))
        let ladder = try error(#"{"successive_halving": {"min_steps": 50}}"#)
        XCTAssertTrue(ladder.hasPrefix("benchmark.search.successive_halving.min_steps: expected at most training.steps (30)"), ladder)
    }
}

extension AdaptiveSearchRunTests {
    /// `validate` lists the trials that start and says how the search goes on.
    func testValidateDescribesTheSearch() throws {
        let spec = try specFile(Self.halvingSpec)
        let outcome = try runTrainlab(["validate", spec], in: self)
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        XCTAssertTrue(outcome.standardOutput.contains("\(spec): 9 runs"), outcome.standardOutput)
        XCTAssertTrue(outcome.standardOutput.contains(
            "\(spec): adaptive search: successive_halving by val_loss (min), rungs at steps 10, 30, 90; 9 trials above, the best 1/3 of each rung go on"),
            outcome.standardOutput)
    }
}

extension AdaptiveSearchRunTests {
    /// `report` draws the rungs: one line a trial, the one trained to the end in colour, and
    /// groups the trials by their learning rate alone (the search.* params are no config).
    func testReportDrawsTheRungs() throws {
        let spec = try specFile(Self.halvingSpec)
        let folder = URL(fileURLWithPath: spec).deletingLastPathComponent()
        let database = folder.appendingPathComponent("report.sqlite").path
        XCTAssertEqual(try runTrainlab(["run", spec, "--db", database, "--quiet"], in: self).status, 0)
        let html = folder.appendingPathComponent("sh.html").path
        let outcome = try runTrainlab(["report", "sh", "--db", database, "-o", html], in: self)
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        XCTAssertTrue(outcome.standardOutput.contains("9 runs in 9 configs"), outcome.standardOutput)
        let text = try String(contentsOfFile: html, encoding: .utf8)
        XCTAssertTrue(text.contains("<section id=\"search\">"))
        XCTAssertTrue(text.contains("9 trials; 1 promoted to the end in colour, the others stopped at a rung in grey"))
        // The eight stopped trials share one legend entry.
        XCTAssertEqual(text.components(separatedBy: "<title>stopped at a rung</title>").count - 1, 1, "one legend entry")
    }
}

extension AdaptiveSearchRunTests {
    /// A benchmark's TPE: per problem and optimizer 4 trials at random's first Halton points,
    /// then 5 proposed; each tuning run records its point (`search.point`), and each final run
    /// reruns its cell's best tuning trial's config: the same learning rate, to the bit, though
    /// a proposal's point does not follow from its number. The final runs of a proposal come
    /// from its point (`finalAt`): trial 5 at u = 0.96… is lr 10^(−4 + 3u) for adam.
    func testBenchmarkTPEFinalsRerunTheBestProposal() throws {
        let spec = try specFile(Self.benchmarkSpec.replacingOccurrences(
            of: #"{"successive_halving": {"min_steps": 10, "eta": 3}}"#, with: #"{"tpe": {"startup": 4}}"#))
        let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("tpe.sqlite").path
        let outcome = try runTrainlab(["run", spec, "--db", database, "--quiet"], in: self)
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        let store = try ResultsStore(path: database, readOnly: true)
        var tuneLR: [String: String] = [:]
        var finals: [(cell: String, lr: String)] = []
        for run in try store.runs() {
            let p = try store.params(runID: run.id)
            let cell = "\(p["benchmark.problem"]!)/\(p["benchmark.optimizer"]!)/\(p["benchmark.trial"]!)"
            if p["benchmark.role"] == "tune" {
                tuneLR[cell] = p["optimizer.lr"]
                if p["benchmark.optimizer"] != "fixed" { XCTAssertNotNil(p["search.point"], cell) }
            } else {
                finals.append((cell, p["optimizer.lr"]!))
            }
        }
        XCTAssertEqual(tuneLR.count, 2 * (9 + 9 + 1))
        XCTAssertEqual(finals.count, 2 * 3 * 2)
        for final in finals { XCTAssertEqual(final.lr, tuneLR[final.cell], final.cell) }

        let proposal = try ExperimentSpec.load(file: spec, phase: .finalAt(bestTrial: { _, optimizer in optimizer == "adam" ? 5 : nil },
                                                                            bestPoint: { _, _ in [0.9626760026015577] }))
        XCTAssertEqual(proposal.count, 2 * 2, "two problems, two seeds")
        XCTAssertEqual(proposal[0].lr, pow(10, -4 + 3 * 0.9626760026015577), accuracy: 1e-15)
    }
}
