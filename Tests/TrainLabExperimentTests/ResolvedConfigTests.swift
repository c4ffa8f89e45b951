import XCTest
import Foundation
import TrainLabStore
import TrainLabSpec
@testable import TrainLabExperiment

/// The stored config is the resolved one: one form per choice, every default filled in.
final class ResolvedConfigTests: XCTestCase {
    func spec(_ model: String, optimizer: String = #"{"kind": "sgd", "lr": 0.1}"#, extra: String = "") throws -> ExperimentSpec {
        try ExperimentSpec.load(file: try specFile("""
            {"name": "r", "task": "blobs", "model": \(model), "loss": "cross_entropy",
             "optimizer": \(optimizer), "training": {"steps": 10}\(extra)}
            """))[0]
    }

    /// `"relu"` and `{"kind": "relu"}` are one config: the same stored JSON, hash and params.
    func testANameAndAnObjectAreStoredAlike() throws {
        let byName = try spec(#"{"hidden": [8], "activation": "relu"}"#)
        let byObject = try spec(#"{"hidden": [8], "activation": {"kind": "relu"}}"#)
        XCTAssertEqual(byName.canonicalConfig, byObject.canonicalConfig)
        XCTAssertEqual(byName.configHash(programVersion: "1"), byObject.configHash(programVersion: "1"))
        XCTAssertEqual(byName.flattenedParams["model.activation.kind"], "relu")
        XCTAssertNil(byName.flattenedParams["model.activation"])
    }

    /// Defaults are in the config: adamw's decoupled weight_decay 0.01, sgd's 0, the schedule,
    /// the task's documented sizes; `compare --diff` of the two shows weight_decay.
    func testEveryDefaultIsResolved() throws {
        let sgd = try spec(#"{"hidden": [8]}"#).flattenedParams
        let adamw = try spec(#"{"hidden": [8]}"#, optimizer: #""adamw""#).flattenedParams
        XCTAssertEqual(adamw["optimizer.kind"], "adamw")
        XCTAssertEqual(adamw["optimizer.weight_decay"], 0.01)
        XCTAssertEqual(adamw["optimizer.lr"], 0.001)
        XCTAssertEqual(adamw["optimizer.betas"], [0.9, 0.999])
        XCTAssertEqual(sgd["optimizer.weight_decay"], 0)
        XCTAssertEqual(sgd["schedule.kind"], "constant")
        XCTAssertEqual(sgd["model.kind"], "mlp")
        XCTAssertEqual(sgd["task.classes"], 4, "blobs' documented default")
        XCTAssertEqual(sgd["training.batch_size"], 64)
        XCTAssertEqual(sgd["seed"], 0)
        let differing = ResultsStore.differingParamKeys([sgd, adamw].map { $0.mapValues { JSONWriter.write($0) } })
        XCTAssertTrue(differing.contains("optimizer.weight_decay"), "\(differing)")
    }

    /// Every catalogue choice accepts a bare name (docs/interface.md): optimizer, task, model.
    func testBareNamesAreAccepted() throws {
        XCTAssertThrowsError(try spec(#""transformer""#)) { error in  // blobs is not a sequence task
            XCTAssertTrue("\(error)".contains("the transformer reads token sequences"), "\(error)")
        }
        let mlp = try spec(#""mlp""#, optimizer: #""adam""#)
        XCTAssertEqual(mlp.optimizerKind, "adam")
        XCTAssertEqual(mlp.lr, 1e-3)
    }

    /// The top-level "did you mean" knows the sweep keys.
    func testSweepKeysAreKnownAtTheTopLevel() throws {
        XCTAssertThrowsError(try spec(#""mlp""#, extra: #", "swep": {"seed": [1, 2]}"#)) { error in
            XCTAssertTrue("\(error)".contains("did you mean 'sweep'?"), "\(error)")
        }
    }

    /// Random sweep values show with 4 significant digits; the config keeps them whole.
    func testAssignmentsShowFourSignificantDigits() throws {
        let runs = try ExperimentSpec.load(file: try specFile("""
            {"name": "r", "task": "blobs", "loss": "cross_entropy", "optimizer": "sgd",
             "sweep": {"optimizer.lr": [0.0031622776601683794], "seed": [2]}}
            """))
        XCTAssertEqual(runs[0].assignmentSummary, "optimizer.lr=0.003162 seed=2")
        XCTAssertEqual(runs[0].flattenedParams["optimizer.lr"], 0.0031622776601683794)
    }

    /// A weights file into a missing folder is written there (the folder is created), and one
    /// whose folder cannot exist is refused before training.
    func testCheckpointFoldersAreCheckedBeforeTraining() throws {
        let file = try specFile("""
            {"name": "ck", "task": {"kind": "blobs", "train_size": 16, "val_size": 0}, "model": {"hidden": [4]},
             "loss": "cross_entropy", "optimizer": "sgd", "training": {"steps": 2},
             "checkpoint": {"save_final": "new/folder/w.safetensors"}}
            """)
        let spec = try ExperimentSpec.loadChecked(file: file)[0]
        _ = try Runner(spec: spec).run(metrics: MemoryMetricsSink())
        XCTAssertTrue(FileManager.default.fileExists(atPath: spec.checkpoint.saveFinal!))

        let blocked = try specFile("""
            {"name": "ck", "task": "blobs", "loss": "cross_entropy", "optimizer": "sgd",
             "checkpoint": {"save_final": "spec.json/w.safetensors"}}
            """)
        XCTAssertThrowsError(try ExperimentSpec.loadChecked(file: blocked)) { error in
            XCTAssertTrue("\(error)".contains("checkpoint.save_final: cannot write"), "\(error)")
            XCTAssertTrue("\(error)".contains("is a file, not a folder"), "\(error)")
        }
    }

    /// train_loss is logged at step 1 whatever log_every is: the curve's starting point.
    func testInitialLossIsAlwaysLogged() throws {
        let spec = try ExperimentSpec.load(file: try specFile("""
            {"name": "l", "task": {"kind": "blobs", "train_size": 32, "val_size": 0}, "model": {"hidden": [4]},
             "loss": "cross_entropy", "optimizer": "sgd", "training": {"steps": 12, "log_every": 5}}
            """))[0]
        let sink = MemoryMetricsSink()
        _ = try Runner(spec: spec).run(metrics: sink)
        XCTAssertEqual(sink.values("train_loss").map(\.step), [1, 5, 10, 12])
    }

    /// A split larger than the data module's limit is refused by validate, not found at run time
    /// (validate builds only a sample of the rows).
    func testSplitSizeIsCheckedBeforeTraining() throws {
        let file = try specFile("""
            {"name": "big", "task": {"kind": "teacher_classification", "train_size": 6000000, "val_size": 0},
             "model": {"hidden": [8]}, "loss": "cross_entropy", "optimizer": "sgd", "training": {"steps": 10}}
            """)
        XCTAssertThrowsError(try ExperimentSpec.loadChecked(file: file)) { error in
            XCTAssertEqual((error as? SpecError)?.path, "task.train_size", "\(error)")
            XCTAssertTrue("\(error)".contains("6000000 × 64 elements"), "\(error)")
        }
    }

    /// A sink that cannot keep what it is given (a full disk) ends the run with its error.
    func testASinkFailureEndsTheRun() throws {
        final class FullDisk: MetricsSink {
            var rows = 0
            func log(step: Int, name: String, value: Double) { rows += 1 }
            var failure: (any Error)? { rows > 6 ? CocoaError(.fileWriteOutOfSpace) : nil }
        }
        let spec = try ExperimentSpec.load(file: try specFile("""
            {"name": "d", "task": {"kind": "blobs", "train_size": 32, "val_size": 0}, "model": {"hidden": [4]},
             "loss": "cross_entropy", "optimizer": "sgd", "training": {"steps": 100}}
            """))[0]
        let sink = FullDisk()
        XCTAssertThrowsError(try Runner(spec: spec).run(metrics: sink))
        XCTAssertEqual(sink.rows, 10, "two steps of five rows (train_loss, grad_norm, lr, evals, time), then the run stopped")
    }
}

/// `validate`'s parameter count is the built model's, for every norm and placement.
final class ParameterCountTests: XCTestCase {
    func testEstimateCountsWhatTheModelBuilds() throws {
        var cases: [String] = []
        for norm in ["none", "layernorm", "rmsnorm", "batchnorm", #"{"kind": "layernorm", "affine": false}"#] {
            for placement in ["pre", "post"] {
                let normJSON = norm.hasPrefix("{") ? String(norm.dropLast()) + #", "placement": "\#(placement)"}"#
                    : #"{"kind": "\#(norm)", "placement": "\#(placement)"}"#
                cases.append(#""model": {"hidden": [64, 64, 32], "norm": \#(normJSON), "activation": {"kind": "swish", "learnable": true}}"#)
            }
        }
        cases.append(#""model": {"hidden": [64, 64], "residual": true, "norm": {"kind": "rmsnorm", "placement": "deepnorm"}}"#)
        for model in cases {
            let spec = try ExperimentSpec.load(file: try specFile("""
                {"name": "p", "task": {"kind": "blobs", "train_size": 16, "val_size": 0}, \(model),
                 "loss": "cross_entropy", "optimizer": "sgd"}
                """))[0]
            let built = try Runner(spec: spec, pool: .serial).prepare().1.parameters.reduce(0) { $0 + $1.value.count }
            XCTAssertEqual(ResourceEstimate(spec).parameters, built, model)
        }
        for norm in ["layernorm", "rmsnorm"] {
            for placement in ["pre", "post"] {
                let spec = try ExperimentSpec.load(file: try specFile("""
                    {"name": "t", "task": {"kind": "copy", "train_size": 16, "val_size": 0},
                     "model": {"kind": "transformer", "d_model": 32, "layers": 2, "heads": 4, "kv_heads": 2,
                               "norm": {"kind": "\(norm)", "placement": "\(placement)"}, "activation": "swiglu"},
                     "loss": "cross_entropy", "optimizer": "adamw"}
                    """))[0]
                let built = try Runner(spec: spec, pool: .serial).prepare().1.parameters.reduce(0) { $0 + $1.value.count }
                XCTAssertEqual(ResourceEstimate(spec).parameters, built, "\(norm) \(placement)")
            }
        }
    }
}

/// The catalogue reads each optimizer's default lr and state size from its type (torch's defaults).
final class OptimizerCatalogueTests: XCTestCase {
    func testDefaultsComeFromTheTypes() {
        let expected: [String: Double] = ["sgd": 1e-3, "adam": 1e-3, "adamw": 1e-3, "adagrad": 1e-2, "rmsprop": 1e-2,
                                          "adadelta": 1, "lbfgs": 1, "cg": 1, "newton": 1]
        XCTAssertEqual(Catalogue.defaultLearningRates, expected)
        XCTAssertEqual(Catalogue.optimizerStateCount("adam"), 3, "m, v and amsgrad's max v")
        XCTAssertEqual(Catalogue.optimizerStateCount("sgd"), 1, "the momentum buffer")
        XCTAssertNil(Catalogue.optimizerStateCount("adma"))
    }
}
