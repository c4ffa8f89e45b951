/// A parsed JSON text: its root value and where each value (and object key) starts, by JSON
/// path (`optimizer.betas[1]`), so later checks can point at what they refuse.
public struct ParsedJSON: Sendable {
    public let root: JSONValue
    /// Byte offsets where lines start (for `lineColumn`).
    public let lineStarts: [Int]
    /// Byte offset of the first value at each path.
    public let valueOffsets: [String: Int]
    /// Byte offset of the first key of each object member's path.
    public let keyOffsets: [String: Int]
}

/// A step from a container to one of its values: the duplicate-key error says where it is
/// structurally, since a key may itself contain `.` or `[`.
public enum JSONPathComponent: Sendable, Equatable {
    case key(String)
    case index(Int)
}

/// Text that is not JSON: where (byte offset, line, column, JSON path) and what.
///
/// `message` is worded for people editing the file ("expected ',' or '}' after an object member,
/// got ']'"); `kind` lets a reader of machine-written JSON word the problem its own way.
public struct JSONSyntaxError: Error, Sendable {
    /// What was wrong, in categories a caller may word differently.
    public enum Kind: Sendable, Equatable {
        /// A value must start at `offset` (the byte there, or end of text, is not one).
        case expectedValue
        case nestingTooDeep
        /// An object key must start at `offset`.
        case expectedKey
        case expectedColon
        /// After an object member (`inObject`) or an array element: ',' or the closing bracket.
        case expectedSeparator(inObject: Bool)
        /// Something other than whitespace follows the value.
        case trailingText
        /// `key` appears twice in the object at `container` (components from the root).
        case duplicateKey(String, container: [JSONPathComponent])
        /// A `\u` surrogate escape `code` without its partner; `next` is the escape that followed
        /// a high surrogate instead of a low one; the escapes end at byte `escapeEnd`.
        case loneSurrogate(UInt32, next: UInt32?, escapeEnd: Int)
        /// Anything else wrong in a literal, number or string.
        case malformedScalar
    }

    public let kind: Kind
    public let offset: Int
    public let line: Int
    public let column: Int
    /// The JSON path of the value being read (`""` for the root).
    public let path: String
    public let message: String
}

/// Joins a parent path and an object key: `""` + `a` is `a`, `a` + `b` is `a.b`.
public func joinPath(_ parent: String, _ key: String) -> String {
    parent.isEmpty ? key : parent + "." + key
}

/// Joins a parent path and an array index: `a` + 2 is `a[2]`.
public func joinPath(_ parent: String, index: Int) -> String {
    parent + "[\(index)]"
}

/// 1-based line and column (counted in Unicode scalars) of a byte offset.
public func lineColumn(bytes: [UInt8], lineStarts: [Int], offset: Int) -> (line: Int, column: Int) {
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

/// Strict JSON (RFC 8259) parsing with precise errors, for spec files written by people and
/// file headers written by programs alike.
public enum JSONParser {
    /// Strict JSON with precise errors: "expected ',' or '}' after an object member", with line
    /// and column; a duplicate key is an error naming the key. Nesting deeper than `maximumDepth`
    /// arrays and objects is refused (parsing uses no recursion, but hostile input should not
    /// cost unbounded memory either). A leading UTF-8 byte order mark is skipped only when
    /// `allowsByteOrderMark`. `bytes` must be valid UTF-8 (see `firstInvalidUTF8`).
    public static func parse(bytes: [UInt8], maximumDepth: Int, allowsByteOrderMark: Bool) throws(JSONSyntaxError) -> ParsedJSON {
        var parser = Parser(bytes: bytes, maximumDepth: maximumDepth)
        if allowsByteOrderMark && bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.pos = 3 }
        let root = try parser.parseDocument()
        return ParsedJSON(
            root: root, lineStarts: parser.lineStarts, valueOffsets: parser.valueOffsets,
            keyOffsets: parser.keyOffsets)
    }

    /// Byte offsets where lines start, the first line's (0) included.
    public static func lineStartOffsets(_ bytes: [UInt8]) -> [Int] {
        var starts = [0]
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") { starts.append(i + 1) }
        return starts
    }

    /// Offset of the first byte that is not part of well-formed UTF-8, or nil.
    public static func firstInvalidUTF8(_ b: [UInt8]) -> Int? {
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
    let maximumDepth: Int
    let lineStarts: [Int]
    var pos = 0
    var valueOffsets: [String: Int] = [:]
    var keyOffsets: [String: Int] = [:]

    init(bytes: [UInt8], maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
        self.lineStarts = JSONParser.lineStartOffsets(bytes)
    }

    // MARK: Errors

    func error(
        _ kind: JSONSyntaxError.Kind = .malformedScalar, at offset: Int, _ path: String, _ message: String
    ) -> JSONSyntaxError {
        let (line, column) = lineColumn(bytes: bytes, lineStarts: lineStarts, offset: offset)
        return JSONSyntaxError(kind: kind, offset: offset, line: line, column: column, path: path, message: message)
    }

    /// "`expected`, got `what is at pos`", with a hint for common non-JSON habits.
    func unexpected(
        _ kind: JSONSyntaxError.Kind, _ expected: String, _ path: String, suffix: String = ""
    ) -> JSONSyntaxError {
        var message = "\(expected), got \(describeToken(at: pos))"
        if pos < bytes.count {
            switch bytes[pos] {
            case UInt8(ascii: "/"), UInt8(ascii: "#"): message += " (comments are not allowed in JSON)"
            case UInt8(ascii: "'"): message += " (strings must use double quotes)"
            default: break
            }
        }
        return error(kind, at: pos, path, message + suffix)
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
    mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        skipWhitespace()
        if pos == bytes.count {
            throw error(.expectedValue, at: pos, "", "expected a JSON value, got end of file (the file is empty)")
        }
        var stack: [Frame] = []
        var path = ""
        var expected = "expected a JSON value"
        var root = JSONValue.null
        nextValue: while true {
            // Start of a value at `path`.
            skipWhitespace()
            guard pos < bytes.count else { throw unexpected(.expectedValue, expected, path, suffix: stack.last.map(neverClosed) ?? "") }
            if valueOffsets[path] == nil { valueOffsets[path] = pos }
            let c = bytes[pos]
            var completed: JSONValue
            switch c {
            case .openBrace, .openBracket:
                if stack.count >= maximumDepth {
                    throw error(.nestingTooDeep, at: pos, path, "nesting is deeper than \(maximumDepth) levels")
                }
                var frame = Frame(isObject: c == .openBrace, path: path, open: pos)
                pos += 1
                skipWhitespace()
                if pos < bytes.count && bytes[pos] == (frame.isObject ? .closeBrace : .closeBracket) {
                    pos += 1
                    completed = frame.isObject ? .object(JSONObject()) : .array([])
                } else if frame.isObject {
                    path = try readKey(&frame, ancestors: stack, expectedKey: "expected a string key or '}'")
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
                    throw unexpected(.expectedValue, expected, path)
                }
            }
            // Store the finished value in its container; close containers that end here.
            while var frame = stack.popLast() {
                skipWhitespace()
                if frame.isObject {
                    frame.object[frame.key] = completed
                    let expectedNext = "expected ',' or '}' after an object member"
                    guard pos < bytes.count else {
                        throw unexpected(.expectedSeparator(inObject: true), expectedNext, frame.path, suffix: neverClosed(frame))
                    }
                    if bytes[pos] == .comma {
                        pos += 1
                        path = try readKey(&frame, ancestors: stack, expectedKey: "expected a string key after ','")
                        expected = "expected a value after ':'"
                        stack.append(frame)
                        continue nextValue
                    }
                    guard bytes[pos] == .closeBrace else {
                        throw unexpected(
                            .expectedSeparator(inObject: true), expectedNext, frame.path,
                            suffix: bytes[pos] == .quote ? " (is a comma missing?)" : "")
                    }
                    pos += 1
                    completed = .object(frame.object)
                } else {
                    frame.elements.append(completed)
                    let expectedNext = "expected ',' or ']' after an array element"
                    guard pos < bytes.count else {
                        throw unexpected(.expectedSeparator(inObject: false), expectedNext, frame.path, suffix: neverClosed(frame))
                    }
                    if bytes[pos] == .comma {
                        pos += 1
                        skipWhitespace()
                        if pos < bytes.count && bytes[pos] == .closeBracket {
                            throw error(.expectedValue, at: pos, frame.path, "trailing comma before ']' is not allowed")
                        }
                        path = joinPath(frame.path, index: frame.elements.count)
                        expected = "expected a value after ','"
                        stack.append(frame)
                        continue nextValue
                    }
                    guard bytes[pos] == .closeBracket else {
                        throw unexpected(.expectedSeparator(inObject: false), expectedNext, frame.path)
                    }
                    pos += 1
                    completed = .array(frame.elements)
                }
            }
            root = completed
            break
        }
        skipWhitespace()
        if pos < bytes.count {
            throw unexpected(.trailingText, "expected end of file after the JSON value", "", suffix: " (only one top-level value is allowed)")
        }
        return root
    }

    /// Reads `"key":` into `frame`, checking for duplicates; returns the member's path.
    /// `ancestors` are the frames that hold `frame`, outermost first.
    mutating func readKey(_ frame: inout Frame, ancestors: [Frame], expectedKey: String) throws(JSONSyntaxError) -> String {
        skipWhitespace()
        guard pos < bytes.count else { throw unexpected(.expectedKey, expectedKey, frame.path, suffix: neverClosed(frame)) }
        let c = bytes[pos]
        if c != .quote {
            if c == .closeBrace { throw error(.expectedKey, at: pos, frame.path, "trailing comma before '}' is not allowed") }
            if c.isWordByte {
                throw unexpected(.expectedKey, expectedKey, frame.path, suffix: " (object keys must be in double quotes)")
            }
            throw unexpected(.expectedKey, expectedKey, frame.path)
        }
        let keyStart = pos
        let key = try parseString(path: frame.path)
        let memberPath = joinPath(frame.path, key)
        if let first = frame.keyStarts[key] {
            let container = ancestors.map { $0.isObject ? JSONPathComponent.key($0.key) : .index($0.elements.count) }
            throw error(
                .duplicateKey(key, container: container), at: keyStart, memberPath,
                "duplicate key '\(key)' (first defined at \(location(first)))")
        }
        frame.keyStarts[key] = keyStart
        if keyOffsets[memberPath] == nil { keyOffsets[memberPath] = keyStart }
        skipWhitespace()
        guard pos < bytes.count, bytes[pos] == .colon else {
            throw unexpected(.expectedColon, "expected ':' after the key '\(key)'", frame.path)
        }
        pos += 1
        frame.key = key
        return memberPath
    }

    // MARK: Scalars

    mutating func parseWord(path: String, expected: String) throws(JSONSyntaxError) -> JSONValue {
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
            throw unexpected(.expectedValue, expected, path, suffix: " (strings must be in double quotes)")
        }
    }

    mutating func parseNumber(path: String) throws(JSONSyntaxError) -> JSONNumber {
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
        return JSONNumber(value: value, literal: literal)
    }

    mutating func parseString(path: String) throws(JSONSyntaxError) -> String {
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
    mutating func parseEscape(path: String, stringStart: Int, into out: inout [UInt8]) throws(JSONSyntaxError) {
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
                throw error(
                    .loneSurrogate(code, next: nil, escapeEnd: pos), at: escapeStart, path,
                    "lone surrogate '\\u\(hexText(code))' in string (a low surrogate must follow a high surrogate)")
            }
            if (0xD800..<0xDC00).contains(code) {
                let lowStart = pos
                guard pos + 1 < bytes.count, bytes[pos] == .backslash, bytes[pos + 1] == UInt8(ascii: "u") else {
                    throw error(.loneSurrogate(code, next: nil, escapeEnd: pos), at: escapeStart, path, highWithoutLow(code))
                }
                pos += 2
                let low = try hex4(path: path, escapeStart: lowStart)
                guard (0xDC00..<0xE000).contains(low) else {
                    throw error(.loneSurrogate(code, next: low, escapeEnd: pos), at: escapeStart, path, highWithoutLow(code))
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

    mutating func hex4(path: String, escapeStart: Int) throws(JSONSyntaxError) -> UInt32 {
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

    func highWithoutLow(_ code: UInt32) -> String {
        "lone surrogate '\\u\(hexText(code))' in string (a high surrogate must be followed by a low surrogate escape \\uDC00-\\uDFFF)"
    }

    func hexText(_ code: UInt32) -> String {
        let hex = String(code, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
