import XCTest
import Foundation
import TrainLabStore
import TrainLabSpec
import TrainLabIO
import TrainLabAutodiff
import TrainLabModels
@testable import TrainLabExperiment

/// `task.kind = "file"` with integer token ids: the Transformer trains on the user's sequences.
final class TokenFileTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let model = #"{"kind": "transformer", "d_model": 16, "layers": 1, "heads": 2}"#

    func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("trainlab-tokens-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url.appendingPathComponent("data"), withIntermediateDirectories: true)
        return url
    }

    /// A spec over `task` (the keys after "kind": "file") with a small Transformer, written into `folder`.
    func specPath(_ task: String, model: String = TokenFileTests.model, in folder: URL) throws -> String {
        let path = folder.appendingPathComponent("spec.json").path
        try """
            {"name": "tokens", "task": {"kind": "file", \(task)}, "model": \(model), "loss": "cross_entropy",
             "optimizer": {"kind": "adam", "lr": 0.01}, "training": {"steps": 3, "batch_size": 4, "eval_every": 3}}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Four rows of eight ids `(7 * i) % 64` (row-major index i); targets the next id, -100 at the
    /// first four positions.
    func writeTokens(in folder: URL, inputs: (inout [Int]) -> Void = { _ in }, targets: (inout [Int]) -> Void = { _ in }) throws {
        var x = (0..<32).map { (7 * $0) % 64 }
        var y = (0..<32).map { $0 % 8 < 4 ? Tape.ignoredTarget : (7 * ($0 + 1)) % 64 }
        inputs(&x)
        targets(&y)
        try NumPy.writeInt64(x, shape: [4, 8], to: folder.appendingPathComponent("data/x.npy").path)
        try NumPy.writeInt64(y, shape: [4, 8], to: folder.appendingPathComponent("data/y.npy").path)
    }

    static let files = #""train_inputs": "data/x.npy", "train_targets": "data/y.npy""#

    func assertBadInput(_ path: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ExperimentSpec.load(file: path).forEach { try Runner(spec: $0).check() }, file: file, line: line) { error in
            XCTAssertTrue(error is SpecError, "\(error)", file: file, line: line)
            XCTAssertTrue("\(error)".contains(expected), "\(error)", file: file, line: line)
        }
    }

    /// tools/golden/make_token_fixtures.py: torch.randint ids saved by numpy (int64 training,
    /// int32 validation). They load as a sequence task with the same ids (vocab = largest id + 1
    /// = 12), TrainLab's cross-entropy of PyTorch's fixed logits against the file's targets equals
    /// F.cross_entropy(ignore_index=-100), and the Transformer validates and trains on them.
    func testPyTorchTokenFixtureTrains() throws {
        let expected = try JSONSerialization.jsonObject(
            with: Data(contentsOf: Self.fixtures.appendingPathComponent("tokens.json"))) as! [String: Any]
        func ints(_ key: String) -> [Int] { (expected[key] as! [NSNumber]).map(\.intValue) }
        let fixture = { (name: String) in Self.fixtures.appendingPathComponent("tokens_\(name).npy").path }
        let path = try specPath("""
            "train_inputs": "\(fixture("train_inputs"))", "train_targets": "\(fixture("train_targets"))",
            "val_inputs": "\(fixture("val_inputs"))", "val_targets": "\(fixture("val_targets"))"
            """, in: try folder())
        let spec = try ExperimentSpec.load(file: path)[0]
        let data = try XCTUnwrap(spec.fileData)
        XCTAssertEqual(data.kind, .sequence)
        XCTAssertEqual(data.inputDim, 8)
        XCTAssertEqual(data.outputDim, 12)
        XCTAssertEqual(spec.task.extra, ["vocab": 12, "seq_len": 8])
        XCTAssertEqual(data.train.inputs.scalars.map { Int($0) }, ints("train_inputs"))
        XCTAssertEqual(data.validation?.inputs.scalars.map { Int($0) }, ints("val_inputs"))
        guard case let .classes(trainTargets) = data.train.targets, case let .classes(valTargets)? = data.validation?.targets else {
            return XCTFail("token targets are class ids")
        }
        XCTAssertEqual(trainTargets, ints("train_targets"))
        XCTAssertEqual(valTargets, ints("val_targets"))

        let tape = Tape(pool: .serial)
        let logits = tape.constant(Tensor(shape: [48, 12], values: (expected["logits"] as! [NSNumber]).map(\.floatValue)))
        let loss = tape.value(CrossEntropyLoss()(logits, .classes(trainTargets), on: tape))[0]
        let torch = (expected["cross_entropy"] as! NSNumber).floatValue
        XCTAssertEqual(loss, torch, accuracy: 1e-6 * torch)

        try Runner(spec: spec).check()
        let sink = MemoryMetricsSink()
        XCTAssertEqual(try Runner(spec: spec).run(metrics: sink).end, .completed)
        XCTAssertEqual(sink.values("train_loss").map(\.step), [1, 2, 3])
        XCTAssertEqual(sink.values("val_loss").map(\.step), [0, 3])
        XCTAssertTrue(sink.values("train_loss").allSatisfy { $0.value.isFinite && $0.value > 0 })
    }

    /// export-data of a synthetic sequence task writes int64 ids (rows × seq_len) and int64
    /// targets with -100; a file task over those files trains the same run, loss for loss.
    func testExportedSequenceDataReproducesTheRun() throws {
        let dir = try folder()
        let synthetic = """
            {"name": "copy", "seed": 3, "task": {"kind": "copy", "vocab": 10, "seq_len": 8, "train_size": 64, "val_size": 16},
             "model": \(Self.model), "loss": "cross_entropy",
             "optimizer": {"kind": "adamw", "lr": 0.01}, "training": {"steps": 12, "batch_size": 8, "eval_every": 6}}
            """
        let syntheticPath = dir.appendingPathComponent("copy.json").path
        try synthetic.write(toFile: syntheticPath, atomically: true, encoding: .utf8)
        let original = try ExperimentSpec.load(file: syntheticPath)[0]
        try DataExport.write(original, to: dir.appendingPathComponent("data").path)

        let inputs = try NumPy.read(path: dir.appendingPathComponent("data/train_inputs.npy").path)
        let targets = try NumPy.read(path: dir.appendingPathComponent("data/train_targets.npy").path)
        XCTAssertEqual([inputs.fileDType, targets.fileDType], ["<i8", "<i8"])
        XCTAssertEqual(inputs.shape, [64, 8])
        XCTAssertEqual(targets.shape, [64, 8])
        // copy with seq_len 8: x1..x4 SEP y1..y3 read, y1..y4 scored at positions 4..7.
        let inputIds = try XCTUnwrap(inputs.intValues), targetIds = try XCTUnwrap(targets.intValues)
        XCTAssertEqual(Array(inputIds[4..<8]), [9] + Array(inputIds[0..<3]))
        XCTAssertEqual(Array(targetIds[0..<8]), [-100, -100, -100, -100] + Array(inputIds[0..<4]))

        let filePath = dir.appendingPathComponent("file.json").path
        try synthetic.replacingOccurrences(
            of: #"{"kind": "copy", "vocab": 10, "seq_len": 8, "train_size": 64, "val_size": 16}"#,
            with: #"{"kind": "file", "train_inputs": "data/train_inputs.npy", "train_targets": "data/train_targets.npy", "val_inputs": "data/val_inputs.npy", "val_targets": "data/val_targets.npy"}"#)
            .write(toFile: filePath, atomically: true, encoding: .utf8)
        let fromFiles = try ExperimentSpec.load(file: filePath)[0]
        XCTAssertEqual(fromFiles.fileData?.outputDim, 10, "vocab defaults to the largest id + 1 (the separator, 9)")
        let a = MemoryMetricsSink(), b = MemoryMetricsSink()
        _ = try Runner(spec: original).run(metrics: a)
        _ = try Runner(spec: fromFiles).run(metrics: b)
        XCTAssertEqual(a.values("train_loss").count, 12)
        XCTAssertEqual(a.values("train_loss").map(\.value), b.values("train_loss").map(\.value))
        XCTAssertEqual(a.values("val_loss").map(\.value), b.values("val_loss").map(\.value))
        XCTAssertEqual(a.values("val_accuracy").map(\.value), b.values("val_accuracy").map(\.value))
    }

    /// Ids outside [0, vocab) name the file, the id and where it is; -100 is a target only; the
    /// default vocab (largest id + 1) is at most 2^20.
    func testTokenIdsOutsideTheVocabularyAreBadInput() throws {
        var dir = try folder()
        try writeTokens(in: dir, inputs: { $0[3 * 8 + 5] = 70 })
        assertBadInput(try specPath(Self.files + #", "vocab": 64"#, in: dir),
                       "task.train_inputs: data/x.npy: token id 70 at row 3, column 5 is outside [0, 64) (vocab 64)")
        dir = try folder()
        try writeTokens(in: dir, inputs: { $0[2] = Tape.ignoredTarget })
        assertBadInput(try specPath(Self.files, in: dir),
                       "task.train_inputs: data/x.npy: token id -100 at row 0, column 2 is outside [0, 64) (vocab 64)")
        dir = try folder()
        try writeTokens(in: dir, inputs: { $0[0] = Int.max })
        assertBadInput(try specPath(Self.files, in: dir),
                       "task.train_inputs: data/x.npy: token id 9223372036854775807 at row 0, column 0 is outside [0, 1048576) (vocab 1048576)")
        dir = try folder()
        try writeTokens(in: dir, targets: { $0[1 * 8 + 6] = -1 })
        assertBadInput(try specPath(Self.files, in: dir),
                       "task.train_targets: data/y.npy: token id -1 at row 1, column 6 is outside [0, 64) (vocab 64); -100 marks a position that is not scored")
    }

    /// The Transformer reads integer ids: float inputs are refused naming the file and its dtype,
    /// as are float targets or targets shaped unlike the inputs; the MLP refuses integer inputs.
    func testInputsThatDoNotFitTheModelAreBadInput() throws {
        let dir = try folder()
        try writeTokens(in: dir)
        try NumPy.write((0..<32).map { Float($0 % 8) }, shape: [4, 8], to: dir.appendingPathComponent("data/features.npy").path)
        try NumPy.writeInt64(Array(0..<4), shape: [4], to: dir.appendingPathComponent("data/classes.npy").path)
        assertBadInput(try specPath(#""train_inputs": "data/features.npy", "train_targets": "data/y.npy""#, in: dir),
                       "task.train_inputs: data/features.npy: expected integer token ids (int32/int64) of shape (rows, seq_len), seq_len from 1 to 4096, for the transformer, got <f4 of shape [4, 8]")
        assertBadInput(try specPath(#""train_inputs": "data/x.npy", "train_targets": "data/features.npy""#, in: dir),
                       "task.train_targets: data/features.npy: expected integer token ids (int32/int64) of shape [4, 8] like the inputs (-100 where a position is not scored), got <f4 of shape [4, 8]")
        assertBadInput(try specPath(#""train_inputs": "data/x.npy", "train_targets": "data/classes.npy""#, in: dir),
                       "task.train_targets: data/classes.npy: expected integer token ids (int32/int64) of shape [4, 8] like the inputs")
        assertBadInput(try specPath(Self.files, model: #"{"kind": "mlp", "hidden": [8]}"#, in: dir),
                       #"task.train_inputs: data/x.npy: expected a 2-D float array (rows, features), features from 1 to 1048576, got shape [4, 8] of <i8; integer token ids are read by "model": {"kind": "transformer"}"#)
    }

    /// Sequences longer than model.max_len are refused by `validate` (exit 2), as for synthetic tasks.
    func testSequencesLongerThanMaxLenAreBadInput() throws {
        let dir = try folder()
        try writeTokens(in: dir)
        let path = try specPath(Self.files, model: #"{"kind": "transformer", "d_model": 16, "layers": 1, "heads": 2, "max_len": 4}"#, in: dir)
        assertBadInput(path, "model.max_len: the task's sequences have 8 tokens, more than max_len 4")

        let bundle = URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
        let process = Process()
        process.executableURL = bundle.deletingLastPathComponent().appendingPathComponent("trainlab")
        process.arguments = ["validate", path]
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 2)
        XCTAssertTrue(message.contains("model.max_len: the task's sequences have 8 tokens, more than max_len 4"), message)
    }

    /// `vocab` and `classes` name the same number (default the largest id + 1 = 64 here); it sets
    /// the model's vocabulary; two different values are refused.
    func testVocabAndClassesAreSynonyms() throws {
        let dir = try folder()
        try writeTokens(in: dir)
        for (keys, vocab) in [("", 64), (#", "vocab": 80"#, 80), (#", "classes": 80"#, 80), (#", "vocab": 80, "classes": 80"#, 80)] {
            let spec = try ExperimentSpec.load(file: try specPath(Self.files + keys, in: dir))[0]
            XCTAssertEqual(spec.fileData?.outputDim, vocab, keys)
            let (_, model) = try Runner(spec: spec).prepare()
            XCTAssertEqual(model.parameters.first { $0.name == "embed.weight" }?.value.shape, [vocab, 16], keys)
        }
        assertBadInput(try specPath(Self.files + #", "vocab": 80, "classes": 81"#, in: dir),
                       "task.vocab: vocab and classes are synonyms (the number of ids); got vocab 80 and classes 81")
    }
}
