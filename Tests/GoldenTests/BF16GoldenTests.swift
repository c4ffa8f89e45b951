import XCTest
import Foundation
import TrainLabKernels

/// The bf16 GEMM against PyTorch (tools/golden/make_bf16_golden.py): operands rounded as
/// `torch.Tensor.bfloat16()` rounds them, and the product of the rounded operands.
final class BF16GoldenTests: XCTestCase {
    static func fixture() throws -> [String: Any] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/bf16_gemm.json")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    /// Bit for bit `torch.Tensor.bfloat16()` (nearest even, carries into the exponent and to
    /// infinity), except where torch's result is subnormal: the GEMM reads those as ±0, as
    /// VDPBF16PS does. A NaN stays a NaN (ours the quiet 0x7FC0, torch's build here 0xFFFF: a
    /// NaN's payload never reaches a result).
    func testRoundingIsTorchs() throws {
        let cases = (try Self.fixture()["rounding"] as! [[NSNumber]]).map { (UInt32($0[0].uint64Value), UInt32($0[1].uint64Value)) }
        XCTAssertGreaterThan(cases.count, 1000)
        var subnormals = 0
        for (input, torchBits) in cases {
            let ours = MatrixPrecision.bf16Rounded(Float(bitPattern: input)).bitPattern
            if Float(bitPattern: torchBits).isNaN {
                XCTAssertEqual(ours, 0x7FC0_0000, String(format: "%08x", input))
            } else if Float(bitPattern: torchBits).isSubnormal {
                subnormals += 1
                XCTAssertEqual(ours, torchBits & 0x8000_0000, String(format: "%08x: torch %08x, a subnormal, reads as ±0", input, torchBits))
            } else {
                XCTAssertEqual(ours, torchBits, String(format: "%08x", input))
            }
        }
        XCTAssertGreaterThan(subnormals, 0, "the fixture holds subnormal roundings")
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
