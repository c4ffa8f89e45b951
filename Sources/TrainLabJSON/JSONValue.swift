/// A JSON value. Objects keep their keys in file order.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
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

    /// A number built in code (its literal is the writer's form of `value`).
    public static func number(_ value: Double) -> JSONValue { .number(JSONNumber(value)) }
}

/// A JSON number: its value and the literal it was read from. Integers beyond 2^53 (safetensors
/// offsets) are exact only in the literal, and messages should quote what the file says ("1.0").
/// Numbers are equal when their values are: `1`, `1.0` and `1e0` are the same number.
public struct JSONNumber: Sendable, Equatable {
    public let value: Double
    /// The literal as read, or `JSONWriter.number(value)` for a number built in code.
    public let literal: String

    public init(_ value: Double) {
        self.value = value
        self.literal = JSONWriter.number(value)
    }

    init(value: Double, literal: String) {
        self.value = value
        self.literal = literal
    }

    /// The exact value when the literal is an integer (no fraction or exponent) that fits in `Int`.
    public var integer: Int? { Int(literal) }

    public static func == (a: JSONNumber, b: JSONNumber) -> Bool { a.value == b.value }
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

    /// The members in key order.
    public var members: [(key: String, value: JSONValue)] { keys.map { ($0, values[$0] ?? .null) } }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }
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
