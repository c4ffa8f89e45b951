/// Reads one JSON object, remembering which keys were read; `finish()` rejects the rest.
///
/// It also records what each read resolved to (the value as written, or the default taken,
/// and the readers of nested objects), so `resolved` is the object with every default filled
/// in and every catalogue choice in one form, `{"kind": name, ...}`, however it was written.
public final class ObjectReader {
    /// "" for the root, else e.g. "optimizer" or "model.norm".
    public let path: String
    public let document: JSONDocument
    /// The object being read.
    public let object: JSONObject
    private var read: Set<String> = []
    /// Keys asked about, in order: the candidates for "did you mean".
    private var known: [String] = []
    /// What each read key resolved to, in reading order.
    private var entries: [(key: String, entry: Entry)] = []

    private enum Entry {
        case value(JSONValue)
        case child(ObjectReader)
    }

    /// Fails with "expected an object, got a string" when `value` is not an object.
    public init(_ value: JSONValue, path: String, document: JSONDocument) throws {
        self.path = path
        self.document = document
        guard case .object(let object) = value else {
            self.object = JSONObject()
            throw error(nil, "expected an object, got \(value.typeName)")
        }
        self.object = object
    }

    private init(empty path: String, document: JSONDocument) {
        self.path = path
        self.document = document
        self.object = JSONObject()
    }

    /// The object's keys in file order.
    public var keys: [String] { object.keys }

    /// Every key asked about (read or tested), in order: with `resolved`, what an entry takes.
    public var askedKeys: [String] { known }

    /// Whether the key is present; it counts as known (for suggestions) but not as read.
    public func has(_ key: String) -> Bool {
        note(key)
        return object[key] != nil
    }

    /// The raw value, marking the key read.
    public func value(_ key: String) -> JSONValue? {
        note(key)
        guard let value = object[key] else { return nil }
        read.insert(key)
        record(key, .value(value))
        return value
    }

    /// Records `value` as what `key` resolved to, for a default this reader's callers compute.
    public func resolve(_ key: String, _ value: JSONValue) {
        record(key, .value(value))
    }

    /// The object as read: every read key with the value it resolved to, nested readers
    /// resolved in turn; a catalogue choice's `kind` comes first.
    public var resolved: JSONValue {
        var out = JSONObject()
        let ordered = entries.filter { $0.key == "kind" } + entries.filter { $0.key != "kind" }
        for (key, entry) in ordered {
            switch entry {
            case .value(let value): out[key] = value
            case .child(let reader): out[key] = reader.resolved
            }
        }
        return .object(out)
    }

    /// The dotted path of a key in this object.
    public func path(of key: String) -> String { joinPath(path, key) }

    // MARK: Scalars

    public func string(_ key: String, default defaultValue: String? = nil) throws -> String {
        guard let value = value(key) else { return try defaultOrMissing(key, defaultValue) }
        guard case .string(let s) = value else { throw error(key, "expected a string, got \(value.typeName)") }
        return s
    }

    /// nil when missing or null.
    public func optionalString(_ key: String) throws -> String? {
        guard let value = value(key), value != .null else { return nil }
        return try string(key)
    }

    public func int(_ key: String, default defaultValue: Int? = nil, range: ClosedRange<Int>? = nil) throws -> Int {
        guard let value = value(key) else { return try defaultOrMissing(key, defaultValue) }
        return try intValue(value, path: path(of: key), range: range)
    }

    /// nil when missing or null.
    public func optionalInt(_ key: String, range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let value = value(key), value != .null else { return nil }
        return try intValue(value, path: path(of: key), range: range)
    }

    /// `openUpperBound` excludes the range's upper bound: "expected a number in [0, 1), got 1.5".
    public func double(
        _ key: String, default defaultValue: Double? = nil, range: ClosedRange<Double>? = nil, openUpperBound: Bool = false
    ) throws -> Double {
        guard let value = value(key) else { return try defaultOrMissing(key, defaultValue) }
        return try doubleValue(value, path: path(of: key), range: range, openUpperBound: openUpperBound)
    }

    /// nil when missing or null.
    public func optionalDouble(_ key: String, range: ClosedRange<Double>? = nil) throws -> Double? {
        guard let value = value(key), value != .null else { return nil }
        return try doubleValue(value, path: path(of: key), range: range, openUpperBound: false)
    }

    public func bool(_ key: String, default defaultValue: Bool? = nil) throws -> Bool {
        guard let value = value(key) else { return try defaultOrMissing(key, defaultValue) }
        guard case .bool(let b) = value else { throw error(key, "expected true or false, got \(value.typeName)") }
        return b
    }

    // MARK: Arrays

    /// Element errors name the element's path, e.g. `model.hidden[2]`.
    public func intArray(_ key: String, default defaultValue: [Int]? = nil, elementRange: ClosedRange<Int>? = nil) throws -> [Int] {
        guard let value = value(key) else { return try defaultOrMissing(key, defaultValue) }
        guard case .array(let elements) = value else {
            throw error(key, "expected an array of integers, got \(value.typeName)")
        }
        let base = path(of: key)
        return try elements.enumerated().map { i, element in
            try intValue(element, path: joinPath(base, index: i), range: elementRange)
        }
    }

    /// An array of names, each one of `allowed`: "benchmark.problems.p.optimizers[1]: unknown value 'adma', did you mean 'adam'? ...".
    public func nameArray(_ key: String, among allowed: [String], what: String) throws -> [String] {
        guard let value = value(key) else { throw error(nil, "missing required key '\(key)'") }
        guard case .array(let elements) = value else {
            throw error(key, "expected an array of \(what) names, got \(value.typeName)")
        }
        let base = path(of: key)
        return try elements.enumerated().map { i, element in
            let elementPath = joinPath(base, index: i)
            guard case .string(let name) = element else { throw at(elementPath, "expected a \(what) name, got \(element.typeName)") }
            guard allowed.contains(name) else { throw unknownName(name, what: what, at: elementPath, allowed: allowed) }
            return name
        }
    }

    /// `count` requires exactly that many elements.
    public func doubleArray(_ key: String, default defaultValue: [Double]? = nil, count: Int? = nil) throws -> [Double] {
        guard let value = value(key) else { return try defaultOrMissing(key, defaultValue) }
        let expected = count.map { "an array of \($0) number\($0 == 1 ? "" : "s")" } ?? "an array of numbers"
        guard case .array(let elements) = value else { throw error(key, "expected \(expected), got \(value.typeName)") }
        if let count, elements.count != count {
            throw error(key, "expected \(expected), got \(elements.count) element\(elements.count == 1 ? "" : "s")")
        }
        let base = path(of: key)
        return try elements.enumerated().map { i, element in
            try doubleValue(element, path: joinPath(base, index: i), range: nil, openUpperBound: false)
        }
    }

    // MARK: Choices

    /// One of a fixed set of strings: "unknown value 'adma' for optimizer.kind, did you mean 'adam'? (one of: sgd, adam)".
    public func choice(_ key: String, default defaultValue: String? = nil, among allowed: [String]) throws -> String {
        let list = allowed.joined(separator: ", ")
        guard let value = value(key) else {
            if let defaultValue {
                record(key, .value(.string(defaultValue)))
                return defaultValue
            }
            throw error(nil, "missing required key '\(key)' (one of: \(list))")
        }
        guard case .string(let s) = value else {
            throw error(key, "expected a string (one of: \(list)), got \(value.typeName)")
        }
        guard allowed.contains(s) else { throw unknownName(s, what: "value", at: path(of: key), allowed: allowed) }
        return s
    }

    /// Nil when missing; an error when present but not an object.
    public func object(_ key: String) throws -> ObjectReader? {
        guard let value = value(key) else { return nil }
        let child = try ObjectReader(value, path: path(of: key), document: document)
        record(key, .child(child))
        return child
    }

    /// The object at `key`, or an empty one when missing (its reads then resolve to defaults).
    public func objectOrEmpty(_ key: String) throws -> ObjectReader {
        if let child = try object(key) { return child }
        let child = ObjectReader(empty: path(of: key), document: document)
        record(key, .child(child))
        return child
    }

    /// A catalogue choice: either a name string ("gelu") or an object with "kind" plus options ({"kind": "gelu", "approximate": "tanh"}).
    /// Returns the kind and a reader over the remaining keys (for a bare string: an empty reader with the same path). Unknown kind -> did-you-mean error.
    /// An object without "kind" takes `default` when there is one. Nil when missing without a default.
    public func catalogue(_ key: String, default defaultValue: String? = nil, kinds: [String]) throws -> (kind: String, options: ObjectReader)? {
        let keyPath = path(of: key)
        let list = kinds.joined(separator: ", ")
        func chosen(_ kind: String, _ options: ObjectReader) -> (kind: String, options: ObjectReader) {
            options.resolve("kind", .string(kind))
            record(key, .child(options))
            return (kind, options)
        }
        guard let value = value(key) else {
            guard let defaultValue else { return nil }
            return chosen(defaultValue, ObjectReader(empty: keyPath, document: document))
        }
        switch value {
        case .string(let name):
            guard kinds.contains(name) else { throw unknownName(name, what: "kind", at: keyPath, allowed: kinds) }
            return chosen(name, ObjectReader(empty: keyPath, document: document))
        case .object:
            let options = try ObjectReader(value, path: keyPath, document: document)
            guard let kindValue = options.value("kind") else {
                if let defaultValue { return chosen(defaultValue, options) }
                throw options.error(nil, "missing required key 'kind' (one of: \(list))")
            }
            guard case .string(let name) = kindValue else {
                throw options.error("kind", "expected a string (one of: \(list)), got \(kindValue.typeName)")
            }
            guard kinds.contains(name) else {
                throw unknownName(name, what: "kind", at: joinPath(keyPath, "kind"), allowed: kinds, owner: keyPath)
            }
            return chosen(name, options)
        default:
            throw error(key, "expected a name (one of: \(list)) or an object with \"kind\", got \(value.typeName)")
        }
    }

    // MARK: Finishing and errors

    /// Rejects the first key that was never read: "unknown key 'lrr' in optimizer, did you mean 'lr'?".
    public func finish() throws {
        guard let key = object.keys.first(where: { !read.contains($0) }) else { return }
        let candidates = known.filter { object[$0] == nil }
        let place = path.isEmpty ? "at the top level" : "in \(path)"
        var message = "unknown key '\(key)' \(place)"
        if let alias = Self.alias(of: key), candidates.contains(alias.key) {
            message += ", did you mean '\(alias.key)'?"
            if let note = alias.note {
                let owner = object["kind"].flatMap { if case .string(let kind) = $0 { kind } else { nil } } ?? (path.isEmpty ? "this object" : path)
                message += " (\(owner) \(note))"
            }
        } else if let suggestion = didYouMean(key, among: candidates) {
            message += ", did you mean '\(suggestion)'?"
        } else if !known.isEmpty {
            message += " (known keys: \(known.joined(separator: ", ")))"
        }
        let keyPath = path(of: key)
        let location = document.keyLocation(of: keyPath) ?? locate(keyPath)
        throw SpecError(file: document.file, path: document.sourcePath(of: keyPath), message: message,
                        line: location?.line, column: location?.column, resolvedPath: keyPath)
    }

    /// Names other libraries (PyTorch, Keras, optax) give a key, and the key they mean here,
    /// with a note where the meaning differs; looked up ignoring case, `_` and `-`, and offered
    /// only when the object knows that key.
    static let aliases: [String: (key: String, note: String?)] = [
        "learningrate": ("lr", nil), "lrrate": ("lr", nil), "stepsize": ("lr", nil),
        "weightdecay": ("weight_decay", nil), "wd": ("weight_decay", nil), "decay": ("weight_decay", nil),
        "l2": ("weight_decay", nil), "l2penalty": ("weight_decay", nil), "weightdecayrate": ("weight_decay", nil),
        "momentum": ("betas", "has no momentum: its first-moment coefficient is betas[0], as in torch.optim.Adam"),
        "beta1": ("betas", "takes both coefficients as betas: [beta1, beta2]"),
        "beta2": ("betas", "takes both coefficients as betas: [beta1, beta2]"),
        "epsilon": ("eps", nil),
        "numsteps": ("steps", nil), "maxsteps": ("steps", nil), "iterations": ("steps", nil), "nsteps": ("steps", nil),
        "numlayers": ("layers", nil), "nlayers": ("layers", nil),
        "numheads": ("heads", nil), "nheads": ("heads", nil), "nhead": ("heads", nil),
        "hiddensizes": ("hidden", nil), "hiddensize": ("hidden", nil), "hiddenlayers": ("hidden", nil),
    ]

    static func alias(of key: String) -> (key: String, note: String?)? {
        aliases[String(key.lowercased().filter { $0 != "_" && $0 != "-" })]
    }

    /// A SpecError at `path.key` (or this object when `key` is nil), located at the value when known.
    public func error(_ key: String?, _ message: String) -> SpecError {
        at(key.map { path(of: $0) } ?? path, message)
    }

    private func at(_ errorPath: String, _ message: String) -> SpecError {
        let location = locate(errorPath)
        return SpecError(file: document.file, path: document.sourcePath(of: errorPath), message: message,
                         line: location?.line, column: location?.column, resolvedPath: errorPath)
    }

    /// The location of `path`, else of its nearest ancestor that has one.
    private func locate(_ path: String) -> (line: Int, column: Int)? {
        var current = path
        while true {
            if let location = document.location(of: current) { return location }
            if current.isEmpty { return nil }
            if let cut = current.lastIndex(where: { $0 == "." || $0 == "[" }) {
                current = String(current[..<cut])
            } else {
                current = ""
            }
        }
    }

    private func note(_ key: String) {
        if !known.contains(key) { known.append(key) }
    }

    private func defaultOrMissing<T: JSONRepresentable>(_ key: String, _ defaultValue: T?) throws -> T {
        guard let defaultValue else { throw error(nil, "missing required key '\(key)'") }
        record(key, .value(defaultValue.jsonValue))
        return defaultValue
    }

    private func record(_ key: String, _ entry: Entry) {
        if let i = entries.firstIndex(where: { $0.key == key }) {
            entries[i].entry = entry
        } else {
            entries.append((key, entry))
        }
    }

    private func unknownName(_ name: String, what: String, at errorPath: String, allowed: [String], owner: String? = nil) -> SpecError {
        var message = "unknown \(what) '\(name)' for \(owner ?? errorPath)"
        if let suggestion = didYouMean(name, among: allowed) { message += ", did you mean '\(suggestion)'?" }
        message += " (one of: \(allowed.joined(separator: ", ")))"
        return at(errorPath, message)
    }

    private func intValue(_ value: JSONValue, path: String, range: ClosedRange<Int>?) throws -> Int {
        guard case .number(let number) = value else {
            throw at(path, "expected \(intExpectation(range)), got \(value.typeName)")
        }
        let x = number.value
        guard x == x.rounded(), let n = Int(exactly: x) else {
            if x == x.rounded(), range != nil {
                throw at(path, "expected \(intExpectation(range)), got \(JSONWriter.number(x))")
            }
            throw at(path, "expected an integer, got \(JSONWriter.number(x))")
        }
        if let range, !range.contains(n) {
            throw at(path, "expected \(intExpectation(range)), got \(n)")
        }
        return n
    }

    private func intExpectation(_ range: ClosedRange<Int>?) -> String {
        guard let range else { return "an integer" }
        if range.upperBound == Int.max { return range.lowerBound == Int.min ? "an integer" : "an integer >= \(range.lowerBound)" }
        if range.lowerBound == Int.min { return "an integer <= \(range.upperBound)" }
        return "an integer in \(range.lowerBound)...\(range.upperBound)"
    }

    private func doubleValue(_ value: JSONValue, path: String, range: ClosedRange<Double>?, openUpperBound: Bool) throws -> Double {
        let expectation = doubleExpectation(range, openUpperBound: openUpperBound)
        guard case .number(let number) = value else { throw at(path, "expected \(expectation), got \(value.typeName)") }
        let x = number.value
        if let range {
            let aboveLower = x >= range.lowerBound
            let belowUpper = openUpperBound ? x < range.upperBound : x <= range.upperBound
            if !(aboveLower && belowUpper) { throw at(path, "expected \(expectation), got \(JSONWriter.number(x))") }
        }
        return x
    }

    private func doubleExpectation(_ range: ClosedRange<Double>?, openUpperBound: Bool) -> String {
        guard let range else { return "a number" }
        let lowerOpen = range.lowerBound == Double.leastNonzeroMagnitude
        let lower = lowerOpen ? "0" : JSONWriter.number(range.lowerBound)
        let upper = JSONWriter.number(range.upperBound)
        let noLower = range.lowerBound == -.infinity
        let noUpper = range.upperBound == .infinity
        switch (noLower, noUpper) {
        case (true, true): return "a number"
        case (false, true): return "a number \(lowerOpen ? ">" : ">=") \(lower)"
        case (true, false): return "a number \(openUpperBound ? "<" : "<=") \(upper)"
        case (false, false): return "a number in \(lowerOpen ? "(" : "[")\(lower), \(upper)\(openUpperBound ? ")" : "]")"
        }
    }
}

/// The closest candidate to `word`, or nil: names equal up to case, underscores and hyphens first, then
/// the smallest edit distance (<= max(2, word.count / 3), transpositions count 1), then a shared prefix.
public func didYouMean(_ word: String, among candidates: [String]) -> String? {
    func normalized(_ s: String) -> [Character] {
        Array(s.lowercased().filter { $0 != "_" && $0 != "-" })
    }
    let target = normalized(word)
    let lowered = Array(word.lowercased())
    let limit = max(2, word.count / 3)
    var best: (candidate: String, rank: Int, distance: Int)?
    for candidate in candidates where candidate != word {
        let other = normalized(candidate)
        var rank: Int
        var distance = 0
        if other == target && !target.isEmpty {
            rank = 0
        } else {
            distance = min(editDistance(lowered, Array(candidate.lowercased())), editDistance(target, other))
            if distance <= limit && distance < max(target.count, other.count) {
                rank = 1
            } else if target.count >= 3 && other.count >= 3 && (other.starts(with: target) || target.starts(with: other)) {
                rank = 2
            } else {
                continue
            }
        }
        if let current = best, (current.rank, current.distance) <= (rank, distance) { continue }
        best = (candidate, rank, distance)
    }
    return best?.candidate
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous2 = [Int](repeating: 0, count: b.count + 1)
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            var d = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = min(d, previous2[j - 2] + 1)
            }
            current[j] = d
        }
        (previous2, previous, current) = (previous, current, previous2)
    }
    return previous[b.count]
}
