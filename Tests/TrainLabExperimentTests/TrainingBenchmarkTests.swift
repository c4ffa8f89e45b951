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

    /// `bench train --precision both` alternates two sessions' windows. Each session trains its
    /// own model, so alternating leaves every loss as it is when the config is timed alone.
    func testAlternatingSessionsTrainAsTheyDoAlone() throws {
        let spec = try ExperimentSpec.load(file: try specFile(tinySpec))[0]
        let aloneSink = MemoryMetricsSink()
        let alone = try TrainingBenchmark(spec: spec, precision: .bf16).run(warmup: 2, steps: 3, windows: 2, metrics: aloneSink)
        let (fp32Sink, bf16Sink) = (MemoryMetricsSink(), MemoryMetricsSink())
        let fp32 = try TrainingBenchmark.Session(TrainingBenchmark(spec: spec, precision: .fp32), warmup: 2, steps: 3, metrics: fp32Sink)
        let bf16 = try TrainingBenchmark.Session(TrainingBenchmark(spec: spec, precision: .bf16), warmup: 2, steps: 3, metrics: bf16Sink)
        for _ in 0..<2 {
            fp32.measureWindow()
            bf16.measureWindow()
        }
        let (fp32Result, bf16Result) = (try fp32.finish(), try bf16.finish())
        XCTAssertEqual(bf16Sink.values("train_loss").map(\.value.bitPattern), aloneSink.values("train_loss").map(\.value.bitPattern))
        XCTAssertNotEqual(fp32Sink.values("train_loss").map(\.value.bitPattern), bf16Sink.values("train_loss").map(\.value.bitPattern),
                          "the two sessions really run at different precisions")
        XCTAssertEqual(bf16Result.windowMedians.count, alone.windowMedians.count)
        XCTAssertEqual(fp32Result.measuredSteps, 6)
        XCTAssertEqual(bf16Result.medianStepSeconds, bf16Result.windowMedians.min())
    }
}
