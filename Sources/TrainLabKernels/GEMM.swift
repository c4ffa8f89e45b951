import MicroKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Micro-tile size: 6 rows in every copy of the hot loops, two vector registers of columns (16
/// with AVX2, 32 with AVX-512).
let microRows = MicroKernels.gemmMR
let microColumns = HotLoops.current.gemmColumns

/// Cache blocking (Zen-class cores: 32 KiB L1d, 1 MiB L2). A B micro-panel (KC x NR, 32 KiB)
/// meets every A micro-panel of an MC x KC block (192 KiB) held in L2. A long KC halves the
/// passes over C; measured with `trainlab bench gemm` against KC 256/384/768 and MC 48...288.
public enum GEMMBlocking {
    public static let kc = 512  // even: a bf16 block holds whole k-pairs
    public static let mc = 96
    public static let nc = 4080
    /// Below this many multiply-adds a GEMM runs on the caller's thread: handing work to the
    /// pool costs about a microsecond, which a smaller product cannot win back.
    public static let parallelThreshold = 64 * 64 * 16
}

/// What a GEMM does to each finished block of C while it is still in cache: a linear layer's
/// bias and activation, C[i, j] = f(C[i, j] + bias[j]), with f'(·) written to `derivative`
/// (laid out as C) for the maps that store it.
public struct GEMMEpilogue {
    public let bias: UnsafePointer<Float>?
    public let activation: UnaryMap?
    public let derivative: UnsafeMutablePointer<Float>?

    public init(bias: UnsafePointer<Float>?, activation: UnaryMap?, derivative: UnsafeMutablePointer<Float>?) {
        precondition(derivative == nil || activation?.storesDerivative == true,
                     "GEMMEpilogue: only maps that store their derivative write one")
        (self.bias, self.activation, self.derivative) = (bias, activation, derivative)
    }

    /// Rows `rows`, columns `columns` of C (leading dimension `ldc`).
    func apply(_ c: UnsafeMutablePointer<Float>, ldc: Int, rows: Range<Int>, columns: Range<Int>, loops: HotLoops) {
        for i in rows {
            let o = i * ldc + columns.lowerBound
            loops.biasActivation(activation, c + o, bias.map { $0 + columns.lowerBound }, derivative.map { $0 + o }, columns.count)
        }
    }
}

/// What a matrix product's operands are rounded to before they are multiplied; sums are FP32 in
/// both. `bf16`: round to nearest even to bfloat16 (8 significant bits), as
/// `torch.Tensor.bfloat16()` does, while the GEMM packs them, so tensors stay FP32 everywhere
/// else; subnormal values become ±0 and a NaN stays a NaN (quiet, sign and leading payload
/// kept), as VCVTNEPS2BF16 converts, and subnormal partial sums flush to zero. The products of
/// two bf16 values are exact in FP32.
public enum MatrixPrecision: String, Sendable, CaseIterable {
    case fp32, bf16

    /// `x` as a bf16 GEMM reads it: rounded to bf16 (nearest even; a NaN quiet; a subnormal
    /// ±0), as a Float32.
    public static func bf16Rounded(_ x: Float) -> Float { MicroKernels.bf16Rounded(x) }
}

/// C (M, N) = op(A) (M, K) · op(B) (K, N), or C += ... when `accumulate`; then `epilogue` on C.
///
/// op(A) = A, or Aᵀ when `transposeA` (then A is stored (K, M)); likewise B. Threads split C into
/// disjoint tiles; every element's sum over K runs in the same order for any thread count. With
/// `precision` bf16 the operands are rounded to bf16 (`MatrixPrecision`), and each element's sum
/// adds the products of each k-pair (2q, 2q + 1) odd k first, on every instruction set.
public func gemm(
    transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool = false,
    epilogue: GEMMEpilogue? = nil,
    precision: MatrixPrecision = .fp32,
    pool: ThreadPool = .shared
) {
    GEMMProblem(
        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
        a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate, epilogue: epilogue, precision: precision
    ).run(pool: pool)
}

/// One of several products that share an operand (`gemm(m:k:a:lda:columnParts:)`,
/// `gemm(n:k:rowParts:b:ldb:)`): its own operand, its block of C and what `gemm` would be given
/// for it alone. The parts' blocks of C must not overlap (they are computed at once).
public struct GEMMPart {
    public let operand: UnsafePointer<Float>, ld: Int
    /// Its product's columns (sharing A) or rows (sharing B).
    public let size: Int
    public let c: UnsafeMutablePointer<Float>, ldc: Int
    public let accumulate: Bool
    public let epilogue: GEMMEpilogue?

    public init(operand: UnsafePointer<Float>, ld: Int, size: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                accumulate: Bool = false, epilogue: GEMMEpilogue? = nil) {
        (self.operand, self.ld, self.size, self.c, self.ldc, self.accumulate, self.epilogue) = (operand, ld, size, c, ldc, accumulate, epilogue)
    }
}

/// C_s (M, N_s) (+)= op(A) · op(B_s) for every part s (B_s its `operand`), each with the bits of
/// its own `gemm`: q, k and v of attention, gate and up of a gated FFN. With bf16 on several
/// threads A is rounded and packed once for all parts, and they share one hand-off to the pool.
public func gemm(
    transposeA: Bool = false, transposeB: Bool = false, m: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int, columnParts parts: [GEMMPart],
    precision: MatrixPrecision = .fp32, pool: ThreadPool = .shared
) {
    gemmParts(parts.map {
        GEMMProblem(transposeA: transposeA, transposeB: transposeB, m: m, n: $0.size, k: k, a: a, lda: lda, b: $0.operand, ldb: $0.ld,
                    c: $0.c, ldc: $0.ldc, accumulate: $0.accumulate, epilogue: $0.epilogue, precision: precision)
    }, sharesA: true, pool: pool)
}

/// C_s (M_s, N) (+)= op(A_s) · op(B) for every part s (A_s its `operand`), each with the bits of
/// its own `gemm`: the weight gradients of linear layers that read one input. With bf16 on
/// several threads B is rounded and packed once for all parts.
public func gemm(
    transposeA: Bool = false, transposeB: Bool = false, n: Int, k: Int,
    rowParts parts: [GEMMPart], b: UnsafePointer<Float>, ldb: Int,
    precision: MatrixPrecision = .fp32, pool: ThreadPool = .shared
) {
    gemmParts(parts.map {
        GEMMProblem(transposeA: transposeA, transposeB: transposeB, m: $0.size, n: n, k: k, a: $0.operand, lda: $0.ld, b: b, ldb: ldb,
                    c: $0.c, ldc: $0.ldc, accumulate: $0.accumulate, epilogue: $0.epilogue, precision: precision)
    }, sharesA: false, pool: pool)
}

/// Products sharing A (`sharesA`) or B, as one (`BF16Tiles`). Only bf16 packs A, so elsewhere
/// (and on one thread) they run one after another, which gives the same bits.
func gemmParts(_ parts: [GEMMProblem], sharesA: Bool, pool: ThreadPool) {
    let parts = parts.filter { $0.m > 0 && $0.n > 0 }
    let multiplyAdds = parts.reduce(0) { $0 + $1.m * $1.n * $1.k }
    guard parts.count > 1, parts[0].precision == .bf16, parts[0].k > 0, pool.threadCount > 1,
          multiplyAdds >= GEMMBlocking.parallelThreshold else {
        for part in parts { part.run(pool: pool) }
        return
    }
    BF16Tiles(parts, sharesA: sharesA, pool: pool).run(pool: pool)
}

/// `batch` independent GEMMs whose operands sit `strideA`, `strideB`, `strideC` floats apart
/// (attention: one per batch row and head). Whole products go to threads when there are enough
/// of them; otherwise each product is split as in `gemm`.
public func gemmBatched(
    batch: Int,
    transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int, strideA: Int,
    b: UnsafePointer<Float>, ldb: Int, strideB: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
    accumulate: Bool = false,
    precision: MatrixPrecision = .fp32,
    pool: ThreadPool = .shared
) {
    if batch >= pool.threadCount || batch * m * n * k < GEMMBlocking.parallelThreshold {
        let grain = max(1, GEMMBlocking.parallelThreshold / max(1, m * n * k))
        pool.parallelRanges(batch, grain: grain) { range, _ in
            for i in range {
                gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                     a: a + i * strideA, lda: lda, b: b + i * strideB, ldb: ldb,
                     c: c + i * strideC, ldc: ldc, accumulate: accumulate, precision: precision, pool: .serial)
            }
        }
    } else {
        for i in 0..<batch {
            gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                 a: a + i * strideA, lda: lda, b: b + i * strideB, ldb: ldb,
                 c: c + i * strideC, ldc: ldc, accumulate: accumulate, precision: precision, pool: pool)
        }
    }
}

/// op(B) packed once for several products that share it (attention packs each key and value head
/// once for all the query heads and row blocks that read it): `k` rows in NR-column panels.
/// A product may use any leading block of it, rows 0..<k' and columns 0..<n'. With bf16 the
/// values are rounded as they are packed (an odd k' reads row k' as if it were zero: the other
/// operand's padding is zero).
public struct PackedMatrix {
    public let data: UnsafeMutablePointer<Float>
    public let k: Int, n: Int
    public let precision: MatrixPrecision

    /// 4-byte words a packed k × n matrix takes (columns rounded up to whole panels).
    public static func count(k: Int, n: Int, precision: MatrixPrecision = .fp32) -> Int {
        let columns = (n + microColumns - 1) / microColumns * microColumns
        return precision == .bf16 ? HotLoops.current.bf16.packedWords(k: k, lines: columns) : k * columns
    }

    /// Packs op(B) (k, n) into `storage` (`count(k:n:precision:)` words); op(B) = Bᵀ when
    /// `transposed`, B then stored (n, k).
    public init(packing b: UnsafePointer<Float>, ldb: Int, transposed: Bool, k: Int, n: Int,
                precision: MatrixPrecision = .fp32, into storage: UnsafeMutablePointer<Float>) {
        if precision == .bf16 {
            HotLoops.current.bf16.packB(b, ldb, transposed, k, n, UnsafeMutableRawPointer(storage))
        } else {
            HotLoops.current.packB(b, ldb, transposed, k, n, storage)
        }
        (data, self.k, self.n, self.precision) = (storage, k, n, precision)
    }

    /// Words between consecutive column panels.
    var panelStride: Int {
        precision == .bf16 ? HotLoops.current.bf16.packedWords(k: k, lines: microColumns) : k * microColumns
    }
}

/// C (m, n) (+)= op(A) (m, k) · B[0..<k, 0..<n] for a prepacked B, on the caller's thread, at
/// the precision B was packed in.
public func gemm(
    transposeA: Bool = false, m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int, packedB b: PackedMatrix,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false
) {
    precondition(k <= b.k && n <= b.n, "gemm: \(k) x \(n) block of a packed \(b.k) x \(b.n) matrix")
    if m == 0 || n == 0 { return }
    if k == 0 {
        if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
        return
    }
    let loops = HotLoops.current
    let scratch = ThreadScratch.current
    var ic = 0
    while ic < m {
        let mc = min(GEMMBlocking.mc, m - ic)
        let mcPadded = (mc + microRows - 1) / microRows * microRows
        if b.precision == .bf16 {
            let packedA = scratch.packedA(count: loops.bf16.packedWords(k: k, lines: mcPadded))
            loops.bf16.packA(transposeA ? a + ic : a + ic * lda, lda, transposeA, mc, k, UnsafeMutableRawPointer(packedA))
            loops.bf16.macroKernel(mc: mc, nc: n, kc: k, packedA: packedA, packedB: b.data, bPanelStride: b.panelStride,
                                   c: c + ic * ldc, ldc: ldc, accumulate: accumulate, transposedA: transposeA)
        } else if transposeA {
            let packedA = scratch.packedA(count: mcPadded * k)
            loops.packA(a + ic, lda, true, mc, k, packedA)
            loops.macroKernel(mc, n, k, packedA, b.data, b.panelStride, c + ic * ldc, ldc, accumulate)
        } else {
            loops.macroKernelRowMajorA(mc, n, k, a + ic * lda, lda, b.data, b.panelStride, c + ic * ldc, ldc, accumulate)
        }
        ic += mc
    }
}

/// The plain triple loop, accumulating in Float64: the reference the fast path is tested against.
public func gemmNaive(
    transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool = false
) {
    for i in 0..<m {
        for j in 0..<n {
            var s = 0.0
            for p in 0..<k {
                let x = transposeA ? a[p * lda + i] : a[i * lda + p]
                let y = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                s += Double(x) * Double(y)
            }
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + Float(s) : Float(s)
        }
    }
}

extension ThreadPool {
    /// A pool of one: everything runs on the caller's thread.
    public static let serial = ThreadPool(threads: 1)
}

/// Splits C into `rowTasks x columnTasks` tiles (at most `threads` of them), minimising the
/// largest tile's multiply-adds plus its packing traffic (every tile packs its columns of B, and
/// its rows of A when A is transposed; a row-major A is read in place).
/// With `packsPerTile` false (`BF16Tiles`: an operand several tiles read is packed once for all
/// of them) only the multiply-adds count, ties going to more row tasks when `preferRows`.
/// `panelWidth`: the columns of a panel of the hot loops that will run it.
func gemmPartition(m: Int, n: Int, k: Int, threads: Int, packsA: Bool = true, packsPerTile: Bool = true,
                   preferRows: Bool = false, panelWidth: Int = microColumns) -> (rows: Int, columns: Int) {
    let rowPanels = (m + microRows - 1) / microRows
    let columnPanels = (n + panelWidth - 1) / panelWidth
    var best = (rows: 1, columns: 1)
    var bestCost = Int.max
    for rowTasks in stride(from: preferRows ? threads : 1, through: preferRows ? 1 : threads, by: preferRows ? -1 : 1)
    where rowTasks <= rowPanels {
        let columnTasks = min(threads / rowTasks, columnPanels)
        let rows = (rowPanels + rowTasks - 1) / rowTasks * microRows
        let columns = (columnPanels + columnTasks - 1) / columnTasks * panelWidth
        // A packed element costs about as much as 4 multiply-adds at full FMA throughput.
        let packing = packsPerTile ? 4 * k * (columns + (packsA ? rows * ((columns + GEMMBlocking.nc - 1) / GEMMBlocking.nc) : 0)) : 0
        let cost = rows * columns * k + packing
        if cost < bestCost {
            bestCost = cost
            best = (rowTasks, columnTasks)
        }
    }
    return best
}

/// One GEMM call's operands; `run` computes a tile of C on the current thread.
struct GEMMProblem: @unchecked Sendable {
    let transposeA: Bool, transposeB: Bool
    let m: Int, n: Int, k: Int
    let a: UnsafePointer<Float>, lda: Int
    let b: UnsafePointer<Float>, ldb: Int
    let c: UnsafeMutablePointer<Float>, ldc: Int
    let accumulate: Bool
    var epilogue: GEMMEpilogue? = nil
    var precision: MatrixPrecision = .fp32
    /// The hot loops it runs on (tests run every copy the CPU has).
    var loops = HotLoops.current

    /// C[rows, columns] over all of K: blocks of NC columns, then KC steps, then MC rows; the
    /// epilogue runs on each MC × NC block right after its last KC step. KC is even, so a bf16
    /// block's k-pairs are the product's.
    func run(rows: Range<Int>, columns: Range<Int>) {
        let scratch = ThreadScratch.current
        let bf16 = precision == .bf16 ? loops.bf16 : nil
        let microColumns = loops.gemmColumns
        var jc = columns.lowerBound
        while jc < columns.upperBound {
            let nc = min(GEMMBlocking.nc, columns.upperBound - jc)
            let ncPadded = (nc + microColumns - 1) / microColumns * microColumns
            var pc = 0
            while pc < k {
                let kc = min(GEMMBlocking.kc, k - pc)
                let bBlock = transposeB ? b + jc * ldb + pc : b + pc * ldb + jc
                let packedB = scratch.packedB(count: bf16?.packedWords(k: kc, lines: ncPadded) ?? kc * ncPadded)
                if let bf16 {
                    bf16.packB(bBlock, ldb, transposeB, kc, nc, UnsafeMutableRawPointer(packedB))
                } else {
                    loops.packB(bBlock, ldb, transposeB, kc, nc, packedB)
                }
                let accumulateBlock = accumulate || pc > 0
                var ic = rows.lowerBound
                while ic < rows.upperBound {
                    let mc = min(GEMMBlocking.mc, rows.upperBound - ic)
                    if let bf16 {
                        // Rounding to bf16 needs a pass over A anyway: it is always packed.
                        let mcPadded = (mc + microRows - 1) / microRows * microRows
                        let packedA = scratch.packedA(count: bf16.packedWords(k: kc, lines: mcPadded))
                        bf16.packA(transposeA ? a + pc * lda + ic : a + ic * lda + pc, lda, transposeA, mc, kc,
                                   UnsafeMutableRawPointer(packedA))
                        bf16.macroKernel(mc: mc, nc: nc, kc: kc, packedA: packedA, packedB: packedB,
                                         bPanelStride: bf16.packedWords(k: kc, lines: microColumns),
                                         c: c + ic * ldc + jc, ldc: ldc, accumulate: accumulateBlock, transposedA: transposeA)
                    } else if transposeA {
                        let mcPadded = (mc + microRows - 1) / microRows * microRows
                        let packedA = scratch.packedA(count: mcPadded * kc)
                        loops.packA(a + pc * lda + ic, lda, true, mc, kc, packedA)
                        loops.macroKernel(mc, nc, kc, packedA, packedB, kc * microColumns, c + ic * ldc + jc, ldc, accumulateBlock)
                    } else {
                        // A row-major A is read in place (see gemmMacroKernelRowMajorA).
                        loops.macroKernelRowMajorA(mc, nc, kc, a + ic * lda + pc, lda, packedB, kc * microColumns,
                                                   c + ic * ldc + jc, ldc, accumulateBlock)
                    }
                    if let epilogue, pc + kc == k {
                        epilogue.apply(c, ldc: ldc, rows: ic..<(ic + mc), columns: jc..<(jc + nc), loops: loops)
                    }
                    ic += mc
                }
                pc += kc
            }
            jc += nc
        }
    }
}

extension GEMMProblem {
    /// The whole product, on `pool`'s threads (`gemm`).
    func run(pool: ThreadPool) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            epilogue?.apply(c, ldc: ldc, rows: 0..<m, columns: 0..<n, loops: loops)
            return
        }
        if m * n * k < GEMMBlocking.parallelThreshold || pool.threadCount == 1 {
            run(rows: 0..<m, columns: 0..<n)
            return
        }
        if precision == .bf16 {
            BF16Tiles([self], sharesA: true, pool: pool).run(pool: pool)
            return
        }
        let microColumns = loops.gemmColumns
        let (rowTasks, columnTasks) = gemmPartition(m: m, n: n, k: k, threads: pool.threadCount, packsA: transposeA)
        let rowPanels = (m + microRows - 1) / microRows
        let columnPanels = (n + microColumns - 1) / microColumns
        pool.parallelFor(rowTasks * columnTasks) { task, _ in
            let tr = task / columnTasks, tc = task % columnTasks
            let rows = min(m, rowPanels * tr / rowTasks * microRows)..<min(m, rowPanels * (tr + 1) / rowTasks * microRows)
            let columns = min(n, columnPanels * tc / columnTasks * microColumns)..<min(n, columnPanels * (tc + 1) / columnTasks * microColumns)
            run(rows: rows, columns: columns)
        }
    }
}

/// A bf16 product, or products that share an operand (`gemmParts`), on several threads. The
/// threads split C into tiles (all parts' panels side by side); an operand that several tiles
/// read is rounded and packed once for all of them before they multiply (the shared panels), one
/// that only a tile reads is packed by that tile's thread block by block as it multiplies, still
/// in cache. The larger operand is the private one: packed before, rounding it would be a pass
/// over memory that no multiply hides (for the Transformer's 2048-row activations about a tenth
/// of the bf16 peak). Packed by every tile instead, a column split would have every thread
/// round all of A, a row split all of B. Layout of the shared panels: for each KC block, op(A)'s
/// MR-row panels in `a` and op(B)'s NR-column panels in `b`, each part's from a whole panel, as
/// the per-tile packers write them.
struct BF16Tiles: @unchecked Sendable {
    let parts: [GEMMProblem]
    /// Whether the parts share A (each its own B) or B (each its own A).
    let sharesA: Bool
    /// Where each part's rows of A and columns of B start among all parts' (whole panels).
    let rowBases: [Int], columnBases: [Int]
    /// All parts' rows and columns (whole panels).
    let rows: Int, columns: Int
    let rowTasks: Int, columnTasks: Int
    /// The shared panels of A and of B; nil: every tile packs that operand itself.
    let a: UnsafeMutableRawPointer?, b: UnsafeMutableRawPointer?
    /// Words of one full KC block of each operand's shared panels.
    let aBlockWords: Int, bBlockWords: Int
    /// The parts' bf16 hot loops and their panel width.
    let bf16: BF16GEMMLoops, nr: Int

    /// Partitions the product among `pool`'s threads and packs the shared operands; `holds`
    /// (tests) overrides which operands are shared.
    init(_ parts: [GEMMProblem], sharesA: Bool, pool: ThreadPool, holds: (a: Bool, b: Bool)? = nil) {
        let problem = parts[0]
        let bf16 = problem.loops.bf16, kc = GEMMBlocking.kc, mr = microRows, nr = problem.loops.gemmColumns
        (self.bf16, self.nr) = (bf16, nr)
        func panelled(_ lines: Int, _ width: Int) -> Int { (lines + width - 1) / width * width }
        var rowBases: [Int] = [], columnBases: [Int] = [], rows = 0, columns = 0
        for part in parts {
            precondition(part.k == problem.k && (sharesA ? part.m == problem.m : part.n == problem.n),
                         "BF16Tiles: parts of different shapes share an operand")
            rowBases.append(sharesA ? 0 : rows)
            columnBases.append(sharesA ? columns : 0)
            rows = sharesA ? panelled(part.m, mr) : rows + panelled(part.m, mr)
            columns = sharesA ? columns + panelled(part.n, nr) : panelled(part.n, nr)
        }
        (self.parts, self.sharesA, self.rowBases, self.columnBases, self.rows, self.columns) =
            (parts, sharesA, rowBases, columnBases, rows, columns)
        let aLines = sharesA ? problem.m : parts.reduce(0) { $0 + $1.m }
        let bLines = sharesA ? parts.reduce(0) { $0 + $1.n } : problem.n
        (rowTasks, columnTasks) = gemmPartition(m: rows, n: columns, k: problem.k, threads: pool.threadCount,
                                                packsPerTile: false, preferRows: aLines >= bLines, panelWidth: nr)
        // An operand too small to be worth a second hand-off to the pool (a classifier head's B
        // of one or two panels, a small MLP's layers) is rounded by every tile that reads it.
        let skinny = parts.count == 1 && columnTasks == 1 && problem.n <= 2 * nr
        let small = 8192
        let (holdsA, holdsB) = holds ?? (columnTasks > 1 && aLines * problem.k >= small,
                                         rowTasks > 1 && bLines * problem.k >= small && !skinny)
        let blocks = (problem.k + kc - 1) / kc
        aBlockWords = bf16.packedWords(k: min(kc, problem.k), lines: rows)
        bBlockWords = bf16.packedWords(k: min(kc, problem.k), lines: columns)
        let scratch = ThreadScratch.current
        let a = holdsA ? UnsafeMutableRawPointer(scratch.sharedA(count: blocks * aBlockWords)) : nil
        let b = holdsB ? UnsafeMutableRawPointer(scratch.sharedB(count: blocks * bBlockWords)) : nil
        (self.a, self.b) = (a, b)
        // Units of up to one MC block of a part's row panels and up to 8 of its column panels
        // (fewer when that gives every thread a share), for every KC block: (part, first row
        // or column, of A).
        let threads = pool.threadCount
        let unitRows = max(1, min(GEMMBlocking.mc / mr, rows / mr / threads)) * mr
        let unitColumns = max(1, min(8, columns / nr / threads)) * nr
        var units: [(part: Int, first: Int, ofA: Bool)] = []
        for (s, part) in parts.enumerated() {
            if holdsA && (s == 0 || !sharesA) { units += stride(from: 0, to: part.m, by: unitRows).map { (s, $0, true) } }
            if holdsB && (s == 0 || sharesA) { units += stride(from: 0, to: part.n, by: unitColumns).map { (s, $0, false) } }
        }
        if units.isEmpty { return }
        let (aBlockWords, bBlockWords) = (self.aBlockWords, self.bBlockWords)
        pool.parallelFor(blocks * units.count) { task, _ in
            let block = task / units.count, unit = units[task % units.count], part = parts[unit.part]
            let pc = block * kc, depth = min(kc, part.k - pc)
            if unit.ofA, let a {
                let i0 = unit.first, count = min(unitRows, part.m - i0)
                let source = part.transposeA ? part.a + pc * part.lda + i0 : part.a + i0 * part.lda + pc
                bf16.packA(source, part.lda, part.transposeA, count, depth,
                           a + 4 * (block * aBlockWords + bf16.packedWords(k: depth, lines: rowBases[unit.part] + i0)))
            } else if let b {
                let j0 = unit.first, count = min(unitColumns, part.n - j0)
                let source = part.transposeB ? part.b + j0 * part.ldb + pc : part.b + pc * part.ldb + j0
                bf16.packB(source, part.ldb, part.transposeB, depth, count,
                           b + 4 * (block * bBlockWords + bf16.packedWords(k: depth, lines: columnBases[unit.part] + j0)))
            }
        }
    }

    /// Every tile of the partition, one task each.
    func run(pool: ThreadPool) {
        let rowPanels = rows / microRows, columnPanels = columns / nr
        let (rowTasks, columnTasks) = (self.rowTasks, self.columnTasks)
        pool.parallelFor(rowTasks * columnTasks) { task, _ in
            let tr = task / columnTasks, tc = task % columnTasks
            run(rows: (rowPanels * tr / rowTasks * microRows)..<(rowPanels * (tr + 1) / rowTasks * microRows),
                columns: (columnPanels * tc / columnTasks * nr)..<(columnPanels * (tc + 1) / columnTasks * nr))
        }
    }

    /// The tile `rows` × `columns` of all parts' C (starting on panel boundaries), in the order
    /// of blocks `GEMMProblem.run(rows:columns:)` uses: NC columns, KC steps, MC rows; every
    /// element's sum is the same. Allocates nothing and copies no `GEMMProblem` (each copy
    /// retains its hot loops' dozens of closures): a 64³ product takes a few microseconds.
    func run(rows: Range<Int>, columns: Range<Int>) {
        let bf16 = self.bf16, nr = self.nr, k = parts[0].k, count = parts.count
        let scratch = ThreadScratch.current
        func panelled(_ lines: Int) -> Int { (lines + nr - 1) / nr * nr }
        /// Part s's rows and columns in this tile and the column chunk, nil where it has none.
        func piece(_ s: Int, _ chunk: Range<Int>) -> (rows: Range<Int>, columns: Range<Int>)? {
            let i0 = max(rows.lowerBound - rowBases[s], 0), i1 = min(rows.upperBound - rowBases[s], parts[s].m)
            let j0 = max(chunk.lowerBound - columnBases[s], 0), j1 = min(chunk.upperBound - columnBases[s], parts[s].n)
            return i0 < i1 && j0 < j1 ? (i0..<i1, j0..<j1) : nil
        }
        // Whole panels: NC rounded down to the panel width.
        let ncBlock = GEMMBlocking.nc / nr * nr
        var jc = columns.lowerBound
        while jc < columns.upperBound {
            let chunk = jc..<min(jc + ncBlock, columns.upperBound)
            jc = chunk.upperBound
            guard let first = (0..<count).first(where: { piece($0, chunk) != nil }) else { continue }
            var pc = 0
            while pc < k {
                let kc = min(GEMMBlocking.kc, k - pc), block = pc / GEMMBlocking.kc
                // B's panels packed here when not shared: each piece's when the parts share A
                // (laid out one after another), else the first piece's, which all read.
                var packed: UnsafeMutableRawPointer? = nil
                if b == nil {
                    var words = 0
                    for s in first..<(sharesA ? count : first + 1) {
                        if let piece = piece(s, chunk) { words += bf16.packedWords(k: kc, lines: panelled(piece.columns.count)) }
                    }
                    let buffer = UnsafeMutableRawPointer(scratch.packedB(count: words))
                    var offset = 0
                    for s in first..<(sharesA ? count : first + 1) {
                        guard let piece = piece(s, chunk) else { continue }
                        let j0 = piece.columns.lowerBound, ldb = parts[s].ldb, transposed = parts[s].transposeB
                        bf16.packB(transposed ? parts[s].b + j0 * ldb + pc : parts[s].b + pc * ldb + j0, ldb, transposed,
                                   kc, piece.columns.count, buffer + 4 * offset)
                        offset += bf16.packedWords(k: kc, lines: panelled(piece.columns.count))
                    }
                    packed = buffer
                }
                // A's panels of MC rows of part s: shared, or packed here.
                func aPanels(_ s: Int, rows ic: Int, _ mc: Int) -> UnsafeRawPointer {
                    if let a { return UnsafeRawPointer(a + 4 * (block * aBlockWords + bf16.packedWords(k: kc, lines: rowBases[s] + ic))) }
                    let panels = scratch.packedA(count: bf16.packedWords(k: kc, lines: (mc + microRows - 1) / microRows * microRows))
                    let lda = parts[s].lda, transposed = parts[s].transposeA
                    bf16.packA(transposed ? parts[s].a + pc * lda + ic : parts[s].a + ic * lda + pc, lda, transposed,
                               mc, kc, UnsafeMutableRawPointer(panels))
                    return UnsafeRawPointer(panels)
                }
                func multiply(_ s: Int, rows ic: Int, _ mc: Int, columns: Range<Int>, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer) {
                    let c = parts[s].c, ldc = parts[s].ldc
                    bf16.macroKernel(mc: mc, nc: columns.count, kc: kc, packedA: a, packedB: b,
                                     bPanelStride: bf16.packedWords(k: kc, lines: nr),
                                     c: c + ic * ldc + columns.lowerBound, ldc: ldc,
                                     accumulate: parts[s].accumulate || pc > 0, transposedA: parts[s].transposeA)
                    if let epilogue = parts[s].epilogue, pc + kc == k {
                        epilogue.apply(c, ldc: ldc, rows: ic..<(ic + mc), columns: columns, loops: parts[s].loops)
                    }
                }
                // Piece s's B panels, `offset` words into what was packed here.
                func bPanels(_ s: Int, _ piece: (rows: Range<Int>, columns: Range<Int>), offset: Int) -> UnsafeRawPointer {
                    if let b {
                        return UnsafeRawPointer(b + 4 * (block * bBlockWords + bf16.packedWords(k: kc, lines: columnBases[s] + piece.columns.lowerBound)))
                    }
                    return UnsafeRawPointer(packed! + 4 * offset)
                }
                if sharesA {
                    // The pieces have the same rows: each block of A serves all of them.
                    let pieceRows = piece(first, chunk)!.rows
                    var ic = pieceRows.lowerBound
                    while ic < pieceRows.upperBound {
                        let mc = min(GEMMBlocking.mc, pieceRows.upperBound - ic)
                        let a = aPanels(first, rows: ic, mc)
                        var offset = 0
                        for s in first..<count {
                            guard let piece = piece(s, chunk) else { continue }
                            multiply(s, rows: ic, mc, columns: piece.columns, a, bPanels(s, piece, offset: offset))
                            offset += bf16.packedWords(k: kc, lines: panelled(piece.columns.count))
                        }
                        ic += mc
                    }
                } else {
                    for s in first..<count {
                        guard let piece = piece(s, chunk) else { continue }
                        let b = bPanels(s, piece, offset: 0)
                        var ic = piece.rows.lowerBound
                        while ic < piece.rows.upperBound {
                            let mc = min(GEMMBlocking.mc, piece.rows.upperBound - ic)
                            multiply(s, rows: ic, mc, columns: piece.columns, aPanels(s, rows: ic, mc), b)
                            ic += mc
                        }
                    }
                }
                pc += kc
            }
        }
    }
}

/// Per-thread packing buffers, grown on demand and kept for the thread's lifetime, so that no
/// GEMM call allocates once warmed up.
final class ThreadScratch {
    private var a = Buffer()
    private var b = Buffer()
    private var sharedAPanels = Buffer()
    private var sharedBPanels = Buffer()

    func packedA(count: Int) -> UnsafeMutablePointer<Float> { a.reserve(count) }
    func packedB(count: Int) -> UnsafeMutablePointer<Float> { b.reserve(count) }
    /// Whole operands packed for all threads (`BF16Tiles`), owned by the calling thread.
    func sharedA(count: Int) -> UnsafeMutablePointer<Float> { sharedAPanels.reserve(count) }
    func sharedB(count: Int) -> UnsafeMutablePointer<Float> { sharedBPanels.reserve(count) }

    struct Buffer {
        var pointer: UnsafeMutablePointer<Float>? = nil
        var capacity = 0

        mutating func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
            if count > capacity {
                free(pointer)
                var raw: UnsafeMutableRawPointer? = nil
                posix_memalign(&raw, 64, max(count, 1) * MemoryLayout<Float>.stride)
                pointer = raw!.bindMemory(to: Float.self, capacity: count)
                capacity = count
            }
            return pointer!
        }
    }

    deinit {
        for buffer in [a, b, sharedAPanels, sharedBPanels] { free(buffer.pointer) }
    }

    static var current: ThreadScratch {
        if let existing = pthread_getspecific(scratchKey) {
            return Unmanaged<ThreadScratch>.fromOpaque(existing).takeUnretainedValue()
        }
        let made = ThreadScratch()
        pthread_setspecific(scratchKey, Unmanaged.passRetained(made).toOpaque())
        return made
    }
}

private let scratchKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { pointer in
        if let pointer { Unmanaged<ThreadScratch>.fromOpaque(pointer).release() }
    }
    return key
}()
