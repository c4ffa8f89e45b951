/// Byte helpers for the header readers (NumPy's Python literal, the safetensors JSON header).
enum ByteText {
    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// A byte for a message: 'x' when printable ASCII, else 0xNN.
    static func describe(_ byte: UInt8) -> String {
        (0x21..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "0x" + String(byte, radix: 16, uppercase: true)
    }

    /// Whether `bytes` are valid UTF-8 (decoding repairs invalid sequences with U+FFFD, so the
    /// round trip reproduces the bytes exactly when, and only when, they were valid).
    static func isValidUTF8(_ bytes: ArraySlice<UInt8>) -> Bool {
        String(decoding: bytes, as: UTF8.self).utf8.elementsEqual(bytes)
    }
}
