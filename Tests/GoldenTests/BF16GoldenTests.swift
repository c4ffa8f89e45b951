import XCTest
import Foundation
import TrainLabKernels
import TrainLabAutodiff
import TrainLabModels
import TrainLabOptim

/// The bf16 GEMM against PyTorch (tools/golden/make_bf16_golden.py): operands rounded as
/// `torch.Tensor.bfloat16()` rounds them, and the product of the rounded operands.
final class BF16GoldenTests: XCTestCase {
    static func fixture() throws -> [String: Any] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/bf16_gemm.json")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    /// Bit for bit `torch.Tensor.bfloat16()` (nearest even, carries into the exponent and to
    /// infinity), except for subnormal inputs: the GEMM reads those as ±0, as VCVTNEPS2BF16
    /// converts them (torch keeps bf16 subnormals, and rounds the largest FP32 subnormals up to
    /// 2⁻¹²⁶). A NaN stays a NaN (ours quiet with the input's sign and leading payload, as
    /// VCVTNEPS2BF16; torch's build here gives 0xFFFF: a NaN's payload never reaches a result).
    func testRoundingIsTorchs() throws {
        let cases = (try Self.fixture()["rounding"] as! [[NSNumber]]).map { (UInt32($0[0].uint64Value), UInt32($0[1].uint64Value)) }
        XCTAssertGreaterThan(cases.count, 1000)
        var subnormals = 0
        for (input, torchBits) in cases {
            let ours = MatrixPrecision.bf16Rounded(Float(bitPattern: input)).bitPattern
            if Float(bitPattern: torchBits).isNaN {
                XCTAssertEqual(ours, (input | 0x0040_0000) & 0xFFFF_0000, String(format: "%08x", input))
            } else if Float(bitPattern: input).isSubnormal {
                subnormals += 1
                XCTAssertEqual(ours, input & 0x8000_0000, String(format: "%08x: torch %08x, a subnormal input, reads as ±0", input, torchBits))
            } else {
                XCTAssertEqual(ours, torchBits, String(format: "%08x", input))
            }
        }
        XCTAssertGreaterThan(subnormals, 0, "the fixture holds subnormal inputs")
    }

    /// C = A · B in bf16 equals torch's `a.bfloat16().double() @ b.bfloat16().double()` within
    /// FP32 summation error: |C − C64| ≤ γ · Σ|a||b| with γ = k · 2⁻²⁴ (each of the k FP32 additions
    /// rounds once; the products are exact), plus C64's own rounding, 2⁻²⁴ |C64|.
    func testProductMatchesTorchWithinSummationError() throws {
        let gemmCase = try Self.fixture()["gemm"] as! [String: Any]
        let m = (gemmCase["m"] as! NSNumber).intValue, n = (gemmCase["n"] as! NSNumber).intValue, k = (gemmCase["k"] as! NSNumber).intValue
        func floats(_ key: String) -> [Float] { (gemmCase[key] as! [NSNumber]).map(\.floatValue) }
        let a = floats("a"), b = floats("b"), expected = floats("c"), bound = floats("abs_product")
        func allowed(_ i: Int) -> Double { Double(k) * 0x1p-24 * Double(bound[i]) + 0x1p-24 * abs(Double(expected[i])) }
        for threads in [1, 2] {
            var c = [Float](repeating: .nan, count: m * n)
            gemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n, precision: .bf16, pool: ThreadPool(threads: threads))
            for i in 0..<(m * n) {
                XCTAssertLessThanOrEqual(abs(Double(c[i]) - Double(expected[i])), allowed(i), "element \(i), \(threads) threads")
            }
        }
        // The bound is tight enough to tell: the FP32 product of the unrounded operands misses it.
        var fp32 = [Float](repeating: 0, count: m * n)
        gemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &fp32, ldc: n, pool: .serial)
        XCTAssertTrue((0..<(m * n)).contains { abs(Double(fp32[$0]) - Double(expected[$0])) > allowed($0) })
    }
}

/// Training in bf16 against PyTorch (tools/golden/make_bf16_golden.py): an MLP (tanh,
/// cross-entropy, Adam) and a Transformer (pre-RMSNorm, SwiGLU, GQA, causal; AdamW), from the
/// same weights and data.
///
/// First step, against `emulated` (TrainLab's bf16 semantics written out in PyTorch: rounded
/// operands in every product and its gradients, FP32 sums, all else FP32): the loss and every
/// gradient to 1e-4 relative, as two FP32 implementations agree: the operands are the same bf16
/// values and only the order of the FP32 sums differs. TrainLab's FP32 gradients miss that bar
/// (they differ by about u = 2⁻⁸, bf16's rounding unit), so it tells the precisions apart.
///
/// Twenty steps, the loss of each: within 4u = 1.6% of `emulated` and of `autocast`
/// (torch.autocast("cpu", dtype=torch.bfloat16)). Along a trajectory the FP32-order differences
/// flip the bf16 rounding of a few operands (a jump of up to u in that element), so the runs
/// drift apart by rounding units, not by FP32 ulps (measured: up to 2e-3 relative against emulated,
/// late, where the MLP's loss is 0.01). Autocast also rounds every product's output to bf16 and
/// runs what follows on bf16 tensors: each activation carries up to u more error, which the loss
/// averages down (measured: up to 4e-3 relative).
final class BF16TrainingGoldenTests: XCTestCase {
    static let u: Float = 0x1p-8

    static func fixture(_ name: String) throws -> [String: Any] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    static func losses(_ fixture: [String: Any], _ mode: String) -> [Float] {
        ((fixture["losses"] as! [String: Any])[mode] as! [NSNumber]).map(\.floatValue)
    }

    /// Largest |ours − theirs| / max(|theirs|, floor) over the elements.
    static func worst(_ ours: [Float], _ theirs: [Float], floor: Float) -> Float {
        precondition(ours.count == theirs.count, "\(ours.count) values against \(theirs.count)")
        return zip(ours, theirs).map { abs($0 - $1) / max(abs($1), floor) }.max() ?? 0
    }

    /// Trains `steps` steps; returns each step's loss and the first step's gradients by name.
    func train(_ parameters: [Parameter], tape: Tape, steps: Int, optimizer: any Optimizer, lr: Float,
               loss: (Tape) -> Variable) -> (losses: [Float], gradients: [String: [Float]]) {
        var losses: [Float] = [], gradients: [String: [Float]] = [:]
        for step in 0..<steps {
            tape.reset()
            for p in parameters { p.zeroGradient() }
            let value = loss(tape)
            losses.append(tape.value(value)[0])
            tape.backward(from: value)
            if step == 0 { gradients = Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.gradient.scalars) }) }
            optimizer.step(parameters, lr: lr)
        }
        return (losses, gradients)
    }

    func mlp(_ precision: MatrixPrecision) throws -> (losses: [Float], gradients: [String: [Float]]) {
        let c = try GoldenTrainingTests.Case(file: "bf16_mlp.json")
        let model = c.makeModel()
        return train(model.parameters, tape: Tape(pool: .serial, precision: precision), steps: 20, optimizer: Adam(), lr: 0.01) {
            c.forward(model, on: $0).1
        }
    }

    func transformer(_ precision: MatrixPrecision, pool: ThreadPool = .serial) throws -> (losses: [Float], gradients: [String: [Float]]) {
        let c = try TransformerGoldenTests.Case(file: "bf16_transformer.json")
        let model = c.makeModel()
        return train(model.parameters, tape: Tape(pool: pool, precision: precision), steps: 20,
                     optimizer: Adam(weightDecay: 0.1, decoupled: true), lr: 0.003) { tape in
            let logits = model.forward(tape.constant(Tensor(shape: [c.batch, c.length], values: c.tokens)), on: tape)
            return CrossEntropyLoss()(logits, .classes(c.targets), on: tape)
        }
    }

    func check(_ name: String, bf16: (losses: [Float], gradients: [String: [Float]]), fp32: (losses: [Float], gradients: [String: [Float]]),
               fixture: [String: Any]) {
        let emulated = Self.losses(fixture, "emulated"), autocast = Self.losses(fixture, "autocast")
        let emulatedGradients = (fixture["emulated_gradients"] as! [String: [NSNumber]]).mapValues { $0.map(\.floatValue) }
        XCTAssertEqual(Set(bf16.gradients.keys), Set(emulatedGradients.keys), name)
        XCTAssertLessThanOrEqual(Self.worst([bf16.losses[0]], [emulated[0]], floor: 1e-3), 1e-5, "\(name): first loss")
        var fp32Worst: Float = 0
        for (parameter, torch) in emulatedGradients {
            let floor = 0.01 * (torch.map(abs).max() ?? 0) + 1e-12
            XCTAssertLessThanOrEqual(Self.worst(bf16.gradients[parameter]!, torch, floor: floor), 1e-4, "\(name): ∂\(parameter) in bf16")
            fp32Worst = max(fp32Worst, Self.worst(fp32.gradients[parameter]!, torch, floor: floor))
        }
        XCTAssertGreaterThan(fp32Worst, 10 * 1e-4, "\(name): the FP32 gradients are not what bf16 computes")
        XCTAssertLessThanOrEqual(Self.worst(bf16.losses, emulated, floor: 1e-3), 4 * Self.u, "\(name): 20 steps against emulated bf16")
        XCTAssertLessThanOrEqual(Self.worst(bf16.losses, autocast, floor: 1e-3), 4 * Self.u, "\(name): 20 steps against autocast")
        XCTAssertLessThanOrEqual(Self.worst(fp32.losses, Self.losses(fixture, "fp32"), floor: 1e-3), 1e-4, "\(name): FP32 against PyTorch FP32")
    }

    func testMLPTracksPyTorch() throws {
        check("mlp", bf16: try mlp(.bf16), fp32: try mlp(.fp32), fixture: try Self.fixture("bf16_mlp.json"))
    }

    func testTransformerTracksPyTorch() throws {
        let bf16 = try transformer(.bf16)
        check("transformer", bf16: bf16, fp32: try transformer(.fp32), fixture: try Self.fixture("bf16_transformer.json"))
        XCTAssertEqual(try transformer(.bf16, pool: ThreadPool(threads: 3)).losses.map(\.bitPattern), bf16.losses.map(\.bitPattern),
                       "bit-identical on 3 threads")
    }
}
