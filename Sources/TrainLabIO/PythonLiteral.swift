/// A Python literal as found in a .npy header: the `repr` of a dict such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
indirect enum PythonLiteral {
    case dictionary([(key: PythonLiteral, value: PythonLiteral)])
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    case string(String)
    case integer(Int)
    case bool(Bool)
    case none

    /// The value's Python spelling, shortened, for messages.
    var summary: String {
        switch self {
        case .dictionary: return "a dict"
        case .tuple(let items): return "(" + items.map(\.summary).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
        case .list(let items): return "[" + items.map(\.summary).joined(separator: ", ") + "]"
        case .string(let text): return "'\(text.prefix(40))'"
        case .integer(let value): return String(value)
        case .bool(let value): return value ? "True" : "False"
        case .none: return "None"
        }
    }
}

/// A syntax error at a byte offset into the parsed text.
struct PythonLiteralError: Error {
    let offset: Int
    let message: String
}

/// Parses the subset of Python literal syntax that NumPy writes in headers: dicts, tuples
/// (`()`, `(3,)`, `(2, 3)`), lists, strings in single or double quotes with backslash escapes,
/// integers (an old Python 2 `L` suffix allowed), `True`, `False`, `None`; trailing commas and
/// any whitespace. Bounds-checked and depth-limited.
struct PythonLiteralParser {
    static let maximumDepth = 32

    private let bytes: [UInt8]
    private var position = 0

    /// Parses `bytes` (decoded as Latin-1 for .npy versions 1 and 2, UTF-8 for version 3, as
    /// NumPy does: `latin1` must be false only when the bytes are valid UTF-8).
    static func parse(_ bytes: [UInt8], latin1: Bool) throws -> PythonLiteral {
        var parser = PythonLiteralParser(bytes: bytes, latin1: latin1)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else {
            throw PythonLiteralError(offset: parser.position, message: "unexpected text after the literal")
        }
        return value
    }

    private let latin1: Bool

    private init(bytes: [UInt8], latin1: Bool) {
        self.bytes = bytes
        self.latin1 = latin1
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private func failure(_ message: String) -> PythonLiteralError {
        PythonLiteralError(offset: position, message: message)
    }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0C {
            position += 1
        }
    }

    private mutating func parseValue(depth: Int) throws -> PythonLiteral {
        guard depth < Self.maximumDepth else { throw failure("nested more than \(Self.maximumDepth) levels deep") }
        guard let byte = current else { throw failure("unexpected end of text, expected a value") }
        switch byte {
        case UInt8(ascii: "{"):
            let items = try parseSequence(closer: UInt8(ascii: "}"), depth: depth, pairs: true)
            var pairs: [(key: PythonLiteral, value: PythonLiteral)] = []
            for index in stride(from: 0, to: items.count, by: 2) { pairs.append((items[index], items[index + 1])) }
            return .dictionary(pairs)
        case UInt8(ascii: "("):
            // `(x)` is x in parentheses, `(x,)` a 1-tuple.
            let start = position
            let items = try parseSequence(closer: UInt8(ascii: ")"), depth: depth, pairs: false)
            if items.count == 1 && !endsWithComma(from: start) { return items[0] }
            return .tuple(items)
        case UInt8(ascii: "["):
            return .list(try parseSequence(closer: UInt8(ascii: "]"), depth: depth, pairs: false))
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return .string(try parseString(quote: byte))
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .integer(try parseInteger())
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "_"):
            let start = position
            while let next = current, next == UInt8(ascii: "_") || (next | 0x20 >= UInt8(ascii: "a") && next | 0x20 <= UInt8(ascii: "z")) || ByteText.isDigit(next) {
                position += 1
            }
            switch String(decoding: bytes[start..<position], as: UTF8.self) {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            case let word:
                position = start
                throw failure("unexpected name \(word.prefix(40)) (only True, False and None are literals)")
            }
        default:
            throw failure("unexpected character \(ByteText.describe(byte)), expected a value")
        }
    }

    /// Whether the last non-space byte before the closing bracket just parsed (at position - 1)
    /// is a comma, in the bracketed text that began at `start`.
    private func endsWithComma(from start: Int) -> Bool {
        var index = position - 2
        while index > start, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A || bytes[index] == 0x0D {
            index -= 1
        }
        return index > start && bytes[index] == UInt8(ascii: ",")
    }

    /// Items up to `closer`, comma-separated, a trailing comma allowed; with `pairs`, each item
    /// is `key: value` and both are returned in turn.
    private mutating func parseSequence(closer: UInt8, depth: Int, pairs: Bool) throws -> [PythonLiteral] {
        position += 1  // the opening bracket
        var items: [PythonLiteral] = []
        while true {
            skipWhitespace()
            if current == closer {
                position += 1
                return items
            }
            items.append(try parseValue(depth: depth + 1))
            if pairs {
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { throw failure("expected ':' after a dict key") }
                position += 1
                skipWhitespace()
                items.append(try parseValue(depth: depth + 1))
            }
            skipWhitespace()
            guard let byte = current else { throw failure("unexpected end of text, expected '\(Character(Unicode.Scalar(closer)))'") }
            if byte == closer { continue }
            guard byte == UInt8(ascii: ",") else {
                throw failure("expected ',' or '\(Character(Unicode.Scalar(closer)))', found \(ByteText.describe(byte))")
            }
            position += 1
        }
    }

    private mutating func parseString(quote: UInt8) throws -> String {
        position += 1
        var scalars = String.UnicodeScalarView()
        var utf8: [UInt8] = []
        func flush() {
            guard !utf8.isEmpty else { return }
            if latin1 {
                scalars.append(contentsOf: utf8.map { Unicode.Scalar($0) })
            } else {
                scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars)
            }
            utf8.removeAll()
        }
        while true {
            guard let byte = current else { throw failure("unterminated string") }
            position += 1
            if byte == quote {
                flush()
                return String(scalars)
            }
            if byte == 0x0A { throw failure("line break inside a string") }
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                continue
            }
            guard let escape = current else { throw failure("unterminated string") }
            position += 1
            switch escape {
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "0"): utf8.append(0x00)
            default: utf8.append(escape)  // \\ \' \" and anything else taken literally
            }
        }
    }

    private mutating func parseInteger() throws -> Int {
        let start = position
        var negative = false
        if current == UInt8(ascii: "-") || current == UInt8(ascii: "+") {
            negative = current == UInt8(ascii: "-")
            position += 1
            skipWhitespace()
        }
        guard let first = current, ByteText.isDigit(first) else { throw failure("expected a digit") }
        var magnitude = 0
        while let byte = current, ByteText.isDigit(byte) || byte == UInt8(ascii: "_") {
            position += 1
            if byte == UInt8(ascii: "_") { continue }
            let (shifted, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            guard !overflow1 && !overflow2 else { throw PythonLiteralError(offset: start, message: "integer too large") }
            magnitude = sum
        }
        if current == UInt8(ascii: "L") || current == UInt8(ascii: "l") { position += 1 }
        if let byte = current, byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") || byte == UInt8(ascii: "j") {
            throw failure("expected an integer, found a non-integer number")
        }
        return negative ? -magnitude : magnitude
    }
}
