import XCTest
import Foundation
import TrainLabAutodiff
import TrainLabKernels
@testable import TrainLabModels

/// The Transformer's structure (docs/interface.md names and shapes, DeepNet's init), its checks and
/// its causality; its numbers are checked against PyTorch in GoldenTests/TransformerGoldenTests.
final class TransformerTests: XCTestCase {
    func config(_ configure: (inout TransformerConfig) -> Void = { _ in }) -> TransformerConfig {
        var c = TransformerConfig(vocab: 11, maxLength: 9)
        c.dModel = 12
        c.heads = 4
        c.ffnHidden = 20
        configure(&c)
        return c
    }

    func testParameterNamesAndShapesFollowTheContract() {
        let model = Transformer(config { $0.kvHeads = 2; $0.activation = .swiglu }, seed: 0)
        var expected: [(String, [Int])] = [("embed.weight", [11, 12]), ("pos.weight", [9, 12])]
        for i in 0..<2 {
            let b = "blocks.\(i)"
            expected += [
                ("\(b).attn_norm.weight", [12]), ("\(b).attn_norm.bias", [12]),
                ("\(b).attn.q.weight", [12, 12]), ("\(b).attn.q.bias", [12]),
                ("\(b).attn.k.weight", [6, 12]), ("\(b).attn.k.bias", [6]),
                ("\(b).attn.v.weight", [6, 12]), ("\(b).attn.v.bias", [6]),
                ("\(b).attn.o.weight", [12, 12]), ("\(b).attn.o.bias", [12]),
                ("\(b).ffn_norm.weight", [12]), ("\(b).ffn_norm.bias", [12]),
                ("\(b).ffn.up.weight", [20, 12]), ("\(b).ffn.up.bias", [20]),
                ("\(b).ffn.gate.weight", [20, 12]), ("\(b).ffn.gate.bias", [20]),
                ("\(b).ffn.down.weight", [12, 20]), ("\(b).ffn.down.bias", [12]),
            ]
        }
        expected += [("final_norm.weight", [12]), ("final_norm.bias", [12]), ("head.weight", [11, 12]), ("head.bias", [11])]
        XCTAssertEqual(model.parameters.map(\.name), expected.map(\.0))
        XCTAssertEqual(model.parameters.map(\.value.shape), expected.map(\.1))

        // Tied, no bias, RMSNorm, post, RoPE, plain FFN: no pos, gate, final_norm or head.
        let lean = Transformer(config {
            $0.tieEmbeddings = true; $0.bias = false; $0.norm = .rmsNorm(); $0.placement = .post; $0.positional = .rope
            $0.heads = 2; $0.kvHeads = 1; $0.layers = 1
        }, seed: 0)
        XCTAssertEqual(lean.parameters.map(\.name), [
            "embed.weight", "blocks.0.attn_norm.weight", "blocks.0.attn.q.weight", "blocks.0.attn.k.weight",
            "blocks.0.attn.v.weight", "blocks.0.attn.o.weight", "blocks.0.ffn_norm.weight", "blocks.0.ffn.up.weight",
            "blocks.0.ffn.down.weight",
        ])
        XCTAssertEqual(lean.parameters[3].value.shape, [6, 12], "one key head of size 6")
    }

    /// Default init: N(0, 1) tables, U(±1/√in) linear layers; deepnorm scales v, o, up, gate and
    /// down by β = (8N)^-¼ and leaves q, k and the biases; α = (2N)^¼.
    func testInitializationAndDeepNetScaling() {
        let post = Transformer(config { $0.placement = .post; $0.activation = .geglu; $0.layers = 3 }, seed: 7)
        let deep = Transformer(config { $0.placement = .deepnorm; $0.activation = .geglu; $0.layers = 3 }, seed: 7)
        XCTAssertEqual(deep.alpha, Float(pow(6.0, 0.25)), accuracy: 1e-6)
        XCTAssertEqual(deep.beta, Float(pow(24.0, -0.25)), accuracy: 1e-6)
        XCTAssertEqual(post.alpha, 1)
        let scaled = ["attn.v.weight", "attn.o.weight", "ffn.up.weight", "ffn.gate.weight", "ffn.down.weight"]
        for (a, b) in zip(post.parameters, deep.parameters) {
            XCTAssertEqual(a.name, b.name)
            let factor: Float = scaled.contains { a.name.hasSuffix($0) } ? deep.beta : 1
            XCTAssertEqual(a.value.scalars.map { $0 * factor }, b.value.scalars, a.name)
        }
        let embed = post.embed.value.scalars
        let std = (embed.map { Double($0 * $0) }.reduce(0, +) / Double(embed.count)).squareRoot()
        XCTAssertEqual(std, 1, accuracy: 0.25)
        let down = post.blocks[0].feedForward.down.weight.value.scalars
        XCTAssert(down.allSatisfy { abs($0) <= 1 / Float(20).squareRoot() })
        XCTAssertGreaterThan(down.map(abs).max()!, 0.8 / Float(20).squareRoot())
        XCTAssertEqual(Transformer(config(), seed: 7).parameters.map(\.value.scalars),
                       Transformer(config(), seed: 7).parameters.map(\.value.scalars), "deterministic from the seed")
    }

    func testValidationErrorsNameTheKey() {
        let cases: [(TransformerConfig, String)] = [
            (config { $0.heads = 5 }, "model.heads"),
            (config { $0.kvHeads = 3 }, "model.kv_heads"),
            (config { $0.norm = .batchNorm() }, "model.norm"),
            (config { $0.heads = 4; $0.dModel = 12; $0.positional = .rope }, "model.positional"),
            (config { $0.vocab = 0 }, "model.vocab"),
        ]
        for (c, key) in cases {
            XCTAssert(c.validationError()?.hasPrefix(key) == true, "\(key): \(c.validationError() ?? "nil")")
        }
        XCTAssertNil(config { $0.heads = 2; $0.kvHeads = 1; $0.positional = .rope }.validationError())
    }

    /// Logits (B·T, V), the observed layer names, and causality: changing token t moves no logits
    /// before t when causal (learned, sinusoidal and rotary positions), and earlier ones when not.
    func testShapesObservationsAndCausality() {
        let (batch, length) = (2, 6)
        let tokens = (0..<(batch * length)).map { Float(($0 * 5 + 3) % 11) }
        for positional in PositionalEncoding.allCases {
            for causal in [true, false] {
                let model = Transformer(config { $0.positional = positional; $0.causal = causal; $0.heads = 2; $0.kvHeads = 1 }, seed: 3)
                func logits(_ ids: [Float]) -> (values: [Float], observed: [String]) {
                    let tape = Tape(pool: .serial)
                    var observed: [String] = []
                    let y = model.forward(tape.constant(Tensor(shape: [batch, length], values: ids)), on: tape) { name, _ in observed.append(name) }
                    XCTAssertEqual(tape.shape(y), [batch * length, 11])
                    return (tape.value(y).scalars, observed)
                }
                let before = logits(tokens)
                XCTAssertEqual(before.observed, ["embed", "blocks.0", "blocks.1", "head"])
                var changed = tokens
                changed[3] = Float((Int(changed[3]) + 1) % 11)
                let after = logits(changed).values
                let earlier = 0..<(3 * 11)
                if causal {
                    XCTAssertEqual(Array(before.values[earlier]), Array(after[earlier]), "\(positional)")
                } else {
                    XCTAssertNotEqual(Array(before.values[earlier]), Array(after[earlier]), "\(positional)")
                }
                XCTAssertEqual(Array(before.values[(length * 11)...]), Array(after[(length * 11)...]),
                               "\(positional) causal \(causal): the other sequence is untouched")
            }
        }
    }
}
