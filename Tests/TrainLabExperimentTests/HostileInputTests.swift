import XCTest
import Foundation
import TrainLabSpec
import TrainLabIO
import TrainLabModels
@testable import TrainLabExperiment

/// Data files, weights files and names that `validate` used to accept and a run then trapped,
/// hung or diverged on: each is a bad input, refused with a `SpecError` naming the key and file.
final class HostileInputTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("trainlab-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// A spec training an MLP on x.npy and y.npy (or the files `task` names) in the folder.
    func spec(task: String = #""train_inputs": "x.npy", "train_targets": "y.npy""#, loss: String = #""cross_entropy""#,
              more: String = "") throws -> String {
        let file = path("spec.json")
        try """
            {"name": "hostile", "task": {"kind": "file", \(task)}, "model": {"kind": "mlp", "hidden": [4]},
             "loss": \(loss), "optimizer": {"kind": "sgd", "lr": 0.1}, "training": {"steps": 2, "batch_size": 2}\(more)}
            """.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// Four rows of three features and the class ids 0, 1, 2, 0, unless given.
    func writeData(x: [Float] = (0..<12).map { Float($0) / 12 }, xShape: [Int] = [4, 3],
                   y: [Int] = [0, 1, 2, 0], yShape: [Int] = [4]) throws {
        try NumPy.write(x, shape: xShape, to: path("x.npy"))
        try NumPy.writeInt64(y, shape: yShape, to: path("y.npy"))
    }

    func assertRefused(_ specPath: String, _ expected: String..., file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ExperimentSpec.loadChecked(file: specPath), file: file, line: line) { error in
            XCTAssertTrue(error is SpecError, "\(type(of: error)): \(error)", file: file, line: line)
            for text in expected { XCTAssertTrue("\(error)".contains(text), "\(error)\nshould contain: \(text)", file: file, line: line) }
        }
    }

    // MARK: Sizes and ids of data files

    func testClassIdsBeyondTheClassesCapAreRefused() throws {
        for id in [1_000_000_000, 1 << 58, Int.max] {
            try writeData(y: [0, 1, id, 0])
            assertRefused(try spec(), "task.train_targets", "y.npy: class id \(id) at row 2 is outside [0, 1048576)")
        }
    }

    func testEmptySplitsAndZeroFeaturesAreRefused() throws {
        try writeData(x: [], xShape: [0, 3], y: [], yShape: [0])
        assertRefused(try spec(), "task.train_inputs", "x.npy: expected 1 to 67108864 rows, got shape [0, 3]")
        try writeData(x: [], xShape: [4, 0])
        assertRefused(try spec(), "task.train_inputs", "x.npy: expected a 2-D float array (rows, features), features from 1 to 1048576, got shape [4, 0]")
        try writeData()
        try NumPy.write([], shape: [0, 3], to: path("vx.npy"))
        try NumPy.writeInt64([], shape: [0], to: path("vy.npy"))
        let validation = #""train_inputs": "x.npy", "train_targets": "y.npy", "val_inputs": "vx.npy", "val_targets": "vy.npy""#
        assertRefused(try spec(task: validation), "task.val_inputs", "vx.npy: expected 1 to 67108864 rows, got shape [0, 3]")
    }

    func testClassIdsComeOnePerRow() throws {
        try writeData(y: [0, 1, 2, 0, 1, 2, 0, 1], yShape: [4, 2])
        assertRefused(try spec(), "task.train_targets", "y.npy: expected 4 integer class ids (shape (4,)) like the training targets, got shape [4, 2] of <i8")
    }

    /// Rows are capped as a synthetic task's train_size is, and elements as its splits are, from
    /// the header alone: the (sparse) data is never read.
    func testRowsAndElementsAreCappedBeforeTheDataIsRead() throws {
        try writeData()
        for (shape, expected) in [([1 << 27, 1], "x.npy: expected 1 to 67108864 rows, got shape [134217728, 1]"),
                                  ([1 << 20, 1 << 9], "x.npy: shape [1048576, 512] holds 536870912 elements, more than 268435456")] {
            let header = npyHeader(descr: "<f4", shape: shape)
            _ = FileManager.default.createFile(atPath: path("x.npy"), contents: Data(header))
            let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path("x.npy")))
            try handle.truncate(atOffset: UInt64(header.count + shape.reduce(4, *)))
            try handle.close()
            assertRefused(try spec(), "task.train_inputs", expected)
        }
    }

    func testNonFiniteFeaturesAndTargetsAreRefused() throws {
        var x = (0..<12).map { Float($0) }
        x[5] = .nan
        try writeData(x: x)
        assertRefused(try spec(), "task.train_inputs", "x.npy: nan at row 1, column 2: expected finite numbers")
        try writeData()
        try NumPy.write([1, 2, -.infinity, 4], shape: [4], to: path("t.npy"))
        assertRefused(try spec(task: #""train_inputs": "x.npy", "train_targets": "t.npy""#, loss: #""mse""#),
                      "task.train_targets", "t.npy: -inf at row 2, column 0: expected finite numbers")
    }

    /// Focal's alpha and NCE's noise table hold one weight per class of the file, as of a
    /// synthetic task.
    func testPerClassTablesMatchTheFileClasses() throws {
        try writeData()
        assertRefused(try spec(loss: #"{"kind": "focal", "alpha": [0.5, 0.5]}"#), "loss", "alpha has 2 per-class weights, but the task has 3 classes")
        assertRefused(try spec(loss: #"{"kind": "nce", "noise": [1, 1, 1, 1]}"#), "loss", "the noise table has 4 weights, but the task has 3 classes")
        XCTAssertNoThrow(try ExperimentSpec.loadChecked(file: try spec(loss: #"{"kind": "focal", "alpha": [0.2, 0.3, 0.5]}"#)))
    }

    /// The memory estimate counts a file classifier's outputs, as the built model has them.
    func testResourceEstimateCountsTheFileClasses() throws {
        try writeData()
        let spec = try ExperimentSpec.load(file: try spec(task: #""train_inputs": "x.npy", "train_targets": "y.npy", "classes": 1000"#))[0]
        let (_, model) = try Runner(spec: spec).prepare()
        XCTAssertEqual(ResourceEstimate(spec).parameters, model.parameters.reduce(0) { $0 + $1.value.count })
    }

    // MARK: Files that are not regular files

    func testDevicesAndFIFOsAreRefusedAtOnce() throws {
        try writeData()
        let fifo = path("pipe")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        // A reader stuck in open() is released by a writer appearing; then the test fails on its own.
        addTeardownBlock {
            let writer = open(fifo, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
        }
        let cases = [
            (#""train_inputs": "/dev/zero", "train_targets": "y.npy""#, "", "task.train_inputs", "/dev/zero: not a regular file (it is a character device)"),
            (#""train_inputs": "x.npy", "train_targets": "pipe""#, "", "task.train_targets", "pipe: not a regular file (it is a FIFO, a named pipe)"),
            (#""train_inputs": "x.npy", "train_targets": "y.npy""#, #", "checkpoint": {"init_from": "/dev/zero"}"#,
             "checkpoint.init_from", "/dev/zero: not a regular file (it is a character device)"),
            (#""train_inputs": "x.npy", "train_targets": "y.npy""#, #", "checkpoint": {"init_from": "pipe"}"#,
             "checkpoint.init_from", "pipe: not a regular file (it is a FIFO, a named pipe)"),
        ]
        for (task, more, key, expected) in cases {
            let specPath = try spec(task: task, more: more)
            let done = expectation(description: expected)
            let outcome = OutcomeBox()
            Thread.detachNewThread {
                do { _ = try ExperimentSpec.loadChecked(file: specPath); outcome.text = "accepted" } catch { outcome.text = "\(error)" }
                done.fulfill()
            }
            wait(for: [done], timeout: 10)
            XCTAssertTrue(outcome.text.contains(key) && outcome.text.contains(expected), "\(outcome.text)\nshould contain: \(key), \(expected)")
        }
    }

    // MARK: Weights

    func testNonFiniteWeightsAreRefusedNamingTheTensor() throws {
        try writeData()
        let spec = try ExperimentSpec.load(file: try spec())[0]
        let (_, model) = try Runner(spec: spec).prepare()
        let tensors = Checkpoints.tensors(of: model)
        let index = try XCTUnwrap(tensors.firstIndex { $0.name == "layers.1.weight" })
        tensors[index].tensor.data[3] = .infinity
        try SafeTensors.write(tensors, to: path("w.safetensors"))
        assertRefused(try self.spec(more: #", "checkpoint": {"init_from": "w.safetensors"}"#),
                      "checkpoint.init_from", "tensor 'layers.1.weight' holds inf at element 3: weights must be finite numbers")
    }

    // MARK: Names

    func testNamesWithControlCharactersOrTooLongAreRefused() throws {
        for (name, expected) in [(#"a\u0000b"#, "found U+0000"), (#"\u001b[31mred"#, "found U+001B"), ("tab\\there", "found U+0009"),
                                 (String(repeating: "n", count: 5000), "expected a name of at most 200 characters, got 5000")] {
            let file = try specFile(#"{"name": "\#(name)", "task": "blobs", "loss": "cross_entropy", "optimizer": "sgd"}"#)
            XCTAssertThrowsError(try ExperimentSpec.load(file: file), name) { error in
                XCTAssertTrue("\(error)".contains("name: expected a name") && "\(error)".contains(expected), "\(error)")
            }
        }
        XCTAssertEqual(try ExperimentSpec.load(file: try specFile(#"{"name": "café ☕ run-1", "task": "blobs", "loss": "cross_entropy", "optimizer": "sgd"}"#))[0].name,
                       "café ☕ run-1")
    }

    // MARK: export-data

    /// A file where the output folder should be is a bad input, said in words, not as a
    /// Foundation error.
    func testExportDataIntoAFileIsABadInput() throws {
        try writeData()
        _ = FileManager.default.createFile(atPath: path("occupied"), contents: Data("x".utf8))
        let outcome = try runTrainlab(["export-data", "-o", path("occupied/data"), try spec()], in: self)
        XCTAssertEqual(outcome.status, 2, outcome.standardError)
        XCTAssertTrue(outcome.standardError.contains("cannot write \(path("occupied/data")): \(path("occupied")) is a file, not a folder"), outcome.standardError)
        XCTAssertFalse(outcome.standardError.contains("NSCocoaErrorDomain"), outcome.standardError)
    }
}

/// The text a background check ends with.
private final class OutcomeBox: @unchecked Sendable {
    var text = "still running"
}
