import XCTest
import Foundation
import TrainLabStore

/// A `benchmark` spec end to end: `run` tunes, selects and trains the paired final runs;
/// `benchmark` reports them.
final class BenchmarkCommandTests: XCTestCase {
    func trainlab(_ arguments: [String]) throws -> TrainlabOutcome { try runTrainlab(arguments, in: self) }

    func testRunTunesThenRerunsTheBestTrialsOnPairedSeedsAndBenchmarkReportsThem() throws {
        let spec = try specFile("""
            {"name": "bm", "task": {"kind": "blobs", "train_size": 64, "val_size": 32},
             "model": {"hidden": [4]}, "loss": "cross_entropy",
             "training": {"steps": 8, "batch_size": 64, "eval_every": 4, "log_every": 2},
             "benchmark": {
               "optimizers": {"sgd": {"kind": "sgd", "lr": {"log_uniform": [1e-3, 1]}}, "lbfgs": {"kind": "lbfgs", "max_iter": 3}},
               "problems": {"blobs": {}, "wide": {"model": {"hidden": [8]}}},
               "budget": 3, "seeds": 2, "target": {"metric": "val_accuracy", "value": 0.5}}}
            """)
        let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("bm.sqlite").path
        let db = ["--db", database]
        let validated = try trainlab(["validate", spec] + db)
        XCTAssertEqual(validated.status, 0, validated.standardError)
        XCTAssertTrue(validated.standardOutput.contains("8 runs"), validated.standardOutput)
        XCTAssertTrue(validated.standardError.contains("2 seeds allow p ≥ 2/2^2 = 0.5") && validated.standardError.contains("no result can be significant"),
                      validated.standardError)
        let ran = try trainlab(["run", spec] + db)
        XCTAssertEqual(ran.status, 0, ran.standardError)
        XCTAssertTrue(ran.standardError.contains("warning: benchmark: 2 seeds allow"), "said before training: " + ran.standardError)

        let store = try ResultsStore.openForReading(path: database)
        let runs = try store.runOverviews(experiment: "bm")
        XCTAssertEqual(runs.count, 2 * (3 + 1) + 2 * 2 * 2)
        let finals = runs.filter { $0.params["benchmark.role"] == "final" }
        XCTAssertEqual(finals.count, 8)
        // Paired: the same seeds for every optimizer of a problem.
        for problem in ["blobs", "wide"] {
            let seeds = Dictionary(grouping: finals.filter { $0.params["benchmark.problem"] == problem }) { $0.params["benchmark.optimizer"]! }
                .mapValues { $0.compactMap(\.run.seed).sorted() }
            XCTAssertEqual(seeds, ["sgd": [1, 2], "lbfgs": [1, 2]], "tuning trains at seed 0: the finals never reuse it")
        }
        // The final sgd runs use the best tuning trial's lr.
        let tune = runs.filter { $0.params["benchmark.role"] == "tune" && $0.params["benchmark.problem"] == "blobs"
            && $0.params["benchmark.optimizer"] == "sgd" }
        let best = tune.min { ($0.summaries["val_loss"]?.finalValue ?? .infinity) < ($1.summaries["val_loss"]?.finalValue ?? .infinity) }!
        let finalSGD = finals.first { $0.params["benchmark.problem"] == "blobs" && $0.params["benchmark.optimizer"] == "sgd" }!
        XCTAssertEqual(finalSGD.params["benchmark.trial"], best.params["benchmark.trial"])
        XCTAssertEqual(finalSGD.params["optimizer.lr"], best.params["optimizer.lr"])

        // The held-out test split: evaluated once, at the last step, by the final runs only.
        let testLoss = try store.metrics(runID: finalSGD.run.id, name: "test_loss")
        XCTAssertEqual(testLoss.map(\.step), [8])
        XCTAssertEqual(try store.metrics(runID: best.run.id, name: "test_loss").count, 0, "tuning never sees the test split")
        XCTAssertEqual(finalSGD.params["benchmark.test.seed"], "1000000")
        let wideFinal = finals.first { $0.params["benchmark.problem"] == "wide" }!
        XCTAssertEqual(wideFinal.params["benchmark.test.seed"], "1000001", "each problem its own test data seed")
        // evals: one per step for SGD, every line-search evaluation for L-BFGS; time grows.
        let sgdEvals = try store.metrics(runID: finalSGD.run.id, name: "evals")
        XCTAssertEqual(sgdEvals.map(\.step), [1, 2, 4, 6, 8])
        XCTAssertEqual(sgdEvals.map(\.value), [1, 2, 4, 6, 8])
        let lbfgs = finals.first { $0.params["benchmark.optimizer"] == "lbfgs" }!
        XCTAssertGreaterThan(try store.metrics(runID: lbfgs.run.id, name: "evals").last!.value, 8)
        let time = try store.metrics(runID: finalSGD.run.id, name: "time").map(\.value)
        XCTAssertEqual(time, time.sorted())

        let again = try trainlab(["run", spec] + db)
        XCTAssertEqual(again.status, 0)
        XCTAssertEqual(again.standardOutput.components(separatedBy: "already completed").count - 1, 16, "a rerun trains nothing")

        let table = try trainlab(["benchmark", "bm"] + db)
        XCTAssertEqual(table.status, 0, table.standardError)
        XCTAssertTrue(table.standardOutput.contains("problem wide"), table.standardOutput)
        XCTAssertTrue(table.standardOutput.contains("Wilcoxon signed-rank"), table.standardOutput)
        let json = try trainlab(["benchmark", "bm", "--format", "json"] + db)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        let problems = try XCTUnwrap(object["problems"] as? [[String: Any]])
        XCTAssertEqual(problems.map { $0["name"] as? String }, ["blobs", "wide"])
        let optimizers = try XCTUnwrap(problems[0]["optimizers"] as? [[String: Any]])
        XCTAssertEqual(Set(optimizers.compactMap { $0["name"] as? String }), ["sgd", "lbfgs"])
        XCTAssertEqual(optimizers.map { $0["rank"] as? Int }, [1, 2])
        let final = try XCTUnwrap(optimizers[0]["final"] as? [String: Any])
        XCTAssertEqual(final["n"] as? Int, 2)
        let testFinal = try XCTUnwrap(final["test"] as? [String: Any])
        XCTAssertEqual(testFinal["metric"] as? String, "test_loss")
        XCTAssertEqual((testFinal["values"] as? [Any])?.count, 2)
        XCTAssertTrue(table.standardOutput.contains("test median"), table.standardOutput)
        let target = try XCTUnwrap(optimizers[0]["target"] as? [String: Any])
        XCTAssertEqual(target["n"] as? Int, 2)
        let test = try XCTUnwrap(optimizers[1]["test"] as? [String: Any], "the second is tested against the first")
        XCTAssertEqual(test["p_holm"] as? Double, test["p"] as? Double, "a family of one test: Holm leaves p as it is")
        XCTAssertEqual(test["zero_method"] as? String, "wilcox")
        XCTAssertNotNil(optimizers[1]["effect"] as? [String: Any])
        let problemTarget = try XCTUnwrap(problems[0]["target"] as? [String: Any])
        XCTAssertEqual(problemTarget["metric"] as? String, "val_accuracy")
        XCTAssertEqual(problemTarget["value"] as? Double, 0.5)
        XCTAssertEqual((problems[0]["family"] as? [String: Any])?["adjustment"] as? String, "holm")
        let profile = try XCTUnwrap(object["profile"] as? [[String: Any]])
        XCTAssertEqual(profile.count, 2)
        for entry in profile {
            XCTAssert((0...1).contains(entry["score"] as? Double ?? -1))
            let interval = try XCTUnwrap(entry["score_interval"] as? [Double], "the bootstrap interval beside the score")
            XCTAssertEqual(interval.count, 2)
            XCTAssert(0 <= interval[0] && interval[0] <= interval[1] && interval[1] <= 1, "\(interval)")
            XCTAssertEqual((entry["solved_interval"] as? [Double])?.count, 2)
        }
        XCTAssertEqual((object["profile_bootstrap"] as? [String: Any])?["resamples"] as? Int, 1000)
        XCTAssertEqual(target["interpolated"] as? Bool, true)
        XCTAssertEqual((target["evals_values"] as? [Any])?.count, 2, "one cost per seed")
        let markdown = try trainlab(["benchmark", "bm", "--format", "markdown"] + db)
        XCTAssertEqual(markdown.status, 0, markdown.standardError)
        XCTAssertTrue(markdown.standardOutput.contains("\n### wide\n"), markdown.standardOutput)
        XCTAssertEqual(try trainlab(["benchmark", "bm", "--format", "html"] + db).status, 2)

        let missing = try trainlab(["benchmark", "nothing"] + db)
        XCTAssertEqual(missing.status, 2)
    }

    /// A spec built to fall into the range trap: SGD's lr searched only in [1e-6, 1e-5] on 8
    /// steps, far too small to train, so the best of 16 Halton trials is the largest one, at
    /// 15/16 of the log range: `run` warns after tuning and `benchmark` carries the flag.
    func testABestTrialAtTheRangeEdgeIsFlagged() throws {
        let spec = try specFile("""
            {"name": "edge", "task": {"kind": "blobs", "train_size": 32, "val_size": 16},
             "model": {"hidden": [4]}, "loss": "cross_entropy",
             "training": {"steps": 8, "batch_size": 32, "eval_every": 8, "log_every": 8},
             "benchmark": {"optimizers": {"sgd": {"kind": "sgd", "lr": {"log_uniform": [1e-6, 1e-5]}}},
                           "budget": 16, "seeds": 1, "target": {"metric": "val_loss", "value": 1e-9}}}
            """)
        let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("edge.sqlite").path
        let ran = try trainlab(["run", spec, "--db", database, "--quiet"])
        XCTAssertEqual(ran.status, 0, ran.standardError)
        XCTAssertTrue(ran.standardError.contains(
            "warning: benchmark problem default, optimizer sgd: best trial at the edge of its searched range: lr in log_uniform [1e-06, 1e-05]"),
            ran.standardError)
        let json = try trainlab(["benchmark", "edge", "--format", "json", "--db", database])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        let optimizer = try XCTUnwrap(((object["problems"] as? [[String: Any]])?.first?["optimizers"] as? [[String: Any]])?.first)
        let warnings = try XCTUnwrap(optimizer["warnings"] as? [[String: Any]])
        XCTAssertEqual(warnings.count, 1)
        XCTAssertEqual(warnings.first?["kind"] as? String, "range_edge")
        XCTAssertEqual(warnings.first?["key"] as? String, "lr")
        XCTAssertEqual(warnings.first?["range"] as? [Double], [1e-6, 1e-5])

        // A target nothing reaches (val_loss ≤ 1e-9 on blobs after 8 steps) is the other trap:
        // the problem scores every optimizer ∞ and adds nothing to the profile.
        let problem = try XCTUnwrap((object["problems"] as? [[String: Any]])?.first)
        XCTAssertEqual((problem["warnings"] as? [[String: Any]])?.map { $0["kind"] as? String }, ["target_unreached"])
        let table = try trainlab(["benchmark", "edge", "--db", database])
        XCTAssertTrue(table.standardOutput.contains("warning: no optimizer's median final run reaches the target val_loss ≤ 1e-09"), table.standardOutput)
        let markdown = try trainlab(["benchmark", "edge", "--format", "markdown", "--db", database])
        XCTAssertTrue(markdown.standardOutput.contains("**No optimizer's median final run reaches it"), markdown.standardOutput)
    }

    /// `select: "time_to_target"`: the final runs rerun the tuning trial that reached the target
    /// in the fewest evaluations, and `benchmark` says that is how it chose.
    func testSelectionByTimeToTargetPicksTheFastestTrial() throws {
        let spec = try specFile("""
            {"name": "ttt", "task": {"kind": "blobs", "train_size": 64, "val_size": 32},
             "model": {"hidden": [4]}, "loss": "cross_entropy",
             "training": {"steps": 12, "batch_size": 64, "eval_every": 2, "log_every": 2},
             "benchmark": {"optimizers": {"sgd": {"kind": "sgd", "lr": {"log_uniform": [1e-2, 3]}}},
                           "budget": 6, "seeds": 1, "select": "time_to_target",
                           "target": {"metric": "val_accuracy", "value": 0.6}}}
            """)
        let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("ttt.sqlite").path
        let ran = try trainlab(["run", spec, "--db", database, "--quiet"])
        XCTAssertEqual(ran.status, 0, ran.standardError)
        let store = try ResultsStore.openForReading(path: database)
        let runs = try store.runOverviews(experiment: "ttt")
        var fastest: (trial: String, evals: Double)? = nil
        for run in runs where run.params["benchmark.role"] == "tune" && run.run.status == .completed {
            let history = try store.metrics(runID: run.run.id, name: "val_accuracy")
            guard let hit = history.first(where: { $0.value >= 0.6 }) else { continue }
            let evals = try store.metrics(runID: run.run.id, name: "evals").last { $0.step <= hit.step }?.value ?? 0
            if fastest == nil || evals < fastest!.evals { fastest = (run.params["benchmark.trial"]!, evals) }
        }
        let final = try XCTUnwrap(runs.first { $0.params["benchmark.role"] == "final" })
        XCTAssertEqual(final.params["benchmark.trial"], try XCTUnwrap(fastest, "some trial reaches the target").trial)
        let table = try trainlab(["benchmark", "ttt", "--db", database])
        XCTAssertTrue(table.standardOutput.contains("selection: each best tuning trial reaches the target in the fewest evaluations"),
                      table.standardOutput)
    }

    /// `selection {top_k: 2, seeds: 2}` with budget 6: 2 search trials, both rerun on seeds 1
    /// and 2 (role select); the finals rerun the trial with the best mean val_loss over seeds
    /// 0-2 (computed here from the database), on seeds 3 and up.
    func testRobustSelectionPicksTheBestMeanOverTheTopTrialsSeeds() throws {
        let spec = try specFile("""
            {"name": "robust", "task": {"kind": "blobs", "train_size": 32, "val_size": 16},
             "model": {"hidden": [4]}, "loss": "cross_entropy",
             "training": {"steps": 6, "batch_size": 32, "eval_every": 6, "log_every": 6},
             "benchmark": {"optimizers": {"sgd": {"kind": "sgd", "lr": {"log_uniform": [1e-2, 1]}}},
                           "budget": 6, "seeds": 1, "selection": {"top_k": 2, "seeds": 2}}}
            """)
        let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("robust.sqlite").path
        let ran = try trainlab(["run", spec, "--db", database])
        XCTAssertEqual(ran.status, 0, ran.standardError)
        XCTAssertTrue(ran.standardOutput.contains("benchmark: 4 selection runs"), ran.standardOutput)
        let store = try ResultsStore.openForReading(path: database)
        let runs = try store.runOverviews(experiment: "robust")
        XCTAssertEqual(runs.filter { $0.params["benchmark.role"] == "tune" }.count, 2)
        let select = runs.filter { $0.params["benchmark.role"] == "select" }
        XCTAssertEqual(select.compactMap(\.run.seed).sorted(), [1, 1, 2, 2])
        var sums: [String: [Double]] = [:]
        for run in runs where run.params["benchmark.role"] != "final" {
            sums[run.params["benchmark.trial"]!, default: []].append(try XCTUnwrap(run.summaries["val_loss"]?.finalValue))
        }
        XCTAssertEqual(sums.mapValues(\.count), ["0": 3, "1": 3])
        let means = sums.mapValues { $0.reduce(0, +) / 3 }
        let bestMean = means.min { ($0.value, $0.key) < ($1.value, $1.key) }!.key
        let final = try XCTUnwrap(runs.first { $0.params["benchmark.role"] == "final" })
        XCTAssertEqual(final.params["benchmark.trial"], bestMean)
        XCTAssertEqual(final.run.seed, 3, "seeds 0-2 tuned and selected")
        let table = try trainlab(["benchmark", "robust", "--db", database])
        XCTAssertTrue(table.standardOutput.contains("selection: the top 2 tuning trials were rerun on 2 more seeds"), table.standardOutput)
        let json = try trainlab(["benchmark", "robust", "--format", "json", "--db", database])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        XCTAssertEqual(object["robust_selection"] as? [String: Int], ["top_k": 2, "seeds": 2])
        let tuning = try XCTUnwrap((object["tuning"] as? [[String: Any]])?.first)
        XCTAssertEqual(tuning["trials"] as? Int, 6, "the reruns count in the tuning budget")
    }

    /// `budget: {"evals": 30}` on 5 full-batch steps: SGD (one evaluation a step) gets exactly
    /// 6 trials, trained in one round; L-BFGS (several a step, so its cost is known only once
    /// trained) gets trials one round at a time until the evaluations before its last reach 30,
    /// an equal compute budget rather than an equal trial count.
    func testABudgetInEvaluationsGivesEachOptimizerTheSameCompute() throws {
        let spec = try specFile("""
            {"name": "evals", "task": {"kind": "blobs", "train_size": 32, "val_size": 16},
             "model": {"hidden": [4]}, "loss": "cross_entropy",
             "training": {"steps": 5, "batch_size": 32, "eval_every": 5, "log_every": 1},
             "benchmark": {"optimizers": {"sgd": {"kind": "sgd", "lr": {"log_uniform": [1e-2, 1]}},
                                          "lbfgs": {"kind": "lbfgs", "max_iter": 2, "line_search_fn": "strong_wolfe",
                                                    "lr": {"log_uniform": [0.1, 1]}}},
                           "budget": {"evals": 30}, "seeds": 1}}
            """)
        let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("evals.sqlite").path
        let ran = try trainlab(["run", spec, "--db", database])
        XCTAssertEqual(ran.status, 0, ran.standardError)
        XCTAssertTrue(ran.standardOutput.contains("benchmark: 1 more tuning trial within the budget"), ran.standardOutput)
        let store = try ResultsStore.openForReading(path: database)
        let tune = try store.runOverviews(experiment: "evals").filter { $0.params["benchmark.role"] == "tune" }
        let sgd = tune.filter { $0.params["benchmark.optimizer"] == "sgd" }
        XCTAssertEqual(sgd.count, 6)
        XCTAssertEqual(sgd.compactMap { $0.summaries["evals"]?.finalValue }.reduce(0, +), 30)
        let lbfgs = tune.filter { $0.params["benchmark.optimizer"] == "lbfgs" }
            .sorted { Int($0.params["benchmark.trial"]!)! < Int($1.params["benchmark.trial"]!)! }
        XCTAssertEqual(lbfgs.map { $0.params["benchmark.trial"]! }, lbfgs.indices.map(String.init), "trials 0, 1, ... in search order")
        let costs = lbfgs.map { $0.summaries["evals"]?.finalValue ?? 0 }
        XCTAssertGreaterThan(costs.first ?? 0, 5, "L-BFGS takes more than one evaluation a step")
        XCTAssertLessThan(costs.dropLast().reduce(0, +), 30, "the last trial was admitted: the ones before it cost under 30")
        XCTAssertGreaterThanOrEqual(costs.reduce(0, +), 30, "and no further trial was: the budget is spent")
        XCTAssertEqual(try store.runOverviews(experiment: "evals").filter { $0.params["benchmark.role"] == "final" }.count, 2)
        // Run again: the same trials are found complete and nothing more trains.
        let again = try trainlab(["run", spec, "--db", database, "--quiet"])
        XCTAssertEqual(again.status, 0, again.standardError)
        XCTAssertEqual(try store.runOverviews(experiment: "evals").count, tune.count + 2)
    }

    /// The range trap above, with `"extend": true`: the best of the first 8 trials sits at the
    /// top of [1e-6, 1e-5], so the next 4 search [1e-6, 1e-4]; their best (interior) settles it
    /// and the last 4 run there too. The final reruns a trial from beyond the first range and no
    /// edge warning is left.
    func testAnExtendableRangeWidensWhileTheBestSitsAtItsEdge() throws {
        let spec = try specFile("""
            {"name": "extend", "task": {"kind": "blobs", "train_size": 32, "val_size": 16},
             "model": {"hidden": [4]}, "loss": "cross_entropy",
             "training": {"steps": 8, "batch_size": 32, "eval_every": 8, "log_every": 8},
             "benchmark": {"optimizers": {"sgd": {"kind": "sgd", "lr": {"log_uniform": [1e-6, 1e-5], "extend": true}}},
                           "budget": 16, "seeds": 1}}
            """)
        let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("extend.sqlite").path
        let ran = try trainlab(["run", spec, "--db", database])
        XCTAssertEqual(ran.status, 0, ran.standardError)
        XCTAssertFalse(ran.standardError.contains("edge"), ran.standardError)
        let store = try ResultsStore.openForReading(path: database)
        let runs = try store.runOverviews(experiment: "extend")
        let tune = runs.filter { $0.params["benchmark.role"] == "tune" }
        XCTAssertEqual(tune.count, 16, "the budget, not more")
        for run in tune {
            let trial = Int(run.params["benchmark.trial"]!)!
            XCTAssertEqual(run.params["benchmark.space.lr.log_uniform"], trial < 8 ? "[1e-06,1e-05]" : "[1e-06,0.0001]", "trial \(trial)")
            let lr = Double(run.params["optimizer.lr"]!)!
            XCTAssertLessThanOrEqual(lr, trial < 8 ? 1e-5 : 1e-4)
        }
        let final = try XCTUnwrap(runs.first { $0.params["benchmark.role"] == "final" })
        XCTAssertGreaterThan(Double(final.params["optimizer.lr"]!)!, 1e-5, "the pick lies beyond the first range")
        XCTAssertEqual(final.params["benchmark.space.lr.log_uniform"], "[1e-06,0.0001]")
        // A second run replays the rounds from the database: nothing new trains.
        let again = try trainlab(["run", spec, "--db", database, "--quiet"])
        XCTAssertEqual(again.status, 0, again.standardError)
        XCTAssertEqual(try store.runOverviews(experiment: "extend").count, 17)
    }

    /// `studies: 2`: the search runs twice (its own scrambling each); the final reruns study 0's
    /// best, and `benchmark` shows the expected best after k trials from both studies' 8 trials
    /// and each study's best.
    func testStudiesRepeatTheTuningAndThePickComesFromTheFirst() throws {
        let spec = try specFile("""
            {"name": "studies", "task": {"kind": "blobs", "train_size": 32, "val_size": 16},
             "model": {"hidden": [4]}, "loss": "cross_entropy",
             "training": {"steps": 6, "batch_size": 32, "eval_every": 6, "log_every": 6},
             "benchmark": {"optimizers": {"sgd": {"kind": "sgd", "lr": {"log_uniform": [1e-2, 1]}}},
                           "budget": 4, "seeds": 1, "studies": 2}}
            """)
        let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("studies.sqlite").path
        let ran = try trainlab(["run", spec, "--db", database, "--quiet"])
        XCTAssertEqual(ran.status, 0, ran.standardError)
        let store = try ResultsStore.openForReading(path: database)
        let runs = try store.runOverviews(experiment: "studies")
        let tune = runs.filter { $0.params["benchmark.role"] == "tune" }
        XCTAssertEqual(tune.count, 8)
        let first = tune.filter { $0.params["benchmark.study"] == "0" }
        let best = try XCTUnwrap(first.min { ($0.summaries["val_loss"]!.finalValue!, $0.params["benchmark.trial"]!) < ($1.summaries["val_loss"]!.finalValue!, $1.params["benchmark.trial"]!) })
        let final = try XCTUnwrap(runs.first { $0.params["benchmark.role"] == "final" })
        XCTAssertEqual(final.params["optimizer.lr"], best.params["optimizer.lr"], "study 0 picks")
        let json = try trainlab(["benchmark", "studies", "--format", "json", "--db", database])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        let curve = try XCTUnwrap((object["tuning_curves"] as? [[String: Any]])?.first)
        XCTAssertEqual(curve["studies"] as? Int, 2)
        let expected = try XCTUnwrap(curve["expected_best"] as? [Double])
        XCTAssertEqual(expected.count, 4)
        let all = tune.map { $0.summaries["val_loss"]!.finalValue! }
        XCTAssertEqual(expected[0], all.reduce(0, +) / 8, accuracy: 1e-9, "k = 1: the mean of the pooled trials")
        XCTAssertEqual((curve["study_bests"] as? [Double])?.first ?? .nan, best.summaries["val_loss"]!.finalValue!, accuracy: 1e-12)
        let table = try trainlab(["benchmark", "studies", "--db", database])
        XCTAssertTrue(table.standardOutput.contains("expected best final val_loss after k tuning trials (the mean of the best over every k of the 2 studies' pooled trials"),
                      table.standardOutput)
        let tuning = try XCTUnwrap((object["tuning"] as? [[String: Any]])?.first)
        XCTAssertEqual(tuning["trials"] as? Int, 4, "the budget is one study's")
    }

    func testABadValueInAProblemOrOptimizerNamesTheBenchmarkRun() throws {
        let spec = try specFile("""
            {"name": "bad", "task": "blobs", "loss": "cross_entropy",
             "benchmark": {"optimizers": {"heavy": {"kind": "sgd", "momentun": 0.9}}, "problems": {"p": {}}}}
            """)
        let refused = try trainlab(["validate", spec])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.standardError.contains(
            "optimizer.momentun: unknown key 'momentun' in optimizer, did you mean 'momentum'? (in the benchmark run of problem \"p\" with optimizer \"heavy\""),
            refused.standardError)
    }
}
