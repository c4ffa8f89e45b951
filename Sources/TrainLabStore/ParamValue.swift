import Foundation

/// How a run's params are stored in `params.value`: numbers as SQLite numbers (whole numbers
/// as integers), booleans as 1 and 0, strings as text, arrays as their JSON text. So
/// `max(value)` and `value < 0.001` compare numbers, and exports write numbers unquoted.
public enum ParamValue {
    /// A number as stored: an integer when it is whole and exact in Float64, else a real.
    public static func number(_ x: Double) -> SQLiteValue {
        if x == x.rounded(), abs(x) < 9_007_199_254_740_992 { return .integer(Int64(x)) }
        return .real(x)
    }

    /// The typed value of a param written as text by schema version 1 (JSON number text,
    /// `true`/`false`, anything else a string).
    static func typed(fromText text: String) -> SQLiteValue {
        if text == "true" { return .integer(1) }
        if text == "false" { return .integer(0) }
        guard let first = text.unicodeScalars.first, first == "-" || ("0"..."9").contains(first),
              let x = Double(text), x.isFinite else { return .text(text) }
        return number(x)
    }

    /// The value as the reading commands show and group it: numbers in their shortest exact
    /// form (`0.001`, `1e-05`, `64`), text as it is.
    public static func text(_ value: SQLiteValue) -> String {
        switch value {
        case .integer(let n): return String(n)
        case .real(let x): return x.description
        case .text(let s): return s
        case .null: return "null"
        }
    }

    /// `text` with fractional numbers cut to 4 significant digits (a random sweep's
    /// 0.0031622776601683794 shows as 0.003162); the database keeps full precision.
    public static func compact(_ text: String) -> String {
        guard let x = Double(text), x.isFinite, x != x.rounded() || abs(x) >= 1e15,
              let first = text.unicodeScalars.first, first == "-" || ("0"..."9").contains(first)
        else { return text }
        return String(format: "%.4g", x)
    }
}
