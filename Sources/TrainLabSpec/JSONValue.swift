/// A JSON value. Objects keep their keys in file order.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The value's type with an article, for messages ("expected a number, got a string").
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

extension JSONValue: ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var object = JSONObject()
        for (key, value) in elements { object[key] = value }
        self = .object(object)
    }
}

/// An object that keeps its keys in file order.
public struct JSONObject: Sendable, Equatable {
    public var keys: [String]
    public var values: [String: JSONValue]

    public init() {
        keys = []
        values = [:]
    }

    /// Reading gives the value or nil; setting replaces in place, appends a new key at the end,
    /// and setting nil removes the key.
    public subscript(key: String) -> JSONValue? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }
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

/// Joins a parent path and an object key: `""` + `a` is `a`, `a` + `b` is `a.b`.
func joinPath(_ parent: String, _ key: String) -> String {
    parent.isEmpty ? key : parent + "." + key
}

/// Joins a parent path and an array index: `a` + 2 is `a[2]`.
func joinPath(_ parent: String, index: Int) -> String {
    parent + "[\(index)]"
}

/// A Swift value with a JSON form: what a spec default resolves to in the stored config.
public protocol JSONRepresentable {
    var jsonValue: JSONValue { get }
}

extension String: JSONRepresentable { public var jsonValue: JSONValue { .string(self) } }
extension Bool: JSONRepresentable { public var jsonValue: JSONValue { .bool(self) } }
extension Int: JSONRepresentable { public var jsonValue: JSONValue { .number(Double(self)) } }
extension Double: JSONRepresentable { public var jsonValue: JSONValue { .number(self) } }
extension Array: JSONRepresentable where Element: JSONRepresentable {
    public var jsonValue: JSONValue { .array(map(\.jsonValue)) }
}
