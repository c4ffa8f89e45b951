// The kernel layer: multithreaded Float32 kernels over raw buffers.
//
// Size letters used in shape comments throughout TrainLab:
//   B batch rows, T sequence positions, C channels (model width), H heads, D head size,
//   V vocabulary, M, N, K the GEMM dimensions: C (M, N) = A (M, K) · B (K, N).
// All buffers are row-major and contiguous unless a leading dimension (lda, ldb, ldc) says
// otherwise.
//
// Determinism: every output element is computed by exactly one thread, in an order fixed by the
// shapes alone. GEMM never splits K between threads; reductions over many rows split the
// *columns* between threads, or reduce fixed-size chunks whose partial sums are then added in
// index order. So a result is bit-identical for any thread count on a given CPU.

import MicroKernels
import MicroKernelsAVX2

/// Which compiled copy of the hot loops runs on this CPU.
public enum InstructionSet: String, Sendable {
    case avx2, portable

    /// The best set the CPU supports (AVX2 and FMA from /proc/cpuinfo on x86-64);
    /// `TRAINLAB_ISA=portable` forces the fallback, for testing it.
    public static let current: InstructionSet = {
        if let forced = getenv("TRAINLAB_ISA").map({ String(cString: $0) }),
           let set = InstructionSet(rawValue: forced) {
            return set == .avx2 && !cpuHasAVX2FMA() ? .portable : set
        }
        return cpuHasAVX2FMA() ? .avx2 : .portable
    }()
}

func cpuHasAVX2FMA() -> Bool {
    #if arch(x86_64) && os(Linux)
    guard let file = fopen("/proc/cpuinfo", "r") else { return false }
    defer { fclose(file) }
    var line: UnsafeMutablePointer<CChar>? = nil
    var capacity = 0
    defer { free(line) }
    while getline(&line, &capacity, file) > 0 {
        let text = String(cString: line!)
        if text.hasPrefix("flags") {
            let flags = Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }))
            return flags.contains("avx2") && flags.contains("fma")
        }
    }
    return false
    #else
    return false
    #endif
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
