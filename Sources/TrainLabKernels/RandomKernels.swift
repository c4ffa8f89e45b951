import MicroKernels
import MicroKernelsAVX2

/// Random numbers for synthetic data: the hot loops' counter-based generator, whose every draw
/// is computed from the generator's state and its number alone, split over the pool. The values
/// are the same for any thread count and on any CPU (the two copies of the loops give the same bits).
public enum RandomKernels {
    /// SplitMix64's increment of its state per draw.
    public static let splitMix64Increment = MicroKernels.splitMix64Increment
    /// Values per block: 8 Box–Muller pairs from 16 draws (`standardNormalBlocks`).
    public static let normalsPerBlock = 16
    /// Blocks a thread takes at least.
    static let blockGrain = 1024

    /// SplitMix64 draws `standardNormals` uses for `count` values: 16 per started block of 16.
    public static func drawsForStandardNormals(count: Int) -> Int {
        (count + normalsPerBlock - 1) / normalsPerBlock * normalsPerBlock
    }

    /// out[0 ..< count] = standard normals from a SplitMix64 generator at `state`, by
    /// Box–Muller in Float32 on draws 1, 2, … (`MicroKernels.standardNormalBlocks`); a last
    /// partial block drops its spare values. The generator then stands at `state` plus
    /// `drawsForStandardNormals(count:)` increments.
    public static func standardNormals(state: UInt64, count: Int, into out: UnsafeMutablePointer<Float>,
                                       pool: ThreadPool = .shared) {
        let fullBlocks = count / normalsPerBlock
        pool.parallelRanges(fullBlocks, grain: blockGrain) { range, _ in
            HotLoops.current.standardNormalBlocks(state, range.lowerBound, range.count, out + normalsPerBlock * range.lowerBound)
        }
        let rest = count - fullBlocks * normalsPerBlock
        guard rest > 0 else { return }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: normalsPerBlock) { block in
            HotLoops.current.standardNormalBlocks(state, fullBlocks, 1, block.baseAddress!)
            (out + fullBlocks * normalsPerBlock).update(from: block.baseAddress!, count: rest)
        }
    }
}
