import Foundation
import TrainLabKernels
import TrainLabAutodiff
import TrainLabData
import TrainLabModels
import TrainLabOptim
import TrainLabSpec
/// How a run ended.
public enum RunEnd: String, Sendable {
    case completed, diverged, interrupted
}

public struct RunResult {
    public let end: RunEnd
    /// The update at which the loss became non-finite or exploded (diverged runs).
    public let divergedStep: Int?
    public let finalTrainLoss: Double
    public let finalValidationLoss: Double?
    public let finalValidationAccuracy: Double?
    public let seconds: Double
}

/// Receives progress of a run (the command line draws it; tests ignore it).
public protocol ProgressObserver {
    func update(step: Int, of total: Int, loss: Double, stepsPerSecond: Double)
}

/// Trains one `ExperimentSpec` and logs its metrics (CONTRACT.md names) to a `MetricsSink`:
///   train_loss, grad_norm, lr — of update k, before it, at step k (1-based), every log_every;
///   val_loss, val_accuracy    — after update k, every eval_every, at step 0 and at the end.
public final class Runner {
    public let spec: ExperimentSpec
    public let pool: ThreadPool

    /// A loss above this multiple of max(first loss, 1), or non-finite, ends the run as diverged.
    public static let explosionFactor = 1e4

    public init(spec: ExperimentSpec, pool: ThreadPool = .shared) {
        self.spec = spec
        self.pool = pool
    }

    /// Builds the data and the model (the part that can fail on bad options).
    public func prepare() throws -> (TaskData, any LayerObservingModel) {
        try prepare(task: spec.task)
    }

    /// `prepare` for given task options (`check` builds a few rows only: the options and the
    /// model's sizes are what it judges, not the data).
    func prepare(task: TaskOptions) throws -> (TaskData, any LayerObservingModel) {
        let data = try spec.fileData ?? SyntheticTasks.make(task, seed: spec.seed)
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
            return (data, model)
        }
        let model = MLP(inputs: data.inputDim, hidden: spec.model.hidden, outputs: data.outputDim,
                        activation: spec.model.activation, bias: spec.model.bias,
                        norm: spec.model.norm, placement: spec.model.placement, residual: spec.model.residual,
                        weightInit: spec.model.weightInit, biasInit: spec.model.biasInit,
                        seed: seed)
        Parameter.packContiguously(model.parameters)
        return (data, model)
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
        guard case let .closure(make) = spec.makeOptimizer else { return }
        do {
            try make().validate(parameterCount: model.parameters.reduce(0) { $0 + $1.value.count })
        } catch {
            throw SpecError(file: spec.file, path: "optimizer.kind", message: "\(error)")
        }
    }

    public func run(metrics: MetricsSink, progress: ProgressObserver? = nil,
                    isCancelled: () -> Bool = { false }) throws -> RunResult {
        let start = DispatchTime.now().uptimeNanoseconds
        let (data, model) = try prepare()
        if let initFrom = spec.checkpoint.initFrom { try Checkpoints.load(initFrom, into: model, specFile: spec.file) }
        let weightsMetadata = ["experiment": spec.name, "seed": String(spec.seed), "format": "pt"]
        if let path = spec.checkpoint.saveInit { try Checkpoints.save(model, to: path, metadata: weightsMetadata) }
        let parameters = model.parameters
        var optimizer: (any Optimizer)? = nil
        var closureOptimizer: (any ClosureOptimizer)? = nil
        switch spec.makeOptimizer {
        case let .firstOrder(make): optimizer = make()
        case let .closure(make):
            let made = make()
            try made.validate(parameterCount: parameters.reduce(0) { $0 + $1.value.count })
            closureOptimizer = made
        }
        let training = spec.training
        let batchSize = min(training.batchSize, data.train.count)
        var sampler = BatchSampler(count: data.train.count, batchSize: batchSize, shuffle: training.shuffle,
                                   seed: spec.seed &+ 0x6461_7461)
        let batch = BatchBuffers(data: data.train, rows: batchSize, task: data, loss: spec.loss)
        let tape = Tape(pool: pool)
        let evaluator = data.validation.map { Evaluator(data: $0, task: data, model: model, loss: spec.loss, pool: pool) }

        var lastValidation: (loss: Double, accuracy: Double?)? = nil
        func evaluate(at step: Int) {
            guard let evaluator, training.evalEvery > 0 else { return }
            let v = evaluator.evaluate()
            metrics.log(step: step, name: "val_loss", value: v.loss)
            if let accuracy = v.accuracy { metrics.log(step: step, name: "val_accuracy", value: accuracy) }
            if let ndcg = v.ndcg { metrics.log(step: step, name: "val_ndcg", value: ndcg) }
            lastValidation = (v.loss, v.accuracy)
            metrics.flush()
        }
        evaluate(at: 0)
        if spec.probe {
            // The probe sees the first batch without consuming it from the sampler.
            var peek = sampler
            batch.load(peek.next())
            InitProbe.run(model: model, batch: batch, loss: spec.loss, pool: pool, metrics: metrics)
        }

        var firstLoss: Double? = nil
        var lastLoss = Double.nan
        var end = RunEnd.completed
        var divergedStep: Int? = nil
        var lastReport = start
        for step in 1...training.steps {
            if isCancelled() {
                end = .interrupted
                break
            }
            batch.load(sampler.next())
            let lr = spec.schedule.rate(step: step, total: training.steps, lr: spec.lr)
            let lossValue: Double
            var gradientNorm = Double.nan
            if let closureOptimizer {
                // L-BFGS, CG, Newton: the same batch for every evaluation of this step; the
                // logged loss and gradient norm are those at the start of the step.
                var evaluations = 0
                let start = closureOptimizer.step(parameters, lr: Float(lr)) {
                    let value = forwardBackward(model: model, parameters: parameters, batch: batch, tape: tape)
                    if evaluations == 0 { gradientNorm = Gradients.globalNorm(parameters, pool: pool) }
                    evaluations += 1
                    return value
                }
                lossValue = Double(start)
            } else {
                lossValue = Double(forwardBackward(model: model, parameters: parameters, batch: batch, tape: tape))
            }
            lastLoss = lossValue
            if firstLoss == nil { firstLoss = lossValue }
            if !lossValue.isFinite || lossValue > Self.explosionFactor * max(firstLoss!, 1) {
                metrics.log(step: step, name: "train_loss", value: lossValue)
                end = .diverged
                divergedStep = step
                break
            }
            if let optimizer {
                gradientNorm = training.clipGradNorm.map { Gradients.clip(parameters, maxNorm: $0, pool: pool) }
                    ?? Gradients.globalNorm(parameters, pool: pool)
                optimizer.step(parameters, lr: Float(lr))
            }
            // Step 1 always: the initial loss is the reference every curve starts from.
            if step % training.logEvery == 0 || step == 1 || step == training.steps {
                metrics.log(step: step, name: "train_loss", value: lossValue)
                metrics.log(step: step, name: "grad_norm", value: gradientNorm)
                metrics.log(step: step, name: "lr", value: lr)
            }
            if training.evalEvery > 0 && (step % training.evalEvery == 0 || step == training.steps) {
                evaluate(at: step)
            }
            // A metric that cannot be written (a full disk) ends the run: it would be lost.
            if let failure = metrics.failure { throw failure }
            if let progress {
                let now = DispatchTime.now().uptimeNanoseconds
                if now - lastReport > 100_000_000 || step == training.steps {
                    let rate = Double(step) / (Double(now - start) / 1e9)
                    progress.update(step: step, of: training.steps, loss: lossValue, stepsPerSecond: rate)
                    lastReport = now
                }
            }
        }
        if let path = spec.checkpoint.saveFinal { try Checkpoints.save(model, to: path, metadata: weightsMetadata) }
        return RunResult(end: end, divergedStep: divergedStep, finalTrainLoss: lastLoss,
                         finalValidationLoss: lastValidation?.loss, finalValidationAccuracy: lastValidation?.accuracy ?? nil,
                         seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
}

extension Runner {
    /// Zeroes the gradients, records forward and loss on a fresh tape step, back-propagates, and
    /// returns the loss.
    func forwardBackward(model: any Model, parameters: [Parameter], batch: BatchBuffers, tape: Tape) -> Float {
        tape.reset()
        for p in parameters { p.zeroGradient() }
        let prediction = model.forward(tape.constant(batch.inputs), on: tape)
        let loss = spec.loss(prediction, batch.targets, on: tape)
        tape.backward(from: loss)
        return tape.value(loss)[0]
    }
}
