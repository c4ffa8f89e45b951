import XCTest
@testable import TrainLabExperiment
import TrainLabSpec

/// `validate`'s memory figure: its activations term (the models' own counts of what a training
/// step keeps on the tape) against the tape's arena after real steps, for MLPs and Transformers
/// of every shape of layer the counts distinguish. The old count (12·d + 3·h a token) said 260
/// MiB for the bench Transformer, which holds 390 MB.
final class MemoryEstimateTests: XCTestCase {
    func testActivationsTermIsTheTapesArena() throws {
        let tf = #"{"name": "NAME", "task": {"kind": "copy", "vocab": 64, "seq_len": 32, "train_size": 64, "val_size": 0}, "model": {"kind": "transformer", MODEL}, "loss": "cross_entropy", "optimizer": {"kind": "adamw"}, "training": {"steps": 1, "batch_size": 8}}"#
        let mlp = #"{"name": "NAME", "task": {"kind": "blobs", "input_dim": 40, "classes": 5, "train_size": 512}, "model": {MODEL}, "loss": "cross_entropy", "optimizer": {"kind": "adamw"}, "training": {"steps": 1, "batch_size": 64}}"#
        let cases: [(String, String, String)] = [
            ("gqa-swiglu", tf, #""d_model": 256, "layers": 4, "heads": 8, "kv_heads": 2, "activation": "swiglu", "ffn_hidden": 683, "norm": {"kind": "rmsnorm", "placement": "pre"}, "bias": false"#),
            ("gelu", tf, #""d_model": 64, "layers": 2, "heads": 4, "activation": "gelu""#),
            ("rope", tf, #""d_model": 64, "layers": 3, "heads": 4, "kv_heads": 1, "positional": "rope", "activation": "relu", "norm": {"kind": "layernorm", "placement": "post"}"#),
            ("geglu-none", tf, #""d_model": 48, "layers": 2, "heads": 2, "activation": "geglu", "positional": "none", "causal": false"#),
            ("relu", mlp, #""hidden": [1024, 1024], "activation": "relu""#),
            ("prenorm", mlp, #""hidden": [64, 64], "activation": "gelu", "norm": {"kind": "layernorm", "placement": "pre"}"#),
            ("bn-res", mlp, #""hidden": [64, 64, 64], "activation": "tanh", "norm": {"kind": "batchnorm", "placement": "post"}, "residual": true"#),
        ]
        for (name, template, model) in cases {
            let text = template.replacingOccurrences(of: "NAME", with: name).replacingOccurrences(of: "MODEL", with: model)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("me-\(UUID().uuidString).json")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let spec = try ExperimentSpec.load(file: file.path)[0]
            let session = try TrainingBenchmark.Session(TrainingBenchmark(spec: spec), warmup: 2, steps: 1, metrics: MemoryMetricsSink())
            let estimate = ResourceEstimate(spec)
            let arena = 4.0 * Double(session.tape.arenaFloats)
            XCTAssertEqual(estimate.activationBytes / arena, 1, accuracy: 0.1, "\(name): estimated \(estimate.activationBytes) bytes, the arena holds \(arena)")
        }
    }
}
