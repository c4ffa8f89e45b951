import Foundation
import TrainLabKernels
import TrainLabSpec
import TrainLabStore
import TrainLabExperiment
import TrainLabIO

/// `trainlab validate SPEC... [--db PATH] [--shards N]`: parse, check and expand every spec;
/// train nothing. `--db` names the database the runs would write, which no weights file may
/// overwrite; `--shards N` prints how `run --shard K/N` would split the runs.
enum ValidateCommand {
    static func run(_ arguments: inout Arguments) throws {
        let givenDatabase = try arguments.option("--db")
        let database = givenDatabase ?? defaultDatabasePath
        let shardCount = try arguments.intOption("--shards", atLeast: 1)
        var files: [String] = []
        while let file = arguments.next() { files.append(file) }
        try arguments.finish()
        guard !files.isEmpty else { throw UsageError("validate needs at least one spec file") }
        let specs = try loadAll(files, database: database)
        // With --db, what `run` would do with each run: skip it, resume it, or train it.
        let store = try givenDatabase.flatMap { path in
            FileManager.default.fileExists(atPath: path) ? try ResultsStore(path: path, readOnly: true) : nil
        }
        if let givenDatabase, store == nil { print("\(givenDatabase): no database yet; every run would train") }
        var tally = (done: 0, resumes: 0, running: 0)
        func prior(_ spec: ExperimentSpec) throws -> String {
            guard let store, let found = try store.priorRun(configHash: spec.configHash(programVersion: programVersion),
                                                           programVersion: programVersion) else { return "" }
            switch found.status {
            case .completed, .diverged:
                tally.done += 1
                return "; \(found.status.rawValue) already as run \(found.id), skipped"
            case .running:
                tally.running += 1
                return "; running as run \(found.id) (skipped while its process lives)"
            case .interrupted, .failed:
                tally.resumes += 1
                return "; interrupted as run \(found.id), resumes " + (found.savedStep.map { "after step \($0)" } ?? "from the start")
            }
        }
        for (file, runs) in specs {
            print("\(file): \(runs.count) run\(runs.count == 1 ? "" : "s")")
            for (i, spec) in runs.enumerated() {
                let estimate = ResourceEstimate(spec)
                let sweep = spec.assignmentSummary.isEmpty ? "" : "  [\(spec.assignmentSummary)]"
                let model = spec.model.transformer.map { t in
                    "transformer \(t.config.layers)×\(t.config.dModel) (\(t.config.heads) heads, \(t.config.resolvedKVHeads) kv)"
                } ?? "mlp \(spec.model.hidden) \(spec.model.activation.name)"
                print("  \(i + 1). \(spec.name) seed \(spec.seed): \(spec.task.kind), "
                      + "\(model), \(spec.loss.name)\(spec.trainsOnOneHotTargets ? " on one-hot class targets" : ""), \(spec.optimizerKind) lr \(ExperimentSpec.compact(.number(spec.lr))), "
                      + "\(spec.training.steps) steps × batch \(spec.training.batchSize), \(spec.training.precision.rawValue) products; "
                      + "\(estimate.parameters) parameters, "
                      + "\(format(estimate.flopsPerStep / 1e6, 1)) MFLOP/step, ~\(ResourceEstimate.format(estimate.bytes))\(sweep)\(try prior(spec))")
            }
        }
        if let givenDatabase, store != nil {
            let total = specs.reduce(0) { $0 + $1.1.count }
            print("\(givenDatabase): \(tally.done) of \(total) run\(total == 1 ? "" : "s") done already (--force reruns them), "
                  + "\(tally.resumes) to resume, \(tally.running) running, \(total - tally.done - tally.resumes - tally.running) to train")
        }
        for (file, runs) in specs {
            var shown = Set<String>()
            for run in runs {
                guard let trial = run.search, shown.insert(trial.group).inserted else { continue }
                let plan = trial.plan
                let count = runs.filter { $0.search?.group == trial.group }.count
                // A sweep's group is its file; a benchmark's adds the problem and optimizer.
                let cell = trial.group == run.file ? "" : " " + trial.group.dropFirst(run.file.count + 2)
                print("\(file): adaptive search\(cell): \(plan.kind.rawValue) by \(plan.metric) (\(plan.goal.rawValue)), rungs at steps "
                      + plan.rungSteps(maxSteps: run.training.steps).map(String.init).joined(separator: ", ")
                      + (plan.kind == .tpe ? "; \(count) random trials above, then \(plan.trials - count) proposed from their results"
                                           : "; \(count) trials above, the best 1/\(plan.eta) of each rung go on"))
            }
        }
        for (file, runs) in specs where BenchmarkProtocol(of: runs.first) != nil {
            print("\(file): benchmark tuning runs above; `trainlab run` then reruns each problem and optimizer's best trial on the paired seeds")
        }
        printSignificanceNotes(files, quiet: false)
        if let shardCount {
            printShardPlan(specs.flatMap { $0.1 }, shardCount: shardCount, gigaflopsPerSecond: MachineProbe.peakGFLOPS())
        }
    }
}

/// For each benchmark spec (already loaded, so it parses): the smallest p its seed count allows
/// against the Holm threshold of a problem's family, before anything trains; a warning on
/// standard error when no result can be significant (printed with --quiet too).
func printSignificanceNotes(_ files: [String], quiet: Bool) {
    for file in files {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8),
              let document = try? JSONParser.parse(text, file: file), let plan = try? BenchmarkPlan(document) else { continue }
        let note = plan.significanceNote
        if note.isWarning {
            FileHandle.standardError.write(Data("\(file): \(note.text)\n".utf8))
        } else if !quiet {
            print("\(file): \(note.text)")
        }
    }
}

/// Loads every file before anything runs, so a bad spec anywhere stops the whole command
/// before the database is touched (exit 2). No weights file may overwrite the database or a spec.
func loadAll(_ files: [String], database: String) throws -> [(String, [ExperimentSpec])] {
    var protected = ProtectedPaths()
    protected.protectDatabase(database)
    for file in files { protected.protect(file, as: "a spec being run") }
    // Every file is read, so one pass reports the errors of all of them (up to the cap).
    var loaded: [(String, [ExperimentSpec])] = []
    var errors: [SpecError] = []
    for file in files {
        do {
            loaded.append((file, try ExperimentSpec.loadChecked(file: file, protected: protected)))
        } catch let error as SpecError {
            errors += error.all
        }
    }
    if var first = errors.first {
        first.others = Array(errors.dropFirst().prefix(ExperimentSpec.maximumReportedErrors - 1))
        throw first
    }
    return loaded
}

/// `trainlab run SPEC... [--db PATH] [--jobs N] [--force] [--quiet] [--shard K/N|auto [--shards N]]`.
enum RunCommand {
    static func run(_ arguments: inout Arguments) throws {
        let databaseOption = try arguments.option("--db") ?? defaultDatabasePath
        let force = arguments.flag("--force")
        let quiet = arguments.flag("--quiet")
        let jobs = try JobsChoice(parsing: arguments.option("--jobs")) ?? .default
        let shardText = try arguments.option("--shard")
        let shardCount = try arguments.intOption("--shards", atLeast: 1)
        let rung = try arguments.intOption("--rung", atLeast: 0)
        let decisionsOption = try arguments.option("--from")
        var files: [String] = []
        while let file = arguments.next() { files.append(file) }
        try arguments.finish()
        guard !files.isEmpty else { throw UsageError("run needs at least one spec file") }
        if rung == nil && decisionsOption != nil { throw UsageError("--from DB goes with --rung K") }
        let shard = try shardText.map { try ShardSelection.parse($0, shards: shardCount, environment: ProcessInfo.processInfo.environment) }
        if shard == nil && shardCount != nil { throw UsageError("--shards N goes with --shard") }
        if shard == nil && databaseOption.contains("{shard}") { throw UsageError("--db \(databaseOption) has {shard} but no --shard is given") }
        let database = shard?.databasePath(databaseOption) ?? databaseOption

        let loaded = try loadAll(files, database: database)
        printSignificanceNotes(files, quiet: quiet)
        let allRuns = loaded.flatMap { $0.1 }
        // Every shard expands all the specs and keeps its own part of the same plan.
        if let rung {
            try trainOneRung(rung, loaded: loaded, shard: shard, database: database, decisionsPath: decisionsOption,
                             force: force, quiet: quiet, jobs: jobs)
            return
        }
        let runs = shard.map { shard in
            ShardPlan(runs: allRuns, shardCount: shard.count).runs(inShard: shard.index).map { allRuns[$0] }
        } ?? allRuns
        if let shard, !quiet {
            print("shard \(shard.index) of \(shard.count): \(runs.count) of the \(allRuns.count) runs, into \(database)")
        }
        let store = try ResultsStore(path: database)
        try store.markInterruptedRuns()
        // A second signal ends the process at once; its runs are marked interrupted first.
        Interruption.install(onSecondSignal: { _ = try? store.markInterruptedRuns(includingThisProcess: true) })
        // An adaptive search's trials train rung by rung, as its plan decides.
        if shard != nil, runs.contains(where: { $0.search != nil }) {
            throw UsageError("an adaptive search (sweep_mode successive_halving, hyperband, tpe) decides each rung from all its trials: run it without --shard, or one rung at a time with --rung K (as `trainlab slurm` does)")
        }
        let plainRuns = runs.filter { $0.search == nil }
        let progress = quiet ? nil : SweepProgress(totalSteps: plainRuns.reduce(0) { $0 + $1.training.steps }, runs: plainRuns.count)
        let session = RunSession(runs: plainRuns, store: store, database: database, force: force, progress: progress)
        var failures = plainRuns.isEmpty ? 0 : train(session, plan: jobs.plan(for: plainRuns), database: database)
        var searches: [String: [ExperimentSpec]] = [:]
        var searchOrder: [String] = []
        for spec in runs {
            guard let group = spec.search?.group else { continue }
            if searches[group] == nil { searchOrder.append(group) }
            searches[group, default: []].append(spec)
        }
        for group in searchOrder {
            failures += try AdaptiveSearchRun(trials: searches[group]!, store: store, database: database, force: force,
                                              quiet: quiet, jobs: jobs).run()
        }

        // A benchmark's final runs depend on its tuning results: chosen once those are in.
        var benchmarks = loaded.filter { BenchmarkProtocol(of: $0.1.first) != nil }
        var extensions: [String: [BenchmarkCell: [BenchmarkPlan.RangeExtension]]] = [:]
        if shard == nil {
            // With a budget in steps, evals or seconds, more trials while the budget admits them.
            for index in benchmarks.indices {
                benchmarks[index].1 = try budgetedTuning(file: benchmarks[index].0, tuneRuns: benchmarks[index].1,
                                                         store: store, database: database) { more in
                    if !quiet { print("benchmark: \(more.count) more tuning trial\(more.count == 1 ? "" : "s") within the budget") }
                    let progress = quiet ? nil : SweepProgress(totalSteps: more.reduce(0) { $0 + $1.training.steps }, runs: more.count)
                    failures += train(RunSession(runs: more, store: store, database: database, force: force, progress: progress),
                                      plan: jobs.plan(for: more), database: database)
                }
                let extended = try extendedTuning(file: benchmarks[index].0, tuneRuns: benchmarks[index].1,
                                                  store: store, database: database) { more in
                    if !quiet { print("benchmark: \(more.count) more tuning trial\(more.count == 1 ? "" : "s") (a range was widened, or the best is inside it)") }
                    let progress = quiet ? nil : SweepProgress(totalSteps: more.reduce(0) { $0 + $1.training.steps }, runs: more.count)
                    failures += train(RunSession(runs: more, store: store, database: database, force: force, progress: progress),
                                      plan: jobs.plan(for: more), database: database)
                }
                benchmarks[index].1 = extended.runs
                extensions[benchmarks[index].0] = extended.extensions
            }
        }
        if !benchmarks.isEmpty && shard != nil {
            if !quiet { print("the benchmark's final runs follow its tuning runs: run the spec again without --shard once the shards are merged") }
        } else if !benchmarks.isEmpty {
            let finals = try benchmarkFinals(benchmarks, store: store, database: database, extensions: extensions) { reruns in
                if !quiet { print("benchmark: \(reruns.count) selection runs (the top trials on more seeds)") }
                let progress = quiet ? nil : SweepProgress(totalSteps: reruns.reduce(0) { $0 + $1.training.steps }, runs: reruns.count)
                failures += train(RunSession(runs: reruns, store: store, database: database, force: force, progress: progress),
                                  plan: jobs.plan(for: reruns), database: database)
            }
            if !finals.isEmpty {
                if !quiet { print("benchmark: \(finals.count) final runs of the best settings") }
                let progress = quiet ? nil : SweepProgress(totalSteps: finals.reduce(0) { $0 + $1.training.steps }, runs: finals.count)
                failures += train(RunSession(runs: finals, store: store, database: database, force: force, progress: progress),
                                  plan: jobs.plan(for: finals), database: database)
            }
        }
        progress?.print("results in \(database)")
        if failures > 0 { exit(1) }
    }

    /// `run SPEC... --rung K [--shard ...] [--from MERGED]`: rung K of every adaptive search of
    /// the specs (successive halving, Hyperband; synchronous), its trials decided from the
    /// results of rungs 0..<K in MERGED (default: the database written), and at rung 0 the
    /// specs' plain runs too; with --shard, this shard's part of them. A trial trained here is
    /// first copied, with its saved training state, from MERGED into the database written, then
    /// resumed to the rung's step (paused there, or completed at the last rung).
    static func trainOneRung(_ rung: Int, loaded: [(String, [ExperimentSpec])], shard: ShardSelection?, database: String,
                             decisionsPath: String?, force: Bool, quiet: Bool, jobs: JobsChoice) throws {
        let allRuns = loaded.flatMap { $0.1 }
        for spec in allRuns {
            guard let plan = spec.search?.plan else { continue }
            if let problem = AdaptiveSearchRun.rungByRungProblem(plan) {
                throw UsageError("\(spec.file): --rung: \(problem): run it with `trainlab run` (--jobs N) on one machine")
            }
        }
        guard allRuns.contains(where: { $0.search != nil }) else {
            throw UsageError("--rung K trains a rung of an adaptive search (sweep_mode successive_halving or hyperband); the specs have none")
        }
        let store = try ResultsStore(path: database)
        try store.markInterruptedRuns()
        Interruption.install(onSecondSignal: { _ = try? store.markInterruptedRuns(includingThisProcess: true) })

        // The merged results of the rungs before: the database written when it is the same file.
        let resolved = { (path: String) in URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path }
        var decisions: ResultsStore? = store
        if let decisionsPath, resolved(decisionsPath) != resolved(database) {
            if FileManager.default.fileExists(atPath: decisionsPath) {
                decisions = try ResultsStore(path: decisionsPath, readOnly: true)
            } else if rung == 0 {
                decisions = nil
            } else {
                throw UsageError("--from \(decisionsPath) does not exist: rung \(rung) is decided from the merged results of rungs 0...\(rung - 1)")
            }
        }

        var searches: [AdaptiveSearchRun] = []
        var groups: [String: Int] = [:]
        var trialsOf: [[ExperimentSpec]] = []
        for spec in allRuns {
            guard let group = spec.search?.group else { continue }
            if groups[group] == nil { groups[group] = trialsOf.count; trialsOf.append([]) }
            trialsOf[groups[group]!].append(spec)
        }
        for trials in trialsOf {
            searches.append(AdaptiveSearchRun(trials: trials, store: store, database: database, force: force, quiet: quiet, jobs: jobs))
        }
        // Every task decides the same, alone: the rung's runs, then its shard's part of them.
        var candidates: [(search: Int?, index: Int)] = rung == 0 ? allRuns.indices.filter { allRuns[$0].search == nil }.map { (nil, $0) } : []
        var alive: [[Int]] = []
        for (number, search) in searches.enumerated() {
            alive.append(try search.alive(at: rung, decidingFrom: decisions))
            candidates += alive[number].map { (number, $0) }
        }
        let candidateSpecs = candidates.map { candidate in candidate.search.map { searches[$0].specs[candidate.index] } ?? allRuns[candidate.index] }
        let costs = candidates.map { candidate in
            candidate.search.map { searches[$0].rungCost(candidate.index, rung: rung) } ?? ShardPlan.cost(of: allRuns[candidate.index])
        }
        let mine = shard.map { ShardPlan(costs: costs, shardCount: $0.count).runs(inShard: $0.index) } ?? Array(candidates.indices)
        if let shard, !quiet {
            print("rung \(rung), shard \(shard.index) of \(shard.count): \(mine.count) of the \(candidates.count) runs, into \(database)")
        }
        if let decisions, decisions !== store, !mine.isEmpty {
            let hashes = Set(mine.map { candidateSpecs[$0].configHash(programVersion: programVersion) })
            _ = try store.merge(from: [decisions], configHashes: hashes)
        }

        let plainRuns = mine.filter { candidates[$0].search == nil }.map { candidateSpecs[$0] }
        let progress = quiet ? nil : SweepProgress(totalSteps: plainRuns.reduce(0) { $0 + $1.training.steps }, runs: plainRuns.count)
        var failures = plainRuns.isEmpty ? 0 : train(RunSession(runs: plainRuns, store: store, database: database, force: force, progress: progress),
                                                     plan: jobs.plan(for: plainRuns), database: database)
        for (number, search) in searches.enumerated() where rung < search.rungCount {
            let share = mine.filter { candidates[$0].search == number }.map { candidates[$0].index }
            search.trainRungShare(share, rung: rung, alive: alive[number].count)
            failures += search.failures
        }
        if !quiet { print("results in \(database)") }
        if failures > 0 { exit(1) }
    }

    /// Trains the session's runs as `plan` says; returns how many failed. Ctrl-C exits (130).
    static func train(_ session: RunSession, plan: JobPlan, database: String) -> Int {
        let jobCount = plan.jobs
        if jobCount <= 1 {
            while let index = session.nextIndex() { session.execute(index, pool: .shared) }
        } else {
            // Run-level parallelism: each job trains whole runs on its own share of the threads,
            // which keeps every core busy on sweeps of models too small to use them all.
            let threadsPerJob = plan.threadsPerJob
            let done = DispatchSemaphore(value: 0)
            for _ in 0..<jobCount {
                let thread = Thread {
                    let pool = ThreadPool(threads: threadsPerJob)
                    while let index = session.nextIndex() { session.execute(index, pool: pool) }
                    done.signal()
                }
                thread.stackSize = 8 << 20
                thread.start()
            }
            for _ in 0..<jobCount { done.wait() }
        }

        if Interruption.requested {
            FileHandle.standardError.write(Data("trainlab: interrupted; finished runs are saved in \(database)\n".utf8))
            exit(130)
        }
        return session.failures
    }

    /// A benchmark with a cost budget (`BenchmarkPlan.costBudget`): its tuning runs, grown round
    /// by round while the budget admits more trials (`BenchmarkPlan.budgetedTrials` on the costs
    /// in the database); `train` trains each round's new runs. Returns the admitted tuning runs
    /// (`tuneRuns` unchanged for a budget in trials).
    static func budgetedTuning(file: String, tuneRuns: [ExperimentSpec], store: ResultsStore, database: String,
                               train: ([ExperimentSpec]) -> Void) throws -> [ExperimentSpec] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8),
              let plan = try BenchmarkPlan(JSONParser.parse(text, file: file)), let budget = plan.costBudget,
              let first = tuneRuns.first else { return tuneRuns }
        var protected = ProtectedPaths()
        protected.protectDatabase(database)
        protected.protect(file, as: "a spec being run")
        var current = tuneRuns
        while true {
            let hashes = Set(current.map { $0.configHash(programVersion: programVersion) })
            let overviews = try store.runOverviews(experiment: first.name).filter { $0.run.configHash.map(hashes.contains) ?? false }
            var costs: [BenchmarkCell: [Int: Double]] = [:]
            for (run, overview) in store.benchmarkRuns(overviews, role: "tune", metric: "train_loss") {
                let cost: Double
                switch budget.unit {
                case .steps: cost = Double(try store.metrics(runID: overview.run.id, name: "train_loss").last?.step ?? 0)
                case .evals: cost = overview.summaries["evals"]?.finalValue ?? 0
                case .seconds: cost = overview.summaries["time"]?.finalValue ?? 0
                }
                costs[BenchmarkCell(problem: run.problem, optimizer: run.optimizer), default: [:]][run.trial] = cost
            }
            var counts: [BenchmarkCell: Int] = [:]
            var grows = false
            for problem in plan.problems {
                for optimizer in plan.optimizers(on: problem) {
                    let cell = BenchmarkCell(problem: problem, optimizer: optimizer)
                    let have = current.filter { $0.benchmarkCell == cell }.count
                    // The costs of the trials trained so far, in trial order (a trial that did not
                    // get trained, e.g. interrupted, ends the known prefix).
                    let known = (0..<have).map { costs[cell]?[$0] }.prefix { $0 != nil }.map { $0! }
                    let bound = try plan.costBound(problem: problem, optimizer: optimizer, defaultSteps: ExperimentSpec.defaultSteps,
                                                   firstOrder: ExperimentSpec.isFirstOrder)
                    let next = plan.budgetedTrials(costs: known, bound: bound)
                    counts[cell] = next.admitted
                    if next.admitted > have { grows = true }
                }
            }
            let runs = try ExperimentSpec.loadChecked(file: file, protected: protected, phase: .tuneBudgeted(trialCount: { problem, optimizer in
                counts[BenchmarkCell(problem: problem, optimizer: optimizer)] ?? 1
            }))
            guard grows else { return runs }
            let old = hashes
            train(runs.filter { !old.contains($0.configHash(programVersion: programVersion)) })
            current = runs
        }
    }

    /// A benchmark whose searched ranges may widen (`"extend": true`): its tuning runs, round by
    /// round. After each round, a problem and optimizer whose best trial (as the benchmark
    /// selects) sits in the lowest or highest 1/16 of an extendable range gets that end a decade
    /// out and its next round (half the trials left) over the wider range; once the best is
    /// inside, the rest of its trials run at once. Decisions come from the database, so a rerun
    /// replays them. Returns the tuning runs and each cell's extensions (none: unchanged).
    static func extendedTuning(file: String, tuneRuns: [ExperimentSpec], store: ResultsStore, database: String,
                               train: ([ExperimentSpec]) -> Void) throws
        -> (runs: [ExperimentSpec], extensions: [BenchmarkCell: [BenchmarkPlan.RangeExtension]]) {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8),
              let plan = try BenchmarkPlan(JSONParser.parse(text, file: file)),
              let first = tuneRuns.first, let benchmark = BenchmarkProtocol(of: first) else { return (tuneRuns, [:]) }
        let cells = plan.problems.flatMap { problem in
            plan.optimizers(on: problem).filter { !plan.extendableKeys(of: $0).isEmpty }.map { BenchmarkCell(problem: problem, optimizer: $0) }
        }
        guard !cells.isEmpty else { return (tuneRuns, [:]) }
        var protected = ProtectedPaths()
        protected.protectDatabase(database)
        protected.protect(file, as: "a spec being run")
        var counts = Dictionary(uniqueKeysWithValues: cells.map { ($0, plan.nextRoundTrials(done: 0)) })
        var extensions: [BenchmarkCell: [BenchmarkPlan.RangeExtension]] = [:]
        var settled = Set<BenchmarkCell>()
        var current = tuneRuns
        while true {
            let hashes = Set(current.map { $0.configHash(programVersion: programVersion) })
            let best = try store.benchmarkBestTrials(experiment: first.name, configHashes: hashes, metric: benchmark.metric,
                                                     goal: benchmark.goal, byTimeToTarget: benchmark.byTimeToTarget)
            let overviews = try store.runOverviews(experiment: first.name).filter { $0.run.configHash.map(hashes.contains) ?? false }
            let tune = store.benchmarkRuns(overviews, role: "tune", metric: benchmark.metric)
            var changed = false
            for cell in cells where !settled.contains(cell) {
                let done = counts[cell]!
                if done >= plan.searchTrials { settled.insert(cell); continue }
                changed = true
                guard let trial = best[cell],
                      let bestRun = tune.first(where: { $0.0.problem == cell.problem && $0.0.optimizer == cell.optimizer && $0.0.trial == trial }),
                      bestRun.0.score(benchmark.goal).isFinite else {
                    // Every trial failed: no edge to move; the rest run where they are.
                    settled.insert(cell)
                    counts[cell] = plan.searchTrials
                    continue
                }
                var values: [String: Double] = [:]
                for key in plan.extendableKeys(of: cell.optimizer) {
                    values[key] = bestRun.1.params["optimizer." + key].flatMap(Double.init)
                }
                let widened = plan.extensions(optimizer: cell.optimizer, problem: cell.problem, bestValues: values, fromTrial: done, extensions: extensions[cell] ?? [])
                if widened.isEmpty {
                    settled.insert(cell)
                    counts[cell] = plan.searchTrials
                } else {
                    extensions[cell, default: []] += widened
                    counts[cell] = plan.nextRoundTrials(done: done)
                }
            }
            guard changed else { return (current, extensions) }
            let runs = try ExperimentSpec.loadChecked(file: file, protected: protected, phase: .tuneExtended(
                trialCount: { problem, optimizer in counts[BenchmarkCell(problem: problem, optimizer: optimizer)] ?? plan.searchTrials },
                extensions: { extensions[BenchmarkCell(problem: $0, optimizer: $1)] ?? [] }))
            train(runs.filter { !hashes.contains($0.configHash(programVersion: programVersion)) })
            current = runs
        }
    }

    /// The final runs of the benchmark specs, their tuning runs (`loaded`) done: each problem
    /// and optimizer's best trial among the tuning runs of the spec as it is now (by config
    /// hash), rerun on the paired seeds. With `benchmark.selection`, the top k trials are first
    /// rerun on the selection seeds (`trainSelection` trains them) and the best mean picks.
    static func benchmarkFinals(_ loaded: [(String, [ExperimentSpec])], store: ResultsStore, database: String,
                                extensions: [String: [BenchmarkCell: [BenchmarkPlan.RangeExtension]]] = [:],
                                trainSelection: ([ExperimentSpec]) -> Void) throws -> [ExperimentSpec] {
        var protected = ProtectedPaths()
        protected.protectDatabase(database)
        for (file, _) in loaded { protected.protect(file, as: "a spec being run") }
        return try loaded.flatMap { file, tuneRuns -> [ExperimentSpec] in
            guard let first = tuneRuns.first, let benchmark = BenchmarkProtocol(of: first) else { return [] }
            // With several studies, study 0 picks: the others repeat the tuning to show its spread.
            let hashes = Set(tuneRuns.filter { $0.benchmarkStudy == 0 }.map { $0.configHash(programVersion: programVersion) })
            var best = try store.benchmarkBestTrials(experiment: first.name, configHashes: hashes,
                                                     metric: benchmark.metric, goal: benchmark.goal,
                                                     byTimeToTarget: benchmark.byTimeToTarget)
            guard !best.isEmpty else { return [] }
            if let topK = benchmark.selectionTopK {
                let tuneKeys = try store.benchmarkSelectionKeys(experiment: first.name, configHashes: hashes, role: "tune", metric: benchmark.metric,
                                                                goal: benchmark.goal, byTimeToTarget: benchmark.byTimeToTarget)
                let top = BenchmarkSelection.topTrials(tuneKeys, k: topK)
                let reruns = try ExperimentSpec.loadChecked(file: file, protected: protected, phase: .select(candidates: { problem, optimizer in
                    top[BenchmarkCell(problem: problem, optimizer: optimizer)]
                }, extensions: { extensions[file]?[BenchmarkCell(problem: $0, optimizer: $1)] ?? [] }))
                trainSelection(reruns)
                let rerunKeys = try store.benchmarkSelectionKeys(
                    experiment: first.name, configHashes: Set(reruns.map { $0.configHash(programVersion: programVersion) }), role: "select",
                    metric: benchmark.metric, goal: benchmark.goal, byTimeToTarget: benchmark.byTimeToTarget)
                best.merge(BenchmarkSelection.bestByMean(tuneKeys + rerunKeys, candidates: top)) { _, byMean in byMean }
            }
            let warnings = try store.benchmarkSearchWarnings(experiment: first.name, configHashes: hashes,
                                                             metric: benchmark.metric, goal: benchmark.goal)
            for (cell, found) in warnings.sorted(by: { ($0.key.problem, $0.key.optimizer) < ($1.key.problem, $1.key.optimizer) }) {
                for warning in found {
                    FileHandle.standardError.write(Data("warning: benchmark problem \(cell.problem), optimizer \(cell.optimizer): \(warning.message)\n".utf8))
                }
            }
            let references = try store.benchmarkReferenceTargets(experiment: first.name, configHashes: hashes,
                                                                 metric: benchmark.metric, goal: benchmark.goal)
            // A TPE trial's point: its search.point param (the best tuning run of its cell).
            var points: [BenchmarkCell: [Double]] = [:]
            if tuneRuns.contains(where: { $0.search?.plan.kind == .tpe }) {
                for overview in try store.runOverviews(experiment: first.name) where overview.params["benchmark.role"] == "tune" {
                    let p = overview.params
                    guard let problem = p["benchmark.problem"], let optimizer = p["benchmark.optimizer"],
                          let trial = p["benchmark.trial"].flatMap(Double.init).map(Int.init),
                          best[BenchmarkCell(problem: problem, optimizer: optimizer)] == trial,
                          let text = p["search.point"], case .array(let values)? = try? JSONParser.parse(text, file: "search.point").root
                    else { continue }
                    points[BenchmarkCell(problem: problem, optimizer: optimizer)] = values.compactMap { if case .number(let n) = $0 { n.value } else { nil } }
                }
            }
            return try ExperimentSpec.loadChecked(file: file, protected: protected, phase: .finalAt(bestTrial: { problem, optimizer in
                best[BenchmarkCell(problem: problem, optimizer: optimizer)]
            }, bestPoint: { problem, optimizer in points[BenchmarkCell(problem: problem, optimizer: optimizer)] },
               referenceTarget: { references[$0] },
               extensions: { extensions[file]?[BenchmarkCell(problem: $0, optimizer: $1)] ?? [] }))
        }
    }
}

/// A benchmark run's selection metric and goal, from its config's `benchmark` tag.
struct BenchmarkProtocol {
    let metric: String
    let goal: MetricDirection
    /// `select: "time_to_target"`: the best trial reaches the target in the fewest evaluations.
    let byTimeToTarget: Bool
    /// `selection.top_k`: that many best trials are rerun on more seeds before the pick (nil: none).
    let selectionTopK: Int?

    init?(of spec: ExperimentSpec?) {
        guard case .object(let config)? = spec?.config, case .object(let tag)? = config["benchmark"],
              case .string(let metric)? = tag["metric"], case .string(let goal)? = tag["goal"],
              let direction = MetricDirection(rawValue: goal) else { return nil }
        self.metric = metric
        self.goal = direction
        if case .string(let select)? = tag["select"] { byTimeToTarget = select == "time_to_target" } else { byTimeToTarget = false }
        if case .object(let selection)? = tag["selection"], case .number(let k)? = selection["top_k"] { selectionTopK = Int(k.value) } else { selectionTopK = nil }
    }
}

/// The runs of one `trainlab run`, handed out to one or several jobs.
final class RunSession: @unchecked Sendable {
    let runs: [ExperimentSpec]
    let store: ResultsStore
    let database: String
    let force: Bool
    /// Nil with --quiet: then only errors are printed.
    let progress: SweepProgress?
    /// Task data made for one run, reused by the others with the same task and seed.
    let dataCache = TaskDataCache()
    private let lock = NSLock()
    private var next = 0
    private(set) var failures = 0
    /// Where each trained run's wall time went (by index into `runs`), the runner's phases with
    /// claiming and finishing the run added to `store`: `bench sweep` prints them.
    private(set) var phases: [Int: RunPhaseSeconds] = [:]
    /// Runs claim their database rows in run order, so run ids follow the sweep's order with
    /// any number of jobs: run i waits (a claim's few tenths of a millisecond) for run i − 1's.
    private let claimTurn = NSCondition()
    private var nextClaim = 0
    /// An adaptive search's rung: every run stops after this step, its state saved (nil: to the end).
    let pausingAfter: Int?
    /// What became of each run that `execute` was given (by index into `runs`).
    private(set) var outcomes: [Int: RunOutcome] = [:]
    /// Runs claim in run order (false: in whatever order `execute` is called, as ASHA's are).
    let claimsInOrder: Bool

    /// A run's database row and how its training ended (`running`: another process trains it).
    struct RunOutcome {
        let runID: Int64
        let status: RunStatus
        /// The update at which it diverged.
        let divergedStep: Int?
    }

    init(runs: [ExperimentSpec], store: ResultsStore, database: String, force: Bool, progress: SweepProgress?,
         pausingAfter: Int? = nil, claimsInOrder: Bool = true) {
        self.runs = runs
        self.store = store
        self.database = database
        self.force = force
        self.progress = progress
        self.pausingAfter = pausingAfter
        self.claimsInOrder = claimsInOrder
    }

    func outcome(_ index: Int) -> RunOutcome? { lock.withLock { outcomes[index] } }

    /// The next run to start, or nil when all have started or Ctrl-C was pressed.
    func nextIndex() -> Int? {
        lock.withLock {
            guard next < runs.count, !Interruption.requested else { return nil }
            defer { next += 1 }
            return next
        }
    }

    /// `body`, once the runs before `index` have made their claims.
    private func inClaimTurn<T>(_ index: Int, _ body: () throws -> T) rethrows -> T {
        guard claimsInOrder else { return try body() }
        claimTurn.lock()
        while nextClaim != index { claimTurn.wait() }
        defer {
            nextClaim += 1
            claimTurn.broadcast()
            claimTurn.unlock()
        }
        return try body()
    }

    /// Trains run `index` (unless already completed) and records its outcome. Every index
    /// `nextIndex` hands out must come here: later runs wait for its claim.
    func execute(_ index: Int, pool: ThreadPool, pausingAfter runPause: Int? = nil) {
        let pause = runPause ?? pausingAfter
        let start = DispatchTime.now().uptimeNanoseconds
        let spec = runs[index]
        let label = "[\(index + 1)/\(runs.count)] \(spec.name)" + (spec.assignmentSummary.isEmpty ? "" : " \(spec.assignmentSummary)")
        let hash = spec.configHash(programVersion: programVersion)
        progress?.begin(index, label: label, steps: spec.training.steps)
        var runID: Int64? = nil
        do {
            var claimSeconds = 0.0
            let claim = try inClaimTurn(index) {
                let claimStart = DispatchTime.now().uptimeNanoseconds
                defer { claimSeconds = seconds(since: claimStart) }
                return try store.claimRun(
                    experiment: spec.name, config: JSONWriter.write(spec.config, sortedKeys: true), configHash: hash,
                    seed: Int(spec.seed), params: spec.flattenedParams.mapValues(storedParam), programVersion: programVersion,
                    tags: spec.tags, notes: spec.notes, rerunCompleted: force)
            }
            let id: Int64
            var savedState: [UInt8]? = nil
            switch claim {
            case .started(let started):
                id = started
            case let .resumed(resumed, step, state):
                id = resumed
                savedState = state
                progress?.print("\(label): resuming run \(id) " + (state == nil ? "from the start (no saved state)" : "after step \(step)"))
            case .completed(let done):
                lock.withLock { outcomes[index] = RunOutcome(runID: done, status: .completed, divergedStep: nil) }
                progress?.end(index)
                progress?.print("\(label): already completed as run \(done), skipped (--force reruns)")
                return
            case let .diverged(done, step):
                lock.withLock { outcomes[index] = RunOutcome(runID: done, status: .diverged, divergedStep: step) }
                progress?.end(index)
                progress?.print("\(label): already diverged as run \(done)\(step.map { " at step \($0)" } ?? ""), skipped (--force reruns)")
                return
            case .running(let other):
                lock.withLock { outcomes[index] = RunOutcome(runID: other, status: .running, divergedStep: nil) }
                progress?.end(index)
                progress?.print("\(label): being trained by another process as run \(other), skipped")
                return
            }
            runID = id
            let result = try Runner(spec: spec, pool: pool, dataCache: dataCache).run(
                metrics: store.metricsSink(runID: id), progress: progress?.observer(of: index),
                isCancelled: { Interruption.requested }, resumingFrom: savedState, pausingAfter: pause)
            let status: RunStatus = switch result.end {
            case .completed: .completed
            case .diverged: .diverged
            case .interrupted, .paused: .interrupted
            }
            let finishStart = DispatchTime.now().uptimeNanoseconds
            // A paused trial stays resumable (interrupted, its state kept): the search may promote it.
            try store.finishRun(id: id, status: status, error: result.end == .paused ? "paused by the search after step \(pause!)" : nil,
                                divergedStep: result.divergedStep, seconds: result.seconds)
            lock.withLock { outcomes[index] = RunOutcome(runID: id, status: status, divergedStep: result.divergedStep) }
            var runPhases = result.phases
            runPhases.store += claimSeconds + seconds(since: finishStart)
            runPhases.total = seconds(since: start)
            lock.withLock { phases[index] = runPhases }
            progress?.end(index)
            progress?.print("\(label): run \(id) \(RunSession.describe(result))" + (progress?.doneSuffix ?? ""))
        } catch {
            lock.withLock {
                failures += 1
                if let runID { outcomes[index] = RunOutcome(runID: runID, status: .failed, divergedStep: nil) }
            }
            if let runID { try? store.finishRun(id: runID, status: .failed, error: "\(error)") }
            let which = runID.map { "run \($0) " } ?? ""
            let message = "trainlab: \(label): \(which)failed: \(error)"
            if let progress {
                progress.end(index)
                progress.print(message, toStandardError: true)
            } else {
                FileHandle.standardError.write(Data("\(message)\n".utf8))
            }
        }
    }

    static func describe(_ r: RunResult) -> String {
        var parts = ["\(r.end.rawValue) in \(format(r.seconds, 2)) s"]
        if let step = r.divergedStep { parts[0] += " at step \(step)" }
        if let step = r.stoppedStep { parts[0] += " (stopped early at step \(step))" }
        parts.append("train_loss \(format(r.finalTrainLoss, 4))")
        if let v = r.finalValidationLoss { parts.append("val_loss \(format(v, 4))") }
        if let a = r.finalValidationAccuracy { parts.append("val_accuracy \(format(a, 3))") }
        return parts.joined(separator: ", ")
    }
}

/// A param as the database stores it (`ParamValue`): numbers as numbers, booleans 1/0, the rest text.
func storedParam(_ value: JSONValue) -> SQLiteValue {
    switch value {
    case .number(let number): return ParamValue.number(number.value)
    case .bool(let b): return .integer(b ? 1 : 0)
    case .string(let text): return .text(text)
    case .null: return .null
    case .array, .object: return .text(JSONWriter.write(value, sortedKeys: true))
    }
}

/// Progress of a whole `trainlab run`, reported by every job from its own thread (so all state is
/// behind one lock). On a terminal: one status line redrawn in place, with each training run's
/// step and ETA and the sweep's ETA; otherwise (a log file, CI): a plain line at every quarter
/// of each run, with the sweep's ETA. Result lines are printed through it, above the status line.
final class SweepProgress: @unchecked Sendable {
    private struct ActiveRun {
        let label: String
        let total: Int
        var step = 0
        var loss = Double.nan
        var stepsPerSecond = 0.0
        /// Steps a resumed run had trained before this process: in the percentage, not the rate.
        var stepsBefore = 0
        /// The latest value of each validation metric, in the order first logged.
        var validation: [(name: String, value: Double)] = []
        /// The next quarter of the run that gets a plain line (not on a terminal).
        var nextQuarter = 1
    }

    private let lock = NSLock()
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private let start = DispatchTime.now().uptimeNanoseconds
    /// Steps of the runs not started yet.
    private var pendingSteps: Int
    /// Steps trained by runs that have ended. A run that was skipped, diverged or failed ends
    /// with its untrained steps dropped from the sweep, so they do not count in its ETA.
    private var finishedSteps = 0
    /// The part of `finishedSteps` trained by this process: the sweep's rate counts only these.
    private var finishedHere = 0
    private var active: [Int: ActiveRun] = [:]
    private var drawn = false
    /// Runs of the sweep, and how many have ended: with several jobs, results arrive out of
    /// order, so each result line says how many are done.
    private let runCount: Int
    private var endedRuns = 0

    init(totalSteps: Int, runs: Int = 1) {
        pendingSteps = totalSteps
        runCount = runs
    }

    /// The `ProgressObserver` a `Runner` reports run `index` to.
    func observer(of index: Int) -> ProgressObserver { RunObserver(sweep: self, index: index) }

    func begin(_ index: Int, label: String, steps: Int) {
        lock.withLock {
            pendingSteps -= steps
            active[index] = ActiveRun(label: label, total: steps)
        }
    }

    func end(_ index: Int) {
        lock.withLock {
            endedRuns += 1
            guard let run = active.removeValue(forKey: index) else { return }
            finishedSteps += run.step
            finishedHere += max(0, run.step - run.stepsBefore)
            if isTerminal { redraw() }
        }
    }

    /// " (3/8 runs done)" in a sweep of several runs, else "".
    var doneSuffix: String {
        lock.withLock { runCount > 1 ? " (\(endedRuns)/\(runCount) runs done)" : "" }
    }

    fileprivate func resumed(_ index: Int, afterStep step: Int) {
        lock.withLock {
            active[index]?.stepsBefore = step
            active[index]?.step = step
        }
    }

    fileprivate func validated(_ index: Int, name: String, value: Double) {
        lock.withLock {
            guard var run = active[index] else { return }
            if let i = run.validation.firstIndex(where: { $0.name == name }) {
                run.validation[i].value = value
            } else {
                run.validation.append((name, value))
            }
            active[index] = run
        }
    }

    /// `line` on stdout (or stderr), above the status line.
    func print(_ line: String, toStandardError: Bool = false) {
        lock.withLock {
            if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            if toStandardError {
                FileHandle.standardError.write(Data("\(line)\n".utf8))
            } else {
                Swift.print(line)
            }
            if drawn { redraw() }
        }
    }

    fileprivate func update(_ index: Int, step: Int, loss: Double, stepsPerSecond: Double) {
        lock.withLock {
            guard var run = active[index] else { return }
            run.step = step
            run.loss = loss
            run.stepsPerSecond = stepsPerSecond
            if isTerminal {
                active[index] = run
                redraw()
            } else if run.nextQuarter < 4 && step * 4 >= run.nextQuarter * run.total {
                while run.nextQuarter < 4 && step * 4 >= run.nextQuarter * run.total { run.nextQuarter += 1 }
                active[index] = run
                FileHandle.standardError.write(Data("\(describe(run))  \(sweepStatus())\n".utf8))
            } else {
                active[index] = run
            }
        }
    }

    /// `[2/6] lr-sweep optimizer.lr=0.1  step 150/200  loss 0.1234  val_loss 0.1301  950 steps/s  ETA 0.1 s`,
    /// the latest validation metrics beside the loss, as Lightning's progress bar shows them.
    private func describe(_ run: ActiveRun) -> String {
        let validation = run.validation.map { "  \($0.name) \(format($0.value, 4))" }.joined()
        return "\(run.label)  step \(run.step)/\(run.total)  loss \(format(run.loss, 4))\(validation)  "
            + "\(format(run.stepsPerSecond, 0)) steps/s  ETA \(formatDuration(runSecondsLeft(run)))"
    }

    private func runSecondsLeft(_ run: ActiveRun) -> Double {
        Double(run.total - run.step) / max(run.stepsPerSecond, 1e-9)
    }

    /// `sweep 38%, ETA 3.2 s`: the steps left over the rate at which this process has trained
    /// so far, which counts every job and the time between runs, and not the steps a resumed
    /// run had trained before (they took no time here).
    private func sweepStatus() -> String {
        let done = finishedSteps + active.values.reduce(0) { $0 + $1.step }
        let doneHere = finishedHere + active.values.reduce(0) { $0 + max(0, $1.step - $1.stepsBefore) }
        let left = pendingSteps + active.values.reduce(0) { $0 + $1.total - $1.step }
        let percent = "sweep \(done * 100 / max(done + left, 1))%"
        guard doneHere > 0 else { return percent }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return "\(percent), ETA \(formatDuration(Double(left) * elapsed / Double(doneHere)))"
    }

    /// The status line: the one training run in full, or with several jobs each run's number,
    /// step and ETA; cut to the terminal's width, since a wrapped line cannot be redrawn in place.
    private func redraw() {
        let runs = active.sorted { $0.key < $1.key }.map(\.value)
        let line: String
        switch runs.count {
        case 0: line = ""
        case 1: line = "\(describe(runs[0]))  \(sweepStatus())"
        default:
            let parts = runs.map { run in
                "\(run.label.prefix { $0 != " " }) \(run.step)/\(run.total) ETA \(formatDuration(runSecondsLeft(run)))"
            }
            line = "\(sweepStatus())  " + parts.joined(separator: "  ")
        }
        var size = winsize()
        let width = ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) - 1 : 79
        FileHandle.standardError.write(Data("\r\u{1B}[K\(line.prefix(width))".utf8))
        drawn = !line.isEmpty
    }
}

/// Forwards one run's progress to its sweep.
private struct RunObserver: ProgressObserver {
    let sweep: SweepProgress
    let index: Int

    func update(step: Int, of total: Int, loss: Double, stepsPerSecond: Double) {
        sweep.update(index, step: step, loss: loss, stepsPerSecond: stepsPerSecond)
    }

    func resumed(afterStep step: Int) { sweep.resumed(index, afterStep: step) }

    func validated(step: Int, name: String, value: Double) { sweep.validated(index, name: name, value: value) }
}

/// `trainlab export-data SPEC [-o DIR]`: the first run's task data as .npy files.
enum ExportDataCommand {
    static func run(_ arguments: inout Arguments) throws {
        let folder = try arguments.option("-o") ?? arguments.option("--output") ?? "data"
        guard let file = arguments.next() else { throw UsageError("export-data needs a spec file") }
        try arguments.finish()
        if let reason = DataExport.unwritableReason(folder: folder) { throw UsageError("cannot write \(folder): \(reason)") }
        guard let spec = try ExperimentSpec.load(file: file).first else { throw UsageError("\(file) has no runs") }
        for path in try DataExport.write(spec, to: folder) { print("wrote \(path)") }
    }
}

/// `--jobs N|auto`: how many runs train at once.
enum JobsChoice: Equatable {
    case count(Int)
    /// From the runs' estimated FLOPs per step (`JobPlan.automatic`).
    case auto

    /// What `run` and `bench sweep` do without `--jobs`: `auto` trained the bench sweeps
    /// (`experiments/bench/sweep.json`, `mlp-small-sweep.json`) in 0.6–0.8 of the wall time of
    /// `--jobs 1` on 2 cores, and is `--jobs 1` for a model big enough to use every core.
    static let `default` = JobsChoice.auto

    /// Nil for no `--jobs`; a usage error for anything but a positive integer or `auto`.
    init?(parsing text: String?) throws {
        guard let text else { return nil }
        if text == "auto" {
            self = .auto
        } else if let count = Int(text), count >= 1 {
            self = .count(count)
        } else {
            throw UsageError("--jobs expects an integer >= 1 or auto, got '\(text)'")
        }
    }

    /// Jobs and threads per job for `runs` on the shared pool's threads.
    func plan(for runs: [ExperimentSpec]) -> JobPlan {
        let threads = ThreadPool.shared.threadCount
        switch self {
        case .count(let jobs): return JobPlan.fixed(jobs, runs: runs.count, threads: threads)
        case .auto: return JobPlan.automatic(for: runs, threads: threads)
        }
    }
}

extension ExperimentSpec {
    /// A benchmark tuning run's study (`benchmark.study`; 0 when the benchmark has one).
    var benchmarkStudy: Int {
        guard case .number(let study)? = assignments.first(where: { $0.path == "benchmark.study" })?.value else { return 0 }
        return Int(study.value)
    }

    /// A benchmark run's problem and optimizer (its first two assignments); nil for other runs.
    var benchmarkCell: BenchmarkCell? {
        guard assignments.count >= 2, assignments[0].path == "benchmark.problem", assignments[1].path == "benchmark.optimizer",
              case .string(let problem) = assignments[0].value, case .string(let optimizer) = assignments[1].value else { return nil }
        return BenchmarkCell(problem: problem, optimizer: optimizer)
    }
}
