import Foundation
import XCTest
import TrainLabAutodiff
@testable import TrainLabIO

final class SafeTensorsTests: TemporaryFolderTestCase {
    // MARK: Round trip and the bytes written

    // Names, shapes (scalar, empty, 3-D), every bit of the values (NaN, ±inf, -0, subnormal) and
    // the metadata survive a write and a read; the file order is the sorted name order.
    func testRoundTripKeepsNamesShapesValuesAndMetadata() throws {
        let special: [Float] = [.nan, .infinity, -.infinity, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        let tensors: [(name: String, tensor: Tensor)] = [
            ("layers.1.weight", Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])),
            ("layers.0.weight", Tensor(shape: [1, 2, 3], values: special)),
            ("scalar", Tensor(shape: [], values: [0.1])),
            ("empty", Tensor(shape: [0, 4])),
        ]
        let path = temporaryPath("round.safetensors")
        try SafeTensors.write(tensors, metadata: ["format": "pt", "step": "10"], to: path)

        let file = try SafeTensors.readFile(path: path)
        XCTAssertEqual(file.tensors.map(\.name), ["empty", "layers.0.weight", "layers.1.weight", "scalar"])
        XCTAssertEqual(file.metadata, ["format": "pt", "step": "10"])
        XCTAssertEqual(Set(file.storedDTypes.values), [.f32])
        let read = try SafeTensors.read(path: path)
        for (name, original) in tensors {
            let copy = try XCTUnwrap(read[name])
            XCTAssertEqual(copy.shape, original.shape, name)
            XCTAssertEqual(bits(copy.scalars), bits(original.scalars), name)
        }
        XCTAssertEqual(try SafeTensors.readOrdered(path: path).map(\.name), file.tensors.map(\.name))
    }

    // The header is compact JSON exactly as the Python package writes it: metadata first with
    // sorted keys and serde_json's escapes, tensors sorted by name, contiguous offsets, spaces up
    // to a multiple of 8; then the data in that order.
    func testWrittenHeaderIsTheExpectedJSON() throws {
        let path = temporaryPath("header.safetensors")
        try SafeTensors.write(
            [("b", Tensor(shape: [2], values: [1, 2])), ("a", Tensor(shape: [1, 2], values: [3, 4])), ("s", Tensor(shape: [], values: [5]))],
            metadata: ["z": "last", "format": "pt", "odd": "q\"\\\n\u{1}é/"], to: path)
        let bytes = try fileBytes(path)
        let headerLength = Int(LittleEndian.uint64(bytes, at: 0))
        let expected = #"{"__metadata__":{"format":"pt","odd":"q\"\\\n\u0001é/","z":"last"},"#
            + #""a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"#
            + #""b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"#
            + #""s":{"dtype":"F32","shape":[],"data_offsets":[16,20]}}"#
        let padding = (8 - expected.utf8.count % 8) % 8
        XCTAssertEqual(headerLength % 8, 0)
        XCTAssertEqual(String(decoding: bytes[8 ..< 8 + headerLength], as: UTF8.self), expected + String(repeating: " ", count: padding))
        XCTAssertEqual(Array(bytes[(8 + headerLength)...]), float32Bytes([3, 4, 1, 2, 5]))
    }

    // The same float32 tensors and metadata give the same bytes as Python's save_file.
    func testWrittenBytesMatchPythonSaveFile() throws {
        let path = temporaryPath("same.safetensors")
        let quarterSteps: (Int) -> [Float] = { count in (0..<count).map { Float($0) / 4 - 1 } }
        try SafeTensors.write([
            ("layers.0.weight", Tensor(shape: [4, 2], values: quarterSteps(8))),
            ("layers.1.bias", Tensor(shape: [1], values: [2])),
            ("layers.0.bias", Tensor(shape: [4], values: [0.25, -0.125, 1, 0])),
            ("layers.1.weight", Tensor(shape: [1, 4], values: quarterSteps(4))),
        ], metadata: ["format": "pt"], to: path)
        XCTAssertEqual(try fileBytes(path), try fileBytes(fixturePath("python_f32.safetensors")))
    }

    // A file from Python's save_file with F64, F32, F16 and BF16 tensors: exact values (F64
    // rounded to nearest Float32, 1e300 to inf; F16 and BF16 widened exactly, subnormals
    // included), file order (save_file sorts by dtype size, then name), metadata.
    func testReadsPythonFileWithEveryReadableDType() throws {
        let file = try SafeTensors.readFile(path: fixturePath("python_mixed.safetensors"))
        XCTAssertEqual(file.tensors.map(\.name), ["double", "bias", "empty", "scalar", "weight", "brain", "half"])
        XCTAssertEqual(file.metadata, ["note": "quote \" and é"])
        XCTAssertEqual(file.storedDTypes, ["double": .f64, "bias": .f32, "empty": .f32, "scalar": .f32,
                                           "weight": .f32, "brain": .bf16, "half": .f16])
        let tensors = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.tensor) })
        func check(_ name: String, _ shape: [Int], _ values: [Float], line: UInt = #line) {
            guard let tensor = tensors[name] else { return XCTFail("no tensor \(name)", line: line) }
            XCTAssertEqual(tensor.shape, shape, name, line: line)
            XCTAssertEqual(bits(tensor.scalars), bits(values), name, line: line)
        }
        check("weight", [2, 3], [-1, -0.75, -0.5, -0.25, 0, 0.25])
        check("bias", [2], [0.1, -2.5])
        check("scalar", [], [3.5])
        check("empty", [0, 3], [])
        check("double", [4], [Float(0.1 as Double), Float(1.0 / 3.0 as Double), -2.5, .infinity])
        check("half", [4], [0.5, -1.5, 65504, 0x1p-24])
        check("brain", [4], [1, -0.5, Float(bitPattern: 0x7F62_0000), 0x1p-130])
    }

    // MARK: Writing safely

    // Writing replaces an existing file through a temporary that is renamed: afterwards only the
    // file itself is in the folder.
    func testWriteReplacesAFileAndLeavesNoTemporary() throws {
        let path = temporaryPath("w.safetensors")
        try SafeTensors.write([("x", Tensor(shape: [1], values: [1]))], to: path)
        try SafeTensors.write([("x", Tensor(shape: [2], values: [7, 8]))], to: path)
        XCTAssertEqual(try SafeTensors.read(path: path)["x"]?.scalars, [7, 8])
        XCTAssertEqual(try folderContents(), ["w.safetensors"])
    }

    // When the final rename fails (here the target is a folder), the error names the file and the
    // temporary is removed; a missing folder is reported too.
    func testFailedWriteLeavesNothingBehind() throws {
        let target = temporaryPath("taken")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        let error = ioError { try SafeTensors.write([("x", Tensor(shape: [1]))], to: target) }
        XCTAssertEqual(error?.path, target)
        XCTAssertTrue(error?.problem.hasPrefix("cannot rename ") ?? false, error?.problem ?? "")
        XCTAssertEqual(try folderContents(), ["taken"])

        let missing = temporaryPath("no/such/folder/w.safetensors")
        let missingError = ioError { try SafeTensors.write([("x", Tensor(shape: [1]))], to: missing) }
        XCTAssertEqual(missingError?.path, missing)
        XCTAssertTrue(missingError?.problem.hasSuffix("No such file or directory") ?? false, missingError?.problem ?? "")
    }

    func testWriteRefusesDuplicateAndReservedNames() throws {
        let path = temporaryPath("bad.safetensors")
        XCTAssertEqual(ioError { try SafeTensors.write([("a", Tensor(shape: [1])), ("a", Tensor(shape: [2]))], to: path) }?.problem,
                       #"two tensors are named "a""#)
        XCTAssertEqual(ioError { try SafeTensors.write([("__metadata__", Tensor(shape: [1]))], to: path) }?.problem,
                       "__metadata__ is reserved for metadata and cannot name a tensor")
        XCTAssertEqual(try folderContents(), [])
    }

    // MARK: Malformed files

    /// A safetensors file from a header text (unpadded) and data bytes; `headerLength` overrides
    /// the length field.
    private func safetensorsFile(_ header: String, data: [UInt8] = [], headerLength: UInt64? = nil) -> [UInt8] {
        let headerBytes = Array(header.utf8)
        return LittleEndian.bytes(of: headerLength ?? UInt64(headerBytes.count)) + headerBytes + data
    }

    private func entry(_ name: String, _ dtype: String = "F32", shape: String, offsets: String) -> String {
        #""\#(name)":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}"#
    }

    /// The problem reported for a file holding `bytes`.
    private func readProblem(_ bytes: [UInt8], line: UInt = #line) throws -> String? {
        let path = try writeTemporaryFile("bad.safetensors", bytes)
        let error = ioError({ try SafeTensors.read(path: path) }, line: line)
        XCTAssertEqual(error?.path, path, line: line)
        return error?.problem
    }

    func testRejectsEmptyAndTruncatedPreamble() throws {
        XCTAssertEqual(try readProblem([]), "empty file (0 bytes): a safetensors file starts with an 8-byte header length")
        XCTAssertEqual(try readProblem([8, 0, 0, 0, 0]), "truncated: the file is 5 bytes, shorter than the 8-byte header length")
    }

    func testRejectsHeaderLengthPastEndOfFile() throws {
        let bytes = safetensorsFile("{}", headerLength: 4096)
        XCTAssertEqual(try readProblem(bytes), "header length 4096 (the first 8 bytes) is larger than the rest of the file (2 bytes): the file is truncated or not a safetensors file")
    }

    func testRejectsTruncatedData() throws {
        let complete = safetensorsFile("{" + entry("a", shape: "[2]", offsets: "[0,8]") + "," + entry("b", shape: "[2]", offsets: "[8,16]") + "}",
                                       data: float32Bytes([1, 2, 3, 4]))
        XCTAssertNoThrow(try SafeTensors.decode(complete, path: "ok"))
        XCTAssertEqual(try readProblem(Array(complete.dropLast(4))),
                       #"tensor "b": data_offsets [8, 16] run past the end of the data section (12 bytes after the header): the file is truncated or the header is wrong"#)
    }

    func testRejectsHeaderThatLiesAboutSizes() throws {
        let bytes = safetensorsFile("{" + entry("w", shape: "[3]", offsets: "[0,8]") + "}", data: float32Bytes([1, 2]))
        XCTAssertEqual(try readProblem(bytes), #"tensor "w": shape [3] of F32 needs 12 bytes but data_offsets [0, 8] span 8"#)
    }

    func testRejectsOverlappingOffsets() throws {
        let bytes = safetensorsFile("{" + entry("a", shape: "[2]", offsets: "[0,8]") + "," + entry("b", shape: "[2]", offsets: "[4,12]") + "}",
                                    data: float32Bytes([1, 2, 3]))
        XCTAssertEqual(try readProblem(bytes), #"tensors "a" (data_offsets [0, 8]) and "b" (data_offsets [4, 12]) overlap"#)
    }

    func testRejectsGapsAndTrailingBytes() throws {
        let gap = safetensorsFile("{" + entry("a", shape: "[1]", offsets: "[0,4]") + "," + entry("b", shape: "[1]", offsets: "[8,12]") + "}",
                                  data: float32Bytes([1, 2, 3]))
        XCTAssertEqual(try readProblem(gap), #"gap of 4 bytes in the data section after tensor "a", which ends at 4; tensor "b" begins at 8"#)
        let leadingGap = safetensorsFile("{" + entry("a", shape: "[1]", offsets: "[4,8]") + "}", data: float32Bytes([1, 2]))
        XCTAssertEqual(try readProblem(leadingGap), #"gap of 4 bytes in the data section at the start of the data section; tensor "a" begins at 4"#)
        let trailing = safetensorsFile("{" + entry("a", shape: "[1]", offsets: "[0,4]") + "}", data: float32Bytes([1, 2]))
        XCTAssertEqual(try readProblem(trailing), "4 bytes after the last tensor's data: the data section is 8 bytes but the tensors cover 4")
    }

    func testRejectsUnsupportedDTypes() throws {
        let integer = safetensorsFile("{" + entry("ids", "I32", shape: "[1]", offsets: "[0,4]") + "}", data: [UInt8](repeating: 0, count: 4))
        XCTAssertEqual(try readProblem(integer), #"tensor "ids": dtype "I32" is not supported (readable: F32, F64, F16, BF16, I64)"#)
        let unknown = safetensorsFile("{" + entry("x", "float32", shape: "[1]", offsets: "[0,4]") + "}", data: float32Bytes([1]))
        XCTAssertEqual(try readProblem(unknown), #"tensor "x": dtype "float32" is not supported (readable: F32, F64, F16, BF16, I64)"#)
    }

    /// I64 (PyTorch's integer buffers, e.g. BatchNorm's num_batches_tracked) is read as Float32.
    func testReadsInt64AsFloat() throws {
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes[0] = 7                                           // 7
        for i in 8..<16 { bytes[i] = 0xff }; bytes[8] = 0xfd   // -3
        let file = safetensorsFile("{" + entry("n", "I64", shape: "[2]", offsets: "[0,16]") + "}", data: bytes)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("i64-\(UUID().uuidString).safetensors").path
        try Data(file).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try SafeTensors.read(path: path)["n"]?.scalars, [7, -3])
    }

    func testRejectsMissingAndNonIntegerFields() throws {
        let cases: [(header: String, problem: String)] = [
            (#"{"x":{"shape":[1],"data_offsets":[0,4]}}"#, #"tensor "x": missing "dtype""#),
            (#"{"x":{"dtype":"F32","data_offsets":[0,4]}}"#, #"tensor "x": missing "shape""#),
            (#"{"x":{"dtype":"F32","shape":[1]}}"#, #"tensor "x": missing "data_offsets""#),
            (#"{"x":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}"#, #"tensor "x": dtype must be a string, found the number 32"#),
            (#"{"x":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#, #"tensor "x": shape[0] must be a non-negative integer, found the number 1.0"#),
            (#"{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, #"tensor "x": shape[0] must be a non-negative integer, found the number -1"#),
            (#"{"x":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}"#, #"tensor "x": shape[0] must be a non-negative integer, found the string "1""#),
            (#"{"x":{"dtype":"F32","shape":1,"data_offsets":[0,4]}}"#, #"tensor "x": shape must be a list of non-negative integers, found the number 1"#),
            (#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,true]}}"#, #"tensor "x": data_offsets[1] must be a non-negative integer, found true"#),
            (#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, #"tensor "x": data_offsets must hold 2 integers [begin, end], found 3"#),
            (#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, #"tensor "x": data_offsets [4, 0] end before they begin"#),
            (#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551616]}}"#,
             #"tensor "x": data_offsets[1] must be a non-negative integer, found the number 18446744073709551616"#),
            (#"{"x":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, #"tensor "x": duplicate key "dtype""#),
            (#"{"x":[1]}"#, #"tensor "x" must be an object with dtype, shape and data_offsets, found a list"#),
            (#"{"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#, #"tensor "x": shape [4611686018427387904, 4] is too large"#),
            (#"{"__metadata__":{"step":1}}"#, "__metadata__.step must be a string, found the number 1"),
            (#"{"__metadata__":[]}"#, "__metadata__ must be an object of strings, found a list"),
        ]
        for (header, problem) in cases {
            XCTAssertEqual(try readProblem(safetensorsFile(header, data: float32Bytes([1]))), problem, header)
        }
    }

    // Offsets are exact integers: through a Double, 2^53 + 1 would round to 2^53 and the span
    // would no longer match the shape; here the size check passes and the bounds check reports
    // the exact end.
    func testLargeOffsetsAreExact() throws {
        let bytes = safetensorsFile(#"{"x":{"dtype":"F32","shape":[2251799813685248],"data_offsets":[1,9007199254740993]}}"#)
        XCTAssertEqual(try readProblem(bytes), #"tensor "x": data_offsets [1, 9007199254740993] run past the end of the data section (0 bytes after the header): the file is truncated or the header is wrong"#)
    }

    func testRejectsDuplicateNames() throws {
        let bytes = safetensorsFile("{" + entry("x", shape: "[1]", offsets: "[0,4]") + "," + entry("x", shape: "[1]", offsets: "[4,8]") + "}",
                                    data: float32Bytes([1, 2]))
        XCTAssertEqual(try readProblem(bytes), #"duplicate tensor name "x" in the header"#)
        XCTAssertEqual(try readProblem(safetensorsFile(#"{"__metadata__":{},"__metadata__":{}}"#)), "__metadata__ appears twice in the header")
        XCTAssertEqual(try readProblem(safetensorsFile(#"{"__metadata__":{"a":"1","a":"2"}}"#)), #"duplicate key "a" in __metadata__"#)
    }

    func testRejectsHeadersThatAreNotJSONObjects() throws {
        XCTAssertEqual(try readProblem(safetensorsFile(#"{"x":{"dtype":"F32",}}"#)), "header is not valid JSON: expected a string key at byte 20 of the header")
        XCTAssertEqual(try readProblem(safetensorsFile("[1, 2]")), "header must be a JSON object, found a list")
        XCTAssertEqual(try readProblem(safetensorsFile("{} x")), "header is not valid JSON: unexpected text after the JSON value at byte 3 of the header")
        XCTAssertEqual(try readProblem(safetensorsFile("", data: [1])), "header is empty (header length 0)")
        XCTAssertEqual(try readProblem(LittleEndian.bytes(of: 2) + [0x7B, 0xFF]), "header is not valid UTF-8: not a safetensors file?")
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        XCTAssertEqual(try readProblem(safetensorsFile(#"{"x":"# + deep + "}")), "header is not valid JSON: nested more than 64 levels deep at byte 68 of the header")
        XCTAssertEqual(try readProblem(safetensorsFile(#"{"\ud800":1}"#)), #"header is not valid JSON: lone leading surrogate \ud800 in a string at byte 8 of the header"#)
    }

    func testRejectsRandomGarbage() throws {
        let garbage = pseudoRandomBytes(count: 256, seed: 12345)
        let declared = LittleEndian.uint64(garbage, at: 0)
        XCTAssertEqual(try readProblem(garbage), "header length \(declared) (the first 8 bytes) is larger than the rest of the file (248 bytes): the file is truncated or not a safetensors file")
        // A plausible length in front of garbage.
        let problem = try readProblem(LittleEndian.bytes(of: 64) + pseudoRandomBytes(count: 128, seed: 7))
        XCTAssertEqual(problem, "header is not valid UTF-8: not a safetensors file?")
    }

    // Escaped names decode (\u00e9, a surrogate pair), and tensors of zero elements share an
    // offset without counting as overlaps.
    func testEscapedNamesAndEmptyTensors() throws {
        let header = "{" + entry(#"caf\u00e9 \ud83d\ude00"#, shape: "[1]", offsets: "[0,4]") + ","
            + entry("e1", shape: "[0]", offsets: "[4,4]") + "," + entry("e0", shape: "[2,0]", offsets: "[4,4]") + "}"
        let path = try writeTemporaryFile("names.safetensors", safetensorsFile(header, data: float32Bytes([9])))
        XCTAssertEqual(try SafeTensors.readOrdered(path: path).map(\.name), ["café 😀", "e0", "e1"])
    }

    // Every truncation and many single-byte corruptions of a valid file end in a result or an
    // IOError, never a crash.
    func testCorruptedVariantsNeverCrash() throws {
        let path = temporaryPath("fuzz.safetensors")
        try SafeTensors.write([("w", Tensor(shape: [2, 2], values: [1, 2, 3, 4])), ("b", Tensor(shape: [2], values: [5, 6]))],
                              metadata: ["k": "v"], to: path)
        let valid = try fileBytes(path)
        for length in 0..<valid.count {
            XCTAssertThrowsError(try SafeTensors.decode(Array(valid[..<length]), path: "fuzz"))
        }
        let replacements = pseudoRandomBytes(count: valid.count * 4, seed: 99)
        for (index, replacement) in replacements.enumerated() {
            var corrupted = valid
            corrupted[index % valid.count] = replacement
            do { _ = try SafeTensors.decode(corrupted, path: "fuzz") } catch is IOError {} catch { XCTFail("\(error)") }
        }
    }

    func testReportsMissingFilesAndFolders() throws {
        let missing = temporaryPath("absent.safetensors")
        XCTAssertEqual(ioError { try SafeTensors.read(path: missing) }?.description, "\(missing): cannot open: No such file or directory")
        XCTAssertEqual(ioError { try SafeTensors.read(path: folder.path) }?.problem, "is a directory, not a file")
    }
}
