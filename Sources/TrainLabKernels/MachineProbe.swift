import Foundation
import Synchronization

/// Measures the machine rather than trusting a spec sheet, so every speed figure can be quoted
/// as a fraction of what this CPU did in the same run.
public enum MachineProbe {
    /// Peak GFLOPS of the matrix products at `precision` on `pool.threadCount` threads:
    /// independent FMA chains on every thread (FP32, and bf16 without AVX512_BF16, whose products
    /// run on FMAs), or VDPBF16PS chains (bf16 with AVX512_BF16); best of `repeats` runs of about
    /// 20 ms each.
    public static func peakGFLOPS(pool: ThreadPool = .shared, repeats: Int = 5, precision: MatrixPrecision = .fp32) -> Double {
        let iterations = 2_000_000
        var best = 0.0
        let probe = precision == .bf16 ? HotLoops.current.bf16.probe : HotLoops.current.fmaProbe
        for r in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            var flops = [Double](repeating: 0, count: pool.threadCount)
            flops.withUnsafeMutableBufferPointer { out in
                let out = out.baseAddress!
                pool.parallelFor(pool.threadCount) { i, _ in
                    let result = probe(iterations, Float(r + i))
                    out[i] = result.checksum.isNaN ? 0 : result.flops
                }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            best = max(best, flops.reduce(0, +) / seconds / 1e9)
        }
        return best
    }

    /// What runs the products at `precision` here: `fma`, `vdpbf16ps` or `multiply-add`.
    public static func kernel(for precision: MatrixPrecision) -> String {
        precision == .bf16 ? HotLoops.current.bf16.kernel : (InstructionSet.current == .portable ? "multiply-add" : "fma")
    }

    /// Median cost in microseconds of one `parallelFor` whose indices all wait for each other:
    /// the job cannot finish before every worker has picked up its index, so this is the full
    /// publish, wake, claim and complete round trip of a job that needs every thread.
    public static func dispatchOverheadMicroseconds(pool: ThreadPool = .shared, calls: Int = 20_000) -> Double {
        let arrived = Counter()
        let threads = pool.threadCount
        var samples: [Double] = []
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            for call in 1...calls {
                pool.parallelFor(threads) { _, _ in
                    arrived.value.add(1, ordering: .relaxed)
                    while arrived.value.load(ordering: .relaxed) < call * threads {}
                }
            }
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3 / Double(calls))
            arrived.value.store(0, ordering: .relaxed)
        }
        return samples.sorted()[samples.count / 2]
    }

    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }
}
