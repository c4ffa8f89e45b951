import Foundation
import TrainLabKernels
import TrainLabAutodiff
import TrainLabData
import TrainLabModels
import TrainLabOptim
import TrainLabSpec
/// How a run ended.
public enum RunEnd: String, Sendable {
    /// `paused`: stopped after the step an adaptive search asked for (`pausingAfter`), its state saved.
    case completed, diverged, interrupted, paused
}

public struct RunResult {
    public let end: RunEnd
    /// The update at which the loss became non-finite or exploded (diverged runs).
    public let divergedStep: Int?
    /// The update after whose evaluation `training.early_stopping` ended the run (completed runs
    /// that stopped before `training.steps`).
    public let stoppedStep: Int?
    public let finalTrainLoss: Double
    public let finalValidationLoss: Double?
    public let finalValidationAccuracy: Double?
    public let seconds: Double
    /// Where this process's part of the run spent its wall time.
    public let phases: RunPhaseSeconds
}

/// Where a run's wall time went, in seconds, measured by the runner around each phase (and by
/// the command line around its own database calls, which it adds to `store`): what
/// `trainlab bench sweep` prints.
public struct RunPhaseSeconds: Sendable {
    /// Building the task data (generated, loaded, or taken from a `TaskDataCache`).
    public var data = 0.0
    /// The training steps: forward, backward, update (the `time` metric's seconds).
    public var training = 0.0
    /// Validation passes, and building the evaluator's batches.
    public var evaluation = 0.0
    /// Logging metrics and writing them, saving training state and weights files; the command
    /// line adds claiming and finishing the run.
    public var store = 0.0
    /// The whole run, wall clock.
    public var total = 0.0

    public init() {}

    /// The rest of `total`: the model's initialization, the optimizer's set-up, the loop's own work.
    public var other: Double { max(0, total - data - training - evaluation - store) }

    /// Element-wise sums, for a sweep's totals.
    public static func + (a: RunPhaseSeconds, b: RunPhaseSeconds) -> RunPhaseSeconds {
        var sum = RunPhaseSeconds()
        sum.data = a.data + b.data
        sum.training = a.training + b.training
        sum.evaluation = a.evaluation + b.evaluation
        sum.store = a.store + b.store
        sum.total = a.total + b.total
        return sum
    }
}

/// Seconds since `start` (a `DispatchTime` uptime in nanoseconds).
public func seconds(since start: UInt64) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Receives progress of a run (the command line draws it; tests ignore it).
public protocol ProgressObserver {
    func update(step: Int, of total: Int, loss: Double, stepsPerSecond: Double)
    /// The run continues from a saved state after update `step`: the steps up to it were trained
    /// earlier, and count in no rate measured now.
    func resumed(afterStep step: Int)
    /// A validation metric, as it is logged (`val_loss`, `val_accuracy`, `val_ndcg`).
    func validated(step: Int, name: String, value: Double)
}

extension ProgressObserver {
    public func resumed(afterStep step: Int) {}
    public func validated(step: Int, name: String, value: Double) {}
}

/// Trains one `ExperimentSpec` and logs its metrics (docs/interface.md names) to a `MetricsSink`:
///   train_loss, grad_norm, lr — of update k, before it, at step k (1-based), every log_every;
///   val_loss, val_accuracy    — after update k, every eval_every, at step 0 and at the end;
///   stopped_step              — k, at step k, when early stopping ended the run after update k.
///   evals, time               — with train_loss: loss/gradient evaluations so far (one per
///                               update, every line-search evaluation of L-BFGS, CG, Newton) and
///                               training seconds so far (evaluation, logging and saves excluded).
///   gap                       — with train_loss: train_loss − f*, where the task knows the exact
///                               optimum f* of this model on the training set (`gapReference`).
///   constraint/KIND/multiplier, constraint/KIND/violation — with train_loss, per `constraints`
///                               entry: λ used by update k and g(θ) before it. train_loss stays
///                               the data loss L; the optimizer steps on L plus the penalty.
public final class Runner {
    public let spec: ExperimentSpec
    public let pool: ThreadPool
    /// Where the run takes its task data from when another run of the sweep made them already.
    public let dataCache: TaskDataCache?

    /// A loss above this multiple of max(first loss, 1), or non-finite, ends the run as diverged.
    public static let explosionFactor = 1e4

    public init(spec: ExperimentSpec, pool: ThreadPool = .shared, dataCache: TaskDataCache? = nil) {
        self.spec = spec
        self.pool = pool
        self.dataCache = dataCache
    }

    /// Builds the data and the model (the part that can fail on bad options).
    public func prepare() throws -> (TaskData, any LayerObservingModel) {
        try prepare(task: spec.task)
    }

    /// `prepare` for given task options (`check` builds a few rows only: the options and the
    /// model's sizes are what it judges, not the data).
    func prepare(task: TaskOptions) throws -> (TaskData, any LayerObservingModel) {
        let data = try makeData(task: task)
        return (data, try makeModel(for: data))
    }

    /// The run's data: the spec's files, or the synthetic task generated from its seed.
    func makeData(task: TaskOptions) throws -> TaskData {
        var task = task
        if let split = spec.testSplit {
            task.testSize = split.size > 0 ? split.size : task.valSize
            task.testSeed = split.seed
        }
        return try spec.fileData ?? SyntheticTasks.make(task, seed: spec.seed, pool: pool)
    }

    /// The model, initialized from the run's seed, sized by the data.
    func makeModel(for data: TaskData) throws -> any LayerObservingModel {
        let seed = spec.seed &+ 0x6d6f_64656c
        if let settings = spec.model.transformer {
            let config = settings.resolved(vocab: data.outputDim, sequenceLength: data.inputDim)
            if let message = config.validationError() {
                throw SpecError(file: spec.file, path: "model", message: message)
            }
            if config.vocab < data.outputDim {
                throw SpecError(file: spec.file, path: "model.vocab", message: "the task uses \(data.outputDim) tokens, more than vocab \(config.vocab)")
            }
            if config.maxLength < data.inputDim && [.learned, .sinusoidal].contains(config.positional) {
                throw SpecError(file: spec.file, path: "model.max_len", message: "the task's sequences have \(data.inputDim) tokens, more than max_len \(config.maxLength)")
            }
            let model = Transformer(config, seed: seed)
            Parameter.packContiguously(model.parameters)
            return model
        }
        let model = MLP(inputs: data.inputDim, hidden: spec.model.hidden, outputs: data.outputDim,
                        activation: spec.model.activation, bias: spec.model.bias,
                        norm: spec.model.norm, placement: spec.model.placement, residual: spec.model.residual,
                        weightInit: spec.model.weightInit, biasInit: spec.model.biasInit,
                        seed: seed)
        Parameter.packContiguously(model.parameters)
        return model
    }

    /// Everything about a run that can only be checked with its data and model built — task
    /// options (e.g. an odd seq_len for `copy`), the Transformer's sizes against the task, a weights
    /// file that must fit, a closure optimizer's size limit — reported as bad input naming the
    /// spec, before anything trains or touches the database.
    public func check() throws {
        let built: (TaskData, any LayerObservingModel)
        var sample = spec.task
        if sample.kind != "modular_addition" {  // whose sizes are bounded by the modulus: checked in full
            sample.trainSize = min(sample.trainSize, 8)
            sample.valSize = min(sample.valSize, 4)
        }
        do {
            built = try prepare(task: sample)
        } catch let error as TaskError {
            throw SpecError(file: spec.file, path: "", message: error.message)
        }
        let (data, model) = built
        // The sample is small; the full splits must still fit the data module's limit.
        let width = data.train.inputs.count / max(data.train.count, 1)
        for (key, rows) in [("train_size", spec.task.trainSize), ("val_size", spec.task.valSize)] {
            let (elements, overflow) = rows.multipliedReportingOverflow(by: width)
            if overflow || elements > TaskOptionRanges.maxElements {
                throw SpecError(file: spec.file, path: "task.\(key)",
                                message: "\(rows) rows of \(width) input values would be \(rows) × \(width) elements, more than \(TaskOptionRanges.maxElements)")
            }
        }
        if let initFrom = spec.checkpoint.initFrom {
            try Checkpoints.load(initFrom, into: model, specFile: spec.file)
        }
        // What `Evaluator` computes: accuracy for class ids, NDCG for ranking lists.
        let evaluated = ["val_loss"] + ([.classification, .sequence].contains(data.kind) ? ["val_accuracy"] : [])
            + (spec.loss.targetKind == .lists ? ["val_ndcg"] : [])
        if let plan = spec.search?.plan {
            let logged = (spec.task.valSize > 0 && spec.training.evalEvery > 0 ? evaluated : []) + ["train_loss"]
            if !logged.contains(plan.metric) {
                throw SpecError(file: spec.file, path: plan.path + ".metric",
                                message: "the search ranks trials by \(plan.metric), but this run logs \(logged.joined(separator: ", ")) of the metrics a search can rank by: expected one of those")
            }
        }
        if let metric = spec.training.earlyStopping?.metric {
            if !evaluated.contains(metric) {
                throw SpecError(file: spec.file, path: "training.early_stopping.metric",
                                message: "this run's evaluations give \(evaluated.joined(separator: ", ")), not \(metric)")
            }
        }
        guard case let .closure(make) = spec.makeOptimizer else { return }
        do {
            try make().validate(parameterCount: model.parameters.reduce(0) { $0 + $1.value.count })
        } catch {
            throw SpecError(file: spec.file, path: "optimizer.kind", message: "\(error)")
        }
    }

    /// Trains the run; with `resumingFrom` (a state saved through `metrics.checkpoint` by this
    /// spec's run), continues after the state's step, and every metric it logs is the one the
    /// uninterrupted run logs there. When `isCancelled` turns true, the state after the last
    /// update is saved and the run ends `interrupted`.
    ///
    /// With `pausingAfter` k below `training.steps` (an adaptive search's rung), the run stops
    /// after update k, its metrics there logged as always, saves its state after k and ends
    /// `paused`; resumed from that state it continues as if it had never stopped, so a trial
    /// promoted rung by rung logs what the run trained straight through logs. A state saved
    /// at or after k ends the run `paused` at once, training nothing.
    public func run(metrics: MetricsSink, progress: ProgressObserver? = nil,
                    isCancelled: () -> Bool = { false }, resumingFrom savedState: [UInt8]? = nil,
                    pausingAfter pauseStep: Int? = nil) throws -> RunResult {
        let start = DispatchTime.now().uptimeNanoseconds
        var phases = RunPhaseSeconds()
        /// Runs `body`, adding its wall time to the phase at `keyPath`.
        func timed<T>(_ phase: WritableKeyPath<RunPhaseSeconds, Double>, _ body: () throws -> T) rethrows -> T {
            let phaseStart = DispatchTime.now().uptimeNanoseconds
            defer { phases[keyPath: phase] += seconds(since: phaseStart) }
            return try body()
        }
        let data = try timed(\.data) {
            guard let dataCache, let key = spec.taskDataKey else { return try makeData(task: spec.task) }
            return try dataCache.data(for: key) { try makeData(task: spec.task) }
        }
        let model = try makeModel(for: data)
        let weightsMetadata = ["experiment": spec.name, "seed": String(spec.seed), "format": "pt"]
        if savedState == nil {
            if let initFrom = spec.checkpoint.initFrom { try Checkpoints.load(initFrom, into: model, specFile: spec.file) }
            if let path = spec.checkpoint.saveInit { try timed(\.store) { try Checkpoints.save(model, to: path, metadata: weightsMetadata) } }
        }
        let parameters = model.parameters
        var optimizer: (any Optimizer)? = nil
        var closureOptimizer: (any ClosureOptimizer)? = nil
        let resumable: any ResumableOptimizer
        switch spec.makeOptimizer {
        case let .firstOrder(make):
            let made = make()
            optimizer = made
            resumable = made
        case let .closure(make):
            let made = make()
            try made.validate(parameterCount: parameters.reduce(0) { $0 + $1.value.count })
            closureOptimizer = made
            resumable = made
        }
        let training = spec.training
        let batchSize = min(training.batchSize, data.train.count)
        var sampler = BatchSampler(count: data.train.count, batchSize: batchSize, shuffle: training.shuffle,
                                   seed: spec.seed &+ 0x6461_7461)
        let batch = BatchBuffers(data: data.train, rows: batchSize, task: data, loss: spec.loss)
        let tape = Tape(pool: pool, precision: training.precision)
        let constraints = spec.constraints.map(WeightNormConstraint.init)
        let optimumLoss = Self.gapReference(spec: spec, data: data, batchSize: batchSize)
        let evaluator = timed(\.evaluation) {
            data.validation.map { Evaluator(data: $0, task: data, model: model, loss: spec.loss, precision: training.precision, pool: pool) }
        }

        var lastValidation: (loss: Double, accuracy: Double?)? = nil
        var firstLoss: Double? = nil
        var lastLoss = Double.nan
        /// Seconds trained before this process resumed the run.
        var earlierSeconds = 0.0
        var firstStep = 1
        var earlyStopping = training.earlyStopping.map(EarlyStopping.init)
        /// Cumulative cost of training (`evals`, `time`), for time-to-target comparisons.
        var evaluationCount = 0.0
        var trainingSeconds = 0.0

        /// The state after update `step`: all the later updates and metrics depend on (the
        /// schedule is a function of the step; the data and the evaluator hold none).
        func saveState(after step: Int) throws {
            var archive = Self.stateArchive(model: model, optimizer: resumable, sampler: sampler)
            archive.set("run.step", integer: step)
            archive.set("run.losses", doubles: [firstLoss ?? .nan, lastLoss])
            archive.set("run.first_loss_known", integer: firstLoss == nil ? 0 : 1)
            if let lastValidation {
                archive.set("run.last_validation", doubles: [lastValidation.loss, lastValidation.accuracy ?? .nan])
                archive.set("run.last_validation_has_accuracy", integer: lastValidation.accuracy == nil ? 0 : 1)
            }
            archive.set("run.seconds", doubles: [earlierSeconds + Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9])
            earlyStopping?.save(to: &archive)
            archive.set("run.cost", doubles: [evaluationCount, trainingSeconds])
            for constraint in constraints { constraint.save(to: &archive) }
            try metrics.checkpoint(step: step, state: archive.encoded())
        }

        if let savedState {
            let archive = try StateArchive(decoding: savedState)
            firstStep = try archive.integer("run.step") + 1
            for (name, tensor) in Checkpoints.tensors(of: model) { try archive.restore(tensor, from: "model." + name) }
            try resumable.restoreState(parameters, from: archive)
            try sampler.restoreState(from: archive)
            let losses = try archive.doubles("run.losses", count: 2)
            firstLoss = try archive.integer("run.first_loss_known") == 1 ? losses[0] : nil
            lastLoss = losses[1]
            if archive.has("run.last_validation") {
                let validation = try archive.doubles("run.last_validation", count: 2)
                lastValidation = (validation[0], try archive.integer("run.last_validation_has_accuracy") == 1 ? validation[1] : nil)
            }
            earlierSeconds = try archive.doubles("run.seconds", count: 1)[0]
            try earlyStopping?.restore(from: archive)
            if archive.has("run.cost") {
                let cost = try archive.doubles("run.cost", count: 2)
                (evaluationCount, trainingSeconds) = (cost[0], cost[1])
            }
            for constraint in constraints { try constraint.restore(from: archive) }
            progress?.resumed(afterStep: firstStep - 1)
        }

        func evaluate(at step: Int) throws {
            guard let evaluator, training.evalEvery > 0 else { return }
            let v = timed(\.evaluation) { evaluator.evaluate() }
            timed(\.store) {
                metrics.log(step: step, name: "val_loss", value: v.loss)
                if let accuracy = v.accuracy { metrics.log(step: step, name: "val_accuracy", value: accuracy) }
                if let ndcg = v.ndcg { metrics.log(step: step, name: "val_ndcg", value: ndcg) }
                metrics.flush()
            }
            lastValidation = (v.loss, v.accuracy)
            progress?.validated(step: step, name: "val_loss", value: v.loss)
            if let accuracy = v.accuracy { progress?.validated(step: step, name: "val_accuracy", value: accuracy) }
            if let ndcg = v.ndcg { progress?.validated(step: step, name: "val_ndcg", value: ndcg) }
            let watchable = ["val_loss": v.loss, "val_accuracy": v.accuracy, "val_ndcg": v.ndcg]
            guard var stopping = earlyStopping, let value = watchable[stopping.spec.metric] ?? nil else { return }
            let isBest = stopping.record(value, step: step)
            earlyStopping = stopping
            if isBest, let path = spec.checkpoint.saveBest {
                try timed(\.store) {
                    try Checkpoints.save(model, to: path, metadata: weightsMetadata.merging(
                        ["step": String(step), stopping.spec.metric: String(value)]) { $1 })
                }
            }
        }
        if savedState == nil { try evaluate(at: 0) }
        if spec.probe && savedState == nil {
            // The probe sees the first batch without consuming it from the sampler.
            var peek = sampler
            batch.load(peek.next())
            InitProbe.run(model: model, batch: batch, loss: spec.loss, precision: training.precision, pool: pool, metrics: metrics)
        }

        var end = RunEnd.completed
        var divergedStep: Int? = nil
        var stoppedStep: Int? = nil
        var lastReport = start
        var policy = CheckpointPolicy(every: training.checkpointEvery, now: start)
        let pause = pauseStep.flatMap { $0 < training.steps ? $0 : nil }
        if let pause, firstStep > pause {
            phases.total = seconds(since: start)
            return RunResult(end: .paused, divergedStep: nil, stoppedStep: nil, finalTrainLoss: lastLoss,
                             finalValidationLoss: lastValidation?.loss, finalValidationAccuracy: lastValidation?.accuracy ?? nil,
                             seconds: earlierSeconds + phases.total, phases: phases)
        }
        for step in firstStep..<(training.steps + 1) {
            if isCancelled() {
                try timed(\.store) { try saveState(after: step - 1) }
                end = .interrupted
                break
            }
            let stepStart = DispatchTime.now().uptimeNanoseconds
            batch.load(sampler.next())
            let lr = spec.schedule.rate(step: step, total: training.steps, lr: spec.lr)
            var gradientNorm = Double.nan
            let multipliers = constraints.map(\.multiplier)
            // The first evaluation, at the parameters update `step` starts from: what is logged and what λ's step uses.
            var first = StepEvaluation(objective: .nan, loss: .nan, violations: [])
            if let closureOptimizer {
                // L-BFGS, CG, Newton: the same batch for every evaluation of this step; the
                // logged loss and gradient norm are those at the start of the step.
                var evaluations = 0
                _ = closureOptimizer.step(parameters, lr: Float(lr)) {
                    let evaluation = forwardBackward(model: model, parameters: parameters, batch: batch, tape: tape,
                                                     constraints: constraints)
                    if evaluations == 0 {
                        gradientNorm = Gradients.globalNorm(parameters, pool: pool)
                        first = evaluation
                    }
                    evaluations += 1
                    return evaluation.objective
                }
                evaluationCount += Double(evaluations)
            } else {
                evaluationCount += 1
                first = forwardBackward(model: model, parameters: parameters, batch: batch, tape: tape, constraints: constraints)
            }
            let lossValue = Double(first.loss)
            lastLoss = lossValue
            if firstLoss == nil { firstLoss = lossValue }
            if !lossValue.isFinite || lossValue > Self.explosionFactor * max(firstLoss!, 1) {
                phases.training += seconds(since: stepStart)
                timed(\.store) { metrics.log(step: step, name: "train_loss", value: lossValue) }
                end = .diverged
                divergedStep = step
                break
            }
            if let optimizer {
                gradientNorm = training.clipGradNorm.map { Gradients.clip(parameters, maxNorm: $0, pool: pool) }
                    ?? Gradients.globalNorm(parameters, pool: pool)
                optimizer.step(parameters, lr: Float(lr))
            }
            for (constraint, violation) in zip(constraints, first.violations) { constraint.updateMultiplier(violation: violation) }
            let stepSeconds = seconds(since: stepStart)
            trainingSeconds += stepSeconds
            phases.training += stepSeconds
            func logTraining() {
                metrics.log(step: step, name: "train_loss", value: lossValue)
                metrics.log(step: step, name: "grad_norm", value: gradientNorm)
                metrics.log(step: step, name: "lr", value: lr)
                metrics.log(step: step, name: "evals", value: evaluationCount)
                metrics.log(step: step, name: "time", value: trainingSeconds)
                if let optimumLoss { metrics.log(step: step, name: "gap", value: lossValue - optimumLoss) }
                for (index, constraint) in constraints.enumerated() {
                    metrics.log(step: step, name: constraint.spec.multiplierMetric, value: multipliers[index])
                    metrics.log(step: step, name: constraint.spec.violationMetric, value: first.violations[index])
                }
            }
            // Step 1 always: the initial loss is the reference every curve starts from.
            let logsTraining = step % training.logEvery == 0 || step == 1 || step == training.steps
            if logsTraining { timed(\.store, logTraining) }
            let evaluates = training.evalEvery > 0 && (step % training.evalEvery == 0 || step == training.steps)
            if evaluates { try evaluate(at: step) }
            let stops = evaluates && step < training.steps && earlyStopping?.shouldStop == true
            if stops {
                // The step early stopping ends at is the run's last: its training metrics are logged as the last step's are.
                timed(\.store) {
                    if !logsTraining { logTraining() }
                    metrics.log(step: step, name: "stopped_step", value: Double(step))
                }
                stoppedStep = step
            }
            // A metric that cannot be written (a full disk) ends the run: it would be lost.
            if let failure = metrics.failure { throw failure }
            if let path = spec.checkpoint.snapshotPath(step: step) {
                try timed(\.store) {
                    try Checkpoints.save(model, to: path, metadata: weightsMetadata.merging(["step": String(step)]) { $1 })
                }
            }
            if stops { break }
            if step == pause {
                try timed(\.store) { try saveState(after: step) }
                end = .paused
                break
            }
            if step < training.steps && policy.isDue(step: step, now: DispatchTime.now().uptimeNanoseconds) {
                let saveStart = DispatchTime.now().uptimeNanoseconds
                try saveState(after: step)
                let saveEnd = DispatchTime.now().uptimeNanoseconds
                policy.saved(started: saveStart, now: saveEnd)
                phases.store += Double(saveEnd - saveStart) / 1e9
            }
            if let progress {
                let now = DispatchTime.now().uptimeNanoseconds
                if now - lastReport > 100_000_000 || step == training.steps {
                    let rate = Double(step - firstStep + 1) / (Double(now - start) / 1e9)
                    progress.update(step: step, of: training.steps, loss: lossValue, stepsPerSecond: rate)
                    lastReport = now
                }
            }
        }
        // The held-out test split, once, on the final weights: a run that diverged has none.
        if end == .completed, let test = data.test {
            let v = timed(\.evaluation) {
                Evaluator(data: test, task: data, model: model, loss: spec.loss, precision: training.precision, pool: pool).evaluate()
            }
            let step = stoppedStep ?? training.steps
            timed(\.store) {
                metrics.log(step: step, name: "test_loss", value: v.loss)
                if let accuracy = v.accuracy { metrics.log(step: step, name: "test_accuracy", value: accuracy) }
                if let ndcg = v.ndcg { metrics.log(step: step, name: "test_ndcg", value: ndcg) }
                metrics.flush()
            }
            if let failure = metrics.failure { throw failure }
        }
        if let path = spec.checkpoint.saveFinal, end != .paused { try timed(\.store) { try Checkpoints.save(model, to: path, metadata: weightsMetadata) } }
        phases.total = seconds(since: start)
        // A diverged run's last validation predates the divergence: it is not the run's result.
        let finalValidation = end == .diverged ? nil : lastValidation
        return RunResult(end: end, divergedStep: divergedStep, stoppedStep: stoppedStep, finalTrainLoss: lastLoss,
                         finalValidationLoss: finalValidation?.loss, finalValidationAccuracy: finalValidation?.accuracy ?? nil,
                         seconds: earlierSeconds + phases.total, phases: phases)
    }
}

/// When the runner saves the training state between steps: every `every` steps, or with
/// `every` = 0 (automatic) once the time since the last save is at least
/// max(`minimumInterval`, 100 × that save's duration), so saving costs at most 1% of the time
/// and a run whose saves take under 0.6 s loses at most a minute to a kill.
struct CheckpointPolicy {
    static let minimumInterval = 60.0
    let every: Int
    private var lastSave: UInt64
    private var lastCost = 0.0

    init(every: Int, now: UInt64) {
        self.every = every
        lastSave = now
    }

    func isDue(step: Int, now: UInt64) -> Bool {
        if every > 0 { return step % every == 0 }
        return Double(now - lastSave) / 1e9 >= max(Self.minimumInterval, 100 * lastCost)
    }

    mutating func saved(started: UInt64, now: UInt64) {
        lastSave = now
        lastCost = Double(now - started) / 1e9
    }
}

extension Runner {
    /// The bulk of a training state: the model's tensors (`model.` + docs/interface.md's names), the
    /// optimizer's and the sampler's state.
    static func stateArchive(model: any Model, optimizer: any ResumableOptimizer, sampler: BatchSampler) -> StateArchive {
        var archive = StateArchive()
        for (name, tensor) in Checkpoints.tensors(of: model) { archive.set("model." + name, floats: tensor.scalars) }
        optimizer.saveState(model.parameters, to: &archive)
        sampler.saveState(to: &archive)
        return archive
    }

    /// One evaluation of the training objective: the loss plus each constraint's penalty.
    struct StepEvaluation {
        /// What the optimizer minimizes (and back-propagated): the loss plus the penalties.
        var objective: Float
        /// The data loss alone (train_loss).
        var loss: Float
        /// g(θ) of each constraint, in `spec.constraints` order.
        var violations: [Double]
    }

    /// Zeroes the gradients, records forward, loss and the constraints' penalties on a fresh
    /// tape step, back-propagates, and returns the values.
    func forwardBackward(model: any Model, parameters: [Parameter], batch: BatchBuffers, tape: Tape,
                         constraints: [WeightNormConstraint] = []) -> StepEvaluation {
        tape.reset()
        for p in parameters { p.zeroGradient() }
        let prediction = model.forward(tape.constant(batch.inputs), on: tape)
        let loss = spec.loss(prediction, batch.targets, on: tape)
        guard !constraints.isEmpty else {
            tape.backward(from: loss)
            let value = tape.value(loss)[0]
            return StepEvaluation(objective: value, loss: value, violations: [])
        }
        let weights = WeightNormConstraint.constrainedParameters(parameters).map { tape.parameter($0) }
        var objective = loss
        var violations: [Variable] = []
        for constraint in constraints {
            let (penalty, violation) = constraint.record(weights: weights, on: tape)
            objective = tape.add(objective, penalty)
            violations.append(violation)
        }
        tape.backward(from: objective)
        return StepEvaluation(objective: tape.value(objective)[0], loss: tape.value(loss)[0],
                              violations: violations.map { Double(tape.value($0)[0]) })
    }

    /// f* for `gap`: the task's exact least-squares optimum (`notes["optimum_loss"]`, the
    /// minimum of mean (xW + b − y)² over W, b on the training set), used only when it is the
    /// optimum of this run's objective — an MLP with `hidden: []` and bias (one linear layer),
    /// the `mse` loss, and full batch (batch_size ≥ train_size, so train_loss is the loss of the
    /// whole training set); otherwise nil and no gap is logged.
    static func gapReference(spec: ExperimentSpec, data: TaskData, batchSize: Int) -> Double? {
        guard let optimum = data.notes["optimum_loss"], spec.model.transformer == nil, spec.model.hidden.isEmpty,
              spec.model.bias, spec.loss is MSELoss, batchSize == data.train.count else { return nil }
        return optimum
    }
}
