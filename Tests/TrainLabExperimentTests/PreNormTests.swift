import XCTest
import TrainLabExperiment
import TrainLabModels

/// `placement: "pre"` on an MLP: the first Linear reads the raw input (a norm over spirals' two
/// features would throw the point's position away and leave chance accuracy), every later Linear
/// and the head read a normalized input, and there are as many norms as with `post`.
final class PreNormTests: XCTestCase {
    private func spiralsSpec(_ placement: String) -> String {
        """
        {"name": "spirals-\(placement)", "task": {"kind": "spirals"},
         "model": {"hidden": [64, 64], "norm": {"kind": "layernorm", "placement": "\(placement)"}},
         "loss": "cross_entropy", "optimizer": {"kind": "adam", "lr": 0.01},
         "training": {"steps": 600, "batch_size": 64, "eval_every": 600}}
        """
    }

    /// Before the fix pre reached 0.504 here (chance), post 0.996.
    func testBothPlacementsLearnSpirals() throws {
        for placement in ["pre", "post"] {
            let spec = try ExperimentSpec.load(file: try specFile(spiralsSpec(placement)))[0]
            let result = try Runner(spec: spec).run(metrics: MemoryMetricsSink())
            XCTAssertEqual(result.end, .completed)
            XCTAssertGreaterThanOrEqual(result.finalValidationAccuracy ?? 0, 0.9, placement)
        }
    }

    /// docs/interface.md, weights files: pre normalizes the inputs of layers 1...n-1 (the head
    /// included), each norm as wide as its Linear's input; post the outputs of layers 0...n-2.
    func testPreNormNamesAndWidths() {
        func norms(_ placement: NormPlacement) -> [String] {
            MLP(inputs: 2, hidden: [8, 5], outputs: 3, activation: ReLU(), norm: .layerNorm(), placement: placement, seed: 1)
                .parameters.filter { $0.name.contains(".norm.") }.map { "\($0.name) \($0.value.shape)" }
        }
        XCTAssertEqual(norms(.pre), ["layers.1.norm.weight [8]", "layers.1.norm.bias [8]",
                                     "layers.2.norm.weight [5]", "layers.2.norm.bias [5]"])
        XCTAssertEqual(norms(.post), ["layers.0.norm.weight [8]", "layers.0.norm.bias [8]",
                                      "layers.1.norm.weight [5]", "layers.1.norm.bias [5]"])
    }
}
