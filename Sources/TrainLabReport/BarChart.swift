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
/// span more than two decades the axis is log10 and each value is a dot with its error bar
/// (a bar's length would mean nothing there).
///
/// Elements: `<rect class="bar" data-config data-value>`, `<g class="ci" data-config data-low
/// data-high>` (the error bar's ends, unclipped), `<circle class="sample">`.
public struct BarChart: Sendable {
    public var id: String
    public var title: String
    public var subtitle: String?
    public var valueLabel: String
    public var items: [BarItem]
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

    /// The value axis; nil without a finite value.
    public func axis() -> Axis? {
        var values: [Double] = []
        for item in items {
            guard let value = item.value, value.isFinite else { continue }
            values.append(value)
            if let half = item.errorHalfWidth, half.isFinite { values += [value - half, value + half] }
        }
        values += items.flatMap(\.samples)
        let finite = values.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max() else { return nil }
        // Log only from the means and samples: a lower CI end at or below 0 does not forbid it.
        let centres = items.compactMap(\.value).filter(\.isFinite) + items.flatMap(\.samples).filter(\.isFinite)
        if let cLow = centres.min(), let cHigh = centres.max(), Axis.prefersLog(lower: cLow, upper: max(cHigh, high)) {
            return .log(from: cLow, to: max(cHigh, high), label: valueLabel)
        }
        return .linear(from: min(low, 0), to: max(high, 0), label: valueLabel)
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
                if let half = item.errorHalfWidth, half.isFinite {
                    let low = value - half, high = value + half
                    let xl = px(low), xh = px(high)
                    var parts = [SVG.line(x1: xl, y1: middle, x2: xh, y2: middle, stroke: "#222222", width: 1.5)]
                    // A cap only where the end is inside the axis (a log axis cannot show low <= 0).
                    if axis.fraction(low) >= 0 {
                        parts.append(SVG.line(x1: xl, y1: middle - 6, x2: xl, y2: middle + 6, stroke: "#222222", width: 1.5))
                    }
                    if axis.fraction(high) <= 1 {
                        parts.append(SVG.line(x1: xh, y1: middle - 6, x2: xh, y2: middle + 6, stroke: "#222222", width: 1.5))
                    }
                    out.append("<g class=\"ci\"\(SVG.attributes([("data-config", item.id), ("data-low", SVG.dataValue(low)), ("data-high", SVG.dataValue(high))]))>"
                               + parts.joined() + "</g>")
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
