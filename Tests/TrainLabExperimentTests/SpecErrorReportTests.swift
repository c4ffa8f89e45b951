import XCTest
import TrainLabExperiment
import TrainLabSpec

/// A spec's errors, all of them (up to 20), each at the item that is wrong: a swept value at its
/// element of the sweep list, an option other libraries name differently with its name here.
final class SpecErrorReportTests: XCTestCase {
    private func errors(_ text: String) throws -> [String] {
        let file = try specFile(text)
        do {
            _ = try ExperimentSpec.load(file: file)
            XCTFail("the spec should be refused")
            return []
        } catch let error as SpecError {
            return error.all.map { $0.description.replacingOccurrences(of: file, with: "spec.json") }
        }
    }

    /// Four independent errors in one file, in file order, the bad sweep value named by its
    /// element (line 5, column 56 is the `-1`), each reported once though six runs share them.
    func testEveryErrorIsReportedAtItsItemInFileOrder() throws {
        XCTAssertEqual(try errors("""
            {"name": "bad", "task": {"kind": "spirals", "train_size": 64, "val_size": 32},
             "loss": "cross_entropy",
             "optimizer": {"kind": "adam", "learning_rate": 0.1, "momentum": 0.9, "wd": 0.1},
             "training": {"steps": -20},
             "sweep": {"seed": [0, 1], "optimizer.lr": [0.1, 0.01, -1]}}
            """), [
            "spec.json:3:32: optimizer.learning_rate: unknown key 'learning_rate' in optimizer (known keys: kind, lr, betas, eps, weight_decay, amsgrad)",
            "spec.json:3:54: optimizer.momentum: unknown key 'momentum' in optimizer, did you mean 'betas'? "
                + "(adam has no momentum: its first-moment coefficient is betas[0], as in torch.optim.Adam)",
            "spec.json:3:71: optimizer.wd: unknown key 'wd' in optimizer, did you mean 'weight_decay'?",
            "spec.json:4:24: training.steps: expected an integer in 1...100000000, got -20",
            "spec.json:5:56: sweep[\"optimizer.lr\"][2]: expected a number in [0, 1000000], got -1",
        ])
    }

    /// Without a swept lr, learning_rate suggests lr; weightdecay suggests weight_decay; a bad
    /// option inside a swept object is named inside its element.
    func testAliasesAndErrorsInsideASweptObject() throws {
        XCTAssertEqual(try errors("""
            {"name": "bad", "task": {"kind": "spirals"}, "loss": "cross_entropy", "optimizer": "sgd",
             "sweep": {"optimizer": [{"kind": "sgd", "learning_rate": 0.1}, {"kind": "adam", "lr": -3, "weightdecay": 0.1}]}}
            """), [
            "spec.json:2:42: sweep[\"optimizer\"][0].learning_rate: unknown key 'learning_rate' in optimizer, did you mean 'lr'?",
            "spec.json:2:88: sweep[\"optimizer\"][1].lr: expected a number in [0, 1000000], got -3",
            "spec.json:2:92: sweep[\"optimizer\"][1].weightdecay: unknown key 'weightdecay' in optimizer, did you mean 'weight_decay'?",
        ])
    }

    /// A removed bad value that was required ends that run's report: no "missing required key" of
    /// its own; at most `maximumReportedErrors` are reported.
    func testConsequencesAreNotReportedAndTheReportIsCapped() throws {
        XCTAssertEqual(try errors("""
            {"name": "bad", "task": {"kind": "spirale"}, "loss": "cross_entropy", "optimizer": "sgd"}
            """).count, 1)
        let keys = (0..<30).map { "\"bad\($0)\": 1" }.joined(separator: ", ")
        XCTAssertEqual(try errors("""
            {"name": "bad", "task": {"kind": "spirals"}, "loss": "cross_entropy", "optimizer": "sgd", \(keys)}
            """).count, ExperimentSpec.maximumReportedErrors)
    }
}

/// The command line prints each error on its own line and exits 2.
final class SpecErrorCommandLineTests: XCTestCase {
    func testValidatePrintsEveryErrorOnItsOwnLine() throws {
        let file = try specFile("""
            {"name": "bad", "task": {"kind": "spirals"}, "loss": "cross_entropy",
             "optimizer": {"kind": "sgd", "learning_rate": 0.1}, "training": {"steps": 0}}
            """)
        let outcome = try runTrainlab(["validate", file], in: self)
        XCTAssertEqual(outcome.status, 2)
        XCTAssertEqual(outcome.standardError, """
            trainlab: \(file):2:31: optimizer.learning_rate: unknown key 'learning_rate' in optimizer, did you mean 'lr'?
            trainlab: \(file):2:76: training.steps: expected an integer in 1...100000000, got 0

            """)
    }
}

/// mse on a classification task trains on one-hot targets, as documented in docs/specs.md, and
/// `validate` says so; cross_entropy's line does not.
final class OneHotTargetTests: XCTestCase {
    func testValidateShowsOneHotTargetsForARegressionLossOnClasses() throws {
        let mse = try specFile(#"{"name": "m", "task": {"kind": "spirals", "train_size": 64, "val_size": 32}, "loss": "mse", "optimizer": "sgd", "training": {"steps": 4}}"#)
        let spec = try XCTUnwrap(try ExperimentSpec.load(file: mse).first)
        XCTAssertTrue(spec.trainsOnOneHotTargets)
        let validated = try runTrainlab(["validate", mse], in: self)
        XCTAssertEqual(validated.status, 0, validated.standardError)
        XCTAssertTrue(validated.standardOutput.contains(", mse on one-hot class targets, sgd lr"), validated.standardOutput)

        let crossEntropy = try specFile(#"{"name": "c", "task": {"kind": "spirals", "train_size": 64, "val_size": 32}, "loss": "cross_entropy", "optimizer": "sgd"}"#)
        XCTAssertFalse(try XCTUnwrap(try ExperimentSpec.load(file: crossEntropy).first).trainsOnOneHotTargets)
        let regression = try specFile(#"{"name": "r", "task": {"kind": "linear_regression", "train_size": 64, "val_size": 32}, "loss": "mse", "optimizer": "sgd"}"#)
        XCTAssertFalse(try XCTUnwrap(try ExperimentSpec.load(file: regression).first).trainsOnOneHotTargets)
        let text = try String(contentsOf: SpecFuzzTests.repositoryRoot.appendingPathComponent("docs/specs.md"), encoding: .utf8)
        XCTAssertTrue(text.contains("on one-hot targets") && text.contains("`mse on one-hot class targets`"),
                      "docs/specs.md documents what validate shows")
    }
}
