import Foundation
import TrainLabSpec
import TrainLabData
import TrainLabModels
import TrainLabKernels

/// What a run will cost, estimated from the spec alone (nothing is built): `trainlab validate`
/// prints it, and a run that would not fit in memory is refused before it starts.
///   FLOPs per step ≈ 6 · B · Σ in·out  (forward 2, backward 4 per multiply-add of each layer)
///   memory ≈ 4 bytes · (P · (2 + optimizer state) + B · tape floats per sample + rows · (input + target))
///            + GEMM packing buffers per thread
/// where the tape's floats (each node's value and gradient, kept derivatives; the model's own
/// count, `MLP.tapeFloatsPerSample`, `Transformer.tapeFloatsPerToken`) are its arena's size.
/// Computed in floating point: every size is range-checked, but their products may pass Int.max.
public struct ResourceEstimate {
    /// The parameter count, saturated at Int.max (such a run is refused for its memory anyway).
    public let parameters: Int
    public let flopsPerStep: Double
    public let bytes: Double
    /// Of `bytes`: a training step's values, gradients and scratch (the tape's arena).
    public let activationBytes: Double

    public init(_ spec: ExperimentSpec) {
        if let settings = spec.model.transformer {
            self.init(transformer: settings, spec: spec)
        } else {
            self.init(mlp: spec)
        }
    }

    init(mlp spec: ExperimentSpec) {
        let task = spec.task
        let inputs = Double(task.inputDim ?? task.defaultInteger("input_dim") ?? 1)
        // A file task of class ids reports its classes, as a synthetic classifier may.
        let classification = task.descriptor?.kind == .classification || task.classes != nil
        let outputs = Double((classification ? task.classes ?? task.defaultInteger("classes")
                                             : task.outputDim ?? task.defaultInteger("output_dim")) ?? 1)
        let widths = [inputs] + spec.model.hidden.map(Double.init) + [outputs]
        let multiplyAdds = zip(widths, widths.dropFirst()).reduce(0.0) { $0 + $1.0 * $1.1 }
        // The model's own list of what it builds: the count is exact by construction.
        let parameters = MLP.parameterShapes(
            inputs: Int(inputs), hidden: spec.model.hidden, outputs: Int(outputs), bias: spec.model.bias, norm: spec.model.norm,
            placement: spec.model.placement, residual: spec.model.residual, activation: spec.model.activation
        ).reduce(0.0) { $0 + $1.count }
        self.parameters = Self.saturatingInt(parameters)
        // Grouped tasks feed k items per data row (a list, a pair, a triplet, two views).
        let group = Double(task.descriptor?.groupSize(task) ?? 1)
        let batch = Double(min(spec.training.batchSize, spec.task.trainSize)) * group
        flopsPerStep = 6 * batch * multiplyAdds
        let stateCopies = Double(Catalogue.optimizerStateCount(spec.optimizerKind) ?? 2)
        let activations = batch * Double(MLP.tapeFloatsPerSample(
            inputs: Int(inputs), hidden: spec.model.hidden, outputs: Int(outputs), norm: spec.model.norm,
            placement: spec.model.placement, residual: spec.model.residual, activation: spec.model.activation))
        let rows = Double(spec.task.trainSize) + Double(spec.task.valSize)
        let data = rows * (group * inputs + (classification ? 1 : outputs))
        // Products: x Wᵀ (k = in), dz W (k = out), dzᵀ x (k = batch rows).
        let largest = (widths + [batch]).max()!
        let packing = Self.packingBytes(inner: largest, rows: largest, columns: widths.max()!, precision: spec.training.precision)
        activationBytes = 4 * activations
        bytes = 4 * (parameters * (2 + stateCopies) + data) + activationBytes + packing
    }

    /// The GEMM's packing buffers, one set per thread (every core may run one): a KC × NC block
    /// of B and an MC × KC block of A for the largest product (inner size `inner`, `rows` × `columns`
    /// output), at `precision` (bf16 pairs take half the words where the CPU has AVX512_BF16);
    /// with bf16 also both whole operands of that product, packed once for all threads
    /// (`BF16Tiles`).
    static func packingBytes(inner: Double, rows: Double, columns: Double, precision: MatrixPrecision) -> Double {
        let k = Int(min(inner, Double(GEMMBlocking.kc))), n = Int(min(columns, Double(GEMMBlocking.nc)))
        let words = PackedMatrix.count(k: k, n: n, precision: precision) + PackedMatrix.count(k: k, n: GEMMBlocking.mc, precision: precision)
        let perThread = 4 * Double(words) * Double(ProcessInfo.processInfo.activeProcessorCount)
        guard precision == .bf16 else { return perThread }
        let wordsPerValue = Double(PackedMatrix.count(k: 2, n: 4096, precision: .bf16)) / (2 * 4096)
        return perThread + 4 * wordsPerValue * inner * (rows + columns)
    }

    /// Query-key entries the attention kernels compute per (batch row, head): blocks of
    /// `rowBlock` query rows, each over the key columns up to its last row when causal (the
    /// masked blocks are skipped, not computed), else all T.
    static func attentionEntries(length t: Int, causal: Bool, rowBlock: Int = AttentionKernels.defaultRowBlock) -> Double {
        guard causal else { return Double(t) * Double(t) }
        var entries = 0.0, r0 = 0
        while r0 < t {
            let rows = min(rowBlock, t - r0)
            entries += Double(rows) * Double(r0 + rows)
            r0 += rows
        }
        return entries
    }

    /// Transformer: P from `Transformer.parameterShapes`; FLOPs ≈ 6·B·T·(matrix parameters + V·d)
    /// + (12 or 14)·B·layers·H·E·hd, with matrix parameters per layer d·H·hd + 2·d·Hkv·hd + d² +
    /// (2 or 3)·d·h and E the query-key entries computed (`attentionEntries`: about T²/2 + 32·T
    /// when causal); 14 where the backward recomputes the probabilities.
    init(transformer settings: TransformerSettings, spec: ExperimentSpec) {
        func option(_ key: String) -> Int? {
            spec.task.extra[key].map { Int($0) } ?? spec.task.defaultInteger(key)
        }
        let length = option("seq_len") ?? spec.task.inputDim ?? 16
        let vocab = settings.vocab ?? option("vocab") ?? (option("modulus").map { $0 + 2 }) ?? 16
        let c = settings.resolved(vocab: vocab, sequenceLength: length)
        let d = Double(c.dModel), hd = Double(c.headSize), h = Double(c.resolvedFFNHidden)
        let heads = Double(c.heads), kvHeads = Double(c.resolvedKVHeads), layers = Double(c.layers)
        let v = Double(c.vocab), t = Double(length)
        let gated: Double = if case .gated = c.activation { 3 } else { 2 }
        let matrixParameters = d * heads * hd + 2 * d * kvHeads * hd + heads * hd * d + gated * d * h
        let parameters = Transformer.parameterShapes(c).reduce(0.0) { $0 + $1.count }
        self.parameters = Self.saturatingInt(parameters)
        let batch = Double(min(spec.training.batchSize, spec.task.trainSize))
        let tokens = batch * t
        // Attention keeps its probabilities for the backward when they fit (see AttentionKernels).
        let probabilities = batch * heads * t * t
        let keeps = probabilities <= Double(AttentionKernels.keptProbabilityLimit)
        let attentionProducts: Double = keeps ? 12 : 14
        flopsPerStep = 6 * tokens * (layers * matrixParameters + v * d)
            + attentionProducts * batch * layers * heads * Self.attentionEntries(length: length, causal: c.causal) * hd
        let kept = keeps ? layers * probabilities : 0
        let activations = tokens * Double(Transformer.tapeFloatsPerToken(c)) + kept
        let rows = (Double(spec.task.trainSize) + Double(spec.task.valSize)) * 2 * t
        // q, k, v (and gate, up) are multiplied as one product (`Tape.linears`): their widths add.
        let projections = max(heads * hd + 2 * kvHeads * hd, (gated - 1) * h)
        let largest = max(tokens, d, projections)
        let packing = Self.packingBytes(inner: largest, rows: largest, columns: max(d, projections, v), precision: spec.training.precision)
        activationBytes = 4 * activations
        bytes = 4 * (parameters * 5 + rows) + activationBytes + packing
    }

    /// `x` (≥ 0) as an Int, Int.max when it does not fit.
    static func saturatingInt(_ x: Double) -> Int {
        x < 0x1p63 ? Int(x) : .max
    }

    /// The machine's memory, and the share of it a run may plan to use.
    public static let usableBytes = Double(ProcessInfo.processInfo.physicalMemory) * 0.8

    /// Throws a bad-input error when the run would not fit in memory.
    public func check(_ spec: ExperimentSpec) throws {
        guard bytes > Self.usableBytes else { return }
        throw SpecError(file: spec.file, path: "model",
                        message: "this run would need about \(Self.format(bytes)) of memory (\(parameters) parameters, batch \(spec.training.batchSize)); this machine has \(Self.format(Double(ProcessInfo.processInfo.physicalMemory)))")
    }

    public static func format(_ bytes: Double) -> String {
        if bytes >= 1_073_741_824 { return String(format: "%.1f GiB", bytes / Double(1 << 30)) }
        if bytes >= 1_048_576 { return String(format: "%.1f MiB", bytes / Double(1 << 20)) }
        return String(format: "%.0f KiB", bytes / 1024)
    }
}

/// How a sweep is spread over the machine: `jobs` runs train at once, each on `threadsPerJob`
/// kernel threads (`trainlab run --jobs`).
public struct JobPlan: Equatable, Sendable {
    public let jobs: Int
    public let threadsPerJob: Int

    public init(jobs: Int, threadsPerJob: Int) {
        precondition(jobs >= 1 && threadsPerJob >= 1, "a job plan needs a job and a thread, got \(jobs) × \(threadsPerJob)")
        self.jobs = jobs
        self.threadsPerJob = threadsPerJob
    }

    /// `--jobs N`: N runs at once (never more than there are runs), each on threads/N threads.
    public static func fixed(_ jobs: Int, runs: Int, threads: Int) -> JobPlan {
        let count = max(1, min(jobs, runs))
        return JobPlan(jobs: count, threadsPerJob: max(1, threads / count))
    }

    /// A step of this many FLOPs per thread (about 2.5 ms at 100 GFLOPS a core) is long enough
    /// that splitting each of its products between threads costs little against running whole
    /// runs side by side; a smaller step loses a larger share to dispatch and to the
    /// elementwise ops too short to split.
    public static let flopsPerThread = 250e6

    /// `--jobs auto`, from the runs' estimates: the largest run's FLOPs per step ask for
    /// t = FLOPs / `flopsPerThread` threads, rounded up to a power of two and at most `threads`;
    /// then jobs = threads / t, no more than there are runs nor than fit in memory together
    /// (each the largest run's `bytes`), and each job gets threads / jobs threads. A sweep of
    /// small models so trains one run per core; a big model gets every core.
    public static func automatic(flopsPerStep: [Double], bytes: [Double], threads: Int,
                                 usableBytes: Double = ResourceEstimate.usableBytes) -> JobPlan {
        let largest = flopsPerStep.max() ?? 0
        var threadsPerRun = 1
        while threadsPerRun < threads && Double(threadsPerRun) * flopsPerThread < largest { threadsPerRun *= 2 }
        threadsPerRun = min(threadsPerRun, threads)
        var jobs = max(1, min(threads / threadsPerRun, flopsPerStep.count))
        if let heaviest = bytes.max(), heaviest > 0 {
            jobs = max(1, min(jobs, Int(usableBytes / heaviest)))
        }
        return JobPlan(jobs: jobs, threadsPerJob: max(1, threads / jobs))
    }

    /// `automatic` for these runs.
    public static func automatic(for runs: [ExperimentSpec], threads: Int) -> JobPlan {
        let estimates = runs.map { ResourceEstimate($0) }
        return automatic(flopsPerStep: estimates.map(\.flopsPerStep), bytes: estimates.map(\.bytes), threads: threads)
    }
}
