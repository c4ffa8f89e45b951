import XCTest
import Foundation
import TrainLabSpec
import TrainLabIO
import TrainLabData
@testable import TrainLabExperiment

/// The inputs the fuzzer and outside checks found trapping, each refused at its own path.
final class SpecRangeTests: XCTestCase {
    static let transformer = #"{"kind": "transformer", "d_model": 16, "layers": 1, "heads": 2}"#

    func spec(task: String, model: String = SpecRangeTests.transformer) -> String {
        """
        {"name": "ranges", "task": \(task), "model": \(model), "loss": "cross_entropy",
         "optimizer": {"kind": "adam", "lr": 0.01}, "training": {"steps": 3, "batch_size": 4}}
        """
    }

    func assertRefused(_ text: String, at path: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let specPath = try specFile(text)
        XCTAssertThrowsError(try ExperimentSpec.loadChecked(file: specPath), file: file, line: line) { error in
            guard let error = error as? SpecError else { return XCTFail("not a SpecError: \(error)", file: file, line: line) }
            XCTAssertEqual(error.path, path, "\(error)", file: file, line: line)
            XCTAssertTrue(error.message.contains(expected), "\(error)", file: file, line: line)
        }
    }

    /// Task options the resource estimate reads are range-checked when the spec is decoded,
    /// before any arithmetic on them.
    func testHugeTaskOptionsAreRefusedAtTheirPath() throws {
        try assertRefused(spec(task: #"{"kind": "copy", "seq_len": 1e300}"#), at: "task.seq_len",
                          "expected an integer in 2...4096, got 1e+300")
        try assertRefused(spec(task: #"{"kind": "copy", "vocab": 1e18}"#), at: "task.vocab", "expected an integer in")
        try assertRefused(spec(task: #"{"kind": "modular_addition", "modulus": 1e10}"#), at: "task.modulus",
                          "expected an integer in 2...1000, got 10000000000")
        try assertRefused(spec(task: #"{"kind": "ranking_lists", "list_size": 1e10}"#, model: #"{"kind": "mlp", "hidden": [8]}"#)
                              .replacingOccurrences(of: "cross_entropy", with: "listnet"),
                          at: "task.list_size", "expected an integer in 2...4096, got 10000000000")
        try assertRefused(spec(task: #"{"kind": "copy", "train_size": 9223372036854775808}"#), at: "task.train_size", "expected an integer in")
        try assertRefused(spec(task: #"{"kind": "copy", "seq_len": 16.5}"#), at: "task.seq_len", "expected an integer")
        try assertRefused(spec(task: #"{"kind": "blobs", "spread": -1e308}"#, model: #"{"kind": "mlp", "hidden": [8]}"#),
                          at: "task.spread", "expected a number in [0, 1000000], got -1e+308")
        try assertRefused(spec(task: #"{"kind": "teacher_regression", "teacher_hidden": 1e18}"#, model: #"{"kind": "mlp", "hidden": [8]}"#)
                              .replacingOccurrences(of: "cross_entropy", with: "mse"),
                          at: "task.teacher_hidden", "expected an integer in 1...4096")
    }

    /// Every task-specific option the data module documents has a range for the spec check.
    func testEveryDocumentedTaskOptionHasARange() {
        let standard: Set = ["train_size", "val_size", "input_dim", "output_dim", "classes", "noise"]
        for task in SyntheticTasks.registry {
            for option in task.options where !standard.contains(option.key) {
                XCTAssertNotNil(TaskOptionRanges.byKey[option.key], "\(task.name): task.\(option.key)")
            }
        }
    }

    /// Random sweeps draw from the widest bounds they accept without overflow; the drawn values
    /// then meet the same range checks as written ones.
    func testRandomSweepsOverExtremeBoundsAreRefusedAtTheRunValue() throws {
        let sweep = #", "sweep_mode": {"random": 3}, "sweep": {"optimizer.lr": {"uniform": [-1e308, 1e308]}, "seed": {"int_uniform": [-4503599627370496, 4503599627370496]}}}"#
        let text = spec(task: #"{"kind": "copy"}"#)
        // Both drawn values are refused, in file order: the lr's distribution is written first.
        XCTAssertThrowsError(try ExperimentSpec.loadChecked(file: try specFile(String(text.dropLast()) + sweep))) { error in
            guard let error = error as? SpecError else { return XCTFail("not a SpecError: \(error)") }
            let first = error.all.first { $0.path == "optimizer.lr" }, seed = error.all.first { $0.path == "seed" }
            XCTAssertTrue(first?.message.contains("expected a number in") ?? false, "\(error)")
            XCTAssertTrue(seed?.message.contains("expected an integer in") ?? false, "\(error)")
        }
    }

    /// The largest sizes every range allows: the estimate refuses the run for its memory, in
    /// floating point, without overflowing.
    func testEstimateOfTheLargestAllowedSizesDoesNotOverflow() throws {
        let transformer = spec(
            task: #"{"kind": "copy", "seq_len": 4096, "vocab": 65536, "train_size": 67108864}"#,
            model: #"{"kind": "transformer", "d_model": 65536, "layers": 1024, "heads": 1024, "ffn_hidden": 1048576, "vocab": 4194304, "max_len": 1048576}"#)
            .replacingOccurrences(of: #""batch_size": 4"#, with: #""batch_size": 16777216"#)
        try assertRefused(transformer, at: "model", "memory")
        let mlp = spec(task: #"{"kind": "teacher_classification", "input_dim": 1048576, "classes": 1048576, "train_size": 67108864}"#,
                       model: #"{"kind": "mlp", "hidden": [\#((0..<1024).map { _ in "1048576" }.joined(separator: ", "))]}"#)
        try assertRefused(mlp, at: "model", "memory")
    }

    /// A file task's class ids are range-checked like `classes` (below 2^20), so the default
    /// `classes` (largest id + 1) never overflows and never asks for a billion outputs.
    func testHugeClassIdsInAFileAreRefused() throws {
        for (id, shown) in [(Int(Int64.max), "9223372036854775807"), (1_000_000_000, "1000000000")] {
            let folder = URL(fileURLWithPath: try specFile("{}")).deletingLastPathComponent()
            try NumPy.write([Float](repeating: 0.5, count: 8), shape: [4, 2], to: folder.appendingPathComponent("x.npy").path)
            try NumPy.writeInt64([0, 1, id, 1], shape: [4], to: folder.appendingPathComponent("y.npy").path)
            let path = folder.appendingPathComponent("spec.json").path
            try spec(task: #"{"kind": "file", "train_inputs": "x.npy", "train_targets": "y.npy"}"#, model: #"{"kind": "mlp", "hidden": [8]}"#)
                .write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try ExperimentSpec.loadChecked(file: path)) { error in
                guard let error = error as? SpecError else { return XCTFail("not a SpecError: \(error)") }
                XCTAssertEqual(error.path, "task.train_targets", "\(error)")
                XCTAssertTrue(error.message.contains("class id \(shown) at row 2 is outside [0, 1048576)"), "\(error)")
            }
        }
    }
}
