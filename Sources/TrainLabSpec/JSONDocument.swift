import Foundation
@_exported import TrainLabJSON

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

    /// Deepest nesting of arrays and objects a spec may have.
    public static let maximumDepth = 512

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

extension JSONParser {
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
        do {
            let parsed = try parse(bytes: bytes, maximumDepth: JSONDocument.maximumDepth, allowsByteOrderMark: true)
            return JSONDocument(
                root: parsed.root, file: file, bytes: bytes, lineStarts: parsed.lineStarts,
                valueOffsets: parsed.valueOffsets, keyOffsets: parsed.keyOffsets, sweptPaths: [])
        } catch {
            throw SpecError(file: file, path: error.path, message: error.message, line: error.line, column: error.column)
        }
    }
}

/// Where a value sits: file, JSON path like `optimizer.betas[1]`, and line/column when known.
public struct SpecError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let path: String
    public let message: String
    public let line: Int?
    public let column: Int?

    public init(file: String, path: String, message: String, line: Int? = nil, column: Int? = nil) {
        self.file = file
        self.path = path
        self.message = message
        self.line = line
        self.column = column
    }

    /// `file:line:column: path: message`, leaving out what is unknown or empty.
    public var description: String {
        var where_ = file
        if let line {
            where_ += ":\(line)"
            if let column { where_ += ":\(column)" }
        }
        var text = where_.isEmpty ? "" : where_ + ": "
        if !path.isEmpty { text += path + ": " }
        return text + message
    }
}
