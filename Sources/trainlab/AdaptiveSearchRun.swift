import Foundation
import TrainLabKernels
import TrainLabSpec
import TrainLabStore
import TrainLabExperiment

/// Trains one adaptive search (`SearchPlan`): its trials rung by rung, each rung a pause of the
/// run after that many steps with its training state saved, each promotion a resume of that
/// state (`Runner.run(resumingFrom:pausingAfter:)` through `claimRun`), never a retraining.
/// A trial that is not promoted stays `interrupted` with its state at its last rung.
/// Synchronous successive halving, Hyperband and TPE decide from whole rungs (or batches), so
/// their trials, promotions and metrics are the same with any `--jobs`; `asynchronous`
/// successive halving (ASHA) promotes as results come in, so which trials go on may depend on
/// which finished first.
final class AdaptiveSearchRun: @unchecked Sendable {
    let plan: SearchPlan
    let file: String
    let store: ResultsStore
    let database: String
    let force: Bool
    let quiet: Bool
    let jobs: JobsChoice
    /// The trials by number; TPE's grow as it proposes.
    private(set) var specs: [ExperimentSpec]
    private var runIDs: [Int: Int64] = [:]
    private(set) var failures = 0
    private let steps: Int
    private let ladder: [Int]

    init(trials: [ExperimentSpec], store: ResultsStore, database: String, force: Bool, quiet: Bool, jobs: JobsChoice) {
        specs = trials
        plan = trials[0].search!.plan
        file = trials[0].file
        steps = trials[0].training.steps
        ladder = plan.rungSteps(maxSteps: steps)
        self.store = store
        self.database = database
        self.force = force
        self.quiet = quiet
        self.jobs = jobs
    }

    /// Trains the search; returns how many runs failed.
    func run() throws -> Int {
        let group = specs[0].search!.group
        if !quiet {
            print("search \(group): \(plan.kind.rawValue), rungs at steps \(ladder.map(String.init).joined(separator: ", ")) "
                  + "by \(plan.metric) (\(plan.goal.rawValue))")
        }
        switch plan.kind {
        case .successiveHalving, .hyperband:
            let brackets = Dictionary(grouping: specs.indices, by: { specs[$0].search!.bracket })
            for bracket in brackets.keys.sorted() {
                let numbers = brackets[bracket]!
                let firstRung = specs[numbers[0]].search!.firstRung
                if plan.asynchronous {
                    asynchronousHalving(numbers, firstRung: firstRung)
                } else {
                    try halve(numbers, firstRung: firstRung)
                }
            }
        case .tpe:
            try treeParzen()
        }
        return failures
    }

    // MARK: Rungs

    /// Trains the trials `numbers` to rung `rung` (a pause, or the end at the last rung) and
    /// returns each one's metric there: nil when it diverged, failed or could not be trained.
    func trainRung(_ numbers: [Int], rung: Int) -> [Int: Double?] {
        let subset = numbers.map { specs[$0] }
        let pause = ladder[rung] < steps ? ladder[rung] : nil
        let progress = quiet ? nil : SweepProgress(totalSteps: subset.count * steps)
        // --force at every rung: a completed earlier attempt must not stand in for the trial
        // that this search resumes (claimRun still resumes its own paused state).
        let session = RunSession(runs: subset, store: store, database: database, force: force,
                                 progress: progress, pausingAfter: pause)
        failures += RunCommand.train(session, plan: jobs.plan(for: subset), database: database)
        var values: [Int: Double?] = [:]
        for (index, number) in numbers.enumerated() {
            values[number] = record(number, rung: rung, outcome: session.outcome(index))
        }
        return values
    }

    /// The metric of trial `number` at rung `rung` from its outcome, with its params updated.
    private func record(_ number: Int, rung: Int, outcome: RunSession.RunOutcome?) -> Double? {
        guard let outcome else { return nil }
        // Two trials with one config (a proposal or draw repeated) share its run: the first
        // trial's params stay; the second takes the run's results.
        if let owner = runIDs.filter({ $0.value == outcome.runID }).keys.min(), owner < number {
            runIDs[number] = outcome.runID
            return record(owner, rung: rung, outcome: outcome, paramsToo: false)
        }
        return record(number, rung: rung, outcome: outcome, paramsToo: true)
    }

    private func record(_ number: Int, rung: Int, outcome: RunSession.RunOutcome, paramsToo: Bool) -> Double? {
        runIDs[number] = outcome.runID
        let trial = specs[number].search!
        let trained = outcome.status == .diverged ? (outcome.divergedStep ?? ladder[rung]) : ladder[rung]
        if paramsToo, plan.kind == .tpe {
            // Where TPE proposed it (quantile coordinates): a benchmark's final runs rebuild the best trial from it.
            try? store.setParams(runID: outcome.runID, ["search.point": .text(JSONWriter.write(.array(trial.point.map { .number($0) })))])
        }
        if paramsToo { try? store.setParams(runID: outcome.runID, [
            "search.kind": .text(plan.kind.rawValue), "search.metric": .text(plan.metric), "search.trial": .integer(Int64(trial.trial)),
            "search.bracket": .integer(Int64(trial.bracket)), "search.rung": .integer(Int64(rung)),
            "search.steps": .integer(Int64(trained)), "search.promoted": .integer(rung > trial.firstRung ? 1 : 0),
        ]) }
        guard outcome.status == .interrupted || outcome.status == .completed else { return nil }
        // The latest value at or before the rung's step (validation checked that it is measured there).
        let logged = (try? store.metrics(runID: outcome.runID, name: plan.metric)) ?? []
        guard let value = logged.last(where: { $0.step <= ladder[rung] })?.value, value.isFinite else { return nil }
        return value
    }

    private func report(_ rung: Int, _ results: [RungResult], promoted: [Int]) {
        guard !quiet else { return }
        let measured = results.filter { $0.value != nil }.count
        print("search: rung \(rung) (step \(ladder[rung])): \(results.count) trial\(results.count == 1 ? "" : "s") "
              + "(\(results.count - measured) diverged or failed)"
              + (rung + 1 < ladder.count ? ", promoted \(promoted.isEmpty ? "none" : promoted.map { "#\($0)" }.joined(separator: " "))" : ""))
    }

    // MARK: One rung at a time (`run --rung K`, SLURM's per-rung array jobs)

    /// Why this search cannot be trained one rung at a time by separate processes; nil when it can.
    static func rungByRungProblem(_ plan: SearchPlan) -> String? {
        if plan.kind == .tpe {
            return "TPE proposes each trial from the results of the trials before it, one batch after another, so its trials cannot be split into per-rung array jobs"
        }
        if plan.asynchronous {
            return "asynchronous successive halving (ASHA) promotes a trial as soon as results come in, which needs one process that sees them all; without \"asynchronous\" the rungs are synchronous and can be array jobs"
        }
        return nil
    }

    /// The rungs of the ladder: `run --rung K` takes K in 0..<rungCount.
    var rungCount: Int { ladder.count }

    /// The step at which rung `rung` ends.
    func rungStep(_ rung: Int) -> Int { ladder[rung] }

    /// Trial `number`'s estimated cost at rung `rung` (`ShardPlan.cost` of the steps it trains
    /// there: from the rung before, or from 0 at its first rung), which the rung's shards balance.
    func rungCost(_ number: Int, rung: Int) -> Double {
        let from = rung > specs[number].search!.firstRung ? ladder[rung - 1] : 0
        return ShardPlan.cost(of: specs[number]) * Double(ladder[rung] - from) / Double(max(1, steps))
    }

    /// The most trials, over every bracket, that can be alive at rung `rung`.
    func aliveBound(at rung: Int) -> Int {
        guard rung < ladder.count else { return 0 }
        let brackets = Dictionary(grouping: specs.indices, by: { specs[$0].search!.bracket })
        return brackets.values.reduce(0) { total, numbers in
            total + AdaptiveSearch.aliveBound(at: rung, trials: numbers.count, firstRung: specs[numbers[0]].search!.firstRung, eta: plan.eta)
        }
    }

    /// The trials (numbers, by bracket, then trial) alive at rung `rung`: each bracket's trials
    /// that start there, and those synchronous successive halving promotes through the rungs
    /// before it from the results `decisions` holds (the merged database of those rungs; nil:
    /// none yet). The same trials the one-machine search trains at that rung.
    func alive(at rung: Int, decidingFrom decisions: ResultsStore?) throws -> [Int] {
        guard rung < ladder.count else { return [] }
        let recorded = try RecordedTrials(decisions, specs: specs)
        let brackets = Dictionary(grouping: specs.indices, by: { specs[$0].search!.bracket })
        var alive: [Int] = []
        for bracket in brackets.keys.sorted() {
            let numbers = brackets[bracket]!
            alive += try AdaptiveSearch.alive(at: rung, trials: numbers, firstRung: specs[numbers[0]].search!.firstRung,
                                              eta: plan.eta, goal: plan.goal) { trial, r in try recorded.value(trial, rung: r, of: self) }
        }
        return alive
    }

    /// The trials alive at a rung up to `last` that have no result there in `decisions`, with
    /// the rung and what was found: empty when every rung through `last` is complete. The check
    /// stops at the first rung with one missing, since the rungs after it cannot be decided.
    func unfinished(throughRung last: Int, in decisions: ResultsStore) throws -> [(trial: Int, rung: Int, found: String)] {
        let recorded = try RecordedTrials(decisions, specs: specs)
        for rung in 0...min(last, ladder.count - 1) {
            var missing: [(trial: Int, rung: Int, found: String)] = []
            for trial in try alive(at: rung, decidingFrom: decisions) {
                guard let run = recorded.run(of: trial) else {
                    missing.append((trial, rung, "missing"))
                    continue
                }
                let reached = try recorded.reachedRung(of: trial) ?? -1
                let results: [RunStatus] = rung + 1 < ladder.count ? [.interrupted, .completed, .diverged] : [.completed, .diverged]
                if reached < rung || (reached == rung && !results.contains(run.status)) {
                    missing.append((trial, rung, reached < 0 ? run.status.rawValue : "\(run.status.rawValue) at rung \(reached)"))
                }
            }
            if !missing.isEmpty { return missing }
        }
        return []
    }

    /// Trains this process's share `numbers` of rung `rung`'s trials (`alive` of them) and
    /// prints what became of them.
    func trainRungShare(_ numbers: [Int], rung: Int, alive: Int) {
        if !quiet {
            print("search \(specs[0].search!.group): rung \(rung) (step \(ladder[rung])): \(alive) trial\(alive == 1 ? "" : "s") alive, "
                  + "\(numbers.count) trained here\(numbers.isEmpty ? "" : ": " + numbers.map { "#\($0)" }.joined(separator: " "))")
        }
        guard !numbers.isEmpty else { return }
        let values = trainRung(numbers, rung: rung)
        if !quiet {
            let failed = numbers.filter { (values[$0] ?? nil) == nil }.count
            print("search: rung \(rung): \(numbers.count - failed) measured, \(failed) diverged or failed")
        }
    }

    /// What a database recorded of a search's trials: each one's run (the latest attempt at its
    /// config by this program version), the rung it reached (`search.rung`), its metric there.
    private final class RecordedTrials {
        private let store: ResultsStore?
        private var runs: [Int: RunRecord] = [:]
        private var series: [Int: [(step: Int, value: Double)]] = [:]

        init(_ store: ResultsStore?, specs: [ExperimentSpec]) throws {
            self.store = store
            guard let store else { return }
            var latest: [String: RunRecord] = [:]
            for run in try store.runs() where run.supersededBy == nil && run.programVersion == programVersion {
                if let hash = run.configHash { latest[hash] = run }  // oldest first: the last is the latest
            }
            for (number, spec) in specs.enumerated() {
                runs[number] = latest[spec.configHash(programVersion: programVersion)]
            }
        }

        func run(of trial: Int) -> RunRecord? { runs[trial] }

        func reachedRung(of trial: Int) throws -> Int? {
            guard let store, let run = runs[trial] else { return nil }
            return try store.params(runID: run.id)["search.rung"].flatMap { Int($0) }
        }

        /// The trial's metric at rung `r` as the one-machine search measured it there: nil when it
        /// did not get there, or ended there diverged or failed; else the latest value at or
        /// before the rung's step, when finite.
        func value(_ trial: Int, rung r: Int, of search: AdaptiveSearchRun) throws -> Double? {
            guard let store, let run = runs[trial], let reached = try reachedRung(of: trial), reached >= r else { return nil }
            if reached == r && run.status != .interrupted && run.status != .completed { return nil }
            if series[trial] == nil { series[trial] = try store.metrics(runID: run.id, name: search.plan.metric) }
            guard let value = series[trial]!.last(where: { $0.step <= search.ladder[r] })?.value, value.isFinite else { return nil }
            return value
        }
    }

    // MARK: Successive halving, Hyperband

    /// Synchronous successive halving of one bracket: every rung finishes before its best go on.
    private func halve(_ numbers: [Int], firstRung: Int) throws {
        var alive = numbers
        for rung in firstRung..<ladder.count {
            let values = trainRung(alive, rung: rung)
            let results = alive.map { RungResult(trial: $0, value: values[$0] ?? nil) }
            let promoted = rung + 1 < ladder.count ? AdaptiveSearch.promoted(results, eta: plan.eta, goal: plan.goal) : []
            report(rung, results, promoted: promoted)
            alive = promoted
            if alive.isEmpty { break }
        }
    }

    /// ASHA (Li et al. 2020): each free job promotes the best waiting trial above some rung's
    /// cut, else starts a new trial; with --jobs 1 it trains the trials in the same order as
    /// the synchronous search would only when every rung fills before a promotion is due.
    private func asynchronousHalving(_ numbers: [Int], firstRung: Int) {
        let session = RunSession(runs: specs, store: store, database: database, force: force,
                                 progress: quiet ? nil : SweepProgress(totalSteps: numbers.count * steps), claimsInOrder: false)
        /// What the jobs share, behind `condition`.
        final class Shared: @unchecked Sendable {
            let condition = NSCondition()
            var rungs: [[RungResult]]
            var promotedFrom: [Set<Int>]
            var started = 0
            var busy = 0
            init(rungCount: Int) {
                rungs = .init(repeating: [], count: rungCount)
                promotedFrom = .init(repeating: [], count: rungCount)
            }
        }
        let shared = Shared(rungCount: ladder.count)
        let plan = jobs.plan(for: numbers.map { specs[$0] })
        let done = DispatchSemaphore(value: 0)
        for _ in 0..<max(1, plan.jobs) {
            let thread = Thread { [self] in
                let pool = plan.jobs <= 1 ? ThreadPool.shared : ThreadPool(threads: plan.threadsPerJob)
                while true {
                    shared.condition.lock()
                    var task: (trial: Int, rung: Int)? = nil
                    while task == nil {
                        if Interruption.requested { break }
                        if let next = AdaptiveSearch.ashaPromotion(rungs: Array(shared.rungs[firstRung...]),
                                                                   promotedFrom: Array(shared.promotedFrom[firstRung...]),
                                                                   eta: self.plan.eta, goal: self.plan.goal) {
                            shared.promotedFrom[firstRung + next.rung].insert(next.trial)
                            task = (next.trial, firstRung + next.rung + 1)
                        } else if shared.started < numbers.count {
                            task = (numbers[shared.started], firstRung)
                            shared.started += 1
                        } else if shared.busy == 0 {
                            break
                        } else {
                            shared.condition.wait()
                        }
                    }
                    guard let task else {
                        shared.condition.broadcast()
                        shared.condition.unlock()
                        break
                    }
                    shared.busy += 1
                    shared.condition.unlock()
                    let pause = ladder[task.rung] < steps ? ladder[task.rung] : nil
                    session.execute(task.trial, pool: pool, pausingAfter: pause)
                    shared.condition.lock()
                    let value = record(task.trial, rung: task.rung, outcome: session.outcome(task.trial))
                    shared.rungs[task.rung].append(RungResult(trial: task.trial, value: value))
                    shared.busy -= 1
                    shared.condition.broadcast()
                    shared.condition.unlock()
                }
                done.signal()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        for _ in 0..<max(1, plan.jobs) { done.wait() }
        failures += session.failures
        if Interruption.requested {
            FileHandle.standardError.write(Data("trainlab: interrupted; finished runs are saved in \(database)\n".utf8))
            exit(130)
        }
        for rung in firstRung..<ladder.count where !shared.rungs[rung].isEmpty {
            report(rung, shared.rungs[rung], promoted: shared.promotedFrom[rung].sorted())
        }
    }

    // MARK: TPE

    /// TPE in batches of `plan.batch`: each batch's trials are proposed from the trials of the
    /// batches before it (the first `startup` drawn at random), so the proposals do not depend on
    /// `--jobs`. With pruning a trial goes on from a rung while it is among the best
    /// ⌊m/η⌋ (at least one) of the m results there: its own and those of the earlier batches.
    private func treeParzen() throws {
        var observations: [TreeParzenEstimator.Observation] = []
        var rungResults = [[RungResult]](repeating: [], count: ladder.count)
        var first = 0
        let template = specs[0].search!
        while first < plan.trials {
            let batch = Array(first..<min(first + plan.batch, plan.trials))
            for number in batch where number >= specs.count {
                let seed = TreeParzenEstimator.proposalSeed(trial: number, searchSeed: plan.seed)
                let point = TreeParzenEstimator.suggest(observations, dimensions: template.space.dimensions, goal: plan.goal, seed: seed)
                var trial = SearchTrial(plan: plan, group: template.group, trial: number, bracket: 0, firstRung: 0,
                                        point: point, space: template.space)
                trial.benchmarkCell = template.benchmarkCell
                let spec = try ExperimentSpec.searchTrial(file: file, trial: trial)
                try Runner(spec: spec, pool: .serial).check()
                specs.append(spec)
            }
            var alive = batch
            var reached: [Int: (rung: Int, value: Double?)] = [:]
            for rung in 0..<ladder.count {
                let values = trainRung(alive, rung: rung)
                var promoted: [Int] = []
                for number in alive {
                    let value = values[number] ?? nil
                    reached[number] = (rung, value)
                    let among = rungResults[rung] + [RungResult(trial: number, value: value)]
                    if rung + 1 < ladder.count && AdaptiveSearch.isPromotable(number, among: among, eta: plan.eta, goal: plan.goal) {
                        promoted.append(number)
                    }
                }
                let results = alive.map { RungResult(trial: $0, value: values[$0] ?? nil) }
                rungResults[rung] += results
                report(rung, results, promoted: promoted)
                alive = promoted
                if alive.isEmpty { break }
            }
            for number in batch {
                observations.append(.init(point: specs[number].search!.point, rung: reached[number]?.rung ?? 0, value: reached[number]?.value ?? nil))
            }
            first = batch.last! + 1
        }
    }
}
