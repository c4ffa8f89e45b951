import Foundation

/// A two-way table as SVG: one cell per (row, column), filled by its value on the viridis scale
/// and with the value written in it; an empty cell (no value) is grey with "–".
///
/// Colour: t = fraction of the value along the values' range (of log10 when they are positive
/// and span more than a decade), turned round when lower is better, so the best cell is always
/// yellow (t = 1) and the worst dark purple (t = 0). Values in dark cells are written in white.
///
/// Elements: `<rect class="cell" data-row data-column [data-value]>`, `<text class="cell-value">`,
/// `<g class="colour-scale">` (the key: worst to best, left to right).
public struct Heatmap: Sendable {
    public var id: String
    public var title: String
    public var subtitle: String?
    public var rowTitle: String
    public var columnTitle: String
    public var rowLabels: [String]
    public var columnLabels: [String]
    /// `values[row][column]`; nil where there is none.
    public var values: [[Double?]]
    /// Tooltip of each cell (`0.123 ± 0.004 (n=3)`), same shape as `values`.
    public var details: [[String]]
    public var lowerIsBetter: Bool
    public var width = 900.0

    public init(id: String, title: String, subtitle: String?, rowTitle: String, columnTitle: String,
                rowLabels: [String], columnLabels: [String], values: [[Double?]], details: [[String]], lowerIsBetter: Bool) {
        self.id = id
        self.title = title
        self.subtitle = subtitle
        self.rowTitle = rowTitle
        self.columnTitle = columnTitle
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
        self.values = values
        self.details = details
        self.lowerIsBetter = lowerIsBetter
    }

    /// Viridis at 0, ¼, ½, ¾ and 1 (matplotlib), interpolated linearly in RGB between them.
    static let viridis: [(Double, Double, Double)] = [
        (0x44, 0x01, 0x54), (0x3b, 0x52, 0x8b), (0x21, 0x91, 0x8c), (0x5e, 0xc9, 0x62), (0xfd, 0xe7, 0x25),
    ]

    /// `#rrggbb` of viridis at `t` in [0, 1].
    static func color(_ t: Double) -> String {
        let x = min(max(t, 0), 1) * Double(viridis.count - 1)
        let i = min(Int(x), viridis.count - 2), f = x - Double(i)
        let (a, b) = (viridis[i], viridis[i + 1])
        let channels = [a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f, a.2 + (b.2 - a.2) * f]
        return "#" + channels.map { String(format: "%02x", Int($0.rounded())) }.joined()
    }

    /// Where `value` lies on the colour scale, 0 worst to 1 best; 1 when all values are equal.
    public func colourPosition(_ value: Double) -> Double {
        let finite = values.flatMap { $0 }.compactMap { $0 }.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max(), high > low else { return 1 }
        let log = Axis.prefersLog(lower: low, upper: high, decades: 1)
        func position(_ v: Double) -> Double { log ? log10(v) : v }
        let t = (position(value) - position(low)) / (position(high) - position(low))
        return lowerIsBetter ? 1 - t : t
    }

    static let cellHeight = 30.0, labelSize = 12.0, valueSize = 12.0

    public func svg(standalone: Bool = false) -> String {
        let subtitleLines = subtitle.map { wrapped($0, width: width - 32, fontSize: 12) } ?? []
        let rowLabelWidth = min(260, max(SVG.textWidth(rowTitle, fontSize: Self.labelSize),
                                         rowLabels.map { SVG.textWidth($0, fontSize: Self.labelSize) }.max() ?? 0))
        let left = (16 + rowLabelWidth + 10).rounded()
        let cellWidth = max(60, min(140, (width - left - 16) / Double(max(columnLabels.count, 1))))
        let headerTop = 30 + Double(subtitleLines.count) * 16 + 18
        let top = headerTop + 36
        let bottom = top + Double(rowLabels.count) * Self.cellHeight
        let height = bottom + 60
        let chartWidth = max(width, left + cellWidth * Double(columnLabels.count) + 16)

        var out = [SVG.open(width: chartWidth, height: height, title: title, standalone: standalone, id: id)]
        out.append(SVG.text(title, x: 16, y: 24, size: 15, weight: "bold", extra: [("class", "title")]))
        for (index, line) in subtitleLines.enumerated() {
            out.append(SVG.text(line, x: 16, y: 44 + Double(index) * 16, size: 12, fill: "#555555", extra: [("class", "subtitle")]))
        }
        out.append(SVG.text(columnTitle, x: left + cellWidth * Double(columnLabels.count) / 2, y: headerTop, size: 12,
                            anchor: "middle", weight: "bold", extra: [("class", "axis-label x")]))
        out.append(SVG.text(rowTitle, x: left - 8, y: top - 8, size: 12, anchor: "end", weight: "bold",
                            extra: [("class", "axis-label y")]))
        for (column, label) in columnLabels.enumerated() {
            out.append(SVG.text(SVG.truncated(label, width: cellWidth - 4, fontSize: Self.labelSize),
                                x: left + (Double(column) + 0.5) * cellWidth, y: top - 8, size: Self.labelSize,
                                anchor: "middle", extra: [("class", "column-label")]))
        }
        for (row, label) in rowLabels.enumerated() {
            let y = top + Double(row) * Self.cellHeight
            out.append(SVG.text(SVG.truncated(label, width: rowLabelWidth, fontSize: Self.labelSize), x: left - 8,
                                y: y + Self.cellHeight / 2 + 4, size: Self.labelSize, anchor: "end", extra: [("class", "row-label")]))
            for column in columnLabels.indices {
                let x = left + Double(column) * cellWidth
                let value = values[row][column]
                let t = value.map(colourPosition)
                var pairs: [(String, String)] = [("class", "cell"), ("data-row", rowLabels[row]), ("data-column", columnLabels[column])]
                if let value { pairs.append(("data-value", SVG.dataValue(value))) }
                pairs += [("x", SVG.number(x)), ("y", SVG.number(y)), ("width", SVG.number(cellWidth)),
                          ("height", SVG.number(Self.cellHeight)), ("fill", t.map(Self.color) ?? "#e6e6e6"),
                          ("stroke", "#ffffff"), ("stroke-width", "1")]
                out.append("<g><title>\(SVG.escaped(details[row][column]))</title>" + SVG.element("rect", pairs))
                out.append(SVG.text(value.map(SVG.metricValue) ?? "–", x: x + cellWidth / 2, y: y + Self.cellHeight / 2 + 4,
                                    size: Self.valueSize, anchor: "middle",
                                    fill: (t ?? 1) < 0.55 ? "#ffffff" : "#222222", extra: [("class", "cell-value")]) + "</g>")
            }
        }
        // The key: a strip from worst to best.
        let keyLeft = left, keyWidth = min(240, cellWidth * Double(max(columnLabels.count, 2))), keyTop = bottom + 18
        out.append("<g class=\"colour-scale\">")
        let steps = 24
        for step in 0..<steps {
            out.append(SVG.element("rect", [("x", SVG.number(keyLeft + Double(step) * keyWidth / Double(steps))),
                                            ("y", SVG.number(keyTop)), ("width", SVG.number(keyWidth / Double(steps) + 0.5)),
                                            ("height", "10"), ("fill", Self.color((Double(step) + 0.5) / Double(steps)))]))
        }
        out.append(SVG.text("worst", x: keyLeft, y: keyTop + 24, size: 11, extra: [("class", "tick")]))
        out.append(SVG.text("best", x: keyLeft + keyWidth, y: keyTop + 24, size: 11, anchor: "end", extra: [("class", "tick")]))
        out.append("</g>")
        out.append("</svg>")
        return out.joined(separator: "\n")
    }
}
