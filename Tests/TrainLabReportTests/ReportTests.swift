import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import TrainLabStore
@testable import TrainLabReport

final class ReportTests: XCTestCase {
    private var folder: URL!
    private var dbPath: String { folder.appendingPathComponent("results.sqlite").path }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ReportTests-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// Experiment "demo", sgd, lr 0.01 and 0.1 × seeds 0 and 1 (configs #1 lr=0.01, #2 lr=0.1):
    ///   train_loss, steps 1 2 3   lr 0.01: seed 0: 4 2 1, seed 1: 2 2 1  -> mean 3 2 1, band 2-4, 2-2, 1-1
    ///                             lr 0.1:  seed 0: 3 1.5 0.5; seed 1 diverged: 3 50 NaN (stopped at 3)
    ///   val_loss, steps 0 3       lr 0.01: 4 0.01 and 4 0.03; lr 0.1: 4 0.02, diverged run 4 only
    ///   probe/{act,grad}_rms/layers.{0,1,2} at step 0 in every run
    private func makeDemo() throws -> ResultsStore {
        let store = try ResultsStore(path: dbPath)
        let runs: [(lr: String, seed: Int, train: [Double], val: [Double], status: RunStatus)] = [
            ("0.1", 0, [3, 1.5, 0.5], [4, 0.02], .completed),
            ("0.1", 1, [3, 50, .nan], [4], .diverged),
            ("0.01", 0, [4, 2, 1], [4, 0.01], .completed),
            ("0.01", 1, [2, 2, 1], [4, 0.03], .completed),
        ]
        for run in runs {
            let params = ["name": "demo", "optimizer.kind": "sgd", "optimizer.lr": run.lr, "seed": String(run.seed),
                          "loss": "mse", "task.kind": "linear_regression"]
            let id = try store.beginRun(experiment: "demo", config: "{}", seed: run.seed, params: params.mapValues { .text($0) })
            for layer in 0..<3 {
                let scale = run.lr == "0.1" ? 1.0 : 10.0
                try store.appendMetric(runID: id, step: 0, name: "probe/act_rms/layers.\(layer)", value: scale / Double(1 << layer))
                try store.appendMetric(runID: id, step: 0, name: "probe/grad_rms/layers.\(layer)", value: 0.001 * Double(layer + 1))
            }
            for (index, value) in run.val.enumerated() {
                try store.appendMetric(runID: id, step: index == 0 ? 0 : 3, name: "val_loss", value: value)
            }
            for (index, value) in run.train.enumerated() {
                try store.appendMetric(runID: id, step: index + 1, name: "train_loss", value: value)
            }
            try store.finishRun(id: id, status: run.status, divergedStep: run.status == .diverged ? 3 : nil)
        }
        return store
    }

    // MARK: Data shaping

    func testConfigsGroupRunsThatDifferOnlyBySeed() throws {
        let store = try makeDemo()
        let data = try ReportData.load(from: store, experiment: "demo")
        XCTAssertEqual(data.groupKeys, ["optimizer.lr"])
        XCTAssertEqual(data.configs.map(\.label), ["lr=0.01", "lr=0.1"])
        XCTAssertEqual(data.configs.map { $0.runs.count }, [2, 2])
        XCTAssertEqual(data.configs.map { $0.divergedRuns.count }, [0, 1])
        XCTAssertEqual(data.comparison.metric, "val_loss")
        XCTAssertEqual(data.curveMetrics, ["train_loss", "val_loss"])

        let curve = data.curves["train_loss"]![0]
        XCTAssertEqual(curve.points, [ChartPoint(x: 1, y: 3, low: 2, high: 4), ChartPoint(x: 2, y: 2, low: 2, high: 2),
                                      ChartPoint(x: 3, y: 1, low: 1, high: 1)])
        // The diverged run is drawn alone up to its last finite value; the mean is the other seed's.
        let second = data.curves["train_loss"]![1]
        XCTAssertEqual(second.points.map(\.y), [3, 1.5, 0.5])
        XCTAssertEqual(second.diverged.count, 1)
        XCTAssertEqual(second.diverged[0].points.map(\.y), [3, 50])

        XCTAssertEqual(data.probes["act_rms"]?[0].points.map(\.y), [10, 5, 2.5])
        XCTAssertEqual(data.probes["grad_rms"]?[1].points.map(\.x), [0, 1, 2])

        let rows = data.paramRows()
        XCTAssertEqual(rows.filter(\.differs).map(\.key), ["optimizer.lr"])
        XCTAssertEqual(rows.filter { !$0.differs }.map(\.key), ["loss", "name", "optimizer.kind", "task.kind"])
    }

    func testBadInputIsAResultsQueryError() throws {
        let store = try makeDemo()
        XCTAssertThrowsError(try ReportData.load(from: store, experiment: "nope")) { error in
            guard case ResultsQueryError.unknownExperiment(let name, let known)? = error as? ResultsQueryError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(name, "nope")
            XCTAssertEqual(known, ["demo"])
        }
        XCTAssertThrowsError(try ReportData.load(from: store, experiment: "demo", groupKeys: ["optimizer.betas"]))
        XCTAssertThrowsError(try ReportData.load(from: store, experiment: "demo", metric: "val_accuracy"))
        XCTAssertThrowsError(try ResultsStore.openForReading(path: folder.appendingPathComponent("missing.sqlite").path)) {
            XCTAssertEqual($0 as? ResultsQueryError, .missingDatabase(path: self.folder.appendingPathComponent("missing.sqlite").path))
        }
    }

    func testLabelsShortenKeysAndMergeKind() {
        let labels = ReportData.labels(keys: ["model.activation", "model.init.weight", "model.init.weight.kind", "optimizer.lr"],
                                       values: [["relu", "xavier_normal", nil, "0.1"], ["tanh", nil, "normal", "1"]])
        XCTAssertEqual(labels, ["activation=relu, weight=xavier_normal, lr=0.1", "activation=tanh, weight=normal, lr=1"])
        XCTAssertEqual(ReportData.shortNames(["a.lr", "b.lr", "c.momentum"]), ["a.lr", "b.lr", "momentum"])
        XCTAssertEqual(ReportData.labels(keys: [], values: [[]]), ["all runs"])
    }

    func testStylesUseDashesForOneKeyPastSevenConfigs() {
        let few = ReportData.styles(values: (0..<3).map { [String($0)] })
        XCTAssertEqual(few.map(\.color), Array(SeriesStyle.okabeIto.prefix(3)))
        // 2 optimizers × 5 weight decays: colour = weight decay, dash = optimizer.
        let values: [[String?]] = ["adam", "adamw"].flatMap { kind in ["0", "0.001", "0.01", "0.1", "1"].map { [kind, $0] } }
        let styles = ReportData.styles(values: values)
        XCTAssertEqual(styles[0].color, styles[5].color)
        XCTAssertNil(styles[0].dash)
        XCTAssertNotNil(styles[5].dash)
        XCTAssertEqual(Set(styles.map(\.color)).count, 5)
    }

    // MARK: Axis and SVG basics

    func testAxisNiceTicksAndLabels() {
        let axis = Axis.linear(from: 0.3, to: 2.7, label: "y")
        XCTAssertEqual(axis.lower, 0)
        XCTAssertEqual(axis.upper, 3, accuracy: 1e-12)
        XCTAssertEqual(axis.ticks.map(axis.tickLabel), ["0.0", "0.5", "1.0", "1.5", "2.0", "2.5", "3.0"])
        let steps = Axis.linear(from: 0, to: 2048, label: "step", extendToTicks: false)
        XCTAssertEqual(steps.ticks.map(steps.tickLabel), ["0", "500", "1000", "1500", "2000"])
        XCTAssertEqual(steps.upper, 2048)
        let small = Axis.linear(from: 0.0012, to: 0.0093, label: "y")
        XCTAssertEqual(small.ticks.map(small.tickLabel), ["0.000", "0.002", "0.004", "0.006", "0.008", "0.010"])

        let log = Axis.log(from: 0.003, to: 2.3, label: "loss")
        XCTAssertEqual(log.lower, 0.002, accuracy: 1e-15)
        XCTAssertEqual(log.upper, 5)
        XCTAssertEqual(log.ticks.map(log.tickLabel), ["0.01", "0.1", "1"])
        XCTAssertEqual(log.label, "loss (log scale)")
        let deep = Axis.log(from: 2.4e-13, to: 2.5e-3, label: "RMS (x)")
        XCTAssertEqual(deep.ticks.map(deep.tickLabel), ["1e-12", "1e-10", "1e-8", "1e-6", "1e-4"])
        XCTAssertEqual(deep.label, "RMS (x, log scale)")
        XCTAssertEqual(Axis.scientific(2.5e6), "2.5e6")
        XCTAssertEqual(Axis.scientific(1e-4), "1e-4")
        XCTAssertEqual(Axis.automatic([0.01, 5], label: "y")?.scale, .log)
        XCTAssertEqual(Axis.automatic([0.1, 5], label: "y")?.scale, .linear)
        XCTAssertEqual(Axis.automatic([-1, 500], label: "y")?.scale, .linear)
    }

    func testNumbersAndEscaping() {
        XCTAssertEqual(SVG.number(12), "12")
        XCTAssertEqual(SVG.number(12.5), "12.5")
        XCTAssertEqual(SVG.number(-0.25), "-0.25")
        XCTAssertEqual(SVG.number(0.05), "0.05")
        XCTAssertEqual(SVG.number(3.14159), "3.14")
        XCTAssertEqual(SVG.number(-0.001), "0")
        XCTAssertEqual(SVG.escaped("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;")
    }

    func testLineChartSwitchesToLogOverTwoDecades() throws {
        func chart(_ values: [Double]) throws -> XMLNode {
            let points = values.enumerated().map { ChartPoint(x: Double($0), y: $1, low: $1, high: $1) }
            let chart = LineChart(id: "c", title: "t <&>", xLabel: "step", yLabel: "loss",
                                  series: [LineSeries(id: "1", label: "a", style: .at(0), points: points)])
            return try XMLNode.parse(chart.svg(standalone: true))
        }
        let log = try chart([1, 0.1, 0.001])
        XCTAssertEqual(log.attributes["data-y-scale"], "log")
        XCTAssertEqual(log.all { $0.classes.contains("tick") && $0.classes.contains("y") }.map(\.text), ["0.001", "0.01", "0.1", "1"])
        XCTAssertEqual(log.first { $0.classes.contains("axis-label") && $0.classes.contains("y") }?.text, "loss (log scale)")
        XCTAssertEqual(log.first { $0.name == "title" }?.text, "t <&>")
        let linear = try chart([1, 0.5, 0.02])
        XCTAssertEqual(linear.attributes["data-y-scale"], "linear")
        XCTAssertEqual(linear.first { $0.classes.contains("axis-label") && $0.classes.contains("y") }?.text, "loss")
    }

    // MARK: The report

    func testLossChartHasOneMeanCurvePerConfigAtTheRightCoordinates() throws {
        let data = try ReportData.load(from: try makeDemo(), experiment: "demo")
        let svg = try XMLNode.parse(ReportCharts.curves(data, metric: "train_loss")!.svg(standalone: true))
        XCTAssertEqual(svg.attributes["data-y-scale"], "linear")

        let means = svg.all { $0.attributes["data-config"] != nil && ($0.name == "path" || $0.name == "polyline") }
        XCTAssertEqual(means.map { $0.attributes["data-config"]! }, ["1", "2"])

        // Lines and bands span 0.5 ... 4: step 0.5 ticks; the x axis runs from 0 to the last step, 3.
        let yTicks = svg.all { $0.classes.contains("tick") && $0.classes.contains("y") }.map(\.text)
        XCTAssertEqual(yTicks, ["0.5", "1.0", "1.5", "2.0", "2.5", "3.0", "3.5", "4.0"])
        XCTAssertEqual(svg.all { $0.classes.contains("tick") && $0.classes.contains("x") }.map(\.text),
                       ["0", "1", "2", "3"])
        let plot = try XCTUnwrap(svg.first { $0.classes.contains("plot-area") })
        let left = Double(plot.attributes["x"]!)!, top = Double(plot.attributes["y"]!)!
        let width = Double(plot.attributes["width"]!)!, height = Double(plot.attributes["height"]!)!
        // Config #1's mean: (1, 3), (2, 2), (3, 1).
        let expected = [(1.0, 3.0), (2.0, 2.0), (3.0, 1.0)].map { step, loss in
            (left + step / 3 * width, top + (4 - loss) / 3.5 * height)
        }
        let drawn = pathPoints(means[0].attributes["d"]!)
        XCTAssertEqual(drawn.count, 3)
        for (point, want) in zip(drawn, expected) {
            XCTAssertEqual(point.0, want.0, accuracy: 0.051, "paths are drawn to a tenth of a pixel")
            XCTAssertEqual(point.1, want.1, accuracy: 0.051)
        }

        // The diverged run: its own line through steps 1 and 2, a ✕ where it stopped, a legend entry.
        let diverged = svg.all { $0.classes.contains("diverged") }
        XCTAssertEqual(diverged.count, 1)
        XCTAssertEqual(diverged[0].attributes["data-of-config"], "2")
        XCTAssertEqual(pathPoints(diverged[0].attributes["d"]!).count, 2)
        XCTAssertEqual(svg.all { $0.classes.contains("diverged-end") }.count, 1)
        let legend = svg.all { $0.classes.contains("legend-item") }.compactMap { $0.first { $0.name == "text" }?.text }
        XCTAssertEqual(legend, ["#1 lr=0.01", "#2 lr=0.1 (1/2 diverged)", "diverged run, drawn until it stopped"])
    }

    func testValidationChartIsLogAndFinalChartShowsConfidenceIntervals() throws {
        let data = try ReportData.load(from: try makeDemo(), experiment: "demo")
        let val = try XMLNode.parse(ReportCharts.curves(data, metric: "val_loss")!.svg(standalone: true))
        XCTAssertEqual(val.attributes["data-y-scale"], "log")  // 4 down to 0.01: 2.6 decades

        let final = try XMLNode.parse(ReportCharts.finalComparison(data).svg(standalone: true))
        // lr 0.01: final val_loss 0.01 and 0.03: mean 0.02, s = 0.01414, t(0.975, 1) s / √2 = 12.706 · 0.01.
        let ci = final.all { $0.classes.contains("ci") }
        XCTAssertEqual(ci.count, 1)
        XCTAssertEqual(ci[0].attributes["data-config"], "1")
        XCTAssertEqual(Double(ci[0].attributes["data-low"]!)!, 0.02 - 0.12706, accuracy: 1e-6)
        XCTAssertEqual(Double(ci[0].attributes["data-high"]!)!, 0.02 + 0.12706, accuracy: 1e-6)
        let bars = final.all { $0.classes.contains("bar") }
        XCTAssertEqual(bars.map { Double($0.attributes["data-value"]!)! }, [0.02, 0.02])
        XCTAssertEqual(final.all { $0.classes.contains("sample") }.count, 3)  // the diverged run is not a sample
        let notes = final.all { $0.classes.contains("note") }.map(\.text)
        XCTAssertEqual(notes, ["0.02 ± 0.1271 (n=2)", "0.02 (n=1), 1 diverged"])
    }

    func testHTMLReportIsSelfContainedWellFormedAndHighlightsDifferingKeys() throws {
        let data = try ReportData.load(from: try makeDemo(), experiment: "demo")
        let html = HTMLReport.render(data)
        XCTAssertEqual(html, HTMLReport.render(data), "deterministic")
        for forbidden in ["http:", "https:", "src=", "@import", "<link", "<img", "fetch(", "xmlhttprequest", "import("] {
            XCTAssertFalse(html.lowercased().contains(forbidden), forbidden)
        }
        // Two inline scripts: the data (JSON) and the code; nothing loaded from elsewhere.
        XCTAssertEqual(html.components(separatedBy: "<script").count - 1, 2)
        XCTAssertTrue(html.contains("<script type=\"application/json\" id=\"report-data\">"))
        XCTAssertEqual(html.components(separatedBy: "url(").count - 1, html.components(separatedBy: "url(#").count - 1)

        let page = try XMLNode.parse(html)
        let charts = page.all { $0.name == "svg" && $0.classes.contains("chart") }
        XCTAssertEqual(charts.map { $0.attributes["id"]! },
                       ["chart-train-loss", "chart-val-loss", "chart-final-val-loss", "chart-probe-act-rms", "chart-probe-grad-rms"])
        let ids = page.all { $0.attributes["id"] != nil }.map { $0.attributes["id"]! }
        XCTAssertEqual(ids.count, Set(ids).count, "ids are unique")

        let table = try XCTUnwrap(page.first { $0.name == "table" && $0.classes.contains("configs") })
        XCTAssertEqual(table.all { $0.name == "th" && $0.classes.contains("differs") }.map { $0.attributes["data-key"]! },
                       ["optimizer.lr"])
        let rows = table.all { $0.name == "tr" && $0.attributes["data-config"] != nil }
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(rows.map { $0.first { $0.classes.contains("differs") }?.text }, ["0.01", "0.1"])
        XCTAssertEqual(rows.map { $0.first { $0.classes.contains("diverged") }?.text }, ["0", "1 (step 3)"])
        XCTAssertEqual(rows.map { $0.first { $0.classes.contains("final") }?.text }, ["0.02 ± 0.1271", "0.02"])
        let shared = page.all { $0.name == "tr" && $0.classes.contains("same") }.map { $0.attributes["data-key"]! }
        XCTAssertEqual(shared, ["loss", "name", "optimizer.kind", "task.kind"])
        XCTAssertTrue(page.all { $0.classes.contains("same") }.allSatisfy { !$0.classes.contains("differs") })

        // Probe charts: one line per config over layers 0, 1, 2.
        let probe = try XCTUnwrap(charts.first { $0.attributes["id"] == "chart-probe-act-rms" })
        XCTAssertEqual(probe.all { $0.attributes["data-config"] != nil && $0.name == "path" }.count, 2)
        XCTAssertEqual(probe.all { $0.classes.contains("tick") && $0.classes.contains("x") }.map(\.text), ["0", "1", "2"])
    }

    func testStandaloneSVGNamesOnlyTheSVGNamespace() throws {
        let data = try ReportData.load(from: try makeDemo(), experiment: "demo")
        for svg in [ReportCharts.curves(data, metric: "train_loss")!.svg(standalone: true),
                    ReportCharts.finalComparison(data).svg(standalone: true),
                    ReportCharts.probe(data, kind: "grad_rms")!.svg(standalone: true)] {
            XCTAssertTrue(svg.hasPrefix("<?xml"))
            let root = try XMLNode.parse(svg)
            XCTAssertEqual(root.name, "svg")
            XCTAssertEqual(root.attributes["xmlns"], SVG.namespace)
            XCTAssertEqual(svg.components(separatedBy: "http").count - 1, 1, "only the namespace")
            XCTAssertFalse(svg.contains("src="))
        }
    }

    // MARK: The final chart: axis inside the metric's range

    /// One bar per (mean, half-width, samples).
    private func barChart(_ rows: [(Double, Double?, [Double])], range: ClosedRange<Double>) -> BarChart {
        var chart = BarChart(id: "c", title: "t", valueLabel: "v", items: rows.enumerated().map { index, row in
            BarItem(id: String(index + 1), label: "#\(index + 1)", style: .at(index), value: row.0,
                    errorHalfWidth: row.1, samples: row.2, note: "")
        })
        chart.valueRange = range
        return chart
    }

    func testValueRangeFollowsTheMetricAndItsValues() {
        XCTAssertEqual(ReportCharts.valueRange(of: "val_accuracy", values: [0.5, 1]), 0...1)
        XCTAssertEqual(ReportCharts.valueRange(of: "val_ndcg", values: [0, 0.3]), 0...1)
        XCTAssertEqual(ReportCharts.valueRange(of: "val_accuracy", values: [55, 90]), 0...Double.infinity, "a percentage")
        XCTAssertEqual(ReportCharts.valueRange(of: "val_loss", values: [0.2, 3, .nan]), 0...Double.infinity)
        XCTAssertEqual(ReportCharts.valueRange(of: "reward", values: [-1, 2]), -Double.infinity...Double.infinity)
    }

    func testLossAxisStaysAtOrAboveZeroAndTheWhiskerIsClipped() throws {
        // Mean 0.02 ± 0.127: the interval reaches −0.107, a loss cannot.
        let chart = barChart([(0.02, 0.127, [0.01, 0.03]), (0.05, nil, [0.05])], range: 0...Double.infinity)
        let axis = try XCTUnwrap(chart.axis())
        XCTAssertEqual(axis.scale, .linear)
        XCTAssertEqual(axis.lower, 0)
        let bar = try XCTUnwrap(chart.errorBar(chart.items[0], on: axis))
        XCTAssertEqual(bar.low, 0)
        XCTAssertEqual(bar.high, 0.147, accuracy: 1e-12)
        XCTAssertTrue(bar.lowCut)
        XCTAssertFalse(bar.highCut)
        XCTAssertTrue(chart.cutsAnErrorBar)
        XCTAssertNil(chart.errorBar(chart.items[1], on: axis))

        let svg = try XMLNode.parse(chart.svg(standalone: true))
        let ci = try XCTUnwrap(svg.first { $0.classes.contains("ci") })
        XCTAssertEqual(ci.attributes["data-clipped"], "low")
        XCTAssertEqual(Double(ci.attributes["data-low"]!)!, -0.107, accuracy: 1e-9, "the interval itself is reported")
        XCTAssertEqual(ci.all { $0.classes.contains("ci-clipped") }.count, 1)
        XCTAssertFalse(svg.all { $0.classes.contains("tick") }.contains { $0.text.hasPrefix("-") })
        // The data are not clipped.
        XCTAssertEqual(svg.all { $0.classes.contains("bar") }.map { Double($0.attributes["data-value"]!)! }, [0.02, 0.05])
        XCTAssertEqual(svg.all { $0.classes.contains("sample") }.count, 3)

        // Unbounded metric: the axis runs below 0 and nothing is cut.
        let free = barChart([(0.02, 0.127, [0.01, 0.03])], range: -Double.infinity...Double.infinity)
        XCTAssertLessThan(try XCTUnwrap(free.axis()).lower, 0)
        XCTAssertEqual(free.errorBar(free.items[0], on: free.axis()!)?.lowCut, false)
        XCTAssertFalse(free.cutsAnErrorBar)
    }

    func testAccuracyAxisStaysAtOrBelowOneAndTheWhiskerIsClipped() throws {
        let chart = barChart([(0.97, 0.1, [0.95, 0.97, 0.99]), (0.6, 0.05, [0.58, 0.62])], range: 0...1)
        let axis = try XCTUnwrap(chart.axis())
        XCTAssertEqual(axis.lower, 0)
        XCTAssertEqual(axis.upper, 1)
        XCTAssertLessThanOrEqual(axis.ticks.max()!, 1)
        let clipped = try XCTUnwrap(chart.errorBar(chart.items[0], on: axis))
        XCTAssertEqual(clipped.high, 1)
        XCTAssertEqual(clipped.low, 0.87, accuracy: 1e-12)
        XCTAssertEqual([clipped.lowCut, clipped.highCut], [false, true])
        let inside = try XCTUnwrap(chart.errorBar(chart.items[1], on: axis))
        XCTAssertEqual([inside.lowCut, inside.highCut], [false, false])
        let svg = try XMLNode.parse(chart.svg(standalone: true))
        XCTAssertEqual(svg.all { $0.classes.contains("ci") }.map { $0.attributes["data-clipped"] }, ["high", nil])
    }

    func testFinalsSpanningMoreThanADecadeGetALogAxis() throws {
        let wide = barChart([(1e-3, 5e-4, [1e-3]), (0.1, nil, [0.1]), (1, 0.2, [0.9, 1.1])], range: 0...Double.infinity)
        let axis = try XCTUnwrap(wide.axis())
        XCTAssertEqual(axis.scale, .log)
        XCTAssertEqual(axis.lower, 1e-3, accuracy: 1e-15)
        XCTAssertEqual(axis.ticks.map(axis.tickLabel), ["0.001", "0.01", "0.1", "1"])
        XCTAssertEqual(try XMLNode.parse(wide.svg(standalone: true)).attributes["data-x-scale"], "log")
        // 12× is log (a bar of 0.05 beside 0.6 reads as nothing), 8× is linear.
        XCTAssertEqual(barChart([(0.05, nil, []), (0.6, nil, [])], range: 0...Double.infinity).axis()?.scale, .log)
        XCTAssertEqual(barChart([(0.05, nil, []), (0.4, nil, [])], range: 0...Double.infinity).axis()?.scale, .linear)
        XCTAssertFalse(Axis.prefersLog(lower: 0.05, upper: 0.6))
        XCTAssertTrue(Axis.prefersLog(lower: 0.05, upper: 0.6, decades: 1))
    }

    func testTheReportsFinalChartUsesTheMetricsRange() throws {
        let data = try ReportData.load(from: try makeDemo(), experiment: "demo")
        let chart = ReportCharts.finalComparison(data)
        XCTAssertEqual(chart.valueRange, 0...Double.infinity)
        XCTAssertEqual(chart.axis()?.lower, 0)
        XCTAssertTrue(chart.subtitle!.hasSuffix("An arrowhead ends an error bar cut where the axis, or the values val_loss can take, end."))
    }

    // MARK: Many configs

    func testTwelveConfigsGetTwelveDistinctColourAndDashPairs() throws {
        func pairs(_ styles: [SeriesStyle]) -> Set<String> { Set(styles.map { $0.color + "/" + ($0.dash ?? "solid") }) }
        XCTAssertEqual(pairs((0..<12).map(SeriesStyle.at)).count, 12)
        XCTAssertEqual(pairs((0..<28).map(SeriesStyle.at)).count, 28)
        // One key with 12 values; 3 optimizers × 4 learning rates; 12 values of one key beside another.
        let oneKey: [[String?]] = (0..<12).map { [String($0)] }
        let grid: [[String?]] = ["adam", "adamw", "sgd"].flatMap { kind in ["1e-4", "1e-3", "1e-2", "1e-1"].map { [kind, $0] } }
        let wide: [[String?]] = (0..<12).map { [String($0), $0 < 6 ? "a" : "b"] }
        for values in [oneKey, grid, wide] {
            XCTAssertEqual(pairs(ReportData.styles(values: values)).count, 12, "\(values)")
        }

        // The legend draws each line's dash.
        let series = (0..<12).map { (index: Int) -> LineSeries in
            let value = Double(index)
            return LineSeries(id: String(index + 1), label: "config \(index + 1)", style: SeriesStyle.at(index),
                              points: [ChartPoint(x: 0, y: value, low: value, high: value)])
        }
        let svg = try XMLNode.parse(LineChart(id: "c", title: "t", xLabel: "x", yLabel: "y", series: series).svg(standalone: true))
        let symbols = svg.all { $0.classes.contains("legend-item") }.compactMap { $0.first { $0.name == "line" } }
        XCTAssertEqual(symbols.count, 12)
        let drawn = Set(symbols.map { ($0.attributes["stroke"] ?? "") + "/" + ($0.attributes["stroke-dasharray"] ?? "solid") })
        XCTAssertEqual(drawn.count, 12)
        let means = svg.all { $0.classes.contains("mean") }
        XCTAssertEqual(Set(means.map { $0.attributes["stroke"]! + "/" + ($0.attributes["stroke-dasharray"] ?? "solid") }).count, 12)
    }

    func testFinalChartBarsCarryTheirConfigsLabel() throws {
        let data = try ReportData.load(from: try makeDemo(), experiment: "demo")
        let svg = try XMLNode.parse(ReportCharts.finalComparison(data).svg(standalone: true))
        let labels = svg.all { $0.attributes["data-row-config"] != nil }
            .map { row in (row.attributes["data-row-config"]!, row.all { $0.classes.contains("row-label") }.map(\.text).joined()) }
        XCTAssertEqual(labels.map(\.0), ["1", "2"])
        XCTAssertEqual(labels.map(\.1), ["#1 lr=0.01", "#2 lr=0.1"])
    }

    // MARK: Smoothing

    func testExponentialMovingAverageIsDebiased() {
        // ema: 0.5, 0.25, 0.125; debiased by 1 − 0.5^t = 0.5, 0.75, 0.875.
        let smoothed = ReportData.exponentialMovingAverage([1, 0, 0], smoothing: 0.5)
        XCTAssertEqual(smoothed.count, 3)
        for (value, want) in zip(smoothed, [1.0, 1.0 / 3, 1.0 / 7]) { XCTAssertEqual(value, want, accuracy: 1e-12) }
        // A constant stays put; weight 0 is the raw series.
        for value in ReportData.exponentialMovingAverage([2, 2, 2, 2], smoothing: 0.9) { XCTAssertEqual(value, 2, accuracy: 1e-12) }
        XCTAssertEqual(ReportData.exponentialMovingAverage([3, 1, 4], smoothing: 0), [3, 1, 4])
        XCTAssertEqual(ReportData.exponentialMovingAverage([Double](), smoothing: 0.9), [])

        let points = ReportData.exponentialMovingAverage(
            [ChartPoint(x: 1, y: 1, low: 0, high: 2), ChartPoint(x: 2, y: 0, low: 0, high: 0)], smoothing: 0.5)
        XCTAssertEqual(points.map(\.x), [1, 2])
        XCTAssertEqual(points.map(\.low), [0, 0])
        XCTAssertEqual(points[1].y, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(points[1].high, 2.0 / 3, accuracy: 1e-12)
    }

    func testSmoothingAppliesToTrainLossOnlyAndIsLabelled() throws {
        let store = try makeDemo()
        let raw = try ReportData.load(from: store, experiment: "demo")
        let data = try ReportData.load(from: store, experiment: "demo", smoothing: 0.5)
        XCTAssertEqual(data.smoothing, 0.5)
        // Config #1's train_loss 3 2 1 (band 2-4, 2-2, 1-1): ema 1.5, 1.75, 1.375 over 0.5, 0.75, 0.875.
        let curve = data.curves["train_loss"]![0].points
        for (value, want) in zip(curve.map(\.y), [3.0, 7.0 / 3, 11.0 / 7]) { XCTAssertEqual(value, want, accuracy: 1e-12) }
        XCTAssertEqual(curve[0].low, 2)
        XCTAssertEqual(curve[0].high, 4)
        // The diverged run 3, 50 is smoothed too.
        let trace = data.curves["train_loss"]![1].diverged[0].points.map(\.y)
        XCTAssertEqual(trace[1], (0.25 * 3 + 0.5 * 50) / 0.75, accuracy: 1e-12)
        XCTAssertEqual(data.curves["val_loss"], raw.curves["val_loss"])
        XCTAssertEqual(data.configs.map(\.group), raw.configs.map(\.group), "final values are not smoothed")

        let svg = try XMLNode.parse(ReportCharts.curves(data, metric: "train_loss")!.svg(standalone: true))
        XCTAssertEqual(svg.first { $0.classes.contains("title") }?.text, "Training loss: train_loss (EMA 0.5) by step")
        XCTAssertEqual(svg.first { $0.classes.contains("axis-label") && $0.classes.contains("y") }?.text, "train_loss (EMA 0.5, mse)")
        XCTAssertTrue(svg.all { $0.classes.contains("subtitle") }.map(\.text).joined(separator: " ").contains("ema_t = 0.5·ema_{t−1} + 0.5·x_t"))
        let val = try XMLNode.parse(ReportCharts.curves(data, metric: "val_loss")!.svg(standalone: true))
        XCTAssertFalse(val.text.contains("EMA"))
        let unsmoothed = try XMLNode.parse(ReportCharts.curves(raw, metric: "train_loss")!.svg(standalone: true))
        XCTAssertFalse(unsmoothed.text.contains("EMA"))
        XCTAssertEqual(ReportCharts.describe("train_loss", unit: nil, smoothing: 0.9).axis, "train_loss (EMA 0.9)")
    }

    /// (x, y) pairs of an `M x y L x y ...` path.
    private func pathPoints(_ d: String) -> [(Double, Double)] {
        let numbers = d.split(whereSeparator: { $0 == " " || $0 == "M" || $0 == "L" || $0 == "Z" }).compactMap { Double($0) }
        return stride(from: 0, to: numbers.count - 1, by: 2).map { (numbers[$0], numbers[$0 + 1]) }
    }
}

/// A parsed XML element: enough of a DOM to query the report's SVG and XHTML.
final class XMLNode {
    let name: String
    let attributes: [String: String]
    var children: [XMLNode] = []
    /// Text of this element and its descendants.
    var text: String { ownText + children.map { $0.text + $0.trailing }.joined() }
    fileprivate var ownText = ""

    init(name: String, attributes: [String: String]) {
        self.name = name
        self.attributes = attributes
    }

    var classes: [String] { (attributes["class"] ?? "").split(separator: " ").map(String.init) }

    /// This element and its descendants, in document order, that satisfy `predicate`.
    func all(_ predicate: (XMLNode) -> Bool) -> [XMLNode] {
        (predicate(self) ? [self] : []) + children.flatMap { $0.all(predicate) }
    }

    func first(_ predicate: (XMLNode) -> Bool) -> XMLNode? { all(predicate).first }

    /// The root element of `text`; throws when it is not well-formed XML.
    static func parse(_ text: String) throws -> XMLNode {
        let builder = Builder()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else {
            throw NSError(domain: "XMLNode", code: 1, userInfo: [
                NSLocalizedDescriptionKey: "not well-formed at line \(parser.lineNumber): \(parser.parserError.map { "\($0)" } ?? "?")"])
        }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var root: XMLNode?
        var stack: [XMLNode] = []

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            let node = XMLNode(name: name, attributes: attributes)
            if let parent = stack.last { parent.children.append(node) } else { root = node }
            stack.append(node)
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            stack.removeLast()
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard let node = stack.last else { return }
            // Keep document order roughly: text goes to the last child when there is one.
            if let last = node.children.last { last.trailing += string } else { node.ownText += string }
        }
    }

    /// Text after this element, inside its parent (counted in the parent's text).
    fileprivate var trailing = ""
}
