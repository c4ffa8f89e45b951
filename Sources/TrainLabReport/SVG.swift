import Foundation

// SVG text building: escaping, fixed number formatting (the same chart always gives the same
// bytes), and the few elements the charts use. Text is measured by an estimate (no font metrics
// here): `SVG.textWidth` assumes an average glyph of 0.6 em, about right for DejaVu Sans/Verdana
// and generous for Arial/Helvetica.

public enum SVG {
    /// The SVG namespace, written only on standalone files (`<svg>` inside HTML needs none).
    public static let namespace = "http://www.w3.org/2000/svg"

    public static let fontFamily = "DejaVu Sans, Verdana, Arial, sans-serif"

    /// `text` with `& < > " '` replaced by entities: safe in element text and attribute values.
    public static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters are not allowed in XML 1.0 text.
                if let scalar = character.unicodeScalars.first, character.unicodeScalars.count == 1,
                   scalar.value < 0x20, scalar != "\n", scalar != "\t" {
                    out += " "
                } else {
                    out.append(character)
                }
            }
        }
        return out
    }

    /// A coordinate with at most two decimals and no trailing zeros: `12`, `12.5`, `-0.25`.
    /// Non-finite values (never expected) are written as 0 so the file stays valid.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let hundredths = Int64((value * 100).rounded())
        let magnitude = hundredths.magnitude
        let whole = magnitude / 100, fraction = magnitude % 100
        var text = hundredths < 0 ? "-" : ""
        text += String(whole)
        if fraction != 0 {
            text += fraction % 10 == 0 ? "." + String(fraction / 10) : (fraction < 10 ? ".0" : ".") + String(fraction)
        }
        return text
    }

    /// Estimated rendered width of `text` at `fontSize` (0.6 em per character).
    public static func textWidth(_ text: String, fontSize: Double) -> Double {
        Double(text.count) * fontSize * 0.6
    }

    /// `text` cut with "…" to fit `width` at `fontSize`.
    public static func truncated(_ text: String, width: Double, fontSize: Double) -> String {
        let fits = max(1, Int(width / (fontSize * 0.6)))
        guard text.count > fits else { return text }
        return String(text.prefix(max(0, fits - 1))) + "…"
    }

    /// `name="value"` pairs, values escaped.
    static func attributes(_ pairs: [(String, String)]) -> String {
        pairs.map { " \($0.0)=\"\(escaped($0.1))\"" }.joined()
    }

    static func element(_ name: String, _ pairs: [(String, String)]) -> String {
        "<\(name)\(attributes(pairs))/>"
    }

    static func text(_ content: String, x: Double, y: Double, size: Double, anchor: String = "start",
                     weight: String? = nil, fill: String = "#222", extra: [(String, String)] = []) -> String {
        var pairs: [(String, String)] = [("x", number(x)), ("y", number(y)), ("font-size", number(size))]
        if anchor != "start" { pairs.append(("text-anchor", anchor)) }
        if let weight { pairs.append(("font-weight", weight)) }
        pairs.append(("fill", fill))
        return "<text\(attributes(pairs + extra))>\(escaped(content))</text>"
    }

    static func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, width: Double = 1,
                     extra: [(String, String)] = []) -> String {
        element("line", [("x1", number(x1)), ("y1", number(y1)), ("x2", number(x2)), ("y2", number(y2)),
                         ("stroke", stroke), ("stroke-width", number(width))] + extra)
    }

    /// `M x y L x y ...` through `points`.
    /// Path coordinates to a tenth of a pixel: finer is invisible, and long curves are most of a
    /// report's bytes.
    static func pathData(_ points: [(x: Double, y: Double)]) -> String {
        points.enumerated().map { index, point in
            (index == 0 ? "M" : "L") + number((point.x * 10).rounded() / 10) + " " + number((point.y * 10).rounded() / 10)
        }.joined(separator: " ")
    }

    /// Opening tag of a chart's `<svg>`: `standalone` adds the XML declaration and the namespace.
    static func open(width: Double, height: Double, title: String, standalone: Bool, id: String,
                     extra: [(String, String)] = []) -> String {
        var pairs: [(String, String)] = []
        if standalone { pairs.append(("xmlns", namespace)) }
        pairs += [("id", id), ("class", "chart")] + extra
        pairs += [("width", number(width)), ("height", number(height)),
                  ("viewBox", "0 0 \(number(width)) \(number(height))"), ("role", "img"),
                  ("font-family", fontFamily)]
        let head = standalone ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" : ""
        return head + "<svg\(attributes(pairs))>\n<title>\(escaped(title))</title>\n"
            + element("rect", [("width", "100%"), ("height", "100%"), ("fill", "#ffffff")])
    }

    /// A value in SVG `data-` attributes and tables: 6 significant digits, `%g` style.
    public static func dataValue(_ value: Double) -> String {
        value.isFinite ? String(format: "%.6g", value) : (value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf"))
    }

    /// A metric value for people: 4 significant digits (`0.6781`, `1.2e-05`).
    public static func metricValue(_ value: Double?) -> String {
        guard let value else { return "–" }
        return value.isFinite ? String(format: "%.4g", value) : (value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf"))
    }

    /// A valid `id` fragment: letters, digits and `-`.
    public static func identifier(_ text: String) -> String {
        String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" })
    }
}

/// Colours and dash patterns of series: the Okabe–Ito palette (distinguishable with the common
/// colour-vision deficiencies; Okabe & Ito 2008, "Color Universal Design"), yellow left out
/// (too light on white). Past seven series the colours repeat with dashes: 7 colours × 4 dashes
/// give 28 series distinct (colour, dash) pairs.
public struct SeriesStyle: Sendable, Equatable {
    public var color: String
    /// SVG `stroke-dasharray`, nil for a solid line.
    public var dash: String?

    public static let okabeIto = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
    static let dashes: [String?] = [nil, "7 4", "2 3", "10 3 2 3"]

    /// The style of the series at `index` (0-based).
    public static func at(_ index: Int) -> SeriesStyle {
        let colors = okabeIto.count
        return SeriesStyle(color: okabeIto[index % colors], dash: dashes[(index / colors) % dashes.count])
    }
}
