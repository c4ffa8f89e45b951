import XCTest
@testable import TrainLabSpec

final class BenchmarkSpecTests: XCTestCase {
    static let spec = """
        {"name": "b", "seed": 7,
         "task": {"kind": "spirals", "noise": 0.1}, "model": {"hidden": [8]}, "loss": "cross_entropy",
         "training": {"steps": 20, "batch_size": 32},
         "benchmark": {
           "optimizers": {"adam": {"kind": "adam", "lr": {"log_uniform": [1e-3, 1]}, "eps": 1e-7},
                          "plain": "sgd"},
           "problems": {"easy": {}, "wide": {"model": {"hidden": [32]}, "task": {"kind": "blobs"}}},
           "budget": 4, "metric": "val_loss", "seeds": 3,
           "target": {"metric": "val_accuracy", "value": 0.9}}}
        """

    func plan(_ text: String = spec) throws -> BenchmarkPlan {
        let plan = try BenchmarkPlan(JSONParser.parse(text, file: "x.json"))
        return try XCTUnwrap(plan)
    }

    func member(_ value: JSONValue, _ path: String) -> JSONValue? {
        var node: JSONValue? = value
        for key in path.split(separator: ".") {
            guard case .object(let object)? = node else { return nil }
            node = object[String(key)]
        }
        return node
    }

    func number(_ value: JSONValue?) -> Double? {
        if case .number(let n)? = value { return n.value }
        return nil
    }

    func testHaltonIsTheRadicalInverse() {
        XCTAssertEqual((1...4).map { BenchmarkPlan.halton(index: $0, base: 2) }, [0.5, 0.25, 0.75, 0.125])
        XCTAssertEqual((1...4).map { BenchmarkPlan.halton(index: $0, base: 3) }, [1.0 / 3, 2.0 / 3, 1.0 / 9, 4.0 / 9])
    }

    func testHaltonSearchTakesHaltonPointsThroughTheQuantiles() throws {
        let trials = try plan(Self.spec.replacingOccurrences(of: #""budget": 4"#, with: #""budget": 4, "search": "halton""#)).trials(of: "adam")
        XCTAssertEqual(trials.count, 4)
        // u = 1/2, 1/4, 3/4, 1/8 of [log 1e-3, log 1].
        let lrs = trials.map { number($0[0].value)! }
        for (lr, exponent) in zip(lrs, [-1.5, -2.25, -0.75, -2.625]) { XCTAssertEqual(lr, pow(10, exponent), accuracy: 1e-12) }
        XCTAssertEqual(try plan().trials(of: "plain").count, 1, "nothing to search: one trial")
    }

    /// The scrambled sequence (the default): in one dimension the unscrambled 16 points are the
    /// grid 1/32…15/16, never nearer the top than 1/16; a scramble keeps one point in each of the
    /// 16 strata [k/16, (k+1)/16) but moves them, differently for each search_seed.
    func testRandomSearchScramblesTheHaltonSequenceWithTheStudySeed() throws {
        func quantiles(_ seed: Int) throws -> [Double] {
            let plan = try plan(Self.spec.replacingOccurrences(of: #""budget": 4"#, with: #""budget": 16, "search_seed": \#(seed)"#))
            return plan.trials(of: "adam").map { (log10(number($0[0].value)!) + 3) / 3 }
        }
        let first = try quantiles(0), second = try quantiles(1)
        for points in [first, second] {
            XCTAssertEqual(Set(points.map { Int(($0 * 16).rounded(.down)) }), Set(0..<16), "one point per 1/16 stratum")
        }
        XCTAssertNotEqual(first, second)
        XCTAssertEqual(try quantiles(0), first, "deterministic from the seed")
        let plain = (1...16).map { BenchmarkPlan.halton(index: $0, base: 2) }
        XCTAssertNotEqual(first.sorted().map { ($0 * 1e9).rounded() }, plain.sorted().map { ($0 * 1e9).rounded() })
    }

    func testGridSearchSpacesQuantilesEvenly() throws {
        let text = Self.spec.replacingOccurrences(of: #""budget": 4"#, with: #""budget": 10, "search": "grid""#)
            .replacingOccurrences(of: #""eps": 1e-7"#, with: #""weight_decay": {"uniform": [0, 0.1]}"#)
        let trials = try plan(text).trials(of: "adam")
        // k = 3 points per axis (3² ≤ 10 < 4²); the last key changes fastest.
        XCTAssertEqual(trials.count, 9)
        XCTAssertEqual(trials.map { number($0[1].value)! }.prefix(3), [0, 0.05, 0.1])
        let lrs = trials.map { number($0[0].value)! }.enumerated().filter { $0.offset % 3 == 0 }.map(\.element)
        for (lr, expected) in zip(lrs, [1e-3, pow(10, -1.5), 1]) { XCTAssertEqual(lr, expected, accuracy: 1e-12, "lr at quantiles 0, 1/2, 1") }
    }

    func testTuneRunsCoverEveryProblemAndOptimizerWithTheSamePoints() throws {
        let runs = try plan().tuneRuns()
        XCTAssertEqual(runs.count, 2 * (4 + 1))
        let easy = runs.filter { member($0.spec, "benchmark.problem") == .string("easy") }
        let wide = runs.filter { member($0.spec, "benchmark.problem") == .string("wide") }
        XCTAssertEqual(easy.map { member($0.spec, "optimizer") }, wide.map { member($0.spec, "optimizer") })
        let first = runs[0].spec
        XCTAssertEqual(member(first, "benchmark.role"), .string("tune"))
        XCTAssertEqual(member(first, "benchmark.trial"), .number(0))
        XCTAssertEqual(member(first, "benchmark.target.metric"), .string("val_accuracy"))
        XCTAssertEqual(member(first, "optimizer.eps"), .number(1e-7), "fixed keys stay")
        XCTAssertEqual(member(first, "seed"), .number(7), "tuning runs keep the spec's seed")
        XCTAssertEqual(member(runs[4].spec, "optimizer"), ["kind": "sgd"])
        // The problem's overrides: model merged key by key, a different task kind replaces.
        let w = wide[0].spec
        XCTAssertEqual(member(w, "model.hidden"), [32])
        XCTAssertEqual(member(w, "task"), ["kind": "blobs"])
        XCTAssertEqual(member(w, "training.steps"), .number(20))
    }

    func testFinalRunsRerunTheBestTrialOnTheSameSeedsForEveryOptimizer() throws {
        let plan = try plan()
        let runs = try plan.finalRuns { problem, optimizer in
            problem == "wide" && optimizer == "plain" ? nil : (optimizer == "adam" ? 2 : 0)
        }
        XCTAssertEqual(runs.count, 3 * 3, "easy: adam and plain, wide: adam; 3 seeds each")
        for problem in ["easy", "wide"] {
            let seedsByOptimizer = Dictionary(grouping: runs.filter { member($0.spec, "benchmark.problem") == .string(problem) }) {
                JSONWriter.write(member($0.spec, "benchmark.optimizer")!)
            }.mapValues { $0.map { number(member($0.spec, "seed"))! } }
            for seeds in seedsByOptimizer.values { XCTAssertEqual(seeds, [0, 1, 2]) }
        }
        // Seed 7 tunes, so 0, 1, 2 are free; a spec tuning at seed 1 gets finals 0, 2, 3: no
        // final run repeats the winning tuning run (issue 28.1).
        XCTAssertEqual(plan.finalSeeds, [0, 1, 2])
        let atOne = try self.plan(Self.spec.replacingOccurrences(of: #""seed": 7"#, with: #""seed": 1"#))
        XCTAssertEqual(atOne.tuningSeeds, [1])
        XCTAssertEqual(atOne.finalSeeds, [0, 2, 3])
        XCTAssertEqual(try atOne.finalRuns { _, _ in 0 }.map { number(member($0.spec, "seed"))! }.prefix(3), [0, 2, 3])
        let adam = runs[0].spec
        XCTAssertEqual(member(adam, "benchmark.role"), .string("final"))
        XCTAssertEqual(member(adam, "benchmark.trial"), .number(2))
        XCTAssertEqual(member(adam, "optimizer.lr"), plan.trials(of: "adam")[2][0].value, "trial 2's point")
    }

    /// Two optimizers (one test per problem, threshold 0.05) and 3 seeds: 2/2³ = 0.25 can never
    /// be significant; 6 seeds (2/64 = 0.031) can. Eight optimizers and 8 seeds: 2/2⁸ = 0.0078
    /// against 0.05/7 = 0.0071, the shipped benchmark's trap; 9 seeds are needed (2/512).
    func testSignificanceFloorSaysWhatTheSeedCountAllows() throws {
        let few = try plan().significanceFloor
        XCTAssertEqual(few, .init(smallestP: 0.25, tests: 1, threshold: 0.05))
        XCTAssertFalse(few.attainable)
        XCTAssertEqual(few.seedsNeeded, 6)
        let note = try plan().significanceNote
        XCTAssertTrue(note.isWarning)
        XCTAssertTrue(note.text.contains("no result can be significant; use at least 6 seeds"), note.text)
        XCTAssertFalse(try plan(Self.spec.replacingOccurrences(of: "\"seeds\": 3", with: "\"seeds\": 6")).significanceNote.isWarning)
        let eight = (1...8).map { "\"o\($0)\": \"sgd\"" }.joined(separator: ", ")
        let many = try plan("""
            {"name": "m", "task": "spirals", "loss": "cross_entropy",
             "benchmark": {"optimizers": {\(eight)}, "seeds": 8}}
            """).significanceFloor
        XCTAssertEqual(many.smallestP, 2.0 / 256)
        XCTAssertEqual(many.threshold, 0.05 / 7, accuracy: 1e-15)
        XCTAssertFalse(many.attainable)
        XCTAssertEqual(many.seedsNeeded, 9)
    }

    /// A problem's own target overrides the benchmark's; a reference target is tagged without a
    /// value while tuning and with the value set from the tuning runs in the final runs.
    func testPerProblemAndReferenceTargets() throws {
        let text = Self.spec.replacingOccurrences(of: #""wide": {"model""#,
                                                  with: #""wide": {"target": {"metric": "val_loss", "from": "reference", "quantile": 0.5}, "model""#)
        let plan = try plan(text)
        XCTAssertEqual(plan.targets["easy"], .fixed(metric: "val_accuracy", value: 0.9))
        XCTAssertEqual(plan.targets["wide"], .reference(metric: "val_loss", quantile: 0.5))
        let tune = try plan.tuneRuns().first { member($0.spec, "benchmark.problem") == .string("wide") }!
        XCTAssertEqual(member(tune.spec, "benchmark.target.from"), .string("reference"))
        XCTAssertNil(member(tune.spec, "benchmark.target.value"))
        XCTAssertNil(member(tune.spec, "target"), "a problem's target is no key of the run's spec")
        let finals = try plan.finalRuns(bestTrial: { _, _ in 0 }, referenceTarget: { $0 == "wide" ? 0.25 : nil })
        let wide = finals.first { member($0.spec, "benchmark.problem") == .string("wide") }!
        XCTAssertEqual(member(wide.spec, "benchmark.target.value"), .number(0.25))
        let easy = finals.first { member($0.spec, "benchmark.problem") == .string("easy") }!
        XCTAssertEqual(member(easy.spec, "benchmark.target.value"), .number(0.9))
        XCTAssertThrowsError(try self.plan(text.replacingOccurrences(of: #""quantile": 0.5"#, with: #""quantile": 2"#)))
        XCTAssertThrowsError(try self.plan(text.replacingOccurrences(of: #""from": "reference""#, with: #""from": "elsewhere""#)))
    }

    /// `problems.NAME.optimizers` runs a subset on a problem (e.g. L-BFGS only where the batch is
    /// full); the significance floor's family is the largest problem's.
    func testAProblemRunsOnlyItsListedOptimizers() throws {
        let text = Self.spec.replacingOccurrences(of: #""wide": {"model""#, with: #""wide": {"optimizers": ["plain"], "model""#)
        let plan = try plan(text)
        XCTAssertEqual(plan.optimizers(on: "easy"), ["adam", "plain"])
        XCTAssertEqual(plan.optimizers(on: "wide"), ["plain"])
        let tune = try plan.tuneRuns()
        XCTAssertEqual(tune.count, 4 + 1 + 1, "easy: 4 adam trials and plain's one; wide: plain's one")
        XCTAssertNil(tune.first { member($0.spec, "benchmark.problem") == .string("wide") && member($0.spec, "benchmark.optimizer") == .string("adam") })
        XCTAssertNil(member(tune.last!.spec, "optimizers"), "the subset is no key of the run's spec")
        XCTAssertEqual(try plan.finalRuns { _, _ in 0 }.count, 3 * 3)
        XCTAssertEqual(plan.significanceFloor.tests, 1)
        let typo = specError { try self.plan(text.replacingOccurrences(of: #"["plain"]"#, with: #"["plain", "adma"]"#)) }
        XCTAssertEqual(typo?.path, "benchmark.problems.wide.optimizers[1]")
        XCTAssertTrue(typo?.message.contains("did you mean 'adam'?") ?? false, "\(String(describing: typo))")
        XCTAssertNotNil(specError { try self.plan(text.replacingOccurrences(of: #"["plain"]"#, with: "[]")) })
    }

    /// `selection {top_k, seeds}`: its k·s reruns come out of the budget (8 − 2·2 = 4 search
    /// trials), run at the seeds after the tuning seed on the validation split, and the finals
    /// skip those seeds too.
    func testSelectionRerunsTheTopTrialsOnSeedsOutOfTheBudget() throws {
        let text = Self.spec.replacingOccurrences(of: #""budget": 4"#, with: #""budget": 8, "selection": {"top_k": 2, "seeds": 2}"#)
            .replacingOccurrences(of: #""seed": 7"#, with: #""seed": 0"#)
        let plan = try plan(text)
        XCTAssertEqual(plan.selection, .init(topK: 2, seeds: 2))
        XCTAssertEqual(plan.searchTrials, 4)
        XCTAssertEqual(plan.trials(of: "adam").count, 4)
        XCTAssertEqual(plan.selectionSeeds, [1, 2])
        XCTAssertEqual(plan.finalSeeds, [3, 4, 5])
        let reruns = try plan.selectionRuns { problem, optimizer in problem == "easy" && optimizer == "adam" ? [3, 1] : nil }
        XCTAssertEqual(reruns.map { number(member($0.spec, "seed"))! }, [1, 2, 1, 2])
        XCTAssertEqual(reruns.map { number(member($0.spec, "benchmark.trial"))! }, [3, 3, 1, 1])
        XCTAssertEqual(member(reruns[0].spec, "benchmark.role"), .string("select"))
        XCTAssertNil(member(reruns[0].spec, "benchmark.test"), "selection sees the validation split only")
        XCTAssertEqual(member(reruns[0].spec, "optimizer.lr"), plan.trials(of: "adam")[3][0].value)
        XCTAssertEqual(member(reruns[0].spec, "benchmark.selection.top_k"), .number(2))
        let tooSmall = specError { try self.plan(text.replacingOccurrences(of: #""budget": 8"#, with: #""budget": 5"#)) }
        XCTAssertEqual(tooSmall?.path, "benchmark.selection")
        XCTAssertTrue(tooSmall?.message.contains("raise benchmark.budget to at least 6") ?? false, "\(String(describing: tooSmall))")
        let adaptive = specError { try self.plan(text.replacingOccurrences(of: #""budget": 8"#, with: #""budget": 8, "search": {"successive_halving": {"min_steps": 2}}"#)) }
        XCTAssertEqual(adaptive?.path, "benchmark.selection")
    }

    /// A budget of 100 evaluations: trial j is admitted while the costs before it sum below
    /// 100 (with selection, plus k·s times their mean); with a bound the next round starts every
    /// trial admitted even at that cost, without one a single trial.
    func testACostBudgetAdmitsTrialsWhileItLasts() throws {
        let text = Self.spec.replacingOccurrences(of: #""budget": 4"#, with: #""budget": {"evals": 100}"#)
        let plan = try plan(text)
        XCTAssertEqual(plan.costBudget, .init(unit: .evals, amount: 100))
        XCTAssertTrue(plan.budgetedTrials(costs: [], bound: 20) == (5, false), "0, 20, ..., 80 < 100: five trials at once")
        XCTAssertTrue(plan.budgetedTrials(costs: [], bound: nil) == (1, false))
        XCTAssertTrue(plan.budgetedTrials(costs: [20, 20, 20, 20, 20], bound: 20) == (5, true), "100 is spent")
        XCTAssertTrue(plan.budgetedTrials(costs: [20, 20, 20, 20, 5], bound: 20) == (6, false), "a diverged trial cost 5: one more fits")
        XCTAssertTrue(plan.budgetedTrials(costs: [60, 50, 7], bound: nil) == (2, true), "60 < 100 admits trial 1; 110 stops at trial 2")
        XCTAssertTrue(plan.budgetedTrials(costs: [30, 30], bound: nil) == (3, false))
        XCTAssertTrue(plan.budgetedTrials(costs: [0, 0], bound: nil) == (3, false), "a trial counts at least one evaluation")
        let selected = try self.plan(text.replacingOccurrences(of: #""seeds": 3"#, with: #""seeds": 3, "selection": {"top_k": 1, "seeds": 2}"#))
        // Trial 2: 40 + 2·20 = 80 < 100; trial 3: 60 + 40 = 100, not admitted.
        XCTAssertTrue(selected.budgetedTrials(costs: [20, 20, 20], bound: 20) == (3, true))
        // The first count's bound: steps for a first-order optimizer's evaluations, unknown for a closure one's.
        XCTAssertEqual(try plan.costBound(problem: "easy", optimizer: "adam", defaultSteps: 1000, firstOrder: { $0 != "lbfgs" }), 20)
        XCTAssertEqual(try plan.tuneRunsWithSearch(defaultSteps: 1000, firstOrder: { _ in true }).runs.count, 2 * (5 + 1))
        XCTAssertEqual(try plan.tuneRunsWithSearch(defaultSteps: 1000, trialCount: { _, _ in 7 }).runs.count, 2 * (7 + 1),
                       "the trial count of each searched optimizer (plain sgd has one)")
        for (budget, message) in [(#"{"flops": 5}"#, "got none"), (#"{"steps": 5, "evals": 5}"#, "got steps and evals"),
                                  (#"{"evals": 100}, "search": "grid""#, "not \"grid\"")] {
            let error = specError { try self.plan(Self.spec.replacingOccurrences(of: #""budget": 4"#, with: #""budget": "# + budget)) }
            XCTAssertEqual(error?.path, "benchmark.budget", budget)
            XCTAssertTrue(error?.message.contains(message) ?? false, "\(budget): \(String(describing: error))")
        }
        XCTAssertEqual(try self.plan(Self.spec.replacingOccurrences(of: #""budget": 4"#, with: #""budget": {"trials": 3}"#)).budget, 3)
    }

    /// `"extend": true` on a log range: rounds of half the trials left (8, 12, 14, 15, 16 of
    /// 16); a best in the top (bottom) 1/16 of the current range moves that end a decade out.
    func testExtendWidensALogRangeByADecadeAtTheEdgeTheBestSitsAt() throws {
        let text = Self.spec.replacingOccurrences(of: #""lr": {"log_uniform": [1e-3, 1]}"#, with: #""lr": {"log_uniform": [1e-3, 1], "extend": true}"#)
            .replacingOccurrences(of: #""budget": 4"#, with: #""budget": 16"#)
        let plan = try plan(text)
        XCTAssertEqual(plan.extendableKeys(of: "adam"), ["lr"])
        XCTAssertEqual([0, 8, 12, 14, 15].map { plan.nextRoundTrials(done: $0) }, [8, 12, 14, 15, 16])
        XCTAssertEqual(plan.extensions(optimizer: "adam", bestValues: ["lr": 0.7], fromTrial: 8, extensions: []),
                       [.init(fromTrial: 8, key: "lr", range: [1e-3, 10])], "log position of 0.7 in [1e-3, 1] is 0.95 ≥ 15/16")
        XCTAssertEqual(plan.extensions(optimizer: "adam", bestValues: ["lr": 1.2e-3], fromTrial: 8, extensions: []),
                       [.init(fromTrial: 8, key: "lr", range: [1e-4, 1])])
        XCTAssertEqual(plan.extensions(optimizer: "adam", bestValues: ["lr": 0.03], fromTrial: 8, extensions: []), [])
        let widened = [BenchmarkPlan.RangeExtension(fromTrial: 8, key: "lr", range: [1e-3, 10])]
        XCTAssertEqual(plan.extensions(optimizer: "adam", bestValues: ["lr": 0.7], fromTrial: 12, extensions: widened), [],
                       "0.7 is inside the widened range")
        XCTAssertEqual(try plan.tuneRuns().filter { member($0.spec, "benchmark.optimizer") == .string("adam") }.count / 2, 8,
                       "the first round: half the trials, on each of the two problems")
        let runs = try plan.tuneRunsWithSearch(defaultSteps: 100, trialCount: { _, _ in 12 }, extensions: { _, _ in widened }).runs
            .filter { member($0.spec, "benchmark.optimizer") == .string("adam") && member($0.spec, "benchmark.problem") == .string("easy") }
        XCTAssertEqual(runs.count, 12)
        XCTAssertEqual(member(runs[7].spec, "optimizer.lr"), plan.trials(of: "adam")[7][0].value, "trials before the change keep their point")
        let u = BenchmarkPlan.halton(index: 10, base: 2, scramble: BenchmarkPlan.digitScramble(base: 2, seed: 0, dimension: 0))
        XCTAssertEqual(number(member(runs[9].spec, "optimizer.lr"))!, exp(log(1e-3) + u * log(1e4)), accuracy: 1e-12,
                       "trial 9: its quantile through the widened range")
        XCTAssertEqual(member(runs[9].spec, "benchmark.space.lr.log_uniform"), .array([.number(1e-3), .number(10)]))
        let uniform = specError { try self.plan(Self.spec.replacingOccurrences(of: #""eps": 1e-7"#, with: #""eps": 1e-7, "beta1": {"uniform": [0.8, 0.95], "extend": true}"#)) }
        XCTAssertEqual(uniform?.path, "benchmark.optimizers.adam.beta1.extend")
        let grid = specError { try self.plan(text.replacingOccurrences(of: #""budget": 16"#, with: #""budget": 16, "search": "grid""#)) }
        XCTAssertTrue(grid?.message.contains("\"extend\" widens a range") ?? false, "\(String(describing: grid))")
    }

    /// `studies: 3`: each searched optimizer's trials three times, study s scrambled with
    /// search_seed + s and tagged; an unsearched optimizer runs once; finals rerun study 0's.
    func testStudiesRepeatTheSearchWithTheirOwnScrambling() throws {
        let plan = try plan(Self.spec.replacingOccurrences(of: #""seeds": 3"#, with: #""seeds": 3, "studies": 3, "search_seed": 5"#))
        XCTAssertEqual(plan.studies, 3)
        let easy = try plan.tuneRuns().filter { member($0.spec, "benchmark.problem") == .string("easy") }
        XCTAssertEqual(easy.count, 3 * 4 + 1)
        let adam = easy.filter { member($0.spec, "benchmark.optimizer") == .string("adam") }
        XCTAssertEqual(adam.map { number(member($0.spec, "benchmark.study"))! }, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
        let other = try self.plan(Self.spec.replacingOccurrences(of: #""seeds": 3"#, with: #""seeds": 3, "search_seed": 6"#))
        XCTAssertEqual(member(adam[4].spec, "optimizer.lr"), other.trials(of: "adam")[0][0].value, "study 1 is search_seed 5 + 1")
        XCTAssertNotEqual(member(adam[0].spec, "optimizer.lr"), member(adam[4].spec, "optimizer.lr"))
        XCTAssertTrue(adam[4].assignments.contains { $0.path == "benchmark.study" && $0.value == .number(1) })
        let finals = try plan.finalRuns { _, optimizer in optimizer == "adam" ? 1 : 0 }
        XCTAssertEqual(member(finals[0].spec, "optimizer.lr"), member(adam[1].spec, "optimizer.lr"), "study 0's trial 1")
        XCTAssertNil(member(finals[0].spec, "benchmark.study"))
        XCTAssertEqual(member(finals[0].spec, "benchmark.studies"), .number(3))
        let halton = specError { try self.plan(Self.spec.replacingOccurrences(of: #""seeds": 3"#, with: #""seeds": 3, "studies": 2, "search": "halton""#)) }
        XCTAssertEqual(halton?.path, "benchmark.studies")
    }

    /// `problems.NAME.search_space`: on "wide" Adam's lr is searched in [1e-5, 1e-2]; the trials
    /// keep their quantile points (trial k sits at the same place in both ranges), the runs record
    /// the problem's range (what range_edge reads), finals and "easy" keep the optimizer's.
    func testAProblemsSearchSpaceReplacesARangeOnThatProblemOnly() throws {
        let text = Self.spec.replacingOccurrences(of: #""wide": {"model""#,
                                                  with: #""wide": {"search_space": {"adam": {"lr": {"log_uniform": [1e-5, 1e-2]}}}, "model""#)
        let plan = try plan(text)
        let runs = try plan.tuneRuns()
        func lrs(_ problem: String) -> [Double] {
            runs.filter { member($0.spec, "benchmark.problem") == .string(problem) && member($0.spec, "benchmark.optimizer") == .string("adam") }
                .map { number(member($0.spec, "optimizer.lr"))! }
        }
        let easy = lrs("easy"), wide = lrs("wide")
        XCTAssertEqual(easy.count, 4)
        XCTAssertEqual(easy, try self.plan().trials(of: "adam").map { number($0[0].value)! }, "the other problem is unchanged")
        for (e, w) in zip(easy, wide) {
            // u = log(lr/lo)/log(hi/lo) is the trial's quantile in both ranges.
            XCTAssertEqual(log(e / 1e-3) / log(1000), log(w / 1e-5) / log(1000), accuracy: 1e-12)
        }
        let wideRun = try XCTUnwrap(runs.first { member($0.spec, "benchmark.problem") == .string("wide") && member($0.spec, "benchmark.optimizer") == .string("adam") })
        XCTAssertEqual(member(wideRun.spec, "benchmark.space.lr.log_uniform").map { JSONWriter.write($0) }, "[1e-05,0.01]")
        let finals = try plan.finalRuns { _, optimizer in optimizer == "adam" ? 2 : 0 }
        let wideFinal = try XCTUnwrap(finals.first { member($0.spec, "benchmark.problem") == .string("wide") && member($0.spec, "benchmark.optimizer") == .string("adam") })
        XCTAssertEqual(number(member(wideFinal.spec, "optimizer.lr")), wide[2], "the final reruns the problem's trial 2")
        XCTAssertEqual(plan.range(of: "lr", optimizer: "adam", problem: "wide", trial: 0, extensions: []), [1e-5, 1e-2])

        let unknown = specError { try self.plan(text.replacingOccurrences(of: #"{"adam": {"lr""#, with: #"{"adam": {"eps""#)) }
        XCTAssertEqual(unknown?.path, "benchmark.problems.wide.search_space.adam.eps")
        XCTAssertTrue(unknown?.message.contains("expected a key benchmark.optimizers.adam searches (lr)") ?? false, "\(String(describing: unknown))")
        let unsearched = specError { try self.plan(text.replacingOccurrences(of: #"{"adam": {"lr""#, with: #"{"plain": {"lr""#)) }
        XCTAssertEqual(unsearched?.path, "benchmark.problems.wide.search_space.plain.lr")
        let notRunning = specError { try self.plan(text.replacingOccurrences(of: #""search_space""#, with: #""optimizers": ["plain"], "search_space""#)) }
        XCTAssertEqual(notRunning?.path, "benchmark.problems.wide.search_space.adam")
    }

    /// TPE's startup trials are random's first points with the benchmark's scrambling, so another
    /// `search_seed` is another study of TPE too (they were the unscrambled Halton points, the
    /// same for every seed), and its proposals draw from tpe.seed + search_seed.
    func testTPEStartsFromRandomsScrambledPoints() throws {
        let tpe = try plan(Self.spec.replacingOccurrences(of: #""seeds": 3"#, with: #""seeds": 3, "search_seed": 3, "search": {"tpe": {"startup": 2, "seed": 4}}"#))
        let random = try plan(Self.spec.replacingOccurrences(of: #""seeds": 3"#, with: #""seeds": 3, "search_seed": 3"#))
        let startup = try tpe.tuneRunsWithSearch(defaultSteps: 20).runs
            .filter { member($0.spec, "benchmark.problem") == .string("easy") && member($0.spec, "benchmark.optimizer") == .string("adam") }
        XCTAssertEqual(startup.map { member($0.spec, "optimizer.lr") }, random.trials(of: "adam").prefix(2).map { $0[0].value })
        XCTAssertNotEqual(startup.map { member($0.spec, "optimizer.lr") }, try plan().trials(of: "adam").prefix(2).map { $0[0].value },
                          "search_seed 3's points, not seed 0's")
        XCTAssertEqual(tpe.adaptive?.seed, 7)
    }

    /// `{"choice": [...]}` searches a key whose values are arrays (Adam's betas, which a bare
    /// array would fix): trial k takes value ⌊u·n⌋ at its quantile u, and the runs record it.
    func testAChoiceSearchesAdamsBetas() throws {
        let text = Self.spec.replacingOccurrences(of: #""eps": 1e-7"#, with: #""eps": 1e-7, "betas": {"choice": [[0.9, 0.999], [0.8, 0.99], [0.95, 0.999]]}"#)
        let plan = try plan(text)
        let trials = plan.trials(of: "adam")
        XCTAssertEqual(trials.first?.map(\.key), ["lr", "betas"])
        let points = plan.quantilePoints(of: "adam")
        let pairs = ["[0.9,0.999]", "[0.8,0.99]", "[0.95,0.999]"]
        XCTAssertEqual(trials.map { JSONWriter.write($0[1].value) }, points.map { pairs[min(2, Int($0[1] * 3))] })
        XCTAssertGreaterThan(Set(trials.map { JSONWriter.write($0[1].value) }).count, 1, "4 trials reach more than one pair")
        let run = try XCTUnwrap(plan.tuneRuns().first { member($0.spec, "benchmark.optimizer") == .string("adam") })
        XCTAssertEqual(member(run.spec, "optimizer.betas").map { JSONWriter.write($0) }, JSONWriter.write(trials[0][1].value))
        XCTAssertNotNil(member(run.spec, "benchmark.space.betas.choice"))
        let empty = specError { try self.plan(text.replacingOccurrences(of: #"{"choice": [[0.9, 0.999], [0.8, 0.99], [0.95, 0.999]]}"#, with: #"{"choice": []}"#)) }
        XCTAssertEqual(empty?.path, "benchmark.optimizers.adam.betas.choice")
    }

    func testBadBenchmarksAreSpecErrors() {
        let noOptimizers = specError { try self.plan(#"{"name": "b", "benchmark": {"problems": {}}}"#) }
        XCTAssertTrue(noOptimizers?.description.contains("benchmark.optimizers") ?? false, "\(String(describing: noOptimizers))")
        let typo = specError { try self.plan(#"{"name": "b", "benchmark": {"optimizers": {"a": "sgd"}, "budgt": 3}}"#) }
        XCTAssertTrue(typo?.description.contains("did you mean 'budget'") ?? false, "\(String(describing: typo))")
        let problemKey = specError { try self.plan(#"{"name": "b", "benchmark": {"optimizers": {"a": "sgd"}, "problems": {"p": {"optimizer": "adam"}}}}"#) }
        XCTAssertTrue(problemKey?.description.contains("benchmark.problems.p.optimizer") ?? false, "\(String(describing: problemKey))")
        let sweep = specError { try self.plan(#"{"name": "b", "sweep": {"seed": [1]}, "benchmark": {"optimizers": {"a": "sgd"}}}"#) }
        XCTAssertTrue(sweep?.description.contains("remove \"sweep\"") ?? false, "\(String(describing: sweep))")
        // The keys this protocol added: each bad value named by its JSON path.
        for (body, path) in [(#""search_seed": -1"#, "benchmark.search_seed"), (#""test_size": "big""#, "benchmark.test_size"),
                             (#""target": {"metric": "val_loss", "from": "reference", "quantile": 0}"#, "benchmark.target.quantile"),
                             (#""target": {"metric": "val_loss", "from": "mean"}"#, "benchmark.target.from"),
                             (#""search": "sobol""#, "benchmark.search"), (#""select": "luck""#, "benchmark.select"),
                             (#""select": "time_to_target""#, "benchmark.select")] {
            let error = specError { try self.plan(#"{"name": "b", "benchmark": {"optimizers": {"a": "sgd"}, "# + body + "}}") }
            XCTAssertTrue(error?.description.contains(path) ?? false, "\(body): \(String(describing: error))")
        }
    }
}
