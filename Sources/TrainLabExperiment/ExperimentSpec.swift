import Foundation
import TrainLabSpec
import TrainLabData
import TrainLabModels
import TrainLabOptim
import TrainLabIO
import TrainLabKernels

/// One fully resolved run of an experiment: every default filled in, sweep values applied.
/// Decoding reads every key it knows and rejects the rest, so a typo never passes silently.
public struct ExperimentSpec {
    public let name: String
    /// The spec file this run came from.
    public let file: String
    public let seed: UInt64
    public let task: TaskOptions
    /// A benchmark final run's held-out test split (tag `benchmark.test`): rows (0: as many as
    /// `task.val_size`) and the seed of their own stream; nil for every other run.
    public private(set) var testSplit: (size: Int, seed: UInt64)? = nil
    public let model: ModelSpec
    public let loss: any Loss
    public let optimizerKind: String
    public let lr: Double
    public let scheduleKind: String
    public let schedule: Schedule
    public let training: TrainingSpec
    /// Weights to start from and to save (`checkpoint`).
    public let checkpoint: CheckpointSpec
    /// The data of a `task.kind = "file"` spec (nil for synthetic tasks).
    let fileData: TaskData?
    /// Inequality constraints trained with Lagrange multipliers (`constraints`; empty: none).
    public let constraints: [ConstraintSpec]
    /// Log the init probe (activation and gradient RMS by depth, orthogonality) at step 0.
    public let probe: Bool
    /// The run's configuration resolved: sweep values applied, every default filled in, every
    /// catalogue choice as `{"kind": ...}` (stored in `runs.config`, hashed, flattened to params).
    public let config: JSONValue
    /// Labels and free text for the results database (`tags`, `notes`); not part of `config`,
    /// so they change neither its hash nor its params.
    public let tags: [String]
    public let notes: String?
    /// The sweep assignments that produced this run (empty without a sweep).
    public let assignments: [(path: String, value: JSONValue)]
    /// The run's place in an adaptive search (`sweep_mode` successive_halving, hyperband, tpe);
    /// nil for a grid or random sweep's run, which trains to the end.
    public internal(set) var search: SearchTrial? = nil

    /// `training.steps` when the spec leaves it out.
    public static let defaultSteps = 1000

    /// A fresh optimizer (its own state) for a run of this spec.
    public let makeOptimizer: OptimizerChoice

    /// First-order optimizers step on one mini-batch gradient; closure optimizers (L-BFGS, CG,
    /// Newton) re-evaluate the loss on the step's batch as often as their line search needs.
    public enum OptimizerChoice: Sendable {
        case firstOrder(@Sendable () -> any Optimizer)
        case closure(@Sendable () -> any ClosureOptimizer)
    }

    public struct ModelSpec {
        public let kind: String
        public let hidden: [Int]
        public let activation: any Activation
        public let bias: Bool
        public let norm: NormalizationKind
        public let placement: NormPlacement
        public let residual: Bool
        public let weightInit: Initializer?
        public let biasInit: Initializer?
        /// The Transformer's settings (`kind` "transformer"); vocab and max_len are filled from the
        /// task when the spec leaves them out.
        public let transformer: TransformerSettings?
    }

    public struct TrainingSpec {
        public let steps: Int
        public let batchSize: Int
        public let shuffle: Bool
        public let logEvery: Int
        public let evalEvery: Int
        public let clipGradNorm: Double?
        /// Steps between saves of the training state; 0: automatic (`CheckpointPolicy`).
        public let checkpointEvery: Int
        /// Ends the run once validation stops improving; nil (absent from the spec): trains every step.
        public let earlyStopping: EarlyStoppingSpec?
        /// Operand precision of every matrix product of training and evaluation (`MatrixPrecision`).
        public let precision: MatrixPrecision
    }

    /// Which runs of a `benchmark` spec to load: the tuning runs, or the final runs of each
    /// problem and optimizer's best trial (nil: no final runs for that pair).
    public enum BenchmarkPhase {
        case tune
        /// The tuning runs of a benchmark with a cost budget: `trialCount` trials of each problem
        /// and optimizer (`BenchmarkPlan.budgetedTrials`).
        case tuneBudgeted(trialCount: (_ problem: String, _ optimizer: String) -> Int)
        /// The tuning runs of a benchmark whose search widens ranges (`"extend": true`): so far
        /// `trialCount` trials of each problem and optimizer, with its ranges' `extensions`.
        case tuneExtended(trialCount: (_ problem: String, _ optimizer: String) -> Int,
                          extensions: (_ problem: String, _ optimizer: String) -> [BenchmarkPlan.RangeExtension])
        case final(bestTrial: (_ problem: String, _ optimizer: String) -> Int?,
                   referenceTarget: (_ problem: String) -> Double? = { _ in nil })
        /// `final`, with a TPE search's best trials' quantile coordinates (`search.point`).
        case finalAt(bestTrial: (_ problem: String, _ optimizer: String) -> Int?,
                     bestPoint: (_ problem: String, _ optimizer: String) -> [Double]?,
                     referenceTarget: (_ problem: String) -> Double? = { _ in nil },
                     extensions: (_ problem: String, _ optimizer: String) -> [BenchmarkPlan.RangeExtension] = { _, _ in [] })
        /// The selection's reruns (`benchmark.selection`) of each problem and optimizer's
        /// candidate trials (the top k of its tuning runs).
        case select(candidates: (_ problem: String, _ optimizer: String) -> [Int]?,
                    extensions: (_ problem: String, _ optimizer: String) -> [BenchmarkPlan.RangeExtension] = { _, _ in [] })
    }

    /// Whether an optimizer kind takes one loss/gradient evaluation a step (not a closure optimizer).
    public static func isFirstOrder(_ kind: String) -> Bool { Catalogue.optimizers[kind] != nil }

    /// Why a spec file could not be read as text: missing, a folder, not readable, or not UTF-8.
    static func unreadableFileReason(_ file: String) -> String {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isFolder) else { return "no such file" }
        if isFolder.boolValue { return "it is a directory, not a spec file" }
        if !FileManager.default.isReadableFile(atPath: file) { return "permission denied" }
        return "not UTF-8 text"
    }

    /// Reads every run of a spec file: parse, expand the sweep (or a benchmark's runs of
    /// `phase`), decode and check each run.
    /// Throws a `SpecError` naming the file, JSON path and what was expected.
    public static func load(file: String, phase: BenchmarkPhase = .tune) throws -> [ExperimentSpec] {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw SpecError(file: file, path: "", message: "cannot read the file (\(unreadableFileReason(file)))")
        }
        let document = try JSONParser.parse(text, file: file)
        let runs: [(spec: JSONValue, assignments: [(path: String, value: JSONValue)])]
        let trials: [SearchTrial?]
        if let plan = try BenchmarkPlan(document) {
            switch phase {
            case .tune: (runs, trials) = try plan.tuneRunsWithSearch(defaultSteps: defaultSteps, firstOrder: isFirstOrder)
            case .tuneBudgeted(let trialCount):
                (runs, trials) = try plan.tuneRunsWithSearch(defaultSteps: defaultSteps, trialCount: trialCount, firstOrder: isFirstOrder)
            case .final(let bestTrial, let referenceTarget):
                (runs, trials) = (try plan.finalRuns(bestTrial: bestTrial, referenceTarget: referenceTarget), [])
            case let .tuneExtended(trialCount, extensions):
                (runs, trials) = try plan.tuneRunsWithSearch(defaultSteps: defaultSteps, trialCount: trialCount, extensions: extensions,
                                                             firstOrder: isFirstOrder)
            case let .finalAt(bestTrial, bestPoint, referenceTarget, extensions):
                (runs, trials) = (try plan.finalRuns(bestTrial: bestTrial, bestPoint: bestPoint, referenceTarget: referenceTarget,
                                                     extensions: extensions), [])
            case let .select(candidates, extensions):
                (runs, trials) = (try plan.selectionRuns(candidates: candidates, extensions: extensions), [])
            }
        } else {
            let expanded = try Sweep.expandWithSearch(document, defaultSteps: defaultSteps)
            (runs, trials) = (expanded.runs, expanded.trials)
        }
        let cache = FileTask.Cache()
        let isBenchmark = runs.first?.assignments.first?.path == "benchmark.problem"
        var specs: [ExperimentSpec] = []
        var errors: [SpecError] = []
        runs: for (index, run) in runs.enumerated() {
            // After an error, the run is decoded again without the bad value (its default then
            // applies), so one pass reports every independent error, not only the first.
            var root = run.spec
            var removed: [String] = []
            while true {
                let resolved = JSONDocument(root: root, file: file, locationsFrom: document, assignments: run.assignments)
                do {
                    let spec = try ExperimentSpec(resolved, assignments: run.assignments, runIndex: index, runCount: runs.count, files: cache)
                    if removed.isEmpty { specs.append(spec) }
                    continue runs
                } catch var error as SpecError {
                    // A consequence of a removal ("missing required key"), not an error of its own.
                    if removed.contains(where: { $0 == error.resolvedPath || isWithin($0, error.resolvedPath) }) { continue runs }
                    if isBenchmark {
                        // A benchmark run merges a problem and an optimizer onto the spec: name them, as
                        // the bad value may sit in either rather than where the location points.
                        let names = run.assignments.prefix(2).map { JSONWriter.write($0.value) }
                        error = SpecError(file: error.file, path: error.path,
                                          message: error.message + " (in the benchmark run of problem \(names[0]) with optimizer \(names[1]): "
                                              + "see benchmark.problems and benchmark.optimizers)", resolvedPath: error.resolvedPath)
                    }
                    // Once per place: the runs of a sweep share the values they do not sweep.
                    if !errors.contains(where: { ($0.path, $0.line, $0.column) == (error.path, error.line, error.column) }) {
                        errors.append(error)
                    }
                    guard errors.count < maximumReportedErrors, removed.count < maximumReportedErrors,
                          let without = root.removing(path: error.resolvedPath) else { break runs }
                    removed.append(error.resolvedPath)
                    root = without
                }
            }
        }
        // In file order; those without a location last.
        errors = errors.enumerated().sorted { a, b in
            let x = (a.element.line ?? .max, a.element.column ?? .max, a.offset), y = (b.element.line ?? .max, b.element.column ?? .max, b.offset)
            return x < y
        }.map(\.element)
        if var first = errors.first {
            first.others = Array(errors.dropFirst())
            throw first
        }
        for (index, trial) in trials.enumerated() { specs[index].search = trial }
        var searches: [String: [ExperimentSpec]] = [:]
        for spec in specs { if let group = spec.search?.group { searches[group, default: []].append(spec) } }
        for group in searches.keys.sorted() { try checkSearch(searches[group]![0].search!, specs: searches[group]!) }
        return specs
    }

    /// Most errors `load` reports for one spec file.
    public static let maximumReportedErrors = 20

    /// Whether `path` lies inside `ancestor` (`optimizer.lr` inside `optimizer`; everything inside "").
    private static func isWithin(_ path: String, _ ancestor: String) -> Bool {
        ancestor.isEmpty ? !path.isEmpty : path.hasPrefix(ancestor + ".") || path.hasPrefix(ancestor + "[")
    }

    /// A TPE trial proposed at `point` of its search's space: the spec file's run with those assignments.
    public static func searchTrial(file: String, trial: SearchTrial) throws -> ExperimentSpec {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let document = try JSONParser.parse(text, file: file)
        let run: (spec: JSONValue, assignments: [(path: String, value: JSONValue)])
        if let cell = trial.benchmarkCell, let plan = try BenchmarkPlan(document) {
            run = try plan.tuneRun(problem: cell.problem, optimizer: cell.optimizer, trial: trial.trial, point: trial.point)
        } else {
            run = try Sweep.resolve(document, assignments: trial.space.assignments(at: trial.point))
        }
        let resolved = JSONDocument(root: run.spec, file: file, locationsFrom: document, assignments: run.assignments)
        var spec = try ExperimentSpec(resolved, assignments: run.assignments, runIndex: trial.trial, runCount: trial.plan.trials)
        spec.search = trial
        return spec
    }

    /// The bad inputs of an adaptive search that the resolved runs show: a ladder the runs'
    /// steps cannot hold, a pruned search on a closure optimizer or with early stopping.
    static func checkSearch(_ trial: SearchTrial, specs: [ExperimentSpec]) throws {
        let plan = trial.plan
        guard let first = specs.first else { return }
        func error(_ key: String, _ message: String) -> SpecError {
            SpecError(file: first.file, path: plan.path + "." + key, message: message)
        }
        let steps = first.training.steps
        if let minSteps = plan.minSteps, minSteps > steps {
            throw error(plan.kind == .tpe ? "pruner.min_steps" : "min_steps",
                        "expected at most training.steps (\(steps)), got \(minSteps): the first rung must end within the run")
        }
        guard plan.prunes else { return }
        for spec in specs {
            if case .closure = spec.makeOptimizer {
                throw SpecError(file: spec.file, path: "optimizer.kind",
                                message: "a pruned search compares trials at equal steps, but \(spec.optimizerKind) makes several loss evaluations a step (a line search): expected a first-order optimizer, or sweep_mode \"random\"")
            }
            if spec.training.earlyStopping != nil {
                throw SpecError(file: spec.file, path: "training.early_stopping",
                                message: "a pruned search stops trials itself: expected no early_stopping beside it")
            }
        }
        let rungs = plan.rungSteps(maxSteps: steps)
        let measuredEvery = plan.metric.hasPrefix("val_") ? first.training.evalEvery : first.training.logEvery
        let key = plan.metric.hasPrefix("val_") ? "eval_every" : "log_every"
        if measuredEvery == 0 {
            throw SpecError(file: first.file, path: "training.eval_every",
                            message: "the search ranks trials by \(plan.metric), measured only with training.eval_every above 0")
        }
        if let rung = rungs.dropLast().first(where: { $0 % measuredEvery != 0 }) {
            throw error(plan.kind == .tpe ? "pruner.min_steps" : "min_steps",
                        "the rungs end at steps \(rungs.map(String.init).joined(separator: ", ")), but \(plan.metric) is measured every \(measuredEvery) steps (training.\(key)): expected every rung, \(rung) first, to be a multiple of \(measuredEvery)")
        }
    }

    /// `load`, then everything `validate` judges before a run may start: weights files that
    /// would overwrite a `protected` file (the database, a spec), the memory estimate, and the
    /// checks that need the data and model built (`Runner.check`). Throws a `SpecError`.
    public static func loadChecked(file: String, protected: ProtectedPaths = ProtectedPaths(),
                                   phase: BenchmarkPhase = .tune) throws -> [ExperimentSpec] {
        let specs = try load(file: file, phase: phase)
        for spec in specs {
            for (key, path) in [("save_init", spec.checkpoint.saveInit), ("save_final", spec.checkpoint.saveFinal),
                                ("save_best", spec.checkpoint.saveBest), ("save_every", spec.checkpoint.snapshotPath(step: 0))] {
                if let path, let reason = protected.refusal(for: path) {
                    throw SpecError(file: file, path: "checkpoint.\(key)", message: "will not write \(path): \(reason)")
                }
            }
            try ResourceEstimate(spec).check(spec)
            try Runner(spec: spec, pool: .serial).check()
        }
        return specs
    }

    init(_ document: JSONDocument, assignments: [(path: String, value: JSONValue)], runIndex: Int = 0, runCount: Int = 1,
         files: FileTask.Cache = FileTask.Cache()) throws {
        let root = try ObjectReader(document.root, path: "", document: document)
        name = try Self.checkedName(root)
        file = document.file
        seed = UInt64(try root.int("seed", default: 0, range: 0...Int(Int32.max)))
        probe = try root.bool("probe", default: false)
        tags = try Self.decodeTags(root)
        notes = try root.optionalString("notes")
        self.assignments = assignments

        guard let (taskKind, taskReader) = try root.catalogue("task", kinds: SyntheticTasks.names + ["file"]) else {
            throw root.error("task", "missing required key 'task'")
        }
        if taskKind == "file" {
            // The model says what the files hold: token ids for the Transformer, features for the MLP.
            let file = try FileTask.decode(taskReader, specFile: document.file, tokens: Self.modelKind(of: document.root) == "transformer",
                                           cache: files)
            fileData = file.data
            task = file.options
        } else {
            fileData = nil
            task = try Self.decodeTask(kind: taskKind, taskReader)
        }
        checkpoint = try root.object("checkpoint").map {
            try CheckpointSpec.decode($0, specFile: document.file, runIndex: runIndex, runCount: runCount)
        } ?? CheckpointSpec(initFrom: nil, saveInit: nil, saveFinal: nil)

        guard let (modelKind, modelReader) = try root.catalogue("model", default: "mlp", kinds: ["mlp", "transformer"]) else {
            fatalError("defaulted")
        }
        model = try ModelSpec.decode(kind: modelKind, modelReader)

        let training = try root.objectOrEmpty("training")
        let steps = try training.int("steps", default: Self.defaultSteps, range: 1...100_000_000)
        self.training = TrainingSpec(
            steps: steps,
            batchSize: try training.int("batch_size", default: 64, range: 1...1 << 24),
            shuffle: try training.bool("shuffle", default: true),
            logEvery: try training.int("log_every", default: Self.defaultLogEvery(steps: steps), range: 1...Int(Int32.max)),
            evalEvery: try training.int("eval_every", default: 100, range: 0...Int(Int32.max)),
            clipGradNorm: try training.optionalDouble("clip_grad_norm", range: 0...1e12),
            checkpointEvery: try training.int("checkpoint_every", default: 0, range: 0...Int(Int32.max)),
            earlyStopping: try training.object("early_stopping").map(EarlyStoppingSpec.decode),
            precision: MatrixPrecision(rawValue: try training.choice(
                "precision", default: MatrixPrecision.fp32.rawValue, among: MatrixPrecision.allCases.map(\.rawValue)))!)
        try training.finish()
        if let earlyStopping = self.training.earlyStopping {
            // It judges evaluations: without them it would silently never stop.
            if self.training.evalEvery == 0 {
                throw training.error("early_stopping", "watches evaluations, but training.eval_every is 0: set it above 0")
            }
            if task.valSize == 0 {
                throw training.error("early_stopping", "watches \(earlyStopping.metric), but the task has no validation set: set task.val_size above 0")
            }
        } else if checkpoint.saveBest != nil {
            throw root.error("checkpoint.save_best", "the best evaluation is early stopping's: set training.early_stopping (its metric and mode)")
        }

        guard let lossChoice = try root.catalogue("loss", default: nil, kinds: Catalogue.names(Catalogue.losses)) else {
            throw root.error("loss", "missing required key 'loss'")
        }
        loss = try Catalogue.losses[lossChoice.kind]!.make(lossChoice.options)
        try lossChoice.options.finish()

        guard let (optimizerKind, optimizerReader) = try root.catalogue(
            "optimizer", kinds: Catalogue.names(Catalogue.optimizers) + Catalogue.names(Catalogue.closureOptimizers))
        else { throw root.error("optimizer", "missing required key 'optimizer'") }
        self.optimizerKind = optimizerKind
        lr = try optimizerReader.double("lr", default: Catalogue.defaultLearningRates[optimizerKind] ?? 1e-3, range: 0...1e6)
        if let firstOrder = Catalogue.optimizers[optimizerKind] {
            makeOptimizer = .firstOrder(try firstOrder(optimizerReader))
        } else {
            makeOptimizer = .closure(try Catalogue.closureOptimizers[optimizerKind]!(optimizerReader))
        }
        try optimizerReader.finish()

        if let scheduleChoice = try root.catalogue("schedule", default: "constant", kinds: Catalogue.names(Catalogue.schedules)) {
            scheduleKind = scheduleChoice.kind
            schedule = try Catalogue.schedules[scheduleChoice.kind]!.make(scheduleChoice.options, steps)
            try scheduleChoice.options.finish()
        } else {
            scheduleKind = "constant"
            schedule = .constant
        }
        constraints = try ConstraintSpec.decodeList(root)
        // A benchmark run's tag (BenchmarkPlan): kept in the config, so its params name the run's part.
        if let tag = try root.object("benchmark") {
            for key in ["problem", "optimizer", "role", "trial", "metric", "goal", "target", "space", "select", "selection", "study", "studies"] { _ = tag.value(key) }
            if let test = try tag.object("test") {
                testSplit = (try test.int("size", default: 0, range: 0...1_000_000), UInt64(try test.int("seed", default: 0, range: 0...Int(Int32.max))))
                try test.finish()
            }
            try tag.finish()
        }
        // The sweep keys were expanded away before this run; named so a typo near them suggests them.
        _ = root.has("sweep") || root.has("sweep_mode")
        try root.finish()
        guard case .object(var resolved) = root.resolved else { fatalError("an object reader resolves to an object") }
        resolved["tags"] = nil
        resolved["notes"] = nil
        config = .object(resolved)

        let sequenceTask = task.isTokenSequence
        if sequenceTask && model.transformer == nil {
            throw root.error("model", "task '\(task.kind)' is a token sequence: use \"model\": {\"kind\": \"transformer\", ...}")
        }
        if !sequenceTask && model.transformer != nil {
            throw root.error("task", "the transformer reads token sequences: use one of \(SyntheticTasks.registry.filter(\.isSequence).map(\.name).sorted().joined(separator: ", "))")
        }
        try Self.checkLoss(loss, fits: task, at: root)
        if case .closure = makeOptimizer, self.training.clipGradNorm != nil {
            throw root.error("training", "clip_grad_norm would break the line search of '\(optimizerKind)'; remove it")
        }
    }

    /// Most training-metric rows the default `log_every` keeps per metric and run (plus the first step).
    public static let defaultLoggedSteps = 1000

    /// The default `log_every`: every step for runs of up to `defaultLoggedSteps` steps, else
    /// ⌈steps / 1000⌉, so a long run keeps at most about 1,000 rows per metric (a 100,000-step
    /// run every 100th step; the first and the last are always logged).
    public static func defaultLogEvery(steps: Int) -> Int {
        max(1, (steps + defaultLoggedSteps - 1) / defaultLoggedSteps)
    }

    /// The longest experiment name, in characters: names become report file names, which the
    /// file system limits to 255 bytes.
    public static let maximumNameLength = 200

    /// `name`, refused when it holds a control character (a NUL would cut it where C strings
    /// end, an ESC would drive the terminal that lists it) or is longer than `maximumNameLength`.
    static func checkedName(_ root: ObjectReader) throws -> String {
        let name = try root.string("name")
        if let control = name.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            throw root.error("name", "expected a name without control characters, found U+\(String(format: "%04X", control.value))")
        }
        guard name.count <= maximumNameLength else {
            throw root.error("name", "expected a name of at most \(maximumNameLength) characters, got \(name.count)")
        }
        return name
    }

    /// `tags`: a list of distinct `RunTag`s, sorted; none when missing.
    static func decodeTags(_ root: ObjectReader) throws -> [String] {
        guard let value = root.value("tags"), value != .null else { return [] }
        guard case .array(let elements) = value else { throw root.error("tags", "expected a list of tags, got \(value.typeName)") }
        let tags = try elements.enumerated().map { index, element -> String in
            guard case .string(let tag) = element else { throw root.error("tags[\(index)]", "expected a string, got \(element.typeName)") }
            if let problem = RunTag.problem(tag) { throw root.error("tags[\(index)]", problem) }
            return tag
        }
        return Set(tags).sorted()
    }

    /// `model`'s kind as written (a name or an object's `kind`), before the model is decoded.
    static func modelKind(of root: JSONValue) -> String? {
        guard case .object(let spec) = root else { return nil }
        switch spec["model"] {
        case .string(let name)?: return name
        case .object(let model)?: if case .string(let kind)? = model["kind"] { return kind } else { return nil }
        default: return nil
        }
    }

    /// The loss must be able to read the task's targets, and per-class tables must match the
    /// number of classes: caught here, before anything trains or touches the database.
    static func checkLoss(_ loss: any Loss, fits task: TaskOptions, at root: ObjectReader) throws {
        if task.isTokenSequence {
            // Only cross-entropy skips the unscored positions (target -100) of a sequence task.
            guard let crossEntropy = loss as? CrossEntropyLoss else {
                throw root.error("loss", "sequence task '\(task.kind)' is trained with cross_entropy (it skips the unscored positions); '\(loss.name)' cannot")
            }
            if crossEntropy.labelSmoothing > 0 {
                throw root.error("loss", "label_smoothing is not supported on sequence tasks yet (its smoothing term would count unscored positions)")
            }
            return
        }
        // The tasks that produce the targets this loss reads.
        var suitable = SyntheticTasks.registry.filter { $0.kind.lossTargets.contains(loss.targetKind) }.map(\.name)
        let taskTargets: LossTargetKind = task.hasClassTargets ? .classes : .real
        if task.kind == "file" {
            if [taskTargets, taskTargets == .classes ? .noiseSamples : .real].contains(loss.targetKind) {
                suitable.append(task.kind)
            } else {
                suitable.append("file with \(loss.targetKind == .classes ? "integer" : "float") targets")
            }
        }
        if !suitable.contains(task.kind) {
            throw root.error("loss", "loss '\(loss.name)' reads \(loss.targetKind.rawValue) targets, which task '\(task.kind)' does not produce; use \(suitable.map { "'\($0)'" }.joined(separator: " or "))")
        }
        if loss.pairLabel == .order && (task.outputDim ?? task.defaultInteger("output_dim")) != 1 {
            throw root.error("loss", "\(loss.name) compares one score per item: set task.output_dim to 1")
        }
        guard taskTargets == .classes else { return }
        guard let classes = task.classes ?? task.defaultInteger("classes") else { return }
        if let focal = loss as? FocalLoss, case let .perClass(weights)? = focal.alpha, weights.count != classes {
            throw root.error("loss", "focal: alpha has \(weights.count) per-class weights, but the task has \(classes) classes")
        }
        if let nce = loss as? NCELoss, case let .unigram(weights) = nce.noise, weights.count != classes {
            throw root.error("loss", "nce: the noise table has \(weights.count) weights, but the task has \(classes) classes")
        }
    }

    static func decodeTask(kind: String, _ r: ObjectReader) throws -> TaskOptions {
        var options = TaskOptions(kind: kind)
        options.trainSize = try r.int("train_size", default: TaskOptions.defaultTrainSize, range: TaskOptionRanges.trainSize)
        options.valSize = try r.int("val_size", default: TaskOptions.defaultValSize, range: TaskOptionRanges.valSize)
        options.inputDim = try r.optionalInt("input_dim", range: TaskOptionRanges.width)
        options.outputDim = try r.optionalInt("output_dim", range: TaskOptionRanges.width)
        options.classes = try r.optionalInt("classes", range: TaskOptionRanges.classes)
        options.noise = try r.optionalDouble("noise", range: 0...1e6)
        // Task-specific options (`spread`, `teacher_hidden`, `seq_len`, ...) as the task's descriptor
        // lists them, checked against their ranges now: the resource estimate computes with
        // them before the task is built.
        let standard: Set = ["kind", "train_size", "val_size", "input_dim", "output_dim", "classes", "noise"]
        let documented = options.descriptor?.options ?? []
        for key in documented.map(\.key) where !standard.contains(key) {
            switch TaskOptionRanges.byKey[key] {
            case .integer(let range)?: options.extra[key] = try r.optionalInt(key, range: range).map(Double.init)
            case .number(let range)?: options.extra[key] = try r.optionalDouble(key, range: range)
            case nil: options.extra[key] = try r.optionalDouble(key)
            }
        }
        try r.finish()
        // The stored config names every size the task uses, defaults included.
        for option in documented where !r.keys.contains(option.key) {
            r.resolve(option.key, option.defaultValue.json)
        }
        return options
    }
}

extension TaskOption.Default {
    /// As the stored config holds it: a number, or the text of a derived default.
    var json: JSONValue {
        switch self {
        case .integer(let v): return .number(Double(v))
        case .number(let v): return .number(v)
        case .derived(let text): return .string(text)
        }
    }
}
