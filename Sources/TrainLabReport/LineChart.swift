import Foundation

/// One point of a series: the line's value `y` and its band `low...high` at `x`.
public struct ChartPoint: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public var low: Double
    public var high: Double

    public init(x: Double, y: Double, low: Double, high: Double) {
        self.x = x
        self.y = y
        self.low = low
        self.high = high
    }
}

/// A single run drawn beside its series' mean: a thin line, ending in a ✕ (a run that diverged,
/// drawn until it stopped).
public struct ChartTrace: Sendable, Equatable {
    public var runID: Int64
    public var points: [ChartPoint]

    public init(runID: Int64, points: [ChartPoint]) {
        self.runID = runID
        self.points = points
    }
}

/// A line with a band (the spread over seeds) and optional traces, in one style.
public struct LineSeries: Sendable, Equatable {
    /// `data-config` of the series' elements.
    public var id: String
    public var label: String
    public var style: SeriesStyle
    public var points: [ChartPoint]
    public var traces: [ChartTrace]
    /// x positions of settings that gave no value (a tuning trial that diverged or failed): a ✕
    /// on the plot's worst edge (see `LineChart.failuresAtBottom`), so they are shown, not dropped.
    public var failures: [Double]
    /// Draw the band; false where it says nothing (one run: its low and high are the line's own).
    public var band = true

    public init(id: String, label: String, style: SeriesStyle, points: [ChartPoint], traces: [ChartTrace] = [],
                failures: [Double] = [], band: Bool = true) {
        self.band = band
        self.id = id
        self.label = label
        self.style = style
        self.points = points
        self.traces = traces
        self.failures = failures
    }
}

/// A line chart as SVG: title and subtitle, x and y axes with ticks, grid and labels, one line
/// per series (`<path class="mean" data-config=...>`) over its band (`class="band"`), traces
/// clipped to the plot, and a legend under the plot.
///
/// The y axis is log10 when `yScale` is `.automatic` and the series' values (lines and bands;
/// traces only when there is nothing else) are positive and span more than two decades. Traces
/// leaving the plot are clipped; their ✕ is kept at the plot's edge.
public struct LineChart: Sendable {
    public enum ScaleChoice: Sendable { case automatic, linear, log }

    public var id: String
    public var title: String
    public var subtitle: String?
    public var xLabel: String
    public var yLabel: String
    public var series: [LineSeries]
    public var yScale: ScaleChoice = .automatic
    /// `.log` draws x on a log10 axis (a learning rate) when every x is positive; otherwise linear.
    public var xScale: ScaleChoice = .linear
    /// A fixed y domain (a share, 0...1) instead of one fitted to the data.
    public var yDomain: ClosedRange<Double>?
    /// Failures (`LineSeries.failures`) are marked at the bottom edge (higher is better) rather
    /// than the top (lower is better).
    public var failuresAtBottom = false
    /// The legend's words for a failure mark.
    public var failureLabel = "no value (diverged or failed)"
    /// x ticks wanted (about); the x axis spans the data (from 0 when `xFromZero`).
    public var xTargetTicks = 6
    public var xFromZero = true
    /// x ticks on integers only (steps, layer indices).
    public var xIntegerTicks = true
    public var width = 900.0
    public var plotHeight = 300.0
    /// Series with at most this many points get a dot at each point.
    public var dotsUpTo = 25

    public init(id: String, title: String, subtitle: String? = nil, xLabel: String, yLabel: String,
                series: [LineSeries]) {
        self.id = id
        self.title = title
        self.subtitle = subtitle
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    static let titleSize = 15.0, subtitleSize = 12.0, tickSize = 11.0, labelSize = 12.0

    /// The x and y axes; nil when no series has a finite point.
    public func axes() -> (x: Axis, y: Axis)? {
        let main = series.flatMap(\.points)
        let traced = series.flatMap { $0.traces.flatMap(\.points) }
        let xs = ((main + traced).map(\.x) + series.flatMap(\.failures)).filter(\.isFinite)
        guard var xLow = xs.min(), let xHigh = xs.max() else { return nil }
        let xAxis: Axis
        if xScale == .log && xLow > 0 {
            xAxis = .log(from: xLow, to: xHigh, label: xLabel)
        } else {
            if xFromZero { xLow = min(xLow, 0) }
            xAxis = .linear(from: xLow, to: xHigh, label: xLabel, targetTicks: xTargetTicks, extendToTicks: false,
                            minimumStep: xIntegerTicks ? 1 : 0)
        }

        if let yDomain {
            return (xAxis, .linear(from: yDomain.lowerBound, to: yDomain.upperBound, label: yLabel))
        }
        let forRange = main.isEmpty ? traced : main
        guard let (yLow, yHigh) = Self.yRange(forRange) else {
            // Only failures: an empty plot that still marks them.
            return series.contains { !$0.failures.isEmpty } ? (xAxis, .linear(from: 0, to: 1, label: yLabel)) : nil
        }
        let yAxis: Axis
        switch yScale {
        case .automatic:
            yAxis = Axis.prefersLog(lower: yLow, upper: yHigh)
                ? .log(from: yLow, to: yHigh, label: yLabel) : .linear(from: yLow, to: yHigh, label: yLabel)
        case .linear: yAxis = .linear(from: yLow, to: yHigh, label: yLabel)
        case .log where yLow > 0: yAxis = .log(from: yLow, to: yHigh, label: yLabel)
        case .log: yAxis = .linear(from: yLow, to: yHigh, label: yLabel)
        }
        return (xAxis, yAxis)
    }

    /// The y range to show: lines and bands, except on a log axis, where a band reaches at most a
    /// decade beyond the lines: a band much wider than the lines (single-example losses at batch
    /// size 1 reach 1e-8) is clipped rather than squeezing the lines into a corner.
    static func yRange(_ points: [ChartPoint]) -> (low: Double, high: Double)? {
        let lines = points.map(\.y).filter(\.isFinite)
        guard let lineLow = lines.min(), let lineHigh = lines.max() else { return nil }
        let bandLow = points.map(\.low).filter(\.isFinite).min() ?? lineLow
        let bandHigh = points.map(\.high).filter(\.isFinite).max() ?? lineHigh
        if Axis.prefersLog(lower: lineLow, upper: lineHigh) || (lineLow > 0 && bandLow > 0
            && Axis.prefersLog(lower: max(bandLow, lineLow / 10), upper: min(bandHigh, lineHigh * 10))) {
            return (max(min(bandLow, lineLow), lineLow / 10), min(max(bandHigh, lineHigh), lineHigh * 10))
        }
        return (min(bandLow, lineLow), max(bandHigh, lineHigh))
    }

    /// The plot rectangle in SVG coordinates.
    public struct Frame: Sendable, Equatable {
        public var left, top, width, height: Double
        public var right: Double { left + width }
        public var bottom: Double { top + height }
    }

    /// Past this many series the legend is one line naming where the styles are listed: hundreds
    /// of entries would be taller than the plot, and most of the file.
    public static let legendEntriesUpTo = 60

    var legendEntries: [Legend.Entry] {
        guard series.count <= Self.legendEntriesUpTo else {
            return [Legend.Entry(symbol: .line(series[0].style), label: "\(series.count) series: each config's colour and dash are in the configs table", id: nil)]
        }
        // Series that look alike and say the same (an adaptive search's pruned trials) share one entry.
        var entries: [Legend.Entry] = []
        var seen: [(SeriesStyle, String)] = []
        for s in series where !seen.contains(where: { $0.0 == s.style && $0.1 == s.label }) {
            seen.append((s.style, s.label))
            entries.append(Legend.Entry(symbol: .line(s.style), label: s.label, id: s.id))
        }
        if series.contains(where: { !$0.traces.isEmpty }) {
            entries.append(Legend.Entry(symbol: .divergedTrace, label: "diverged run, drawn until it stopped", id: nil))
        }
        if series.contains(where: { !$0.failures.isEmpty }) {
            entries.append(Legend.Entry(symbol: .cross, label: failureLabel, id: nil))
        }
        return entries
    }

    func subtitleLines() -> [String] {
        guard let subtitle else { return [] }
        return wrapped(subtitle, width: width - 32, fontSize: Self.subtitleSize)
    }

    /// The plot rectangle for these axes.
    public func frame(y yAxis: Axis) -> Frame {
        let widestTick = yAxis.ticks.map { SVG.textWidth(yAxis.tickLabel($0), fontSize: Self.tickSize) }.max() ?? 0
        let left = (16 + Self.labelSize + 10 + widestTick + 8).rounded()
        let top = 30 + Double(subtitleLines().count) * 16 + 12
        return Frame(left: left, top: top, width: width - left - 24, height: plotHeight)
    }

    /// The chart as an `<svg>` element; `standalone` makes it a complete SVG file.
    public func svg(standalone: Bool = false) -> String {
        guard let (xAxis, yAxis) = axes() else {
            return emptySVG(standalone: standalone)
        }
        let frame = frame(y: yAxis)
        let legend = Legend(entries: legendEntries, width: width - frame.left - 16)
        let legendTop = frame.bottom + 50
        let height = legendTop + legend.height + 12
        func px(_ x: Double) -> Double { frame.left + xAxis.fraction(x) * frame.width }
        func py(_ y: Double) -> Double { frame.top + (1 - yAxis.fraction(y)) * frame.height }
        func clampedY(_ y: Double) -> Double { min(max(py(y), frame.top), frame.bottom) }
        let clipID = "\(id)-clip"

        var out: [String] = [SVG.open(width: width, height: height, title: title, standalone: standalone, id: id,
                                      extra: [("data-x-scale", xAxis.scale.rawValue), ("data-y-scale", yAxis.scale.rawValue)])]
        out.append("<defs><clipPath id=\"\(SVG.escaped(clipID))\">"
                   + SVG.element("rect", [("x", SVG.number(frame.left)), ("y", SVG.number(frame.top)),
                                          ("width", SVG.number(frame.width)), ("height", SVG.number(frame.height))])
                   + "</clipPath></defs>")
        out.append(SVG.text(title, x: 16, y: 24, size: Self.titleSize, weight: "bold", extra: [("class", "title")]))
        for (index, line) in subtitleLines().enumerated() {
            out.append(SVG.text(line, x: 16, y: 44 + Double(index) * 16, size: Self.subtitleSize, fill: "#555555",
                                extra: [("class", "subtitle")]))
        }
        out.append(SVG.element("rect", [("class", "plot-area"), ("x", SVG.number(frame.left)),
                                        ("y", SVG.number(frame.top)), ("width", SVG.number(frame.width)),
                                        ("height", SVG.number(frame.height)), ("fill", "#ffffff")]))

        // Grid and ticks.
        out.append("<g class=\"grid\">")
        for tick in yAxis.minorTicks {
            out.append(SVG.line(x1: frame.left, y1: py(tick), x2: frame.right, y2: py(tick), stroke: "#f1f1f1"))
        }
        for tick in yAxis.ticks {
            out.append(SVG.line(x1: frame.left, y1: py(tick), x2: frame.right, y2: py(tick), stroke: "#e3e3e3"))
        }
        for tick in xAxis.ticks {
            out.append(SVG.line(x1: px(tick), y1: frame.top, x2: px(tick), y2: frame.bottom, stroke: "#eeeeee"))
        }
        out.append("</g>")

        // Bands, then traces, then lines, clipped to the plot.
        out.append("<g clip-path=\"url(#\(SVG.escaped(clipID)))\">")
        for line in series where !line.points.isEmpty && line.band {
            let upper = line.points.map { (x: px($0.x), y: py($0.high)) }
            let lower = line.points.reversed().map { (x: px($0.x), y: py($0.low)) }
            out.append(SVG.element("path", [("class", "band"), ("data-band", line.id),
                                            ("d", SVG.pathData(upper + lower) + " Z"), ("fill", line.style.color),
                                            ("fill-opacity", "0.14"), ("stroke", "none")]))
        }
        for line in series {
            for trace in line.traces where !trace.points.isEmpty {
                var pairs: [(String, String)] = [
                    ("class", "diverged"), ("data-run", String(trace.runID)), ("data-of-config", line.id),
                    ("d", SVG.pathData(trace.points.map { (x: px($0.x), y: py($0.y)) })), ("fill", "none"),
                    ("stroke", line.style.color), ("stroke-width", "1.2"), ("stroke-opacity", "0.8"),
                ]
                if let dash = line.style.dash { pairs.append(("stroke-dasharray", dash)) }
                out.append(SVG.element("path", pairs))
            }
        }
        for line in series where !line.points.isEmpty {
            var pairs: [(String, String)] = [
                ("class", "mean"), ("data-config", line.id),
                ("d", SVG.pathData(line.points.map { (x: px($0.x), y: py($0.y)) })), ("fill", "none"),
                ("stroke", line.style.color), ("stroke-width", "2"), ("stroke-linejoin", "round"),
            ]
            if let dash = line.style.dash { pairs.append(("stroke-dasharray", dash)) }
            out.append(SVG.element("path", pairs))
            if line.points.count <= dotsUpTo {
                for point in line.points {
                    out.append(SVG.element("circle", [("class", "point"), ("cx", SVG.number(px(point.x))),
                                                      ("cy", SVG.number(py(point.y))), ("r", "2.5"),
                                                      ("fill", line.style.color)]))
                }
            }
        }
        out.append("</g>")
        // Where each diverged run stopped, kept inside the plot.
        for line in series {
            for trace in line.traces {
                guard let last = trace.points.last else { continue }
                let x = min(max(px(last.x), frame.left), frame.right)
                out.append(crossMark(x: x, y: clampedY(last.y), color: line.style.color,
                                     extra: [("class", "diverged-end"), ("data-run", String(trace.runID))]))
            }
        }
        for line in series {
            for x in line.failures {
                out.append(crossMark(x: px(x), y: failuresAtBottom ? frame.bottom - 6 : frame.top + 6, color: line.style.color,
                                     extra: [("class", "failure"), ("data-config", line.id), ("data-x", SVG.dataValue(x))]))
            }
        }

        // Axes: lines, tick labels, titles.
        out.append(SVG.line(x1: frame.left, y1: frame.bottom, x2: frame.right, y2: frame.bottom, stroke: "#333333"))
        out.append(SVG.line(x1: frame.left, y1: frame.top, x2: frame.left, y2: frame.bottom, stroke: "#333333"))
        for tick in yAxis.ticks {
            out.append(SVG.line(x1: frame.left - 4, y1: py(tick), x2: frame.left, y2: py(tick), stroke: "#333333"))
            out.append(SVG.text(yAxis.tickLabel(tick), x: frame.left - 7, y: py(tick) + 4, size: Self.tickSize,
                                anchor: "end", extra: [("class", "tick y")]))
        }
        for tick in xAxis.ticks {
            out.append(SVG.line(x1: px(tick), y1: frame.bottom, x2: px(tick), y2: frame.bottom + 4, stroke: "#333333"))
            out.append(SVG.text(xAxis.tickLabel(tick), x: px(tick), y: frame.bottom + 17, size: Self.tickSize,
                                anchor: "middle", extra: [("class", "tick x")]))
        }
        out.append(SVG.text(xAxis.label, x: frame.left + frame.width / 2, y: frame.bottom + 36, size: Self.labelSize,
                            anchor: "middle", extra: [("class", "axis-label x")]))
        let yMiddle = frame.top + frame.height / 2
        out.append(SVG.text(yAxis.label, x: 0, y: 0, size: Self.labelSize, anchor: "middle",
                            extra: [("class", "axis-label y"),
                                    ("transform", "translate(\(SVG.number(20)) \(SVG.number(yMiddle))) rotate(-90)")]))
        out.append(legend.svg(x: frame.left, y: legendTop))
        out.append("</svg>")
        return out.joined(separator: "\n")
    }

    func emptySVG(standalone: Bool) -> String {
        [SVG.open(width: width, height: 80, title: title, standalone: standalone, id: id),
         SVG.text(title, x: 16, y: 24, size: Self.titleSize, weight: "bold", extra: [("class", "title")]),
         SVG.text("no finite values to draw", x: 16, y: 50, size: Self.subtitleSize, fill: "#555555"),
         "</svg>"].joined(separator: "\n")
    }
}

/// `text` broken at spaces into lines that fit `width` at `fontSize`.
func wrapped(_ text: String, width: Double, fontSize: Double) -> [String] {
    var lines: [String] = [], current = ""
    for word in text.split(separator: " ") {
        let candidate = current.isEmpty ? String(word) : current + " " + word
        if !current.isEmpty && SVG.textWidth(candidate, fontSize: fontSize) > width {
            lines.append(current)
            current = String(word)
        } else {
            current = candidate
        }
    }
    if !current.isEmpty { lines.append(current) }
    return lines
}
