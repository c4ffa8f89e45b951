#ifndef CBF16_H
#define CBF16_H

// The bf16 dot-product GEMM micro-kernel on VDPBF16PS (AVX512_BF16), which Swift cannot emit:
// its code is compiled with a target attribute, so the rest of the program never contains an
// AVX-512 instruction and the kernel runs only where the CPU reports avx512_bf16.
//
// Packed operands hold bf16 pairs along k, one per 32-bit word, low half the even k:
//   A panel (MR = 6 rows):     a[q * 6 + r]  = (op(A)[r, 2q], op(A)[r, 2q + 1])
//   A rows (the _rows kernel): a[r * kpairs + q], the same words row by row
//   B panel (NR = 32 columns): b[q * 32 + j] = (op(B)[2q, j], op(B)[2q + 1, j])
// One VDPBF16PS lane adds both products of a pair to its FP32 sum: on this instruction, Intel's
// definition and the Zen 4 hardware measured here agree on
//   acc = FTZ(RNE(FTZ(RNE(acc + a[2q+1]·b[2q+1])) + a[2q]·b[2q]))
// (the odd product first; each product of two bf16 values is exact in FP32; bf16 and FP32
// subnormal inputs read as zero, subnormal sums flush to zero). The FMA fallback in the Swift
// hot loops reproduces exactly that order under MXCSR's FTZ and DAZ.

#include <stddef.h>
#include <stdint.h>

#define TRAINLAB_BF16_MR 6
#define TRAINLAB_BF16_NR 32

/// 1 where this build holds the VDPBF16PS kernel (x86-64), 0 elsewhere; the CPU must still be
/// asked (avx512_bf16 in /proc/cpuinfo) before calling it.
int trainlab_bf16_kernel_compiled(void);

/// C[0..<mc, 0..<nc] (+)= A · B over `kpairs` k-pairs from packed panels (layout above); B's
/// panels sit `b_panel_stride` words apart. Overwrites C unless `accumulate`.
void trainlab_bf16_macro_kernel(ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kpairs,
                                const uint32_t *packed_a, const uint32_t *packed_b, ptrdiff_t b_panel_stride,
                                float *c, ptrdiff_t ldc, int accumulate);

/// As `trainlab_bf16_macro_kernel`, A in rows of pair words (row i at `rows_a + i * kpairs`):
/// what a row-major op(A) rounds to without a transpose.
void trainlab_bf16_macro_kernel_rows(ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kpairs,
                                     const uint32_t *rows_a, const uint32_t *packed_b, ptrdiff_t b_panel_stride,
                                     float *c, ptrdiff_t ldc, int accumulate);

/// Rows `0..<rows`, columns `0..<k` of a row-major A rounded to pair-word rows (row i at
/// `dst + i * ((k + 1) / 2)`) with VCVTNE2PS2BF16: nearest even, a subnormal to ±0, a NaN quiet
/// with its sign and leading payload (the Swift packers round exactly so).
void trainlab_bf16_pack_rows(const float *a, ptrdiff_t lda, ptrdiff_t rows, ptrdiff_t k, uint32_t *dst);

/// Rows `0..<k`, columns `0..<n` of a row-major B rounded the same way into NR-column panels of
/// pair words (`(k + 1) / 2 * NR` words a panel; columns past n and a missing odd k are zero).
void trainlab_bf16_pack_b(const float *b, ptrdiff_t ldb, ptrdiff_t k, ptrdiff_t n, uint32_t *dst);

/// Rows `0..<mc`, columns `0..<k` of a transposed op(A) (A stored (k, mc), `lda` apart) rounded
/// the same way into MR-row panels of pair words (`(k + 1) / 2 * MR` words a panel; rows past
/// mc and a missing odd k are zero).
void trainlab_bf16_pack_a_transposed(const float *a, ptrdiff_t lda, ptrdiff_t mc, ptrdiff_t k, uint32_t *dst);

/// Rows `0..<k`, columns `0..<n` of a transposed op(B) (B stored (n, k), `ldb` apart) rounded the
/// same way into the panels of `trainlab_bf16_pack_b`.
void trainlab_bf16_pack_b_transposed(const float *b, ptrdiff_t ldb, ptrdiff_t k, ptrdiff_t n, uint32_t *dst);

/// VDPBF16PS throughput: `iterations` rounds of 12 independent 16-lane dot products (64 flops
/// each); returns the flops done and writes a checksum (so nothing is optimized away).
double trainlab_bf16_dot_probe(ptrdiff_t iterations, float seed, float *checksum);

/// Sets MXCSR's flush-to-zero and denormals-are-zero bits on this thread and returns the old
/// MXCSR (x86-64; elsewhere a no-op returning 0), so FMAs treat subnormals as VDPBF16PS does.
unsigned trainlab_flush_subnormals_begin(void);
/// Restores the MXCSR `trainlab_flush_subnormals_begin` returned.
void trainlab_flush_subnormals_end(unsigned saved);

#endif
