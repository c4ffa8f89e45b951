import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import TrainLabStore
@testable import TrainLabReport

/// The report's benchmark charts, on a small benchmark's runs written with the store API.
final class BenchmarkReportTests: XCTestCase {
    private var folder: URL!
    private var dbPath: String { folder.appendingPathComponent("results.sqlite").path }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("BenchmarkReportTests-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    static let lrs = ["0.001", "0.01", "0.1"]
    /// Final val_loss of tuning trials 0, 1, 2 (lr 0.001, 0.01, 0.1) on both problems; nil: diverged.
    static let tuning: [String: [Double?]] = ["sgd": [0.9, 0.3, nil], "adam": [0.2, 0.4, 0.1], "slow": [0.8, 0.7, 0.6]]
    /// Step (= evals) at which the final runs reach val_loss ≤ 0.5; nil: never.
    ///   problem a: sgd 20, adam 10, slow 40 -> ratios 2, 1, 4
    ///   problem b: sgd 10, adam 30, slow -  -> ratios 1, 3, ∞
    static let stepsToTarget: [String: [String: Int?]] = ["a": ["sgd": 20, "adam": 10, "slow": 40],
                                                          "b": ["sgd": 10, "adam": 30, "slow": nil]]

    /// Experiment "bm": problems a and b, optimizers sgd, adam, slow, three tuning trials each,
    /// the best trial's final runs on seeds 0 and 1; target val_loss ≤ 0.5.
    private func makeBenchmark() throws -> ResultsStore {
        let store = try ResultsStore(path: dbPath)
        let optimizers = ["sgd", "adam", "slow"]
        func params(problem: String, optimizer: String, role: String, trial: Int, seed: Int) -> [String: SQLiteValue] {
            ["benchmark.problem": .text(problem), "benchmark.optimizer": .text(optimizer), "benchmark.role": .text(role),
             "benchmark.trial": .text(String(trial)), "benchmark.metric": .text("val_loss"), "benchmark.goal": .text("min"),
             "benchmark.target.metric": .text("val_loss"), "benchmark.target.value": .text("0.5"),
             "optimizer.lr": .text(Self.lrs[trial]), "seed": .text(String(seed))]
        }
        for problem in ["a", "b"] {
            for optimizer in optimizers {
                for (trial, value) in Self.tuning[optimizer]!.enumerated() {
                    let id = try store.beginRun(experiment: "bm", config: "{}", seed: 0,
                                                params: params(problem: problem, optimizer: optimizer, role: "tune", trial: trial, seed: 0))
                    try store.appendMetric(runID: id, step: 0, name: "val_loss", value: 2)
                    if let value { try store.appendMetric(runID: id, step: 50, name: "val_loss", value: value) }
                    try store.finishRun(id: id, status: value == nil ? .diverged : .completed, divergedStep: value == nil ? 5 : nil)
                }
            }
        }
        for problem in ["a", "b"] {
            for optimizer in optimizers {
                let best = Self.tuning[optimizer]!.enumerated().min { ($0.1 ?? .infinity) < ($1.1 ?? .infinity) }!.offset
                for seed in 0..<2 {
                    let id = try store.beginRun(experiment: "bm", config: "{}", seed: seed,
                                                params: params(problem: problem, optimizer: optimizer, role: "final", trial: best, seed: seed))
                    let reached = Self.stepsToTarget[problem]![optimizer]!
                    for step in stride(from: 0, through: 50, by: 10) {
                        // At the target exactly at the reaching step: the interpolated crossing is that step.
                        let value = reached.map { step > $0 ? 0.4 : step == $0 ? 0.5 : 2 } ?? (step == 0 ? 2 : 0.9)
                        try store.appendMetric(runID: id, step: step, name: "val_loss", value: value)
                        try store.appendMetric(runID: id, step: step, name: "evals", value: Double(step))
                        try store.appendMetric(runID: id, step: step, name: "time", value: Double(step) / 100)
                    }
                    try store.finishRun(id: id, status: .completed)
                }
            }
        }
        return store
    }

    private func benchmark() throws -> BenchmarkReport {
        try XCTUnwrap(try ReportData.load(from: try makeBenchmark(), experiment: "bm").benchmark)
    }

    func testSensitivityHasOneSeriesPerOptimizerAtTheTrialsLRsOnALogAxisWithFailuresMarked() throws {
        let benchmark = try benchmark()
        XCTAssertEqual(benchmark.optimizers, ["sgd", "adam", "slow"])
        XCTAssertEqual(benchmark.problems, ["a", "b"])
        let chart = try XCTUnwrap(ReportCharts.lrSensitivity(benchmark, problem: "a"))
        XCTAssertEqual(chart.series.map(\.label), ["sgd", "adam", "slow"])
        XCTAssertEqual(chart.series.map { $0.points.map(\.x) }, [[0.001, 0.01], [0.001, 0.01, 0.1], [0.001, 0.01, 0.1]])
        XCTAssertEqual(chart.series[1].points.map(\.y), [0.2, 0.4, 0.1])
        XCTAssertEqual(chart.series.map(\.failures), [[0.1], [], []])

        let svg = try XMLNode.parse(chart.svg(standalone: true))
        XCTAssertEqual(svg.attributes["data-x-scale"], "log")
        XCTAssertEqual(svg.all { $0.classes.contains("tick") && $0.classes.contains("x") }.map(\.text), ["0.001", "0.01", "0.1"])
        let lines = svg.all { $0.classes.contains("mean") }
        XCTAssertEqual(lines.map { $0.attributes["data-config"]! }, ["sgd", "adam", "slow"])
        // Equal steps in log lr are equal steps on the page.
        let adam = pathPoints(lines[1].attributes["d"]!)
        XCTAssertEqual(adam[1].0 - adam[0].0, adam[2].0 - adam[1].0, accuracy: 0.02)
        let failures = svg.all { $0.classes.contains("failure") }
        XCTAssertEqual(failures.map { $0.attributes["data-config"]! }, ["sgd"])
        XCTAssertEqual(failures.first?.attributes["data-x"], "0.1")
        let plot = try XCTUnwrap(svg.first { $0.classes.contains("plot-area") })
        let right = Double(plot.attributes["x"]!)! + Double(plot.attributes["width"]!)!
        XCTAssertEqual(pathPoints(failures[0].attributes["d"]!)[0].0 + 4, adam[2].0, accuracy: 0.02, "the ✕ sits at lr 0.1")
        XCTAssertLessThanOrEqual(adam[2].0, right + 0.01)
        let legend = svg.all { $0.classes.contains("legend-item") }.compactMap { $0.first { $0.name == "text" }?.text }
        XCTAssertEqual(legend, ["sgd", "adam", "slow", "trial diverged or failed"])
    }

    /// The expected best of k trials, the mean over every k-subset of the three: sgd's failed
    /// third trial counts as problem b's worst completed one (0.9), so sgd is {0.9, 0.3, 0.9}:
    /// k = 1 the mean 0.7, k = 2 the pairs' minima (0.3, 0.9, 0.3) 0.5, k = 3 the best 0.3.
    func testTuningCurveIsTheExpectedBestOfKTrialsAndNeverRises() throws {
        let benchmark = try benchmark()
        let chart = try XCTUnwrap(ReportCharts.tuningCurve(benchmark, problem: "b"))
        let expected: [[Double]] = [[0.7, 0.5, 0.3], [0.7 / 3, 0.4 / 3, 0.1], [0.7, 1.9 / 3, 0.6]]
        for (series, values) in zip(chart.series, expected) {
            XCTAssertEqual(series.points.count, 3)
            for (point, value) in zip(series.points, values) { XCTAssertEqual(point.y, value, accuracy: 1e-12, series.label) }
        }
        XCTAssertEqual(chart.series[0].points.map(\.x), [1, 2, 3])
        // The last point is the selected trial's value.
        for (series, optimizer) in zip(chart.series, benchmark.optimizers) {
            let selected = benchmark.results.problems[1].optimizers.first { $0.name == optimizer }!.bestTrial
            XCTAssertEqual(series.points.last?.y, Self.tuning[optimizer]![selected]!)
        }
        // A failed first trial gives no point until a trial succeeds.
        let failedFirst = [nil, 0.5, 0.7].enumerated().map { trial, value in
            BenchmarkReport.Trial(run: BenchmarkRun(problem: "p", optimizer: "o", trial: trial, seed: 0,
                                                    status: value == nil ? .diverged : .completed, finalValue: value), lr: nil)
        }
        XCTAssertEqual(BenchmarkReport.bestSoFar(failedFirst, goal: .min).map(\.x), [2, 3])
        XCTAssertEqual(BenchmarkReport.bestSoFar(failedFirst, goal: .max).map(\.y), [0.5, 0.7])

        let svg = try XMLNode.parse(chart.svg(standalone: true))
        for line in svg.all({ $0.classes.contains("mean") }) {
            let ys = pathPoints(line.attributes["d"]!).map(\.1)
            XCTAssertEqual(ys, ys.sorted(), "lower loss is further down the page: y never decreases")
        }
    }

    func testPerformanceProfileIsTheHandComputedStepFunction() throws {
        let benchmark = try benchmark()
        let profile = benchmark.results.profile
        XCTAssertEqual(profile.map(\.optimizer), ["sgd", "adam", "slow"])
        XCTAssertEqual(profile.map(\.ratios), [[2, 1], [1, 3], [4, .infinity]])
        func points(_ pairs: [(Double, Double)]) -> [ChartPoint] { pairs.map { ChartPoint(x: $0.0, y: $0.1, low: $0.1, high: $0.1) } }
        // sgd: fastest on b (ρ(1) = 1/2), within 2× on a; adam: fastest on a, 3× on b; slow: 4× on a, misses b.
        XCTAssertEqual(BenchmarkReport.profileSteps(ratios: profile[0].ratios), points([(1, 0.5), (2, 0.5), (2, 1), (4, 1)]))
        XCTAssertEqual(BenchmarkReport.profileSteps(ratios: profile[1].ratios), points([(1, 0.5), (3, 0.5), (3, 1), (4, 1)]))
        XCTAssertEqual(BenchmarkReport.profileSteps(ratios: profile[2].ratios), points([(1, 0), (4, 0), (4, 0.5), (4, 0.5)]))
        // The score is the area under these steps from 1 to 4, over 3.
        XCTAssertEqual(profile[0].score, 5.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(profile[1].score, 4.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(profile[2].score, 0, accuracy: 1e-12)

        let chart = try XCTUnwrap(ReportCharts.performanceProfile(benchmark))
        let svg = try XMLNode.parse(chart.svg(standalone: true))
        XCTAssertEqual(svg.all { $0.classes.contains("mean") }.count, 3)
        let yTicks = svg.all { $0.classes.contains("tick") && $0.classes.contains("y") }.map(\.text)
        XCTAssertEqual(yTicks.first, "0.0")
        XCTAssertEqual(yTicks.last, "1.0")
    }

    func testTimeToTargetShowsEachProblemAndOptimizerAndNoBarForAMiss() throws {
        let chart = try XCTUnwrap(ReportCharts.timeToTarget(try benchmark()))
        XCTAssertEqual(chart.items.map(\.label), ["a · sgd", "a · adam", "a · slow", "b · sgd", "b · adam", "b · slow"])
        XCTAssertEqual(chart.items.map(\.value), [20, 10, 40, 10, 30, nil])
        XCTAssertEqual(chart.items[5].note, "0/2 hit, median: missed")
        _ = try XMLNode.parse(chart.svg(standalone: true))
    }

    func testOnlyABenchmarksReportHasTheBenchmarkSection() throws {
        let data = try ReportData.load(from: try makeBenchmark(), experiment: "bm")
        let html = try XMLNode.parse(HTMLReport.render(data))
        let section = try XCTUnwrap(html.first { $0.name == "section" && $0.attributes["id"] == "benchmark" })
        XCTAssertEqual(section.all { $0.name == "svg" }.count, 2 * 2 + 2)

        let store = try ResultsStore(path: dbPath)
        let id = try store.beginRun(experiment: "plain", config: "{}", seed: 0, params: ["optimizer.lr": .text("0.1")])
        try store.appendMetric(runID: id, step: 1, name: "train_loss", value: 1)
        try store.finishRun(id: id, status: .completed)
        let plain = try ReportData.load(from: store, experiment: "plain")
        XCTAssertNil(plain.benchmark)
        XCTAssertFalse(HTMLReport.render(plain).contains("id=\"benchmark\""))
    }

    /// (x, y) pairs of an `M x y L x y ...` path.
    private func pathPoints(_ d: String) -> [(Double, Double)] {
        let numbers = d.split(whereSeparator: { $0 == " " || $0 == "M" || $0 == "L" || $0 == "Z" }).compactMap { Double($0) }
        return stride(from: 0, to: numbers.count - 1, by: 2).map { (numbers[$0], numbers[$0 + 1]) }
    }
}
