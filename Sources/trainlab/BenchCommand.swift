import Foundation
import TrainLabKernels
import TrainLabAutodiff
import TrainLabStore
import TrainLabExperiment

/// `trainlab bench ...`: speed measured against references taken in the same run.
enum BenchCommand {
    static func run(_ arguments: inout Arguments) throws {
        guard let what = arguments.next() else { throw UsageError("bench needs a target: gemm, train, sweep or metrics") }
        switch what {
        case "gemm": try GEMMBenchmark.run(&arguments)
        case "metrics": try MetricsBenchmark.run(&arguments)
        case "train": try TrainBenchmarkCommand.run(&arguments)
        case "sweep": try SweepBenchmarkCommand.run(&arguments)
        default: throw UsageError("unknown benchmark '\(what)'\(suggestion(for: what, among: ["gemm", "metrics", "train", "sweep"]))")
        }
    }
}

enum GEMMBenchmark {
    /// C (m, n) = op(A) (m, k) · op(B) (k, n); `MxNxK`, with `/tn`, `/nt` or `/tt` for a transposed
    /// A (t first) or B (t second) as in a weight gradient (`/tn`) or an activation gradient (`/nt`).
    struct Shape {
        let m, n, k: Int
        var transposeA = false, transposeB = false

        init(m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false) {
            (self.m, self.n, self.k, self.transposeA, self.transposeB) = (m, n, k, transposeA, transposeB)
        }

        init?(parsing text: String) {
            let parts = text.split(separator: "/", maxSplits: 1)
            let sizes = parts[0].split(separator: "x").compactMap { Int($0) }
            guard sizes.count == 3, sizes.allSatisfy({ $0 > 0 && $0 <= 1 << 14 }) else { return nil }
            var flags = (false, false)
            if parts.count == 2 {
                guard let f = ["nn": (false, false), "tn": (true, false), "nt": (false, true), "tt": (true, true)][String(parts[1])] else { return nil }
                flags = f
            }
            self.init(m: sizes[0], n: sizes[1], k: sizes[2], transposeA: flags.0, transposeB: flags.1)
        }

        var label: String {
            "\(m)×\(k)·\(k)×\(n)" + (transposeA || transposeB ? " (\(transposeA ? "Aᵀ" : "A")·\(transposeB ? "Bᵀ" : "B"))" : "")
        }
    }

    static let squares = [64, 128, 256, 512, 1024, 2048].map { Shape(m: $0, n: $0, k: $0) }
    static let layers = [Shape(m: 256, n: 1024, k: 784), Shape(m: 256, n: 1024, k: 1024), Shape(m: 4096, n: 768, k: 256)]

    static func run(_ arguments: inout Arguments) throws {
        let json = arguments.flag("--json")
        let quick = arguments.flag("--quick")
        let precision = try precisionOption(&arguments)
        var custom: [Shape] = []
        if let list = try arguments.option("--shapes") {
            for item in list.split(separator: ",") {
                guard let shape = Shape(parsing: String(item)) else {
                    throw UsageError("--shapes: '\(item)' is not MxNxK (sizes 1...16384), optionally followed by /tn, /nt or /tt")
                }
                custom.append(shape)
            }
        }
        try arguments.finish()
        let all = ThreadPool.shared
        let threadCounts = all.threadCount > 1 ? [1, all.threadCount] : [1]
        let pools = threadCounts.map { $0 == all.threadCount ? all : ThreadPool(threads: $0) }
        let shapes = !custom.isEmpty ? custom : quick ? Array(squares.prefix(3)) : squares + layers

        var peaks: [Double] = []
        for pool in pools { peaks.append(MachineProbe.peakGFLOPS(pool: pool, precision: precision)) }
        let overhead = MachineProbe.dispatchOverheadMicroseconds(pool: all)

        if !json {
            let kernel = MachineProbe.kernel(for: precision)
            print(precision == .bf16
                  ? "GEMM, bf16 operands with FP32 sums (\(kernel) kernel), \(InstructionSet.current.rawValue) loops; C = A·B, best of repeated runs"
                  : "GEMM, Float32, \(InstructionSet.current.rawValue) kernels; C = A·B, best of repeated runs")
            print("\(kernel == "vdpbf16ps" ? "VDPBF16PS" : "FMA") probe peak: " + zip(threadCounts, peaks).map { "\($0) thread\($0 == 1 ? "" : "s") \(format($1, 1)) GFLOPS" }.joined(separator: ", "))
            print("pool dispatch round trip (\(all.threadCount) threads, every thread joins): \(format(overhead, 2)) µs\n")
            var header = "shape (m×k · k×n)".padding(toLength: 24, withPad: " ", startingAt: 0)
            for t in threadCounts { header += "  \(t)T GFLOPS  %peak" }
            print(header)
        }
        var records: [String] = []
        for shape in shapes {
            var line = shape.label.padding(toLength: 24, withPad: " ", startingAt: 0)
            for (i, pool) in pools.enumerated() {
                let gflops = measure(shape, pool: pool, quick: quick, precision: precision)
                records.append("{\"m\": \(shape.m), \"n\": \(shape.n), \"k\": \(shape.k), \"transpose_a\": \(shape.transposeA), \"transpose_b\": \(shape.transposeB), \"threads\": \(pool.threadCount), \"precision\": \"\(precision.rawValue)\", \"gflops\": \(format(gflops, 2)), \"peak_gflops\": \(format(peaks[i], 2))}")
                line += "  " + format(gflops, 1).leftPadded(to: 10) + "  " + (format(100 * gflops / peaks[i], 0) + "%").leftPadded(to: 5)
            }
            if !json { print(line) }
        }
        if json { print("[\n  " + records.joined(separator: ",\n  ") + "\n]") }
    }

    /// Best GFLOPS over repeats lasting about 0.3 s in all (at least 3 repeats after a warm-up).
    static func measure(_ s: Shape, pool: ThreadPool, quick: Bool, precision: MatrixPrecision = .fp32) -> Double {
        var a = [Float](repeating: 0, count: s.m * s.k)
        var b = [Float](repeating: 0, count: s.k * s.n)
        var c = [Float](repeating: 0, count: s.m * s.n)
        for i in a.indices { a[i] = Float((i * 7) % 13) * 0.01 - 0.06 }
        for i in b.indices { b[i] = Float((i * 5) % 11) * 0.01 - 0.05 }
        let flops = 2.0 * Double(s.m) * Double(s.n) * Double(s.k)
        var best = 0.0
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    func once() -> Double {
                        let start = DispatchTime.now().uptimeNanoseconds
                        gemm(transposeA: s.transposeA, transposeB: s.transposeB, m: s.m, n: s.n, k: s.k,
                             a: a.baseAddress!, lda: s.transposeA ? s.m : s.k, b: b.baseAddress!, ldb: s.transposeB ? s.k : s.n,
                             c: c.baseAddress!, ldc: s.n, precision: precision, pool: pool)
                        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    }
                    _ = once()
                    let budget = quick ? 0.05 : 0.3
                    var spent = 0.0, runs = 0
                    // Small products are timed in batches so the clock's resolution does not matter.
                    let inner = max(1, Int(2e6 / flops * 50))
                    while runs < 3 || spent < budget {
                        let start = DispatchTime.now().uptimeNanoseconds
                        for _ in 0..<inner { _ = once() }
                        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                        best = max(best, flops * Double(inner) / seconds / 1e9)
                        spent += seconds
                        runs += 1
                    }
                }
            }
        }
        return best
    }
}

func format(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }

/// `--precision fp32|bf16` (default fp32).
func precisionOption(_ arguments: inout Arguments) throws -> MatrixPrecision {
    guard let text = try arguments.option("--precision") else { return .fp32 }
    guard let precision = MatrixPrecision(rawValue: text) else {
        throw UsageError("--precision expects fp32 or bf16, got '\(text)'")
    }
    return precision
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// A spec the repository ships, the default of a benchmark, found from any folder
/// (`RepositoryFiles.locate`); a usage error naming the file when it is nowhere.
func shippedSpec(_ relative: String, for command: String) throws -> String {
    guard let path = RepositoryFiles.locate(relative) else {
        throw UsageError("\(command): its default spec \(relative) is neither under the current folder nor in the trainlab repository "
                         + "(\(RepositoryFiles.sourceRoot)); name a spec file or run it from the repository's root")
    }
    return path
}

/// `trainlab bench metrics [SPEC]`: what logging every step to SQLite costs, as a share of the
/// training time of the same run (default: experiments/quickstart.json's first run, log_every 1).
enum MetricsBenchmark {
    static func run(_ arguments: inout Arguments) throws {
        let file = try arguments.next() ?? shippedSpec("experiments/quickstart.json", for: "bench metrics")
        try arguments.finish()
        guard let spec = try ExperimentSpec.load(file: file).first else { throw UsageError("\(file) has no runs") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trainlab-bench-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }

        // The same run twice: metrics kept in memory, then written to a fresh database.
        let memory = MemoryMetricsSink()
        let inMemory = try Runner(spec: spec).run(metrics: memory)
        let store = try ResultsStore(path: folder.appendingPathComponent("bench.sqlite").path)
        let id = try store.beginRun(experiment: spec.name, config: "{}", seed: Int(spec.seed))
        let start = DispatchTime.now().uptimeNanoseconds
        let toDatabase = try Runner(spec: spec).run(metrics: store.metricsSink(runID: id))
        try store.finishRun(id: id, status: .completed)
        let withStore = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9

        // Writing alone: the same rows again, timed without training.
        let rows = memory.entries
        let writeStart = DispatchTime.now().uptimeNanoseconds
        let sink = store.metricsSink(runID: try store.beginRun(experiment: spec.name, config: "{}", seed: 0))
        for row in rows { sink.log(step: row.step, name: row.name, value: row.value) }
        try store.flush()
        let writing = Double(DispatchTime.now().uptimeNanoseconds - writeStart) / 1e9
        print("\(spec.name): \(spec.training.steps) steps, \(rows.count) metric rows (log_every \(spec.training.logEvery))")
        print("training with metrics in memory: \(format(inMemory.seconds, 3)) s; with SQLite: \(format(withStore, 3)) s (\(format(toDatabase.seconds, 3)) s inside the loop)")
        print("writing the rows alone: \(format(writing * 1e3, 1)) ms = \(format(writing / Double(rows.count) * 1e6, 2)) µs a row, \(format(100 * writing / inMemory.seconds, 2))% of the training time")
    }
}

/// `trainlab bench train [SPEC...] [--steps N] [--windows N] [--profile] [--precision P]`: median
/// ms per training step, samples/s, the share of each phase, and GFLOPS against the peak of the
/// products' precision measured in the same run; `--windows N` repeats the measured steps N
/// times and keeps the fastest window's median (printing the spread); `--profile` adds where
/// forward and backward time goes, op by op. `--precision fp32|bf16` overrides the specs';
/// `both` times each spec in FP32 and in bf16, their windows alternating, and prints the
/// speed-up (of the fastest windows, and the range over the pairs of windows).
/// Last, what one save of each config's training state costs, in steps and as the share of the
/// training time at the automatic checkpoint interval.
enum TrainBenchmarkCommand {
    static let defaults = ["experiments/bench/mlp-small.json", "experiments/bench/mlp-large.json", "experiments/bench/transformer.json"]

    static func run(_ arguments: inout Arguments) throws {
        let steps = try arguments.intOption("--steps", atLeast: 1)
        let windows = try arguments.intOption("--windows", atLeast: 1) ?? 1
        let profile = arguments.flag("--profile")
        let precisionText = try arguments.option("--precision")
        let precisions: [MatrixPrecision?]
        switch precisionText {
        case nil: precisions = [nil]
        case "both": precisions = [.fp32, .bf16]
        case let text?:
            guard let precision = MatrixPrecision(rawValue: text) else {
                throw UsageError("--precision expects fp32, bf16 or both, got '\(text)'")
            }
            precisions = [precision]
        }
        var files: [String] = []
        while let file = arguments.next() { files.append(file) }
        try arguments.finish()
        let specs = try (files.isEmpty ? defaults.map { try shippedSpec($0, for: "bench train") } : files)
            .compactMap { try ExperimentSpec.load(file: $0).first }
        let pool = ThreadPool.shared
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trainlab-bench-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try ResultsStore(path: folder.appendingPathComponent("bench.sqlite").path)
        // The peak is probed before and after the runs and the higher kept: a neighbour that
        // takes a core for the few tenths of a second of one probe would otherwise halve it.
        var results: [(result: TrainingBenchmark.Result, precision: MatrixPrecision)] = []
        var peaks: [MatrixPrecision: Double] = [:]
        func probePeaks() {
            for precision in MatrixPrecision.allCases {
                peaks[precision] = max(peaks[precision] ?? 0, MachineProbe.peakGFLOPS(pool: pool, precision: precision))
            }
        }
        probePeaks()
        for spec in specs {
            // With both precisions their windows alternate: each pair of windows shares the
            // machine's load of the moment, so the speed-up compares like with like.
            let sessions = try precisions.map { precision in
                let benchmark = TrainingBenchmark(spec: spec, pool: pool, precision: precision)
                let sink = store.metricsSink(runID: try store.beginRun(experiment: "bench", config: "{}", seed: 0))
                return (session: try TrainingBenchmark.Session(benchmark, steps: steps, profile: profile, metrics: sink),
                        precision: benchmark.precision)
            }
            for _ in 0..<windows {
                for s in sessions { s.session.measureWindow() }
            }
            for s in sessions { results.append((try s.session.finish(), s.precision)) }
        }
        probePeaks()
        print("training step, \(pool.threadCount) thread\(pool.threadCount == 1 ? "" : "s"), \(InstructionSet.current.rawValue) kernels; "
              + "peaks measured in this run: FP32 (fma) \(format(peaks[.fp32]!, 1)) GFLOPS, "
              + "bf16 (\(MachineProbe.kernel(for: .bf16))) \(format(peaks[.bf16]!, 1)) GFLOPS; %peak is of the products' precision")
        print("config".padding(toLength: 20, withPad: " ", startingAt: 0) + "  precision   batch   ms/step   samples/s   GFLOPS  %peak   forward  backward  optimizer  metrics")
        for (r, precision) in results {
            let peak = peaks[precision]!
            let total = r.phaseSeconds.reduce(0) { $0 + $1.seconds }
            let shares = r.phaseSeconds.map { (format(100 * $0.seconds / total, 0) + "%").leftPadded(to: $0.phase.count + 2) }
            print(r.name.padding(toLength: 20, withPad: " ", startingAt: 0) + precision.rawValue.leftPadded(to: 11)
                  + String(r.batchSize).leftPadded(to: 8) + format(r.medianStepSeconds * 1e3, 3).leftPadded(to: 10)
                  + format(r.samplesPerSecond, 0).leftPadded(to: 12) + format(r.gflops, 1).leftPadded(to: 9)
                  + (format(100 * r.gflops / peak, 0) + "%").leftPadded(to: 7) + shares.joined())
            if r.windowMedians.count > 1 {
                let ms = r.windowMedians.map { format($0 * 1e3, 3) }.joined(separator: ", ")
                print("  window medians, ms: \(ms) (the fastest is reported)")
            }
            if let ops = r.profile { printProfile(ops, steps: r.measuredSteps) }
        }
        if precisions.count == 2 {
            for pair in stride(from: 0, to: results.count, by: 2) {
                let (fp32, bf16) = (results[pair].result, results[pair + 1].result)
                let speedUp = "\(fp32.name): bf16 step \(format(fp32.medianStepSeconds / bf16.medianStepSeconds, 2))× the FP32 step"
                let pairs = zip(fp32.windowMedians, bf16.windowMedians).map { $0 / $1 }
                if pairs.count > 1 {
                    print(speedUp + " (fastest windows; window by window \(format(pairs.min()!, 2))–\(format(pairs.max()!, 2))×)")
                } else {
                    print(speedUp)
                }
            }
        }
        print("checkpoint".padding(toLength: 20, withPad: " ", startingAt: 0) + "   state MB   ms/save   steps/save   share at checkpoint_every 0")
        // The training state does not depend on the precision: one row per spec.
        for (r, _) in stride(from: 0, to: results.count, by: precisions.count).map({ results[$0] }) {
            print(r.name.padding(toLength: 20, withPad: " ", startingAt: 0)
                  + format(Double(r.checkpointBytes) / 1e6, 2).leftPadded(to: 11) + format(r.checkpointSeconds * 1e3, 2).leftPadded(to: 10)
                  + format(r.checkpointSeconds / r.medianStepSeconds, 1).leftPadded(to: 13)
                  + (format(100 * r.automaticCheckpointShare, 3) + "%").leftPadded(to: 30))
        }
    }

    /// Ops by total time, µs per step, with their share of forward + backward.
    static func printProfile(_ profile: OpProfile, steps: Int) {
        let rows = profile.entries.sorted { $0.value.forwardNanoseconds + $0.value.backwardNanoseconds > $1.value.forwardNanoseconds + $1.value.backwardNanoseconds }
        let total = rows.reduce(0.0) { $0 + Double($1.value.forwardNanoseconds + $1.value.backwardNanoseconds) }
        let perStep = { (ns: UInt64) in format(Double(ns) / Double(steps) / 1e3, 1) }
        print("  " + "op".padding(toLength: 32, withPad: " ", startingAt: 0) + "calls/step  forward µs  backward µs   share")
        for (name, e) in rows {
            let share = Double(e.forwardNanoseconds + e.backwardNanoseconds) / total
            print("  " + name.padding(toLength: 32, withPad: " ", startingAt: 0)
                  + String(e.forwardCalls / steps).leftPadded(to: 10) + perStep(e.forwardNanoseconds).leftPadded(to: 12)
                  + perStep(e.backwardNanoseconds).leftPadded(to: 13) + (format(100 * share, 1) + "%").leftPadded(to: 8))
        }
    }
}

/// `trainlab bench sweep [SPEC] [--jobs N|auto]`: a sweep trained as `trainlab run` trains it
/// (the same session: claims, params, metrics, summaries, commits), into a database of its own
/// that is deleted after; then per run and in total where the wall time went, as the runner and
/// the session measured it: data, training (the steps), evaluation, store, other; and the
/// sweep's wall time over the sum of its training steps' time.
enum SweepBenchmarkCommand {
    static let defaultSpec = "experiments/bench/sweep.json"

    static func run(_ arguments: inout Arguments) throws {
        let jobs = try JobsChoice(parsing: arguments.option("--jobs")) ?? .default
        let file = try arguments.next() ?? shippedSpec(defaultSpec, for: "bench sweep")
        try arguments.finish()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trainlab-bench-sweep-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = folder.appendingPathComponent("sweep.sqlite").path

        let start = DispatchTime.now().uptimeNanoseconds
        let runs = try loadAll([file], database: database).flatMap { $0.1 }
        let store = try ResultsStore(path: database)
        let plan = jobs.plan(for: runs)
        let setUp = seconds(since: start)
        let session = RunSession(runs: runs, store: store, database: database, force: false, progress: nil)
        let failures = RunCommand.train(session, plan: plan, database: database)
        let wall = seconds(since: start)
        guard failures == 0 else { throw BenchmarkError("\(failures) of the \(runs.count) runs failed") }

        print("\(file): \(runs.count) runs, \(plan.jobs) job\(plan.jobs == 1 ? "" : "s") × \(plan.threadsPerJob) thread\(plan.threadsPerJob == 1 ? "" : "s") "
              + "(\(jobs == .auto ? "--jobs auto" : "--jobs \(plan.jobs)")), \(InstructionSet.current.rawValue) kernels; ms per run")
        let labels = runs.map { $0.assignmentSummary.isEmpty ? $0.name : $0.assignmentSummary }
        let labelWidth = max(10, labels.map(\.count).max() ?? 0)
        let columns = ["data", "training", "evaluation", "store", "other", "total"]
        print("run".padding(toLength: labelWidth + 6, withPad: " ", startingAt: 0) + columns.map { $0.leftPadded(to: 12) }.joined())
        func row(_ label: String, _ p: RunPhaseSeconds) -> String {
            label + [p.data, p.training, p.evaluation, p.store, p.other, p.total].map { format($0 * 1e3, 2).leftPadded(to: 12) }.joined()
        }
        var sum = RunPhaseSeconds()
        for (index, label) in labels.enumerated() {
            guard let phases = session.phases[index] else { continue }
            sum = sum + phases
            print(row(String(index + 1).leftPadded(to: 4) + "  " + label.padding(toLength: labelWidth, withPad: " ", startingAt: 0), phases))
        }
        print(row("sum".padding(toLength: labelWidth + 6, withPad: " ", startingAt: 0), sum))
        let shares = [("data", sum.data), ("training", sum.training), ("evaluation", sum.evaluation), ("store", sum.store), ("other", sum.other)]
            .map { "\($0.0) \(format(100 * $0.1 / max(sum.total, 1e-12), 0))%" }
        print("share of the runs' time: " + shares.joined(separator: ", "))
        print("sweep: wall \(format(wall * 1e3, 1)) ms (set-up \(format(setUp * 1e3, 1)) ms: loading and checking the spec, opening the database); "
              + "Σ training \(format(sum.training * 1e3, 1)) ms; wall / Σ training = \(format(wall / max(sum.training, 1e-12), 2))")
    }
}
