import MicroKernels
import MicroKernelsAVX2
import MicroKernelsAVX512
import CBF16

/// The hot loops of one instruction set, as function references: the kernels call through
/// `HotLoops.current`, chosen once from the CPU, instead of branching on the ISA at every call.
struct HotLoops: Sendable {
    typealias Binary = @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    typealias Scaled = @Sendable (Float, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    typealias Reduce = @Sendable (UnsafePointer<Float>, Int) -> Float
    typealias Row = @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    typealias RowBackward = @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void

    /// Columns of C per GEMM micro-tile (rows are `MicroKernels.gemmMR` in every copy).
    var gemmColumns: Int
    var packA: @Sendable (UnsafePointer<Float>, Int, Bool, Int, Int, UnsafeMutablePointer<Float>) -> Void
    var packB: @Sendable (UnsafePointer<Float>, Int, Bool, Int, Int, UnsafeMutablePointer<Float>) -> Void
    var macroKernel: @Sendable (Int, Int, Int, UnsafePointer<Float>, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int, Bool) -> Void
    /// The macro-kernel reading a row-major A in place: (mc, nc, kc, a, lda, packedB, panel stride, c, ldc, accumulate).
    var macroKernelRowMajorA: @Sendable (Int, Int, Int, UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int, Bool) -> Void
    let unary: @Sendable (UnaryMap, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, UnsafeMutablePointer<Float>?) -> Void
    let unaryBackward: @Sendable (UnaryMap, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Bool) -> Void
    /// (map, c, bias, derivative, n): c = f(c + bias), derivative = f'(c + bias) where given.
    let biasActivation: @Sendable (UnaryMap?, UnsafeMutablePointer<Float>, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void
    /// (map, y, derivative, dy, dz, n, bias partial)
    let linearActivationBackward: @Sendable (UnaryMap, UnsafePointer<Float>, UnsafePointer<Float>?, UnsafePointer<Float>,
                                             UnsafeMutablePointer<Float>, Int, UnsafeMutablePointer<Float>?) -> Void
    let gatedForward: @Sendable (UnaryMap, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    /// (map, g, u, dy, dg, du, n, accumulate gate, accumulate up)
    let gatedBackward: @Sendable (UnaryMap, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                                  UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?, Int, Bool, Bool) -> Void
    let add: Binary
    let multiply: Binary
    let multiplyAccumulate: Binary
    let axpy: Scaled
    let scale: Scaled
    let sum: Reduce
    let dot: @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Float
    let accumulate: @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    let softmaxRow: Row
    let attentionSoftmaxRow: @Sendable (UnsafeMutablePointer<Float>, Int, Int, Float) -> Void
    let attentionScoreGradientRow: @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, UnsafePointer<Float>,
                                              UnsafePointer<Float>, Int, Int, Int, Float) -> Void
    let logSoftmaxRow: Row
    let softmaxBackwardRow: RowBackward
    let logSoftmaxBackwardRow: RowBackward
    /// (x, y, n, shift, rstd, gain, bias)
    let normalizeAffineRow: @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float,
                                       UnsafePointer<Float>?, UnsafePointer<Float>?) -> Void
    /// (x, dy, dx, n, shift, rstd, centered, gain, accumulate, gain gradient, bias gradient)
    let normalizeAffineBackwardRow: @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>?, Int,
                                               Float, Float, Bool, UnsafePointer<Float>?, Bool,
                                               UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) -> Void
    let meanAndVariance: @Sendable (UnsafePointer<Float>, Int) -> (mean: Float, variance: Float)
    var fmaProbe: @Sendable (Int, Float) -> (flops: Double, checksum: Float)
    let adamUpdate: @Sendable (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
                               UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>?, Int, AdamStepConstants) -> Void
    /// (generator state, first block, blocks, out): 16 standard normals a block.
    let standardNormalBlocks: @Sendable (UInt64, Int, Int, UnsafeMutablePointer<Float>) -> Void
    /// The GEMM with bf16-rounded operands.
    var bf16: BF16GEMMLoops

    static let current: HotLoops = {
        var loops = selected
        if loops.bf16.kernel != "vdpbf16ps" { loops.bf16.probe = loops.fmaProbe }
        return loops
    }()

    private static var selected: HotLoops {
        switch InstructionSet.current {
        case .avx512BF16: avx512BF16
        case .avx512: avx512
        case .avx2: avx2
        case .portable: portable
        }
    }

    static let portable = HotLoops(
        gemmColumns: MicroKernels.gemmNR,
        packA: { MicroKernels.gemmPackA($0, lda: $1, transposed: $2, mc: $3, kc: $4, into: $5) },
        packB: { MicroKernels.gemmPackB($0, ldb: $1, transposed: $2, kc: $3, nc: $4, into: $5) },
        macroKernel: { MicroKernels.gemmMacroKernel(mc: $0, nc: $1, kc: $2, packedA: $3, packedB: $4, bPanelStride: $5, c: $6, ldc: $7, accumulate: $8) },
        macroKernelRowMajorA: { MicroKernels.gemmMacroKernelRowMajorA(mc: $0, nc: $1, kc: $2, a: $3, lda: $4, packedB: $5, bPanelStride: $6, c: $7, ldc: $8, accumulate: $9) },
        unary: { MicroKernels.unaryForward($0, $1, $2, $3, derivative: $4) },
        unaryBackward: { MicroKernels.unaryBackward($0, x: $1, y: $2, dy: $3, dx: $4, $5, accumulate: $6) },
        biasActivation: { MicroKernels.biasActivation($0, $1, bias: $2, derivative: $3, $4) },
        linearActivationBackward: { MicroKernels.linearActivationBackward($0, y: $1, derivative: $2, dy: $3, dz: $4, $5, biasPartial: $6) },
        gatedForward: { MicroKernels.gatedUnaryForward($0, $1, $2, $3, $4) },
        gatedBackward: { MicroKernels.gatedUnaryBackward($0, g: $1, u: $2, dy: $3, dg: $4, du: $5, $6, accumulateGate: $7, accumulateUp: $8) },
        add: { MicroKernels.add($0, $1, $2, $3) },
        multiply: { MicroKernels.multiply($0, $1, $2, $3) },
        multiplyAccumulate: { MicroKernels.multiplyAccumulate($0, $1, $2, $3) },
        axpy: { MicroKernels.axpy($0, $1, $2, $3) },
        scale: { MicroKernels.scale($0, $1, $2, $3) },
        sum: { MicroKernels.sum($0, $1) },
        dot: { MicroKernels.dot($0, $1, $2) },
        accumulate: { MicroKernels.accumulate($0, into: $1, $2) },
        softmaxRow: { MicroKernels.softmaxRow($0, $1, $2) },
        attentionSoftmaxRow: { MicroKernels.attentionSoftmaxRow($0, valid: $1, width: $2, scale: $3) },
        attentionScoreGradientRow: {
            MicroKernels.attentionScoreGradientRow($0, $1, dOut: $2, out: $3, headSize: $4, valid: $5, width: $6, scale: $7)
        },
        logSoftmaxRow: { MicroKernels.logSoftmaxRow($0, $1, $2) },
        softmaxBackwardRow: { MicroKernels.softmaxBackwardRow($0, $1, $2, $3) },
        logSoftmaxBackwardRow: { MicroKernels.logSoftmaxBackwardRow($0, $1, $2, $3) },
        normalizeAffineRow: { MicroKernels.normalizeAffineRow($0, $1, $2, shift: $3, rstd: $4, gain: $5, bias: $6) },
        normalizeAffineBackwardRow: {
            MicroKernels.normalizeAffineBackwardRow($0, $1, $2, $3, shift: $4, rstd: $5, centered: $6, gain: $7, accumulate: $8,
                                          gainGradient: $9, biasGradient: $10)
        },
        meanAndVariance: { MicroKernels.meanAndVariance($0, $1) },
        fmaProbe: { MicroKernels.fmaThroughputProbe(iterations: $0, seed: $1) },
        adamUpdate: { MicroKernels.adamUpdate($0, $1, $2, $3, $4, $5, $6) },
        standardNormalBlocks: { MicroKernels.standardNormalBlocks(state: $0, firstBlock: $1, blocks: $2, into: $3) },
        bf16: BF16GEMMLoops(
            kernel: "multiply-add", wordsPerPair: 2,
            packA: { MicroKernels.gemmPackBF16FallbackA($0, lda: $1, transposed: $2, mc: $3, kc: $4, into: $5) },
            packB: { MicroKernels.gemmPackBF16SwappedB($0, ldb: $1, transposed: $2, kc: $3, nc: $4, into: $5.assumingMemoryBound(to: Float.self)) },
            macroKernel: {
                MicroKernels.gemmMacroKernelBF16Fallback(mc: $0, nc: $1, kc: $2, packedA: $3, packedB: $4, bPanelStride: $5,
                                                         c: $6, ldc: $7, accumulate: $8, transposedA: $9)
            }))

    static let avx2 = HotLoops(
        gemmColumns: MicroKernelsAVX2.gemmNR,
        packA: { MicroKernelsAVX2.gemmPackA($0, lda: $1, transposed: $2, mc: $3, kc: $4, into: $5) },
        packB: { MicroKernelsAVX2.gemmPackB($0, ldb: $1, transposed: $2, kc: $3, nc: $4, into: $5) },
        macroKernel: { MicroKernelsAVX2.gemmMacroKernel(mc: $0, nc: $1, kc: $2, packedA: $3, packedB: $4, bPanelStride: $5, c: $6, ldc: $7, accumulate: $8) },
        macroKernelRowMajorA: { MicroKernelsAVX2.gemmMacroKernelRowMajorA(mc: $0, nc: $1, kc: $2, a: $3, lda: $4, packedB: $5, bPanelStride: $6, c: $7, ldc: $8, accumulate: $9) },
        unary: { MicroKernelsAVX2.unaryForward(.init($0), $1, $2, $3, derivative: $4) },
        unaryBackward: { MicroKernelsAVX2.unaryBackward(.init($0), x: $1, y: $2, dy: $3, dx: $4, $5, accumulate: $6) },
        biasActivation: { MicroKernelsAVX2.biasActivation($0.map { .init($0) }, $1, bias: $2, derivative: $3, $4) },
        linearActivationBackward: {
            MicroKernelsAVX2.linearActivationBackward(.init($0), y: $1, derivative: $2, dy: $3, dz: $4, $5, biasPartial: $6)
        },
        gatedForward: { MicroKernelsAVX2.gatedUnaryForward(.init($0), $1, $2, $3, $4) },
        gatedBackward: {
            MicroKernelsAVX2.gatedUnaryBackward(.init($0), g: $1, u: $2, dy: $3, dg: $4, du: $5, $6, accumulateGate: $7, accumulateUp: $8)
        },
        add: { MicroKernelsAVX2.add($0, $1, $2, $3) },
        multiply: { MicroKernelsAVX2.multiply($0, $1, $2, $3) },
        multiplyAccumulate: { MicroKernelsAVX2.multiplyAccumulate($0, $1, $2, $3) },
        axpy: { MicroKernelsAVX2.axpy($0, $1, $2, $3) },
        scale: { MicroKernelsAVX2.scale($0, $1, $2, $3) },
        sum: { MicroKernelsAVX2.sum($0, $1) },
        dot: { MicroKernelsAVX2.dot($0, $1, $2) },
        accumulate: { MicroKernelsAVX2.accumulate($0, into: $1, $2) },
        softmaxRow: { MicroKernelsAVX2.softmaxRow($0, $1, $2) },
        attentionSoftmaxRow: { MicroKernelsAVX2.attentionSoftmaxRow($0, valid: $1, width: $2, scale: $3) },
        attentionScoreGradientRow: {
            MicroKernelsAVX2.attentionScoreGradientRow($0, $1, dOut: $2, out: $3, headSize: $4, valid: $5, width: $6, scale: $7)
        },
        logSoftmaxRow: { MicroKernelsAVX2.logSoftmaxRow($0, $1, $2) },
        softmaxBackwardRow: { MicroKernelsAVX2.softmaxBackwardRow($0, $1, $2, $3) },
        logSoftmaxBackwardRow: { MicroKernelsAVX2.logSoftmaxBackwardRow($0, $1, $2, $3) },
        normalizeAffineRow: { MicroKernelsAVX2.normalizeAffineRow($0, $1, $2, shift: $3, rstd: $4, gain: $5, bias: $6) },
        normalizeAffineBackwardRow: {
            MicroKernelsAVX2.normalizeAffineBackwardRow($0, $1, $2, $3, shift: $4, rstd: $5, centered: $6, gain: $7, accumulate: $8,
                                          gainGradient: $9, biasGradient: $10)
        },
        meanAndVariance: { MicroKernelsAVX2.meanAndVariance($0, $1) },
        fmaProbe: { MicroKernelsAVX2.fmaThroughputProbe(iterations: $0, seed: $1) },
        adamUpdate: { MicroKernelsAVX2.adamUpdate($0, $1, $2, $3, $4, $5, .init($6)) },
        standardNormalBlocks: { MicroKernelsAVX2.standardNormalBlocks(state: $0, firstBlock: $1, blocks: $2, into: $3) },
        bf16: BF16GEMMLoops(
            kernel: "fma", wordsPerPair: 2,
            packA: { MicroKernelsAVX2.gemmPackBF16FallbackA($0, lda: $1, transposed: $2, mc: $3, kc: $4, into: $5) },
            packB: { MicroKernelsAVX2.gemmPackBF16SwappedB($0, ldb: $1, transposed: $2, kc: $3, nc: $4, into: $5.assumingMemoryBound(to: Float.self)) },
            macroKernel: {
                MicroKernelsAVX2.gemmMacroKernelBF16Fallback(mc: $0, nc: $1, kc: $2, packedA: $3, packedB: $4, bPanelStride: $5,
                                                             c: $6, ldc: $7, accumulate: $8, transposedA: $9)
            }))

    /// The AVX2 loops with the GEMM and the FMA probe 512 bits wide. The elementwise loops are
    /// memory-bound or short, and stay the AVX2 ones: their results (and, since a GEMM output is
    /// the same FMA chain at any width, every result) are bit for bit those of an AVX2 machine.
    static let avx512: HotLoops = {
        var loops = avx2
        loops.gemmColumns = MicroKernelsAVX512.gemmNR
        loops.packA = { MicroKernelsAVX512.gemmPackA($0, lda: $1, transposed: $2, mc: $3, kc: $4, into: $5) }
        loops.packB = { MicroKernelsAVX512.gemmPackB($0, ldb: $1, transposed: $2, kc: $3, nc: $4, into: $5) }
        loops.macroKernel = {
            MicroKernelsAVX512.gemmMacroKernel(mc: $0, nc: $1, kc: $2, packedA: $3, packedB: $4, bPanelStride: $5, c: $6, ldc: $7, accumulate: $8)
        }
        loops.macroKernelRowMajorA = {
            MicroKernelsAVX512.gemmMacroKernelRowMajorA(mc: $0, nc: $1, kc: $2, a: $3, lda: $4, packedB: $5, bPanelStride: $6, c: $7, ldc: $8, accumulate: $9)
        }
        loops.fmaProbe = { MicroKernelsAVX512.fmaThroughputProbe(iterations: $0, seed: $1) }
        loops.bf16 = BF16GEMMLoops(
            kernel: "fma", wordsPerPair: 2,
            packA: { MicroKernelsAVX512.gemmPackBF16FallbackA($0, lda: $1, transposed: $2, mc: $3, kc: $4, into: $5) },
            packB: { MicroKernelsAVX512.gemmPackBF16SwappedB($0, ldb: $1, transposed: $2, kc: $3, nc: $4, into: $5.assumingMemoryBound(to: Float.self)) },
            macroKernel: {
                MicroKernelsAVX512.gemmMacroKernelBF16Fallback(mc: $0, nc: $1, kc: $2, packedA: $3, packedB: $4, bPanelStride: $5,
                                                               c: $6, ldc: $7, accumulate: $8, transposedA: $9)
            })
        return loops
    }()

    /// The AVX-512 loops with bf16 products on VDPBF16PS: operands packed as bf16 pairs (half the
    /// packing memory) and the dot-product kernel of CBF16, which gives the FMA fallback's bits.
    static let avx512BF16: HotLoops = {
        var loops = avx512
        precondition(MicroKernelsAVX512.gemmNR == Int(TRAINLAB_BF16_NR) && MicroKernelsAVX512.gemmMR == Int(TRAINLAB_BF16_MR),
                     "the bf16 kernel's tile is the AVX-512 FP32 tile")
        loops.bf16 = BF16GEMMLoops(
            kernel: "vdpbf16ps", wordsPerPair: 1,
            // Operands convert with VCVTNE2PS2BF16 in C, to the bits the Swift packers round to.
            packA: { a, lda, transposed, mc, kc, dst in
                if transposed {
                    trainlab_bf16_pack_a_transposed(a, lda, mc, kc, dst.assumingMemoryBound(to: UInt32.self))
                } else {
                    trainlab_bf16_pack_rows(a, lda, mc, kc, dst.assumingMemoryBound(to: UInt32.self))
                }
            },
            packB: { b, ldb, transposed, kc, nc, dst in
                if transposed {
                    trainlab_bf16_pack_b_transposed(b, ldb, kc, nc, dst.assumingMemoryBound(to: UInt32.self))
                } else {
                    trainlab_bf16_pack_b(b, ldb, kc, nc, dst.assumingMemoryBound(to: UInt32.self))
                }
            },
            macroKernel: {
                let a = $3.assumingMemoryBound(to: UInt32.self), b = $4.assumingMemoryBound(to: UInt32.self)
                if $9 {
                    trainlab_bf16_macro_kernel($0, $1, ($2 + 1) / 2, a, b, $5, $6, $7, $8 ? 1 : 0)
                } else {
                    trainlab_bf16_macro_kernel_rows($0, $1, ($2 + 1) / 2, a, b, $5, $6, $7, $8 ? 1 : 0)
                }
            })
        loops.bf16.probe = { iterations, seed in
            var checksum: Float = 0
            let flops = trainlab_bf16_dot_probe(iterations, seed, &checksum)
            return (flops, checksum)
        }
        return loops
    }()
}

/// A GEMM over bf16-rounded operands, as one instruction set runs it: packers that round while
/// they pack, and the macro-kernel that multiplies what they packed. Every copy gives the same
/// bits: the FMA fallback multiplies each k-pair odd k first, the order in which VDPBF16PS adds
/// its two products (B's panels and a transposed A's store the pair swapped; a row-major A stays
/// in rows that its kernel reads swapped), and both run with subnormals flushed (`macroKernel`
/// sets MXCSR's FTZ and DAZ around the kernel, which is how VDPBF16PS treats them).
struct BF16GEMMLoops: Sendable {
    /// `vdpbf16ps` (AVX512_BF16), `fma` (the FP32 micro-kernel on bf16-valued Float32s), or
    /// `multiply-add` (the portable build's, without FMA: the same bits but for subnormal products).
    let kernel: String
    /// 4-byte words a packed panel holds per k-pair and row (of A) or column (of B): 1 for bf16
    /// pairs, 2 for the fallback's Float32 values.
    let wordsPerPair: Int
    /// (a, lda, transposed, mc, kc, into)
    let packA: @Sendable (UnsafePointer<Float>, Int, Bool, Int, Int, UnsafeMutableRawPointer) -> Void
    /// (b, ldb, transposed, kc, nc, into)
    let packB: @Sendable (UnsafePointer<Float>, Int, Bool, Int, Int, UnsafeMutableRawPointer) -> Void
    private let kernelBody: @Sendable (Int, Int, Int, UnsafeRawPointer, UnsafeRawPointer, Int, UnsafeMutablePointer<Float>, Int, Bool, Bool) -> Void
    /// The kernel's peak probe: VDPBF16PS chains, or the copy's FMA probe for the fallback.
    var probe: @Sendable (Int, Float) -> (flops: Double, checksum: Float) = { _, _ in (0, 0) }

    init(kernel: String, wordsPerPair: Int,
         packA: @escaping @Sendable (UnsafePointer<Float>, Int, Bool, Int, Int, UnsafeMutableRawPointer) -> Void,
         packB: @escaping @Sendable (UnsafePointer<Float>, Int, Bool, Int, Int, UnsafeMutableRawPointer) -> Void,
         macroKernel: @escaping @Sendable (Int, Int, Int, UnsafeRawPointer, UnsafeRawPointer, Int, UnsafeMutablePointer<Float>, Int, Bool, Bool) -> Void) {
        (self.kernel, self.wordsPerPair, self.packA, self.packB, self.kernelBody) = (kernel, wordsPerPair, packA, packB, macroKernel)
    }

    /// Words of a packed operand: `(k + 1) / 2` pairs of `wordsPerPair` for each of `lines`
    /// (padded) rows of A or columns of B.
    func packedWords(k: Int, lines: Int) -> Int { (k + 1) / 2 * wordsPerPair * lines }

    /// C[0..<mc, 0..<nc] (+)= A · B over `kc` steps of packed panels whose B panels sit
    /// `bPanelStride` words apart, with subnormals flushed. `transposedA`: whether `packA` packed
    /// A from a transposed op(A) (the fallback lays the two out differently).
    func macroKernel(mc: Int, nc: Int, kc: Int, packedA: UnsafeRawPointer, packedB: UnsafeRawPointer, bPanelStride: Int,
                     c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, transposedA: Bool) {
        let saved = trainlab_flush_subnormals_begin()
        kernelBody(mc, nc, kc, packedA, packedB, bPanelStride, c, ldc, accumulate, transposedA)
        trainlab_flush_subnormals_end(saved)
    }
}
