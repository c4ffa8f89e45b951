import XCTest
import Foundation
import TrainLabAutodiff
import TrainLabKernels
import TrainLabModels

/// The Transformer against PyTorch (fixtures from tools/golden/make_golden_transformer.py): for
/// fixed weights and tokens, the logits, the cross-entropy loss with ignored targets and every
/// parameter gradient, for pre-LayerNorm GELU MHA with learned positions, post-LayerNorm SwiGLU
/// GQA causal, pre-RMSNorm GeGLU MQA with RoPE, no bias and tied embeddings, deepnorm, and
/// sinusoidal positions (2 blocks, vocab 11, d_model 12, T 7, batch 3).
final class TransformerGoldenTests: XCTestCase {
    struct Case {
        let name: String
        let config: TransformerConfig
        let batch: Int, length: Int
        let tokens: [Float]
        let targets: [Int]
        let parameters: [String: (shape: [Int], values: [Float])]
        let logits: [Float]
        let loss: Double
        let gradients: [String: [Float]]

        init(file: String) throws {
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("Fixtures").appendingPathComponent(file)
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            func floats(_ any: Any?) -> [Float] { (any as! [NSNumber]).map(\.floatValue) }
            func ints(_ any: Any?) -> [Int] { (any as! [NSNumber]).map(\.intValue) }
            name = json["name"] as! String
            let c = json["config"] as! [String: Any]
            func int(_ key: String) -> Int { (c[key] as! NSNumber).intValue }
            var config = TransformerConfig(vocab: int("vocab"), maxLength: int("max_len"))
            config.dModel = int("d_model")
            config.layers = int("layers")
            config.heads = int("heads")
            config.kvHeads = int("kv_heads")
            config.ffnHidden = int("ffn_hidden")
            let activation = c["activation"] as! String
            let plain: [String: any Activation] = ["gelu": GELU(), "relu": ReLU(), "silu": SiLU(), "tanh": Tanh()]
            config.activation = FeedForwardActivation.gated(named: activation) ?? .plain(plain[activation]!)
            config.norm = c["norm"] as! String == "rmsnorm" ? .rmsNorm() : .layerNorm()
            config.placement = NormPlacement(rawValue: c["placement"] as! String)!
            config.causal = c["causal"] as! Bool
            config.bias = c["bias"] as! Bool
            config.positional = PositionalEncoding(rawValue: c["positional"] as! String)!
            config.tieEmbeddings = c["tie_embeddings"] as! Bool
            self.config = config
            batch = (json["batch"] as! NSNumber).intValue
            length = (json["length"] as! NSNumber).intValue
            tokens = ints(json["tokens"]).map(Float.init)
            targets = ints(json["targets"])
            parameters = (json["parameters"] as! [String: [String: Any]]).mapValues {
                (($0["shape"] as! [NSNumber]).map(\.intValue), floats($0["values"]))
            }
            logits = floats(json["logits"])
            loss = (json["loss"] as! NSNumber).doubleValue
            gradients = (json["gradients"] as! [String: Any]).mapValues { floats($0) }
        }

        /// The fixture's model with PyTorch's weights copied in by name.
        func makeModel() -> Transformer {
            let model = Transformer(config, seed: 0)
            XCTAssertEqual(Set(model.parameters.map(\.name)), Set(parameters.keys), "\(name): the weights names of docs/interface.md")
            for p in model.parameters {
                guard let stored = parameters[p.name] else { continue }
                XCTAssertEqual(stored.shape, p.value.shape, "\(name) \(p.name)")
                guard stored.values.count == p.value.count else { continue }
                for (i, v) in stored.values.enumerated() { p.value[i] = v }
            }
            return model
        }
    }

    static let files = [
        "transformer_pre_layernorm_gelu_mha_learned.json",
        "transformer_post_layernorm_swiglu_gqa_causal.json",
        "transformer_pre_rmsnorm_geglu_mqa_rope_tied.json",
        "transformer_deepnorm_layernorm_relu.json",
        "transformer_pre_layernorm_silu_sinusoidal_gqa_causal.json",
    ]

    /// Largest |ours - torch| / max(|torch|, 1% of the tensor's largest magnitude, absoluteFloor),
    /// and where. The relative floor (as GoldenTrainingTests) covers elements that are sums of terms
    /// of the tensor's scale, whose Float32 rounding is relative to that scale, not to them; the
    /// absolute floor (1e-6 of the model's largest gradient) covers elements near zero. The key
    /// bias is checked apart: it gets no gradient in exact arithmetic (softmax is shift-invariant:
    /// q·(k_j + b) moves every score of a row by q·b), only rounding noise (~1e-9 here) on both sides.
    func relativeError(_ ours: [Float], _ torch: [Float], absoluteFloor: Float) -> (error: Float, index: Int) {
        precondition(ours.count == torch.count, "\(ours.count) values against \(torch.count)")
        let scale = torch.map(abs).max() ?? 0
        var worst: Float = 0, worstIndex = 0
        for i in ours.indices {
            let error = abs(ours[i] - torch[i]) / max(abs(torch[i]), 0.01 * scale, absoluteFloor, 1e-12)
            if error > worst { worst = error; worstIndex = i }
        }
        return (worst, worstIndex)
    }

    /// Checks and returns the worst relative error.
    @discardableResult
    func assertClose(_ ours: [Float], _ torch: [Float], tolerance: Float, absoluteFloor: Float = 0, _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) -> Float {
        XCTAssertEqual(ours.count, torch.count, what, file: file, line: line)
        guard ours.count == torch.count else { return .infinity }
        let (worst, i) = relativeError(ours, torch, absoluteFloor: absoluteFloor)
        XCTAssertLessThanOrEqual(worst, tolerance, "\(what): element \(i) is \(ours[i]), torch \(torch[i])", file: file, line: line)
        return worst
    }

    func testLogitsLossAndGradientsMatchPyTorch() throws {
        for file in Self.files {
            let c = try Case(file: file)
            let model = c.makeModel()
            for pool in [ThreadPool.serial, ThreadPool(threads: 3)] {
                for p in model.parameters { p.zeroGradient() }
                let tape = Tape(pool: pool)
                let logits = model.forward(tape.constant(Tensor(shape: [c.batch, c.length], values: c.tokens)), on: tape)
                XCTAssertEqual(tape.shape(logits), [c.batch * c.length, c.config.vocab], c.name)
                let loss = CrossEntropyLoss()(logits, .classes(c.targets), on: tape)
                tape.backward(from: loss)
                assertClose(tape.value(logits).scalars, c.logits, tolerance: 1e-4, "\(c.name) logits")
                XCTAssertEqual(Double(tape.value(loss)[0]), c.loss, accuracy: 1e-5 * max(1, abs(c.loss)), c.name)
                let gradientScale = c.gradients.values.flatMap { $0.map(abs) }.max() ?? 0
                for p in model.parameters {
                    if p.name.hasSuffix("attn.k.bias") {
                        // Zero in exact arithmetic: both sides hold rounding noise only.
                        let noise = 1e-6 * gradientScale
                        XCTAssertLessThan(p.gradient.scalars.map(abs).max()!, noise, "\(c.name) ∂\(p.name)")
                        XCTAssertLessThan(c.gradients[p.name]!.map(abs).max()!, noise, "\(c.name) torch ∂\(p.name)")
                        continue
                    }
                    assertClose(p.gradient.scalars, c.gradients[p.name]!, tolerance: 1e-4,
                                absoluteFloor: 1e-6 * gradientScale, "\(c.name) ∂\(p.name)")
                }
            }
        }
    }

    /// Ignored targets matter: the same model scored on every position gives another loss, so
    /// the fixtures' -100 entries are being skipped, not read as classes.
    func testIgnoredTargetsAreSkipped() throws {
        let c = try Case(file: Self.files[1])
        XCTAssert(c.targets.contains(Tape.ignoredTarget))
        let model = c.makeModel()
        let tape = Tape(pool: .serial)
        let logits = model.forward(tape.constant(Tensor(shape: [c.batch, c.length], values: c.tokens)), on: tape)
        let everyPosition = c.targets.map { $0 == Tape.ignoredTarget ? 0 : $0 }
        let loss = tape.value(CrossEntropyLoss()(logits, .classes(everyPosition), on: tape))[0]
        XCTAssertGreaterThan(abs(Double(loss) - c.loss), 1e-3)
    }
}
