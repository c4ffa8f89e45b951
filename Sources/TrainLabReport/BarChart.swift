import Foundation

/// One row of a bar chart: a mean with an error bar and the values it summarizes.
public struct BarItem: Sendable, Equatable {
    /// `data-config` of the row's elements.
    public var id: String
    public var label: String
    public var style: SeriesStyle
    /// The bar's length; nil draws no bar (only `note`).
    public var value: Double?
    /// Half-width of the error bar around `value`; nil draws none.
    public var errorHalfWidth: Double?
    /// Individual values, drawn as open dots over the bar.
    public var samples: [Double]
    /// Text right of the plot (`0.678 ± 0.111 (n = 3)`).
    public var note: String

    public init(id: String, label: String, style: SeriesStyle, value: Double?, errorHalfWidth: Double?,
                samples: [Double], note: String) {
        self.id = id
        self.label = label
        self.style = style
        self.value = value
        self.errorHalfWidth = errorHalfWidth
        self.samples = samples
        self.note = note
    }
}

/// A horizontal bar chart with error bars as SVG: one row per item (label left, note right), the
/// value axis at the bottom. Bars start at 0 on a linear axis; when the values are positive and
/// span more than a decade the axis is log10 and each value is a dot with its error bar
/// (a bar's length would mean nothing there). The axis stays inside `valueRange`: an error bar
/// reaching past it, or past the axis, is cut there and ends in an arrowhead instead of a cap.
///
/// Elements: `<rect class="bar" data-config data-value>`, `<g class="ci" data-config data-low
/// data-high [data-clipped="low|high|low high"]>` (the error bar's ends, unclipped; which ends are
/// cut), `<circle class="sample">`.
public struct BarChart: Sendable {
    public var id: String
    public var title: String
    public var subtitle: String?
    public var valueLabel: String
    public var items: [BarItem]
    /// The values the metric can take (`0...1` for an accuracy, `0...∞` for a loss). The data lie
    /// inside it; error bars are clipped at it, so the axis never shows impossible values.
    public var valueRange = -Double.infinity...Double.infinity
    public var width = 900.0
    public var rowHeight = 26.0

    public init(id: String, title: String, subtitle: String? = nil, valueLabel: String, items: [BarItem]) {
        self.id = id
        self.title = title
        self.subtitle = subtitle
        self.valueLabel = valueLabel
        self.items = items
    }

    static let labelSize = 12.0, noteSize = 11.0

    /// The value axis; nil without a finite value. It spans the means, samples and error bars
    /// clipped at `valueRange`; it is log when the means and samples are positive and
    /// max / min > 10 (a lower error bar end at or below 0 does not forbid it).
    public func axis() -> Axis? {
        let centres = (items.compactMap(\.value) + items.flatMap(\.samples)).filter(\.isFinite)
        guard let centreLow = centres.min(), let centreHigh = centres.max() else { return nil }
        var low = centreLow, high = centreHigh
        for item in items {
            guard let value = item.value, value.isFinite, let half = item.errorHalfWidth, half.isFinite else { continue }
            low = min(low, max(value - half, valueRange.lowerBound))
            high = max(high, min(value + half, valueRange.upperBound))
        }
        if Axis.prefersLog(lower: centreLow, upper: centreHigh, decades: 1) {
            return .log(from: centreLow, to: high, label: valueLabel)
        }
        return .linear(from: min(low, 0), to: max(high, 0), label: valueLabel)
    }

    /// The error bar of `item` as drawn on `axis`: value ± half-width, each end cut at
    /// `valueRange` and at the axis's ends; nil without one.
    public func errorBar(_ item: BarItem, on axis: Axis) -> (low: Double, high: Double, lowCut: Bool, highCut: Bool)? {
        guard let value = item.value, value.isFinite, let half = item.errorHalfWidth, half.isFinite else { return nil }
        let low = value - half, high = value + half
        // The tolerance keeps an end that lies on the axis's end (up to rounding) uncut.
        let lowCut = low < valueRange.lowerBound || axis.fraction(low) < -1e-9
        let highCut = high > valueRange.upperBound || axis.fraction(high) > 1 + 1e-9
        return (lowCut ? max(valueRange.lowerBound, axis.lower) : low,
                highCut ? min(valueRange.upperBound, axis.upper) : high, lowCut, highCut)
    }

    /// `label` in at most two lines of `width`, broken after ", " where possible, the rest cut with "…".
    static func labelLines(_ label: String, width: Double) -> [String] {
        guard SVG.textWidth(label, fontSize: labelSize) > width else { return [label] }
        let parts = label.components(separatedBy: ", ")
        var first = parts[0], used = 1
        while used < parts.count, SVG.textWidth(first + ", " + parts[used] + ",", fontSize: labelSize) <= width {
            first += ", " + parts[used]
            used += 1
        }
        guard used < parts.count else { return [SVG.truncated(label, width: width, fontSize: labelSize)] }
        let rest = parts[used...].joined(separator: ", ")
        return [SVG.truncated(first + ",", width: width, fontSize: labelSize),
                SVG.truncated(rest, width: width, fontSize: labelSize)]
    }

    /// Whether an error bar is cut at the axis or at `valueRange` (the reader is told what the
    /// arrowhead means).
    public var cutsAnErrorBar: Bool {
        guard let axis = axis() else { return false }
        return items.contains { item in errorBar(item, on: axis).map { $0.lowCut || $0.highCut } ?? false }
    }

    /// A filled arrowhead with its tip at (`x`, `y`), pointing left (`pointing` -1) or right (1).
    static func arrowhead(x: Double, y: Double, pointing: Double) -> String {
        let back = x - pointing * 7
        let d = "M\(SVG.number(x)) \(SVG.number(y)) L\(SVG.number(back)) \(SVG.number(y - 4.5)) "
            + "L\(SVG.number(back)) \(SVG.number(y + 4.5)) Z"
        return SVG.element("path", [("class", "ci-clipped"), ("d", d), ("fill", "#222222")])
    }

    /// The chart as an `<svg>` element; `standalone` makes it a complete SVG file.
    public func svg(standalone: Bool = false) -> String {
        let subtitleLines = subtitle.map { wrapped($0, width: width - 32, fontSize: 12) } ?? []
        let top = 30 + Double(subtitleLines.count) * 16 + 14
        let labelWidth = min(300, items.map { SVG.textWidth($0.label, fontSize: Self.labelSize) }.max() ?? 0)
        let labelLines = items.map { Self.labelLines($0.label, width: labelWidth) }
        let rowHeight = labelLines.contains { $0.count > 1 } ? max(self.rowHeight, 38) : self.rowHeight
        let noteWidth = min(230, items.map { SVG.textWidth($0.note, fontSize: Self.noteSize) }.max() ?? 0)
        let left = (16 + labelWidth + 10).rounded()
        let right = (width - 16 - noteWidth - 10).rounded()
        let plotHeight = Double(items.count) * rowHeight
        let bottom = top + plotHeight
        let height = bottom + 50
        let axis = self.axis()

        var out: [String] = [SVG.open(width: width, height: height, title: title, standalone: standalone, id: id,
                                      extra: [("data-x-scale", axis?.scale.rawValue ?? "none")])]
        out.append(SVG.text(title, x: 16, y: 24, size: 15, weight: "bold", extra: [("class", "title")]))
        for (index, line) in subtitleLines.enumerated() {
            out.append(SVG.text(line, x: 16, y: 44 + Double(index) * 16, size: 12, fill: "#555555",
                                extra: [("class", "subtitle")]))
        }
        out.append(SVG.element("rect", [("class", "plot-area"), ("x", SVG.number(left)), ("y", SVG.number(top)),
                                        ("width", SVG.number(right - left)), ("height", SVG.number(plotHeight)),
                                        ("fill", "#ffffff")]))
        func px(_ value: Double) -> Double {
            guard let axis else { return left }
            return left + min(max(axis.fraction(value), 0), 1) * (right - left)
        }
        if let axis {
            out.append("<g class=\"grid\">")
            for tick in axis.minorTicks {
                out.append(SVG.line(x1: px(tick), y1: top, x2: px(tick), y2: bottom, stroke: "#f1f1f1"))
            }
            for tick in axis.ticks {
                out.append(SVG.line(x1: px(tick), y1: top, x2: px(tick), y2: bottom, stroke: "#e3e3e3"))
            }
            out.append("</g>")
        }
        for (index, item) in items.enumerated() {
            let middle = top + (Double(index) + 0.5) * rowHeight
            out.append("<g class=\"row\" data-row-config=\"\(SVG.escaped(item.id))\"><title>\(SVG.escaped(item.label))</title>")
            let lines = labelLines[index]
            for (number, line) in lines.enumerated() {
                let y = middle + 4 + (Double(number) - Double(lines.count - 1) / 2) * 15
                out.append(SVG.text(line, x: left - 8, y: y, size: Self.labelSize, anchor: "end",
                                    extra: [("class", "row-label")]))
            }
            out.append("</g>")
            if let axis, let value = item.value, value.isFinite {
                if axis.scale == .linear {
                    let x0 = px(0), x1 = px(value)
                    out.append(SVG.element("rect", [
                        ("class", "bar"), ("data-config", item.id), ("data-value", SVG.dataValue(value)),
                        ("x", SVG.number(min(x0, x1))), ("y", SVG.number(middle - rowHeight * 0.32)),
                        ("width", SVG.number(abs(x1 - x0))), ("height", SVG.number(rowHeight * 0.64)),
                        ("fill", item.style.color), ("fill-opacity", "0.75")]))
                } else {
                    out.append(SVG.element("circle", [
                        ("class", "bar"), ("data-config", item.id), ("data-value", SVG.dataValue(value)),
                        ("cx", SVG.number(px(value))), ("cy", SVG.number(middle)), ("r", "5"),
                        ("fill", item.style.color)]))
                }
                if let half = item.errorHalfWidth, let bar = errorBar(item, on: axis) {
                    let xl = px(bar.low), xh = px(bar.high)
                    var parts = [SVG.line(x1: xl, y1: middle, x2: xh, y2: middle, stroke: "#222222", width: 1.5)]
                    // A cap at an end inside the metric's range and the axis, an outward arrowhead at a cut one.
                    parts.append(bar.lowCut ? Self.arrowhead(x: xl, y: middle, pointing: -1)
                                 : SVG.line(x1: xl, y1: middle - 6, x2: xl, y2: middle + 6, stroke: "#222222", width: 1.5))
                    parts.append(bar.highCut ? Self.arrowhead(x: xh, y: middle, pointing: 1)
                                 : SVG.line(x1: xh, y1: middle - 6, x2: xh, y2: middle + 6, stroke: "#222222", width: 1.5))
                    var pairs = [("data-config", item.id), ("data-low", SVG.dataValue(value - half)),
                                 ("data-high", SVG.dataValue(value + half))]
                    let cut = [bar.lowCut ? "low" : nil, bar.highCut ? "high" : nil].compactMap { $0 }
                    if !cut.isEmpty { pairs.append(("data-clipped", cut.joined(separator: " "))) }
                    out.append("<g class=\"ci\"\(SVG.attributes(pairs))>" + parts.joined() + "</g>")
                }
            }
            if axis != nil {
                for sample in item.samples where sample.isFinite {
                    out.append(SVG.element("circle", [("class", "sample"), ("data-config", item.id),
                                                      ("cx", SVG.number(px(sample))), ("cy", SVG.number(middle)),
                                                      ("r", "3"), ("fill", "#ffffff"), ("fill-opacity", "0.6"),
                                                      ("stroke", "#222222"), ("stroke-width", "1")]))
                }
            }
            let note = SVG.truncated(item.note, width: noteWidth + 4, fontSize: Self.noteSize)
            out.append(SVG.text(note, x: right + 10, y: middle + 4, size: Self.noteSize, fill: "#333333",
                                extra: [("class", "note")]))
        }
        out.append(SVG.line(x1: left, y1: bottom, x2: right, y2: bottom, stroke: "#333333"))
        out.append(SVG.line(x1: left, y1: top, x2: left, y2: bottom, stroke: "#333333"))
        if let axis {
            for tick in axis.ticks {
                out.append(SVG.line(x1: px(tick), y1: bottom, x2: px(tick), y2: bottom + 4, stroke: "#333333"))
                out.append(SVG.text(axis.tickLabel(tick), x: px(tick), y: bottom + 17, size: 11, anchor: "middle",
                                    extra: [("class", "tick x")]))
            }
            out.append(SVG.text(axis.label, x: (left + right) / 2, y: bottom + 36, size: 12, anchor: "middle",
                                extra: [("class", "axis-label x")]))
        }
        out.append("</svg>")
        return out.joined(separator: "\n")
    }
}
