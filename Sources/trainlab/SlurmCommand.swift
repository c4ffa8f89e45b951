import Foundation

/// `trainlab slurm SPEC... --shards N [...] [-o SCRIPT] [--submit]`: an sbatch script for a job
/// array of N tasks, each training one shard into its own database, and a script for the job
/// that merges them; with `--submit`, both submitted.
enum SlurmCommand {
    /// Seconds before the time limit at which SLURM asks a task to stop (`--signal`): enough for
    /// the run in progress to reach its next step and save.
    static let warningSeconds = 120

    static func run(_ arguments: inout Arguments) throws {
        guard let shardCount = try arguments.intOption("--shards", atLeast: 1) else { throw UsageError("slurm needs --shards N") }
        let cpusPerTask = try arguments.intOption("--cpus-per-task", atLeast: 1) ?? 1
        var directives: [String] = []
        for name in ["--time", "--partition", "--mem", "--account"] {
            if let value = try arguments.option(name) { directives.append("\(name)=\(value)") }
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
        if let (file, _) = specs.first(where: { $0.1.contains { $0.search != nil } }) {
            throw UsageError("\(file): an adaptive search decides each rung from all its trials; per-rung array jobs are not written yet: run it with `trainlab run` (--jobs N) on one machine")
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
        let arrayScript = header("trainlab-\(name)") + """
            #SBATCH --array=0-\(shardCount - 1)
            #SBATCH --cpus-per-task=\(cpusPerTask)
            #SBATCH --output=\(script).%A_%a.log
            #SBATCH --open-mode=append
            #SBATCH --requeue
            #SBATCH --signal=B:USR1@\(warningSeconds)
            # Written by `trainlab slurm`: task K trains shard K of \(shardCount) of the sweep into its
            # own database (SQLite files are not shared over network file systems), then
            # \(mergeScript.split(separator: "/").last!) merges them into \(output).
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
            \(shellQuoted(trainlab)) run \(specList) --shard auto --threads "${SLURM_CPUS_PER_TASK:-1}" \\
                --db \(shellQuoted(shardPattern)) --quiet &
            pid=$!
            wait "$pid"

            """
        let shardList = (0..<shardCount).map { shellQuoted(shardDatabase(output, shard: "\($0)")) }.joined(separator: " ")
        let merge = header("trainlab-\(name)-merge") + """
            #SBATCH --cpus-per-task=1
            #SBATCH --output=\(mergeScript).%j.log
            # Written by `trainlab slurm`: runs once every task of the array has ended, however it
            # ended (afterany): it merges the shards there are and names the runs missing or not
            # completed (exit 1), where afterok would leave it pending forever after one failure.
            \(shellQuoted(trainlab)) merge \(shellQuoted(output)) \(shardList) \\
                \(files.map { "--expect \(shellQuoted(absolute($0)))" }.joined(separator: " "))

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
