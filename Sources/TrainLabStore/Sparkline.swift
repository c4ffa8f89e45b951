import Foundation

/// A one-line chart of a series in the eight block characters `▁▂▃▄▅▆▇█`.
///
/// A series longer than `width` is cut into `width` consecutive buckets of (nearly) equal size,
/// each drawn at the mean of its finite values. When every value is positive and the series spans
/// more than two decades (high / low > 100) the chart is on a log scale (bucket means of log10).
/// Non-finite values (NaN, ±inf: a diverged run) are skipped; a bucket holding only those is a space.
public struct Sparkline: Sendable, Equatable {
    public static let blocks: [Character] = Array("▁▂▃▄▅▆▇█")

    public let text: String
    public let isLogScale: Bool
    /// Smallest and largest finite value of the series.
    public let low: Double
    public let high: Double
    /// How many values were not finite.
    public let nonFiniteCount: Int

    /// nil when the series has no finite value.
    public init?(_ values: [Double], width: Int = 60) {
        precondition(width >= 1, "a sparkline needs a width of at least 1, got \(width)")
        let finite = values.filter { $0.isFinite }
        guard let low = finite.min(), let high = finite.max() else { return nil }
        let isLogScale = low > 0 && high / low > 100
        let scaled: (Double) -> Double = isLogScale ? { log10($0) } : { $0 }

        let columns = min(width, values.count)
        var buckets: [Double?] = []
        for column in 0..<columns {
            let bucket = values[(column * values.count / columns)..<((column + 1) * values.count / columns)]
            let finiteInBucket = bucket.filter { $0.isFinite }.map(scaled)
            buckets.append(finiteInBucket.isEmpty
                           ? nil : finiteInBucket.reduce(0, +) / Double(finiteInBucket.count))
        }
        let bottom = scaled(low), range = scaled(high) - scaled(low)
        let top = Self.blocks.count - 1
        text = String(buckets.map { mean -> Character in
            guard let mean else { return " " }
            guard range > 0 else { return Self.blocks[top / 2] }
            let level = Int(((mean - bottom) / range * Double(top)).rounded())
            return Self.blocks[min(max(level, 0), top)]
        })
        self.isLogScale = isLogScale
        self.low = low
        self.high = high
        self.nonFiniteCount = values.count - finite.count
    }
}
