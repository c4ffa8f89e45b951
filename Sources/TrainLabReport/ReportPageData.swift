import Foundation
import TrainLabStore

/// The data the report page's script draws from, embedded as JSON in
/// `<script type="application/json" id="report-data">`: the runs (status, tags, the params that
/// differ within their config, final metric), the configs' labels, styles and the params their
/// runs share, and per curve chart each run's
/// downsampled curve on the chart's column grid. `<`, `>` and `&` are written as `\u003c`...,
/// so the block can never close the element early and the page stays well-formed XML.
public enum ReportPageData {
    /// `live`: the page is being rewritten by `report --watch` and reloads itself every
    /// `reloadSeconds`.
    public static func json(_ data: ReportData, live: Bool = false, reloadSeconds: Double = 5) -> String {
        let swept = data.paramRows().filter(\.differs).map(\.key)
        let metric = data.comparison.metric
        var configs: [JSONValue] = [], runs: [JSONValue] = []
        for config in data.configs {
            // A param every run of the config has with one value is written once, on the config
            // (the script copies it onto the runs): a benchmark's hundreds of runs share most.
            let keys = swept + ["seed"]
            let sharedValues = keys.compactMap { key -> (String, JSONValue)? in
                guard let value = config.runs.first?.params[key], config.runs.allSatisfy({ $0.params[key] == value }) else { return nil }
                return (key, .string(value))
            }
            let shared = Set(sharedValues.map(\.0))
            configs.append(.object([
                ("id", .string(config.id)), ("label", .string(ReportCharts.legendLabel(config))),
                ("color", .string(config.style.color)), ("dash", config.style.dash.map(JSONValue.string) ?? .null),
                ("params", .object(sharedValues)),
            ]))
            for overview in config.runs {
                let run = overview.run
                let params = keys.filter { !shared.contains($0) }
                    .compactMap { key in overview.params[key].map { (key, JSONValue.string($0)) } }
                var fields: [(String, JSONValue)] = [
                    ("id", .number(Double(run.id))), ("config", .string(config.id)), ("status", .string(run.status.rawValue)),
                    ("params", .object(params)),
                ]
                if !run.tags.isEmpty { fields.append(("tags", .array(run.tags.map(JSONValue.string)))) }
                if let final = overview.summaries[metric]?.finalValue { fields.append(("final", .value(final))) }
                runs.append(.object(fields))
            }
        }
        var charts: [JSONValue] = []
        for name in data.curveMetrics {
            guard let curves = data.runCurves[name], let grid = data.runColumns[name],
                  let chart = ReportCharts.curves(data, metric: name) else { continue }
            let unit = ReportCharts.unit(of: name, in: data)
            let (_, axis) = ReportCharts.describe(name, unit: unit)
            charts.append(.object([
                ("id", .string(chart.id)), ("metric", .string(name)), ("title", .string(chart.title)),
                ("xLabel", .string(chart.xLabel)), ("yLabel", .string(axis)),
                ("yScale", .string(chart.axes()?.y.scale.rawValue ?? "linear")),
                ("first", .number(grid.first)), ("last", .number(grid.last)), ("columns", .number(Double(grid.columns))),
                ("runs", .array(curves.filter { !$0.points.isEmpty }.map { trace in
                    .object([("run", .number(Double(trace.runID))),
                             ("x", .array(trace.points.map { .number($0.x) })),
                             ("y", .array(trace.points.map { .value($0.y) }))])
                })),
            ]))
        }
        let page: JSONValue = .object([
            ("experiment", .string(data.experiment)), ("metric", .string(metric)),
            ("groupKeys", .array(data.groupKeys.map(JSONValue.string))), ("sweptKeys", .array(swept.map(JSONValue.string))),
            ("smoothing", data.smoothing.map(JSONValue.number) ?? .null),
            ("live", .bool(live)), ("reloadSeconds", .number(reloadSeconds)),
            ("configs", .array(configs)), ("runs", .array(runs)), ("charts", .array(charts)),
        ])
        return page.text
    }
}

/// Just enough JSON for the page: objects keep their key order (deterministic output), numbers
/// are short (`value`: 5 significant digits), non-finite numbers are null.
indirect enum JSONValue {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([(String, JSONValue)])

    /// A measured value: 4 significant digits, as the tooltip shows it.
    static func value(_ number: Double) -> JSONValue { .number(Double(String(format: "%.4g", number)) ?? number) }

    var text: String {
        switch self {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let number):
            guard number.isFinite else { return "null" }
            if number == number.rounded() && abs(number) < 1e15 { return String(Int64(number)) }
            return String(format: "%.6g", number)
        case .string(let string): return Self.quoted(string)
        case .array(let items): return "[" + items.map(\.text).joined(separator: ",") + "]"
        case .object(let pairs): return "{" + pairs.map { Self.quoted($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
        }
    }

    static func quoted(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "<", ">", "&": out += String(format: "\\u%04x", scalar.value)
            case let c where c.value < 0x20 || c.value == 0x2028 || c.value == 0x2029: out += String(format: "\\u%04x", c.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
