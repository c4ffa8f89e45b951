import XCTest
import MicroKernels
@testable import TrainLabKernels

/// The bf16 GEMM: operands rounded to bf16 while packed, FP32 sums. Every copy of the hot loops
/// (the VDPBF16PS kernel where the CPU has AVX512_BF16, the FMA fallback elsewhere) must give the
/// bits of one model of the instruction, subnormals included.
final class BF16GEMMTests: XCTestCase {
    static func flushed(_ x: Float) -> Float { x.isSubnormal ? Float(signOf: x, magnitudeOf: 0) : x }

    /// VDPBF16PS's definition, lane by lane, with TrainLab's KC blocking: per block of 512 k the
    /// tile starts at +0 and adds each pair's two exact products, odd k first, each sum rounded
    /// and flushed to zero when subnormal; then C = tile, or C + tile with subnormal C read as 0.
    static func model(ta: Bool, tb: Bool, m: Int, n: Int, k: Int, a: [Float], b: [Float], c: [Float], accumulate: Bool) -> [Float] {
        let r = MatrixPrecision.bf16Rounded
        var c = c
        for i in 0..<m {
            for j in 0..<n {
                func opA(_ p: Int) -> Float { p < k ? r(ta ? a[p * m + i] : a[i * k + p]) : 0 }
                func opB(_ p: Int) -> Float { p < k ? r(tb ? b[j * k + p] : b[p * n + j]) : 0 }
                var pc = 0
                while pc < k {
                    let kc = min(GEMMBlocking.kc, k - pc)
                    var tile: Float = 0
                    for q in 0..<((kc + 1) / 2) {
                        let even = pc + 2 * q, odd = even + 1 < pc + kc ? even + 1 : Int.max
                        tile = flushed(tile.addingProduct(odd == .max ? 0 : opA(odd), odd == .max ? 0 : opB(odd)))
                        tile = flushed(tile.addingProduct(opA(even), opB(even)))
                    }
                    c[i * n + j] = accumulate || pc > 0 ? flushed(flushed(c[i * n + j]) + tile) : tile
                    pc += kc
                }
            }
        }
        return c
    }

    /// The copies of the hot loops this CPU runs, by name.
    static var builds: [(String, HotLoops)] {
        InstructionSet.supportedByCPU().map { set in
            switch set {
            case .avx512BF16: ("avx512_bf16 (vdpbf16ps)", HotLoops.avx512BF16)
            case .avx512: ("avx512 (fma)", HotLoops.avx512)
            case .avx2: ("avx2 (fma)", HotLoops.avx2)
            case .portable: ("portable (multiply-add)", HotLoops.portable)
            }
        }
    }

    static func product(_ loops: HotLoops, ta: Bool, tb: Bool, m: Int, n: Int, k: Int, a: [Float], b: [Float], c: [Float],
                        accumulate: Bool) -> [Float] {
        var c = c
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    GEMMProblem(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: a.baseAddress!, lda: ta ? m : k,
                                b: b.baseAddress!, ldb: tb ? k : n, c: c.baseAddress!, ldc: n, accumulate: accumulate,
                                precision: .bf16, loops: loops).run(rows: 0..<m, columns: 0..<n)
                }
            }
        }
        return c
    }

    /// Partial tiles, odd k, several KC blocks (1031 = 512 + 512 + 7), all four layouts, both
    /// store modes, on values around 1 and on values whose products and sums are subnormal
    /// (scaled by 2^-66: products near 2^-132). The portable build (no FMA instruction: multiply,
    /// then add) meets the model only on the first: a product below 2^-126 is flushed there
    /// before it is added, where VDPBF16PS and an FMA flush only the sum (a zero's sign differs).
    func testEveryBuildGivesTheInstructionsBits() {
        let shapes = [(m: 7, n: 33, k: 1031), (m: 13, n: 45, k: 29), (m: 6, n: 64, k: 16), (m: 1, n: 1, k: 1)]
        for (m, n, k) in shapes {
            for scale: Float in [1, 0x1p-66] {
                let a = pseudoRandom(m * k, seed: 11).map { $0 * scale }, b = pseudoRandom(k * n, seed: 12).map { $0 * scale }
                let c0 = pseudoRandom(m * n, seed: 13).map { $0 * scale * scale }
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    for accumulate in [false, true] {
                        let expected = Self.model(ta: ta, tb: tb, m: m, n: n, k: k, a: a, b: b, c: c0, accumulate: accumulate)
                        for (name, loops) in Self.builds where scale == 1 || loops.bf16.kernel != "multiply-add" {
                            let got = Self.product(loops, ta: ta, tb: tb, m: m, n: n, k: k, a: a, b: b, c: c0, accumulate: accumulate)
                            let differing = zip(got, expected).filter { $0.bitPattern != $1.bitPattern }.count
                            XCTAssertEqual(differing, 0, "\(name): \(m)x\(n)x\(k) scale \(scale) transposes \(ta) \(tb) accumulate \(accumulate)")
                        }
                    }
                }
            }
        }
    }

    /// The tiny case really exercises flushing: some of its sums are zero only because a
    /// subnormal partial sum was flushed (so a kernel that kept subnormals would fail above).
    func testTinyCaseFlushesSubnormals() {
        let m = 7, n = 33, k = 29
        let a = pseudoRandom(m * k, seed: 11).map { $0 * 0x1p-66 }, b = pseudoRandom(k * n, seed: 12).map { $0 * 0x1p-66 }
        let flushedModel = Self.model(ta: false, tb: false, m: m, n: n, k: k, a: a, b: b, c: .init(repeating: 0, count: m * n), accumulate: false)
        var exact = [Float](repeating: 0, count: m * n)
        gemmNaive(m: m, n: n, k: k, a: a.map(MatrixPrecision.bf16Rounded), lda: k, b: b.map(MatrixPrecision.bf16Rounded), ldb: n,
                  c: &exact, ldc: n)
        XCTAssertTrue(exact.contains { $0.isSubnormal }, "the exact products land in the subnormal range")
        XCTAssertGreaterThan(zip(flushedModel, exact).filter { $0.bitPattern != $1.bitPattern }.count, 0)
    }

    /// bf16 products are bit-identical for 1, 2, 3 and 7 threads, as FP32 ones are: with
    /// operands packed once for all threads (n = 200) and, for a product of one column panel
    /// (n = 10, a classifier head), packed by each thread for its own rows.
    func testBitIdenticalAcrossThreadCounts() {
        for (m, n, k) in [(100, 200, 1030), (300, 10, 1030)] {
            checkBitIdenticalAcrossThreadCounts(m: m, n: n, k: k)
        }
    }

    private func checkBitIdenticalAcrossThreadCounts(m: Int, n: Int, k: Int) {
        let a = pseudoRandom(m * k, seed: 21), b = pseudoRandom(k * n, seed: 22)
        func run(_ pool: ThreadPool, ta: Bool, tb: Bool) -> [UInt32] {
            var c = pseudoRandom(m * n, seed: 23)
            gemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: a, lda: ta ? m : k, b: b, ldb: tb ? k : n, c: &c, ldc: n,
                 accumulate: true, precision: .bf16, pool: pool)
            return c.map(\.bitPattern)
        }
        for (ta, tb) in [(false, false), (true, false), (false, true)] {
            let reference = run(.serial, ta: ta, tb: tb)
            for threads in [2, 3, 7] {
                XCTAssertEqual(run(ThreadPool(threads: threads), ta: ta, tb: tb), reference,
                               "\(m)x\(n)x\(k), \(threads) threads, transposes \(ta) \(tb)")
            }
        }
    }

    /// Tiles of a bf16 product on several threads (`BF16Tiles`) give every build the model's
    /// bits: each operand shared (packed once, each thread packing a share) or packed by the tile
    /// itself, tiles that start inside the matrix, partial panels, three KC blocks, all four layouts.
    func testTilesGiveTheInstructionsBitsWhateverTheyShare() {
        let (m, n, k) = (20, 70, 1031)
        let a = pseudoRandom(m * k, seed: 41), b = pseudoRandom(k * n, seed: 42), c0 = pseudoRandom(m * n, seed: 43)
        let pool = ThreadPool(threads: 3)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let expected = Self.model(ta: ta, tb: tb, m: m, n: n, k: k, a: a, b: b, c: c0, accumulate: true)
            for (name, loops) in Self.builds {
                for holds in [(a: true, b: true), (a: true, b: false), (a: false, b: true), (a: false, b: false)] {
                    var c = c0
                    a.withUnsafeBufferPointer { a in
                        b.withUnsafeBufferPointer { b in
                            c.withUnsafeMutableBufferPointer { c in
                                let problem = GEMMProblem(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: a.baseAddress!, lda: ta ? m : k,
                                                          b: b.baseAddress!, ldb: tb ? k : n, c: c.baseAddress!, ldc: n, accumulate: true,
                                                          precision: .bf16, loops: loops)
                                let tiles = BF16Tiles([problem], sharesA: true, pool: pool, holds: holds)
                                let rowSplit = 2 * microRows, columnSplit = loops.gemmColumns
                                for (rows, columns) in [(0..<rowSplit, 0..<columnSplit), (0..<rowSplit, columnSplit..<tiles.columns),
                                                        (rowSplit..<tiles.rows, 0..<columnSplit), (rowSplit..<tiles.rows, columnSplit..<tiles.columns)] {
                                    tiles.run(rows: rows, columns: columns)
                                }
                            }
                        }
                    }
                    let differing = zip(c, expected).filter { $0.bitPattern != $1.bitPattern }.count
                    XCTAssertEqual(differing, 0, "\(name): transposes \(ta) \(tb), shared A \(holds.a), shared B \(holds.b)")
                }
            }
        }
    }

    /// Products that share an operand (`gemmParts`: q, k, v from one input) give every part the
    /// model's bits for its own product: widths of a full, a partial and a panel-crossing panel
    /// side by side, so tiles cut through parts; two KC blocks (odd k); one part accumulating;
    /// each operand shared or packed by the tiles.
    func testPartsSharingAnOperandGiveTheirOwnBits() {
        let k = 523, sizes = [32, 7, 45], other = 20
        let pool = ThreadPool(threads: 3)
        for sharesA in [true, false] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                // The shared operand (A: other × k, or B: k × other), each part's own one and C.
                let shared = pseudoRandom(other * k, seed: 51)
                let own = sizes.enumerated().map { pseudoRandom($1 * k, seed: 60 + UInt64($0)) }
                let c0 = sizes.enumerated().map { pseudoRandom($1 * other, seed: 70 + UInt64($0)) }
                let expected = sizes.indices.map { s in
                    sharesA
                        ? Self.model(ta: ta, tb: tb, m: other, n: sizes[s], k: k, a: shared, b: own[s], c: c0[s], accumulate: s == 1)
                        : Self.model(ta: ta, tb: tb, m: sizes[s], n: other, k: k, a: own[s], b: shared, c: c0[s], accumulate: s == 1)
                }
                // Raw buffers: the parts' pointers outlive any one closure.
                func buffer(_ values: [Float]) -> UnsafeMutableBufferPointer<Float> {
                    let made = UnsafeMutableBufferPointer<Float>.allocate(capacity: values.count)
                    _ = made.initialize(from: values)
                    return made
                }
                let sharedBuffer = buffer(shared), ownBuffers = own.map(buffer)
                defer { ([sharedBuffer] + ownBuffers).forEach { $0.deallocate() } }
                let holdings: [(a: Bool, b: Bool)?] = [nil, (true, true), (true, false), (false, true), (false, false)]
                for (name, loops) in Self.builds {
                    for holds in holdings {
                        let c = c0.map(buffer)
                        defer { c.forEach { $0.deallocate() } }
                        let problems = sizes.indices.map { s in
                            let (m, n) = sharesA ? (other, sizes[s]) : (sizes[s], other)
                            let (a, b) = sharesA ? (sharedBuffer, ownBuffers[s]) : (ownBuffers[s], sharedBuffer)
                            return GEMMProblem(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: a.baseAddress!, lda: ta ? m : k,
                                               b: b.baseAddress!, ldb: tb ? k : n, c: c[s].baseAddress!, ldc: n, accumulate: s == 1,
                                               precision: .bf16, loops: loops)
                        }
                        if let holds {
                            BF16Tiles(problems, sharesA: sharesA, pool: pool, holds: holds).run(pool: pool)
                        } else {
                            gemmParts(problems, sharesA: sharesA, pool: pool)
                        }
                        for s in sizes.indices {
                            let differing = zip(c[s], expected[s]).filter { $0.bitPattern != $1.bitPattern }.count
                            XCTAssertEqual(differing, 0, "\(name): sharing \(sharesA ? "A" : "B"), transposes \(ta) \(tb), part \(s), "
                                           + (holds.map { "shared A \($0.a), shared B \($0.b)" } ?? "as gemm splits it"))
                        }
                    }
                }
            }
        }
    }

    /// A prepacked bf16 B, used by leading blocks (odd k' included, as causal attention does),
    /// gives the bits of the plain bf16 GEMM of that block.
    func testLeadingBlocksOfAPackedBF16Matrix() {
        let k = 70, n = 45, m = 9
        let b = pseudoRandom(k * n, seed: 31), a = pseudoRandom(m * k, seed: 32)
        var storage = [Float](repeating: .nan, count: PackedMatrix.count(k: k, n: n, precision: .bf16))
        XCTAssertLessThanOrEqual(storage.count * 2, PackedMatrix.count(k: k, n: n) * 2 + 2 * 64 * 2,
                                 "bf16 packing takes no more room than FP32 packing (half with bf16 pairs)")
        for (kk, nn) in [(70, 45), (33, 45), (1, 7), (69, 32)] {
            for transposed in [false, true] {
                storage.withUnsafeMutableBufferPointer { s in
                    b.withUnsafeBufferPointer { b in
                        let packed = PackedMatrix(packing: b.baseAddress!, ldb: transposed ? k : n, transposed: transposed, k: k, n: n,
                                                  precision: .bf16, into: s.baseAddress!)
                        var c = [Float](repeating: 0, count: m * nn), expected = c
                        // op(B) restricted to the block: rows 0..<kk, columns 0..<nn.
                        var block = [Float](repeating: 0, count: kk * nn)
                        for p in 0..<kk { for j in 0..<nn { block[p * nn + j] = transposed ? b[j * k + p] : b[p * n + j] } }
                        gemm(m: m, n: nn, k: kk, a: a, lda: k, packedB: packed, c: &c, ldc: nn)
                        gemm(m: m, n: nn, k: kk, a: a, lda: k, b: block, ldb: nn, c: &expected, ldc: nn, precision: .bf16, pool: .serial)
                        XCTAssertEqual(c.map(\.bitPattern), expected.map(\.bitPattern), "block \(kk)x\(nn) transposed \(transposed)")
                    }
                }
            }
        }
    }

    /// The VDPBF16PS build's packers (VCVTNE2PS2BF16 in C, both layouts of each operand) write
    /// the Swift model's rounding (which the FMA fallback packs with) of every bit pattern: random
    /// normals, subnormals (±0), infinities and NaNs (quiet, sign and leading payload kept), odd
    /// and even k, a partial panel of each operand padded with zeros, and a transposed A past its
    /// first group of 48 columns.
    func testPairPackersRoundEveryBitPatternAsTheModel() throws {
        try XCTSkipUnless(InstructionSet.supportedByCPU().contains(.avx512BF16), "this CPU has no AVX512_BF16")
        let bf16 = HotLoops.avx512BF16.bf16
        // 61 and 100 rows: a transposed A packs 48 columns (8 panels) at a time, then a partial group.
        for (rows, depth) in [(13, 37), (61, 36), (100, 17)] {
            let pairs = (depth + 1) / 2
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(rows)
            let bits: [UInt32] = (0..<(max(rows, 45) * depth)).map { i in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let v = UInt32(truncatingIfNeeded: state >> 32)
                switch i % 4 {
                case 1: return v & 0x807F_FFFF        // zero or subnormal
                case 2: return v | 0x7F80_0000        // infinity or NaN
                default: return v
                }
            }
            let values = bits.map { Float(bitPattern: $0) }
            func half(_ x: Float) -> UInt32 { MatrixPrecision.bf16Rounded(x).bitPattern >> 16 }
            /// Pair word q of line `line` of op(X) (lines × depth); `element(line, p)` reads op(X).
            func word(_ element: (Int, Int) -> Float, _ line: Int, _ q: Int) -> UInt32 {
                half(element(line, 2 * q)) | (2 * q + 1 < depth ? half(element(line, 2 * q + 1)) << 16 : 0)
            }
            for transposed in [false, true] {
                var packed = [UInt32](repeating: 0xDEAD_BEEF, count: 128 * pairs)
                // A: (rows × depth) as op(A); stored (depth × rows) when transposed.
                let opA = { (i: Int, p: Int) in transposed ? values[p * rows + i] : values[i * depth + p] }
                values.withUnsafeBufferPointer { v in
                    packed.withUnsafeMutableBytes { bf16.packA(v.baseAddress!, transposed ? rows : depth, transposed, rows, depth, $0.baseAddress!) }
                }
                // A transposed is in panels of 6 rows, the last padded with zero rows.
                let paddedRows = transposed ? (rows + microRows - 1) / microRows * microRows : rows
                for i in 0..<paddedRows {
                    for q in 0..<pairs {
                        let at = transposed ? i / microRows * pairs * microRows + q * microRows + i % microRows : i * pairs + q
                        XCTAssertEqual(packed[at], i < rows ? word(opA, i, q) : 0,
                                       String(format: "A \(rows)×\(depth) transposed \(transposed), row \(i), pair \(q): %08x", packed[at]))
                    }
                }
                // B: (depth × 45) as op(B), one full and one partial 32-column panel (zero columns after 45).
                let columns = 45
                packed = [UInt32](repeating: 0xDEAD_BEEF, count: 128 * pairs)
                let opB = { (j: Int, p: Int) in transposed ? values[j * depth + p] : values[p * columns + j] }
                values.withUnsafeBufferPointer { v in
                    packed.withUnsafeMutableBytes { bf16.packB(v.baseAddress!, transposed ? depth : columns, transposed, depth, columns, $0.baseAddress!) }
                }
                for j in 0..<64 {
                    for q in 0..<pairs {
                        let at = j / 32 * pairs * 32 + q * 32 + j % 32
                        XCTAssertEqual(packed[at], j < columns ? word(opB, j, q) : 0,
                                       String(format: "B \(depth) deep, transposed \(transposed), column \(j), pair \(q): %08x", packed[at]))
                    }
                }
            }
        }
    }

    /// With AVX512_BF16 the packed panels are bf16 pairs: half the words of FP32 panels.
    func testPairPanelsHalveThePackingBuffers() throws {
        try XCTSkipUnless(InstructionSet.supportedByCPU().contains(.avx512BF16), "this CPU has no AVX512_BF16")
        XCTAssertEqual(HotLoops.avx512BF16.bf16.packedWords(k: 512, lines: 4080), 512 * 4080 / 2)
        XCTAssertEqual(HotLoops.avx512.bf16.packedWords(k: 512, lines: 4080), 512 * 4080)
    }
}
