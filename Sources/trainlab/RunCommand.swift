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
                let estimate = ResourceEstimate(spec)
                let sweep = spec.assignmentSummary.isEmpty ? "" : "  [\(spec.assignmentSummary)]"
                let model = spec.model.transformer.map { t in
                    "transformer \(t.config.layers)×\(t.config.dModel) (\(t.config.heads) heads, \(t.config.resolvedKVHeads) kv)"
                } ?? "mlp \(spec.model.hidden) \(spec.model.activation.name)"
                print("  \(i + 1). \(spec.name) seed \(spec.seed): \(spec.task.kind), "
                      + "\(model), \(spec.loss.name), \(spec.optimizerKind) lr \(ExperimentSpec.compact(.number(spec.lr))), "
                      + "\(spec.training.steps) steps × batch \(spec.training.batchSize); \(estimate.parameters) parameters, "
                      + "\(format(estimate.flopsPerStep / 1e6, 1)) MFLOP/step, ~\(ResourceEstimate.format(estimate.bytes))\(sweep)")
            }
        }
    }
}

/// Loads every file before anything runs, so a bad spec anywhere stops the whole command
/// before the database is touched (exit 2).
func loadAll(_ files: [String]) throws -> [(String, [ExperimentSpec])] {
    try files.map { ($0, try ExperimentSpec.loadChecked(file: $0)) }
}

/// `trainlab run SPEC... [--db PATH] [--jobs N] [--force] [--quiet]`.
enum RunCommand {
    static func run(_ arguments: inout Arguments) throws {
        let database = try arguments.option("--db") ?? "results/trainlab.sqlite"
        let force = arguments.flag("--force")
        let quiet = arguments.flag("--quiet")
        let jobs = try arguments.intOption("--jobs", atLeast: 1) ?? 1
        var files: [String] = []
        while let file = arguments.next() { files.append(file) }
        try arguments.finish()
        guard !files.isEmpty else { throw UsageError("run needs at least one spec file") }

        let runs = try loadAll(files).flatMap { $0.1 }
        let store = try ResultsStore(path: database)
        try store.markInterruptedRuns()
        Interruption.install()
        let session = RunSession(runs: runs, store: store, database: database, force: force, quiet: quiet)

        let jobCount = min(jobs, runs.count)
        if jobCount <= 1 {
            let progress: TerminalProgress? = quiet ? nil : TerminalProgress()
            while let index = session.nextIndex() {
                session.execute(index, pool: .shared, progress: progress)
            }
        } else {
            // Run-level parallelism: each job trains whole runs on its own share of the threads,
            // which keeps every core busy on sweeps of models too small to use them all.
            let threadsPerJob = max(1, ThreadPool.shared.threadCount / jobCount)
            let done = DispatchSemaphore(value: 0)
            for _ in 0..<jobCount {
                let thread = Thread {
                    let pool = ThreadPool(threads: threadsPerJob)
                    while let index = session.nextIndex() { session.execute(index, pool: pool, progress: nil) }
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
        if !quiet { print("results in \(database)") }
        if session.failures > 0 { exit(1) }
    }
}

/// The runs of one `trainlab run`, handed out to one or several jobs.
final class RunSession: @unchecked Sendable {
    let runs: [ExperimentSpec]
    let store: ResultsStore
    let database: String
    let force: Bool
    let quiet: Bool
    private let lock = NSLock()
    private var next = 0
    private(set) var failures = 0

    init(runs: [ExperimentSpec], store: ResultsStore, database: String, force: Bool, quiet: Bool) {
        self.runs = runs
        self.store = store
        self.database = database
        self.force = force
        self.quiet = quiet
    }

    /// The next run to start, or nil when all have started or Ctrl-C was pressed.
    func nextIndex() -> Int? {
        lock.withLock {
            guard next < runs.count, !Interruption.requested else { return nil }
            defer { next += 1 }
            return next
        }
    }

    /// Trains run `index` (unless already completed) and records its outcome.
    func execute(_ index: Int, pool: ThreadPool, progress: TerminalProgress?) {
        let spec = runs[index]
        let label = "[\(index + 1)/\(runs.count)] \(spec.name)" + (spec.assignmentSummary.isEmpty ? "" : " \(spec.assignmentSummary)")
        let hash = spec.configHash(programVersion: programVersion)
        var runID: Int64? = nil
        do {
            if !force, let done = try store.completedRun(configHash: hash, programVersion: programVersion) {
                say("\(label): already completed as run \(done), skipped (--force reruns)")
                return
            }
            let id = try store.beginRun(
                experiment: spec.name, config: JSONWriter.write(spec.config, sortedKeys: true), configHash: hash,
                seed: Int(spec.seed), params: spec.flattenedParams.mapValues(storedParam), programVersion: programVersion)
            runID = id
            progress?.label = label
            let result = try Runner(spec: spec, pool: pool).run(
                metrics: store.metricsSink(runID: id), progress: progress, isCancelled: { Interruption.requested })
            let status: RunStatus = switch result.end {
            case .completed: .completed
            case .diverged: .diverged
            case .interrupted: .interrupted
            }
            try store.finishRun(id: id, status: status, divergedStep: result.divergedStep)
            progress?.finish()
            say("\(label): run \(id) \(RunSession.describe(result))")
        } catch {
            lock.withLock { failures += 1 }
            if let runID { try? store.finishRun(id: runID, status: .failed, error: "\(error)") }
            progress?.finish()
            let which = runID.map { "run \($0) " } ?? ""
            FileHandle.standardError.write(Data("trainlab: \(label): \(which)failed: \(error)\n".utf8))
        }
    }

    private func say(_ line: String) {
        if quiet { return }
        lock.withLock { print(line) }
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

/// A param as the database stores it (`ParamValue`): numbers as numbers, booleans 1/0, the rest text.
func storedParam(_ value: JSONValue) -> SQLiteValue {
    switch value {
    case .number(let x): return ParamValue.number(x)
    case .bool(let b): return .integer(b ? 1 : 0)
    case .string(let text): return .text(text)
    case .null: return .null
    case .array, .object: return .text(JSONWriter.write(value, sortedKeys: true))
    }
}

/// Progress of the current run: on a terminal a status line redrawn in place; otherwise (a log
/// file, CI) a plain line at every quarter of the run.
final class TerminalProgress: ProgressObserver {
    var label = "" {
        didSet { nextQuarter = 1 }
    }
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var drawn = false
    private var nextQuarter = 1

    func update(step: Int, of total: Int, loss: Double, stepsPerSecond: Double) {
        let eta = Double(total - step) / max(stepsPerSecond, 1e-9)
        let line = "\(label)  step \(step)/\(total)  loss \(format(loss, 4))  \(format(stepsPerSecond, 0)) steps/s  ETA \(format(eta, 1)) s"
        if isTerminal {
            FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
            drawn = true
        } else if nextQuarter < 4 && step * 4 >= nextQuarter * total {
            FileHandle.standardError.write(Data("\(line)\n".utf8))
            while nextQuarter < 4 && step * 4 >= nextQuarter * total { nextQuarter += 1 }
        }
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

/// `trainlab export-data SPEC [-o DIR]`: the first run's task data as .npy files.
enum ExportDataCommand {
    static func run(_ arguments: inout Arguments) throws {
        let folder = try arguments.option("-o") ?? arguments.option("--output") ?? "data"
        guard let file = arguments.next() else { throw UsageError("export-data needs a spec file") }
        try arguments.finish()
        guard let spec = try ExperimentSpec.load(file: file).first else { throw UsageError("\(file) has no runs") }
        for path in try DataExport.write(spec, to: folder) { print("wrote \(path)") }
    }
}
