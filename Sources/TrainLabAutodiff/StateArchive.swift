/// Named arrays of numbers, stored bit for bit: the training state a run saves (weights,
/// optimizer and sampler state, step) and resumes from. Every component writes its own names
/// (`optimizer.…`, `sampler.…`) and reads them back with the counts it expects.
///
/// Encoding (little-endian): "TLSA", version u32, entry count u32, then per entry in name order:
/// name length u32, UTF-8 name, kind u8 (0 Float32, 1 Float64, 2 Int64), element count u64,
/// the elements; last, the FNV-1a 64 hash of everything before it.
public struct StateArchive: Sendable, Equatable {
    public enum Values: Sendable, Equatable {
        case floats([Float]), doubles([Double]), integers([Int64])
    }

    public private(set) var entries: [String: Values] = [:]

    static let magic: [UInt8] = Array("TLSA".utf8)
    static let version: UInt32 = 1

    public init() {}

    public mutating func set(_ name: String, _ values: Values) { entries[name] = values }
    public mutating func set(_ name: String, floats: [Float]) { entries[name] = .floats(floats) }
    public mutating func set(_ name: String, doubles: [Double]) { entries[name] = .doubles(doubles) }
    public mutating func set(_ name: String, integers: [Int64]) { entries[name] = .integers(integers) }
    public mutating func set(_ name: String, integer: Int) { entries[name] = .integers([Int64(integer)]) }

    /// The Float32 values of `name`; `count`, when given, must match.
    public func floats(_ name: String, count: Int? = nil) throws -> [Float] {
        guard case .floats(let values)? = entries[name] else { throw StateArchiveError("no Float32 entry '\(name)'") }
        return try checked(values, name, count)
    }

    public func doubles(_ name: String, count: Int? = nil) throws -> [Double] {
        guard case .doubles(let values)? = entries[name] else { throw StateArchiveError("no Float64 entry '\(name)'") }
        return try checked(values, name, count)
    }

    public func integers(_ name: String, count: Int? = nil) throws -> [Int64] {
        guard case .integers(let values)? = entries[name] else { throw StateArchiveError("no Int64 entry '\(name)'") }
        return try checked(values, name, count)
    }

    public func integer(_ name: String) throws -> Int { Int(try integers(name, count: 1)[0]) }

    public func has(_ name: String) -> Bool { entries[name] != nil }

    private func checked<T>(_ values: [T], _ name: String, _ count: Int?) throws -> [T] {
        if let count, values.count != count {
            throw StateArchiveError("entry '\(name)' has \(values.count) values, expected \(count)")
        }
        return values
    }

    /// Copies entry `name` into `tensor`, whose size it must have.
    public func restore(_ tensor: Tensor, from name: String) throws {
        let values = try floats(name, count: tensor.count)
        values.withUnsafeBufferPointer { tensor.data.update(from: $0.baseAddress!, count: tensor.count) }
    }

    public func encoded() -> [UInt8] {
        var bytes = Self.magic
        append(Self.version, to: &bytes)
        append(UInt32(entries.count), to: &bytes)
        for name in entries.keys.sorted() {
            let utf8 = Array(name.utf8)
            append(UInt32(utf8.count), to: &bytes)
            bytes += utf8
            switch entries[name]! {
            case .floats(let values): appendElements(values, kind: 0, to: &bytes)
            case .doubles(let values): appendElements(values, kind: 1, to: &bytes)
            case .integers(let values): appendElements(values, kind: 2, to: &bytes)
            }
        }
        append(Self.checksum(bytes[...]), to: &bytes)
        return bytes
    }

    /// Decodes `encoded()`'s bytes; a wrong magic, version or checksum, or a short entry, throws.
    public init(decoding bytes: [UInt8]) throws {
        guard bytes.count >= 20, Array(bytes[0..<4]) == Self.magic else { throw StateArchiveError("not a training state") }
        var reader = Reader(bytes: bytes, offset: 4)
        let stored = reader.peekChecksum()
        guard stored == Self.checksum(bytes[..<(bytes.count - 8)]) else { throw StateArchiveError("checksum mismatch") }
        let version: UInt32 = try reader.read()
        guard version == Self.version else { throw StateArchiveError("state version \(version), this program reads \(Self.version)") }
        let count: UInt32 = try reader.read()
        for _ in 0..<count {
            let length: UInt32 = try reader.read()
            let name = String(decoding: try reader.take(Int(length)), as: UTF8.self)
            let kind = try reader.take(1).first!
            let elements: UInt64 = try reader.read()
            guard elements <= UInt64(bytes.count) else { throw StateArchiveError("entry '\(name)' is truncated") }
            switch kind {
            case 0: entries[name] = .floats(try reader.elements(Int(elements)))
            case 1: entries[name] = .doubles(try reader.elements(Int(elements)))
            case 2: entries[name] = .integers(try reader.elements(Int(elements)))
            default: throw StateArchiveError("entry '\(name)' has unknown kind \(kind)")
            }
        }
    }

    /// FNV-1a, 64 bits: h = (h ⊕ byte) · 0x100000001b3 from 0xcbf29ce484222325.
    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    private func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        for index in 0..<(T.bitWidth / 8) { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }

    /// Kind, count and the elements' bytes as in memory (little-endian: x86-64 and arm64 hosts).
    private func appendElements<T>(_ values: [T], kind: UInt8, to bytes: inout [UInt8]) {
        bytes.append(kind)
        append(UInt64(values.count), to: &bytes)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    /// Reads little-endian integers up to the checksum.
    private struct Reader {
        let bytes: [UInt8]
        var offset: Int

        func peekChecksum() -> UInt64 {
            (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[bytes.count - 8 + $1]) << (8 * $1) }
        }

        mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
            guard count >= 0, offset + count <= bytes.count - 8 else { throw StateArchiveError("truncated training state") }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }

        mutating func read<T: FixedWidthInteger>() throws -> T {
            try take(T.bitWidth / 8).reversed().reduce(T(0)) { $0 << 8 | T($1) }
        }

        /// `count` elements of 4 or 8 bytes, copied as in memory (see `appendElements`).
        mutating func elements<T>(_ count: Int) throws -> [T] {
            let source = try take(count * MemoryLayout<T>.stride)
            return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                source.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
                initialized = count
            }
        }
    }
}

/// A training state that cannot be read or does not fit the run resuming from it.
public struct StateArchiveError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = "training state: " + description }
}
