import Foundation
import TrainLabKernels
import TrainLabSpec
import TrainLabStore
import TrainLabExperiment

/// `trainlab validate SPEC...`: parse, check and expand every spec; train nothing.
enum ValidateCommand {
    static func run(_ arguments: inout Arguments) throws {
        var files: [String] = []
        while let file = arguments.next() { files.append(file) }
        try arguments.finish()
        guard !files.isEmpty else { throw UsageError("validate needs at least one spec file") }
        let specs = try loadAll(files)
        for (file, runs) in specs {
            print("\(file): \(runs.count) run\(runs.count == 1 ? "" : "s")")
            for (i, spec) in runs.enumerated() {
                let runner = Runner(spec: spec, pool: .serial)
                let (data, model) = try runner.prepare()
                let parameterCount = model.parameters.reduce(0) { $0 + $1.value.count }
                let sweep = spec.assignmentSummary.isEmpty ? "" : "  [\(spec.assignmentSummary)]"
                print("  \(i + 1). \(spec.name) seed \(spec.seed): \(spec.task.kind) \(data.inputDim)→\(data.outputDim), "
                      + "mlp \(spec.model.hidden) \(spec.model.activation.name), \(spec.loss.name), \(spec.optimizerKind) lr \(spec.lr), "
                      + "\(spec.training.steps) steps × batch \(spec.training.batchSize); \(parameterCount) parameters\(sweep)")
            }
        }
    }
}

/// Loads every file before anything runs, so a bad spec anywhere stops the whole command
/// before the database is touched (exit 2).
func loadAll(_ files: [String]) throws -> [(String, [ExperimentSpec])] {
    try files.map { file in (file, try ExperimentSpec.load(file: file)) }
}

/// `trainlab run SPEC... [--db PATH] [--force] [--quiet]`.
enum RunCommand {
    static func run(_ arguments: inout Arguments) throws {
        let database = try arguments.option("--db") ?? "results/trainlab.sqlite"
        let force = arguments.flag("--force")
        let quiet = arguments.flag("--quiet")
        _ = try arguments.intOption("--jobs", atLeast: 1)
        var files: [String] = []
        while let file = arguments.next() { files.append(file) }
        try arguments.finish()
        guard !files.isEmpty else { throw UsageError("run needs at least one spec file") }

        let runs = try loadAll(files).flatMap { $0.1 }
        let store = try ResultsStore(path: database)
        try store.markInterruptedRuns()
        Interruption.install()

        var failures = 0
        let progress: TerminalProgress? = quiet ? nil : TerminalProgress()
        for (index, spec) in runs.enumerated() {
            if Interruption.requested { break }
            let hash = spec.configHash(programVersion: programVersion)
            let label = "[\(index + 1)/\(runs.count)] \(spec.name)" + (spec.assignmentSummary.isEmpty ? "" : " \(spec.assignmentSummary)")
            if !force, let done = try store.completedRun(configHash: hash, programVersion: programVersion) {
                if !quiet { print("\(label): already completed as run \(done), skipped (--force reruns)") }
                continue
            }
            let runID = try store.beginRun(
                experiment: spec.name, config: JSONWriter.write(spec.config, sortedKeys: true), configHash: hash,
                seed: Int(spec.seed), params: spec.flattenedParams, programVersion: programVersion)
            progress?.label = label
            do {
                let result = try Runner(spec: spec).run(
                    metrics: store.metricsSink(runID: runID), progress: progress, isCancelled: { Interruption.requested })
                let status: RunStatus = switch result.end {
                case .completed: .completed
                case .diverged: .diverged
                case .interrupted: .interrupted
                }
                try store.finishRun(id: runID, status: status, divergedStep: result.divergedStep)
                progress?.finish()
                if !quiet { print("\(label): run \(runID) \(describe(result))") }
            } catch {
                failures += 1
                try? store.finishRun(id: runID, status: .failed, error: "\(error)")
                progress?.finish()
                FileHandle.standardError.write(Data("trainlab: \(label): run \(runID) failed: \(error)\n".utf8))
            }
        }
        if Interruption.requested {
            FileHandle.standardError.write(Data("trainlab: interrupted; finished runs are saved in \(database)\n".utf8))
            exit(130)
        }
        if !quiet { print("results in \(database)") }
        if failures > 0 { exit(1) }
    }

    static func describe(_ r: RunResult) -> String {
        var parts = ["\(r.end.rawValue) in \(format(r.seconds, 2)) s"]
        if let step = r.divergedStep { parts[0] += " at step \(step)" }
        parts.append("train_loss \(format(r.finalTrainLoss, 4))")
        if let v = r.finalValidationLoss { parts.append("val_loss \(format(v, 4))") }
        if let a = r.finalValidationAccuracy { parts.append("val_accuracy \(format(a, 3))") }
        return parts.joined(separator: ", ")
    }
}

/// A live status line on a terminal (redrawn in place), or nothing when stderr is not one: the
/// per-run summary lines are then the log.
final class TerminalProgress: ProgressObserver {
    var label = ""
    private let enabled = isatty(STDERR_FILENO) != 0
    private var drawn = false

    func update(step: Int, of total: Int, loss: Double, stepsPerSecond: Double) {
        guard enabled else { return }
        let eta = Double(total - step) / max(stepsPerSecond, 1e-9)
        let line = "\(label)  step \(step)/\(total)  loss \(format(loss, 4))  \(format(stepsPerSecond, 0)) steps/s  ETA \(format(eta, 1)) s"
        FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
        drawn = true
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        drawn = false
    }
}

/// Ctrl-C (SIGINT) and SIGTERM end the current run at its next step, marked `interrupted`.
enum Interruption {
    nonisolated(unsafe) private static var flag: sig_atomic_t = 0

    static var requested: Bool { flag != 0 }

    static func install() {
        signal(SIGINT) { _ in Interruption.flag = 1 }
        signal(SIGTERM) { _ in Interruption.flag = 1 }
    }
}
