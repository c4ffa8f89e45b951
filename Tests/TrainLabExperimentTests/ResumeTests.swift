import XCTest
import Foundation
import TrainLabAutodiff
import TrainLabIO
@testable import TrainLabExperiment

/// The three kinds of training state a resume must restore exactly (the cases).
enum ResumeSpecs {
    /// BatchNorm buffers and Adam's moments.
    static func mlpBatchNormAdam(steps: Int = 60) -> String { """
        {"name": "bn-adam", "task": {"kind": "blobs", "train_size": 96, "val_size": 32},
         "model": {"hidden": [12], "norm": {"kind": "batchnorm"}}, "loss": "cross_entropy",
         "optimizer": {"kind": "adam", "lr": 0.01}, "schedule": "cosine",
         "training": {"steps": \(steps), "batch_size": 16, "eval_every": 25, "checkpoint_every": 7}}
        """
    }
    /// AdamW's moments, and a schedule that depends on the step.
    static func transformerAdamW(steps: Int = 40) -> String { """
        {"name": "tf-adamw", "task": {"kind": "copy", "vocab": 6, "seq_len": 6, "train_size": 64, "val_size": 16},
         "model": {"kind": "transformer", "d_model": 16, "layers": 1, "heads": 2}, "loss": "cross_entropy",
         "optimizer": {"kind": "adamw", "lr": 0.003}, "schedule": {"kind": "warmup_cosine", "warmup_steps": 8},
         "training": {"steps": \(steps), "batch_size": 8, "eval_every": 15, "checkpoint_every": 6}}
        """
    }
    /// L-BFGS's history, step length and counts.
    static func lbfgs(steps: Int = 24) -> String { """
        {"name": "lbfgs", "task": {"kind": "blobs", "train_size": 48, "val_size": 16},
         "model": {"hidden": [6]}, "loss": "cross_entropy", "optimizer": {"kind": "lbfgs", "lr": 1, "max_iter": 4, "history_size": 5, "line_search_fn": "strong_wolfe"},
         "training": {"steps": \(steps), "batch_size": 48, "eval_every": 10, "checkpoint_every": 5}}
        """
    }
    /// A weight_norm constraint's multiplier (dual ascent), beside SGD's momentum.
    static func constrainedDualAscent(steps: Int = 30) -> String { """
        {"name": "constrained-dual", "task": {"kind": "teacher_regression", "train_size": 64, "val_size": 16},
         "model": {"hidden": [8]}, "loss": "mse", "optimizer": {"kind": "sgd", "lr": 0.05, "momentum": 0.9},
         "constraints": [{"kind": "weight_norm", "max": 1, "dual_lr": 0.5}],
         "training": {"steps": \(steps), "batch_size": 16, "eval_every": 10, "checkpoint_every": 7}}
        """
    }
    /// The augmented Lagrangian's multiplier under L-BFGS's line search.
    static func constrainedAugmentedLBFGS(steps: Int = 16) -> String { """
        {"name": "constrained-augmented", "task": {"kind": "blobs", "train_size": 48, "val_size": 16},
         "model": {"hidden": [6]}, "loss": "cross_entropy", "optimizer": {"kind": "lbfgs", "lr": 1, "max_iter": 4},
         "constraints": [{"kind": "weight_norm", "max": 1.5, "method": "augmented", "rho": 0.5}],
         "training": {"steps": \(steps), "batch_size": 48, "eval_every": 5, "checkpoint_every": 5}}
        """
    }
    static let all = [mlpBatchNormAdam(), transformerAdamW(), lbfgs(), constrainedDualAscent(), constrainedAugmentedLBFGS()]
}

/// Resume in process: a run stopped at any step boundary and resumed from its saved state logs,
/// with what it logged before, exactly the metrics of the run never stopped.
final class ResumeTests: XCTestCase {
    typealias Row = (step: Int, name: String, value: Double)

    func spec(_ text: String) throws -> ExperimentSpec { try ExperimentSpec.load(file: try specFile(text))[0] }

    func assertIdentical(_ rows: [Row], _ expected: [Row], _ message: String, line: UInt = #line) {
        // `time` is wall-clock training seconds: logged at the same steps, never the same value.
        func key(_ rows: [Row]) -> [String] {
            rows.map { "\($0.name) \($0.step)" + ($0.name == "time" ? "" : " \($0.value.bitPattern)") }.sorted()
        }
        XCTAssertEqual(rows.count, expected.count, message, line: line)
        XCTAssertEqual(key(rows), key(expected), message, line: line)
    }

    /// Cancelled (Ctrl-C, SIGTERM) before steps k₁ < k₂ < k₃, resumed each time from the state the
    /// cancellation saved.
    func testStoppedAndResumedRunsMatchTheUninterruptedOne() throws {
        for text in ResumeSpecs.all {
            let spec = try spec(text)
            let reference = MemoryMetricsSink()
            XCTAssertEqual(try Runner(spec: spec).run(metrics: reference).end, .completed)
            var generator = SplitMix64(seed: UInt64(spec.training.steps))
            let stops = (0..<3).map { _ in Int(generator.next() % UInt64(spec.training.steps - 1)) + 2 }.sorted()
            let (rows, attempts) = try trainInterrupted(spec, before: stops)
            for attempt in attempts.dropLast() {
                XCTAssertEqual(attempt.result.end, .interrupted, spec.name)
                XCTAssertEqual(attempt.savedStep, attempt.stop - 1, spec.name)
            }
            XCTAssertEqual(attempts.last?.result.end, .completed, spec.name)
            assertIdentical(rows, reference.entries, "\(spec.name) stopped before steps \(stops)")
        }
    }

    /// A kill between saves: resumed from each periodic state (`checkpoint_every`), with the rows
    /// logged up to that state, it finishes identically.
    func testResumeFromEveryPeriodicCheckpoint() throws {
        for text in ResumeSpecs.all {
            let spec = try spec(text)
            let reference = RecordingSink()
            XCTAssertEqual(try Runner(spec: spec).run(metrics: reference).end, .completed)
            XCTAssertEqual(reference.checkpoints.map(\.step),
                           Array(stride(from: spec.training.checkpointEvery, to: spec.training.steps, by: spec.training.checkpointEvery)))
            for checkpoint in reference.checkpoints {
                let resumed = MemoryMetricsSink()
                XCTAssertEqual(try Runner(spec: spec).run(metrics: resumed, resumingFrom: checkpoint.state).end, .completed)
                assertIdentical(Array(reference.entries[..<checkpoint.rows]) + resumed.entries, reference.entries,
                                "\(spec.name) resumed after step \(checkpoint.step)")
            }
        }
    }

    /// A state from another model is refused, not half applied.
    func testAStateThatDoesNotFitIsRefused() throws {
        let saved = RecordingSink()
        _ = try Runner(spec: try spec(ResumeSpecs.lbfgs())).run(metrics: saved)
        let other = try spec(ResumeSpecs.mlpBatchNormAdam())
        XCTAssertThrowsError(try Runner(spec: other).run(metrics: MemoryMetricsSink(), resumingFrom: saved.checkpoints[0].state))
        var corrupted = saved.checkpoints[0].state
        corrupted[corrupted.count / 2] ^= 1
        XCTAssertThrowsError(try StateArchive(decoding: corrupted)) { XCTAssertTrue("\($0)".contains("checksum"), "\($0)") }
    }
}

/// Keeps every metric and every checkpoint, with how many rows preceded it.
final class RecordingSink: MetricsSink {
    private(set) var entries: [(step: Int, name: String, value: Double)] = []
    private(set) var checkpoints: [(step: Int, rows: Int, state: [UInt8])] = []

    func log(step: Int, name: String, value: Double) { entries.append((step, name, value)) }
    func checkpoint(step: Int, state: [UInt8]) { checkpoints.append((step, entries.count, state)) }
}

/// `checkpoint.save_every`: the weights every N updates, in safetensors files named by step.
final class SnapshotTests: XCTestCase {
    func testSnapshotsAreWrittenEveryNStepsAndTheLastEqualsTheFinalWeights() throws {
        let file = try specFile("""
            {"name": "snap", "task": {"kind": "blobs", "train_size": 64, "val_size": 0}, "model": {"hidden": [6]},
             "loss": "cross_entropy", "optimizer": "sgd", "training": {"steps": 30, "batch_size": 16},
             "checkpoint": {"save_every": {"steps": 10, "path": "snaps/w-{step}.safetensors"}, "save_final": "final.safetensors"}}
            """, name: "snap-\(UUID().uuidString).json")
        let folder = URL(fileURLWithPath: file).deletingLastPathComponent()
        _ = try Runner(spec: try ExperimentSpec.load(file: file)[0]).run(metrics: MemoryMetricsSink())
        let written = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("snaps").path).sorted()
        XCTAssertEqual(written, ["w-10.safetensors", "w-20.safetensors", "w-30.safetensors"])
        func tensors(_ path: String) throws -> [String: [Float]] {
            let header = try SafeTensors.open(path: folder.appendingPathComponent(path).path)
            return Dictionary(uniqueKeysWithValues: try header.entries.map { ($0.name, try header.read($0).scalars) })
        }
        XCTAssertEqual(try tensors("snaps/w-30.safetensors"), try tensors("final.safetensors"))
        XCTAssertNotEqual(try tensors("snaps/w-10.safetensors"), try tensors("final.safetensors"))
    }

    func testASnapshotPathWithoutStepIsRefused() throws {
        let file = try specFile("""
            {"name": "snap", "task": {"kind": "blobs"}, "model": {"hidden": [6]}, "loss": "cross_entropy", "optimizer": "sgd",
             "checkpoint": {"save_every": {"steps": 10, "path": "w.safetensors"}}}
            """, name: "snap-\(UUID().uuidString).json")
        XCTAssertThrowsError(try ExperimentSpec.load(file: file)) { XCTAssertTrue("\($0)".contains("{step}"), "\($0)") }
    }
}

/// One attempt of `trainInterrupted`: where it was cancelled, how it ended, and the step of the
/// state it saved last.
struct ResumeAttempt {
    let stop: Int
    let result: RunResult
    let savedStep: Int?
}

/// Trains `spec` in attempts: each is cancelled before step `stops[i]` (Ctrl-C's path) and the
/// next resumes from the state it saved; the last runs to the end. Returns every row logged
/// over the attempts, and the attempts.
func trainInterrupted(_ spec: ExperimentSpec, before stops: [Int])
    throws -> (rows: [(step: Int, name: String, value: Double)], attempts: [ResumeAttempt]) {
    var rows: [(step: Int, name: String, value: Double)] = []
    var attempts: [ResumeAttempt] = []
    var state: [UInt8]? = nil
    for stop in stops + [Int.max] {
        let sink = MemoryMetricsSink()
        var checks = 0
        let resumedAfter = try state.map { try StateArchive(decoding: $0).integer("run.step") } ?? 0
        let result = try Runner(spec: spec).run(metrics: sink, isCancelled: {
            checks += 1
            return resumedAfter + checks >= stop
        }, resumingFrom: state)
        rows += sink.entries
        state = sink.savedState?.state
        attempts.append(ResumeAttempt(stop: stop, result: result, savedStep: sink.savedState?.step))
    }
    return (rows, attempts)
}
