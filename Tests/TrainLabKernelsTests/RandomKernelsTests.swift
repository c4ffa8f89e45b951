import XCTest
import Foundation
import MicroKernels
import MicroKernelsAVX2
@testable import TrainLabKernels

final class RandomKernelsTests: XCTestCase {
    /// Box–Muller from the same draws in Float64 with libm: value l of block b is
    /// √(−2 ln u₁) cos 2πu₂ (sin for 8 + l), u₁ = 1 − (a >> 40)·2⁻²⁴, u₂ = (c >> 40)·2⁻²⁴.
    func reference(state: UInt64, index i: Int) -> Double {
        let block = i / 16, lane = i % 16, pair = lane % 8
        let a = MicroKernels.splitMix64Output(state &+ UInt64(16 * block + 2 * pair + 1) &* MicroKernels.splitMix64Increment)
        let c = MicroKernels.splitMix64Output(state &+ UInt64(16 * block + 2 * pair + 2) &* MicroKernels.splitMix64Increment)
        let u1 = 1 - Double(a >> 40) * 0x1p-24, u2 = Double(c >> 40) * 0x1p-24
        let r = (-2 * Foundation.log(u1)).squareRoot()
        return lane < 8 ? r * Foundation.cos(2 * Double.pi * u2) : r * Foundation.sin(2 * Double.pi * u2)
    }

    /// The Float32 log and sine/cosine polynomials keep each value within a few ulps of the
    /// Float64 formula: |error| < 1e-6 · max(1, |z|) (|z| ≤ 5.8, Float32's ulp there is 4.8e-7).
    func testValuesMatchBoxMullerInFloat64() {
        let count = 1 << 16, state: UInt64 = 0x1234_5678_9ABC_DEF0
        var z = [Float](repeating: 0, count: count)
        RandomKernels.standardNormals(state: state, count: count, into: &z, pool: .serial)
        for i in 0..<count {
            let want = reference(state: state, index: i)
            XCTAssertEqual(Double(z[i]), want, accuracy: 1e-6 * max(1, abs(want)), "value \(i)")
        }
    }

    /// Both copies of the hot loops give the same bits: the data do not depend on the CPU.
    func testPortableAndAVX2LoopsAgreeBitForBit() throws {
        try XCTSkipUnless(InstructionSet.supportedByCPU().contains(.avx2), "this CPU has no AVX2")
        let blocks = 4096, state: UInt64 = 42
        var portable = [Float](repeating: 0, count: 16 * blocks), avx2 = portable
        MicroKernels.standardNormalBlocks(state: state, firstBlock: 3, blocks: blocks, into: &portable)
        MicroKernelsAVX2.standardNormalBlocks(state: state, firstBlock: 3, blocks: blocks, into: &avx2)
        XCTAssertEqual(portable.map(\.bitPattern), avx2.map(\.bitPattern))
    }

    /// Any thread count gives the same values; a count that ends mid-block gives the prefix of
    /// the longer fill.
    func testSameValuesForAnyThreadCountAndLength() {
        let count = 100_003, state: UInt64 = 7
        var one = [Float](repeating: 0, count: count)
        RandomKernels.standardNormals(state: state, count: count, into: &one, pool: .serial)
        for threads in [2, 3] {
            var many = [Float](repeating: 0, count: count)
            RandomKernels.standardNormals(state: state, count: count, into: &many, pool: ThreadPool(threads: threads))
            XCTAssertEqual(one.map(\.bitPattern), many.map(\.bitPattern), "\(threads) threads")
        }
        var short = [Float](repeating: 0, count: 20)
        RandomKernels.standardNormals(state: state, count: 20, into: &short, pool: .serial)
        XCTAssertEqual(short.map(\.bitPattern), one.prefix(20).map(\.bitPattern))
        XCTAssertEqual(RandomKernels.drawsForStandardNormals(count: 20), 32)
        XCTAssertEqual(RandomKernels.drawsForStandardNormals(count: 32), 32)
    }

    /// N(0, 1) moments over 2²⁰ values: mean 0 (standard error 0.001), variance 1 (0.0014),
    /// fourth moment 3 (√(96/N) = 0.0096) and P(|z| > 1.96) = 0.05 (0.0002), each within about
    /// 5 standard errors; and no value beyond Box–Muller's bound √(−2 ln 2⁻²⁴) ≈ 5.77.
    func testMomentsAreThoseOfAStandardNormal() {
        let count = 1 << 20
        var z = [Float](repeating: 0, count: count)
        RandomKernels.standardNormals(state: 2024, count: count, into: &z, pool: ThreadPool(threads: 2))
        var s1 = 0.0, s2 = 0.0, s4 = 0.0, tails = 0
        for v in z {
            let x = Double(v)
            s1 += x
            s2 += x * x
            s4 += x * x * x * x
            if abs(x) > 1.96 { tails += 1 }
        }
        let n = Double(count)
        XCTAssertEqual(s1 / n, 0, accuracy: 0.005)
        XCTAssertEqual(s2 / n, 1, accuracy: 0.007)
        XCTAssertEqual(s4 / n, 3, accuracy: 0.05)
        XCTAssertEqual(Double(tails) / n, 0.05, accuracy: 0.001)
        XCTAssertLessThanOrEqual(z.map { abs($0) }.max()!, 5.78)
    }
}
