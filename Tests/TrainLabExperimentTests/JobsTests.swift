import XCTest
import Foundation
import TrainLabStore
import TrainLabKernels
@testable import TrainLabExperiment

/// `--jobs N|auto`: the plan `auto` picks from the runs' FLOPs per step, and results that do not
/// depend on jobs or threads.
final class JobsTests: XCTestCase {
    /// Small steps ask for one thread each, so every thread trains a run of its own (but never
    /// more jobs than runs; threads left over go to the jobs); a step of several GFLOP asks for
    /// every thread; jobs that would not fit in memory together are cut.
    func testAutomaticPlanFollowsTheFLOPsPerStep() {
        func plan(_ flops: Double, runs: Int, threads: Int, bytes: Double = 1e6, usable: Double = 1e12) -> JobPlan {
            JobPlan.automatic(flopsPerStep: [Double](repeating: flops, count: runs), bytes: [Double](repeating: bytes, count: runs),
                              threads: threads, usableBytes: usable)
        }
        // experiments/bench/sweep.json: 6 · 64 · (64·64 + 64·10) = 1.8 MFLOP a step.
        XCTAssertEqual(plan(1.8e6, runs: 16, threads: 2), JobPlan(jobs: 2, threadsPerJob: 1))
        XCTAssertEqual(plan(1.8e6, runs: 16, threads: 16), JobPlan(jobs: 16, threadsPerJob: 1))
        XCTAssertEqual(plan(1.8e6, runs: 3, threads: 16), JobPlan(jobs: 3, threadsPerJob: 5))
        XCTAssertEqual(plan(1.8e6, runs: 1, threads: 8), JobPlan(jobs: 1, threadsPerJob: 8))
        // 600 MFLOP asks for 4 threads (rounded up from 2.4).
        XCTAssertEqual(plan(600e6, runs: 8, threads: 16), JobPlan(jobs: 4, threadsPerJob: 4))
        // mlp-large, 2.85 GFLOP: every thread, one run at a time.
        XCTAssertEqual(plan(2.85e9, runs: 8, threads: 16), JobPlan(jobs: 1, threadsPerJob: 16))
        XCTAssertEqual(plan(2.85e9, runs: 8, threads: 2), JobPlan(jobs: 1, threadsPerJob: 2))
        // 10 GB runs with 25 GB usable: two at once.
        XCTAssertEqual(plan(1.8e6, runs: 16, threads: 16, bytes: 10e9, usable: 25e9), JobPlan(jobs: 2, threadsPerJob: 8))
        // The largest run decides for a sweep of mixed sizes.
        XCTAssertEqual(JobPlan.automatic(flopsPerStep: [1e6, 3e9], bytes: [1, 1], threads: 4, usableBytes: 1e12),
                       JobPlan(jobs: 1, threadsPerJob: 4))
    }

    func testFixedPlanSplitsTheThreads() {
        XCTAssertEqual(JobPlan.fixed(4, runs: 2, threads: 8), JobPlan(jobs: 2, threadsPerJob: 4))
        XCTAssertEqual(JobPlan.fixed(3, runs: 10, threads: 2), JobPlan(jobs: 3, threadsPerJob: 1))
        XCTAssertEqual(JobPlan.fixed(1, runs: 5, threads: 2), JobPlan(jobs: 1, threadsPerJob: 2))
    }

    /// The shipped bench specs: the sweep's small MLPs run side by side, the large MLP and the
    /// Transformer on every thread.
    func testAutomaticPlanForTheBenchSpecs() throws {
        let bench = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("experiments/bench")
        func plan(_ file: String, threads: Int) throws -> JobPlan {
            JobPlan.automatic(for: try ExperimentSpec.load(file: bench.appendingPathComponent(file).path), threads: threads)
        }
        XCTAssertEqual(try plan("sweep.json", threads: 2), JobPlan(jobs: 2, threadsPerJob: 1))
        XCTAssertEqual(try plan("mlp-small-sweep.json", threads: 8), JobPlan(jobs: 8, threadsPerJob: 1))
        XCTAssertEqual(try plan("mlp-large.json", threads: 8), JobPlan(jobs: 1, threadsPerJob: 8))
        XCTAssertEqual(try plan("transformer.json", threads: 8), JobPlan(jobs: 1, threadsPerJob: 8))
    }

    /// Every metric of every run, keyed by the run's config hash, metric name and step, the
    /// value as its bits; `time` (wall-clock seconds) by its steps only.
    func metricRows(_ database: String) throws -> [String] {
        let store = try ResultsStore(path: database, readOnly: true)
        return try store.query("""
            SELECT r.config_hash, m.name, m.step, m.value FROM metrics m JOIN runs r ON r.id = m.run_id
            ORDER BY r.config_hash, m.name, m.step, m.rowid
            """).rows.map { row in
            guard case .text(let hash) = row[0], case .text(let name) = row[1], case .integer(let step) = row[2] else {
                return "unexpected row \(row)"
            }
            let value: String = switch row[3] {
            case .real(let v) where name != "time": String(v.bitPattern, radix: 16)
            case .null: "null"
            default: "-"
            }
            return "\(hash) \(name) \(step) \(value)"
        }
    }

    /// The same sweep with --jobs 1, 2 and auto, on 2 threads and on 1: every metric but `time`
    /// is the same to the bit, `time` is logged at the same steps; with 2 jobs the run ids still
    /// follow the sweep's order. The data (teacher_classification, 2048 × 32 inputs) are
    /// generated on whichever threads a job has, the training split over them or not.
    func testResultsAreTheSameForAnyJobsAndThreads() throws {
        let spec = try specFile("""
            {"name": "jobs", "task": {"kind": "teacher_classification", "input_dim": 32, "train_size": 2048, "val_size": 256},
             "model": {"hidden": [64]}, "loss": "cross_entropy", "optimizer": {"kind": "adam", "lr": 0.01},
             "training": {"steps": 30, "batch_size": 64, "eval_every": 10},
             "sweep": {"seed": [0, 1], "optimizer.lr": [0.01, 0.03]}}
            """)
        let folder = URL(fileURLWithPath: spec).deletingLastPathComponent()
        let variants: [(name: String, arguments: [String])] = [
            ("jobs-1", ["--jobs", "1"]), ("jobs-2", ["--jobs", "2"]), ("jobs-auto", ["--jobs", "auto"]),
            ("default", []), ("threads-1", ["--threads", "1", "--jobs", "1"]), ("threads-1-jobs-2", ["--threads", "1", "--jobs", "2"]),
        ]
        var reference: [String]? = nil
        for variant in variants {
            let database = folder.appendingPathComponent("\(variant.name).sqlite").path
            let outcome = try runTrainlab(["run", spec, "--db", database, "--quiet"] + variant.arguments, in: self)
            XCTAssertEqual(outcome.status, 0, "\(variant.name): \(outcome.standardError)")
            let rows = try metricRows(database)
            XCTAssertEqual(rows.count, 4 * (30 * 5 + 4 * 2), variant.name)
            if let reference {
                XCTAssertEqual(rows, reference, variant.name)
            } else {
                reference = rows
            }
            let seeds = try ResultsStore(path: database, readOnly: true).runs().map(\.seed)
            XCTAssertEqual(seeds, [0, 0, 1, 1], "\(variant.name): run ids follow the sweep's order")
        }
    }

    /// bf16 runs are as reproducible as FP32 ones: an MLP sweep and a Transformer with bf16
    /// products give the same bits for 1 or 2 threads, 1 or 2 jobs, and on every instruction set
    /// the CPU runs but the portable one (whose elementwise loops have no FMA, in FP32 too): the
    /// VDPBF16PS kernel and the FMA fallbacks of the AVX-512 and AVX2 loops. And they are not the
    /// FP32 runs.
    func testBF16ResultsAreTheSameForAnyJobsThreadsAndInstructionSet() throws {
        let mlp = try specFile("""
            {"name": "bf16-jobs", "task": {"kind": "teacher_classification", "input_dim": 32, "train_size": 2048, "val_size": 256},
             "model": {"hidden": [96, 64]}, "loss": "cross_entropy", "optimizer": {"kind": "adam", "lr": 0.01},
             "training": {"steps": 20, "batch_size": 64, "eval_every": 10, "precision": "bf16"},
             "sweep": {"seed": [0, 1]}}
            """, name: "mlp.json")
        let transformer = try specFile("""
            {"name": "bf16-transformer", "task": {"kind": "copy", "vocab": 16, "seq_len": 24, "train_size": 64, "val_size": 16},
             "model": {"kind": "transformer", "d_model": 32, "layers": 1, "heads": 4, "kv_heads": 2, "activation": "swiglu"},
             "loss": "cross_entropy", "optimizer": {"kind": "adamw", "lr": 0.003},
             "training": {"steps": 8, "batch_size": 16, "eval_every": 4, "precision": "bf16"}}
            """, name: "transformer.json")
        let folder = URL(fileURLWithPath: mlp).deletingLastPathComponent()
        let sets = InstructionSet.supportedByCPU().filter { $0 != .portable }.map(\.rawValue)
        let variants: [(name: String, arguments: [String], environment: [String: String])] = [
            ("threads-2", ["--threads", "2", "--jobs", "1"], [:]), ("threads-1", ["--threads", "1", "--jobs", "1"], [:]),
            ("jobs-2", ["--threads", "2", "--jobs", "2"], [:]),
        ] + sets.map { ("isa-\($0)", ["--threads", "2", "--jobs", "1"], ["TRAINLAB_ISA": $0]) }
        var reference: [String]? = nil
        for variant in variants {
            let database = folder.appendingPathComponent("\(variant.name).sqlite").path
            let outcome = try runTrainlab(["run", mlp, transformer, "--db", database, "--quiet"] + variant.arguments, in: self,
                                          environment: variant.environment)
            XCTAssertEqual(outcome.status, 0, "\(variant.name): \(outcome.standardError)")
            let rows = try metricRows(database)
            XCTAssertGreaterThan(rows.count, 3 * 20 * 4, variant.name)
            if let reference {
                XCTAssertEqual(rows.count, reference.count, variant.name)
                XCTAssertEqual(zip(rows, reference).filter { $0 != $1 }.count, 0, "\(variant.name) differs from \(variants[0].name)")
            } else {
                reference = rows
            }
        }
        let fp32 = folder.appendingPathComponent("fp32.sqlite").path
        for spec in [mlp, transformer] {
            let text = try String(contentsOfFile: spec, encoding: .utf8).replacingOccurrences(of: #""precision": "bf16""#, with: #""precision": "fp32""#)
            try text.write(toFile: spec, atomically: true, encoding: .utf8)
        }
        XCTAssertEqual(try runTrainlab(["run", mlp, transformer, "--db", fp32, "--quiet"], in: self).status, 0)
        let losses = { (rows: [String]) in Set(rows.filter { $0.contains(" train_loss ") }.map { $0.split(separator: " ").dropFirst().joined(separator: " ") }) }
        XCTAssertNotEqual(losses(try metricRows(fp32)), losses(reference ?? []), "bf16 products change the losses")
    }

    /// `--jobs` takes a positive integer or `auto`; anything else is a usage error (exit 2) that
    /// touches no database.
    func testBadJobsAreUsageErrors() throws {
        let spec = try specFile(tinySpec)
        let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("bad.sqlite").path
        for (command, value) in [(["run", spec, "--db", database], "0"), (["run", spec, "--db", database], "foo"),
                                 (["run", spec, "--db", database], "-1"), (["bench", "sweep", spec], "2.5")] {
            let outcome = try runTrainlab(command + ["--jobs", value], in: self)
            XCTAssertEqual(outcome.status, 2, "\(command) --jobs \(value)")
            XCTAssertTrue(outcome.standardError.hasPrefix("trainlab: --jobs expects an integer >= 1 or auto, got '\(value)'\n"),
                          outcome.standardError)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: database))
    }
}
