import XCTest
import Foundation
import TrainLabAutodiff
import TrainLabIO
import TrainLabSpec
@testable import TrainLabExperiment

/// `training.early_stopping` and `checkpoint.save_best`.
final class EarlyStoppingTests: XCTestCase {
    /// A wide network on 16 noisy rows: val_loss is lowest at step 30 and no lower at 40, 50, 60.
    static func overfitting(earlyStopping: String?, checkpoint: String? = nil) -> String { """
        {"name": "overfit", "seed": 2, "task": {"kind": "teacher_regression", "train_size": 16, "val_size": 64, "noise": 0.5},
         "model": {"hidden": [64, 64]}, "loss": "mse", "optimizer": {"kind": "adam", "lr": 0.01},
         "training": {"steps": 300, "batch_size": 16, "log_every": 7, "eval_every": 10, "checkpoint_every": 7\(earlyStopping.map { ", \"early_stopping\": \($0)" } ?? "")}
         \(checkpoint.map { ", \"checkpoint\": \($0)" } ?? "")}
        """
    }
    static let patience3 = #"{"patience": 3}"#

    func spec(_ text: String) throws -> ExperimentSpec { try ExperimentSpec.load(file: try specFile(text))[0] }

    /// The step Keras's rule stops at on the evaluations `values` (step, value), and the best step.
    func expectedStop(_ values: [(step: Int, value: Double)], patience: Int) -> (stop: Int?, best: Int) {
        var best = Double.infinity, bestStep = 0, waited = 0
        for (step, value) in values {
            if value < best { best = value; bestStep = step; waited = 0 } else { waited += 1 }
            if waited >= patience { return (step, bestStep) }
        }
        return (nil, bestStep)
    }

    func testTheRunStopsAtThePatienceThEvaluationWithoutImprovementAndEndsCompleted() throws {
        let reference = MemoryMetricsSink()
        _ = try Runner(spec: try spec(Self.overfitting(earlyStopping: nil))).run(metrics: reference)
        let (expected, bestStep) = expectedStop(reference.values("val_loss"), patience: 3)
        XCTAssertEqual(expected, 60)
        XCTAssertEqual(bestStep, 30)

        let sink = MemoryMetricsSink()
        let result = try Runner(spec: try spec(Self.overfitting(earlyStopping: Self.patience3))).run(metrics: sink)
        XCTAssertEqual(result.end, .completed)
        XCTAssertEqual(result.stoppedStep, 60)
        XCTAssertEqual(sink.entries.map(\.step).max(), 60)
        XCTAssertEqual(sink.values("stopped_step").map(\.step), [60])
        XCTAssertEqual(sink.values("stopped_step").map(\.value), [60])
        // The stop step logs its training metrics, as a last step does (log_every 7 would not).
        XCTAssertEqual(sink.values("train_loss").suffix(2).map(\.step), [56, 60])
        // Until it stops, the run is the run without early stopping.
        XCTAssertEqual(sink.values("val_loss").map(\.value), reference.values("val_loss").filter { $0.step <= 60 }.map(\.value))
    }

    func testMinDeltaAndMaxModeFollowKerasSemantics() {
        var stopping = EarlyStopping(EarlyStoppingSpec(metric: "val_accuracy", patience: 2, minDelta: 0.1, mode: .max))
        XCTAssertTrue(stopping.record(0.5, step: 0))
        XCTAssertFalse(stopping.record(0.6, step: 10))  // not more than min_delta better
        XCTAssertTrue(stopping.record(0.61, step: 20))
        XCTAssertFalse(stopping.record(.nan, step: 30))
        XCTAssertFalse(stopping.shouldStop)
        XCTAssertFalse(stopping.record(0.7, step: 40))
        XCTAssertTrue(stopping.shouldStop)
        XCTAssertEqual(stopping.bestStep, 20)
        XCTAssertEqual(stopping.best, 0.61)
    }

    func testSaveBestHoldsTheWeightsOfTheBestEvaluation() throws {
        let checkpoint = #"{"save_best": "best.safetensors", "save_every": {"steps": 10, "path": "w/{step}.safetensors"}}"#
        let file = try specFile(Self.overfitting(earlyStopping: Self.patience3, checkpoint: checkpoint))
        let folder = URL(fileURLWithPath: file).deletingLastPathComponent()
        _ = try Runner(spec: try ExperimentSpec.load(file: file)[0]).run(metrics: MemoryMetricsSink())
        func tensors(_ path: String) throws -> [String: [Float]] {
            let header = try SafeTensors.open(path: folder.appendingPathComponent(path).path)
            return Dictionary(uniqueKeysWithValues: try header.entries.map { ($0.name, try header.read($0).scalars) })
        }
        XCTAssertEqual(try tensors("best.safetensors"), try tensors("w/30.safetensors"))
        XCTAssertNotEqual(try tensors("best.safetensors"), try tensors("w/60.safetensors"))
        let metadata = try SafeTensors.open(path: folder.appendingPathComponent("best.safetensors").path).metadata
        XCTAssertEqual(metadata["step"], "30")
    }

    /// Interrupted before steps around the best evaluation and the stop, resumed each time: the
    /// same rows and the same stop step as the run never interrupted.
    func testAResumedRunStopsAtTheSameStep() throws {
        let spec = try spec(Self.overfitting(earlyStopping: Self.patience3))
        let reference = MemoryMetricsSink()
        let uninterrupted = try Runner(spec: spec).run(metrics: reference)
        for stops in [[35, 55], [31, 45, 58]] {
            let (rows, attempts) = try trainInterrupted(spec, before: stops)
            for attempt in attempts.dropLast() {
                XCTAssertEqual(attempt.result.end, .interrupted, "stopped before step \(attempt.stop)")
            }
            let result = attempts.last?.result
            XCTAssertEqual(result?.end, .completed)
            XCTAssertEqual(result?.stoppedStep, uninterrupted.stoppedStep, "stopped before steps \(stops)")
            // `time` is wall-clock training seconds: logged at the same steps, never the same value.
            func key(_ rows: [(step: Int, name: String, value: Double)]) -> [String] {
                rows.map { "\($0.name) \($0.step)" + ($0.name == "time" ? "" : " \($0.value.bitPattern)") }.sorted()
            }
            XCTAssertEqual(key(rows), key(reference.entries), "stopped before steps \(stops)")
        }
    }

    func testTheResolvedConfigHoldsTheDefaults() throws {
        func resolved(_ earlyStopping: String) throws -> JSONValue? {
            let config = try spec(Self.overfitting(earlyStopping: earlyStopping)).config
            guard case .object(let root) = config, case .object(let training)? = root["training"] else { return nil }
            return training["early_stopping"]
        }
        XCTAssertEqual(try resolved("{}").map { JSONWriter.write($0, sortedKeys: true) },
                       #"{"metric":"val_loss","min_delta":0,"mode":"min","patience":5}"#)
        XCTAssertEqual(try resolved(#"{"metric": "val_accuracy"}"#).map { JSONWriter.write($0, sortedKeys: true) },
                       #"{"metric":"val_accuracy","min_delta":0,"mode":"max","patience":5}"#)
        let without = try spec(Self.overfitting(earlyStopping: nil)).config
        XCTAssertFalse(JSONWriter.write(without).contains("early_stopping"))
    }

    func testSpecsItCannotWatchAreRefusedNamingIt() throws {
        func refusal(_ text: String) -> SpecError? {
            do { _ = try ExperimentSpec.loadChecked(file: try specFile(text)) } catch let error as SpecError { return error } catch {}
            return nil
        }
        let base = Self.overfitting(earlyStopping: "{}")
        let noEvaluations = refusal(base.replacingOccurrences(of: #""eval_every": 10"#, with: #""eval_every": 0"#))
        XCTAssertEqual(noEvaluations?.path, "training.early_stopping")
        let noValidation = refusal(base.replacingOccurrences(of: #""val_size": 64"#, with: #""val_size": 0"#))
        XCTAssertEqual(noValidation?.path, "training.early_stopping")
        let noAccuracy = refusal(Self.overfitting(earlyStopping: #"{"metric": "val_accuracy"}"#))
        XCTAssertEqual(noAccuracy?.path, "training.early_stopping.metric")
        XCTAssertEqual(refusal(Self.overfitting(earlyStopping: #"{"patience": 0}"#))?.path, "training.early_stopping.patience")
        XCTAssertEqual(refusal(Self.overfitting(earlyStopping: #"{"mode": "up"}"#))?.path, "training.early_stopping.mode")
        let bestWithout = refusal(Self.overfitting(earlyStopping: nil, checkpoint: #"{"save_best": "b.safetensors"}"#))
        XCTAssertEqual(bestWithout?.path, "checkpoint.save_best")
    }
}
