import Foundation
import XCTest
import TrainLabStore
@testable import TrainLabReport

/// The interactive page: the JSON it embeds, and (with Debian's chromium) the script run in a
/// real headless browser, whose `#selftest` mode drives the first chart.
final class ReportPageTests: XCTestCase {
    private var folder: URL!
    private var browser: Process?

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ReportPageTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let browser, browser.isRunning {
            browser.terminate()
            browser.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }

    /// 2 configs (lr 0.01, 0.1) × seeds 0 and 1, 300 steps of a positive, decaying train_loss and
    /// val_loss every 50 steps; seed 1 of lr 0.1 diverges at step 200 and carries the tag "<odd&>".
    private func makeStore() throws -> ResultsStore {
        let store = try ResultsStore(path: folder.appendingPathComponent("page.sqlite").path)
        for lr in ["0.01", "0.1"] {
            for seed in 0..<2 {
                let diverges = lr == "0.1" && seed == 1
                let id = try store.beginRun(experiment: "page", config: "{}", seed: seed,
                                            params: ["optimizer.lr": .text(lr), "seed": .text(String(seed))])
                for step in 1...(diverges ? 200 : 300) {
                    let value = diverges && step == 200 ? Double.nan
                        : 2 * exp(-Double(step) / (lr == "0.1" ? 40 : 120)) + 0.01 * Double(seed + 1)
                    try store.appendMetric(runID: id, step: step, name: "train_loss", value: value)
                    if step % 50 == 0 { try store.appendMetric(runID: id, step: step, name: "val_loss", value: value * 1.2) }
                }
                try store.finishRun(id: id, status: diverges ? .diverged : .completed, divergedStep: diverges ? 200 : nil)
                if diverges { try store.addTags(["<odd&>"], to: [id]) }
            }
        }
        return store
    }

    private func pageData(_ html: String) throws -> [String: Any] {
        let open = "<script type=\"application/json\" id=\"report-data\">"
        let start = try XCTUnwrap(html.range(of: open)).upperBound
        let end = try XCTUnwrap(html.range(of: "</script>", range: start..<html.endIndex)).lowerBound
        let text = String(html[start..<end])
        XCTAssertFalse(text.contains("<") || text.contains("&"), "markup characters are \\u-escaped in the JSON")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func testThePageEmbedsEveryRunsCurveForTheScript() throws {
        let data = try ReportData.load(from: try makeStore(), experiment: "page")
        let html = HTMLReport.render(data)
        _ = try XMLNode.parse(html)  // still well-formed XML with the scripts
        let page = try pageData(html)
        XCTAssertEqual(page["sweptKeys"] as? [String], ["optimizer.lr"])
        XCTAssertEqual(page["groupKeys"] as? [String], ["optimizer.lr"])
        XCTAssertEqual(page["live"] as? Bool, false)
        let runs = try XCTUnwrap(page["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.count, 4)
        let diverged = try XCTUnwrap(runs.first { $0["status"] as? String == "diverged" })
        XCTAssertEqual(diverged["tags"] as? [String], ["<odd&>"])
        // A param every run of a config shares is written once, on the config (the script
        // copies it onto its runs); the seed differs within a config, so it stays on the run.
        let configs = try XCTUnwrap(page["configs"] as? [[String: Any]])
        let config = try XCTUnwrap(configs.first { $0["id"] as? String == diverged["config"] as? String })
        XCTAssertEqual((config["params"] as? [String: String])?["optimizer.lr"], "0.1")
        XCTAssertNil((diverged["params"] as? [String: String])?["optimizer.lr"])
        XCTAssertNotNil((diverged["params"] as? [String: String])?["seed"])
        let charts = try XCTUnwrap(page["charts"] as? [[String: Any]])
        XCTAssertEqual(charts.map { $0["id"] as? String }, ["chart-train-loss", "chart-val-loss"],
                       "the ids of the static SVG charts the script redraws")
        let train = charts[0]
        XCTAssertEqual(train["first"] as? Double, 1)
        XCTAssertEqual(train["last"] as? Double, 300)
        let curves = try XCTUnwrap(train["runs"] as? [[String: Any]])
        XCTAssertEqual(curves.count, 4)
        // The diverged run: its 199 finite steps, raw (the page has room for 2 × 800 per run).
        let own = try XCTUnwrap(curves.first { ($0["run"] as? Int) == diverged["id"] as? Int })
        XCTAssertEqual((own["x"] as? [Double])?.count, 199)
        XCTAssertEqual((own["y"] as? [Double])?.first ?? 0, 2 * exp(-1.0 / 40) + 0.02, accuracy: 5e-4)
    }

    /// The script in headless chromium: its self-test hovers the first chart, clicks its first
    /// legend entry, drags a zoom and toggles the log axis, and reports each change it saw.
    func testTheScriptWorksInAHeadlessBrowser() throws {
        guard let chromium = Self.executable(among: ["chromium", "chromium-browser"]) else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail("chromium is not installed: .ci/run installs it (apt-get install -y chromium)")
                return
            }
            throw XCTSkip("chromium is not installed (apt-get install -y chromium); the browser test runs in CI")
        }
        let data = try ReportData.load(from: try makeStore(), experiment: "page")
        let file = folder.appendingPathComponent("page.html")
        try HTMLReport.render(data).write(to: file, atomically: true, encoding: .utf8)
        let url = file.absoluteString + "#selftest"
        let dom = try runBrowser(chromium, ["--dump-dom", url])
        let expected = "<pre id=\"selftest\">{\"hover\": true, \"legend\": true, \"zoom\": true, \"log\": true}</pre>"
        // Drawn by the script: a mean line per config on each of the 2 curve charts, and the diverged run's trace on each.
        let drawn = dom.components(separatedBy: "class=\"js-line\"").count - 1
        let traces = dom.components(separatedBy: "class=\"js-trace\"").count - 1
        if !dom.contains(expected) || drawn != 4 || traces != 2 {
            let shot = FileManager.default.temporaryDirectory.appendingPathComponent("trainlab-report-selftest-\(UUID().uuidString).png")
            _ = try? runBrowser(chromium, ["--screenshot=\(shot.path)", "--window-size=1000,2000", url])
            let seen = dom.range(of: "<pre id=\"selftest\">[^<]*</pre>", options: .regularExpression).map { String(dom[$0]) } ?? "no selftest output"
            XCTFail("the page's self-test in chromium: \(seen), \(drawn) lines and \(traces) traces drawn (want 4 and 2); "
                    + "screenshot: \(shot.path)")
        }
    }

    /// The page's state in its address, as a reload under `report --watch` finds it: zoom and a
    /// hidden series survive; group by nothing, a status filter and a sort recompute the chart
    /// and the runs table.
    func testThePageRestoresItsStateFromTheAddressInAHeadlessBrowser() throws {
        guard let chromium = Self.executable(among: ["chromium", "chromium-browser"]) else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("chromium is not installed"); return }
            throw XCTSkip("chromium is not installed (apt-get install -y chromium); the browser test runs in CI")
        }
        let data = try ReportData.load(from: try makeStore(), experiment: "page")
        let file = folder.appendingPathComponent("page.html")
        try HTMLReport.render(data).write(to: file, atomically: true, encoding: .utf8)
        func open(_ state: String) throws -> String {
            let hash = state.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            return try runBrowser(chromium, ["--dump-dom", file.absoluteString + "#" + hash])
        }
        let kept = try open(#"{"zoom":{"chart-train-loss":[100,200]},"hidden":{"config 1":1}}"#)
        XCTAssertTrue(kept.contains("data-x-domain=\"100 200\""), "the zoom is restored")
        XCTAssertEqual(kept.components(separatedBy: "class=\"item off\" data-series=\"config 1\"").count - 1, 2,
                       "config #1 hidden on both curve charts")
        XCTAssertEqual(kept.components(separatedBy: "class=\"js-line\"").count - 1, 2, "only config #2's lines drawn")

        // One group of the completed runs: one line per chart; the runs table lists those 3, highest id first.
        let grouped = try open(#"{"group":[],"status":"completed","sort":["run",-1]}"#)
        XCTAssertEqual(grouped.components(separatedBy: "class=\"js-line\" data-series=\"all runs\"").count - 1, 2)
        XCTAssertEqual(grouped.components(separatedBy: "class=\"js-trace\"").count - 1, 0, "the diverged run filtered out")
        let table = try XCTUnwrap(grouped.components(separatedBy: "<table class=\"runs\">").dropFirst().first?
            .components(separatedBy: "</table>").first)
        let rows = table.components(separatedBy: "<tr data-run=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        XCTAssertEqual(rows, ["3", "2", "1"], "runs 1, 2 (lr 0.01) and 3 (lr 0.1, seed 0) completed; 4 diverged")
    }

    /// Runs chromium headless on the page until it exits (it does once the virtual time budget,
    /// not wall time, is spent); a generous deadline only guards against a hung browser.
    private func runBrowser(_ chromium: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        let profile = folder.appendingPathComponent("profile-\(UUID().uuidString)").path
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile)",
                             "--virtual-time-budget=10000"] + arguments
        let output = folder.appendingPathComponent("browser-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        process.standardOutput = handle
        process.standardError = FileHandle.nullDevice
        browser = process
        try process.run()
        let deadline = Date().addingTimeInterval(300)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            XCTFail("chromium did not finish within 300 s")
        }
        return (try? String(contentsOf: output, encoding: .utf8)) ?? ""
    }

    static func executable(among names: [String]) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            for name in names {
                let candidate = "\(folder)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }
}
