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
    /// AVX-512 with AVX512_BF16: the AVX-512 loops, and bf16 products on VDPBF16PS.
    case avx512BF16 = "avx512_bf16"
    case avx512, avx2, portable

    /// The best set the CPU supports (from /proc/cpuinfo's flags on x86-64: the kernel lists
    /// AVX-512 only where the OS saves the zmm registers), or the one `TRAINLAB_ISA` names, for
    /// testing and comparing them. The command line refuses a `TRAINLAB_ISA` that names no set or
    /// one this CPU lacks (`environmentProblem`) before anything runs.
    public static let current: InstructionSet = {
        let supported = supportedByCPU()
        if case .success(let forced?) = requested(getenv("TRAINLAB_ISA").map { String(cString: $0) }, supported: supported) {
            return forced
        }
        return supported[0]
    }()

    /// Why `TRAINLAB_ISA` cannot be honoured, or nil when it is unset or names a set this CPU runs.
    public static var environmentProblem: String? {
        if case .failure(let problem) = requested(getenv("TRAINLAB_ISA").map { String(cString: $0) }, supported: supportedByCPU()) {
            return problem.message
        }
        return nil
    }

    public struct Problem: Error, Equatable {
        public let message: String
    }

    /// The set a `TRAINLAB_ISA` value asks for: nil when unset or empty.
    static func requested(_ value: String?, supported: [InstructionSet]) -> Result<InstructionSet?, Problem> {
        guard let value, !value.isEmpty else { return .success(nil) }
        let accepted = allCases.map(\.rawValue).joined(separator: ", ")
        guard let set = InstructionSet(rawValue: value) else {
            return .failure(Problem(message: "TRAINLAB_ISA: unknown instruction set '\(value)'; expected one of \(accepted)"))
        }
        guard supported.contains(set) else {
            return .failure(Problem(message: "TRAINLAB_ISA=\(value): this CPU does not run it; it runs \(supported.map(\.rawValue).joined(separator: ", "))"))
        }
        return .success(set)
    }

    /// The sets this CPU runs, widest first; `portable` always.
    public static func supportedByCPU() -> [InstructionSet] {
        supported(byFlags: cpuFlags())
    }

    static func supported(byFlags flags: Set<Substring>, bf16KernelCompiled: Bool = trainlab_bf16_kernel_compiled() != 0) -> [InstructionSet] {
        let avx2 = flags.isSuperset(of: ["avx2", "fma"])
        // What `-target-cpu skylake-avx512` may emit: F, CD, BW, DQ and VL.
        let avx512 = avx2 && flags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"])
        let bf16 = avx512 && bf16KernelCompiled && flags.contains("avx512_bf16")
        return (bf16 ? [.avx512BF16] : []) + (avx512 ? [.avx512] : []) + (avx2 ? [.avx2] : []) + [.portable]
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

import CBF16

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
