import TrainLabKernels
import TrainLabAutodiff
import TrainLabModels

/// The state of a network at initialization, by depth (`"probe": true` in a spec), logged at
/// step 0 — how a user sees the notes' claims that Xavier/He initialization keeps the norm of
/// activations and gradients, and that a random N(0, 1/n) matrix is nearly orthogonal:
///   probe/act_rms/layers.{i}      RMS of layer i's output on one training batch
///   probe/grad_rms/layers.{i}     RMS of ∂loss/∂(layer i's output)
///   probe/orthogonality/{name}  ‖WᵀW − I‖_F / in for each 2-D weight W [out, in] (`layers.{i}`): the RMS
///     of WᵀW − I's entries, about 1/√in for an N(0, 1/in) matrix (the notes' corollary 2: such a
///     matrix is nearly orthogonal, the more so the larger it is) and 0 for an orthogonal one
/// A model whose forward pass can hand out each layer's output (`layers.{i}`, `blocks.{i}`).
public protocol LayerObservingModel: Model {
    func forward(_ x: Variable, on tape: Tape, observe: (String, Variable) -> Void) -> Variable
}

extension MLP: LayerObservingModel {}
extension Transformer: LayerObservingModel {}

enum InitProbe {
    static func run(model: any LayerObservingModel, batch: BatchBuffers, loss: any Loss, precision: MatrixPrecision, pool: ThreadPool,
                    metrics: MetricsSink) {
        let tape = Tape(pool: pool, precision: precision)
        var observed: [(String, Variable)] = []
        let prediction = model.forward(tape.constant(batch.inputs), on: tape) {
            tape.retainGradient($1)
            observed.append(($0, $1))
        }
        tape.backward(from: loss(prediction, batch.targets, on: tape))
        for p in model.parameters { p.zeroGradient() }
        for (name, variable) in observed {
            metrics.log(step: 0, name: "probe/act_rms/\(name)", value: rms(tape.value(variable)))
            if let gradient = tape.gradient(variable) {
                metrics.log(step: 0, name: "probe/grad_rms/\(name)", value: rms(gradient))
            }
        }
        for p in model.parameters where p.value.shape.count == 2 && p.name.hasSuffix(".weight") {
            metrics.log(step: 0, name: "probe/orthogonality/\(p.name.dropLast(".weight".count))", value: orthogonalityDefect(p.value))
        }
    }

    static func rms(_ t: Tensor) -> Double {
        var s = 0.0
        for i in 0..<t.count { s += Double(t[i]) * Double(t[i]) }
        return (s / Double(max(t.count, 1))).squareRoot()
    }

    /// ‖WᵀW − I‖_F / in, in Float64: 0 for orthonormal columns.
    static func orthogonalityDefect(_ w: Tensor) -> Double {
        let rows = w.shape[0], columns = w.shape[1]
        var total = 0.0
        for a in 0..<columns {
            for b in a..<columns {
                var dot = 0.0
                for r in 0..<rows { dot += Double(w[r * columns + a]) * Double(w[r * columns + b]) }
                let d = dot - (a == b ? 1 : 0)
                total += a == b ? d * d : 2 * d * d
            }
        }
        return total.squareRoot() / Double(columns)
    }
}
