import Foundation

/// A chart legend laid out in columns under the plot (column-major: entries read top to bottom,
/// then the next column). Labels too long for a column are cut with "…"; the full text is the
/// entry's `<title>` (a tooltip).
struct Legend {
    enum Symbol {
        /// A line sample in the series' style.
        case line(SeriesStyle)
        /// A thin line ending in the ✕ that marks where a diverged run stopped.
        case divergedTrace
        /// The ✕ alone: a setting that gave no value.
        case cross
    }

    struct Entry {
        var symbol: Symbol
        var label: String
        var id: String?
    }

    static let fontSize = 11.5
    static let rowHeight = 18.0
    static let symbolWidth = 26.0

    var entries: [Entry]
    var columns: Int
    var rows: Int
    var columnWidth: Double

    init(entries: [Entry], width: Double) {
        self.entries = entries
        let widest = entries.map { SVG.textWidth($0.label, fontSize: Self.fontSize) }.max() ?? 0
        columnWidth = min(width, Self.symbolWidth + 8 + widest + 18)
        columns = max(1, min(entries.count, Int(width / columnWidth)))
        rows = entries.isEmpty ? 0 : (entries.count + columns - 1) / columns
        if rows > 0 { columns = (entries.count + rows - 1) / rows }
    }

    var height: Double { Double(rows) * Self.rowHeight }

    /// The legend's elements with its top-left corner at (`x`, `y`).
    func svg(x: Double, y: Double) -> String {
        var out: [String] = ["<g class=\"legend\">"]
        let textRoom = columnWidth - Self.symbolWidth - 8 - 10
        for (index, entry) in entries.enumerated() {
            let column = index / rows, row = index % rows
            let left = x + Double(column) * columnWidth, middle = y + Double(row) * Self.rowHeight + Self.rowHeight / 2
            var pairs: [(String, String)] = [("class", "legend-item")]
            if let id = entry.id { pairs.append(("data-legend-config", id)) }
            out.append("<g\(SVG.attributes(pairs))><title>\(SVG.escaped(entry.label))</title>")
            switch entry.symbol {
            case .line(let style):
                var extra: [(String, String)] = [("stroke-linecap", "butt")]
                if let dash = style.dash { extra.append(("stroke-dasharray", dash)) }
                out.append(SVG.line(x1: left, y1: middle, x2: left + Self.symbolWidth, y2: middle,
                                    stroke: style.color, width: 2.5, extra: extra))
            case .divergedTrace:
                out.append(SVG.line(x1: left, y1: middle + 3, x2: left + Self.symbolWidth - 6, y2: middle - 2,
                                    stroke: "#555555", width: 1.2))
                out.append(crossMark(x: left + Self.symbolWidth - 5, y: middle - 2, color: "#555555"))
            case .cross:
                out.append(crossMark(x: left + Self.symbolWidth / 2, y: middle, color: "#555555"))
            }
            let label = SVG.truncated(entry.label, width: textRoom, fontSize: Self.fontSize)
            out.append(SVG.text(label, x: left + Self.symbolWidth + 8, y: middle + 4, size: Self.fontSize))
            out.append("</g>")
        }
        out.append("</g>")
        return out.joined(separator: "\n")
    }
}

/// A ✕ centred at (`x`, `y`).
func crossMark(x: Double, y: Double, color: String, size: Double = 4, extra: [(String, String)] = []) -> String {
    let d = "M\(SVG.number(x - size)) \(SVG.number(y - size)) L\(SVG.number(x + size)) \(SVG.number(y + size)) "
        + "M\(SVG.number(x - size)) \(SVG.number(y + size)) L\(SVG.number(x + size)) \(SVG.number(y - size))"
    return SVG.element("path", extra + [("d", d), ("stroke", color), ("stroke-width", "2"), ("fill", "none")])
}
