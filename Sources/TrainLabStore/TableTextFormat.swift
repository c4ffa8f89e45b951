import TrainLabJSON

/// Tables as text for other programs.
///
/// CSV (RFC 4180): a header line, then one line per row; fields holding a comma, quote or line
/// break are quoted; NULL (a NaN metric) is an empty field. JSON: an array of objects, one per
/// line, keys in column order; NULL and non-finite numbers are `null`.
public enum TableTextFormat: String, Sendable, CaseIterable {
    case csv, json

    public func header(columns: [String]) -> String {
        switch self {
        case .csv: return columns.map(Self.csvField).joined(separator: ",") + "\n"
        case .json: return "["
        }
    }

    public func row(_ values: [SQLiteValue], columns: [String], isFirst: Bool) -> String {
        switch self {
        case .csv:
            return values.map { Self.csvField(Self.csvText($0)) }.joined(separator: ",") + "\n"
        case .json:
            let members = zip(columns, values).map { JSONWriter.quoted($0) + ": " + Self.jsonText($1) }
            return (isFirst ? "\n  {" : ",\n  {") + members.joined(separator: ", ") + "}"
        }
    }

    public func footer(isEmpty: Bool) -> String {
        switch self {
        case .csv: return ""
        case .json: return isEmpty ? "]\n" : "\n]\n"
        }
    }

    /// The whole table as one string.
    public func text(_ result: QueryResult) -> String {
        var text = header(columns: result.columns)
        for (index, row) in result.rows.enumerated() {
            text += self.row(row, columns: result.columns, isFirst: index == 0)
        }
        return text + footer(isEmpty: result.rows.isEmpty)
    }

    static func csvText(_ value: SQLiteValue) -> String {
        switch value {
        case .integer(let v): return String(v)
        case .real(let v): return v.isNaN ? "" : v.description
        case .text(let v): return v
        case .null: return ""
        }
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func jsonText(_ value: SQLiteValue) -> String {
        switch value {
        case .integer(let v): return String(v)
        case .real(let v): return v.isFinite ? v.description : "null"
        case .text(let v): return JSONWriter.quoted(v)
        case .null: return "null"
        }
    }
}
