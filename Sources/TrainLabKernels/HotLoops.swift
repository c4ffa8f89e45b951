import MicroKernels
import MicroKernelsAVX2
import MicroKernelsAVX512

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

    static let current: HotLoops = {
        switch InstructionSet.current {
        case .avx512: avx512
        case .avx2: avx2
        case .portable: portable
        }
    }()

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
        standardNormalBlocks: { MicroKernels.standardNormalBlocks(state: $0, firstBlock: $1, blocks: $2, into: $3) })

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
        standardNormalBlocks: { MicroKernelsAVX2.standardNormalBlocks(state: $0, firstBlock: $1, blocks: $2, into: $3) })

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
        return loops
    }()
}
