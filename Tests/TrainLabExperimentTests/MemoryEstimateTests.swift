import XCTest
@testable import TrainLabExperiment
import TrainLabSpec

/// `validate`'s memory figure: its activations term (the models' own counts of what a training
/// step keeps on the tape) against the tape's arena after real steps, for MLPs and Transformers
/// of every shape of layer the counts distinguish. The old count (12·d + 3·h a token) said 260
/// MiB for the bench Transformer, which holds 390 MB.
final class MemoryEstimateTests: XCTestCase {
    private let transformer = #"{"name": "NAME", "task": {"kind": "copy", "vocab": 64, "seq_len": 32, "train_size": 64, "val_size": 0}, "model": {"kind": "transformer", MODEL}, "loss": "cross_entropy", "optimizer": {"kind": "adamw"}, "training": {"steps": 1, "batch_size": 8}}"#
    private let mlp = #"{"name": "NAME", "task": {"kind": "blobs", "input_dim": 40, "classes": 5, "train_size": 512}, "model": {MODEL}, "loss": "cross_entropy", "optimizer": {"kind": "adamw"}, "training": {"steps": 1, "batch_size": 64}}"#

    /// The estimate's activation bytes and the arena's bytes after warm-up steps of `model`.
    private func measure(_ template: String, _ name: String, _ model: String) throws -> (estimate: Double, arena: Double) {
        let text = template.replacingOccurrences(of: "NAME", with: name).replacingOccurrences(of: "MODEL", with: model)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("me-\(UUID().uuidString).json")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let spec = try ExperimentSpec.load(file: file.path)[0]
        let session = try TrainingBenchmark.Session(TrainingBenchmark(spec: spec), warmup: 2, steps: 1, metrics: MemoryMetricsSink())
        return (ResourceEstimate(spec).activationBytes, 4 * Double(session.tape.arenaFloats))
    }

    func testActivationsTermIsTheTapesArena() throws {
        let cases: [(String, String, String)] = [
            ("gqa-swiglu", transformer, #""d_model": 256, "layers": 4, "heads": 8, "kv_heads": 2, "activation": "swiglu", "ffn_hidden": 683, "norm": {"kind": "rmsnorm", "placement": "pre"}, "bias": false"#),
            ("gelu", transformer, #""d_model": 64, "layers": 2, "heads": 4, "activation": "gelu""#),
            ("rope", transformer, #""d_model": 64, "layers": 3, "heads": 4, "kv_heads": 1, "positional": "rope", "activation": "relu", "norm": {"kind": "layernorm", "placement": "post"}"#),
            ("leaky-ffn", transformer, #""d_model": 64, "layers": 2, "heads": 4, "activation": "leaky_relu", "ffn_hidden": 512"#),
            ("geglu-none", transformer, #""d_model": 48, "layers": 2, "heads": 2, "activation": "geglu", "positional": "none", "causal": false"#),
            ("relu", mlp, #""hidden": [1024, 1024], "activation": "relu""#),
            ("prenorm", mlp, #""hidden": [64, 64], "activation": "gelu", "norm": {"kind": "layernorm", "placement": "pre"}"#),
            ("bn-res", mlp, #""hidden": [64, 64, 64], "activation": "tanh", "norm": {"kind": "batchnorm", "placement": "post"}, "residual": true"#),
            ("deepnorm-res", mlp, #""hidden": [64, 64, 64], "activation": "relu", "norm": {"kind": "layernorm", "placement": "deepnorm"}, "residual": true"#),
            // Unfused activations: LeakyReLU's five nodes, Swish's three (counted 5 until 2026-12: 0.49x, 0.73x).
            ("leaky-unfused", mlp, #""hidden": [96, 48], "activation": "leaky_relu""#),
            ("swish-unfused", mlp, #""hidden": [96, 48], "activation": "swish", "norm": {"kind": "rmsnorm", "placement": "post"}"#),
        ]
        for (name, template, model) in cases {
            let (estimate, arena) = try measure(template, name, model)
            XCTAssertEqual(estimate / arena, 1, accuracy: 0.1, "\(name): estimated \(estimate) bytes, the arena holds \(arena)")
        }
    }

    /// Each activation's own count (`tapeFloatsPerUnit`, or the fused layer's), in every path
    /// through `MLP.forward`: fused into the linear layer (no norm, or pre), or after a post norm.
    /// Doubling the hidden width adds 64 rows × 256 units × (the per-unit count) to the arena and
    /// to the estimate alike; the arena also holds a few floats per unit that do not scale with
    /// the batch (the norm's and bias's parameter-shaped scratch), hence the 0.25.
    func testEveryCatalogueActivationCountsItsFloatsPerUnit() throws {
        let activations = Catalogue.activations.keys.sorted().map { "\"\($0)\"" }
            + [#"{"kind": "gelu", "approximate": "sigmoid"}"#, #"{"kind": "swish", "learnable": true}"#]
        let norms = [#""none""#, #"{"kind": "rmsnorm", "placement": "post"}"#, #"{"kind": "layernorm", "placement": "pre"}"#]
        for activation in activations {
            for norm in norms {
                let narrow = try measure(mlp, "a", #""hidden": [256], "activation": \#(activation), "norm": \#(norm)"#)
                let wide = try measure(mlp, "a", #""hidden": [512], "activation": \#(activation), "norm": \#(norm)"#)
                let units = 4.0 * 64 * 256
                XCTAssertEqual((wide.estimate - narrow.estimate) / units, (wide.arena - narrow.arena) / units, accuracy: 0.25,
                               "\(activation) with norm \(norm): floats per hidden unit and sample")
            }
        }
    }
}
