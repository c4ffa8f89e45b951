import TrainLabAutodiff

/// Mini-batch order over a data set of `count` rows, as one endless stream of epochs cut into
/// batches of `batchSize` (a batch that crosses an epoch's end continues into the next epoch).
/// shuffle: each epoch is a fresh Fisher–Yates permutation from a seeded SplitMix64 stream;
/// no shuffle: every epoch is 0, 1, …, N−1, so batch k (1-based) holds rows (k−1)·B ..< k·B mod N.
/// batchSize == count with no shuffle is full-batch descent.
public struct BatchSampler {
    public let count: Int
    public let batchSize: Int
    public let shuffle: Bool
    /// The current epoch's row order.
    private var order: [Int]
    /// Next position in `order`.
    private var position = 0
    /// Output buffer for batches that cross an epoch's end.
    private var buffer: [Int]
    private var stream: RandomStream

    public init(count: Int, batchSize: Int, shuffle: Bool, seed: UInt64) {
        precondition(count >= 1 && batchSize >= 1, "BatchSampler needs count ≥ 1 and batchSize ≥ 1")
        self.count = count
        self.batchSize = batchSize
        self.shuffle = shuffle
        stream = RandomStream(seed: seed, salt: StreamSalt.batchOrder)
        order = Array(0..<count)
        buffer = [Int](repeating: 0, count: batchSize)
        if shuffle { stream.shuffle(&order) }
    }

    /// Indices of the next batch: always `batchSize` of them.
    public mutating func next() -> ArraySlice<Int> {
        if position == count { startEpoch() }
        if position + batchSize <= count {
            defer { position += batchSize }
            return order[position..<(position + batchSize)]
        }
        var filled = 0
        while filled < batchSize {
            if position == count { startEpoch() }
            let take = min(batchSize - filled, count - position)
            for t in 0..<take { buffer[filled + t] = order[position + t] }
            filled += take
            position += take
        }
        return buffer[...]
    }

    /// The epoch's order, the position in it and the stream: all the next batches depend on.
    public func saveState(to archive: inout StateArchive) {
        archive.set("sampler.order", integers: order.map { Int64($0) })
        archive.set("sampler.position", integer: position)
        archive.set("sampler.stream", integers: stream.savedState)
    }

    /// Throws when the archive was saved by a sampler over another number of rows.
    public mutating func restoreState(from archive: StateArchive) throws {
        let saved = try archive.integers("sampler.order", count: count).map { Int($0) }
        let position = try archive.integer("sampler.position")
        guard Set(saved) == Set(0..<count), (0...count).contains(position) else {
            throw StateArchiveError("the sampler state does not fit \(count) rows")
        }
        (order, self.position) = (saved, position)
        try stream.restore(try archive.integers("sampler.stream"))
    }

    private mutating func startEpoch() {
        position = 0
        if shuffle { stream.shuffle(&order) }
    }
}
