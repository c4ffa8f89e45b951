import XCTest
import Foundation
import TrainLabAutodiff
import TrainLabData
@testable import TrainLabExperiment

/// Runs of a sweep share task data through `TaskDataCache`: made once per task and seed, within
/// a byte limit, with the same metrics as runs that make their own.
final class TaskDataCacheTests: XCTestCase {
    /// A classification data set of `rows` rows × 4 inputs: 16 + 8 bytes a row.
    static func data(rows: Int) -> TaskData {
        TaskData(kind: .classification, inputDim: 4, outputDim: 2,
                 train: Dataset(inputs: Tensor(shape: [rows, 4]), targets: .classes([Int](repeating: 0, count: rows))),
                 validation: nil)
    }

    func testMakesEachKeyOnceAndReturnsTheSameData() throws {
        let cache = TaskDataCache(byteLimit: 1 << 20)
        var made = 0
        let first = try cache.data(for: "a") { made += 1; return Self.data(rows: 10) }
        let again = try cache.data(for: "a") { made += 1; return Self.data(rows: 10) }
        XCTAssertEqual(made, 1)
        XCTAssertTrue(first.train.inputs === again.train.inputs)
        _ = try cache.data(for: "b") { made += 1; return Self.data(rows: 10) }
        XCTAssertEqual(made, 2)
        XCTAssertEqual(cache.held.count, 2)
        XCTAssertEqual(cache.held.bytes, 2 * 10 * 24)
    }

    /// A limit of 500 bytes holds one 10-row set (240 bytes) and a second, not a third: the least
    /// recently used goes. A set over the limit is returned but not kept.
    func testKeepsWithinItsByteLimitLeastRecentlyUsedFirst() throws {
        let cache = TaskDataCache(byteLimit: 500)
        var made: [String] = []
        func get(_ key: String, rows: Int = 10) throws -> TaskData {
            try cache.data(for: key) { made.append(key); return Self.data(rows: rows) }
        }
        _ = try get("a")
        _ = try get("b")
        _ = try get("a")  // a is now the most recent
        _ = try get("c")  // evicts b
        XCTAssertEqual(cache.held.count, 2)
        XCTAssertLessThanOrEqual(cache.held.bytes, 500)
        _ = try get("a")
        _ = try get("b")
        XCTAssertEqual(made, ["a", "b", "c", "b"])
        _ = try get("big", rows: 100)
        _ = try get("big", rows: 100)
        XCTAssertEqual(made.filter { $0 == "big" }.count, 2)
        XCTAssertLessThanOrEqual(cache.held.bytes, 500)
    }

    /// Two threads asking for one key at once: one makes the data, the other waits for them.
    func testConcurrentRequestsMakeTheDataOnce() throws {
        let cache = TaskDataCache(byteLimit: 1 << 20)
        let counter = NSLock()
        nonisolated(unsafe) var made = 0
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            _ = try? cache.data(for: "shared") {
                counter.withLock { made += 1 }
                Thread.sleep(forTimeInterval: 0.01)
                return Self.data(rows: 10)
            }
        }
        XCTAssertEqual(made, 1)
    }

    /// A failed make is not kept: the next request tries again.
    func testAFailureIsNotCached() throws {
        struct Failure: Error {}
        let cache = TaskDataCache()
        XCTAssertThrowsError(try cache.data(for: "x") { throw Failure() })
        XCTAssertEqual(try cache.data(for: "x") { Self.data(rows: 3) }.train.count, 3)
    }

    /// Runs differing only in lr share their data (one key), runs with another seed do not; a
    /// run on cached data logs what a run that made its own logs (time aside).
    func testRunsOnCachedDataLogTheSameMetrics() throws {
        let specs = try ExperimentSpec.load(file: try specFile("""
            {"name": "cache", "task": {"kind": "teacher_classification", "input_dim": 8, "train_size": 256, "val_size": 64},
             "model": {"hidden": [8]}, "loss": "cross_entropy", "optimizer": {"kind": "adam", "lr": 0.01},
             "training": {"steps": 20, "batch_size": 32, "eval_every": 10},
             "sweep": {"seed": [0, 1], "optimizer.lr": [0.01, 0.03]}}
            """))
        XCTAssertEqual(Set(specs.map(\.taskDataKey)).count, 2)
        XCTAssertEqual(specs[0].taskDataKey, specs[1].taskDataKey)
        XCTAssertNotEqual(specs[0].taskDataKey, specs[2].taskDataKey)
        let cache = TaskDataCache()
        for spec in specs {
            let own = MemoryMetricsSink(), shared = MemoryMetricsSink()
            _ = try Runner(spec: spec).run(metrics: own)
            _ = try Runner(spec: spec, dataCache: cache).run(metrics: shared)
            let rows = { (sink: MemoryMetricsSink) in sink.entries.filter { $0.name != "time" }.map { "\($0.step) \($0.name) \($0.value.bitPattern)" } }
            XCTAssertEqual(rows(own), rows(shared), spec.assignmentSummary)
        }
        XCTAssertEqual(cache.held.count, 2)
    }
}
