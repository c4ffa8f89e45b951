import Foundation
import TrainLabExperiment
import TrainLabSpec
import TrainLabStore

/// Which shard of the sweep one `trainlab run` trains: `--shard K/N` (0-based K), or
/// `--shard auto` from the environment of a SLURM array task or a Kubernetes indexed Job.
struct ShardSelection: Equatable {
    let index: Int
    let count: Int

    /// `text` is the value of `--shard`; `shards` the value of `--shards`, which an indexed Job
    /// needs (it tells a pod its index, not the count) and SLURM, when given, must agree with.
    static func parse(_ text: String, shards: Int?, environment: [String: String]) throws -> ShardSelection {
        func integer(_ name: String) throws -> Int? {
            guard let value = environment[name] else { return nil }
            guard let number = Int(value) else { throw UsageError("--shard auto: \(name) is '\(value)', not an integer") }
            return number
        }
        let selection: ShardSelection
        if text != "auto" {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1 else {
                throw UsageError("--shard expects K/N (shard K of N, K from 0) or auto, got '\(text)'")
            }
            guard shards == nil || shards == count else { throw UsageError("--shard \(text) disagrees with --shards \(shards!)") }
            selection = ShardSelection(index: index, count: count)
        } else if let task = try integer("SLURM_ARRAY_TASK_ID") {
            guard let count = try shards ?? integer("SLURM_ARRAY_TASK_COUNT") else {
                throw UsageError("--shard auto: SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT; give --shards N")
            }
            selection = ShardSelection(index: task - (try integer("SLURM_ARRAY_TASK_MIN") ?? 0), count: count)
        } else if let index = try integer("JOB_COMPLETION_INDEX") {
            guard let shards else { throw UsageError("--shard auto with JOB_COMPLETION_INDEX (an indexed Job) needs --shards N") }
            selection = ShardSelection(index: index, count: shards)
        } else {
            throw UsageError("--shard auto needs SLURM_ARRAY_TASK_ID (a SLURM job array) or JOB_COMPLETION_INDEX (a Kubernetes indexed Job)")
        }
        guard (0..<selection.count).contains(selection.index) else {
            throw UsageError("shard \(selection.index) is not one of the \(selection.count) shards 0...\(selection.count - 1)")
        }
        return selection
    }

    /// `--db` with `{shard}` replaced by this shard's index, so each shard writes its own file.
    func databasePath(_ pattern: String) -> String {
        pattern.replacingOccurrences(of: "{shard}", with: "\(index)")
    }
}

/// `validate SPEC... --shards N`: which runs each shard trains and what it costs.
func printShardPlan(_ runs: [ExperimentSpec], shardCount: Int, gigaflopsPerSecond: Double) {
    let plan = ShardPlan(runs: runs, shardCount: shardCount)
    print("\(shardCount) shard\(shardCount == 1 ? "" : "s"), balanced by estimated cost (FLOPs per step × steps); "
          + "times at this machine's measured peak of \(format(gigaflopsPerSecond, 1)) GFLOP/s, a lower bound:")
    for shard in 0..<shardCount {
        let members = plan.runs(inShard: shard)
        let gigaflops = plan.cost(ofShard: shard) / 1e9
        print("  shard \(shard): \(members.count) run\(members.count == 1 ? "" : "s")"
              + (members.isEmpty ? "" : " (\(members.map { "\($0 + 1)" }.joined(separator: ", ")))")
              + ", \(String(format: "%.3g", gigaflops)) GFLOP, ≥ \(formatDuration(gigaflops / gigaflopsPerSecond))")
    }
}

/// `trainlab merge OUT.sqlite SHARD.sqlite... [--expect SPEC.json...]`.
enum MergeCommand {
    static func run(_ arguments: inout Arguments) throws {
        var specFiles: [String] = []
        while let file = try arguments.option("--expect") { specFiles.append(file) }
        let rung = try arguments.intOption("--rung", atLeast: 0)
        guard let output = arguments.next() else { throw UsageError("merge needs the output database and the shard databases") }
        var sources: [String] = []
        while let source = arguments.next() { sources.append(source) }
        try arguments.finish()
        guard !sources.isEmpty else { throw UsageError("merge needs at least one shard database after \(output)") }
        if rung != nil && specFiles.isEmpty { throw UsageError("--rung R goes with --expect SPEC: which search's rungs to check") }
        let loaded = try loadAll(specFiles, database: output).flatMap { $0.1 }
        // An adaptive search's trials are expected to have their results at the rungs the search
        // trains them to; the plain runs, theirs.
        let expected = loaded.filter { $0.search == nil }

        let outputFile = URL(fileURLWithPath: output).standardizedFileURL.resolvingSymlinksInPath().path
        var missingFiles: [String] = []
        var shards: [ResultsStore] = []
        for source in sources {
            guard FileManager.default.fileExists(atPath: source) else {
                missingFiles.append(source)
                continue
            }
            guard URL(fileURLWithPath: source).standardizedFileURL.resolvingSymlinksInPath().path != outputFile else {
                throw UsageError("\(source) is the output database itself")
            }
            shards.append(try ResultsStore(path: source, readOnly: true))
        }
        let store = try ResultsStore(path: output)
        for outcome in try store.merge(from: shards) {
            print("\(outcome.source): \(outcome.added) run\(outcome.added == 1 ? "" : "s") added, "
                  + "\(outcome.updated) updated, \(outcome.unchanged) already merged")
        }
        for file in missingFiles { print("missing: \(file) does not exist (its shard never started, or wrote elsewhere)") }

        let statuses = try store.statusByConfigHash()
        var unfinished: [String] = []
        for spec in expected {
            let status = statuses[spec.configHash(programVersion: programVersion)]
            guard status != .completed && status != .diverged else { continue }
            let sweep = spec.assignmentSummary.isEmpty ? "" : " [\(spec.assignmentSummary)]"
            unfinished.append("\(spec.name) seed \(spec.seed)\(sweep): \(status.map { $0.rawValue } ?? "missing")")
        }
        if !specFiles.isEmpty && (!expected.isEmpty || loaded.allSatisfy { $0.search == nil }) {
            print("\(expected.count - unfinished.count) of \(expected.count) expected runs have a result in \(output)")
        }
        var searches: [String: [ExperimentSpec]] = [:], order: [String] = []
        for spec in loaded {
            guard let group = spec.search?.group else { continue }
            if searches[group] == nil { order.append(group) }
            searches[group, default: []].append(spec)
        }
        for group in order {
            let search = AdaptiveSearchRun(trials: searches[group]!, store: store, database: output, force: false, quiet: true, jobs: .count(1))
            let last = min(rung ?? search.rungCount - 1, search.rungCount - 1)
            let missing = try search.unfinished(throughRung: last, in: store)
            let trials = missing.map { search.specs[$0.trial] }
            print("search \(group): " + (missing.isEmpty ? "every trial has its result at rungs 0...\(last)"
                                                        : "\(missing.count) trial\(missing.count == 1 ? "" : "s") without a result at rung \(missing[0].rung)"))
            for (found, spec) in zip(missing, trials) {
                let sweep = spec.assignmentSummary.isEmpty ? "" : " [\(spec.assignmentSummary)]"
                unfinished.append("\(spec.name) seed \(spec.seed)\(sweep) (trial \(found.trial)) at rung \(found.rung): \(found.found)")
            }
        }
        for line in unfinished { print("not completed: \(line)") }
        if !missingFiles.isEmpty || !unfinished.isEmpty { exit(1) }
    }
}

/// `trainlab status DB|GLOB... [--expect SPEC...]`: the shards of a sweep as they train; with
/// the sweep's specs, also the runs no shard database holds yet (a shard that has not started, or
/// has not reached them).
enum StatusCommand {
    static func run(_ arguments: inout Arguments) throws {
        var specFiles: [String] = []
        while let file = try arguments.option("--expect") { specFiles.append(file) }
        var patterns: [String] = []
        while let pattern = arguments.next() { patterns.append(pattern) }
        try arguments.finish()
        guard !patterns.isEmpty else { throw UsageError("status needs shard databases (or a quoted glob of them)") }
        let expected = try loadAll(specFiles, database: "").flatMap { $0.1 }
        var statuses: [String: RunStatus] = [:]
        for pattern in patterns {
            let files = expandGlob(pattern)
            if files.isEmpty { print("\(pattern): no such database yet") }
            for file in files {
                let store = try ResultsStore(path: file, readOnly: true)
                try printStatus(of: file, store: store)
                // A finished attempt anywhere outranks an unfinished one elsewhere.
                for (hash, status) in try store.statusByConfigHash() where statuses[hash].map({ $0 != .completed && $0 != .diverged }) ?? true {
                    statuses[hash] = status
                }
            }
        }
        guard !specFiles.isEmpty else { return }
        let states = expected.map { statuses[$0.configHash(programVersion: programVersion)] }
        let pending = zip(expected, states).filter { $1 == nil }.map(\.0)
        func count(_ wanted: RunStatus...) -> Int { states.filter { $0.map(wanted.contains) ?? false }.count }
        print("expected \(expected.count) run\(expected.count == 1 ? "" : "s") (\(specFiles.joined(separator: ", "))): "
              + "\(count(.completed, .diverged)) done, \(count(.running)) running, \(count(.failed)) failed, "
              + "\(count(.interrupted)) interrupted, \(pending.count) pending (in no database yet)")
        for spec in pending.prefix(20) {
            let sweep = spec.assignmentSummary.isEmpty ? "" : " [\(spec.assignmentSummary)]"
            print("  pending: \(spec.name) seed \(spec.seed)\(sweep)")
        }
        if pending.count > 20 { print("  ... and \(pending.count - 20) more pending") }
    }

    /// One line of counts per database, then each training run's step and ETA.
    private static func printStatus(of file: String, store: ResultsStore) throws {
        let runs = try store.runs().filter { $0.supersededBy == nil }
        func count(_ statuses: RunStatus...) -> Int { runs.filter { statuses.contains($0.status) }.count }
        let live = runs.filter(\.isLive)
        // An adaptive search leaves the trials it stopped `interrupted` at their rung (a later
        // run may train them on): a result of the search, not work lost.
        let paused = try runs.filter { run in
            guard run.status == .interrupted else { return false }
            return try store.params(runID: run.id)["search.rung"] != nil
        }.count
        print("\(file): \(runs.count) run\(runs.count == 1 ? "" : "s"): \(count(.completed, .diverged)) done, "
              + "\(live.count) running, \(count(.failed)) failed, \(count(.interrupted) - paused + runs.filter(\.isOrphaned).count) interrupted"
              + (paused > 0 ? ", \(paused) stopped by a search at their rung" : ""))
        for run in live {
            print("  run \(run.id) \(run.experiment): "
                  + progressLine(run, params: try store.params(runID: run.id), summaries: try store.summaries(runID: run.id)))
        }
    }

    /// The files `pattern` matches (glob(3)); a pattern without wildcards names itself when it exists.
    static func expandGlob(_ pattern: String) -> [String] {
        var matches = glob_t()
        defer { globfree(&matches) }
        guard glob(pattern, 0, nil, &matches) == 0 else { return [] }
        return (0..<Int(matches.gl_pathc)).compactMap { matches.gl_pathv[$0].map { String(cString: $0) } }
    }
}
