import XCTest
import Foundation
import TrainLabStore
import TrainLabAutodiff
@testable import TrainLabExperiment

/// `trainlab bench train`'s measurement: windows, the reported (fastest) window, the op profile.
final class TrainingBenchmarkTests: XCTestCase {
    func testWindowsReportTheFastestMedianAndProfileEveryMeasuredStep() throws {
        let spec = try ExperimentSpec.load(file: try specFile(tinySpec))[0]
        let sink = MemoryMetricsSink()
        let result = try TrainingBenchmark(spec: spec).run(warmup: 2, steps: 4, windows: 3, profile: true, metrics: sink)
        XCTAssertEqual(sink.values("train_loss").count, 2 + 12, "every step logs, warm-up included")
        XCTAssertEqual(result.windowMedians.count, 3)
        XCTAssertEqual(result.medianStepSeconds, result.windowMedians.min())
        XCTAssertEqual(result.measuredSteps, 12)
        XCTAssertEqual(result.phaseSeconds.map(\.phase), ["forward", "backward", "optimizer", "metrics"])
        // tiny's MLP: a fused tanh hidden layer (4 -> 16) and the output layer (16 -> 3), batch 32,
        // each recorded once per step.
        let entries = try XCTUnwrap(result.profile?.entries)
        XCTAssertEqual(entries["linear 32x16x4 tanh"]?.forwardCalls, 12)
        XCTAssertEqual(entries["linear 32x3x16"]?.forwardCalls, 12)
        XCTAssertGreaterThan(entries["linear 32x16x4 tanh"]?.backwardNanoseconds ?? 0, 0)
    }
}
