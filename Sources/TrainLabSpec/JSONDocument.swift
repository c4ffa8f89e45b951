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
    /// For a swept path whose values are listed (`"optimizer.lr": [0.1, -1]`), the index of this
    /// run's value in the list: errors then point at that element.
    let sweptElements: [String: Int]

    /// Deepest nesting of arrays and objects a spec may have.
    public static let maximumDepth = 512

    /// A document without source locations (for values built in code).
    public init(root: JSONValue, file: String) {
        self.init(root: root, file: file, bytes: [], lineStarts: [0], valueOffsets: [:], keyOffsets: [:], sweptPaths: [])
    }

    init(
        root: JSONValue, file: String, bytes: [UInt8], lineStarts: [Int], valueOffsets: [String: Int],
        keyOffsets: [String: Int], sweptPaths: [String], sweptElements: [String: Int] = [:]
    ) {
        self.sweptElements = sweptElements
        self.root = root
        self.file = file
        self.bytes = bytes
        self.lineStarts = lineStarts
        self.valueOffsets = valueOffsets
        self.keyOffsets = keyOffsets
        self.sweptPaths = sweptPaths
    }

    /// Line and column (1-based, columns in Unicode scalars) where the value at `path` starts.
    /// A value set by a listed sweep value is located at that element (and inside it).
    public func location(of path: String) -> (line: Int, column: Int)? {
        if let swept = sweptPrefix(of: path) {
            if let index = sweptElements[swept] {
                let element = "sweep." + swept + "[\(index)]"
                return offsetLocation(valueOffsets[element + path.dropFirst(swept.count)] ?? valueOffsets[element]
                                      ?? valueOffsets["sweep." + swept])
            }
            return offsetLocation(valueOffsets["sweep." + swept])
        }
        return offsetLocation(valueOffsets[path])
    }

    /// Line and column of the key of the object member at `path` (e.g. `optimizer.lr`).
    public func keyLocation(of path: String) -> (line: Int, column: Int)? {
        if let swept = sweptPrefix(of: path) {
            if let index = sweptElements[swept], path.count > swept.count,
               let offset = keyOffsets["sweep." + swept + "[\(index)]" + path.dropFirst(swept.count)] {
                return offsetLocation(offset)
            }
            return offsetLocation(keyOffsets["sweep." + swept])
        }
        return offsetLocation(keyOffsets[path])
    }

    /// Where the value at `path` of a resolved run is written: a path set by a listed sweep
    /// value is its element, `sweep["optimizer.lr"][2]` (and `sweep["optimizer"][1].lr` inside
    /// one); any other path is itself.
    public func sourcePath(of path: String) -> String {
        guard let swept = sweptPrefix(of: path), let index = sweptElements[swept] else { return path }
        return "sweep[\"\(swept)\"][\(index)]" + path.dropFirst(swept.count)
    }

    /// A document for `root` (e.g. one resolved sweep run) that reuses `other`'s source locations.
    /// With `assignments`, swept paths (and anything under them) point at their entries in `sweep`.
    public init(
        root: JSONValue, file: String, locationsFrom other: JSONDocument,
        assignments: [(path: String, value: JSONValue)] = []
    ) {
        var elements = other.sweptElements
        if case .object(let spec) = other.root, case .object(let sweep)? = spec["sweep"] {
            for (path, value) in assignments {
                if case .array(let values)? = sweep[path], let index = values.firstIndex(of: value) { elements[path] = index }
            }
        }
        self.init(
            root: root, file: file, bytes: other.bytes, lineStarts: other.lineStarts, valueOffsets: other.valueOffsets,
            keyOffsets: other.keyOffsets, sweptPaths: other.sweptPaths + assignments.map(\.path), sweptElements: elements)
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
    /// Where the bad value is written: `sweep["optimizer.lr"][2]` for a swept value.
    public let path: String
    public let message: String
    public let line: Int?
    public let column: Int?
    /// The path in the resolved run (`optimizer.lr`), which `path` may name by its sweep entry.
    public let resolvedPath: String
    /// The spec's further errors, when it has several (`ExperimentSpec.load` reports up to 20).
    public var others: [SpecError] = []

    public init(file: String, path: String, message: String, line: Int? = nil, column: Int? = nil,
                resolvedPath: String? = nil) {
        self.file = file
        self.path = path
        self.message = message
        self.line = line
        self.column = column
        self.resolvedPath = resolvedPath ?? path
    }

    /// This error and `others`, in order.
    public var all: [SpecError] {
        var first = self
        first.others = []
        return [first] + others
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
        return ([text + message] + others.map(\.description)).joined(separator: "\n")
    }
}

extension JSONValue {
    /// This value without the member or element at `path` (`optimizer.lr`, `model.hidden[1]`);
    /// nil when nothing is there.
    public func removing(path: String) -> JSONValue? {
        var components: [JSONPathStep] = []
        for segment in path.split(separator: ".", omittingEmptySubsequences: false) {
            var rest = Substring(segment)
            if let open = rest.firstIndex(of: "[") {
                if open > rest.startIndex { components.append(.key(String(rest[..<open]))) }
                rest = rest[open...]
                while rest.hasPrefix("["), let close = rest.firstIndex(of: "]"), let index = Int(rest[rest.index(after: rest.startIndex)..<close]) {
                    components.append(.index(index))
                    rest = rest[rest.index(after: close)...]
                }
                if !rest.isEmpty { return nil }
            } else {
                components.append(.key(String(rest)))
            }
        }
        return removing(components[...])
    }

    private enum JSONPathStep {
        case key(String)
        case index(Int)
    }

    private func removing(_ steps: ArraySlice<JSONPathStep>) -> JSONValue? {
        guard let step = steps.first else { return nil }
        switch (self, step) {
        case (.object(var object), .key(let key)):
            guard let member = object[key] else { return nil }
            if steps.count == 1 {
                object[key] = nil
            } else {
                guard let inner = member.removing(steps.dropFirst()) else { return nil }
                object[key] = inner
            }
            return .object(object)
        case (.array(var elements), .index(let index)) where elements.indices.contains(index):
            if steps.count == 1 {
                elements.remove(at: index)
            } else {
                guard let inner = elements[index].removing(steps.dropFirst()) else { return nil }
                elements[index] = inner
            }
            return .array(elements)
        default:
            return nil
        }
    }
}
