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

/// Which compiled copy of the hot loops runs on this CPU.
public enum InstructionSet: String, Sendable, CaseIterable {
    case avx512, avx2, portable

    /// The best set the CPU supports (from /proc/cpuinfo's flags on x86-64: the kernel lists
    /// AVX-512 only where the OS saves the zmm registers); `TRAINLAB_ISA=avx2` or `portable`
    /// asks for a narrower one, for testing and comparing them (a set the CPU lacks is ignored).
    public static let current: InstructionSet = {
        let supported = supportedByCPU()
        if let forced = getenv("TRAINLAB_ISA").map({ String(cString: $0) }),
           let set = InstructionSet(rawValue: forced), supported.contains(set) {
            return set
        }
        return supported[0]
    }()

    /// The sets this CPU runs, widest first; `portable` always.
    public static func supportedByCPU() -> [InstructionSet] {
        supported(byFlags: cpuFlags())
    }

    static func supported(byFlags flags: Set<Substring>) -> [InstructionSet] {
        let avx2 = flags.isSuperset(of: ["avx2", "fma"])
        // What `-target-cpu skylake-avx512` may emit: F, CD, BW, DQ and VL.
        let avx512 = avx2 && flags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"])
        return (avx512 ? [.avx512] : []) + (avx2 ? [.avx2] : []) + [.portable]
    }
}

/// The `flags` line of /proc/cpuinfo (empty off x86-64 Linux).
func cpuFlags() -> Set<Substring> {
    #if arch(x86_64) && os(Linux)
    guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
    defer { fclose(file) }
    var line: UnsafeMutablePointer<CChar>? = nil
    var capacity = 0
    defer { free(line) }
    while getline(&line, &capacity, file) > 0 {
        let text = String(cString: line!)
        if text.hasPrefix("flags") {
            return Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }))
        }
    }
    return []
    #else
    return []
    #endif
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
