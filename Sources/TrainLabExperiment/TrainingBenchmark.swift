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
        let runner = Runner(spec: spec, pool: pool)
        let (data, model) = try runner.prepare()
        let parameters = model.parameters
        guard case let .firstOrder(makeOptimizer) = spec.makeOptimizer else {
            throw BenchmarkError("bench train times first-order optimizers; \(spec.optimizerKind) re-evaluates the loss per step")
        }
        let optimizer = makeOptimizer()
        let batchSize = min(spec.training.batchSize, data.train.count)
        var sampler = BatchSampler(count: data.train.count, batchSize: batchSize, shuffle: true, seed: spec.seed)
        let batch = BatchBuffers(data: data.train, rows: batchSize, task: data, loss: spec.loss)
        let tape = Tape(pool: pool, precision: precision)
        let measured = steps ?? spec.training.steps
        var phases = [[Double]](repeating: [], count: 4)
        var totals: [Double] = []
        var best: (median: Double, phases: [Double])? = nil
        var windowMedians: [Double] = []
        func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
        let opProfile = profile ? OpProfile() : nil
        for step in 0..<(warmup + measured * windows) {
            if step == warmup { tape.profile = opProfile }
            batch.load(sampler.next())
            let t0 = now()
            tape.reset()
            for p in parameters { p.zeroGradient() }
            let loss = spec.loss(model.forward(tape.constant(batch.inputs), on: tape), batch.targets, on: tape)
            let t1 = now()
            tape.backward(from: loss)
            let t2 = now()
            let norm = Gradients.globalNorm(parameters, pool: pool)
            optimizer.step(parameters, lr: Float(spec.lr))
            let t3 = now()
            sink.log(step: step, name: "train_loss", value: Double(tape.value(loss)[0]))
            sink.log(step: step, name: "grad_norm", value: norm)
            sink.log(step: step, name: "lr", value: spec.lr)
            let t4 = now()
            guard step >= warmup else { continue }
            let times = [t1 - t0, t2 - t1, t3 - t2, t4 - t3].map { Double($0) / 1e9 }
            for (i, t) in times.enumerated() { phases[i].append(t) }
            totals.append(times.reduce(0, +))
            if totals.count == measured {
                let median = Self.median(totals)
                windowMedians.append(median)
                if best == nil || median < best!.median { best = (median, phases.map { Self.median($0) }) }
                totals.removeAll(keepingCapacity: true)
                for i in phases.indices { phases[i].removeAll(keepingCapacity: true) }
            }
        }
        tape.reset()
        sink.flush()
        let checkpointStart = now()
        let state = Runner.stateArchive(model: model, optimizer: optimizer, sampler: sampler).encoded()
        try sink.checkpoint(step: warmup + measured * windows, state: state)
        let checkpointSeconds = Double(now() - checkpointStart) / 1e9
        let names = ["forward", "backward", "optimizer", "metrics"]
        return Result(
            name: spec.name, batchSize: batchSize, medianStepSeconds: best?.median ?? .nan,
            phaseSeconds: zip(names, best?.phases ?? [.nan, .nan, .nan, .nan]).map { ($0, $1) },
            flopsPerStep: ResourceEstimate(spec).flopsPerStep, profile: opProfile,
            measuredSteps: measured * windows, windowMedians: windowMedians,
            checkpointSeconds: checkpointSeconds, checkpointBytes: state.count)
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
