import XCTest
import TrainLabAutodiff
@testable import TrainLabModels

/// The models' lists of what they build are what they build: names, shapes and order, for every
/// norm, placement, residual blocks, biases, gated FFNs, tied heads and positions.
final class ParameterShapeTests: XCTestCase {
    func built(_ parameters: [Parameter]) -> [ParameterShape] {
        parameters.map { ParameterShape(name: $0.name, shape: $0.value.shape) }
    }

    func testMLPShapesAreWhatInitBuilds() {
        let norms: [NormalizationKind] = [.none, .layerNorm(), .rmsNorm(), .batchNorm(), .layerNorm(affine: false)]
        for norm in norms {
            for placement in NormPlacement.allCases {
                for (residual, bias) in [(false, true), (true, false)] {
                    let activation = Swish(beta: 1, learnable: true)
                    let model = MLP(inputs: 5, hidden: [8, 8, 4], outputs: 3, activation: activation, bias: bias, norm: norm,
                                    placement: placement, residual: residual, seed: 1)
                    let listed = MLP.parameterShapes(inputs: 5, hidden: [8, 8, 4], outputs: 3, bias: bias, norm: norm,
                                                     placement: placement, residual: residual, activation: activation)
                    XCTAssertEqual(listed, built(model.parameters), "\(norm) \(placement) residual \(residual)")
                }
            }
        }
    }

    func testTransformerShapesAreWhatInitBuilds() {
        for (norm, placement) in [(NormalizationKind.layerNorm(), NormPlacement.pre), (.rmsNorm(), .post), (.layerNorm(), .deepnorm)] {
            for (activation, positional, tied, bias) in [("gelu", PositionalEncoding.learned, false, true),
                                                         ("swiglu", .rope, true, false), ("geglu", .sinusoidal, false, false)] {
                var config = TransformerConfig(vocab: 11, maxLength: 9)
                config.dModel = 16
                config.layers = 2
                config.heads = 4
                config.kvHeads = 2
                config.norm = norm
                config.placement = placement
                config.positional = positional
                config.tieEmbeddings = tied
                config.bias = bias
                config.activation = FeedForwardActivation.gated(named: activation) ?? .plain(GELU(approximate: .none))
                let model = Transformer(config, seed: 3)
                XCTAssertEqual(Transformer.parameterShapes(config), built(model.parameters), "\(activation) \(positional) \(placement)")
            }
        }
    }
}
