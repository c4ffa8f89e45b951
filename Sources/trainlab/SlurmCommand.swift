import Foundation
import TrainLabExperiment
import TrainLabSpec

/// `trainlab slurm SPEC... --shards N [...] [-o SCRIPT] [--submit]`: an sbatch script for a job
/// array of N tasks, each training one shard into its own database, and a script for the job
/// that merges them; with `--submit`, both submitted.
enum SlurmCommand {
    /// Seconds before the time limit at which SLURM asks a task to stop (`--signal`): enough for
    /// the run in progress to reach its next step and save.
    static let warningSeconds = 120

    /// sbatch's `--time` forms (minutes, minutes:seconds, hours:minutes:seconds, days-hours,
    /// days-hours:minutes, days-hours:minutes:seconds; UNLIMITED or INFINITE): checked here, as
    /// sbatch would refuse the script only once it is submitted.
    static func isSlurmTime(_ text: String) -> Bool {
        if ["UNLIMITED", "INFINITE"].contains(text.uppercased()) { return true }
        func number(_ part: Substring, below limit: Int = Int.max) -> Bool {
            !part.isEmpty && part.count <= 6 && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber) && Int(part)! < limit
        }
        // [D-]first[:MM[:SS]]: the first part is hours after a day count, else unbounded.
        let dayAndClock = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        let clock = dayAndClock.last!.split(separator: ":", omittingEmptySubsequences: false)
        let days = dayAndClock.count == 2
        return (!days || number(dayAndClock[0])) && (1...3).contains(clock.count)
            && number(clock[0], below: days ? 24 : Int.max) && clock.dropFirst().allSatisfy { number($0, below: 60) }
    }

    static func run(_ arguments: inout Arguments) throws {
        guard let shardCount = try arguments.intOption("--shards", atLeast: 1) else { throw UsageError("slurm needs --shards N") }
        let cpusPerTask = try arguments.intOption("--cpus-per-task", atLeast: 1) ?? 1
        var directives: [String] = []
        for name in ["--time", "--partition", "--mem", "--account"] {
            guard let value = try arguments.option(name) else { continue }
            if name == "--time", !isSlurmTime(value) {
                throw UsageError("--time \(value): expected sbatch's forms, MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED")
            }
            directives.append("\(name)=\(value)")
        }
        let database = try arguments.option("--db") ?? defaultDatabasePath
        let scriptOption = try arguments.option("-o") ?? arguments.option("--output")
        let submit = arguments.flag("--submit")
        var files: [String] = []
        while let file = arguments.next() { files.append(file) }
        try arguments.finish()
        guard !files.isEmpty else { throw UsageError("slurm needs at least one spec file") }
        guard !database.contains("{shard}") else { throw UsageError("--db is the merged database; the shards' names are made from it") }
        for directive in directives where directive.contains(where: { $0.isWhitespace || $0 == "'" }) {
            throw UsageError("--\(directive.dropFirst(2)): a value without spaces or quotes expected")
        }
        // A bad spec stops here, not in N tasks on the cluster.
        let specs = try loadAll(files, database: database)
        for (file, runs) in specs {
            for plan in runs.compactMap({ $0.search?.plan }) {
                if let problem = AdaptiveSearchRun.rungByRungProblem(plan) {
                    throw UsageError("\(file): \(problem): run it with `trainlab run` (--jobs N) on one machine")
                }
            }
        }
        let name = specs.first?.1.first?.name ?? "sweep"

        let folder = FileManager.default.currentDirectoryPath
        func absolute(_ path: String) -> String { URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: folder + "/")).standardizedFileURL.path }
        let output = absolute(database)
        let shardPattern = Self.shardDatabase(output, shard: "{shard}")
        let script = absolute(scriptOption ?? "trainlab-\(name.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }).sbatch")
        let mergeScript = script.hasSuffix(".sbatch") ? String(script.dropLast(7)) + "-merge.sbatch" : script + "-merge"
        // This very binary, by its absolute path: the nodes see the same file system.
        let trainlab = Bundle.main.executablePath ?? absolute(CommandLine.arguments[0])
        let specList = files.map { shellQuoted(absolute($0)) }.joined(separator: " ")

        let header = { (job: String) in
            "#!/bin/bash\n#SBATCH --job-name=\(job)\n#SBATCH --chdir=\(folder)\n"
                + directives.map { "#SBATCH \($0)\n" }.joined()
        }
        /// An array of `tasks` tasks, each running `trainlab run ... --shard auto` with `options`
        /// into its own database `pattern`, requeued with its run saved before the time limit.
        func arrayScript(job: String, script: String, tasks: Int, pattern: String, options: String, what: String) -> String {
            header(job) + """
                #SBATCH --array=0-\(tasks - 1)
                #SBATCH --cpus-per-task=\(cpusPerTask)
                #SBATCH --output=\(script).%A_%a.log
                #SBATCH --open-mode=append
                #SBATCH --requeue
                #SBATCH --signal=B:USR1@\(warningSeconds)
                # Written by `trainlab slurm`: task K trains shard K of \(tasks) of
                # \(what)
                # into its own database (SQLite files are not shared over network file systems),
                # then the merge job merges them into \(output).
                #
                # Before the time limit, or when preempted, SLURM signals this shell: trainlab is told
                # to stop at its next step, saving its run (interrupted), and the task is requeued; on
                # its next start the run continues and completed runs are skipped.
                requeue() {
                    kill -TERM "$pid"
                    wait "$pid"
                    scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
                    exit 0
                }
                trap requeue USR1
                \(shellQuoted(trainlab)) run \(specList)\(options) --shard auto --threads "${SLURM_CPUS_PER_TASK:-1}" \\
                    --db \(shellQuoted(pattern)) --quiet &
                pid=$!
                wait "$pid"

                """
        }
        let expectList = files.map { "--expect \(shellQuoted(absolute($0)))" }.joined(separator: " ")
        if specs.contains(where: { $0.1.contains { $0.search != nil } }) {
            let base = script.hasSuffix(".sbatch") ? String(script.dropLast(7)) : script
            try writeRungs(specs.flatMap { $0.1 }, shardCount: shardCount, base: base, output: output, name: name, submit: submit,
                           arrayScript: arrayScript, header: header, trainlab: trainlab, expectList: expectList)
            return
        }
        let arrayScript = arrayScript(job: "trainlab-\(name)", script: script, tasks: shardCount, pattern: shardPattern, options: "",
                                      what: "the sweep")
        let shardList = (0..<shardCount).map { shellQuoted(shardDatabase(output, shard: "\($0)")) }.joined(separator: " ")
        let merge = header("trainlab-\(name)-merge") + """
            #SBATCH --cpus-per-task=1
            #SBATCH --output=\(mergeScript).%j.log
            # Written by `trainlab slurm`: runs once every task of the array has ended, however it
            # ended (afterany): it merges the shards there are and names the runs missing or not
            # completed (exit 1), where afterok would leave it pending forever after one failure.
            \(shellQuoted(trainlab)) merge \(shellQuoted(output)) \(shardList) \\
                \(expectList)

            """
        try Data(arrayScript.utf8).write(to: URL(fileURLWithPath: script), options: .atomic)
        try Data(merge.utf8).write(to: URL(fileURLWithPath: mergeScript), options: .atomic)
        print("wrote \(script) (\(shardCount) array tasks) and \(mergeScript) (the merge into \(output))")
        guard submit else {
            print("submit with: job=$(sbatch --parsable \(shellQuoted(script))) && sbatch --dependency=afterany:${job%%;*} \(shellQuoted(mergeScript))")
            return
        }
        let arrayJob = try sbatch([script])
        let mergeJob = try sbatch(["--dependency=afterany:\(arrayJob)", mergeScript])
        print("submitted array job \(arrayJob) (\(shardCount) tasks) and merge job \(mergeJob) (after every task has ended)")
        print("watch with: trainlab status \(shellQuoted(shardDatabase(output, shard: "*")))")
    }

    /// An adaptive search (successive halving, Hyperband): per rung R an array job whose tasks
    /// run `trainlab run --rung R --from OUT` into `OUT-rung-R-shard-K.sqlite`, and a merge job
    /// that merges them into OUT and checks that every trial alive at rung R has its result
    /// there (`merge --expect --rung R`). Rung R's array starts after rung R−1's merge succeeded
    /// (afterok); each merge runs once its array has ended, however it ended (afterany).
    private static func writeRungs(_ runs: [ExperimentSpec], shardCount: Int, base: String, output: String, name: String, submit: Bool,
                                   arrayScript: (String, String, Int, String, String, String) -> String,
                                   header: (String) -> String, trainlab: String, expectList: String) throws {
        let rungs = rungPlan(runs)
        var jobs: [(array: String, merge: String, tasks: Int)] = []
        for (rung, plan) in rungs.enumerated() {
            let script = "\(base)-rung-\(rung).sbatch", mergeScript = "\(base)-rung-\(rung)-merge.sbatch"
            let tasks = max(1, min(shardCount, plan.runs))
            let pattern = rungShardDatabase(output, rung: rung, shard: "{shard}")
            let array = arrayScript("trainlab-\(name)-rung-\(rung)", script, tasks, pattern,
                                    " --rung \(rung) --from \(shellQuoted(output))",
                                    "rung \(rung) of the search (at most \(plan.runs) runs, to step \(plan.steps)), decided from \(output)")
            let shardList = (0..<tasks).map { shellQuoted(rungShardDatabase(output, rung: rung, shard: "\($0)")) }.joined(separator: " ")
            let merge = header("trainlab-\(name)-rung-\(rung)-merge") + """
                #SBATCH --cpus-per-task=1
                #SBATCH --output=\(mergeScript).%j.log
                # Written by `trainlab slurm`: runs once every task of rung \(rung)'s array has ended,
                # however it ended (afterany); merges them into \(output) and exits 1 when a trial
                # alive at rung \(rung) has no result there, so the next rung (afterok) never starts.
                \(shellQuoted(trainlab)) merge \(shellQuoted(output)) \(shardList) \\
                    \(expectList) --rung \(rung)

                """
            try Data(array.utf8).write(to: URL(fileURLWithPath: script), options: .atomic)
            try Data(merge.utf8).write(to: URL(fileURLWithPath: mergeScript), options: .atomic)
            jobs.append((script, mergeScript, tasks))
        }
        print("wrote \(rungs.count) rung\(rungs.count == 1 ? "" : "s") of the adaptive search, each an array job and a merge into \(output): "
              + jobs.enumerated().map { "\($1.array.split(separator: "/").last!) (\($1.tasks) task\($1.tasks == 1 ? "" : "s"), to step \(rungs[$0].steps))" }
                .joined(separator: ", "))
        let invalid = "--kill-on-invalid-dep=yes"
        guard submit else {
            var lines: [String] = []
            for (rung, job) in jobs.enumerated() {
                let after = rung == 0 ? "" : " \(invalid) --dependency=afterok:${m%%;*}"
                lines.append("a=$(sbatch --parsable\(after) \(shellQuoted(job.array)))")
                lines.append("m=$(sbatch --parsable \(invalid) --dependency=afterany:${a%%;*}\(rung == 0 ? "" : ",afterok:${m%%;*}") \(shellQuoted(job.merge)))")
            }
            print("submit with: " + lines.joined(separator: " && "))
            return
        }
        var previousMerge: String? = nil
        for (rung, job) in jobs.enumerated() {
            let arrayJob = try sbatch((previousMerge.map { [invalid, "--dependency=afterok:\($0)"] } ?? []) + [job.array])
            let mergeJob = try sbatch([invalid, "--dependency=afterany:\(arrayJob)" + (previousMerge.map { ",afterok:\($0)" } ?? ""), job.merge])
            print("rung \(rung) (to step \(rungs[rung].steps)): submitted array job \(arrayJob) (\(job.tasks) task\(job.tasks == 1 ? "" : "s")) and merge job \(mergeJob)")
            previousMerge = mergeJob
        }
        print("the merge job of the last rung, \(previousMerge!), leaves the search's results in \(output)")
        print("watch with: trainlab status \(shellQuoted(rungShardDatabase(output, rung: "*", shard: "*")))")
    }

    /// Per rung of the specs' searches: the most runs it trains (every search's trials that can be
    /// alive there, and at rung 0 the plain runs) and the largest step it trains to.
    static func rungPlan(_ runs: [ExperimentSpec]) -> [(runs: Int, steps: Int)] {
        var groups: [String: [ExperimentSpec]] = [:]
        for run in runs { if let group = run.search?.group { groups[group, default: []].append(run) } }
        var plan: [(runs: Int, steps: Int)] = []
        for trials in groups.values {
            let search = trials[0].search!.plan
            let ladder = search.rungSteps(maxSteps: trials[0].training.steps)
            let brackets = Dictionary(grouping: trials, by: { $0.search!.bracket }).values
            for (rung, step) in ladder.enumerated() {
                if plan.count <= rung { plan.append((0, 0)) }
                plan[rung].runs += brackets.reduce(0) {
                    $0 + AdaptiveSearch.aliveBound(at: rung, trials: $1.count, firstRung: $1[0].search!.firstRung, eta: search.eta)
                }
                plan[rung].steps = max(plan[rung].steps, step)
            }
        }
        if !plan.isEmpty { plan[0].runs += runs.filter { $0.search == nil }.count }
        return plan
    }

    /// `results/trainlab.sqlite` → `results/trainlab-rung-2-shard-3.sqlite`.
    static func rungShardDatabase(_ output: String, rung: String, shard: String) -> String {
        let url = URL(fileURLWithPath: output)
        let stem = url.deletingPathExtension().lastPathComponent, suffix = url.pathExtension.isEmpty ? "" : "." + url.pathExtension
        return url.deletingLastPathComponent().appendingPathComponent("\(stem)-rung-\(rung)-shard-\(shard)\(suffix)").path
    }

    static func rungShardDatabase(_ output: String, rung: Int, shard: String) -> String {
        rungShardDatabase(output, rung: "\(rung)", shard: shard)
    }

    /// `results/trainlab.sqlite` → `results/trainlab-shard-3.sqlite`.
    static func shardDatabase(_ output: String, shard: String) -> String {
        let url = URL(fileURLWithPath: output)
        let stem = url.deletingPathExtension().lastPathComponent, suffix = url.pathExtension.isEmpty ? "" : "." + url.pathExtension
        return url.deletingLastPathComponent().appendingPathComponent("\(stem)-shard-\(shard)\(suffix)").path
    }

    /// Runs `sbatch --parsable ARGUMENTS` and returns the job id it prints.
    private static func sbatch(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sbatch", "--parsable"] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // --parsable prints `id` or `id;cluster`.
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines).prefix { $0 != ";" }
        guard process.terminationStatus == 0, !id.isEmpty, id.allSatisfy(\.isNumber) else {
            throw SubmitError(message: "sbatch \(arguments.joined(separator: " ")) failed (exit \(process.terminationStatus)): \(text)")
        }
        return String(id)
    }

    struct SubmitError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}

/// `path` as one word for sh: in single quotes, each `'` written `'\''`.
func shellQuoted(_ path: String) -> String {
    "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
