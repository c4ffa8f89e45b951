import Foundation
import TrainLabKernels
import TrainLabAutodiff
import TrainLabModels
import TrainLabOptim
import TrainLabData

/// Times the training step of a spec phase by phase (`trainlab bench train`): forward (tape,
/// model and loss), backward, optimizer, metrics (three rows to the sink, as a run logs them;
/// the command line passes a results database's). Median over a window after warm-up steps; the step's multiply-adds come from
/// the model's matrix products (6 · B · Σ in·out for an MLP). Then one save of the training
/// state through the sink (`MetricsSink.checkpoint`), timed: what resuming costs.
public struct TrainingBenchmark {
    public struct Result {
        public let name: String
        public let batchSize: Int
        public let medianStepSeconds: Double
        public let phaseSeconds: [(phase: String, seconds: Double)]
        public let flopsPerStep: Double
        /// Per-op wall time over the measured steps (when asked for).
        public let profile: OpProfile?
        public let measuredSteps: Int
        /// The median step of each window, in order (the result is the fastest window's).
        public let windowMedians: [Double]
        /// One save of the training state: seconds and bytes.
        public let checkpointSeconds: Double
        public let checkpointBytes: Int

        /// The share of the training time saving takes with `training.checkpoint_every` = 0:
        /// cost / max(60 s, 100 × cost).
        public var automaticCheckpointShare: Double {
            checkpointSeconds / max(CheckpointPolicy.minimumInterval, 100 * checkpointSeconds)
        }

        public var samplesPerSecond: Double { Double(batchSize) / medianStepSeconds }
        public var gflops: Double { flopsPerStep / medianStepSeconds / 1e9 }
    }

    public let spec: ExperimentSpec
    public let pool: ThreadPool
    /// The products' precision: the spec's `training.precision` unless overridden.
    public let precision: MatrixPrecision

    public init(spec: ExperimentSpec, pool: ThreadPool = .shared, precision: MatrixPrecision? = nil) {
        self.spec = spec
        self.pool = pool
        self.precision = precision ?? spec.training.precision
    }

    /// With `profile`, every op is timed (a few percent slower: a clock read per op). With
    /// `windows` > 1 the measured steps are repeated that many times and the window with the
    /// fastest median is reported: on a shared machine a neighbour's burst then spoils one
    /// window, not the figure.
    public func run(warmup: Int = 5, steps: Int? = nil, windows: Int = 1, profile: Bool = false,
                    metrics sink: MetricsSink) throws -> Result {
        precondition(windows >= 1, "bench windows must be at least 1, got \(windows)")
        let session = try Session(self, warmup: warmup, steps: steps, profile: profile, metrics: sink)
        for _ in 0..<windows { session.measureWindow() }
        return try session.finish()
    }

    /// One config's training loop, prepared and warmed up, measured a window at a time. Two
    /// sessions whose windows alternate (`bench train --precision both`) see the same stretch
    /// of a shared machine's load, so their ratio is not one config's quiet minute against the
    /// other's busy one.
    public final class Session {
        let benchmark: TrainingBenchmark
        let sink: MetricsSink
        let parameters: [Parameter]
        let optimizer: any Optimizer
        let batch: BatchBuffers
        let tape: Tape
        let model: any Model
        var sampler: BatchSampler
        let measured: Int
        let opProfile: OpProfile?
        var step = 0
        var best: (median: Double, phases: [Double])? = nil
        public private(set) var windowMedians: [Double] = []

        public init(_ benchmark: TrainingBenchmark, warmup: Int = 5, steps: Int? = nil, profile: Bool = false,
                    metrics sink: MetricsSink) throws {
            let spec = benchmark.spec
            let runner = Runner(spec: spec, pool: benchmark.pool)
            let (data, model) = try runner.prepare()
            guard case let .firstOrder(makeOptimizer) = spec.makeOptimizer else {
                throw BenchmarkError("bench train times first-order optimizers; \(spec.optimizerKind) re-evaluates the loss per step")
            }
            let batchSize = min(spec.training.batchSize, data.train.count)
            (self.benchmark, self.sink, self.model, self.parameters, self.optimizer) = (benchmark, sink, model, model.parameters, makeOptimizer())
            sampler = BatchSampler(count: data.train.count, batchSize: batchSize, shuffle: true, seed: spec.seed)
            batch = BatchBuffers(data: data.train, rows: batchSize, task: data, loss: spec.loss)
            tape = Tape(pool: benchmark.pool, precision: benchmark.precision)
            measured = steps ?? spec.training.steps
            opProfile = profile ? OpProfile() : nil
            for _ in 0..<warmup { _ = trainStep() }
            tape.profile = opProfile
        }

        /// One step, timed by phase: forward, backward, optimizer, metrics (seconds).
        private func trainStep() -> [Double] {
            let spec = benchmark.spec
            func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
            batch.load(sampler.next())
            let t0 = now()
            tape.reset()
            for p in parameters { p.zeroGradient() }
            let loss = spec.loss(model.forward(tape.constant(batch.inputs), on: tape), batch.targets, on: tape)
            let t1 = now()
            tape.backward(from: loss)
            let t2 = now()
            let norm = Gradients.globalNorm(parameters, pool: benchmark.pool)
            optimizer.step(parameters, lr: Float(spec.lr))
            let t3 = now()
            sink.log(step: step, name: "train_loss", value: Double(tape.value(loss)[0]))
            sink.log(step: step, name: "grad_norm", value: norm)
            sink.log(step: step, name: "lr", value: spec.lr)
            let t4 = now()
            step += 1
            return [t1 - t0, t2 - t1, t3 - t2, t4 - t3].map { Double($0) / 1e9 }
        }

        /// Trains the window's steps and returns their median step time.
        @discardableResult
        public func measureWindow() -> Double {
            var phases = [[Double]](repeating: [], count: 4)
            var totals: [Double] = []
            for _ in 0..<measured {
                let times = trainStep()
                for (i, t) in times.enumerated() { phases[i].append(t) }
                totals.append(times.reduce(0, +))
            }
            let median = TrainingBenchmark.median(totals)
            windowMedians.append(median)
            if best == nil || median < best!.median { best = (median, phases.map { TrainingBenchmark.median($0) }) }
            return median
        }

        /// The fastest window's figures, then one save of the training state, timed.
        public func finish() throws -> Result {
            tape.reset()
            sink.flush()
            let checkpointStart = DispatchTime.now().uptimeNanoseconds
            let state = Runner.stateArchive(model: model, optimizer: optimizer, sampler: sampler).encoded()
            try sink.checkpoint(step: step, state: state)
            let checkpointSeconds = Double(DispatchTime.now().uptimeNanoseconds - checkpointStart) / 1e9
            let names = ["forward", "backward", "optimizer", "metrics"]
            let spec = benchmark.spec
            return Result(
                name: spec.name, batchSize: batch.rows, medianStepSeconds: best?.median ?? .nan,
                phaseSeconds: zip(names, best?.phases ?? [.nan, .nan, .nan, .nan]).map { ($0, $1) },
                flopsPerStep: ResourceEstimate(spec).flopsPerStep, profile: opProfile,
                measuredSteps: measured * windowMedians.count, windowMedians: windowMedians,
                checkpointSeconds: checkpointSeconds, checkpointBytes: state.count)
        }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
    }
}

public struct BenchmarkError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
