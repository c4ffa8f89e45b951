#include "CBF16.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define MR TRAINLAB_BF16_MR
#define NR TRAINLAB_BF16_NR

int trainlab_bf16_kernel_compiled(void) { return 1; }

// Stores one row of the tile (two 16-lane halves), clipped to `cols` columns with masks.
TARGET static inline void store_row(float *c, __m512 lo, __m512 hi, int cols, int accumulate) {
    __mmask16 m0 = cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
    __mmask16 m1 = cols >= 32 ? (__mmask16)0xFFFF : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1) : 0;
    if (accumulate) {
        lo = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), lo);
        hi = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + 16), hi);
    }
    _mm512_mask_storeu_ps(c, m0, lo);
    _mm512_mask_storeu_ps(c + 16, m1, hi);
}

// One 6 x 32 tile: twelve zmm sums, two B vectors and one A broadcast per step. Row r's pair
// word q is a_r[q * a_step]: a_step is MR in a panel, 1 in a row of pair words.
TARGET static inline __attribute__((always_inline)) void micro_kernel(
        ptrdiff_t kpairs, const uint32_t *a0, const uint32_t *a1, const uint32_t *a2, const uint32_t *a3,
        const uint32_t *a4, const uint32_t *a5, ptrdiff_t a_step, const uint32_t *b,
        float *c, ptrdiff_t ldc, int rows, int cols, int accumulate) {
    // C is written after the k loop: ask for its lines now (see the FP32 micro-kernel).
    for (int r = 0; r < rows; r++) {
        __builtin_prefetch(c + r * ldc, 1, 3);
        __builtin_prefetch(c + r * ldc + cols - 1, 1, 3);
    }
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (ptrdiff_t q = 0; q < kpairs; q++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16);
        ptrdiff_t o = q * a_step;
        __m512bh s;
        s = (__m512bh)_mm512_set1_epi32((int)a0[o]); c00 = _mm512_dpbf16_ps(c00, s, b0); c01 = _mm512_dpbf16_ps(c01, s, b1);
        s = (__m512bh)_mm512_set1_epi32((int)a1[o]); c10 = _mm512_dpbf16_ps(c10, s, b0); c11 = _mm512_dpbf16_ps(c11, s, b1);
        s = (__m512bh)_mm512_set1_epi32((int)a2[o]); c20 = _mm512_dpbf16_ps(c20, s, b0); c21 = _mm512_dpbf16_ps(c21, s, b1);
        s = (__m512bh)_mm512_set1_epi32((int)a3[o]); c30 = _mm512_dpbf16_ps(c30, s, b0); c31 = _mm512_dpbf16_ps(c31, s, b1);
        s = (__m512bh)_mm512_set1_epi32((int)a4[o]); c40 = _mm512_dpbf16_ps(c40, s, b0); c41 = _mm512_dpbf16_ps(c41, s, b1);
        s = (__m512bh)_mm512_set1_epi32((int)a5[o]); c50 = _mm512_dpbf16_ps(c50, s, b0); c51 = _mm512_dpbf16_ps(c51, s, b1);
        b += NR;
    }
    switch (rows) {
    default: store_row(c + 5 * ldc, c50, c51, cols, accumulate); /* fall through */
    case 5: store_row(c + 4 * ldc, c40, c41, cols, accumulate); /* fall through */
    case 4: store_row(c + 3 * ldc, c30, c31, cols, accumulate); /* fall through */
    case 3: store_row(c + 2 * ldc, c20, c21, cols, accumulate); /* fall through */
    case 2: store_row(c + ldc, c10, c11, cols, accumulate); /* fall through */
    case 1: store_row(c, c00, c01, cols, accumulate);
    }
}

// Each B micro-panel (in L1) meets every A micro-panel of the block, as in the FP32 macro-kernel.
// A in panels, or (`a_rows`) in rows of pair words, where rows past the end of a partial tile
// read the last row (their sums are not stored).
TARGET static inline __attribute__((always_inline)) void macro_kernel(
        ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kpairs, const uint32_t *a, int a_rows,
        const uint32_t *packed_b, ptrdiff_t b_panel_stride, float *c, ptrdiff_t ldc, int accumulate) {
    for (ptrdiff_t j0 = 0; j0 < nc; j0 += NR) {
        const uint32_t *b = packed_b + j0 / NR * b_panel_stride;
        int cols = nc - j0 < NR ? (int)(nc - j0) : NR;
        for (ptrdiff_t i0 = 0; i0 < mc; i0 += MR) {
            int rows = mc - i0 < MR ? (int)(mc - i0) : MR;
            const uint32_t *r[MR];
            for (int i = 0; i < MR; i++) {
                r[i] = a_rows ? a + (i0 + (i < rows ? i : rows - 1)) * kpairs : a + i0 * kpairs + i;
            }
            micro_kernel(kpairs, r[0], r[1], r[2], r[3], r[4], r[5], a_rows ? 1 : MR, b, c + i0 * ldc + j0, ldc, rows, cols,
                         accumulate);
        }
    }
}

TARGET void trainlab_bf16_macro_kernel(ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kpairs,
                                       const uint32_t *packed_a, const uint32_t *packed_b, ptrdiff_t b_panel_stride,
                                       float *c, ptrdiff_t ldc, int accumulate) {
    macro_kernel(mc, nc, kpairs, packed_a, 0, packed_b, b_panel_stride, c, ldc, accumulate);
}

TARGET void trainlab_bf16_macro_kernel_rows(ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kpairs,
                                            const uint32_t *rows_a, const uint32_t *packed_b, ptrdiff_t b_panel_stride,
                                            float *c, ptrdiff_t ldc, int accumulate) {
    macro_kernel(mc, nc, kpairs, rows_a, 1, packed_b, b_panel_stride, c, ldc, accumulate);
}

// 16-float halves of a row, `left` floats from p (zeros past them).
TARGET static inline __m512 load_masked(const float *p, ptrdiff_t left) {
    __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
    return _mm512_maskz_loadu_ps(m, p);
}

// A row's pair words are its floats converted in order: VCVTNE2PS2BF16 of 32 floats is 16 words.
TARGET void trainlab_bf16_pack_rows(const float *a, ptrdiff_t lda, ptrdiff_t rows, ptrdiff_t k, uint32_t *dst) {
    ptrdiff_t pairs = (k + 1) / 2;
    for (ptrdiff_t i = 0; i < rows; i++) {
        const float *row = a + i * lda;
        uint32_t *o = dst + i * pairs;
        ptrdiff_t p = 0;
        for (; p + 32 <= k; p += 32) {
            __m512bh r = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(row + p + 16), _mm512_loadu_ps(row + p));
            _mm512_storeu_si512(o + p / 2, (__m512i)r);
        }
        if (p < k) {
            ptrdiff_t left = k - p, words = (left + 1) / 2;
            __m512bh r = _mm512_cvtne2ps_pbh(load_masked(row + p + 16, left - 16), load_masked(row + p, left));
            _mm512_mask_storeu_epi32(o + p / 2, (__mmask16)((1u << words) - 1), (__m512i)r);
        }
    }
}

// Pair q of a column panel is rows 2q and 2q + 1 converted together (the even row in the low
// 16 bf16 lanes, the odd in the high) and interleaved lane by lane into 16 words per half.
TARGET void trainlab_bf16_pack_b(const float *b, ptrdiff_t ldb, ptrdiff_t k, ptrdiff_t n, uint32_t *dst) {
    ptrdiff_t pairs = (k + 1) / 2;
    short idx[32];
    for (int j = 0; j < 16; j++) { idx[2 * j] = (short)j; idx[2 * j + 1] = (short)(16 + j); }
    __m512i interleave = _mm512_loadu_si512(idx);
    for (ptrdiff_t j0 = 0; j0 < n; j0 += NR) {
        ptrdiff_t cols = n - j0 < NR ? n - j0 : NR;
        uint32_t *panel = dst + j0 / NR * pairs * NR;
        for (ptrdiff_t q = 0; q < pairs; q++) {
            const float *even = b + 2 * q * ldb + j0, *odd = even + ldb;
            int has_odd = 2 * q + 1 < k;
            for (int half = 0; half < 2; half++) {
                ptrdiff_t left = cols - 16 * half;
                __m512 e = load_masked(even + 16 * half, left);
                __m512 o = has_odd ? load_masked(odd + 16 * half, left) : _mm512_setzero_ps();
                __m512i w = _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(o, e));
                _mm512_storeu_si512(panel + q * NR + 16 * half, w);
            }
        }
    }
}

// A transposed op(A)'s pair q of rows i is two stored rows (2q, 2q + 1) at columns i: converted
// and interleaved as in trainlab_bf16_pack_b, 48 columns (8 panels) at a time, each panel's 6
// words then copied to its slot; all pairs of 8 panels before the next 8, so that writes stay in
// 8 streams (all panels of a pair at once were slower on two threads: 93% -> 80% of the peak).
TARGET void trainlab_bf16_pack_a_transposed(const float *a, ptrdiff_t lda, ptrdiff_t mc, ptrdiff_t k, uint32_t *dst) {
    ptrdiff_t pairs = (k + 1) / 2;
    short idx[32];
    for (int j = 0; j < 16; j++) { idx[2 * j] = (short)j; idx[2 * j + 1] = (short)(16 + j); }
    __m512i interleave = _mm512_loadu_si512(idx);
    uint32_t words[48];
    for (ptrdiff_t i0 = 0; i0 < mc; i0 += 48) {
        ptrdiff_t left = mc - i0;
        for (ptrdiff_t q = 0; q < pairs; q++) {
            const float *even = a + 2 * q * lda, *odd = even + lda;
            int has_odd = 2 * q + 1 < k;
            for (int v = 0; v < 3; v++) {
                __m512 e = load_masked(even + i0 + 16 * v, left - 16 * v);
                __m512 o = has_odd ? load_masked(odd + i0 + 16 * v, left - 16 * v) : _mm512_setzero_ps();
                _mm512_storeu_si512(words + 16 * v, _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(o, e)));
            }
            ptrdiff_t panels = (left + MR - 1) / MR < 8 ? (left + MR - 1) / MR : 8;
            for (ptrdiff_t p = 0; p < panels; p++) {
                memcpy(dst + (i0 / MR + p) * pairs * MR + q * MR, words + p * MR, MR * sizeof(uint32_t));
            }
        }
    }
}

// The transpose of 16 rows of 16 words, in four rounds that swap the off-diagonal b × b blocks
// of every 2b × 2b block (b = 8, 4, 2, 1), two VPERMT2D a pair of rows.
TARGET static inline void transpose16x16(__m512i r[16]) {
    for (int b = 8; b >= 1; b /= 2) {
        int low[16], high[16];
        for (int j = 0; j < 16; j++) {
            low[j] = (j & b) ? 16 + j - b : j;
            high[j] = (j & b) ? 16 + j : j + b;
        }
        __m512i take_low = _mm512_loadu_si512(low), take_high = _mm512_loadu_si512(high);
        for (int i = 0; i < 16; i++) {
            if (i & b) continue;
            __m512i x = r[i], y = r[i + b];
            r[i] = _mm512_permutex2var_epi32(x, take_low, y);
            r[i + b] = _mm512_permutex2var_epi32(x, take_high, y);
        }
    }
}

// A transposed op(B)'s column j is stored row j, its pairs adjacent: 16 pairs of 16 columns are
// converted a column at a time and transposed into 16 panel rows.
TARGET void trainlab_bf16_pack_b_transposed(const float *b, ptrdiff_t ldb, ptrdiff_t k, ptrdiff_t n, uint32_t *dst) {
    ptrdiff_t pairs = (k + 1) / 2;
    for (ptrdiff_t j0 = 0; j0 < n; j0 += NR) {
        ptrdiff_t cols = n - j0 < NR ? n - j0 : NR;
        uint32_t *panel = dst + j0 / NR * pairs * NR;
        for (ptrdiff_t q0 = 0; q0 < pairs; q0 += 16) {
            ptrdiff_t left = k - 2 * q0, steps = pairs - q0 < 16 ? pairs - q0 : 16;
            for (int half = 0; half < 2; half++) {
                __m512i r[16];
                for (int c = 0; c < 16; c++) {
                    ptrdiff_t column = 16 * half + c;
                    if (column < cols) {
                        const float *p = b + (j0 + column) * ldb + 2 * q0;
                        r[c] = (__m512i)_mm512_cvtne2ps_pbh(load_masked(p + 16, left - 16), load_masked(p, left));
                    } else {
                        r[c] = _mm512_setzero_si512();
                    }
                }
                transpose16x16(r);
                for (ptrdiff_t t = 0; t < steps; t++) _mm512_storeu_si512(panel + (q0 + t) * NR + 16 * half, r[t]);
            }
        }
    }
}

TARGET double trainlab_bf16_dot_probe(ptrdiff_t iterations, float seed, float *checksum) {
    // Pairs of small bf16 values (0x3380 is about 6e-8): the sums stay far from overflow.
    __m512bh a = (__m512bh)_mm512_set1_epi32(0x33803380), b = (__m512bh)_mm512_set1_epi32(0x3F803F80);
    __m512 s0 = _mm512_set1_ps(seed), s1 = _mm512_add_ps(s0, s0), s2 = _mm512_add_ps(s1, s0), s3 = _mm512_add_ps(s2, s0);
    __m512 s4 = _mm512_add_ps(s3, s0), s5 = _mm512_add_ps(s4, s0), s6 = _mm512_add_ps(s5, s0), s7 = _mm512_add_ps(s6, s0);
    __m512 s8 = _mm512_add_ps(s7, s0), s9 = _mm512_add_ps(s8, s0), s10 = _mm512_add_ps(s9, s0), s11 = _mm512_add_ps(s10, s0);
    for (ptrdiff_t i = 0; i < iterations; i++) {
        s0 = _mm512_dpbf16_ps(s0, a, b); s1 = _mm512_dpbf16_ps(s1, a, b); s2 = _mm512_dpbf16_ps(s2, a, b);
        s3 = _mm512_dpbf16_ps(s3, a, b); s4 = _mm512_dpbf16_ps(s4, a, b); s5 = _mm512_dpbf16_ps(s5, a, b);
        s6 = _mm512_dpbf16_ps(s6, a, b); s7 = _mm512_dpbf16_ps(s7, a, b); s8 = _mm512_dpbf16_ps(s8, a, b);
        s9 = _mm512_dpbf16_ps(s9, a, b); s10 = _mm512_dpbf16_ps(s10, a, b); s11 = _mm512_dpbf16_ps(s11, a, b);
    }
    __m512 t = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)),
                             _mm512_add_ps(_mm512_add_ps(s4, s5), _mm512_add_ps(s6, s7)));
    t = _mm512_add_ps(t, _mm512_add_ps(_mm512_add_ps(s8, s9), _mm512_add_ps(s10, s11)));
    *checksum = _mm512_reduce_add_ps(t);
    return (double)iterations * 12 * 16 * 4;
}

unsigned trainlab_flush_subnormals_begin(void) {
    unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040);  // FTZ (bit 15) and DAZ (bit 6)
    return saved;
}

void trainlab_flush_subnormals_end(unsigned saved) { _mm_setcsr(saved); }

#else

int trainlab_bf16_kernel_compiled(void) { return 0; }
void trainlab_bf16_macro_kernel(ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kpairs,
                                const uint32_t *packed_a, const uint32_t *packed_b, ptrdiff_t b_panel_stride,
                                float *c, ptrdiff_t ldc, int accumulate) {
    (void)mc; (void)nc; (void)kpairs; (void)packed_a; (void)packed_b; (void)b_panel_stride; (void)c; (void)ldc; (void)accumulate;
    __builtin_trap();  // never called: trainlab_bf16_kernel_compiled() is 0
}
void trainlab_bf16_pack_rows(const float *a, ptrdiff_t lda, ptrdiff_t rows, ptrdiff_t k, uint32_t *dst) {
    (void)a; (void)lda; (void)rows; (void)k; (void)dst;
    __builtin_trap();  // never called: trainlab_bf16_kernel_compiled() is 0
}
void trainlab_bf16_pack_a_transposed(const float *a, ptrdiff_t lda, ptrdiff_t mc, ptrdiff_t k, uint32_t *dst) {
    (void)a; (void)lda; (void)mc; (void)k; (void)dst;
    __builtin_trap();  // never called: trainlab_bf16_kernel_compiled() is 0
}
void trainlab_bf16_pack_b_transposed(const float *b, ptrdiff_t ldb, ptrdiff_t k, ptrdiff_t n, uint32_t *dst) {
    (void)b; (void)ldb; (void)k; (void)n; (void)dst;
    __builtin_trap();  // never called: trainlab_bf16_kernel_compiled() is 0
}
void trainlab_bf16_pack_b(const float *b, ptrdiff_t ldb, ptrdiff_t k, ptrdiff_t n, uint32_t *dst) {
    (void)b; (void)ldb; (void)k; (void)n; (void)dst;
    __builtin_trap();  // never called: trainlab_bf16_kernel_compiled() is 0
}
void trainlab_bf16_macro_kernel_rows(ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kpairs,
                                     const uint32_t *rows_a, const uint32_t *packed_b, ptrdiff_t b_panel_stride,
                                     float *c, ptrdiff_t ldc, int accumulate) {
    (void)mc; (void)nc; (void)kpairs; (void)rows_a; (void)packed_b; (void)b_panel_stride; (void)c; (void)ldc; (void)accumulate;
    __builtin_trap();  // never called: trainlab_bf16_kernel_compiled() is 0
}
double trainlab_bf16_dot_probe(ptrdiff_t iterations, float seed, float *checksum) {
    (void)iterations; (void)seed; *checksum = 0; return 0;
}
unsigned trainlab_flush_subnormals_begin(void) { return 0; }
void trainlab_flush_subnormals_end(unsigned saved) { (void)saved; }

#endif
