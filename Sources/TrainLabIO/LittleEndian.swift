/// Bulk conversion between little-endian bytes on disk and Float32 (or Int) values in memory.
/// The callers check every range first; these loops trust their counts.
enum LittleEndian {
    /// A 64-bit unsigned integer from `bytes[offset ..< offset + 8]`, which must exist.
    static func uint64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in (0..<8).reversed() { value = value << 8 | UInt64(bytes[offset + index]) }
        return value
    }

    /// A 32-bit unsigned integer from `bytes[offset ..< offset + 4]`, which must exist.
    static func uint32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for index in (0..<4).reversed() { value = value << 8 | UInt32(bytes[offset + index]) }
        return value
    }

    /// The 8 little-endian bytes of `value`.
    static func bytes(of value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    /// Float32 elements decoded from `source` (count × the element size of `format`) into
    /// `destination`: F32 copied bit for bit, F64 rounded to nearest (beyond ±Float.max: ±inf),
    /// F16 and BF16 widened exactly.
    static func decodeFloats(
        _ format: FloatFormat, from source: UnsafeRawBufferPointer,
        into destination: UnsafeMutablePointer<Float>, count: Int
    ) {
        guard count > 0, let base = source.baseAddress else { return }
        switch format {
        case .float32:
            #if _endian(little)
            UnsafeMutableRawPointer(destination).copyMemory(from: base, byteCount: count * 4)
            #else
            for index in 0..<count {
                let bits = base.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)
                destination[index] = Float(bitPattern: UInt32(littleEndian: bits))
            }
            #endif
        case .float64:
            for index in 0..<count {
                let bits = base.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)
                destination[index] = Float(Double(bitPattern: UInt64(littleEndian: bits)))
            }
        case .float16:
            for index in 0..<count {
                let bits = base.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)
                destination[index] = floatFromHalf(UInt16(littleEndian: bits))
            }
        case .bfloat16:
            for index in 0..<count {
                let bits = base.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)
                destination[index] = Float(bitPattern: UInt32(UInt16(littleEndian: bits)) << 16)
            }
        case .int64:
            for index in 0..<count {
                destination[index] = Float(Int64(littleEndian: base.loadUnaligned(fromByteOffset: index * 8, as: Int64.self)))
            }
        }
    }

    /// Int elements decoded from `source`: `byteSize` bytes each, two's complement when `signed`.
    /// Fails at the first unsigned 64-bit value above Int.max, naming its index.
    static func decodeIntegers(
        from source: UnsafeRawBufferPointer, byteSize: Int, signed: Bool, count: Int
    ) -> Result<[Int], IntegerOverflow> {
        guard count > 0, let base = source.baseAddress else { return .success([]) }
        var values = [Int](repeating: 0, count: count)
        for index in 0..<count {
            let offset = index * byteSize
            switch (byteSize, signed) {
            case (1, true): values[index] = Int(base.load(fromByteOffset: offset, as: Int8.self))
            case (1, false): values[index] = Int(base.load(fromByteOffset: offset, as: UInt8.self))
            case (2, true): values[index] = Int(Int16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: Int16.self)))
            case (2, false): values[index] = Int(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
            case (4, true): values[index] = Int(Int32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
            case (4, false): values[index] = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            case (8, true): values[index] = Int(Int64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: Int64.self)))
            default:
                let value = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                guard let exact = Int(exactly: value) else { return .failure(IntegerOverflow(index: index, value: value)) }
                values[index] = exact
            }
        }
        return .success(values)
    }

    struct IntegerOverflow: Error {
        let index: Int
        let value: UInt64
    }

    /// IEEE 754 half precision (1 sign, 5 exponent bits biased by 15, 10 fraction bits) widened
    /// exactly to Float32 (exponent bias 127): normals rebias, subnormals are fraction × 2^-24,
    /// infinities and NaNs (exponent 31) keep their fraction bits.
    static func floatFromHalf(_ bits: UInt16) -> Float {
        let sign: UInt32 = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let fraction = UInt32(bits & 0x03FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | fraction << 13) }
        if exponent == 0 {
            let magnitude = Float(fraction) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | (exponent + 112) << 23 | fraction << 13)
    }

    /// Writes `count` Float32 values as little-endian bytes to `sink` (on a little-endian machine
    /// straight from memory; elsewhere byte-swapped in chunks).
    static func writeFloats(_ values: UnsafePointer<Float>, count: Int, to sink: inout FileSink) throws {
        guard count > 0 else { return }
        #if _endian(little)
        try sink.append(UnsafeRawBufferPointer(start: values, count: count * 4))
        #else
        let chunkSize = 1 << 16
        var start = 0
        while start < count {
            let end = min(start + chunkSize, count)
            var chunk = [UInt8]()
            chunk.reserveCapacity((end - start) * 4)
            for index in start..<end {
                let bits = values[index].bitPattern
                for shift in stride(from: 0, to: 32, by: 8) { chunk.append(UInt8(truncatingIfNeeded: bits >> shift)) }
            }
            try sink.append(chunk)
            start = end
        }
        #endif
    }
}

/// The floating-point element formats both readers convert to Float32.
enum FloatFormat {
    /// `int64` is a safetensors I64 tensor read as Float32 (PyTorch's BatchNorm step counter).
    case float32, float64, float16, bfloat16, int64

    var byteSize: Int {
        switch self {
        case .float32: return 4
        case .float64, .int64: return 8
        case .float16, .bfloat16: return 2
        }
    }
}
