// The hot loops: GEMM packing and micro-kernel, elementwise maps, row reductions.
//
// This one file is compiled three times (see Package.swift): as `MicroKernels` for any CPU, as
// `MicroKernelsAVX2` (a symlink to this file) with `-target-cpu haswell` and TRAINLAB_AVX2
// defined, and as `MicroKernelsAVX512` with `-target-cpu skylake-avx512` and both TRAINLAB_AVX2
// and TRAINLAB_AVX512 defined. Only the GEMM's vector width differs between the copies (see
// `GEMMVector`). It is one file so that every helper inlines even in debug builds, which compile
// file by file.

import CPrefetch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

#if TRAINLAB_AVX512
/// Name of the instruction set this copy of the hot loops was compiled for.
public let instructionSet = "avx512"
#elseif TRAINLAB_AVX2
/// Name of the instruction set this copy of the hot loops was compiled for.
public let instructionSet = "avx2"
#else
/// Name of the instruction set this copy of the hot loops was compiled for.
public let instructionSet = "portable"
#endif

/// `c + a * b`: one vfmadd in the AVX2 build. Without a CPU flag, `addingProduct` on x86-64
/// lowers to a libm `fmaf` call per lane, so the portable build multiplies and adds separately;
/// arm64 always has a fused multiply-add.
@inline(__always)
func multiplyAdd<V: SIMD>(_ c: V, _ a: V, _ b: V) -> V where V.Scalar == Float {
    #if TRAINLAB_AVX2 || arch(arm64)
    return c.addingProduct(a, b)
    #else
    return c + a * b
    #endif
}

// MARK: - GEMM
// All matrices are row-major. op(A) is (m, k), op(B) is (k, n), C is (m, n).
// Packed A: panels of `gemmMR` rows, each stored k-major: panel[p * MR + r] = op(A)[r, p].
// Packed B: panels of `gemmNR` columns, each k-major:     panel[p * NR + c] = op(B)[p, c].
// Rows and columns past the matrix edge are packed as zeros, so the micro-kernel always runs a
// full MR x NR tile and only the final store is clipped.

public typealias V8 = SIMD8<Float>

#if TRAINLAB_AVX512
/// One vector register of the GEMM micro-kernel: a 512-bit zmm register. Only the GEMM and the
/// FMA probe use it: the elementwise loops stay 8 lanes wide in every copy, so their sums reduce
/// in the same order, and a C element's sum over K is the same chain of FMAs at any width, so an
/// AVX-512 machine computes bit for bit what an AVX2 machine does.
public typealias GEMMVector = SIMD16<Float>
/// A GEMM vector's bits (bf16 rounding works on them).
typealias GEMMBits = SIMD16<UInt32>
#else
/// One vector register of the GEMM micro-kernel: 8 lanes (ymm with AVX2).
public typealias GEMMVector = SIMD8<Float>
/// A GEMM vector's bits (bf16 rounding works on them).
typealias GEMMBits = SIMD8<UInt32>
#endif

/// Rows of C per micro-tile.
public let gemmMR = 6
/// Columns of C per micro-tile: two vector registers. 6 x 2 accumulators + 2 B vectors + 1 A
/// broadcast = 15 registers, of 16 with AVX2 (of 32 with AVX-512, whose FMAs are twice as wide).
public let gemmNR = 2 * GEMMVector.scalarCount

@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> V8 {
    UnsafeRawPointer(p).loadUnaligned(as: V8.self)
}

@inline(__always)
func store8(_ v: V8, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V8.self)
}

@inline(__always)
func loadVector(_ p: UnsafePointer<Float>) -> GEMMVector {
    UnsafeRawPointer(p).loadUnaligned(as: GEMMVector.self)
}

@inline(__always)
func storeVector(_ v: GEMMVector, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: GEMMVector.self)
}

/// Packs rows `0..<mc`, columns `0..<kc` of op(A) into MR-row panels.
/// `a` points at op(A)[0, 0]; with `transposed`, op(A)[i, p] = a[p * lda + i], else a[i * lda + p].
@inline(never)
public func gemmPackA(
    _ a: UnsafePointer<Float>, lda: Int, transposed: Bool,
    mc: Int, kc: Int, into dst: UnsafeMutablePointer<Float>
) {
    let mr = gemmMR
    var out = dst
    var i0 = 0
    while i0 < mc {
        let rows = min(mr, mc - i0)
        if transposed && i0 + 8 <= mc {
            // op(A)[i0 + r, p] = a[p * lda + i0 + r]: each k step is 6 contiguous floats, copied
            // as 8 (in bounds: rows i0 + 6, i0 + 7 exist). The 2 extra floats land where the next
            // step (or, after the last step, the next panel) writes right after.
            var src = a + i0
            for p in 0..<kc {
                store8(load8(src), out + p * mr)
                src += lda
            }
        } else if transposed && rows == mr {
            // The block's last 6 columns: 4 + 2 floats a k step.
            var src = a + i0
            for p in 0..<kc {
                let o = UnsafeMutableRawPointer(out + p * mr)
                o.storeBytes(of: UnsafeRawPointer(src).loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
                o.storeBytes(of: UnsafeRawPointer(src + 4).loadUnaligned(as: SIMD2<Float>.self), toByteOffset: 16, as: SIMD2<Float>.self)
                src += lda
            }
        } else if transposed {
            // op(A)[i0 + r, p] = a[p * lda + i0 + r]: each k step is contiguous.
            for p in 0..<kc {
                let src = a + p * lda + i0
                for r in 0..<rows { out[p * mr + r] = src[r] }
                for r in rows..<mr { out[p * mr + r] = 0 }
            }
        } else if rows == mr {
            // Six row streams read 8 at a time and interleaved.
            let r0 = a + i0 * lda, r1 = r0 + lda, r2 = r1 + lda
            let r3 = r2 + lda, r4 = r3 + lda, r5 = r4 + lda
            var p = 0
            while p + 8 <= kc {
                let v0 = load8(r0 + p), v1 = load8(r1 + p), v2 = load8(r2 + p)
                let v3 = load8(r3 + p), v4 = load8(r4 + p), v5 = load8(r5 + p)
                for q in 0..<8 {
                    let o = out + (p + q) * mr
                    o[0] = v0[q]; o[1] = v1[q]; o[2] = v2[q]
                    o[3] = v3[q]; o[4] = v4[q]; o[5] = v5[q]
                }
                p += 8
            }
            while p < kc {
                let o = out + p * mr
                o[0] = r0[p]; o[1] = r1[p]; o[2] = r2[p]
                o[3] = r3[p]; o[4] = r4[p]; o[5] = r5[p]
                p += 1
            }
        } else {
            for p in 0..<kc {
                for r in 0..<rows { out[p * mr + r] = a[(i0 + r) * lda + p] }
                for r in rows..<mr { out[p * mr + r] = 0 }
            }
        }
        out += mr * kc
        i0 += mr
    }
}

/// Packs rows `0..<kc`, columns `0..<nc` of op(B) into NR-column panels.
/// `b` points at op(B)[0, 0]; with `transposed`, op(B)[p, j] = b[j * ldb + p], else b[p * ldb + j].
@inline(never)
public func gemmPackB(
    _ b: UnsafePointer<Float>, ldb: Int, transposed: Bool,
    kc: Int, nc: Int, into dst: UnsafeMutablePointer<Float>
) {
    let nr = gemmNR
    var out = dst
    var j0 = 0
    while j0 < nc {
        let cols = min(nr, nc - j0)
        if !transposed && cols == nr {
            let w = GEMMVector.scalarCount
            var src = b + j0
            for p in 0..<kc {
                storeVector(loadVector(src), out + p * nr)
                storeVector(loadVector(src + w), out + p * nr + w)
                src += ldb
            }
        } else if !transposed {
            for p in 0..<kc {
                for c in 0..<cols { out[p * nr + c] = b[p * ldb + j0 + c] }
                for c in cols..<nr { out[p * nr + c] = 0 }
            }
        } else {
            // op(B)[p, j0 + c] = b[(j0 + c) * ldb + p]: 8 columns at a time, 8 k steps per load,
            // written through an 8 x 8 transpose held in registers.
            var c0 = 0
            while c0 < nr {
                let width = min(8, cols - c0)
                if width == 8 {
                    var p = 0
                    while p + 8 <= kc {
                        transpose8x8(b + (j0 + c0) * ldb + p, ldb, out + p * nr + c0, nr)
                        p += 8
                    }
                    while p < kc {
                        for c in 0..<8 { out[p * nr + c0 + c] = b[(j0 + c0 + c) * ldb + p] }
                        p += 1
                    }
                } else {
                    for p in 0..<kc {
                        for c in 0..<8 {
                            out[p * nr + c0 + c] = c < width ? b[(j0 + c0 + c) * ldb + p] : 0
                        }
                    }
                }
                c0 += 8
            }
        }
        out += nr * kc
        j0 += nr
    }
}

/// dst[q * ldd + c] = src[c * lds + q] for an 8 x 8 block: three perfect unshuffles of the 64
/// values (each moves the lowest index bit to the top; three turn (row, column) into
/// (column, row)), 24 two-vector shuffles instead of 64 lane extracts and inserts.
@inline(__always)
func transpose8x8(_ src: UnsafePointer<Float>, _ lds: Int, _ dst: UnsafeMutablePointer<Float>, _ ldd: Int) {
    var v = (load8(src), load8(src + lds), load8(src + 2 * lds), load8(src + 3 * lds),
             load8(src + 4 * lds), load8(src + 5 * lds), load8(src + 6 * lds), load8(src + 7 * lds))
    for _ in 0..<3 {
        let p0 = SIMD16(lowHalf: v.0, highHalf: v.1), p1 = SIMD16(lowHalf: v.2, highHalf: v.3)
        let p2 = SIMD16(lowHalf: v.4, highHalf: v.5), p3 = SIMD16(lowHalf: v.6, highHalf: v.7)
        v = (p0.evenHalf, p1.evenHalf, p2.evenHalf, p3.evenHalf, p0.oddHalf, p1.oddHalf, p2.oddHalf, p3.oddHalf)
    }
    store8(v.0, dst); store8(v.1, dst + ldd); store8(v.2, dst + 2 * ldd); store8(v.3, dst + 3 * ldd)
    store8(v.4, dst + 4 * ldd); store8(v.5, dst + 5 * ldd); store8(v.6, dst + 6 * ldd); store8(v.7, dst + 7 * ldd)
}

/// C[0..<mc, 0..<nc] (+)= packedA · packedB over `kc` steps. Overwrites C when `accumulate` is
/// false. Loop order: each B micro-panel (kc x NR, in L1) meets every A micro-panel of the block.
/// B's panels sit `bPanelStride` floats apart (kc · NR unless B was packed for a longer k and
/// only its first kc rows are used).
@inline(never)
public func gemmMacroKernel(
    mc: Int, nc: Int, kc: Int,
    packedA: UnsafePointer<Float>, packedB: UnsafePointer<Float>, bPanelStride: Int? = nil,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
    macroKernel(mc: mc, nc: nc, kc: kc, panelA: { PackedPanelA(base: packedA + $0 * kc) },
                packedB: packedB, panelStride: bPanelStride ?? kc * gemmNR, c: c, ldc: ldc, accumulate: accumulate)
}

/// `gemmMacroKernel` for an A that is not packed: op(A) = A row-major with leading dimension
/// `lda`, read in place (each micro-tile broadcasts from six row streams). Packing a row-major A
/// is a 6-row transpose done one float at a time, ~8% of a Transformer step, for data the
/// micro-kernel can read almost as well where it lies.
@inline(never)
public func gemmMacroKernelRowMajorA(
    mc: Int, nc: Int, kc: Int,
    a: UnsafePointer<Float>, lda: Int, packedB: UnsafePointer<Float>, bPanelStride: Int? = nil,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
    macroKernel(mc: mc, nc: nc, kc: kc, panelA: { i0 in
        // Rows past the end of a partial panel repeat the last row; their sums are not stored.
        let last = mc - 1
        return RowMajorPanelA(
            r0: a + i0 * lda, r1: a + min(i0 + 1, last) * lda, r2: a + min(i0 + 2, last) * lda,
            r3: a + min(i0 + 3, last) * lda, r4: a + min(i0 + 4, last) * lda, r5: a + min(i0 + 5, last) * lda)
    }, packedB: packedB, panelStride: bPanelStride ?? kc * gemmNR, c: c, ldc: ldc, accumulate: accumulate)
}

@inline(__always)
func macroKernel<A: MicroPanelA>(
    mc: Int, nc: Int, kc: Int, panelA: (Int) -> A, packedB: UnsafePointer<Float>, panelStride: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
    var j0 = 0
    while j0 < nc {
        let bPanel = packedB + j0 / gemmNR * panelStride
        var i0 = 0
        while i0 < mc {
            microKernel(
                kc: kc, a: panelA(i0), b: bPanel,
                c: c + i0 * ldc + j0, ldc: ldc,
                rows: min(gemmMR, mc - i0), cols: min(gemmNR, nc - j0), accumulate: accumulate)
            i0 += gemmMR
        }
        j0 += gemmNR
    }
}

/// Where a micro-kernel reads its six rows of op(A): `element(p, r)` = op(A)[i0 + r, p].
protocol MicroPanelA {
    func element(_ p: Int, _ r: Int) -> Float
}

/// A packed MR-row panel: the six values of step p side by side.
struct PackedPanelA: MicroPanelA {
    let base: UnsafePointer<Float>
    @inline(__always) func element(_ p: Int, _ r: Int) -> Float { base[p &* gemmMR &+ r] }
}

/// Six rows of a row-major A, read in place.
struct RowMajorPanelA: MicroPanelA {
    let r0, r1, r2, r3, r4, r5: UnsafePointer<Float>
    @inline(__always) func element(_ p: Int, _ r: Int) -> Float {
        switch r {
        case 0: r0[p]
        case 1: r1[p]
        case 2: r2[p]
        case 3: r3[p]
        case 4: r4[p]
        default: r5[p]
        }
    }
}

/// One 6 x NR tile: twelve accumulators kept as separate variables so that none spills.
@inline(__always)
func microKernel<A: MicroPanelA>(
    kc: Int, a: A, b: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, cols: Int, accumulate: Bool
) {
    typealias V = GEMMVector
    let w = V.scalarCount
    // The tile of C is written after the k loop: ask for its lines now, so that their misses
    // (C is a fresh activation or gradient, usually out of cache) overlap the multiply-adds
    // instead of stalling the stores.
    for r in 0..<rows {
        let row = c + r * ldc
        trainlab_prefetch_for_write(row)
        trainlab_prefetch_for_write(row + cols - 1)
        if cols > 16 { trainlab_prefetch_for_write(row + 16) }
    }
    var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
    var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
    var pb = b
    for p in 0..<kc {
        let b0 = loadVector(pb), b1 = loadVector(pb + w)
        var s = V(repeating: a.element(p, 0))
        c00 = multiplyAdd(c00, s, b0); c01 = multiplyAdd(c01, s, b1)
        s = V(repeating: a.element(p, 1))
        c10 = multiplyAdd(c10, s, b0); c11 = multiplyAdd(c11, s, b1)
        s = V(repeating: a.element(p, 2))
        c20 = multiplyAdd(c20, s, b0); c21 = multiplyAdd(c21, s, b1)
        s = V(repeating: a.element(p, 3))
        c30 = multiplyAdd(c30, s, b0); c31 = multiplyAdd(c31, s, b1)
        s = V(repeating: a.element(p, 4))
        c40 = multiplyAdd(c40, s, b0); c41 = multiplyAdd(c41, s, b1)
        s = V(repeating: a.element(p, 5))
        c50 = multiplyAdd(c50, s, b0); c51 = multiplyAdd(c51, s, b1)
        pb += gemmNR
    }
    if rows == 6 && cols == gemmNR {
        storeRow(c00, c01, c, accumulate)
        storeRow(c10, c11, c + ldc, accumulate)
        storeRow(c20, c21, c + 2 * ldc, accumulate)
        storeRow(c30, c31, c + 3 * ldc, accumulate)
        storeRow(c40, c41, c + 4 * ldc, accumulate)
        storeRow(c50, c51, c + 5 * ldc, accumulate)
        return
    }
    // Edge tile: the same sums, clipped on store.
    var tile = (c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51)
    withUnsafeBytes(of: &tile) { raw in
        let t = raw.baseAddress!.assumingMemoryBound(to: Float.self)
        for r in 0..<rows {
            let dst = c + r * ldc
            let src = t + r * gemmNR
            if accumulate {
                for j in 0..<cols { dst[j] += src[j] }
            } else {
                for j in 0..<cols { dst[j] = src[j] }
            }
        }
    }
}

@inline(__always)
func storeRow(_ lo: GEMMVector, _ hi: GEMMVector, _ c: UnsafeMutablePointer<Float>, _ accumulate: Bool) {
    let w = GEMMVector.scalarCount
    if accumulate {
        storeVector(loadVector(c) + lo, c)
        storeVector(loadVector(c + w) + hi, c + w)
    } else {
        storeVector(lo, c)
        storeVector(hi, c + w)
    }
}

// MARK: - bf16 operands
// With `training.precision` bf16 a GEMM rounds its operands to bfloat16 while it packs them
// (round to nearest even, as `torch.Tensor.bfloat16()`; a NaN quiet, its sign and leading
// payload kept; a subnormal to ±0: exactly VCVTNEPS2BF16, which the VDPBF16PS build's packers
// use) and accumulates in FP32. Two packed layouts hold them:
//  - bf16 pairs, for the VDPBF16PS kernel, packed by CBF16's VCVTNE2PS2BF16 packers: one 32-bit
//    word per k-pair, the even k in the low half (A: word q·MR + r of a panel, or q of a row;
//    B: word q·32 + j);
//  - Float32, for the FMA fallback: the rounded values in the FP32 panel layout, k padded to
//    even and each pair stored odd k first, so the FP32 micro-kernel's chain of FMAs adds the
//    exact products in the order VDPBF16PS does (the same bits, with MXCSR's FTZ and DAZ set
//    around it as the instruction behaves).

/// The Float32 bits of the bf16 rounding of `bits` (low 16 bits zero). Masks come from wrapping
/// subtractions rather than lane comparisons, which Swift's generic SIMD compares do not always
/// keep in vector registers.
@inline(__always)
func bf16RoundedBits<V: SIMD>(_ bits: V) -> V where V.Scalar == UInt32 {
    var r = (bits &+ 0x7FFF &+ ((bits &>> 16) & 1)) & 0xFFFF_0000
    // NaN (|x| above infinity's bits): quiet, its sign and leading payload kept.
    let nan = V.zero &- ((0x7F80_0000 &- (bits & 0x7FFF_FFFF)) &>> 31)
    r = (r & ~nan) | (nan & ((bits | 0x0040_0000) & 0xFFFF_0000))
    // A zero exponent field (zero or subnormal): ±0.
    let tiny = V.zero &- (((bits & 0x7F80_0000) &- 1) &>> 31)
    return r & ~(tiny & 0x7FFF_FFFF)
}

/// `x` rounded to bf16 (as the packing rounds it), as a Float32.
@inline(__always)
public func bf16Rounded(_ x: Float) -> Float {
    Float(bitPattern: bf16RoundedBits(SIMD2<UInt32>(repeating: x.bitPattern))[0])
}

@inline(__always)
func roundedBF16Vector(_ p: UnsafePointer<Float>) -> GEMMVector {
    unsafeBitCast(bf16RoundedBits(UnsafeRawPointer(p).loadUnaligned(as: GEMMBits.self)), to: GEMMVector.self)
}

@inline(__always)
func roundedBF16x8(_ p: UnsafePointer<Float>) -> V8 {
    unsafeBitCast(bf16RoundedBits(UnsafeRawPointer(p).loadUnaligned(as: SIMD8<UInt32>.self)), to: V8.self)
}

/// The transpose of an 8 x 8 block held in eight vectors (the unshuffles of `transpose8x8`).
@inline(__always)
func transposed8x8<S: SIMDScalar>(
    _ v: (SIMD8<S>, SIMD8<S>, SIMD8<S>, SIMD8<S>, SIMD8<S>, SIMD8<S>, SIMD8<S>, SIMD8<S>)
) -> (SIMD8<S>, SIMD8<S>, SIMD8<S>, SIMD8<S>, SIMD8<S>, SIMD8<S>, SIMD8<S>, SIMD8<S>) {
    var v = v
    for _ in 0..<3 {
        let p0 = SIMD16(lowHalf: v.0, highHalf: v.1), p1 = SIMD16(lowHalf: v.2, highHalf: v.3)
        let p2 = SIMD16(lowHalf: v.4, highHalf: v.5), p3 = SIMD16(lowHalf: v.6, highHalf: v.7)
        v = (p0.evenHalf, p1.evenHalf, p2.evenHalf, p3.evenHalf, p0.oddHalf, p1.oddHalf, p2.oddHalf, p3.oddHalf)
    }
    return v
}

/// Rows ahead that a bf16 packer walking down B's columns prefetches.
let packPrefetchRows = 12

/// The k a swapped-pair slot holds: slot 2q holds k = 2q + 1, slot 2q + 1 holds k = 2q.
@inline(__always)
func swappedPairK(_ slot: Int) -> Int { slot ^ 1 }

/// `gemmPackA` of op(A) rounded to bf16 for the FMA fallback: `kc` rounded up to even, each
/// k-pair stored odd k first (zeros for a missing odd k). The fallback packs a transposed op(A)
/// so, where each slot is 8 consecutive floats of A; a row-major one with `gemmPackBF16RowsA`.
@inline(never)
public func gemmPackBF16SwappedA(
    _ a: UnsafePointer<Float>, lda: Int, transposed: Bool,
    mc: Int, kc: Int, into dst: UnsafeMutablePointer<Float>
) {
    let mr = gemmMR, slots = (kc + 1) / 2 * 2
    @inline(__always) func element(_ i: Int, _ p: Int) -> Float {
        i < mc && p < kc ? bf16Rounded(transposed ? a[p * lda + i] : a[i * lda + p]) : 0
    }
    var out = dst
    var i0 = 0
    while i0 < mc {
        if transposed && i0 + 8 <= mc {
            // As `gemmPackA`: 8 floats a slot, the 2 extra ones overwritten by the next slot
            // (so the slots are written in order). Rows of A are read in order too: k = 1, 0,
            // 3, 2, ... would defeat the hardware's stride prefetch.
            for p in stride(from: 0, to: slots, by: 2) {
                trainlab_prefetch_for_read(a + (p + packPrefetchRows) * lda + i0)
                trainlab_prefetch_for_read(a + (p + packPrefetchRows + 1) * lda + i0)
                let even = roundedBF16x8(a + p * lda + i0)
                let odd = p + 1 < kc ? roundedBF16x8(a + (p + 1) * lda + i0) : V8()
                store8(odd, out + p * mr)
                store8(even, out + (p + 1) * mr)
            }
        } else {
            for slot in 0..<slots {
                let p = swappedPairK(slot)
                for r in 0..<mr { out[slot * mr + r] = element(i0 + r, p) }
            }
        }
        out += mr * slots
        i0 += mr
    }
}

/// A row-major op(A)'s rows `0..<mc`, columns `0..<kc`, rounded to bf16 for the FMA fallback,
/// still row-major, rows `(kc + 1) / 2 * 2` floats apart (a zero after an odd k): k stays in
/// order and `gemmMacroKernelBF16RowsA` reads each pair odd k first. Rounding 8 floats at a
/// time with vector stores, where pair-swapped panels (`gemmPackBF16SwappedA`) take a scalar
/// store per float. Row i starts at i·slots, where the panel of row i would, so tiles index
/// either layout alike.
@inline(never)
public func gemmPackBF16RowsA(
    _ a: UnsafePointer<Float>, lda: Int, mc: Int, kc: Int, into dst: UnsafeMutablePointer<Float>
) {
    let slots = (kc + 1) / 2 * 2
    for i in 0..<mc {
        let row = a + i * lda, o = dst + i * slots
        var p = 0
        while p + 8 <= kc {
            store8(roundedBF16x8(row + p), o + p)
            p += 8
        }
        for q in p..<slots { o[q] = q < kc ? bf16Rounded(row[q]) : 0 }
    }
}

/// `gemmMacroKernel` over a `gemmPackBF16RowsA` block (`kc` even) and a pair-swapped B
/// (`gemmPackBF16SwappedB`): step p multiplies B's slot p by A's k = p ^ 1, so each pair adds
/// its odd k first, as VDPBF16PS does.
@inline(never)
public func gemmMacroKernelBF16RowsA(
    mc: Int, nc: Int, kc: Int,
    packedA a: UnsafePointer<Float>, packedB: UnsafePointer<Float>, bPanelStride: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
    macroKernel(mc: mc, nc: nc, kc: kc, panelA: { i0 in
        // Rows past the end of a partial panel repeat the last row; their sums are not stored.
        let last = mc - 1
        return PairSwappedRowsA(rows: RowMajorPanelA(
            r0: a + i0 * kc, r1: a + min(i0 + 1, last) * kc, r2: a + min(i0 + 2, last) * kc,
            r3: a + min(i0 + 3, last) * kc, r4: a + min(i0 + 4, last) * kc, r5: a + min(i0 + 5, last) * kc))
    }, packedB: packedB, panelStride: bPanelStride, c: c, ldc: ldc, accumulate: accumulate)
}

/// The FMA fallback's A packing: pair-swapped panels for a transposed op(A) (each slot is 8
/// consecutive floats of A), rounded rows for a row-major one.
@inline(__always)
public func gemmPackBF16FallbackA(
    _ a: UnsafePointer<Float>, lda: Int, transposed: Bool, mc: Int, kc: Int, into dst: UnsafeMutableRawPointer
) {
    let dst = dst.assumingMemoryBound(to: Float.self)
    if transposed {
        gemmPackBF16SwappedA(a, lda: lda, transposed: true, mc: mc, kc: kc, into: dst)
    } else {
        gemmPackBF16RowsA(a, lda: lda, mc: mc, kc: kc, into: dst)
    }
}

/// The FMA fallback's macro-kernel over what `gemmPackBF16FallbackA` packed (`transposedA`
/// says which layout) and `gemmPackBF16SwappedB` panels, `kc` rounded up to even.
@inline(__always)
public func gemmMacroKernelBF16Fallback(
    mc: Int, nc: Int, kc: Int, packedA: UnsafeRawPointer, packedB: UnsafeRawPointer, bPanelStride: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, transposedA: Bool
) {
    let slots = (kc + 1) / 2 * 2
    let a = packedA.assumingMemoryBound(to: Float.self), b = packedB.assumingMemoryBound(to: Float.self)
    if transposedA {
        gemmMacroKernel(mc: mc, nc: nc, kc: slots, packedA: a, packedB: b, bPanelStride: bPanelStride, c: c, ldc: ldc, accumulate: accumulate)
    } else {
        gemmMacroKernelBF16RowsA(mc: mc, nc: nc, kc: slots, packedA: a, packedB: b, bPanelStride: bPanelStride,
                                 c: c, ldc: ldc, accumulate: accumulate)
    }
}

/// Six row-major rows read with each k-pair's two values exchanged.
struct PairSwappedRowsA: MicroPanelA {
    let rows: RowMajorPanelA
    @inline(__always) func element(_ p: Int, _ r: Int) -> Float { rows.element(p ^ 1, r) }
}

/// `gemmPackB` of op(B) rounded to bf16 for the FMA fallback, k-pairs swapped as in
/// `gemmPackBF16SwappedA`.
@inline(never)
public func gemmPackBF16SwappedB(
    _ b: UnsafePointer<Float>, ldb: Int, transposed: Bool,
    kc: Int, nc: Int, into dst: UnsafeMutablePointer<Float>
) {
    let nr = gemmNR, slots = (kc + 1) / 2 * 2
    @inline(__always) func element(_ p: Int, _ j: Int) -> Float {
        p < kc && j < nc ? bf16Rounded(transposed ? b[j * ldb + p] : b[p * ldb + j]) : 0
    }
    var out = dst
    var j0 = 0
    while j0 < nc {
        let cols = min(nr, nc - j0)
        if !transposed && cols == nr {
            // Rows of B in order (k = 1, 0, 3, 2, ... would defeat the stride prefetch), each
            // stored in its swapped slot.
            let w = GEMMVector.scalarCount
            for p in 0..<kc {
                // The rounding's dozen operations a vector leave fewer loads in flight than the
                // FP32 packer has: fetch rows a few iterations ahead (a hint, it never faults).
                trainlab_prefetch_for_read(b + (p + packPrefetchRows) * ldb + j0)
                trainlab_prefetch_for_read(b + (p + packPrefetchRows) * ldb + j0 + nr - 1)
                let o = out + swappedPairK(p) * nr
                storeVector(roundedBF16Vector(b + p * ldb + j0), o)
                storeVector(roundedBF16Vector(b + p * ldb + j0 + w), o + w)
            }
            if kc < slots { (out + swappedPairK(kc) * nr).update(repeating: 0, count: nr) }
        } else if transposed {
            // 8 columns by 8 k at a time through an 8 x 8 transpose, rows stored pair-swapped.
            var c0 = 0
            while c0 < nr {
                var p = 0
                if c0 + 8 <= cols {
                    while p + 8 <= kc {
                        let column = { (c: Int) in roundedBF16x8(b + (j0 + c0 + c) * ldb + p) }
                        let t = transposed8x8((column(0), column(1), column(2), column(3),
                                               column(4), column(5), column(6), column(7)))
                        let o = out + p * nr + c0
                        store8(t.1, o); store8(t.0, o + nr); store8(t.3, o + 2 * nr); store8(t.2, o + 3 * nr)
                        store8(t.5, o + 4 * nr); store8(t.4, o + 5 * nr); store8(t.7, o + 6 * nr); store8(t.6, o + 7 * nr)
                        p += 8
                    }
                }
                while p < slots {
                    let k = swappedPairK(p)
                    for c in c0..<(c0 + 8) { out[p * nr + c] = element(k, j0 + c) }
                    p += 1
                }
                c0 += 8
            }
        } else {
            for slot in 0..<slots {
                let p = swappedPairK(slot)
                for c in 0..<nr { out[slot * nr + c] = element(p, j0 + c) }
            }
        }
        out += nr * slots
        j0 += nr
    }
}

// MARK: - Elementwise and row loops
//
// Over contiguous Float32 buffers of length n, 8 lanes at a time with a scalar tail. Each function runs on the caller's thread; TrainLabKernels splits rows between
// threads. Sums reduce in a fixed order that depends only on n, never on the thread count.

// MARK: - Transcendentals

/// exp(x) to ~1 ulp: x = k ln2 + r, |r| <= ln2 / 2, exp(r) by a degree-6 polynomial, times 2^k.
@inline(__always)
public func exp8(_ x: V8) -> V8 {
    let clamped = max8(min8(x, V8(repeating: 88.37626)), V8(repeating: -87.33654))
    // Round x·log2(e) to an integer by adding 1.5·2²³: the sum's low mantissa bits then hold k,
    // so no float-to-int conversion is needed (SIMD `rounded` and `Int32(_:rounding:)` compile to
    // scalar code here, 12x slower).
    let shifter = V8(repeating: 12_582_912)
    let t = multiplyAdd(shifter, clamped, V8(repeating: 1.44269504088896341))
    let k = t - shifter
    var r = multiplyAdd(clamped, k, V8(repeating: -0.693359375))
    r = multiplyAdd(r, k, V8(repeating: 2.12194440e-4))
    var p = V8(repeating: 1.9875691500e-4)
    p = multiplyAdd(V8(repeating: 1.3981999507e-3), p, r)
    p = multiplyAdd(V8(repeating: 8.3334519073e-3), p, r)
    p = multiplyAdd(V8(repeating: 4.1665795894e-2), p, r)
    p = multiplyAdd(V8(repeating: 1.6666665459e-1), p, r)
    p = multiplyAdd(V8(repeating: 5.0000001201e-1), p, r)
    p = multiplyAdd(r + 1, p, r * r)
    let bits = (unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
    return p * unsafeBitCast(bits, to: V8.self)
}

/// tanh(x): an odd polynomial for |x| < 0.625 (where 1 - 2/(e^2x + 1) would cancel),
/// otherwise 1 - 2 / (exp(2|x|) + 1) with the sign restored.
@inline(__always)
public func tanh8(_ x: V8) -> V8 {
    let ax = abs8(x)
    let e = exp8(2 * ax)
    var large = 1 - 2 / (e + 1)
    large = large.replacing(with: -large, where: x .< 0)
    let z = x * x
    var p = V8(repeating: -5.70498872745e-3)
    p = multiplyAdd(V8(repeating: 2.06390887954e-2), p, z)
    p = multiplyAdd(V8(repeating: -5.37397155531e-2), p, z)
    p = multiplyAdd(V8(repeating: 1.33314422036e-1), p, z)
    p = multiplyAdd(V8(repeating: -3.33332819422e-1), p, z)
    let small = multiplyAdd(x, p * z, x)
    return large.replacing(with: small, where: ax .< 0.625)
}

/// sigmoid(x) = 1 / (1 + exp(-x)).
@inline(__always)
public func sigmoid8(_ x: V8) -> V8 {
    1 / (1 + exp8(-x))
}

/// erf(x): x·P(x²) for |x| < 1 (Cephes erff), else 1 - Q(t) e^(-x²) with t = 1/(1 + p|x|)
/// (Abramowitz & Stegun 7.1.26, absolute error < 1.5e-7), sign restored.
@inline(__always)
public func erf8(_ x: V8) -> V8 {
    let z = x * x
    var p = V8(repeating: 7.853861353153693e-5)
    p = multiplyAdd(V8(repeating: -8.010193625184903e-4), p, z)
    p = multiplyAdd(V8(repeating: 5.188327685732524e-3), p, z)
    p = multiplyAdd(V8(repeating: -2.685381193529856e-2), p, z)
    p = multiplyAdd(V8(repeating: 1.128358514861418e-1), p, z)
    p = multiplyAdd(V8(repeating: -3.761262582423300e-1), p, z)
    p = multiplyAdd(V8(repeating: 1.128379165726710), p, z)
    let small = x * p
    let ax = abs8(x)
    let t = 1 / multiplyAdd(V8(repeating: 1), V8(repeating: 0.3275911), ax)
    var q = V8(repeating: 1.061405429)
    q = multiplyAdd(V8(repeating: -1.453152027), q, t)
    q = multiplyAdd(V8(repeating: 1.421413741), q, t)
    q = multiplyAdd(V8(repeating: -0.284496736), q, t)
    q = multiplyAdd(V8(repeating: 0.254829592), q, t)
    var large = 1 - q * t * exp8(-z)
    large = large.replacing(with: -large, where: x .< 0)
    return large.replacing(with: small, where: ax .< 1)
}

/// erf(x) ≈ x P(x²) / Q(x²) with x clamped to ±4 (erf(4) = 1 - 1.5e-8): one division, no
/// exponential, no branch blend, so about half the cost of `erf8`, for GELU. Coefficients fitted by
/// tools/numerics/fit_erf_rational.py (7 and 6 terms); |error| < 3.1e-7 in Float32 (erf8: 1.5e-7),
/// i.e. GELU's relative error stays below 2e-7.
@inline(__always)
func erfRational8(_ x: V8) -> V8 {
    let xc = max8(min8(x, V8(repeating: 4)), V8(repeating: -4))
    let z = xc * xc
    var p = V8(repeating: -1.3914838170592247e-08)
    p = multiplyAdd(V8(repeating: 4.831116257264512e-06), p, z)
    p = multiplyAdd(V8(repeating: 0.00038439457421191037), p, z)
    p = multiplyAdd(V8(repeating: 0.0038367488887161016), p, z)
    p = multiplyAdd(V8(repeating: 0.05434863641858101), p, z)
    p = multiplyAdd(V8(repeating: 0.18450814485549927), p, z)
    p = multiplyAdd(V8(repeating: 1.128379225730896), p, z)
    var q = V8(repeating: 6.44863976049237e-05)
    q = multiplyAdd(V8(repeating: 0.001311285886913538), q, z)
    q = multiplyAdd(V8(repeating: 0.015454021282494068), q, z)
    q = multiplyAdd(V8(repeating: 0.11378064751625061), q, z)
    q = multiplyAdd(V8(repeating: 0.4968496561050415), q, z)
    q = multiplyAdd(V8(repeating: 1), q, z)
    return xc * p / q
}

/// Lane-wise max and min as compare-and-blend: the standard library's generic `pointwiseMax`,
/// `pointwiseMin` and `clamped` stay out-of-line lane loops here (15% of a training step).
@inline(__always)
func max8(_ a: V8, _ b: V8) -> V8 { a.replacing(with: b, where: a .< b) }

@inline(__always)
func min8(_ a: V8, _ b: V8) -> V8 { a.replacing(with: b, where: b .< a) }

@inline(__always)
func abs8(_ x: V8) -> V8 {
    let magnitude = unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7fff_ffff
    return unsafeBitCast(magnitude, to: V8.self)
}

// MARK: - Maps

/// Applies `f` lane-wise: y[i] = f(x[i]). The tail runs through the same vector function.
@inline(__always)
func map8(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, _ f: (V8) -> V8) {
    var i = 0
    while i + 8 <= n {
        store8(f(load8(x + i)), y + i)
        i += 8
    }
    if i < n {
        var v = V8()
        for j in 0..<(n - i) { v[j] = x[i + j] }
        let r = f(v)
        for j in 0..<(n - i) { y[i + j] = r[j] }
    }
}

/// Applies `f` lane-wise to two inputs: z[i] = f(x[i], y[i]).
@inline(__always)
func zip8(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>,
    _ n: Int, _ f: (V8, V8) -> V8
) {
    var i = 0
    while i + 8 <= n {
        store8(f(load8(x + i), load8(y + i)), z + i)
        i += 8
    }
    if i < n {
        var a = V8(), b = V8()
        for j in 0..<(n - i) { a[j] = x[i + j]; b[j] = y[i + j] }
        let r = f(a, b)
        for j in 0..<(n - i) { z[i + j] = r[j] }
    }
}

/// An elementwise function and its derivative, 8 lanes at a time. Each map is its own type so
/// that `mapForward` / `mapBackward` are specialized per map with the math inlined into the loop
/// (passed as closures, erf8 and tanh8 stayed out-of-line calls: 6x slower GELU).
protocol LaneMap {
    static func value(_ x: V8) -> V8
    /// f'(x), given y = f(x) from the forward pass where that is cheaper.
    static func derivative(_ x: V8, _ y: V8) -> V8
    /// f(x) and f'(x) together (a map whose two share work overrides it).
    static func valueAndDerivative(_ x: V8) -> (V8, V8)
}

extension LaneMap {
    @inline(__always) static func valueAndDerivative(_ x: V8) -> (V8, V8) {
        let y = value(x)
        return (y, derivative(x, y))
    }
}

enum ExpLanes: LaneMap {
    @inline(__always) static func value(_ x: V8) -> V8 { exp8(x) }
    @inline(__always) static func derivative(_ x: V8, _ y: V8) -> V8 { y }
}

enum TanhLanes: LaneMap {
    @inline(__always) static func value(_ x: V8) -> V8 { tanh8(x) }
    @inline(__always) static func derivative(_ x: V8, _ y: V8) -> V8 { 1 - y * y }
}

enum SigmoidLanes: LaneMap {
    @inline(__always) static func value(_ x: V8) -> V8 { sigmoid8(x) }
    @inline(__always) static func derivative(_ x: V8, _ y: V8) -> V8 { y * (1 - y) }
}

enum SiLULanes: LaneMap {
    @inline(__always) static func value(_ x: V8) -> V8 { x * sigmoid8(x) }
    /// σ(x) (1 + x (1 - σ(x)))
    @inline(__always) static func derivative(_ x: V8, _ y: V8) -> V8 {
        let s = sigmoid8(x)
        return s * multiplyAdd(V8(repeating: 1), x, 1 - s)
    }
}

enum ReLULanes: LaneMap {
    @inline(__always) static func value(_ x: V8) -> V8 { x.replacing(with: 0, where: x .< 0) }
    @inline(__always) static func derivative(_ x: V8, _ y: V8) -> V8 { V8(repeating: 0).replacing(with: 1, where: x .> 0) }
}

enum SquareLanes: LaneMap {
    @inline(__always) static func value(_ x: V8) -> V8 { x * x }
    @inline(__always) static func derivative(_ x: V8, _ y: V8) -> V8 { 2 * x }
}

enum AbsLanes: LaneMap {
    @inline(__always) static func value(_ x: V8) -> V8 { abs8(x) }
    @inline(__always) static func derivative(_ x: V8, _ y: V8) -> V8 {
        V8(repeating: 0).replacing(with: 1, where: x .> 0).replacing(with: -1, where: x .< 0)
    }
}

enum ErfLanes: LaneMap {
    @inline(__always) static func value(_ x: V8) -> V8 { erf8(x) }
    /// 2/√π e^(-x²)
    @inline(__always) static func derivative(_ x: V8, _ y: V8) -> V8 { 1.1283791670955126 * exp8(-x * x) }
}

enum GELULanes: LaneMap {
    @inline(__always) static func value(_ x: V8) -> V8 { 0.5 * x * (1 + erfRational8(x * 0.70710678118654752)) }
    @inline(__always) static func valueAndDerivative(_ x: V8) -> (V8, V8) {
        let cdf = 0.5 * (1 + erfRational8(x * 0.70710678118654752))
        return (x * cdf, multiplyAdd(cdf, x * 0.39894228040143268, exp8(-0.5 * x * x)))
    }
    /// Φ(x) + x φ(x), φ(x) = e^(-x²/2) / √(2π)
    @inline(__always) static func derivative(_ x: V8, _ y: V8) -> V8 {
        let cdf = 0.5 * (1 + erfRational8(x * 0.70710678118654752))
        return multiplyAdd(cdf, x * 0.39894228040143268, exp8(-0.5 * x * x))
    }
}

enum GELUTanhLanes: LaneMap {
    @inline(__always) static func value(_ x: V8) -> V8 {
        0.5 * x * (1 + tanh8(0.79788456080286536 * multiplyAdd(x, 0.044715 * x * x, x)))
    }
    /// u = √(2/π)(x + 0.044715 x³): ½(1 + tanh u) + ½ x (1 - tanh² u) √(2/π)(1 + 3·0.044715 x²)
    @inline(__always) static func derivative(_ x: V8, _ y: V8) -> V8 {
        let t = tanh8(0.79788456080286536 * multiplyAdd(x, 0.044715 * x * x, x))
        let du = 0.79788456080286536 * multiplyAdd(V8(repeating: 1), V8(repeating: 3 * 0.044715), x * x)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
    }
}

enum LogLanes: LaneMap {
    @inline(__always) static func value(_ x: V8) -> V8 {
        var y = V8()
        for i in 0..<8 { y[i] = logf(x[i]) }
        return y
    }
    @inline(__always) static func derivative(_ x: V8, _ y: V8) -> V8 { 1 / x }
}

/// A loop generic over the lane map; `dispatch` runs it with the map a `UnaryMap` names, the one
/// place where a case meets its `LaneMap` type (a new map: its type above and one line here).
protocol LaneMapOperation {
    func callAsFunction<F: LaneMap>(_ map: F.Type)
}

@inline(__always)
func dispatch<O: LaneMapOperation>(_ kind: UnaryMap, _ operation: O) {
    switch kind {
    case .exp: operation(ExpLanes.self)
    case .tanh: operation(TanhLanes.self)
    case .sigmoid: operation(SigmoidLanes.self)
    case .silu: operation(SiLULanes.self)
    case .relu: operation(ReLULanes.self)
    case .log: operation(LogLanes.self)
    case .square: operation(SquareLanes.self)
    case .abs: operation(AbsLanes.self)
    case .erf: operation(ErfLanes.self)
    case .gelu: operation(GELULanes.self)
    case .geluTanh: operation(GELUTanhLanes.self)
    }
}

@inline(never)
func mapForward<F: LaneMap>(_: F.Type, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    while i + 8 <= n {
        store8(F.value(load8(x + i)), y + i)
        i += 8
    }
    if i < n {
        var v = V8()
        for j in 0..<(n - i) { v[j] = x[i + j] }
        let r = F.value(v)
        for j in 0..<(n - i) { y[i + j] = r[j] }
    }
}

/// y = f(x) and d = f'(x), for a backward that is then one multiply.
@inline(never)
func mapForwardWithDerivative<F: LaneMap>(
    _: F.Type, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ n: Int
) {
    var i = 0
    while i + 8 <= n {
        let (v, dv) = F.valueAndDerivative(load8(x + i))
        store8(v, y + i)
        store8(dv, d + i)
        i += 8
    }
    if i < n {
        var a = V8()
        for j in 0..<(n - i) { a[j] = x[i + j] }
        let (v, dv) = F.valueAndDerivative(a)
        for j in 0..<(n - i) { y[i + j] = v[j]; d[i + j] = dv[j] }
    }
}

/// dx += dy * f'(x), or dx = dy * f'(x) unless `accumulate`.
@inline(never)
func mapBackward<F: LaneMap>(
    _: F.Type, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>, _ n: Int, _ accumulate: Bool
) {
    var i = 0
    if accumulate {
        while i + 8 <= n {
            store8(multiplyAdd(load8(dx + i), load8(dy + i), F.derivative(load8(x + i), load8(y + i))), dx + i)
            i += 8
        }
    } else {
        while i + 8 <= n {
            store8(load8(dy + i) * F.derivative(load8(x + i), load8(y + i)), dx + i)
            i += 8
        }
    }
    if i < n {
        // The same vector arithmetic as the body (a fused multiply-add when accumulating), so
        // where a thread's range ends cannot change a result.
        var a = V8(), b = V8(), g = V8(), old = V8()
        for j in 0..<(n - i) { a[j] = x[i + j]; b[j] = y[i + j]; g[j] = dy[i + j]; old[j] = dx[i + j] }
        let d = F.derivative(a, b)
        let r = accumulate ? multiplyAdd(old, g, d) : g * d
        for j in 0..<(n - i) { dx[i + j] = r[j] }
    }
}

/// A linear layer's epilogue on one row of its output, in place: c = f(c + bias), and
/// d = f'(c + bias) when given (maps that store their derivative).
@inline(never)
func biasActivationRow<F: LaneMap>(_: F.Type, _ c: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>?,
                                   _ d: UnsafeMutablePointer<Float>?, _ n: Int) {
    var i = 0
    while i + 8 <= n {
        var z = load8(c + i)
        if let bias { z += load8(bias + i) }
        if let d {
            let (v, dv) = F.valueAndDerivative(z)
            store8(v, c + i)
            store8(dv, d + i)
        } else {
            store8(F.value(z), c + i)
        }
        i += 8
    }
    if i < n {
        var z = V8()
        for j in 0..<(n - i) { z[j] = c[i + j] + (bias?[i + j] ?? 0) }
        let (v, dv) = F.valueAndDerivative(z)
        for j in 0..<(n - i) {
            c[i + j] = v[j]
            d?[i + j] = dv[j]
        }
    }
}

/// c = f(c + bias) over n floats (f = identity when `kind` is nil); d = f'(c + bias) when given.
public func biasActivation(_ kind: UnaryMap?, _ c: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?,
                           derivative d: UnsafeMutablePointer<Float>?, _ n: Int) {
    guard let kind else {
        if let bias { zip8(c, bias, c, n, +) }
        return
    }
    struct Loop: LaneMapOperation {
        let c: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, d: UnsafeMutablePointer<Float>?, n: Int
        func callAsFunction<F: LaneMap>(_ map: F.Type) { biasActivationRow(map, c, bias, d, n) }
    }
    dispatch(kind, Loop(c: c, bias: bias, d: d, n: n))
}

/// Backward of a fused layer's activation for one row: dz = dy ⊙ f'(z), with f'(z) read from
/// `derivative` (stored by the forward) or computed from the output y; biasPartial += dz.
@inline(never)
func activationBackwardRow<F: LaneMap>(
    _: F.Type, _ y: UnsafePointer<Float>, _ derivative: UnsafePointer<Float>?, _ dy: UnsafePointer<Float>,
    _ dz: UnsafeMutablePointer<Float>, _ n: Int, _ biasPartial: UnsafeMutablePointer<Float>?
) {
    var i = 0
    while i + 8 <= n {
        let yv = load8(y + i)
        let g = load8(dy + i) * (derivative.map { load8($0 + i) } ?? F.derivative(yv, yv))
        store8(g, dz + i)
        if let biasPartial { store8(load8(biasPartial + i) + g, biasPartial + i) }
        i += 8
    }
    if i < n {
        var yv = V8()
        for j in 0..<(n - i) { yv[j] = y[i + j] }
        let dv = F.derivative(yv, yv)
        for j in 0..<(n - i) {
            let g = dy[i + j] * (derivative?[i + j] ?? dv[j])
            dz[i + j] = g
            biasPartial?[i + j] += g
        }
    }
}

/// dz = dy ⊙ f'(z) over one row of a fused linear layer (`UnaryMap.storesDerivative` maps read
/// `derivative`, `derivativeFromOutput` maps compute it from y); biasPartial += dz when given.
public func linearActivationBackward(
    _ kind: UnaryMap, y: UnsafePointer<Float>, derivative: UnsafePointer<Float>?, dy: UnsafePointer<Float>,
    dz: UnsafeMutablePointer<Float>, _ n: Int, biasPartial: UnsafeMutablePointer<Float>?
) {
    precondition(derivative != nil || kind.derivativeFromOutput, "linearActivationBackward: \(kind) needs its stored derivative")
    struct Loop: LaneMapOperation {
        let y: UnsafePointer<Float>, derivative: UnsafePointer<Float>?, dy: UnsafePointer<Float>
        let dz: UnsafeMutablePointer<Float>, n: Int, biasPartial: UnsafeMutablePointer<Float>?
        func callAsFunction<F: LaneMap>(_ map: F.Type) { activationBackwardRow(map, y, derivative, dy, dz, n, biasPartial) }
    }
    let loop = Loop(y: y, derivative: derivative, dy: dy, dz: dz, n: n, biasPartial: biasPartial)
    // A stored derivative makes the map irrelevant: one specialization serves every such map.
    if derivative != nil { loop(ReLULanes.self) } else { dispatch(kind, loop) }
}

/// Gated linear unit, one pass: y = f(g) ⊙ u.
@inline(never)
func gatedForward<F: LaneMap>(_: F.Type, _ g: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    while i + 8 <= n {
        store8(F.value(load8(g + i)) * load8(u + i), y + i)
        i += 8
    }
    if i < n {
        var a = V8(), b = V8()
        for j in 0..<(n - i) { a[j] = g[i + j]; b[j] = u[i + j] }
        let r = F.value(a) * b
        for j in 0..<(n - i) { y[i + j] = r[j] }
    }
}

/// Backward of `gatedForward`, f(g) recomputed: dg (+)= dy ⊙ u ⊙ f'(g), du (+)= dy ⊙ f(g).
@inline(never)
func gatedBackward<F: LaneMap>(
    _: F.Type, _ g: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dg: UnsafeMutablePointer<Float>?, _ du: UnsafeMutablePointer<Float>?, _ n: Int,
    _ accumulateGate: Bool, _ accumulateUp: Bool
) {
    var i = 0
    while i + 8 <= n {
        let gv = load8(g + i), dyv = load8(dy + i)
        let (f, df) = F.valueAndDerivative(gv)
        if let dg {
            let a = dyv * load8(u + i) * df
            store8(accumulateGate ? load8(dg + i) + a : a, dg + i)
        }
        if let du {
            let b = dyv * f
            store8(accumulateUp ? load8(du + i) + b : b, du + i)
        }
        i += 8
    }
    if i < n {
        var gv = V8(), uv = V8(), dyv = V8()
        for j in 0..<(n - i) { gv[j] = g[i + j]; uv[j] = u[i + j]; dyv[j] = dy[i + j] }
        let (f, df) = F.valueAndDerivative(gv)
        let a = dyv * uv * df, b = dyv * f
        for j in 0..<(n - i) {
            if let dg { dg[i + j] = (accumulateGate ? dg[i + j] : 0) + a[j] }
            if let du { du[i + j] = (accumulateUp ? du[i + j] : 0) + b[j] }
        }
    }
}

/// y = f(g) ⊙ u for the map `kind` (GLU, SwiGLU, GeGLU).
public func gatedUnaryForward(_ kind: UnaryMap, _ g: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    struct Loop: LaneMapOperation {
        let g: UnsafePointer<Float>, u: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, n: Int
        func callAsFunction<F: LaneMap>(_ map: F.Type) { gatedForward(map, g, u, y, n) }
    }
    dispatch(kind, Loop(g: g, u: u, y: y, n: n))
}

/// dg (+)= dy ⊙ u ⊙ f'(g), du (+)= dy ⊙ f(g) (either optional).
public func gatedUnaryBackward(
    _ kind: UnaryMap, g: UnsafePointer<Float>, u: UnsafePointer<Float>, dy: UnsafePointer<Float>,
    dg: UnsafeMutablePointer<Float>?, du: UnsafeMutablePointer<Float>?, _ n: Int, accumulateGate: Bool, accumulateUp: Bool
) {
    struct Loop: LaneMapOperation {
        let g: UnsafePointer<Float>, u: UnsafePointer<Float>, dy: UnsafePointer<Float>
        let dg: UnsafeMutablePointer<Float>?, du: UnsafeMutablePointer<Float>?, n: Int, accumulateGate: Bool, accumulateUp: Bool
        func callAsFunction<F: LaneMap>(_ map: F.Type) { gatedBackward(map, g, u, dy, dg, du, n, accumulateGate, accumulateUp) }
    }
    dispatch(kind, Loop(g: g, u: u, dy: dy, dg: dg, du: du, n: n, accumulateGate: accumulateGate, accumulateUp: accumulateUp))
}

/// y = f(x) for the map `kind`; also d = f'(x) when `derivative` is given (the maps whose
/// derivative costs a recomputation: `UnaryMap.storesDerivative`).
public func unaryForward(
    _ kind: UnaryMap, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
    derivative: UnsafeMutablePointer<Float>? = nil
) {
    precondition(derivative == nil || kind.storesDerivative, "unaryForward: \(kind)'s derivative comes from its output, not stored")
    struct Loop: LaneMapOperation {
        let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, n: Int, derivative: UnsafeMutablePointer<Float>?
        func callAsFunction<F: LaneMap>(_ map: F.Type) {
            if let derivative { mapForwardWithDerivative(map, x, y, derivative, n) } else { mapForward(map, x, y, n) }
        }
    }
    dispatch(kind, Loop(x: x, y: y, n: n, derivative: derivative))
}

/// dx += dy * f'(x) (dx = ... unless `accumulate`), with y = f(x) from the forward pass.
public func unaryBackward(
    _ kind: UnaryMap, x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafePointer<Float>,
    dx: UnsafeMutablePointer<Float>, _ n: Int, accumulate: Bool
) {
    struct Loop: LaneMapOperation {
        let x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafePointer<Float>
        let dx: UnsafeMutablePointer<Float>, n: Int, accumulate: Bool
        func callAsFunction<F: LaneMap>(_ map: F.Type) { mapBackward(map, x, y, dy, dx, n, accumulate) }
    }
    dispatch(kind, Loop(x: x, y: y, dy: dy, dx: dx, n: n, accumulate: accumulate))
}

/// Elementwise functions with a closed-form derivative.
public enum UnaryMap: Int, Sendable {
    case exp, tanh, sigmoid, relu, log, square, abs
    /// SiLU(x) = x σ(x)  (`nn.SiLU`; swish with β = 1).
    case silu
    /// erf(x).
    case erf
    /// GELU(x) = x Φ(x) = x (1 + erf(x / √2)) / 2  (`nn.GELU()`, approximate='none').
    case gelu
    /// GELU ≈ x (1 + tanh(√(2/π) (x + 0.044715 x³))) / 2  (`nn.GELU(approximate='tanh')`).
    case geluTanh

    /// Whether the forward pass keeps f'(x) for the backward: for maps whose derivative is not a
    /// cheap function of the output, computing it next to f(x) (sharing erf or the exponential)
    /// beats recomputing in the backward (GELU: 106 -> 65 instructions per 8 lanes in all).
    public var storesDerivative: Bool {
        switch self {
        case .gelu, .geluTanh, .silu, .erf: true
        default: false
        }
    }

    /// Whether f'(x) is a function of y = f(x) alone (ReLU: y > 0; σ: y (1 - y); tanh: 1 - y²;
    /// exp: y), so a fused layer need not keep its pre-activation.
    public var derivativeFromOutput: Bool {
        switch self {
        case .relu, .sigmoid, .tanh, .exp: true
        default: false
        }
    }
}

/// z = x + y.
@inline(never)
public func add(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, _ n: Int) {
    zip8(x, y, z, n, +)
}

/// z = x * y.
@inline(never)
public func multiply(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, _ n: Int) {
    zip8(x, y, z, n, *)
}

/// y += alpha * x.
@inline(never)
public func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let a = V8(repeating: alpha)
    zip8(x, y, y, n) { multiplyAdd($1, a, $0) }
}

/// z += x * y.
@inline(never)
public func multiplyAccumulate(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, _ n: Int
) {
    var i = 0
    while i + 8 <= n {
        store8(multiplyAdd(load8(z + i), load8(x + i), load8(y + i)), z + i)
        i += 8
    }
    // The tail through the same fused multiply-add: where a thread's range ends must not change
    // how an element is rounded.
    if i < n {
        var a = V8(), b = V8(), c = V8()
        for j in 0..<(n - i) { a[j] = x[i + j]; b[j] = y[i + j]; c[j] = z[i + j] }
        let r = multiplyAdd(c, a, b)
        for j in 0..<(n - i) { z[i + j] = r[j] }
    }
}

/// y = alpha * x.
@inline(never)
public func scale(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    map8(x, y, n) { $0 * alpha }
}

// MARK: - Reductions

/// Σ x[i], in 8 lanes then a fixed pairwise fold: the order depends only on n.
@inline(never)
public func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var a0 = V8(), a1 = V8()
    var i = 0
    while i + 16 <= n {
        a0 += load8(x + i)
        a1 += load8(x + i + 8)
        i += 16
    }
    while i + 8 <= n { a0 += load8(x + i); i += 8 }
    var s = (a0 + a1).sum()
    while i < n { s += x[i]; i += 1 }
    return s
}

/// Σ x[i] * y[i], with the same fixed order as `sum`.
@inline(never)
public func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
    var a0 = V8(), a1 = V8()
    var i = 0
    while i + 16 <= n {
        a0 = multiplyAdd(a0, load8(x + i), load8(y + i))
        a1 = multiplyAdd(a1, load8(x + i + 8), load8(y + i + 8))
        i += 16
    }
    while i + 8 <= n { a0 = multiplyAdd(a0, load8(x + i), load8(y + i)); i += 8 }
    var s = (a0 + a1).sum()
    while i < n { s += x[i] * y[i]; i += 1 }
    return s
}

/// max over x[0..<n] (n >= 1).
@inline(never)
public func maximum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var m = V8(repeating: -.infinity)
    var i = 0
    while i + 8 <= n { m = max8(m, load8(x + i)); i += 8 }
    // A fixed fold (SIMD's generic `max()` is an out-of-line lane loop here).
    var s = m[0]
    for j in 1..<8 { s = Swift.max(s, m[j]) }
    while i < n { s = Swift.max(s, x[i]); i += 1 }
    return s
}

/// y += x, for column sums accumulated row by row (bias gradients).
@inline(never)
public func accumulate(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ n: Int) {
    zip8(x, y, y, n, +)
}

// MARK: - Rows

/// y = softmax(x) over one row of n: exp(x - max) / Σ exp(x - max).
@inline(never)
public func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let m = V8(repeating: maximum(x, n))
    map8(x, y, n) { exp8($0 - m) }
    let inverse = 1 / sum(y, n)
    map8(y, y, n) { $0 * inverse }
}

/// One row of attention probabilities, in place: p[j] = softmax(scale · s)[j] for j < valid
/// (exp(scale s_j - m) / Σ, m = max scale s, one rounding in the fused multiply-add), 0 for
/// valid ≤ j < width (the causal mask). Three passes instead of a scaling pass plus softmax.
@inline(never)
public func attentionSoftmaxRow(_ p: UnsafeMutablePointer<Float>, valid: Int, width: Int, scale: Float) {
    let s = V8(repeating: scale)
    var mv = V8(repeating: -.infinity)
    var i = 0
    while i + 8 <= valid { mv = max8(mv, load8(p + i) * s); i += 8 }
    var m = mv[0]
    for j in 1..<8 { m = Swift.max(m, mv[j]) }
    while i < valid { m = Swift.max(m, p[i] * scale); i += 1 }
    let shift = V8(repeating: -m)
    var total = V8()
    i = 0
    while i + 8 <= valid {
        let e = exp8(multiplyAdd(shift, load8(p + i), s))
        store8(e, p + i)
        total += e
        i += 8
    }
    if i < valid {
        var v = V8(repeating: 0)
        for j in 0..<(valid - i) { v[j] = p[i + j] }
        var e = exp8(multiplyAdd(shift, v, s))
        for j in (valid - i)..<8 { e[j] = 0 }
        for j in 0..<(valid - i) { p[i + j] = e[j] }
        total += e
    }
    let inverse = V8(repeating: 1 / total.sum())
    i = 0
    while i + 8 <= valid { store8(load8(p + i) * inverse, p + i); i += 8 }
    while i < valid { p[i] *= inverse[0]; i += 1 }
    if valid < width { (p + valid).update(repeating: 0, count: width - valid) }
}

/// The attention backward's score gradient for one query row, in place over dP:
///   dS_j = scale · P_j (dP_j - ⟨dO, O⟩) for j < valid, 0 for valid ≤ j < width,
/// where ⟨dO, O⟩ = Σ_j P_j dP_j is the softmax backward's inner product, taken over the head.
@inline(never)
public func attentionScoreGradientRow(
    _ p: UnsafePointer<Float>, _ dp: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>,
    out: UnsafePointer<Float>, headSize: Int, valid: Int, width: Int, scale: Float
) {
    let inner = V8(repeating: dot(dOut, out, headSize))
    let s = V8(repeating: scale)
    var i = 0
    while i + 8 <= valid {
        store8(s * load8(p + i) * (load8(dp + i) - inner), dp + i)
        i += 8
    }
    while i < valid { dp[i] = scale * p[i] * (dp[i] - inner[0]); i += 1 }
    if valid < width { (dp + valid).update(repeating: 0, count: width - valid) }
}

/// y = log_softmax(x) over one row: x - max - log Σ exp(x - max). Returns the log-sum-exp.
@inline(never)
@discardableResult
public func logSoftmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
    let mx = maximum(x, n)
    let m = V8(repeating: mx)
    map8(x, y, n) { exp8($0 - m) }
    let logSum = logf(sum(y, n))
    // (x - max) - logSum, not x - (max + logSum): the sum would round away logSum's low bits.
    let l = V8(repeating: logSum)
    map8(x, y, n) { ($0 - m) - l }
    return mx + logSum
}

/// Mean and biased variance of one row, two-pass: var = Σ (x - mean)² / n.
@inline(never)
public func meanAndVariance(_ x: UnsafePointer<Float>, _ n: Int) -> (mean: Float, variance: Float) {
    let mean = sum(x, n) / Float(n)
    let m = V8(repeating: mean)
    var a = V8()
    var i = 0
    while i + 8 <= n {
        let d = load8(x + i) - m
        a = multiplyAdd(a, d, d)
        i += 8
    }
    var s = a.sum()
    while i < n { let d = x[i] - mean; s += d * d; i += 1 }
    return (mean, s / Float(n))
}

// MARK: - Machine probe

/// Runs `iterations` rounds of 12 independent multiply-adds as wide as the GEMM's and returns
/// the flops done (2 per lane): enough independent chains to fill every FMA pipe, which is how
/// the benchmarks measure this core's FP32 peak. `seed` keeps the optimizer from folding the
/// loop away.
@inline(never)
public func fmaThroughputProbe(iterations: Int, seed: Float) -> (flops: Double, checksum: Float) {
    typealias V = GEMMVector
    let m = V(repeating: 0.999_999), s = V(repeating: seed * 1e-7)
    var a0 = V(repeating: seed), a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3, a4 = a0 + 4, a5 = a0 + 5
    var a6 = a0 + 6, a7 = a0 + 7, a8 = a0 + 8, a9 = a0 + 9, a10 = a0 + 10, a11 = a0 + 11
    for _ in 0..<iterations {
        a0 = multiplyAdd(s, a0, m); a1 = multiplyAdd(s, a1, m); a2 = multiplyAdd(s, a2, m)
        a3 = multiplyAdd(s, a3, m); a4 = multiplyAdd(s, a4, m); a5 = multiplyAdd(s, a5, m)
        a6 = multiplyAdd(s, a6, m); a7 = multiplyAdd(s, a7, m); a8 = multiplyAdd(s, a8, m)
        a9 = multiplyAdd(s, a9, m); a10 = multiplyAdd(s, a10, m); a11 = multiplyAdd(s, a11, m)
    }
    let total = (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11).sum()
    return (Double(iterations) * 12 * Double(V.scalarCount) * 2, total)
}

// MARK: - Row backward passes

/// softmax: dx += y ⊙ (dy - Σ dy ⊙ y).
@inline(never)
public func softmaxBackwardRow(
    _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ n: Int
) {
    let d = V8(repeating: dot(dy, y, n))
    var i = 0
    while i + 8 <= n {
        store8(multiplyAdd(load8(dx + i), load8(y + i), load8(dy + i) - d), dx + i)
        i += 8
    }
    while i < n { dx[i] += y[i] * (dy[i] - d[0]); i += 1 }
}

/// log_softmax: dx += dy - exp(y) Σ dy.
@inline(never)
public func logSoftmaxBackwardRow(
    _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ n: Int
) {
    let s = V8(repeating: -sum(dy, n))
    var i = 0
    while i + 8 <= n {
        store8(multiplyAdd(load8(dx + i) + load8(dy + i), exp8(load8(y + i)), s), dx + i)
        i += 8
    }
    if i < n {
        var v = V8()
        for j in 0..<(n - i) { v[j] = y[i + j] }
        let e = exp8(v)
        for j in 0..<(n - i) { dx[i + j] += dy[i + j] + e[j] * s[0] }
    }
}

/// One row of LayerNorm (shift = μ) or RMSNorm (shift = 0) with its affine map, in one pass:
/// y = (x - shift) r ⊙ γ + β (γ, β optional).
@inline(never)
public func normalizeAffineRow(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, shift: Float, rstd: Float,
    gain: UnsafePointer<Float>?, bias: UnsafePointer<Float>?
) {
    let s = V8(repeating: shift), r = V8(repeating: rstd)
    var i = 0
    while i + 8 <= n {
        var v = (load8(x + i) - s) * r
        if let gain { v = v * load8(gain + i) }
        if let bias { v = v + load8(bias + i) }
        store8(v, y + i)
        i += 8
    }
    while i < n {
        var v = (x[i] - shift) * rstd
        if let gain { v = v * gain[i] }
        if let bias { v = v + bias[i] }
        y[i] = v
        i += 1
    }
}

/// Backward of `normalizeAffineRow` for one row, with x̂ = (x - shift) r recomputed and u = dy ⊙ γ:
///   dx (+)= r (u - mean(u) - x̂ mean(u ⊙ x̂))  (no mean(u) term for RMSNorm)
///   dγ += dy ⊙ x̂,  dβ += dy   (into the caller's partial sums for this row's chunk)
@inline(never)
public func normalizeAffineBackwardRow(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>?, _ n: Int,
    shift: Float, rstd: Float, centered: Bool, gain: UnsafePointer<Float>?, accumulate: Bool,
    gainGradient: UnsafeMutablePointer<Float>?, biasGradient: UnsafeMutablePointer<Float>?
) {
    let s = V8(repeating: shift), r = V8(repeating: rstd)
    @inline(__always) func u8(_ i: Int) -> V8 { gain.map { load8(dy + i) * load8($0 + i) } ?? load8(dy + i) }
    @inline(__always) func u1(_ i: Int) -> Float { gain.map { dy[i] * $0[i] } ?? dy[i] }
    if let dx {
        var sumU = V8(), sumUX = V8()
        var i = 0
        while i + 8 <= n {
            let u = u8(i), xh = (load8(x + i) - s) * r
            sumU += u
            sumUX = multiplyAdd(sumUX, u, xh)
            i += 8
        }
        var su = sumU.sum(), sux = sumUX.sum()
        while i < n { let u = u1(i); su += u; sux += u * ((x[i] - shift) * rstd); i += 1 }
        let meanU = V8(repeating: centered ? su / Float(n) : 0), meanUX = V8(repeating: -sux / Float(n))
        i = 0
        while i + 8 <= n {
            let xh = (load8(x + i) - s) * r
            let g = r * multiplyAdd(u8(i) - meanU, xh, meanUX)
            store8(accumulate ? load8(dx + i) + g : g, dx + i)
            i += 8
        }
        while i < n {
            let xh = (x[i] - shift) * rstd
            let g = rstd * (u1(i) - meanU[0] + xh * meanUX[0])
            dx[i] = accumulate ? dx[i] + g : g
            i += 1
        }
    }
    if let gainGradient {
        var i = 0
        while i + 8 <= n {
            store8(multiplyAdd(load8(gainGradient + i), load8(dy + i), (load8(x + i) - s) * r), gainGradient + i)
            i += 8
        }
        while i < n { gainGradient[i] += dy[i] * ((x[i] - shift) * rstd); i += 1 }
    }
    if let biasGradient { zip8(dy, biasGradient, biasGradient, n, +) }
}

// MARK: - Optimizer updates

/// The constants of one Adam step (see TrainLabOptim's `Adam`).
public struct AdamStepConstants: Sendable {
    public var beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public var lr: Float, stepSize: Float, correction2Root: Float
    public var decoupled: Bool

    public init(beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, lr: Float,
                stepSize: Float, correction2Root: Float, decoupled: Bool) {
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon; self.weightDecay = weightDecay
        self.lr = lr; self.stepSize = stepSize; self.correction2Root = correction2Root; self.decoupled = decoupled
    }
}

/// One Adam/AdamW update of n parameters in one pass (`vMax` for AMSGrad):
///   g = ∇ (+ λw for Adam);  w *= 1 - lr λ (AdamW);  m = β₁m + (1-β₁)g;  v = β₂v + (1-β₂)g²
///   w -= stepSize · m / (√(v or v̂) / √(1-β₂ᵗ) + ε)
@inline(never)
public func adamUpdate(
    _ w: UnsafeMutablePointer<Float>, _ grad: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
    _ v: UnsafeMutablePointer<Float>, _ vMax: UnsafeMutablePointer<Float>?, _ n: Int, _ k: AdamStepConstants
) {
    let b1 = V8(repeating: k.beta1), b2 = V8(repeating: k.beta2)
    let c1 = V8(repeating: 1 - k.beta1), c2 = V8(repeating: 1 - k.beta2)
    let decay = V8(repeating: k.weightDecay), shrink = V8(repeating: 1 - k.lr * k.weightDecay)
    let root = V8(repeating: k.correction2Root), eps = V8(repeating: k.epsilon), step = V8(repeating: k.stepSize)
    var i = 0
    while i + 8 <= n {
        var g = load8(grad + i)
        var wi = load8(w + i)
        if k.decoupled { wi = wi * shrink } else { g = g + decay * wi }
        let mi = b1 * load8(m + i) + c1 * g
        let vi = b2 * load8(v + i) + c2 * (g * g)
        store8(mi, m + i)
        store8(vi, v + i)
        var second = vi
        if let vMax {
            second = max8(load8(vMax + i), vi)
            store8(second, vMax + i)
        }
        store8(wi - step * mi / (second.squareRoot() / root + eps), w + i)
        i += 8
    }
    while i < n {
        var g = grad[i]
        if k.decoupled { w[i] *= 1 - k.lr * k.weightDecay } else { g += k.weightDecay * w[i] }
        m[i] = k.beta1 * m[i] + (1 - k.beta1) * g
        v[i] = k.beta2 * v[i] + (1 - k.beta2) * (g * g)
        var second = v[i]
        if let vMax {
            vMax[i] = max(vMax[i], v[i])
            second = vMax[i]
        }
        w[i] -= k.stepSize * m[i] / (second.squareRoot() / k.correction2Root + k.epsilon)
        i += 1
    }
}

// MARK: - Random numbers
//
// Standard normals for synthetic data, from SplitMix64 draws by Box–Muller in Float32. Only
// plain multiplies and adds here, never `multiplyAdd`: both copies of these loops then give the
// same bits, so a task's data are the same on every CPU.

/// SplitMix64's γ, the increment of its state per draw.
public let splitMix64Increment: UInt64 = 0x9E37_79B9_7F4A_7C15

/// SplitMix64's output for a state (the state after its increment): draw i of a generator at
/// state s is `splitMix64Output(s &+ i &* γ)`, so any draw can be computed on its own.
@inline(__always)
public func splitMix64Output(_ state: UInt64) -> UInt64 {
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// ln(x) for normal x > 0 (Cephes logf, ~1 ulp): x = m·2^e with m in (√½, √2], f = m − 1,
/// ln x = f − f²/2 + f³P(f) + e·ln 2, ln 2 split in two so e·ln 2 adds no rounding error.
@inline(__always)
func logPositive8(_ x: V8) -> V8 {
    let bits = unsafeBitCast(x, to: SIMD8<Int32>.self)
    // The exponent as a Float without a conversion instruction (see exp8): 1.5·2²³ + e, less 1.5·2²³.
    var e = unsafeBitCast((bits &>> 23) &- 127 &+ 0x4B40_0000, to: V8.self) - V8(repeating: 12_582_912)
    var m = unsafeBitCast((bits & 0x007F_FFFF) | 0x3F80_0000, to: V8.self)
    // Float masks only: a mask from an integer comparison is built lane by lane here.
    let high = m .> V8(repeating: 1.41421356237)
    m = m.replacing(with: m * 0.5, where: high)
    e = e.replacing(with: e + 1, where: high)
    let f = m - 1
    let z = f * f
    var p = V8(repeating: 7.0376836292e-2)
    p = p * f + V8(repeating: -1.1514610310e-1)
    p = p * f + V8(repeating: 1.1676998740e-1)
    p = p * f + V8(repeating: -1.2420140846e-1)
    p = p * f + V8(repeating: 1.4249322787e-1)
    p = p * f + V8(repeating: -1.6668057665e-1)
    p = p * f + V8(repeating: 2.0000714765e-1)
    p = p * f + V8(repeating: -2.4999993993e-1)
    p = p * f + V8(repeating: 3.3333331174e-1)
    var y = f * z * p
    y = y + e * V8(repeating: -2.12194440e-4)
    y = y - 0.5 * z
    return f + y + e * V8(repeating: 0.693359375)
}

/// (sin 2πu, cos 2πu) for u in [0, 1) (Cephes sinf/cosf polynomials, ~1 ulp): u = q/4 + f with
/// q the nearest quarter turn, exact for u = k·2⁻²⁴, so only 2πf (|2πf| ≤ π/4) is rounded.
@inline(__always)
func sinCosTurns8(_ u: V8) -> (sin: V8, cos: V8) {
    let shifter = V8(repeating: 12_582_912)
    let t = u * 4 + shifter
    let q = t - shifter
    let x = (u - q * 0.25) * V8(repeating: 6.28318530718)
    let z = x * x
    var s = V8(repeating: -1.9515295891e-4)
    s = s * z + V8(repeating: 8.3321608736e-3)
    s = s * z + V8(repeating: -1.6666654611e-1)
    s = s * z * x + x
    var c = V8(repeating: 2.443315711809948e-5)
    c = c * z + V8(repeating: -1.388731625493765e-3)
    c = c * z + V8(repeating: 4.166664568298827e-2)
    c = c * z * z - 0.5 * z + 1
    // Quarter turn q: (sin, cos) of x + qπ/2 is (s, c), (c, −s), (−s, −c), (−c, s). Selected and
    // negated with bit operations: masks from integer comparisons are built lane by lane here.
    let quadrant = unsafeBitCast(t, to: SIMD8<UInt32>.self) &- 0x4B40_0000
    let swap = 0 &- (quadrant & 1)
    let sBits = unsafeBitCast(s, to: SIMD8<UInt32>.self), cBits = unsafeBitCast(c, to: SIMD8<UInt32>.self)
    let sineBits = ((sBits & ~swap) | (cBits & swap)) ^ ((quadrant & 2) &<< 30)
    let cosineBits = ((cBits & ~swap) | (sBits & swap)) ^ (((quadrant &+ 1) & 2) &<< 30)
    let sine = unsafeBitCast(sineBits, to: V8.self), cosine = unsafeBitCast(cosineBits, to: V8.self)
    return (sine, cosine)
}

/// Blocks `firstBlock ..< firstBlock + blocks` of standard normals from a SplitMix64 generator at
/// `state`, written to `out[16·(b − firstBlock) ...]`. Block b uses draws 16b + 1 … 16b + 16:
/// pair l (0 ..< 8) takes draws a = 16b + 2l + 1 and c = a + 1, u₁ = 1 − (a >> 40)·2⁻²⁴ in (0, 1],
/// u₂ = (c >> 40)·2⁻²⁴, and writes r cos θ to value l and r sin θ to value 8 + l of the block,
/// r = √(−2 ln u₁), θ = 2πu₂ (Box–Muller; |value| ≤ √(48 ln 2) ≈ 5.8).
@inline(never)
public func standardNormalBlocks(state: UInt64, firstBlock: Int, blocks: Int, into out: UnsafeMutablePointer<Float>) {
    for b in 0..<blocks {
        let block = out + 16 * b
        var draw = state &+ UInt64(16 * (firstBlock + b)) &* splitMix64Increment
        // The uniforms go through the output block: u₁ to values 0 ..< 8, u₂ to 8 ..< 16.
        for l in 0..<8 {
            draw &+= splitMix64Increment
            block[l] = Float(0x100_0000 - (splitMix64Output(draw) >> 40)) * 0x1p-24
            draw &+= splitMix64Increment
            block[8 + l] = Float(splitMix64Output(draw) >> 40) * 0x1p-24
        }
        let r = (V8(repeating: -2) * logPositive8(load8(block))).squareRoot()
        let (sine, cosine) = sinCosTurns8(load8(block + 8))
        store8(r * cosine, block)
        store8(r * sine, block + 8)
    }
}
