import XCTest
import Foundation
import TrainLabStore
import TrainLabSpec
import TrainLabStore
@testable import TrainLabExperiment

final class TransformerRunTests: XCTestCase {
    func transformerSpec(model: String = #""kind": "transformer", "d_model": 32, "layers": 2, "heads": 4, "kv_heads": 2, "activation": "swiglu""#,
                         task: String = #""kind": "copy", "vocab": 8, "seq_len": 8, "train_size": 512, "val_size": 64"#,
                         loss: String = #""cross_entropy""#) -> String {
        """
        {"name": "tf", "task": {\(task)}, "model": {\(model)}, "loss": \(loss),
         "optimizer": {"kind": "adamw", "lr": 0.003}, "training": {"steps": 120, "batch_size": 32, "eval_every": 60}}
        """
    }

    /// A small Transformer learns to copy: validation loss falls well below its start, and
    /// accuracy (over scored positions only) rises above chance (1/8).
    func testTransformerLearnsCopy() throws {
        let spec = try ExperimentSpec.load(file: try specFile(transformerSpec()))[0]
        let sink = MemoryMetricsSink()
        let result = try Runner(spec: spec).run(metrics: sink)
        XCTAssertEqual(result.end, .completed)
        let loss = sink.values("val_loss").map(\.value), accuracy = sink.values("val_accuracy").map(\.value)
        XCTAssertEqual(sink.values("val_loss").map(\.step), [0, 60, 120])
        XCTAssertLessThan(loss.last!, loss.first! * 0.7, "\(loss)")
        XCTAssertGreaterThan(accuracy.last!, 0.3, "\(accuracy)")
    }

    /// A tiny Transformer run end to end into a results database: the run row, its params, and
    /// every CONTRACT metric at the expected steps.
    func testTransformerRunWritesTheDatabase() throws {
        let spec = try ExperimentSpec.load(file: try specFile(transformerSpec()))[0]
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tf-\(UUID().uuidString)/r.sqlite").path
        let store = try ResultsStore(path: path)
        let id = try store.beginRun(experiment: spec.name, config: JSONWriter.write(spec.config), seed: Int(spec.seed),
                                    params: spec.flattenedParams.mapValues { .text(JSONWriter.write($0)) })
        let result = try Runner(spec: spec).run(metrics: StoreSink(writer: store.metricsSink(runID: id)))
        try store.finishRun(id: id, status: result.end == .completed ? .completed : .diverged)
        XCTAssertEqual(try store.runs(experiment: "tf").map(\.status), [.completed])
        XCTAssertEqual(try store.metrics(runID: id, name: "train_loss").map(\.step), Array(1...120))
        XCTAssertEqual(try store.metrics(runID: id, name: "val_accuracy").map(\.step), [0, 60, 120])
        XCTAssertEqual(try store.params(runID: id)["model.kv_heads"], "2")
    }

    /// The estimate counts exactly the parameters the built Transformer has (gated FFN, GQA,
    /// learned positions; then RoPE with tied embeddings and no biases).
    func testEstimateMatchesBuiltModel() throws {
        for model in [#""kind": "transformer", "d_model": 32, "layers": 2, "heads": 4, "kv_heads": 2, "activation": "swiglu", "bias": false"#,
                      #""kind": "transformer", "d_model": 24, "layers": 3, "heads": 2, "positional": "rope", "tie_embeddings": true, "bias": false, "norm": "rmsnorm""#,
                      #""kind": "transformer", "d_model": 16, "layers": 2, "heads": 2, "activation": "geglu", "norm": {"kind": "layernorm", "placement": "post"}"#] {
            let spec = try ExperimentSpec.load(file: try specFile(transformerSpec(model: model)))[0]
            let (_, built) = try Runner(spec: spec).prepare()
            XCTAssertEqual(ResourceEstimate(spec).parameters, built.parameters.reduce(0) { $0 + $1.value.count }, model)
        }
    }

    /// Mismatched choices are refused before training, naming the path and what to use instead.
    func testIncompatibleChoices() throws {
        let cases: [(String, String)] = [
            (transformerSpec(model: #""kind": "transformer", "heads": 4, "kv_heads": 3"#), "model.kv_heads"),
            (transformerSpec(model: #""kind": "mlp""#), "is a token sequence: use"),
            (transformerSpec(task: #""kind": "blobs""#), "the transformer reads token sequences"),
            (transformerSpec(loss: #"{"kind": "cross_entropy", "label_smoothing": 0.1}"#), "label_smoothing is not supported on sequence tasks"),
            (transformerSpec(loss: #""focal""#), "is trained with cross_entropy"),
            (transformerSpec(model: #""kind": "transformer", "hidden": [3]"#), "unknown key 'hidden'"),
        ]
        // Task options that only the data module can judge are caught by `check()`, before a run.
        let odd = try ExperimentSpec.load(file: try specFile(transformerSpec(task: #""kind": "copy", "seq_len": 7"#)))[0]
        XCTAssertThrowsError(try Runner(spec: odd).check()) { error in
            XCTAssertTrue(error is SpecError, "\(error)")
            XCTAssertTrue("\(error)".contains("seq_len"), "\(error)")
        }
        for (text, expected) in cases {
            XCTAssertThrowsError(try ExperimentSpec.load(file: try specFile(text)), expected) { error in
                XCTAssertTrue(error is SpecError)
                XCTAssertTrue("\(error)".contains(expected), "\(error) should contain \(expected)")
            }
        }
    }
}

/// A run's writer into a results store as the runner's sink (the command line's wiring).
struct StoreSink: MetricsSink {
    let writer: RunMetricsWriter
    func log(step: Int, name: String, value: Double) { writer.log(step: step, name: name, value: value) }
    func flush() { writer.flush() }
    var failure: (any Error)? { writer.failure }
    func checkpoint(step: Int, state: [UInt8]) throws { try writer.checkpoint(step: step, state: state) }
}
