/// Writes JSON text.
public enum JSONWriter {
    /// Compact or pretty; `sortedKeys` gives the canonical form used for hashing. Numbers that are integral print without a fraction (1, not 1.0); others with the shortest round-trip representation (Swift's description of Double).
    /// Pretty output indents by two spaces and keeps arrays of scalars on one line. Non-finite numbers, which JSON cannot hold, are written as `null`.
    public static func write(_ value: JSONValue, pretty: Bool = false, sortedKeys: Bool = false) -> String {
        var out = ""
        write(value, pretty: pretty, sortedKeys: sortedKeys, indent: 0, into: &out)
        return out
    }

    /// A number as JSON: `1`, `-0.5`, `1e-07`, `1e+300`.
    public static func number(_ x: Double) -> String {
        guard x.isFinite else { return "null" }
        if x == x.rounded(), abs(x) < 9.0e18 { return String(Int64(x)) }
        return x.description
    }

    /// A string as a JSON string literal, with quotes and escapes.
    public static func quoted(_ s: String) -> String {
        var out = ""
        appendQuoted(s, to: &out)
        return out
    }

    static func appendQuoted(_ s: String, to out: inout String) {
        out.append("\"")
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            case "\u{08}": out.append("\\b")
            case "\u{0C}": out.append("\\f")
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append("\"")
    }

    private static func isScalar(_ value: JSONValue) -> Bool {
        switch value {
        case .array(let a): return a.isEmpty
        case .object(let o): return o.isEmpty
        default: return true
        }
    }

    private enum Piece {
        case value(JSONValue, indent: Int)
        case text(String)
        case newline(indent: Int)
    }

    /// Writes without recursion, so any nesting depth is safe.
    private static func write(_ value: JSONValue, pretty: Bool, sortedKeys: Bool, indent: Int, into out: inout String) {
        var work: [Piece] = [.value(value, indent: indent)]
        while let piece = work.popLast() {
            switch piece {
            case .text(let text): out.append(text)
            case .newline(let indent): newline(indent, &out)
            case .value(let value, let indent):
                switch value {
                case .null: out.append("null")
                case .bool(let b): out.append(b ? "true" : "false")
                case .number(let x): out.append(number(x.value))
                case .string(let s): appendQuoted(s, to: &out)
                case .array(let elements):
                    if elements.isEmpty {
                        out.append("[]")
                        continue
                    }
                    let inline = !pretty || elements.allSatisfy(isScalar)
                    out.append("[")
                    // Pushed in reverse: the last piece pushed is written first.
                    work.append(.text("]"))
                    if !inline { work.append(.newline(indent: indent)) }
                    for (i, element) in elements.enumerated().reversed() {
                        work.append(.value(element, indent: indent + 1))
                        if !inline { work.append(.newline(indent: indent + 1)) }
                        if i > 0 { work.append(.text(inline && pretty ? ", " : ",")) }
                    }
                case .object(let object):
                    if object.isEmpty {
                        out.append("{}")
                        continue
                    }
                    let keys = sortedKeys ? object.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } : object.keys
                    out.append("{")
                    work.append(.text("}"))
                    if pretty { work.append(.newline(indent: indent)) }
                    for (i, key) in keys.enumerated().reversed() {
                        work.append(.value(object.values[key] ?? .null, indent: indent + 1))
                        work.append(.text(quoted(key) + (pretty ? ": " : ":")))
                        if pretty { work.append(.newline(indent: indent + 1)) }
                        if i > 0 { work.append(.text(",")) }
                    }
                }
            }
        }
    }

    private static func newline(_ indent: Int, _ out: inout String) {
        out.append("\n")
        out.append(String(repeating: "  ", count: indent))
    }
}
