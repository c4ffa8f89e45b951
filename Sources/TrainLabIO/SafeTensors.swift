import TrainLabAutodiff
import TrainLabJSON

/// safetensors files (https://github.com/huggingface/safetensors): TrainLab's weights format.
///
/// Layout of a file:
///
///     bytes 0 ..< 8        N: the header length, an unsigned 64-bit little-endian integer
///     bytes 8 ..< 8+N      the header: a UTF-8 JSON object
///                            { "NAME": {"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]},
///                              ..., "__metadata__": {"KEY": "VALUE", ...} }   (metadata optional)
///                          padded with trailing spaces (writers make N a multiple of 8, so the
///                          data starts 8-byte aligned)
///     bytes 8+N ..< EOF    the data section: each tensor's elements row-major, little-endian, at
///                          [BEGIN, END) counted from the start of the data section
///
/// The tensors tile the data section exactly: no gaps, no overlaps, no bytes after the last one,
/// and END - BEGIN = (product of shape, 1 for shape []) × dtype size.
///
/// Reading accepts the dtypes F32, F64, F16 and BF16 and converts them to Float32: F32 as is, F16
/// and BF16 exactly, F64 rounded to nearest (magnitudes beyond Float.max become ±inf). Writing
/// produces F32 only, byte for byte what the Python package's `save_file` writes for the same
/// float32 tensors: tensors sorted by name (UTF-8 byte order) with contiguous offsets, compact
/// JSON, `__metadata__` first (its keys sorted too, where Python's order is arbitrary), header
/// padded with spaces to a multiple of 8.
public enum SafeTensors {
    /// The element types of the format that TrainLab reads (the format has more: BOOL, U8, ...).
    /// I64 is read as Float32 for PyTorch's integer buffers (BatchNorm's `num_batches_tracked`).
    public enum DType: String, Sendable, CaseIterable {
        case f32 = "F32", f64 = "F64", f16 = "F16", bf16 = "BF16", i64 = "I64"

        /// Bytes per element.
        public var byteSize: Int { format.byteSize }

        var format: FloatFormat {
            switch self {
            case .f32: return .float32
            case .f64: return .float64
            case .f16: return .float16
            case .bf16: return .bfloat16
            case .i64: return .int64
            }
        }
    }

    /// The header key that holds string-to-string metadata rather than a tensor.
    public static let metadataKey = "__metadata__"

    /// The largest header read (the Python package's limit too): a longer one is refused before
    /// it is parsed.
    public static let maximumHeaderLength = 100_000_000

    /// The deepest nesting of arrays and objects read in a header (its tensors need 3).
    static let maximumHeaderDepth = 64

    // MARK: Reading

    /// The tensors of the file at `path` by name, converted to Float32.
    public static func read(path: String) throws -> [String: Tensor] {
        let file = try readFile(path: path)
        return Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.tensor) })
    }

    /// The tensors of the file at `path` in file order (by data offset), converted to Float32.
    public static func readOrdered(path: String) throws -> [(name: String, tensor: Tensor)] {
        try readFile(path: path).tensors
    }

    /// Everything in the file at `path`: tensors in file order, metadata, and each tensor's dtype
    /// on disk. Throws `IOError` naming the file and the problem for anything malformed.
    public static func readFile(path: String) throws -> SafeTensorsFile {
        try open(path: path).readAll()
    }

    /// The header of the regular file at `path`, checked against the file's size; tensors are
    /// read by `SafeTensorsHeader.read` once the caller has judged their names and shapes.
    public static func open(path: String) throws -> SafeTensorsHeader {
        try header(of: RegularFile(path: path), path: path)
    }

    /// Parses a whole file's `bytes`; `path` is only used in messages.
    static func decode(_ bytes: [UInt8], path: String) throws -> SafeTensorsFile {
        try header(of: bytes, path: path).readAll()
    }

    /// Reads and checks the header of `source`: the tensors must tile its data section exactly.
    /// `path` is only used in messages.
    static func header(of source: some ByteSource, path: String) throws -> SafeTensorsHeader {
        func problem(_ text: String) -> IOError { IOError(path: path, problem: text) }

        let fileSize = source.count
        guard fileSize > 0 else {
            throw problem("empty file (0 bytes): a safetensors file starts with an 8-byte header length")
        }
        guard fileSize >= 8 else {
            throw problem("truncated: the file is \(fileSize) bytes, shorter than the 8-byte header length")
        }
        let declaredHeaderLength = LittleEndian.uint64(try source.bytes(in: 0 ..< 8), at: 0)
        let bytesAfterLength = fileSize - 8
        guard declaredHeaderLength <= UInt64(bytesAfterLength) else {
            throw problem("header length \(declaredHeaderLength) (the first 8 bytes) is larger than the rest of the file (\(bytesAfterLength) bytes): the file is truncated or not a safetensors file")
        }
        let headerLength = Int(declaredHeaderLength)
        guard headerLength <= maximumHeaderLength else {
            throw problem("header length \(headerLength) exceeds the limit of \(maximumHeaderLength) bytes")
        }
        guard headerLength > 0 else { throw problem("header is empty (header length 0)") }
        let headerBytes = try source.bytes(in: 8 ..< 8 + headerLength)[...]
        guard ByteText.isValidUTF8(headerBytes) else {
            throw problem("header is not valid UTF-8: not a safetensors file?")
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(bytes: Array(headerBytes), maximumDepth: maximumHeaderDepth, allowsByteOrderMark: false).root
        } catch {
            throw problem(headerProblem(error, header: headerBytes))
        }
        guard case .object(let object) = json else {
            throw problem("header must be a JSON object, found \(summary(json))")
        }

        let dataStart = 8 + headerLength
        let dataLength = fileSize - dataStart
        var metadata: [String: String] = [:]
        var entries: [HeaderEntry] = []
        for (name, value) in object.members {
            if name == metadataKey {
                metadata = try parseMetadata(value, problem: problem)
            } else {
                let entry = try parseEntry(name: name, value, problem: problem)
                guard entry.end <= dataLength else {
                    throw problem("tensor \(JSONWriter.quoted(name)): data_offsets [\(entry.begin), \(entry.end)] run past the end of the data section (\(dataLength) bytes after the header): the file is truncated or the header is wrong")
                }
                entries.append(entry)
            }
        }

        // The tensors must tile [0, dataLength): walk them in offset order.
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) || (($0.begin, $0.end) == ($1.begin, $1.end) && $0.name.utf8.lexicographicallyPrecedes($1.name.utf8)) }
        var covered = 0
        var previous: HeaderEntry?
        for entry in entries {
            if entry.begin < covered, let previous {
                throw problem("tensors \(JSONWriter.quoted(previous.name)) (data_offsets [\(previous.begin), \(previous.end)]) and \(JSONWriter.quoted(entry.name)) (data_offsets [\(entry.begin), \(entry.end)]) overlap")
            }
            if entry.begin > covered {
                let after = previous.map { "after tensor \(JSONWriter.quoted($0.name)), which ends at \(covered)" } ?? "at the start of the data section"
                throw problem("gap of \(entry.begin - covered) bytes in the data section \(after); tensor \(JSONWriter.quoted(entry.name)) begins at \(entry.begin)")
            }
            covered = entry.end
            previous = entry
        }
        guard covered == dataLength else {
            throw problem("\(dataLength - covered) bytes after the last tensor's data: the data section is \(dataLength) bytes but the tensors cover \(covered)")
        }

        return SafeTensorsHeader(path: path, entries: entries, metadata: metadata, source: source, dataStart: dataStart)
    }

    /// What is wrong with a header the JSON parser refused, worded for a file written by a
    /// program (byte offsets, not lines) and naming tensors for duplicate keys.
    private static func headerProblem(_ error: JSONSyntaxError, header: ArraySlice<UInt8>) -> String {
        let atEnd = error.offset == header.count
        var offset = error.offset
        let text: String
        switch error.kind {
        case .duplicateKey(let key, let container):
            switch container.first {
            case nil: return key == metadataKey ? "\(metadataKey) appears twice in the header" : "duplicate tensor name \(JSONWriter.quoted(key)) in the header"
            case .key(metadataKey)?: return "duplicate key \(JSONWriter.quoted(key)) in \(metadataKey)"
            case .key(let name)?: return "tensor \(JSONWriter.quoted(name)): duplicate key \(JSONWriter.quoted(key))"
            case .index?: return "header must be a JSON object, found a list"
            }
        case .expectedValue:
            text = atEnd ? "unexpected end of text, expected a value"
                : "unexpected character \(ByteText.describe(header[header.startIndex + offset])), expected a value"
        case .nestingTooDeep: text = "nested more than \(maximumHeaderDepth) levels deep"
        case .expectedKey: text = "expected a string key"
        case .expectedColon: text = "expected ':' after an object key"
        case .expectedSeparator(let inObject):
            if atEnd {
                text = "unexpected end of text inside \(inObject ? "an object" : "a list")"
            } else {
                text = inObject ? "expected ',' or '}' in an object" : "expected ',' or ']' in a list"
            }
        case .trailingText: text = "unexpected text after the JSON value"
        case .loneSurrogate(let code, let next, let escapeEnd):
            offset = escapeEnd
            if let next {
                text = "invalid trailing surrogate \\u\(String(next, radix: 16)) in a string"
            } else {
                text = "lone \(code < 0xDC00 ? "leading" : "trailing") surrogate \\u\(String(code, radix: 16)) in a string"
            }
        case .malformedScalar: text = error.message
        }
        return "header is not valid JSON: \(text) at byte \(offset) of the header"
    }

    /// A value for messages: "a list", "the string \"F32\"", "the number 1.0" (as written).
    private static func summary(_ value: JSONValue) -> String {
        switch value {
        case .object: return "an object"
        case .array: return "a list"
        case .string(let text): return "the string \(JSONWriter.quoted(String(text.prefix(40))))"
        case .number(let number): return "the number \(number.literal.prefix(40))"
        case .bool(let value): return "\(value)"
        case .null: return "null"
        }
    }

    /// One tensor's header entry: where its data lies in the data section.
    public struct HeaderEntry: Sendable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        let begin: Int
        let end: Int
    }

    private static func parseMetadata(_ value: JSONValue, problem: (String) -> IOError) throws -> [String: String] {
        guard case .object(let object) = value else {
            throw problem("\(metadataKey) must be an object of strings, found \(summary(value))")
        }
        var metadata: [String: String] = [:]
        for (key, item) in object.members {
            guard case .string(let text) = item else {
                throw problem("\(metadataKey).\(key) must be a string, found \(summary(item))")
            }
            metadata[key] = text
        }
        return metadata
    }

    private static func parseEntry(name: String, _ value: JSONValue, problem: (String) -> IOError) throws -> HeaderEntry {
        let label = "tensor \(JSONWriter.quoted(name))"
        // Other keys are ignored, as the Python package does (the parser refuses repeated ones).
        guard case .object(let fields) = value else {
            throw problem("\(label) must be an object with dtype, shape and data_offsets, found \(summary(value))")
        }

        guard let dtypeValue = fields["dtype"] else { throw problem("\(label): missing \"dtype\"") }
        guard case .string(let dtypeName) = dtypeValue else {
            throw problem("\(label): dtype must be a string, found \(summary(dtypeValue))")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw problem("\(label): dtype \(JSONWriter.quoted(dtypeName)) is not supported (readable: \(DType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }

        let shape = try nonNegativeIntegers(fields["shape"], field: "shape", label: label, problem: problem)
        let offsets = try nonNegativeIntegers(fields["data_offsets"], field: "data_offsets", label: label, problem: problem)
        guard offsets.count == 2 else {
            throw problem("\(label): data_offsets must hold 2 integers [begin, end], found \(offsets.count)")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else {
            throw problem("\(label): data_offsets [\(begin), \(end)] end before they begin")
        }

        var byteCount = dtype.byteSize
        for dimension in shape {
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw problem("\(label): shape \(shape) is too large") }
            byteCount = product
        }
        guard byteCount == end - begin else {
            throw problem("\(label): shape \(shape) of \(dtype.rawValue) needs \(byteCount) bytes but data_offsets [\(begin), \(end)] span \(end - begin)")
        }
        return HeaderEntry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    private static func nonNegativeIntegers(
        _ value: JSONValue?, field: String, label: String, problem: (String) -> IOError
    ) throws -> [Int] {
        guard let value else { throw problem("\(label): missing \"\(field)\"") }
        guard case .array(let elements) = value else {
            throw problem("\(label): \(field) must be a list of non-negative integers, found \(summary(value))")
        }
        return try elements.enumerated().map { index, element in
            guard case .number(let number) = element, let integer = number.integer, integer >= 0 else {
                throw problem("\(label): \(field)[\(index)] must be a non-negative integer, found \(summary(element))")
            }
            return integer
        }
    }

    // MARK: Writing

    /// Writes `tensors` as F32 to `path`, atomically: a temporary file beside it is filled,
    /// flushed and renamed over `path`, so a crash leaves the old file or the new one, never a
    /// part. Names must be unique and not `__metadata__`; empty `metadata` writes no
    /// `__metadata__` entry.
    public static func write(
        _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:], to path: String
    ) throws {
        var names = Set<String>()
        for (name, _) in tensors {
            guard name != metadataKey else {
                throw IOError(path: path, problem: "\(metadataKey) is reserved for metadata and cannot name a tensor")
            }
            guard names.insert(name).inserted else {
                throw IOError(path: path, problem: "two tensors are named \(JSONWriter.quoted(name))")
            }
        }
        let ordered = tensors.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        let header = encodedHeader(ordered, metadata: metadata)
        try FileAccess.writeAtomically(path) { sink in
            try sink.append(LittleEndian.bytes(of: UInt64(header.count)))
            try sink.append(header)
            for (_, tensor) in ordered {
                try LittleEndian.writeFloats(tensor.data, count: tensor.count, to: &sink)
            }
        }
    }

    /// The header of `tensors` (already in file order) as F32: compact JSON, then spaces up to a
    /// multiple of 8 bytes.
    static func encodedHeader(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String]) -> [UInt8] {
        var members: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                .map { JSONWriter.quoted($0.key) + ":" + JSONWriter.quoted($0.value) }
            members.append(JSONWriter.quoted(metadataKey) + ":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for (name, tensor) in tensors {
            let end = offset + tensor.count * DType.f32.byteSize
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            members.append(JSONWriter.quoted(name) + ":{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array(("{" + members.joined(separator: ",") + "}").utf8)
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))
        return header
    }
}

/// A safetensors file whose header has been read and checked (its tensors tile the data section
/// exactly), and whose tensors have not been read yet: its reader judges names and shapes first.
public struct SafeTensorsHeader {
    public let path: String
    /// The tensors in file order (by data offset).
    public let entries: [SafeTensors.HeaderEntry]
    /// The header's `__metadata__` (empty when absent).
    public let metadata: [String: String]
    let source: any ByteSource
    let dataStart: Int

    /// Reads one tensor's data, converted to Float32.
    public func read(_ entry: SafeTensors.HeaderEntry) throws -> Tensor {
        let data = try source.bytes(in: dataStart + entry.begin ..< dataStart + entry.end)
        let tensor = Tensor(shape: entry.shape)
        data.withUnsafeBytes { LittleEndian.decodeFloats(entry.dtype.format, from: $0, into: tensor.data, count: tensor.count) }
        return tensor
    }

    /// Reads every tensor.
    public func readAll() throws -> SafeTensorsFile {
        SafeTensorsFile(tensors: try entries.map { ($0.name, try read($0)) }, metadata: metadata,
                        storedDTypes: Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.dtype) }))
    }
}

/// The contents of a safetensors file.
public struct SafeTensorsFile {
    /// The tensors in file order (by data offset), converted to Float32.
    public let tensors: [(name: String, tensor: Tensor)]
    /// The header's `__metadata__` (empty when absent).
    public let metadata: [String: String]
    /// Each tensor's dtype on disk, by name.
    public let storedDTypes: [String: SafeTensors.DType]
}
