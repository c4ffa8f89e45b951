import Foundation

/// A parsed JSON file: its root value and where each value (and object key) starts in the text.
public struct JSONDocument: Sendable {
    public let root: JSONValue
    public let file: String
    let bytes: [UInt8]
    let lineStarts: [Int]
    let valueOffsets: [String: Int]
    let keyOffsets: [String: Int]
    /// Paths set by a sweep, whose locations are those of their `sweep` entries.
    let sweptPaths: [String]

    /// A document without source locations (for values built in code).
    public init(root: JSONValue, file: String) {
        self.init(root: root, file: file, bytes: [], lineStarts: [0], valueOffsets: [:], keyOffsets: [:], sweptPaths: [])
    }

    init(
        root: JSONValue, file: String, bytes: [UInt8], lineStarts: [Int], valueOffsets: [String: Int],
        keyOffsets: [String: Int], sweptPaths: [String]
    ) {
        self.root = root
        self.file = file
        self.bytes = bytes
        self.lineStarts = lineStarts
        self.valueOffsets = valueOffsets
        self.keyOffsets = keyOffsets
        self.sweptPaths = sweptPaths
    }

    /// Line and column (1-based, columns in Unicode scalars) where the value at `path` starts.
    public func location(of path: String) -> (line: Int, column: Int)? {
        if let swept = sweptPrefix(of: path) { return offsetLocation(valueOffsets["sweep." + swept]) }
        return offsetLocation(valueOffsets[path])
    }

    /// Line and column of the key of the object member at `path` (e.g. `optimizer.lr`).
    public func keyLocation(of path: String) -> (line: Int, column: Int)? {
        if let swept = sweptPrefix(of: path) { return offsetLocation(keyOffsets["sweep." + swept]) }
        return offsetLocation(keyOffsets[path])
    }

    /// A document for `root` (e.g. one resolved sweep run) that reuses `other`'s source locations.
    /// With `assignments`, swept paths (and anything under them) point at their entries in `sweep`.
    public init(
        root: JSONValue, file: String, locationsFrom other: JSONDocument,
        assignments: [(path: String, value: JSONValue)] = []
    ) {
        self.init(
            root: root, file: file, bytes: other.bytes, lineStarts: other.lineStarts, valueOffsets: other.valueOffsets,
            keyOffsets: other.keyOffsets, sweptPaths: other.sweptPaths + assignments.map(\.path))
    }

    private func sweptPrefix(of path: String) -> String? {
        var best: String?
        for swept in sweptPaths
        where path == swept || path.hasPrefix(swept + ".") || path.hasPrefix(swept + "[") {
            if best == nil || swept.count > best!.count { best = swept }
        }
        return best
    }

    private func offsetLocation(_ offset: Int?) -> (line: Int, column: Int)? {
        guard let offset else { return nil }
        return lineColumn(bytes: bytes, lineStarts: lineStarts, offset: offset)
    }
}

/// 1-based line and column (counted in Unicode scalars) of a byte offset.
func lineColumn(bytes: [UInt8], lineStarts: [Int], offset: Int) -> (line: Int, column: Int) {
    var lo = 0
    var hi = lineStarts.count - 1
    while lo < hi {
        let mid = (lo + hi + 1) / 2
        if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
    }
    var column = 1
    var i = lineStarts[lo]
    let end = min(offset, bytes.count)
    while i < end {
        if bytes[i] & 0xC0 != 0x80 { column += 1 }
        i += 1
    }
    return (lo + 1, column)
}

/// Strict JSON (RFC 8259) parsing with precise errors.
public enum JSONParser {
    /// Deepest nesting of arrays and objects accepted.
    public static let maxDepth = 512

    /// Strict JSON (RFC 8259) with precise errors: "expected ',' or '}' after an object member", with line and column; duplicate keys are an error naming the key; also records the line/column of every value's start so later semantic errors can point at it.
    public static func parse(_ text: String, file: String) throws -> JSONDocument {
        try parse(bytes: Array(text.utf8), file: file)
    }

    /// Parses raw file contents, rejecting invalid UTF-8 with its location.
    public static func parse(data: Data, file: String) throws -> JSONDocument {
        let bytes = [UInt8](data)
        if let bad = firstInvalidUTF8(bytes) {
            let starts = lineStartOffsets(bytes)
            let (line, column) = lineColumn(bytes: bytes, lineStarts: starts, offset: bad)
            throw SpecError(
                file: file, path: "",
                message: "invalid UTF-8 (byte 0x\(String(bytes[bad], radix: 16, uppercase: true))); the file must be UTF-8 text",
                line: line, column: column)
        }
        return try parse(bytes: bytes, file: file)
    }

    static func parse(bytes: [UInt8], file: String) throws -> JSONDocument {
        var parser = Parser(bytes: bytes, file: file)
        let root = try parser.parseDocument()
        return JSONDocument(
            root: root, file: file, bytes: bytes, lineStarts: parser.lineStarts,
            valueOffsets: parser.valueOffsets, keyOffsets: parser.keyOffsets, sweptPaths: [])
    }

    static func lineStartOffsets(_ bytes: [UInt8]) -> [Int] {
        var starts = [0]
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") { starts.append(i + 1) }
        return starts
    }

    /// Offset of the first byte that is not part of well-formed UTF-8, or nil.
    static func firstInvalidUTF8(_ b: [UInt8]) -> Int? {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c < 0x80 {
                i += 1
                continue
            }
            var need: Int
            var cp: UInt32
            switch c {
            case 0xC2...0xDF: need = 1; cp = UInt32(c & 0x1F)
            case 0xE0...0xEF: need = 2; cp = UInt32(c & 0x0F)
            case 0xF0...0xF4: need = 3; cp = UInt32(c & 0x07)
            default: return i
            }
            guard i + need < n else { return i }
            for k in 1...need {
                let d = b[i + k]
                guard d & 0xC0 == 0x80 else { return i }
                cp = cp << 6 | UInt32(d & 0x3F)
            }
            if need == 2 && (cp < 0x800 || (0xD800...0xDFFF).contains(cp)) { return i }
            if need == 3 && (cp < 0x10000 || cp > 0x10FFFF) { return i }
            i += need + 1
        }
        return nil
    }
}

private extension UInt8 {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let colon = UInt8(ascii: ":")
    static let comma = UInt8(ascii: ",")
    static let minus = UInt8(ascii: "-")
    static let plus = UInt8(ascii: "+")
    static let dot = UInt8(ascii: ".")

    var isDigit: Bool { self >= 0x30 && self <= 0x39 }
    var isWordByte: Bool {
        (self >= 0x30 && self <= 0x39) || (self >= 0x41 && self <= 0x5A) || (self >= 0x61 && self <= 0x7A)
            || self == 0x5F || self == .minus || self == .plus || self == .dot
    }
    var isWhitespace: Bool { self == 0x20 || self == 0x09 || self == 0x0A || self == 0x0D }
    var hexValue: UInt32? {
        switch self {
        case 0x30...0x39: return UInt32(self - 0x30)
        case 0x41...0x46: return UInt32(self - 0x41 + 10)
        case 0x61...0x66: return UInt32(self - 0x61 + 10)
        default: return nil
        }
    }
}

private struct Parser {
    let bytes: [UInt8]
    let file: String
    let lineStarts: [Int]
    var pos = 0
    var valueOffsets: [String: Int] = [:]
    var keyOffsets: [String: Int] = [:]

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
        self.lineStarts = JSONParser.lineStartOffsets(bytes)
    }

    // MARK: Errors

    func error(at offset: Int, _ path: String, _ message: String) -> SpecError {
        let (line, column) = lineColumn(bytes: bytes, lineStarts: lineStarts, offset: offset)
        return SpecError(file: file, path: path, message: message, line: line, column: column)
    }

    /// "`expected`, got `what is at pos`", with a hint for common non-JSON habits.
    func unexpected(_ expected: String, _ path: String, suffix: String = "") -> SpecError {
        var message = "\(expected), got \(describeToken(at: pos))"
        if pos < bytes.count {
            switch bytes[pos] {
            case UInt8(ascii: "/"), UInt8(ascii: "#"): message += " (comments are not allowed in JSON)"
            case UInt8(ascii: "'"): message += " (strings must use double quotes)"
            default: break
            }
        }
        return error(at: pos, path, message + suffix)
    }

    func describeToken(at offset: Int) -> String {
        guard offset < bytes.count else { return "end of file" }
        let c = bytes[offset]
        if c == .quote {
            var end = offset + 1
            while end < bytes.count && end - offset < 40 && bytes[end] != .quote && bytes[end] != 0x0A {
                if bytes[end] == .backslash { end += 1 }
                end += 1
            }
            if end < bytes.count && bytes[end] == .quote {
                return "'" + String(decoding: bytes[offset...end], as: UTF8.self) + "'"
            }
            return "'\"'"
        }
        if c.isWordByte {
            var end = offset
            while end < bytes.count && end - offset < 30 && bytes[end].isWordByte { end += 1 }
            return "'" + String(decoding: bytes[offset..<end], as: UTF8.self) + "'"
        }
        if c >= 0x21 && c < 0x7F { return "'" + String(UnicodeScalar(c)) + "'" }
        if c < 0x80 { return codePoint(UInt32(c)) }
        // A multi-byte character (the bytes are valid UTF-8 here).
        var end = offset + 1
        while end < bytes.count && bytes[end] & 0xC0 == 0x80 { end += 1 }
        let text = String(decoding: bytes[offset..<end], as: UTF8.self)
        let scalar = text.unicodeScalars.first.map { $0.value } ?? 0xFFFD
        return "'\(text)' (\(codePoint(scalar)))"
    }

    func codePoint(_ value: UInt32) -> String {
        let hex = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    func location(_ offset: Int) -> String {
        let (line, column) = lineColumn(bytes: bytes, lineStarts: lineStarts, offset: offset)
        return "line \(line), column \(column)"
    }

    // MARK: Structure

    mutating func skipWhitespace() {
        while pos < bytes.count && bytes[pos].isWhitespace { pos += 1 }
    }

    /// An array or object being filled, innermost last on the parser's stack.
    struct Frame {
        var isObject: Bool
        var object = JSONObject()
        var elements: [JSONValue] = []
        var keyStarts: [String: Int] = [:]
        var key = ""
        var path: String
        var open: Int
    }

    func neverClosed(_ frame: Frame) -> String {
        " (the \(frame.isObject ? "object" : "array") opened at \(location(frame.open)) is never closed)"
    }

    /// Parses the whole text without recursion (so deep nesting cannot exhaust the stack).
    mutating func parseDocument() throws -> JSONValue {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { pos = 3 }
        skipWhitespace()
        if pos == bytes.count {
            throw error(at: pos, "", "expected a JSON value, got end of file (the file is empty)")
        }
        var stack: [Frame] = []
        var path = ""
        var expected = "expected a JSON value"
        var root = JSONValue.null
        nextValue: while true {
            // Start of a value at `path`.
            skipWhitespace()
            guard pos < bytes.count else { throw unexpected(expected, path, suffix: stack.last.map(neverClosed) ?? "") }
            if valueOffsets[path] == nil { valueOffsets[path] = pos }
            let c = bytes[pos]
            var completed: JSONValue
            switch c {
            case .openBrace, .openBracket:
                if stack.count >= JSONParser.maxDepth {
                    throw error(at: pos, path, "nesting is deeper than \(JSONParser.maxDepth) levels")
                }
                var frame = Frame(isObject: c == .openBrace, path: path, open: pos)
                pos += 1
                skipWhitespace()
                if pos < bytes.count && bytes[pos] == (frame.isObject ? .closeBrace : .closeBracket) {
                    pos += 1
                    completed = frame.isObject ? .object(JSONObject()) : .array([])
                } else if frame.isObject {
                    path = try readKey(&frame, expectedKey: "expected a string key or '}'")
                    expected = "expected a value after ':'"
                    stack.append(frame)
                    continue nextValue
                } else {
                    path = joinPath(frame.path, index: 0)
                    expected = "expected a value or ']'"
                    stack.append(frame)
                    continue nextValue
                }
            case .quote:
                completed = .string(try parseString(path: path))
            case .minus, 0x30...0x39:
                completed = .number(try parseNumber(path: path))
            default:
                if c.isWordByte {
                    completed = try parseWord(path: path, expected: expected)
                } else {
                    throw unexpected(expected, path)
                }
            }
            // Store the finished value in its container; close containers that end here.
            while var frame = stack.popLast() {
                skipWhitespace()
                if frame.isObject {
                    frame.object[frame.key] = completed
                    let expectedNext = "expected ',' or '}' after an object member"
                    guard pos < bytes.count else { throw unexpected(expectedNext, frame.path, suffix: neverClosed(frame)) }
                    if bytes[pos] == .comma {
                        pos += 1
                        path = try readKey(&frame, expectedKey: "expected a string key after ','")
                        expected = "expected a value after ':'"
                        stack.append(frame)
                        continue nextValue
                    }
                    guard bytes[pos] == .closeBrace else {
                        throw unexpected(expectedNext, frame.path, suffix: bytes[pos] == .quote ? " (is a comma missing?)" : "")
                    }
                    pos += 1
                    completed = .object(frame.object)
                } else {
                    frame.elements.append(completed)
                    let expectedNext = "expected ',' or ']' after an array element"
                    guard pos < bytes.count else { throw unexpected(expectedNext, frame.path, suffix: neverClosed(frame)) }
                    if bytes[pos] == .comma {
                        pos += 1
                        skipWhitespace()
                        if pos < bytes.count && bytes[pos] == .closeBracket {
                            throw error(at: pos, frame.path, "trailing comma before ']' is not allowed")
                        }
                        path = joinPath(frame.path, index: frame.elements.count)
                        expected = "expected a value after ','"
                        stack.append(frame)
                        continue nextValue
                    }
                    guard bytes[pos] == .closeBracket else { throw unexpected(expectedNext, frame.path) }
                    pos += 1
                    completed = .array(frame.elements)
                }
            }
            root = completed
            break
        }
        skipWhitespace()
        if pos < bytes.count {
            throw unexpected("expected end of file after the JSON value", "", suffix: " (only one top-level value is allowed)")
        }
        return root
    }

    /// Reads `"key":` into `frame`, checking for duplicates; returns the member's path.
    mutating func readKey(_ frame: inout Frame, expectedKey: String) throws -> String {
        skipWhitespace()
        guard pos < bytes.count else { throw unexpected(expectedKey, frame.path, suffix: neverClosed(frame)) }
        let c = bytes[pos]
        if c != .quote {
            if c == .closeBrace { throw error(at: pos, frame.path, "trailing comma before '}' is not allowed") }
            if c.isWordByte { throw unexpected(expectedKey, frame.path, suffix: " (object keys must be in double quotes)") }
            throw unexpected(expectedKey, frame.path)
        }
        let keyStart = pos
        let key = try parseString(path: frame.path)
        let memberPath = joinPath(frame.path, key)
        if let first = frame.keyStarts[key] {
            throw error(at: keyStart, memberPath, "duplicate key '\(key)' (first defined at \(location(first)))")
        }
        frame.keyStarts[key] = keyStart
        if keyOffsets[memberPath] == nil { keyOffsets[memberPath] = keyStart }
        skipWhitespace()
        guard pos < bytes.count, bytes[pos] == .colon else {
            throw unexpected("expected ':' after the key '\(key)'", frame.path)
        }
        pos += 1
        frame.key = key
        return memberPath
    }

    // MARK: Scalars

    mutating func parseWord(path: String, expected: String) throws -> JSONValue {
        let start = pos
        var end = pos
        while end < bytes.count && bytes[end].isWordByte { end += 1 }
        let word = String(decoding: bytes[start..<end], as: UTF8.self)
        switch word {
        case "true": pos = end; return .bool(true)
        case "false": pos = end; return .bool(false)
        case "null": pos = end; return .null
        default: break
        }
        switch word.lowercased() {
        case "nan", "infinity", "+infinity", "inf", "+inf":
            throw error(at: start, path, "NaN and Infinity are not allowed in JSON, got '\(word)'")
        case "true", "false", "null":
            throw error(at: start, path, "invalid literal '\(word)'; JSON literals are lowercase: '\(word.lowercased())'")
        case "none", "nil":
            throw error(at: start, path, "invalid literal '\(word)'; did you mean 'null'?")
        default:
            if bytes[start] == .plus || bytes[start] == .dot {
                throw error(at: start, path, "invalid number '\(word)'; a JSON number starts with '-' or a digit")
            }
            throw unexpected(expected, path, suffix: " (strings must be in double quotes)")
        }
    }

    mutating func parseNumber(path: String) throws -> Double {
        let start = pos
        func text() -> String { String(decoding: bytes[start..<pos], as: UTF8.self) }
        if bytes[pos] == .minus { pos += 1 }
        guard pos < bytes.count, bytes[pos].isDigit else {
            var end = pos
            while end < bytes.count && bytes[end].isWordByte { end += 1 }
            let word = String(decoding: bytes[pos..<end], as: UTF8.self).lowercased()
            if word == "infinity" || word == "inf" || word == "nan" {
                throw error(at: start, path, "NaN and Infinity are not allowed in JSON, got '-\(word)'")
            }
            throw error(at: pos, path, "expected a digit after '-', got \(describeToken(at: pos))")
        }
        if bytes[pos] == 0x30 {
            pos += 1
            if pos < bytes.count && bytes[pos].isDigit {
                while pos < bytes.count && bytes[pos].isDigit { pos += 1 }
                throw error(at: start, path, "leading zeros are not allowed in numbers, got '\(text())'")
            }
        } else {
            while pos < bytes.count && bytes[pos].isDigit { pos += 1 }
        }
        if pos < bytes.count && bytes[pos] == .dot {
            pos += 1
            guard pos < bytes.count, bytes[pos].isDigit else {
                throw error(at: pos, path, "expected a digit after the decimal point in '\(text())', got \(describeToken(at: pos))")
            }
            while pos < bytes.count && bytes[pos].isDigit { pos += 1 }
        }
        if pos < bytes.count && (bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E")) {
            pos += 1
            if pos < bytes.count && (bytes[pos] == .plus || bytes[pos] == .minus) { pos += 1 }
            guard pos < bytes.count, bytes[pos].isDigit else {
                throw error(at: pos, path, "expected a digit in the exponent of '\(text())', got \(describeToken(at: pos))")
            }
            while pos < bytes.count && bytes[pos].isDigit { pos += 1 }
        }
        let literal = text()
        guard let value = Double(literal), value.isFinite else {
            let shown = literal.count > 40 ? String(literal.prefix(37)) + "..." : literal
            throw error(at: start, path, "number \(shown) is out of range (beyond ±1.8e308)")
        }
        return value
    }

    mutating func parseString(path: String) throws -> String {
        let start = pos
        pos += 1
        var out: [UInt8] = []
        var runStart = pos
        while true {
            guard pos < bytes.count else {
                throw error(at: start, path, "unterminated string: end of file before the closing '\"'")
            }
            let b = bytes[pos]
            if b == .quote {
                out.append(contentsOf: bytes[runStart..<pos])
                pos += 1
                return String(decoding: out, as: UTF8.self)
            }
            if b == .backslash {
                out.append(contentsOf: bytes[runStart..<pos])
                try parseEscape(path: path, stringStart: start, into: &out)
                runStart = pos
                continue
            }
            if b < 0x20 {
                if b == 0x0A || b == 0x0D {
                    throw error(at: start, path, "unterminated string: line break before the closing '\"' (write a line break in a string as \\n)")
                }
                throw error(at: pos, path, "unescaped control character \(codePoint(UInt32(b))) in string (write it as an escape such as \\t or \\u0009)")
            }
            pos += 1
        }
    }

    /// Parses the escape at `pos` (a backslash) and appends its UTF-8 bytes.
    mutating func parseEscape(path: String, stringStart: Int, into out: inout [UInt8]) throws {
        let escapeStart = pos
        pos += 1
        guard pos < bytes.count else {
            throw error(at: stringStart, path, "unterminated string: end of file before the closing '\"'")
        }
        let c = bytes[pos]
        pos += 1
        switch c {
        case .quote: out.append(.quote)
        case .backslash: out.append(.backslash)
        case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var code = try hex4(path: path, escapeStart: escapeStart)
            if (0xDC00..<0xE000).contains(code) {
                throw error(at: escapeStart, path, "lone surrogate '\\u\(hexText(code))' in string (a low surrogate must follow a high surrogate)")
            }
            if (0xD800..<0xDC00).contains(code) {
                let lowStart = pos
                guard pos + 1 < bytes.count, bytes[pos] == .backslash, bytes[pos + 1] == UInt8(ascii: "u") else {
                    throw error(at: escapeStart, path, "lone surrogate '\\u\(hexText(code))' in string (a high surrogate must be followed by a low surrogate escape \\uDC00-\\uDFFF)")
                }
                pos += 2
                let low = try hex4(path: path, escapeStart: lowStart)
                guard (0xDC00..<0xE000).contains(low) else {
                    throw error(at: escapeStart, path, "lone surrogate '\\u\(hexText(code))' in string (a high surrogate must be followed by a low surrogate escape \\uDC00-\\uDFFF)")
                }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let scalar = Unicode.Scalar(code) else {
                throw error(at: escapeStart, path, "invalid \\u escape in string")
            }
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        default:
            pos -= 1
            let valid = "(valid escapes: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)"
            if c >= 0x21 && c < 0x7F {
                throw error(at: escapeStart, path, "invalid escape '\\\(String(UnicodeScalar(c)))' in string \(valid)")
            }
            throw error(at: escapeStart, path, "invalid escape in string: '\\' followed by \(describeToken(at: pos)) \(valid)")
        }
    }

    mutating func hex4(path: String, escapeStart: Int) throws -> UInt32 {
        var value: UInt32 = 0
        for k in 0..<4 {
            guard pos + k < bytes.count, let digit = bytes[pos + k].hexValue else {
                var end = pos
                while end < min(pos + 4, bytes.count) && bytes[end] >= 0x20 && bytes[end] < 0x7F && bytes[end] != .quote { end += 1 }
                let shown = String(decoding: bytes[pos..<end], as: UTF8.self)
                throw error(at: escapeStart, path, "invalid \\u escape in string: expected 4 hex digits, got '\\u\(shown)'")
            }
            value = value << 4 | digit
        }
        pos += 4
        return value
    }

    func hexText(_ code: UInt32) -> String {
        let hex = String(code, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
