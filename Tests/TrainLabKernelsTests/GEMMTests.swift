import XCTest
import MicroKernels
import MicroKernelsAVX2
import MicroKernelsAVX512
@testable import TrainLabKernels

/// Deterministic test data in [-1, 1).
func pseudoRandom(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
    }
}

final class GEMMTests: XCTestCase {
    /// Shapes that hit partial micro-tiles (1, 7, 33), several KC blocks (k = 530 > 512), and
    /// several MC blocks (m = 150 > 96).
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (1, 7, 33), (7, 1, 5), (7, 33, 129), (33, 17, 7), (129, 65, 530), (150, 40, 33), (6, 16, 256),
    ]

    func runGEMM(_ m: Int, _ n: Int, _ k: Int, ta: Bool, tb: Bool, accumulate: Bool, pool: ThreadPool, naive: Bool) -> [Float] {
        let a = pseudoRandom(m * k, seed: 1), b = pseudoRandom(k * n, seed: 2)
        var c = pseudoRandom(m * n, seed: 3)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    let lda = ta ? m : k, ldb = tb ? k : n
                    if naive {
                        gemmNaive(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: a.baseAddress!, lda: lda,
                                  b: b.baseAddress!, ldb: ldb, c: c.baseAddress!, ldc: n, accumulate: accumulate)
                    } else {
                        gemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: a.baseAddress!, lda: lda,
                             b: b.baseAddress!, ldb: ldb, c: c.baseAddress!, ldc: n, accumulate: accumulate, pool: pool)
                    }
                }
            }
        }
        return c
    }

    /// Every layout and both store modes agree with the Float64 triple loop to Float32 rounding
    /// (|error| <= 1e-5 · k for inputs in [-1, 1)).
    func testMatchesNaiveOnAwkwardShapes() {
        let pool = ThreadPool(threads: 2)
        for (m, n, k) in Self.shapes {
            for ta in [false, true] {
                for tb in [false, true] {
                    for accumulate in [false, true] {
                        let fast = runGEMM(m, n, k, ta: ta, tb: tb, accumulate: accumulate, pool: pool, naive: false)
                        let slow = runGEMM(m, n, k, ta: ta, tb: tb, accumulate: accumulate, pool: pool, naive: true)
                        let worst = zip(fast, slow).map { abs($0 - $1) }.max()!
                        XCTAssertLessThan(worst, 1e-5 * Float(k) + 1e-6,
                                          "m \(m) n \(n) k \(k) transposeA \(ta) transposeB \(tb) accumulate \(accumulate)")
                    }
                }
            }
        }
    }

    /// k = 0 is an empty sum: C is zeroed, or left alone when accumulating.
    func testEmptyInnerDimension() {
        let a: [Float] = [], b: [Float] = []
        var c: [Float] = [5, 5, 5, 5]
        c.withUnsafeMutableBufferPointer { c in
            gemm(m: 2, n: 2, k: 0, a: a.withUnsafeBufferPointer { $0.baseAddress ?? UnsafePointer(bitPattern: 8)! }, lda: 1,
                 b: b.withUnsafeBufferPointer { $0.baseAddress ?? UnsafePointer(bitPattern: 8)! }, ldb: 2,
                 c: c.baseAddress!, ldc: 2, accumulate: true)
        }
        XCTAssertEqual(c, [5, 5, 5, 5])
        c.withUnsafeMutableBufferPointer { c in
            gemm(m: 2, n: 2, k: 0, a: UnsafePointer(bitPattern: 8)!, lda: 1, b: UnsafePointer(bitPattern: 8)!, ldb: 2,
                 c: c.baseAddress!, ldc: 2)
        }
        XCTAssertEqual(c, [0, 0, 0, 0])
    }

    /// Packs A and B and runs one macro-kernel with the named copy of the hot loops (each packs
    /// B in panels of its own width).
    static func macroKernelProduct(_ build: InstructionSet, a: [Float], b: [Float], m: Int, n: Int, k: Int,
                                   transposedB: Bool = false) -> [Float] {
        let nr: Int
        switch build {
        case .portable: nr = MicroKernels.gemmNR
        case .avx2: nr = MicroKernelsAVX2.gemmNR
        case .avx512, .avx512BF16: nr = MicroKernelsAVX512.gemmNR
        }
        let mp = (m + 5) / 6 * 6, np = (n + nr - 1) / nr * nr
        let ldb = transposedB ? k : n
        var pa = [Float](repeating: 0, count: mp * k), pb = [Float](repeating: 0, count: k * np)
        var c = [Float](repeating: 0, count: m * n)
        switch build {
        case .portable:
            MicroKernels.gemmPackA(a, lda: k, transposed: false, mc: m, kc: k, into: &pa)
            MicroKernels.gemmPackB(b, ldb: ldb, transposed: transposedB, kc: k, nc: n, into: &pb)
            MicroKernels.gemmMacroKernel(mc: m, nc: n, kc: k, packedA: pa, packedB: pb, c: &c, ldc: n, accumulate: false)
        case .avx2:
            MicroKernelsAVX2.gemmPackA(a, lda: k, transposed: false, mc: m, kc: k, into: &pa)
            MicroKernelsAVX2.gemmPackB(b, ldb: ldb, transposed: transposedB, kc: k, nc: n, into: &pb)
            MicroKernelsAVX2.gemmMacroKernel(mc: m, nc: n, kc: k, packedA: pa, packedB: pb, c: &c, ldc: n, accumulate: false)
        case .avx512, .avx512BF16:
            MicroKernelsAVX512.gemmPackA(a, lda: k, transposed: false, mc: m, kc: k, into: &pa)
            MicroKernelsAVX512.gemmPackB(b, ldb: ldb, transposed: transposedB, kc: k, nc: n, into: &pb)
            MicroKernelsAVX512.gemmMacroKernel(mc: m, nc: n, kc: k, packedA: pa, packedB: pb, c: &c, ldc: n, accumulate: false)
        }
        return c
    }

    /// Every build of the hot loops this CPU runs computes correct tiles, full and clipped (the
    /// dispatcher only ever runs one of them on a given machine).
    func testEveryInstructionSetBuildMatchesNaive() {
        let m = 13, n = 37, k = 29
        let a = pseudoRandom(m * k, seed: 4), b = pseudoRandom(k * n, seed: 5)
        var expected = [Float](repeating: 0, count: m * n)
        gemmNaive(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &expected, ldc: n)
        for build in InstructionSet.supportedByCPU() {
            let c = Self.macroKernelProduct(build, a: a, b: b, m: m, n: n, k: k)
            XCTAssertLessThan(zip(c, expected).map { abs($0 - $1) }.max()!, 1e-4, build.rawValue)
        }
    }

    /// The AVX-512 and AVX2 builds return the same bits: an output's sum over K is the same chain
    /// of fused multiply-adds whatever the vector width, so a run on an AVX-512 machine matches one
    /// on an AVX2 machine. Edge tiles (n = 45 is one and a half AVX-512 panels) and a transposed B.
    func testAVX512MatchesAVX2BitForBit() throws {
        let supported = InstructionSet.supportedByCPU()
        try XCTSkipUnless(supported.contains(.avx512), "this CPU has no AVX-512")
        for (m, n, k, transposedB) in [(13, 45, 29, false), (6, 64, 300, false), (20, 33, 17, true)] {
            let a = pseudoRandom(m * k, seed: 8), b = pseudoRandom(k * n, seed: 9)
            let wide = Self.macroKernelProduct(.avx512, a: a, b: b, m: m, n: n, k: k, transposedB: transposedB)
            let narrow = Self.macroKernelProduct(.avx2, a: a, b: b, m: m, n: n, k: k, transposedB: transposedB)
            XCTAssertEqual(wide.map(\.bitPattern), narrow.map(\.bitPattern), "\(m)x\(n)x\(k) transposed B \(transposedB)")
        }
    }

    /// /proc/cpuinfo's flags name the sets: AVX-512 needs all of F, CD, BW, DQ and VL on top of
    /// AVX2 and FMA; portable is always there.
    func testInstructionSetsFromCPUFlags() {
        let avx2: Set<Substring> = ["sse2", "avx", "avx2", "fma"]
        let avx512 = avx2.union(["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"])
        XCTAssertEqual(InstructionSet.supported(byFlags: []), [.portable])
        XCTAssertEqual(InstructionSet.supported(byFlags: ["avx2"]), [.portable], "AVX2 without FMA")
        XCTAssertEqual(InstructionSet.supported(byFlags: avx2), [.avx2, .portable])
        XCTAssertEqual(InstructionSet.supported(byFlags: avx512), [.avx512, .avx2, .portable])
        XCTAssertEqual(InstructionSet.supported(byFlags: avx512.union(["avx512_bf16"]), bf16KernelCompiled: true),
                       [.avx512BF16, .avx512, .avx2, .portable])
        XCTAssertEqual(InstructionSet.supported(byFlags: avx2.union(["avx512_bf16"]), bf16KernelCompiled: true), [.avx2, .portable],
                       "AVX512_BF16 is used only with the AVX-512 loops")
        XCTAssertEqual(InstructionSet.supported(byFlags: avx512.union(["avx512_bf16"]), bf16KernelCompiled: false),
                       [.avx512, .avx2, .portable], "a build without the VDPBF16PS kernel")
        XCTAssertEqual(InstructionSet.supported(byFlags: avx512.subtracting(["avx512vl"])), [.avx2, .portable],
                       "Knights Landing has F and CD without VL")
    }

    /// `TRAINLAB_ISA` names a set this CPU runs, or it is refused with the accepted names (never
    /// silently ignored).
    func testRequestedInstructionSet() {
        let here: [InstructionSet] = [.avx2, .portable]
        XCTAssertEqual(InstructionSet.requested(nil, supported: here), .success(nil))
        XCTAssertEqual(InstructionSet.requested("", supported: here), .success(nil))
        XCTAssertEqual(InstructionSet.requested("avx2", supported: here), .success(.avx2))
        XCTAssertEqual(InstructionSet.requested("bogus", supported: here), .failure(.init(
            message: "TRAINLAB_ISA: unknown instruction set 'bogus'; expected one of avx512_bf16, avx512, avx2, portable")))
        XCTAssertEqual(InstructionSet.requested("avx512", supported: here), .failure(.init(
            message: "TRAINLAB_ISA=avx512: this CPU does not run it; it runs avx2, portable")))
    }

    /// Bit-identical results for 1, 2, 3 and 7 threads: K is never split, so each element's sum
    /// runs in one order whatever the partition.
    func testBitIdenticalAcrossThreadCounts() {
        let shapes = [(m: 100, n: 200, k: 260), (m: 37, n: 500, k: 300), (m: 400, n: 20, k: 1030)]
        for (m, n, k) in shapes {
            for (ta, tb) in [(false, false), (true, false), (false, true)] {
                let reference = runGEMM(m, n, k, ta: ta, tb: tb, accumulate: true, pool: .serial, naive: false)
                for threads in [2, 3, 7] {
                    let pool = ThreadPool(threads: threads)
                    let result = runGEMM(m, n, k, ta: ta, tb: tb, accumulate: true, pool: pool, naive: false)
                    XCTAssertTrue(result.withUnsafeBytes { r in reference.withUnsafeBytes { r.elementsEqual($0) } },
                                   "\(m)x\(n)x\(k) transposeA \(ta) transposeB \(tb) on \(threads) threads")
                }
            }
        }
    }

    /// A batch of products equals the products done one at a time.
    func testBatchedMatchesSingle() {
        let batch = 5, m = 9, n = 17, k = 11
        let a = pseudoRandom(batch * m * k, seed: 6), b = pseudoRandom(batch * k * n, seed: 7)
        var batched = [Float](repeating: 0, count: batch * m * n)
        var single = batched
        gemmBatched(batch: batch, m: m, n: n, k: k, a: a, lda: k, strideA: m * k, b: b, ldb: n, strideB: k * n,
                    c: &batched, ldc: n, strideC: m * n, pool: ThreadPool(threads: 3))
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                single.withUnsafeMutableBufferPointer { c in
                    for i in 0..<batch {
                        gemmNaive(m: m, n: n, k: k, a: a.baseAddress! + i * m * k, lda: k, b: b.baseAddress! + i * k * n,
                                  ldb: n, c: c.baseAddress! + i * m * n, ldc: n)
                    }
                }
            }
        }
        XCTAssertLessThan(zip(batched, single).map { abs($0 - $1) }.max()!, 1e-5)
    }

    /// The partition never makes more tiles than threads and splits the larger side.
    func testPartition() {
        let p = gemmPartition(m: 4096, n: 64, k: 256, threads: 2)
        XCTAssertEqual(p.rows * p.columns, 2)
        XCTAssertEqual(p.rows, 2, "a tall, narrow C splits rows")
        let q = gemmPartition(m: 32, n: 4096, k: 256, threads: 4)
        XCTAssertEqual(q.columns, 4, "a short, wide C splits columns")
        // 512 × 256: with A packed, splitting rows packs less (each tile packs its rows of A and
        // all of B); with A read in place only B is packed, so splitting columns packs half each.
        XCTAssertEqual(gemmPartition(m: 512, n: 256, k: 256, threads: 2, packsA: true).rows, 2)
        XCTAssertEqual(gemmPartition(m: 512, n: 256, k: 256, threads: 2, packsA: false).columns, 2)
    }
}

final class PackedGEMMTests: XCTestCase {
    /// A B packed once serves products over any leading block of it (rows 0..<k', columns
    /// 0..<n'), as attention uses its packed keys and values for every causal row block; the
    /// result equals the unpacked GEMM's bit for bit (same kernel, same summation order).
    func testLeadingBlocksOfAPackedMatrixMatchPlainGEMM() {
        let (kFull, nFull) = (37, 45)
        for transposed in [false, true] {
            let b = pseudoRandom(kFull * nFull, seed: 5)
            let storage = UnsafeMutablePointer<Float>.allocate(capacity: PackedMatrix.count(k: kFull, n: nFull))
            defer { storage.deallocate() }
            b.withUnsafeBufferPointer { b in
                let ldb = transposed ? kFull : nFull
                let packed = PackedMatrix(packing: b.baseAddress!, ldb: ldb, transposed: transposed, k: kFull, n: nFull, into: storage)
                for (m, k, n) in [(7, 37, 45), (13, 20, 45), (100, 37, 17), (5, 1, 16), (6, 36, 31)] {
                    let a = pseudoRandom(m * k, seed: 6)
                    for accumulate in [false, true] {
                        var packedResult = pseudoRandom(m * n, seed: 7)
                        var plainResult = packedResult
                        gemm(m: m, n: n, k: k, a: a, lda: k, packedB: packed, c: &packedResult, ldc: n, accumulate: accumulate)
                        gemm(transposeB: transposed, m: m, n: n, k: k, a: a, lda: k, b: b.baseAddress!, ldb: ldb,
                             c: &plainResult, ldc: n, accumulate: accumulate, pool: .serial)
                        XCTAssertEqual(packedResult, plainResult, "m \(m) k \(k) n \(n) transposed \(transposed) accumulate \(accumulate)")
                    }
                }
            }
        }
    }
}
