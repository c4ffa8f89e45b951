import XCTest
import Foundation
import TrainLabStore
import TrainLabSpec
import TrainLabIO
import TrainLabAutodiff
@testable import TrainLabExperiment

/// Weights and data leave and re-enter TrainLab through safetensors and .npy.
final class InteropTests: XCTestCase {
    func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("trainlab-interop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func spec(_ text: String, in folder: URL, name: String = "spec.json") throws -> [ExperimentSpec] {
        let path = folder.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try ExperimentSpec.load(file: path)
    }

    static let synthetic = """
        {"name": "blobs", "seed": 4, "task": {"kind": "blobs", "classes": 3, "input_dim": 5, "train_size": 96, "val_size": 32},
         "model": {"hidden": [16], "norm": {"kind": "batchnorm"}}, "loss": "cross_entropy",
         "optimizer": {"kind": "sgd", "lr": 0.1}, "training": {"steps": 30, "batch_size": 16, "eval_every": 10},
         "checkpoint": {"save_init": "init.safetensors", "save_final": "final.safetensors"}}
        """

    /// export-data then `task.kind = "file"` over the exported files trains exactly the same run:
    /// same losses at every step (the data round-trips bit for bit).
    func testExportedDataReproducesTheRun() throws {
        let dir = try folder()
        let original = try spec(Self.synthetic, in: dir)[0]
        let files = try DataExport.write(original, to: dir.appendingPathComponent("data").path)
        XCTAssertEqual(files.count, 4)
        let fromFiles = try spec(Self.synthetic.replacingOccurrences(
            of: #"{"kind": "blobs", "classes": 3, "input_dim": 5, "train_size": 96, "val_size": 32}"#,
            with: #"{"kind": "file", "train_inputs": "data/train_inputs.npy", "train_targets": "data/train_targets.npy", "val_inputs": "data/val_inputs.npy", "val_targets": "data/val_targets.npy"}"#),
            in: dir, name: "file.json")[0]
        XCTAssertEqual(fromFiles.task.classes, 3, "classes default to the largest id + 1")
        let a = MemoryMetricsSink(), b = MemoryMetricsSink()
        _ = try Runner(spec: original).run(metrics: a)
        _ = try Runner(spec: fromFiles).run(metrics: b)
        XCTAssertEqual(a.values("train_loss").map(\.value), b.values("train_loss").map(\.value))
        XCTAssertEqual(a.values("val_loss").map(\.value), b.values("val_loss").map(\.value))
    }

    /// save_final then init_from: the second run starts where the first ended (its step-0
    /// validation loss equals the first run's last one), BatchNorm running statistics included.
    func testSavedWeightsReload() throws {
        let dir = try folder()
        let first = try spec(Self.synthetic, in: dir)[0]
        let sink = MemoryMetricsSink()
        _ = try Runner(spec: first).run(metrics: sink)
        let saved = try SafeTensors.read(path: dir.appendingPathComponent("final.safetensors").path)
        XCTAssertEqual(Set(saved.keys), ["layers.0.weight", "layers.0.bias", "layers.0.norm.weight", "layers.0.norm.bias", "layers.0.norm.num_batches_tracked",
                                         "layers.0.norm.running_mean", "layers.0.norm.running_var", "layers.1.weight", "layers.1.bias"])
        XCTAssertEqual(saved["layers.0.weight"]!.shape, [16, 5], "PyTorch layout [out, in]")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("init.safetensors").path))
        let second = try spec(Self.synthetic.replacingOccurrences(
            of: #""checkpoint": {"save_init": "init.safetensors", "save_final": "final.safetensors"}"#,
            with: #""checkpoint": {"init_from": "final.safetensors"}"#), in: dir, name: "resume.json")[0]
        let resumed = MemoryMetricsSink()
        _ = try Runner(spec: second).run(metrics: resumed)
        XCTAssertEqual(resumed.values("val_loss").first!.value, sink.values("val_loss").last!.value)
    }

    /// A weights file that does not fit the model is a bad input naming what differs.
    func testMismatchedWeightsAreRefused() throws {
        let dir = try folder()
        _ = try Runner(spec: try spec(Self.synthetic, in: dir)[0]).run(metrics: MemoryMetricsSink())
        let wider = try spec(Self.synthetic
            .replacingOccurrences(of: #""hidden": [16]"#, with: #""hidden": [17]"#)
            .replacingOccurrences(of: #""checkpoint": {"save_init": "init.safetensors", "save_final": "final.safetensors"}"#,
                                  with: #""checkpoint": {"init_from": "final.safetensors"}"#), in: dir, name: "wider.json")[0]
        XCTAssertThrowsError(try Runner(spec: wider).check()) { error in
            XCTAssertTrue("\(error)".contains("checkpoint.init_from: "), "\(error)")
            XCTAssertTrue("\(error)".contains("'layers.0.weight' is [16, 5] in the file, the model needs [17, 5]"), "\(error)")
        }
    }

    /// A sweep saving weights must name each run's file, or every run would overwrite one file.
    func testSweepNeedsRunPlaceholder() throws {
        let dir = try folder()
        let text = Self.synthetic.replacingOccurrences(of: #""seed": 4,"#, with: #""sweep": {"seed": [1, 2]},"#)
        XCTAssertThrowsError(try spec(text, in: dir)) { error in
            XCTAssertTrue("\(error)".contains("put {run} in the name"), "\(error)")
        }
        let named = try spec(text.replacingOccurrences(of: "final.safetensors", with: "final-{run}.safetensors")
            .replacingOccurrences(of: "init.safetensors", with: "init-{run}.safetensors"), in: dir)
        XCTAssertEqual(named.map { URL(fileURLWithPath: $0.checkpoint.saveFinal!).lastPathComponent },
                       ["final-1.safetensors", "final-2.safetensors"])
    }

    /// A state_dict saved by PyTorch (safetensors.torch.save_file of an MLP with BatchNorm, after
    /// a few training steps; tools/golden/make_golden.py) starts a TrainLab run: init_from loads
    /// every tensor, the int64 step counter included, and the eval-mode output matches PyTorch's.
    func testPyTorchCheckpointLoads() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("GoldenTests/Fixtures")
        let weights = fixtures.appendingPathComponent("mlp_batchnorm_torch.safetensors").path
        let expected = try JSONSerialization.jsonObject(
            with: Data(contentsOf: fixtures.appendingPathComponent("mlp_batchnorm_torch.json"))) as! [String: [NSNumber]]
        let dir = try folder()
        let run = try spec("""
            {"name": "from-torch", "task": {"kind": "blobs", "classes": 4, "input_dim": 6},
             "model": {"hidden": [12, 9], "norm": {"kind": "batchnorm", "placement": "post"}}, "loss": "cross_entropy",
             "optimizer": {"kind": "sgd"}, "checkpoint": {"init_from": "\(weights)"}}
            """, in: dir)[0]
        let runner = Runner(spec: run)
        try runner.check()
        let (_, model) = try runner.prepare()
        try Checkpoints.load(weights, into: model, specFile: run.file)
        model.isTraining = false
        let tape = Tape(pool: .serial)
        let inputs = expected["inputs"]!.map(\.floatValue)
        let output = tape.value(model.forward(tape.constant(Tensor(shape: [5, 6], values: inputs)), on: tape)).scalars
        for (ours, torch) in zip(output, expected["output"]!.map(\.floatValue)) {
            XCTAssertEqual(ours, torch, accuracy: 1e-5 * max(1, abs(torch)))
        }
    }

    /// PyTorch's load_state_dict accepts a BatchNorm state without `num_batches_tracked` (older
    /// PyTorch saved none) and starts the counter at 0: so does init_from. The PyTorch state of
    /// testPyTorchCheckpointLoads (3 training steps) loads its counters as 3; the same state
    /// without them, loaded over it, resets them to 0 and still gives PyTorch's eval output.
    func testBatchNormStateWithoutStepCounterLoads() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("GoldenTests/Fixtures")
        let torchWeights = fixtures.appendingPathComponent("mlp_batchnorm_torch.safetensors").path
        let expected = try JSONSerialization.jsonObject(
            with: Data(contentsOf: fixtures.appendingPathComponent("mlp_batchnorm_torch.json"))) as! [String: [NSNumber]]
        let dir = try folder()
        let withoutCounters = dir.appendingPathComponent("no_counters.safetensors").path
        try SafeTensors.write(try SafeTensors.readOrdered(path: torchWeights).filter { !$0.name.hasSuffix("num_batches_tracked") },
                              metadata: [:], to: withoutCounters)
        let counters = ["layers.0.norm.num_batches_tracked", "layers.1.norm.num_batches_tracked"]
        let run = try spec("""
            {"name": "old-torch", "task": {"kind": "blobs", "classes": 4, "input_dim": 6},
             "model": {"hidden": [12, 9], "norm": {"kind": "batchnorm", "placement": "post"}}, "loss": "cross_entropy",
             "optimizer": {"kind": "sgd"}, "checkpoint": {"init_from": "no_counters.safetensors"}}
            """, in: dir)[0]
        try Runner(spec: run).check()
        let (_, model) = try Runner(spec: run).prepare()
        func counterValues() -> [Float] { counters.map { name in model.buffers.first { $0.name == name }!.tensor[0] } }

        try Checkpoints.load(torchWeights, into: model, specFile: run.file)
        XCTAssertEqual(counterValues(), [3, 3])
        try Checkpoints.load(withoutCounters, into: model, specFile: run.file)
        XCTAssertEqual(counterValues(), [0, 0])
        model.isTraining = false
        let tape = Tape(pool: .serial)
        let output = tape.value(model.forward(tape.constant(Tensor(shape: [5, 6], values: expected["inputs"]!.map(\.floatValue))), on: tape)).scalars
        for (ours, torch) in zip(output, expected["output"]!.map(\.floatValue)) {
            XCTAssertEqual(ours, torch, accuracy: 1e-5 * max(1, abs(torch)))
        }
    }

    func testMissingDataFileIsABadInput() throws {
        let dir = try folder()
        XCTAssertThrowsError(try spec(#"{"name": "f", "task": {"kind": "file", "train_inputs": "x.npy", "train_targets": "y.npy"}, "loss": "mse", "optimizer": {"kind": "sgd"}}"#, in: dir)) { error in
            XCTAssertTrue(error is SpecError)
            XCTAssertTrue("\(error)".contains("task.train_inputs"), "\(error)")
        }
    }
}
