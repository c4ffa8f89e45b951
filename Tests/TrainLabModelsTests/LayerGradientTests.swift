import XCTest
import Foundation
import TrainLabAutodiff
@testable import TrainLabModels

/// Finite-difference checks of whole MLP layers (every norm, pre and post placement, residual
/// blocks, DeepNet) against a Float64 twin of the network: the gradient with respect to the
/// input flows back through every layer's backward, norms and residual branches included.
final class LayerGradientTests: XCTestCase {
    /// The MLP's forward in Float64 with the model's own parameter values (training mode).
    struct Float64MLP {
        let model: MLP
        let norm: NormalizationKind

        func value(_ name: String) -> [Double] {
            (model.parameters.first { $0.name == name }?.value.scalars ?? []).map(Double.init)
        }

        func linear(_ x: [[Double]], _ i: Int) -> [[Double]] {
            let w = value("layers.\(i).weight"), b = value("layers.\(i).bias")
            let outputs = b.count, inputs = w.count / outputs
            return x.map { row -> [Double] in
                var out = b
                for o in 0..<outputs {
                    for k in 0..<inputs { out[o] += w[o * inputs + k] * row[k] }
                }
                return out
            }
        }

        func normalize(_ x: [[Double]], _ i: Int) -> [[Double]] {
            let gamma = value("layers.\(i).norm.weight"), beta = value("layers.\(i).norm.bias")
            let columns = x[0].count
            func affine(_ v: Double, _ c: Int) -> Double { v * (gamma.isEmpty ? 1 : gamma[c]) + (beta.isEmpty ? 0 : beta[c]) }
            switch norm {
            case .none:
                return x
            case let .layerNorm(eps, _):
                return x.map { row in
                    let mean = row.reduce(0, +) / Double(columns)
                    let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(columns)
                    return row.enumerated().map { affine(($0.element - mean) / (variance + eps).squareRoot(), $0.offset) }
                }
            case let .rmsNorm(eps, _):
                return x.map { row in
                    let meanSquare = row.map { $0 * $0 }.reduce(0, +) / Double(columns)
                    return row.enumerated().map { affine($0.element / (meanSquare + eps).squareRoot(), $0.offset) }
                }
            case let .batchNorm(eps, _, _):
                var y = x
                for c in 0..<columns {
                    let column = x.map { $0[c] }
                    let mean = column.reduce(0, +) / Double(x.count)
                    let variance = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(x.count)
                    for r in x.indices { y[r][c] = affine((x[r][c] - mean) / (variance + eps).squareRoot(), c) }
                }
                return y
            }
        }

        func forward(_ x: [[Double]]) -> [[Double]] {
            let act: (Double) -> Double = Foundation.tanh
            var h = x
            for (i, layer) in model.layers.enumerated() {
                let hasNorm = layer.norm != nil
                func n(_ v: [[Double]]) -> [[Double]] { hasNorm ? normalize(v, i) : v }
                // Only pre gives the head a norm (and layer 0 none).
                if i == model.layers.count - 1 { return linear(n(h), i) }
                func block(_ v: [[Double]]) -> [[Double]] { linear(v, i).map { $0.map(act) } }
                func add(_ a: [[Double]], _ b: [[Double]], _ alpha: Double = 1) -> [[Double]] {
                    zip(a, b).map { zip($0, $1).map { alpha * $0 + $1 } }
                }
                if layer.isResidual {
                    switch model.placement {
                    case .pre: h = add(h, block(n(h)))
                    case .post: h = n(add(h, block(h)))
                    case .deepnorm: h = n(add(h, block(h), Double(model.alpha)))
                    }
                } else if model.placement == .pre {
                    h = block(n(h))
                } else {
                    h = n(linear(h, i)).map { $0.map(act) }
                }
            }
            return h
        }
    }

    func testEveryNormAndPlacement() {
        let norms: [NormalizationKind] = [.none, .layerNorm(), .rmsNorm(epsilon: 1e-5), .batchNorm()]
        var cases: [(NormalizationKind, NormPlacement, Bool)] = []
        for norm in norms {
            for placement in [NormPlacement.pre, .post] {
                for residual in [false, true] { cases.append((norm, placement, residual)) }
            }
        }
        cases += [(.layerNorm(), .deepnorm, true), (.rmsNorm(epsilon: 1e-5), .deepnorm, true)]
        let rows = 6, inputs = 5
        for (norm, placement, residual) in cases {
            let model = MLP(inputs: inputs, hidden: [7, 7, 7], outputs: 3, activation: Tanh(), norm: norm,
                            placement: placement, residual: residual, seed: 3)
            // Non-trivial gains and shifts so the affine paths matter.
            for p in model.parameters where p.name.contains(".norm.") {
                for j in 0..<p.value.count { p.value[j] = p.name.hasSuffix("weight") ? 0.8 + 0.05 * Float(j) : 0.1 * Float(j % 3) }
            }
            var generator = SplitMix64(seed: 11)
            let x = Tensor(shape: [rows, inputs])
            for j in 0..<x.count { x[j] = Float(generator.nextUnit() * 2 - 1) }
            let twin = Float64MLP(model: model, norm: norm)
            let report = GradientCheck().run(inputs: [x], pool: .serial) { tape, v in
                model.forward(v[0], on: tape)
            } reference: { values in
                let input = (0..<rows).map { r in Array(values[0][(r * inputs)..<((r + 1) * inputs)]) }
                return twin.forward(input).flatMap { $0 }
            }
            let what = "\(norm) \(placement) residual \(residual)"
            XCTAssertLessThan(report.worstError, 2e-3, "\(what): \(report)")
            XCTAssertLessThan(report.forwardError, 1e-4, "\(what) forward: \(report)")
        }
    }
}
