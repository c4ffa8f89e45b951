import TrainLabAutodiff

/// NumPy `.npy` files (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
/// how `task.kind = "file"` data arrives.
///
/// Layout of a file:
///
///     bytes 0 ..< 6     the magic string "\x93NUMPY"
///     bytes 6, 7        format version, major and minor: 1.0, 2.0 or 3.0
///     then              the header length H: 2 bytes little-endian (version 1.0) or 4 (2.0, 3.0)
///     then H bytes      the header: the repr of a Python dict, Latin-1 text (UTF-8 in 3.0),
///                         {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
///                       padded with spaces and ended by "\n" so the data starts 64-byte aligned
///     then              the elements, count = product of shape (1 for shape ()), in the byte
///                       order and size `descr` gives, row-major unless fortran_order is True
///
/// Read: little-endian (`<`; `|` for single bytes) floats `f2`, `f4`, `f8` (converted to Float32:
/// f2 exactly, f8 rounded to nearest, beyond ±Float.max to ±inf) and integers `i1`, `u1`, `i2`,
/// `u2`, `i4`, `u4`, `i8`, `u8` (as Int; a u8 value above Int.max is refused). Refused with a
/// message: Fortran order, big-endian data, object, structured and other dtypes, and data that is
/// shorter or longer than the shape says.
/// Written: version 1.0 (2.0 when the header needs more than 65535 bytes), C order, `<f4` or
/// `<i8`, byte for byte what `numpy.save` writes for the same array.
public enum NumPy {
    /// The array in the file at `path`. Throws `IOError` naming the file and the problem.
    public static func read(path: String) throws -> NumPyArray {
        try open(path: path).read()
    }

    /// The header of the regular file at `path`, checked against the file's size; its data is
    /// read by `NumPyFile.read` once the caller has judged the shape.
    public static func open(path: String) throws -> NumPyFile {
        try header(of: RegularFile(path: path), path: path)
    }

    /// The first bytes of every .npy file.
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// The longest header read (NumPy writes a few hundred bytes): a longer one is refused before
    /// it is read.
    public static let maximumHeaderLength = 1 << 20

    /// The dtypes `read` accepts, as NumPy spells them.
    static let readableDTypes = ["<f2", "<f4", "<f8", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8"]

    /// Parses a whole file's `bytes`; `path` is only used in messages.
    static func decode(_ bytes: [UInt8], path: String) throws -> NumPyArray {
        try header(of: bytes, path: path).read()
    }

    /// Reads and checks the preamble and header of `source`, and that its size is what the header
    /// says; `path` is only used in messages.
    static func header(of source: some ByteSource, path: String) throws -> NumPyFile {
        func problem(_ text: String) -> IOError { IOError(path: path, problem: text) }

        let fileSize = source.count
        guard fileSize > 0 else { throw problem("empty file (0 bytes): not a .npy file") }
        let bytes = try source.bytes(in: 0 ..< min(fileSize, 12))
        guard bytes.starts(with: magic) else {
            throw problem(bytes.count < magic.count && magic.starts(with: bytes)
                ? "truncated: the file ends inside the .npy magic string"
                : "not a .npy file: it does not start with the magic string \\x93NUMPY")
        }
        guard bytes.count >= 8 else { throw problem("truncated: the file ends before the .npy format version") }
        let (major, minor) = (bytes[6], bytes[7])
        let lengthFieldSize: Int
        switch (major, minor) {
        case (1, 0): lengthFieldSize = 2
        case (2, 0), (3, 0): lengthFieldSize = 4
        default: throw problem("unsupported .npy format version \(major).\(minor) (readable: 1.0, 2.0, 3.0)")
        }
        let headerStart = 8 + lengthFieldSize
        guard bytes.count >= headerStart else { throw problem("truncated: the file ends inside the header length") }
        let headerLength = lengthFieldSize == 2
            ? Int(bytes[8]) | Int(bytes[9]) << 8
            : Int(LittleEndian.uint32(bytes, at: 8))
        let dataStart = headerStart + headerLength
        guard dataStart <= fileSize else {
            throw problem("truncated: the header length \(headerLength) runs past the end of the file (\(fileSize - headerStart) bytes after the preamble)")
        }
        guard headerLength <= maximumHeaderLength else {
            throw problem("header length \(headerLength) exceeds the limit of \(maximumHeaderLength) bytes")
        }
        let headerBytes = try source.bytes(in: headerStart ..< dataStart)
        let isUTF8 = major == 3
        if isUTF8 && !ByteText.isValidUTF8(headerBytes[...]) {
            throw problem("header is not valid UTF-8 (required by .npy format 3.0)")
        }
        let header: PythonLiteral
        do {
            header = try PythonLiteralParser.parse(headerBytes, latin1: !isUTF8)
        } catch let error as PythonLiteralError {
            throw problem("header is not a valid Python dict literal: \(error.message) at byte \(error.offset) of the header")
        }

        let fields = try headerFields(header, problem: problem)
        guard case .bool(let fortranOrder) = fields.fortranOrder else {
            throw problem("header: fortran_order must be True or False, found \(fields.fortranOrder.summary)")
        }
        let shape = try shapeValues(fields.shape, problem: problem)
        let element = try elementType(fields.descr, problem: problem)
        guard !fortranOrder else {
            throw problem("fortran_order is True (column-major data), which is not supported: save a C-order array, e.g. np.save(path, np.ascontiguousarray(a))")
        }

        var byteCount = element.byteSize
        for dimension in shape {
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw problem("shape \(pythonTuple(shape)) is too large") }
            byteCount = product
        }
        let dataLength = fileSize - dataStart
        guard dataLength >= byteCount else {
            throw problem("truncated data: shape \(pythonTuple(shape)) of \(element.name) needs \(byteCount) bytes, the file has \(dataLength) after the header")
        }
        guard dataLength == byteCount else {
            throw problem("\(dataLength - byteCount) unexpected bytes after the data (shape \(pythonTuple(shape)) of \(element.name) is \(byteCount) bytes)")
        }

        return NumPyFile(path: path, shape: shape, element: element, source: source, dataStart: dataStart)
    }

    /// The three values a header must hold, and nothing else (as NumPy requires).
    private static func headerFields(
        _ header: PythonLiteral, problem: (String) -> IOError
    ) throws -> (descr: PythonLiteral, fortranOrder: PythonLiteral, shape: PythonLiteral) {
        guard case .dictionary(let pairs) = header else {
            throw problem("header must be a dict, found \(header.summary)")
        }
        var fields: [String: PythonLiteral] = [:]
        for (key, value) in pairs {
            guard case .string(let name) = key else { throw problem("header: keys must be strings, found \(key.summary)") }
            guard ["descr", "fortran_order", "shape"].contains(name) else {
                throw problem("header has an unexpected key '\(name.prefix(40))' (expected 'descr', 'fortran_order', 'shape')")
            }
            guard fields.updateValue(value, forKey: name) == nil else { throw problem("header has the key '\(name)' twice") }
        }
        guard let descr = fields["descr"] else { throw problem("header is missing 'descr'") }
        guard let fortranOrder = fields["fortran_order"] else { throw problem("header is missing 'fortran_order'") }
        guard let shape = fields["shape"] else { throw problem("header is missing 'shape'") }
        return (descr, fortranOrder, shape)
    }

    private static func shapeValues(_ value: PythonLiteral, problem: (String) -> IOError) throws -> [Int] {
        guard case .tuple(let items) = value else {
            throw problem("header: shape must be a tuple of non-negative integers, found \(value.summary)")
        }
        return try items.map { item in
            guard case .integer(let dimension) = item, dimension >= 0 else {
                throw problem("header: shape must be a tuple of non-negative integers, found \(value.summary)")
            }
            return dimension
        }
    }

    /// What one element is on disk.
    fileprivate enum ElementType {
        case float(FloatFormat, name: String)
        case integer(byteSize: Int, signed: Bool, name: String)

        var byteSize: Int {
            switch self {
            case .float(let format, _): return format.byteSize
            case .integer(let byteSize, _, _): return byteSize
            }
        }

        var name: String {
            switch self {
            case .float(_, let name), .integer(_, _, let name): return name
            }
        }
    }

    /// Interprets `descr`: a byte-order character (`<` little, `>` big, `|` not applicable, `=`
    /// native), a kind character and a size in bytes.
    private static func elementType(_ descr: PythonLiteral, problem: (String) -> IOError) throws -> ElementType {
        guard case .string(let name) = descr else {
            if case .list = descr {
                throw problem("structured dtype (a list of fields) is not supported: save a plain numeric array")
            }
            throw problem("header: descr must be a dtype string such as '<f4', found \(descr.summary)")
        }
        let characters = Array(name)
        let unsupported = problem("dtype '\(name.prefix(40))' is not supported (readable: \(readableDTypes.joined(separator: ", ")))")
        guard characters.count >= 2 else { throw unsupported }
        let (order, kind) = (characters[0], characters[1])
        if kind == "O" {
            throw problem("dtype '\(name)' is an object array (pickled Python objects), which is not supported: save a numeric array")
        }
        guard let size = Int(String(characters[2...])) else { throw unsupported }
        let element: ElementType
        switch (kind, size) {
        case ("f", 2): element = .float(.float16, name: name)
        case ("f", 4): element = .float(.float32, name: name)
        case ("f", 8): element = .float(.float64, name: name)
        case ("i", 1), ("i", 2), ("i", 4), ("i", 8): element = .integer(byteSize: size, signed: true, name: name)
        case ("u", 1), ("u", 2), ("u", 4), ("u", 8): element = .integer(byteSize: size, signed: false, name: name)
        default: throw unsupported
        }
        if order == "<" || (size == 1 && ["|", ">", "="].contains(order)) { return element }
        if order == ">" {
            throw problem("dtype '\(name)' is big-endian, which is not supported: save little-endian data, e.g. np.save(path, a.astype('<\(kind)\(size)'))")
        }
        throw unsupported
    }

    // MARK: Writing

    /// Writes `values` (row-major, `shape`'s element count) as a C-order `<f4` array, atomically
    /// (temporary file, flush, rename).
    public static func write(_ values: [Float], shape: [Int], to path: String) throws {
        checkShape(shape, count: values.count)
        let header = encodedHeader(descr: "<f4", shape: shape)
        try FileAccess.writeAtomically(path) { sink in
            try sink.append(header)
            try values.withUnsafeBufferPointer { buffer in
                if let base = buffer.baseAddress { try LittleEndian.writeFloats(base, count: buffer.count, to: &sink) }
            }
        }
    }

    /// Writes `tensor` with its shape as a C-order `<f4` array, atomically.
    public static func write(_ tensor: Tensor, to path: String) throws {
        let header = encodedHeader(descr: "<f4", shape: tensor.shape)
        try FileAccess.writeAtomically(path) { sink in
            try sink.append(header)
            try LittleEndian.writeFloats(tensor.data, count: tensor.count, to: &sink)
        }
    }

    /// Writes `values` (row-major, `shape`'s element count) as a C-order `<i8` array, atomically.
    public static func writeInt64(_ values: [Int], shape: [Int], to path: String) throws {
        checkShape(shape, count: values.count)
        let header = encodedHeader(descr: "<i8", shape: shape)
        try FileAccess.writeAtomically(path) { sink in
            try sink.append(header)
            let chunkSize = 1 << 16
            var start = 0
            while start < values.count {
                let end = min(start + chunkSize, values.count)
                var chunk: [UInt8] = []
                chunk.reserveCapacity((end - start) * 8)
                for value in values[start..<end] { chunk.append(contentsOf: LittleEndian.bytes(of: UInt64(bitPattern: Int64(value)))) }
                try sink.append(chunk)
                start = end
            }
        }
    }

    private static func checkShape(_ shape: [Int], count: Int) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(shape.reduce(1, *) == count, "\(count) values for shape \(shape)")
    }

    /// Magic, version, header length and header as `numpy.save` writes them: the dict's repr with
    /// keys sorted, spaces that leave room for the first dimension to grow to 21 digits, then
    /// spaces and "\n" up to a multiple of 64 bytes (a full 64 when already aligned, as NumPy
    /// computes it). Version 1.0, or 2.0 when the header is too long for a 2-byte length.
    static func encodedHeader(descr: String, shape: [Int]) -> [UInt8] {
        var dictionary = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(pythonTuple(shape)), }"
        if let first = shape.first {
            dictionary += String(repeating: " ", count: max(0, 21 - String(first).count))
        }
        let textLength = dictionary.utf8.count + 1  // with the final "\n"
        var lengthFieldSize = 2
        var padding = 64 - (magic.count + 2 + lengthFieldSize + textLength) % 64
        if textLength + padding > Int(UInt16.max) {
            lengthFieldSize = 4
            padding = 64 - (magic.count + 2 + lengthFieldSize + textLength) % 64
        }
        let headerLength = textLength + padding
        var bytes = magic + [lengthFieldSize == 2 ? 1 : 2, 0]
        bytes += LittleEndian.bytes(of: UInt64(headerLength)).prefix(lengthFieldSize)
        bytes += Array(dictionary.utf8) + Array(repeating: UInt8(ascii: " "), count: padding) + [UInt8(ascii: "\n")]
        return bytes
    }

    /// Python's repr of a tuple of integers: `()`, `(3,)`, `(2, 3)`.
    static func pythonTuple(_ values: [Int]) -> String {
        values.count == 1 ? "(\(values[0]),)" : "(" + values.map(String.init).joined(separator: ", ") + ")"
    }
}

/// A .npy file whose header has been read and checked (the data is as long as the shape says),
/// and whose data has not been read yet: its reader judges the shape first.
public struct NumPyFile {
    public let path: String
    public let shape: [Int]
    fileprivate let element: NumPy.ElementType
    let source: any ByteSource
    let dataStart: Int

    fileprivate init(path: String, shape: [Int], element: NumPy.ElementType, source: any ByteSource, dataStart: Int) {
        (self.path, self.shape, self.element, self.source, self.dataStart) = (path, shape, element, source, dataStart)
    }

    /// The dtype as the file spells it (e.g. "<f8"), for messages.
    public var fileDType: String { element.name }

    /// Whether the elements are integers (read as `.int`), not floats.
    public var holdsIntegers: Bool {
        if case .integer = element { return true }
        return false
    }

    /// The number of elements (1 for shape ()); the header check saw that their bytes fit an Int.
    public var count: Int { shape.reduce(1, *) }

    /// Reads the data.
    public func read() throws -> NumPyArray {
        let count = count
        let data = try source.bytes(in: dataStart ..< dataStart + count * element.byteSize)
        let storage: NumPyArray.Storage = try data.withUnsafeBytes { source in
            switch element {
            case .float(let format, _):
                let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                    if let base = buffer.baseAddress {
                        LittleEndian.decodeFloats(format, from: source, into: base, count: count)
                    }
                    initialized = count
                }
                return .float(values)
            case .integer(let byteSize, let signed, _):
                switch LittleEndian.decodeIntegers(from: source, byteSize: byteSize, signed: signed, count: count) {
                case .success(let values): return .int(values)
                case .failure(let overflow):
                    throw IOError(path: path, problem: "element \(overflow.index) is \(overflow.value), which does not fit in a signed 64-bit integer")
                }
            }
        }
        return NumPyArray(shape: shape, storage: storage, fileDType: element.name)
    }
}

/// An array read from a .npy file: C-order elements and their shape.
public struct NumPyArray: Sendable {
    /// Floating-point files (`f2`, `f4`, `f8`) become `.float`, integer files `.int`.
    public enum Storage: Sendable {
        case float([Float])
        case int([Int])
    }

    public let shape: [Int]
    public let storage: Storage
    /// The dtype as the file spells it (e.g. "<f8"), for messages.
    public let fileDType: String

    public init(shape: [Int], storage: Storage, fileDType: String) {
        self.shape = shape
        self.storage = storage
        self.fileDType = fileDType
    }

    /// The number of elements (1 for shape ()).
    public var count: Int {
        switch storage {
        case .float(let values): return values.count
        case .int(let values): return values.count
        }
    }

    /// The elements when the file held floats, else nil.
    public var floatValues: [Float]? {
        if case .float(let values) = storage { return values }
        return nil
    }

    /// The elements when the file held integers, else nil.
    public var intValues: [Int]? {
        if case .int(let values) = storage { return values }
        return nil
    }

    /// A tensor with this shape when the file held floats, else nil.
    public func floatTensor() -> Tensor? {
        floatValues.map { Tensor(shape: shape, values: $0) }
    }
}
