import XCTest
@testable import TrainLabData

final class BatchSamplerTests: XCTestCase {
    func testShuffleCoversEveryIndexOncePerEpoch() {
        // 10 rows, batches of 3: 10 batches are exactly 3 epochs, two batches crossing a boundary.
        var sampler = BatchSampler(count: 10, batchSize: 3, shuffle: true, seed: 11)
        var stream: [Int] = []
        for _ in 0..<10 {
            let batch = sampler.next()
            XCTAssertEqual(batch.count, 3)
            stream += batch
        }
        var epochs: [[Int]] = []
        for e in 0..<3 {
            let epoch = Array(stream[(e * 10)..<(e * 10 + 10)])
            XCTAssertEqual(epoch.sorted(), Array(0..<10), "epoch \(e)")
            epochs.append(epoch)
        }
        XCTAssertNotEqual(epochs[0], Array(0..<10))
        XCTAssertNotEqual(epochs[0], epochs[1])

        var again = BatchSampler(count: 10, batchSize: 3, shuffle: true, seed: 11)
        var other = BatchSampler(count: 10, batchSize: 3, shuffle: true, seed: 12)
        var a: [Int] = [], b: [Int] = []
        for _ in 0..<10 { a += again.next(); b += other.next() }
        XCTAssertEqual(a, stream)
        XCTAssertNotEqual(b, stream)
    }

    func testNoShuffleFollowsFileOrderWithWrapAround() {
        for (n, batchSize) in [(10, 4), (10, 10), (10, 1), (7, 25)] {
            var sampler = BatchSampler(count: n, batchSize: batchSize, shuffle: false, seed: 0)
            for k in 1...12 {
                let expected = ((k - 1) * batchSize..<(k * batchSize)).map { $0 % n }
                XCTAssertEqual(Array(sampler.next()), expected, "n \(n), B \(batchSize), batch \(k)")
            }
        }
    }

    func testLargeShuffledEpochs() {
        var sampler = BatchSampler(count: 1000, batchSize: 64, shuffle: true, seed: 1)
        var seen: [Int] = []
        for _ in 0..<(1000 * 64 / 64) { seen += sampler.next() }  // 64 000 indices = 64 epochs
        for e in 0..<64 {
            XCTAssertEqual(Set(seen[(e * 1000)..<(e * 1000 + 1000)]).count, 1000)
        }
    }
}
