#ifndef CPREFETCH_H
#define CPREFETCH_H

// Swift has no prefetch instruction, and clang's `_m_prefetchw` is a builtin Swift cannot call;
// a static inline function is imported with its body and inlined into the hot loops.

/// Asks for the cache line holding `p` in L1, for writing (PREFETCHW on x86-64, PRFM PSTL1KEEP on
/// arm64). A hint: it never faults and never changes a result.
static inline __attribute__((always_inline)) void trainlab_prefetch_for_write(const void *p) {
    __builtin_prefetch(p, 1, 3);
}

/// Asks for the cache line holding `p` in L1, for reading: for a packer walking down columns
/// of a matrix, whose rows are too far apart for the hardware prefetcher to run far enough ahead.
static inline __attribute__((always_inline)) void trainlab_prefetch_for_read(const void *p) {
    __builtin_prefetch(p, 0, 3);
}

#endif
