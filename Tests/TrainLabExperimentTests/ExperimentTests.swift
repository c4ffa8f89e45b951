import XCTest
import TrainLabKernels
import Foundation
import TrainLabStore
import TrainLabSpec
@testable import TrainLabExperiment
import TrainLabAutodiff
import TrainLabModels

/// Writes `text` to a fresh temporary spec file and returns its path.
func specFile(_ text: String, name: String = "spec.json") throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trainlab-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let path = folder.appendingPathComponent(name).path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

let tinySpec = """
    {
      "name": "tiny",
      "seed": 3,
      "task": { "kind": "blobs", "classes": 3, "input_dim": 4, "train_size": 256, "val_size": 64 },
      "model": { "kind": "mlp", "hidden": [16], "activation": "tanh" },
      "loss": "cross_entropy",
      "optimizer": { "kind": "sgd", "lr": 0.1, "momentum": 0.9 },
      "training": { "steps": 40, "batch_size": 32, "log_every": 1, "eval_every": 20 },
      "sweep": { "optimizer.lr": [0.1, 0.01], "seed": [0, 1] }
    }
    """

final class SpecTests: XCTestCase {
    /// The sweep expands to the cartesian product, first key outermost, defaults filled in.
    func testSweepExpansionAndDefaults() throws {
        let specs = try ExperimentSpec.load(file: try specFile(tinySpec))
        XCTAssertEqual(specs.map(\.lr), [0.1, 0.1, 0.01, 0.01])
        XCTAssertEqual(specs.map(\.seed), [0, 1, 0, 1])
        XCTAssertEqual(specs[0].training.shuffle, true)
        XCTAssertEqual(specs[0].schedule, .constant)
        XCTAssertEqual(specs[2].flattenedParams["optimizer.lr"], 0.01)
        XCTAssertEqual(specs[2].flattenedParams["model.hidden"], [16])
        XCTAssertNotEqual(specs[0].configHash(programVersion: "1"), specs[1].configHash(programVersion: "1"))
        XCTAssertNotEqual(specs[0].configHash(programVersion: "1"), specs[0].configHash(programVersion: "2"))
    }

    /// Each bad spec fails before training with a message naming file, line, path and what was
    /// expected.
    func testBadSpecsNameThePathAndExpectation() throws {
        let cases: [(String, String)] = [
            (#""optimizer": { "kind": "sgd", "lr": 0.1, "momentun": 0.9 }"#, "optimizer.momentun: unknown key 'momentun' in optimizer, did you mean 'momentum'?"),
            (#""optimizer": { "kind": "adma", "lr": 0.1 }"#, "did you mean 'adam'?"),
            (#""optimizer": { "kind": "adam", "betas": [0.9, 1.5] }"#, "optimizer.betas[1]: expected a number in [0, 1), got 1.5"),
            (#""optimizer": { "kind": "sgd", "nesterov": true }"#, "Nesterov momentum requires momentum > 0"),
            (#""optimizer": { "kind": "sgd", "lr": -1 }"#, "optimizer.lr: expected a number"),
            (#""optimizer": { "kind": "newton", "damping": -1 }"#, "optimizer.damping: expected a number"),
        ]
        for (optimizer, expected) in cases {
            let text = """
                {"name": "bad", "task": {"kind": "blobs"}, "loss": "cross_entropy",
                 \(optimizer)}
                """
            let path = try specFile(text)
            XCTAssertThrowsError(try ExperimentSpec.load(file: path), optimizer) { error in
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix(path + ":2:"), "\(message) should start with the file and line 2")
                XCTAssertTrue(message.contains(expected), "\(message) should contain \(expected)")
            }
        }
    }

    func testLossMustFitTheTask() throws {
        let path = try specFile(#"{"name": "x", "task": {"kind": "linear_regression"}, "loss": "cross_entropy", "optimizer": {"kind": "sgd"}}"#)
        XCTAssertThrowsError(try ExperimentSpec.load(file: path)) { error in
            XCTAssertTrue("\(error)".contains("loss 'cross_entropy' reads classes targets, which task 'linear_regression' does not produce; use 'blobs' or 'spirals' or 'teacher_classification'"), "\(error)")
        }
    }

    /// The estimate counts exactly the parameters the built model has, and a model far beyond
    /// the machine's memory is refused with the estimate.
    func testResourceEstimate() throws {
        let spec = try ExperimentSpec.load(file: try specFile(tinySpec))[0]
        let (_, model) = try Runner(spec: spec).prepare()
        let estimate = ResourceEstimate(spec)
        XCTAssertEqual(estimate.parameters, model.parameters.reduce(0) { $0 + $1.value.count })
        XCTAssertEqual(estimate.flopsPerStep, 6 * 32 * Double(4 * 16 + 16 * 3))
        let huge = try ExperimentSpec.load(file: try specFile(
            #"{"name": "huge", "task": {"kind": "blobs", "input_dim": 60000, "train_size": 10}, "model": {"hidden": [60000, 60000]}, "loss": "cross_entropy", "optimizer": {"kind": "adam"}}"#))[0]
        XCTAssertThrowsError(try ResourceEstimate(huge).check(huge)) { error in
            XCTAssertTrue("\(error)".contains("this run would need about"), "\(error)")
        }
    }

    /// `training.precision`: fp32 by default and in the resolved config (so precisions are
    /// different configs); the estimate's packing buffers halve with bf16 pairs.
    func testPrecisionKeyAndItsMemory() throws {
        let fp32 = try ExperimentSpec.load(file: try specFile(tinySpec))[0]
        XCTAssertEqual(fp32.training.precision, .fp32)
        let bf16Text = tinySpec.replacingOccurrences(of: #""training": {"#, with: #""training": {"precision": "bf16", "#)
        XCTAssertNotEqual(bf16Text, tinySpec)
        let bf16 = try ExperimentSpec.load(file: try specFile(bf16Text))[0]
        XCTAssertEqual(bf16.training.precision, .bf16)
        guard case .object(let config) = fp32.config, case .object(let training)? = config["training"] else { return XCTFail("config") }
        XCTAssertEqual(training["precision"], .string("fp32"), "the default is part of the stored config")
        XCTAssertNotEqual(fp32.configHash(programVersion: "t"), bf16.configHash(programVersion: "t"))
        let packingFP32 = ResourceEstimate.packingBytes(inner: 1024, rows: 256, columns: 1024, precision: .fp32)
        let packingBF16 = ResourceEstimate.packingBytes(inner: 1024, rows: 256, columns: 1024, precision: .bf16)
        // bf16 adds both whole operands of the product, packed once for all threads: 1024 × (256 + 1024) values.
        let shared = 1024.0 * (256 + 1024) * 4
        if InstructionSet.current == .avx512BF16 {
            XCTAssertEqual(packingBF16 - shared / 2, packingFP32 / 2, "bf16 pairs: half the words")
        } else {
            XCTAssertEqual(packingBF16 - shared, packingFP32, "the FMA fallback packs bf16 values as Float32")
        }
        XCTAssertEqual(ResourceEstimate(bf16).bytes - ResourceEstimate(fp32).bytes,
                       ResourceEstimate.packingBytes(inner: 32, rows: 32, columns: 16, precision: .bf16)
                       - ResourceEstimate.packingBytes(inner: 32, rows: 32, columns: 16, precision: .fp32))
    }

    /// The causal kernel computes, per head, each 64-row block against the keys up to its last
    /// row: for T = 256, 64 · (64 + 128 + 192 + 256) entries, not T²; FLOPs count what runs.
    func testAttentionFLOPsCountOnlyTheBlocksComputed() {
        XCTAssertEqual(ResourceEstimate.attentionEntries(length: 256, causal: true), 64 * (64 + 128 + 192 + 256))
        XCTAssertEqual(ResourceEstimate.attentionEntries(length: 256, causal: false), 256 * 256)
        XCTAssertEqual(ResourceEstimate.attentionEntries(length: 70, causal: true), 64 * 64 + 6 * 70)
        XCTAssertEqual(ResourceEstimate.attentionEntries(length: 0, causal: true), 0)
    }

    func testMissingFileIsABadInput() {
        XCTAssertThrowsError(try ExperimentSpec.load(file: "/nonexistent/spec.json")) { error in
            XCTAssertTrue(error is SpecError)
            XCTAssertTrue("\(error)".contains("no such file"))
        }
    }
}

final class RunnerTests: XCTestCase {
    /// A run writes docs/interface.md's metrics: train_loss/grad_norm/lr at every step 1...40 (log_every
    /// 1), val_loss and val_accuracy at steps 0, 20, 40; and it learns (blobs are separable).
    func testRunLogsContractMetrics() throws {
        let spec = try ExperimentSpec.load(file: try specFile(tinySpec))[0]
        let sink = MemoryMetricsSink()
        let result = try Runner(spec: spec).run(metrics: sink)
        XCTAssertEqual(result.end, .completed)
        XCTAssertEqual(sink.values("train_loss").map(\.step), Array(1...40))
        XCTAssertEqual(sink.values("grad_norm").count, 40)
        XCTAssertEqual(sink.values("lr").map(\.value), [Double](repeating: 0.1, count: 40))
        XCTAssertEqual(sink.values("val_loss").map(\.step), [0, 20, 40])
        XCTAssertEqual(sink.values("val_accuracy").map(\.step), [0, 20, 40])
        XCTAssertGreaterThan(result.finalValidationAccuracy!, 0.9)
        XCTAssertLessThan(sink.values("train_loss").last!.value, sink.values("train_loss").first!.value / 2)
    }

    /// Same spec, same seed: identical metrics (data order, init and arithmetic are seeded).
    func testRunsAreReproducible() throws {
        let spec = try ExperimentSpec.load(file: try specFile(tinySpec))[1]
        let a = MemoryMetricsSink(), b = MemoryMetricsSink()
        _ = try Runner(spec: spec).run(metrics: a)
        _ = try Runner(spec: spec).run(metrics: b)
        XCTAssertEqual(a.values("train_loss").map(\.value), b.values("train_loss").map(\.value))
    }

    /// Grouped tasks feed their losses end to end: ranking lists (with NDCG logged), pairs,
    /// triplets and two-view contrastive batches all train, and their validation loss falls.
    func testGroupedTasksTrain() throws {
        let cases = [("ranknet", "ranking_lists", ""), ("cosent", "pairs", ""), ("margin_ranking", "pairs", #", "output_dim": 1"#),
                     ("triplet_margin", "triplets", ""), ("info_nce", "contrastive_views", "")]
        for (loss, task, extra) in cases {
            let text = """
                {"name": "\(loss)", "task": {"kind": "\(task)", "train_size": 256, "val_size": 64\(extra)},
                 "model": {"hidden": [32]}, "loss": "\(loss)", "optimizer": {"kind": "adam", "lr": 0.003},
                 "training": {"steps": 60, "batch_size": 16, "eval_every": 60}}
                """
            let spec = try ExperimentSpec.load(file: try specFile(text))[0]
            let sink = MemoryMetricsSink()
            let result = try Runner(spec: spec).run(metrics: sink)
            XCTAssertEqual(result.end, .completed, loss)
            let validation = sink.values("val_loss").map(\.value)
            XCTAssertLessThan(validation.last!, validation.first!, "\(loss) on \(task): \(validation)")
            if task == "ranking_lists" {
                let ndcg = sink.values("val_ndcg").map(\.value)
                XCTAssertGreaterThan(ndcg.last!, ndcg.first!, "NDCG improves")
                XCTAssertLessThanOrEqual(ndcg.last!, 1)
            }
        }
    }

    /// A learning rate far too large makes the loss blow up: the run ends `diverged` with its step.
    func testDivergenceIsAResult() throws {
        let text = tinySpec.replacingOccurrences(of: #""sweep": { "optimizer.lr": [0.1, 0.01], "seed": [0, 1] }"#, with: #""seed": 0"#)
            .replacingOccurrences(of: #""lr": 0.1, "momentum": 0.9"#, with: #""lr": 1e5, "momentum": 0.9"#)
            .replacingOccurrences(of: "\"seed\": 3,", with: "")
        let spec = try ExperimentSpec.load(file: try specFile(text))[0]
        let result = try Runner(spec: spec).run(metrics: MemoryMetricsSink())
        XCTAssertEqual(result.end, .diverged)
        XCTAssertNotNil(result.divergedStep)
    }
}

final class InitProbeTests: XCTestCase {
    /// The probe's orthogonality measure: 0 for an orthogonal matrix, about 1/√n for N(0, 1/n)
    /// (the notes' corollary 2), ≈ 1 for a matrix far from orthogonal.
    func testOrthogonalityDefect() {
        let identity = Tensor(shape: [3, 3], values: [1, 0, 0, 0, 1, 0, 0, 0, 1])
        XCTAssertEqual(InitProbe.orthogonalityDefect(identity), 0)
        let doubled = Tensor(shape: [2, 2], values: [2, 0, 0, 2])  // WᵀW - I = 3I: ‖·‖_F = 3√2, / 2
        XCTAssertEqual(InitProbe.orthogonalityDefect(doubled), 3 * 2.0.squareRoot() / 2, accuracy: 1e-12)
        var generator = SplitMix64(seed: 1)
        let n = 256
        let w = Tensor(shape: [n, n])
        Initializer.normal(mean: 0, std: 1 / Double(n).squareRoot()).fill(w, using: &generator)
        XCTAssertEqual(InitProbe.orthogonalityDefect(w) * Double(n).squareRoot(), 1, accuracy: 0.05)
    }

    /// With `probe`, step 0 carries act/grad RMS per layer; Kaiming init keeps a deep ReLU
    /// network's activation RMS within a factor 2 of the first layer's at the last hidden layer.
    func testProbeMetrics() throws {
        let text = """
            {"name": "probe", "probe": true, "task": {"kind": "teacher_classification", "input_dim": 64, "train_size": 256, "val_size": 0},
             "model": {"hidden": [64, 64, 64, 64, 64, 64], "activation": "relu", "init": {"weight": {"kind": "kaiming_normal", "nonlinearity": "relu"}, "bias": "zeros"}},
             "loss": "cross_entropy", "optimizer": {"kind": "sgd", "lr": 0.01}, "training": {"steps": 1, "batch_size": 256}}
            """
        let spec = try ExperimentSpec.load(file: try specFile(text))[0]
        let sink = MemoryMetricsSink()
        _ = try Runner(spec: spec).run(metrics: sink)
        let first = sink.values("probe/act_rms/layers.0")[0].value, last = sink.values("probe/act_rms/layers.5")[0].value
        XCTAssertEqual(sink.values("probe/act_rms/layers.0")[0].step, 0)
        XCTAssertEqual(last / first, 1, accuracy: 0.5)
        XCTAssertGreaterThan(sink.values("probe/grad_rms/layers.6")[0].value, 0)
        XCTAssertEqual(sink.values("probe/orthogonality/layers.3").count, 1)
    }
}
