// The commands of `trainlab`: the one source of what each is called, what it does, how it is
// written and which options it accepts. The overall usage, `help CMD`, `CMD --help`, the
// did-you-mean for a misspelt command or option and the dispatch all derive from this table,
// so an option cannot be accepted without appearing in its command's usage.

import Foundation
import TrainLabStore

/// One option: its spellings (`-o`, `--output`), the value it takes if any, what it does.
struct Option {
    let names: [String]
    let value: String?
    let help: String

    init(_ names: String..., value: String? = nil, help: String) {
        self.names = names
        self.value = value
        self.help = help
    }

    /// `-o, --output FILE`
    var spelled: String { names.joined(separator: ", ") + (value.map { " \($0)" } ?? "") }
}

struct Command {
    let name: String
    /// What follows `trainlab` on each usage line, one line per form of the command.
    let synopses: [String]
    /// One line, shown under the synopses in the overall usage.
    let summary: String
    let options: [Option]
    let run: @Sendable (inout Arguments) throws -> Void

    var optionNames: [String] { options.flatMap(\.names) }

    /// `help CMD` and `CMD --help`: its usage lines, what it does, every option it accepts.
    var usage: String {
        let lines = synopses.enumerated().map { i, synopsis in (i == 0 ? "usage: " : "       ") + "trainlab \(synopsis)" }
        return lines.joined(separator: "\n") + "\n\n\(summary)\n\noptions:\n"
            + optionTable(options + optionsOfEveryCommand)
    }

    /// The synopses alone, printed after a usage error.
    var shortUsage: String {
        synopses.enumerated().map { i, synopsis in (i == 0 ? "usage: " : "       ") + "trainlab \(synopsis)" }
            .joined(separator: "\n") + "\n(trainlab help \(name) for more)"
    }
}

let databaseOption = Option("--db", value: "PATH", help: "the results database, opened read-only (default results/trainlab.sqlite)")
let writtenDatabaseOption = Option("--db", value: "PATH", help: "the results database, which must exist (default results/trainlab.sqlite)")
let bestOption = Option("--best", value: "min|max", help: "which end is better (default min for names containing loss, else max)")

/// Options every command accepts, read before the command is known.
let optionsOfEveryCommand = [
    Option("--threads", value: "N", help: "kernel threads (default: TRAINLAB_THREADS, else the available cores)"),
    Option("-h", "--help", help: "usage: the commands, or with a command its own"),
]

/// The options of `trainlab` without a command.
let globalOptions = optionsOfEveryCommand + [Option("--version", help: "the program version")]

let commandTable: [Command] = [
    Command(
        name: "run", synopses: ["run SPEC.json... [--db PATH] [--jobs N|auto] [--force] [--quiet]",
                                "run SPEC.json... --shard K/N|auto [--shards N] [--db PATH] [options]",
                                "run SPEC.json... --rung R [--from MERGED.sqlite] [--shard K/N|auto] [--db PATH] [options]"],
        summary: "train every run of the specs (sweeps expanded), metrics to SQLite; or one shard of them",
        options: [
            Option("--db", value: "PATH", help: "the results database (default results/trainlab.sqlite, created with its folder); {shard} is replaced by the shard"),
            Option("--jobs", value: "N|auto", help: "train N runs at once, each on threads/N of the kernel threads; auto (default): from the runs' FLOPs per step, small models one run per thread, a big one on every thread"),
            Option("--force", help: "rerun runs whose config already completed (skipped otherwise)"),
            Option("--quiet", help: "print nothing but errors"),
            Option("--shard", value: "K/N|auto", help: "train shard K (from 0) of N of all the runs, balanced by estimated cost; auto: from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX"),
            Option("--shards", value: "N", help: "with --shard auto: the number of shards (needed for an indexed Job's JOB_COMPLETION_INDEX)"),
            Option("--rung", value: "R", help: "train rung R (from 0) of the specs' successive halving or Hyperband searches: the trials alive there, decided from rungs 0..R-1 in --from (and at rung 0 the plain runs)"),
            Option("--from", value: "MERGED", help: "with --rung: the merged results of the rungs before, read-only (default: --db itself); the trials trained are copied from it with their state"),
        ],
        run: RunCommand.run),
    Command(
        name: "validate", synopses: ["validate SPEC.json... [--db PATH] [--shards N]"],
        summary: "parse, check and expand the specs; print the runs with size estimates; train nothing",
        options: [
            Option("--db", value: "PATH", help: "the database the runs would write: say which runs are done there already (run skips them), which resume and which train; no weights file may overwrite it (default results/trainlab.sqlite, not read)"),
            Option("--shards", value: "N", help: "also print which runs each of N shards trains and its estimated time"),
        ],
        run: ValidateCommand.run),
    Command(
        name: "merge", synopses: ["merge OUT.sqlite SHARD.sqlite... [--expect SPEC.json... [--rung R]]"],
        summary: "copy the shards' runs into OUT (created if missing) under new ids: idempotent, all-or-nothing",
        options: [Option("--expect", value: "SPEC.json", help: "name the runs of this spec (repeated) that have no result in OUT after the merge (exit 1); a search's trials, at the rungs it trains them to"),
                  Option("--rung", value: "R", help: "with --expect: check a search's rungs 0...R only (a rung job's merge)")],
        run: MergeCommand.run),
    Command(
        name: "slurm",
        synopses: ["slurm SPEC.json... --shards N [--cpus-per-task C] [--time T] [--partition P] [--mem M] [--account A] [--db OUT] [-o SCRIPT] [--submit]"],
        summary: "write an sbatch script for a job array of N shards and one for the merge after it; --submit submits both",
        options: [
            Option("--shards", value: "N", help: "array tasks, each training one shard into its own database"),
            Option("--cpus-per-task", value: "C", help: "cores (and kernel threads) per task (default 1)"),
            Option("--time", value: "T", help: "each task's time limit (sbatch --time), signalled \(SlurmCommand.warningSeconds) s before to save and requeue"),
            Option("--partition", value: "P", help: "sbatch --partition"),
            Option("--mem", value: "M", help: "sbatch --mem"),
            Option("--account", value: "A", help: "sbatch --account"),
            Option("--db", value: "OUT", help: "the merged database (default results/trainlab.sqlite); shards write OUT-shard-K.sqlite beside it"),
            Option("-o", "--output", value: "SCRIPT", help: "the array script (default trainlab-NAME.sbatch; the merge job's is SCRIPT-merge.sbatch)"),
            Option("--submit", help: "submit both with sbatch, the merge after every task has ended, and print the job ids"),
        ],
        run: SlurmCommand.run),
    Command(
        name: "status", synopses: ["status SHARD.sqlite|GLOB... [--expect SPEC.json...]"],
        summary: "per shard database: runs done, running (with step and ETA), failed and interrupted; with --expect, the sweep's runs no shard has started",
        options: [Option("--expect", value: "SPEC.json", help: "the sweep's specs: count and list its runs that no database holds yet (pending)")],
        run: StatusCommand.run),
    Command(
        name: "export-data", synopses: ["export-data SPEC.json [-o DIR]"],
        summary: "write the first run's task data as .npy files",
        options: [Option("-o", "--output", value: "DIR", help: "the folder (default data/)")],
        run: ExportDataCommand.run),
    Command(
        name: "list", synopses: ["list [EXPERIMENT] [--status S] [--tag T] [--sort METRIC [--desc]] [--limit N] [--all] [--db PATH]"],
        summary: "one line per run: status, seed, final metrics, duration, tags, swept params, notes",
        options: [
            Option("--status", value: "S", help: "only runs with this status: running, completed, diverged, failed, interrupted"),
            Option("--tag", value: "T", help: "only runs tagged T"),
            Option("--sort", value: "METRIC", help: "order by the final value of METRIC, lowest first (runs without it last)"),
            Option("--desc", help: "with --sort: highest first"),
            Option("--limit", value: "N", help: "the first N runs"),
            Option("--all", help: "also the attempts superseded by a later run of the same config"),
            databaseOption,
        ],
        run: ListCommand.run),
    Command(
        name: "show", synopses: ["show RUN [--db PATH]"],
        summary: "a run's fields, tags, notes, config, metric summaries and loss sparklines",
        options: [databaseOption], run: ShowCommand.run),
    Command(
        name: "compare",
        synopses: ["compare EXPERIMENT... --by KEY... [--pivot KEY] [--metric NAME] [--best min|max] [--db PATH]",
                   "compare --diff RUN1 RUN2 [--db PATH]"],
        summary: "group runs by params: mean ± 95% CI over seeds, best and its run, diverged, rank; a grid with --pivot; or two runs' differing params",
        options: [
            Option("--by", value: "KEY", help: "a param to group by, e.g. optimizer.lr, or experiment (repeated or comma-separated: a tuple)"),
            Option("--pivot", value: "KEY", help: "lay the groups out as a grid: --by values as rows, this param's values as columns"),
            Option("--metric", value: "NAME", help: "the final metric compared (default \(ResultsStore.defaultMetricText))"),
            bestOption,
            Option("--diff", help: "the params that differ between runs RUN1 and RUN2"),
            databaseOption,
        ],
        run: CompareCommand.run),
    Command(
        name: "query", synopses: ["query SQL [--format table|csv|json] [--timeout SECONDS] [--db PATH]"],
        summary: "one read-only SQL statement, the rows as a table, CSV or JSON",
        options: [
            Option("--format", value: "table|csv|json",
                   help: "how rows are printed (default table, at most \(QueryCommand.tableRowLimit) rows; csv and json stream every row)"),
            Option("--timeout", value: "SECONDS", help: "stop the statement after this long (default \(Int(QueryCommand.defaultTimeout)); 0: no limit)"),
            databaseOption,
        ],
        run: QueryCommand.run),
    Command(
        name: "export", synopses: ["export RUN|EXPERIMENT [--format csv|json] [-o FILE] [--db PATH]",
                                   "export [RUN|EXPERIMENT] --wide [--format csv|json] [-o FILE] [--db PATH]"],
        summary: "the full metric history (run_id, step, name, value) of a run or an experiment; --wide: one row per run",
        options: [
            Option("--wide", help: "one row per run (all runs without RUN|EXPERIMENT): id, experiment, status, seed, tags, every param, each metric's final and best"),
            Option("--format", value: "csv|json", help: "CSV with a header or a JSON array of objects (default csv)"),
            Option("-o", "--output", value: "FILE", help: "write to FILE (default stdout)"),
            databaseOption,
        ],
        run: ExportCommand.run),
    Command(
        name: "report",
        synopses: ["report EXPERIMENT [-o FILE] [--by KEY...] [--pivot KEY] [--metric NAME] [--smooth A] [--format html|svg] [--chart C] [--problem P] [--watch [SECONDS]] [--db PATH|GLOB]"],
        summary: "one self-contained HTML file: interactive curves (mean, min-max band; hover, hide, zoom, log, smoothing, group by), runs table, final metric ± 95% CI, heatmap, init probe by depth, benchmark charts, config table, tags and notes",
        options: [
            Option("-o", "--output", value: "FILE", help: "the file (default EXPERIMENT.html or .svg; - for stdout)"),
            Option("--by", value: "KEY", help: "configs share these params (default: runs that differ only by seed)"),
            Option("--pivot", value: "KEY", help: "a heatmap of the final metric: --by values as rows, this param's values as columns"),
            Option("--metric", value: "NAME", help: "the final metric, and the curves' with --chart curves"),
            Option("--smooth", value: "A", help: "train_loss curves as an EMA of weight A in [0, 1), e.g. 0.9"),
            Option("--format", value: "html|svg", help: "html (default) or one chart as svg"),
            Option("--chart", value: "C", help: "the svg chart: curves (default), final, heatmap (with --pivot), act_rms, grad_rms; a benchmark's lr_sensitivity, tuning, profile or time_to_target"),
            Option("--problem", value: "P", help: "the benchmark problem of --chart lr_sensitivity or tuning (default the first)"),
            Option("--watch", value: "[SECONDS]", help: "rewrite the file every SECONDS (default 5) while runs are running, once more when none is; the page reloads itself"),
            Option("--db", value: "PATH|GLOB", help: "the results database, opened read-only, or a quoted glob of shard databases (default results/trainlab.sqlite)"),
        ],
        run: ReportCommand.run),
    Command(
        name: "best", synopses: ["best EXPERIMENT [--metric M] [--best min|max] [--json] [--db PATH]"],
        summary: "the best completed run: its id, final metric and resolved config",
        options: [
            Option("--metric", value: "M", help: "the final metric (default \(ResultsStore.defaultMetricText))"),
            bestOption,
            Option("--json", help: "as one JSON object: run, experiment, metric, value, config"),
            databaseOption,
        ],
        run: BestCommand.run),
    Command(
        name: "benchmark", synopses: ["benchmark EXPERIMENT [--format table|json|markdown] [--db PATH]"],
        summary: "a benchmark spec's results: per problem each optimizer's best setting, final metric over paired seeds (median, mean ± 95% CI), target hits and time to target, rank, Wilcoxon test against the best; performance-profile scores",
        options: [
            Option("--format", value: "table|json|markdown", help: "a table per problem (default), one JSON object for scripts, or the write-up's Markdown tables"),
            databaseOption,
        ],
        run: BenchmarkCommand.run),
    Command(
        name: "tag", synopses: ["tag RUN|EXPERIMENT TAG... [--remove] [--db PATH]"],
        summary: "add tags to a run or every run of an experiment (one word each, no commas)",
        options: [Option("--remove", help: "remove the tags instead"), writtenDatabaseOption],
        run: TagCommand.run),
    Command(
        name: "note", synopses: ["note RUN TEXT [--db PATH]"],
        summary: "set a run's notes (\"\" clears them)",
        options: [writtenDatabaseOption], run: NoteCommand.run),
    Command(
        name: "delete", synopses: ["delete RUN...|EXPERIMENT [--yes] [--db PATH]"],
        summary: "delete runs and every row they own (metrics, params, summaries, tags); never a live run",
        options: [Option("--yes", help: "delete without asking (needed when stdin is not a terminal)"), writtenDatabaseOption],
        run: DeleteCommand.run),
    Command(
        name: "rename", synopses: ["rename EXPERIMENT NEW [--db PATH]"],
        summary: "rename an experiment (its runs keep their configs)",
        options: [writtenDatabaseOption], run: RenameCommand.run),
    Command(
        name: "bench",
        synopses: ["bench gemm [--json] [--quick] [--shapes MxNxK[/tn|/nt|/tt],...] [--precision fp32|bf16]",
                   "bench train [SPEC.json...] [--steps N] [--windows N] [--profile] [--precision fp32|bf16|both]",
                   "bench sweep [SPEC.json] [--jobs N|auto]",
                   "bench metrics [SPEC.json]"],
        summary: "GEMM GFLOPS as % of the peak measured at that precision; training-step timings; a sweep's time per run by phase; the cost of logging metrics",
        options: [
            Option("--json", help: "gemm: results as JSON"),
            Option("--quick", help: "gemm: only the small sizes"),
            Option("--shapes", value: "LIST", help: "gemm: time these products instead"),
            Option("--steps", value: "N", help: "train: steps per window (default the spec's)"),
            Option("--windows", value: "N", help: "train: measure N windows, report the fastest (default 1)"),
            Option("--profile", help: "train: where forward and backward time goes, op by op"),
            Option("--precision", value: "fp32|bf16|both", help: "gemm, train: operand precision of the matrix products (train: overrides the specs' training.precision; both: each spec at both, with the speed-up)"),
            Option("--jobs", value: "N|auto", help: "sweep: runs at once, as for run (default auto)"),
        ],
        run: BenchCommand.run),
    Command(
        name: "catalog", synopses: ["catalog [--json]"],
        summary: "every spec name (initializers, norms, activations, losses, optimizers, schedules, tasks) with its keys, defaults and doc",
        options: [Option("--json", help: "as JSON: {kind: [{name, doc, keys: {key: default}, required}]}")],
        run: CatalogCommand.run),
    Command(
        name: "help", synopses: ["help [COMMAND]"],
        summary: "the commands, or a command's usage and options",
        options: [], run: HelpCommand.run),
    Command(
        name: "version", synopses: ["version"],
        summary: "the program version",
        options: [], run: VersionCommand.run),
]

/// `trainlab --help` and `trainlab help`: every command's usage lines and summary.
let usage: String = {
    let commands = commandTable.map { command in
        command.synopses.map { "  \($0)\n" }.joined() + "        \(command.summary)\n"
    }
    return "usage: trainlab [--threads N] COMMAND [options]\n\ncommands:\n" + commands.joined()
        + "\noptions:\n" + optionTable(globalOptions)
}()

/// Options in two columns, spellings then help, one line each.
func optionTable(_ options: [Option]) -> String {
    let width = options.map(\.spelled.count).max() ?? 0
    return options.map { "  \($0.spelled.padding(toLength: width, withPad: " ", startingAt: 0))  \($0.help)\n" }.joined()
}

func lookUpCommand(_ name: String) throws -> Command {
    guard let command = commandTable.first(where: { $0.name == name }) else {
        throw UsageError("unknown command '\(name)'\(suggestion(for: name, among: commandTable.map(\.name)))")
    }
    return command
}

/// `trainlab help [COMMAND]`.
enum HelpCommand {
    static func run(_ arguments: inout Arguments) throws {
        let name = arguments.next()
        try arguments.finish()
        print(try name.map { try lookUpCommand($0).usage } ?? usage, terminator: "")
    }
}

/// `trainlab version`.
enum VersionCommand {
    static func run(_ arguments: inout Arguments) throws {
        try arguments.finish()
        print("trainlab \(programVersion)")
    }
}
