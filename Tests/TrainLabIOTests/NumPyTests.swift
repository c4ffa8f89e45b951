import Foundation
import XCTest
import TrainLabAutodiff
@testable import TrainLabIO

final class NumPyTests: TemporaryFolderTestCase {
    // MARK: Reading files numpy.save wrote

    private func readFixture(_ name: String) throws -> NumPyArray { try NumPy.read(path: fixturePath(name)) }

    func testReadsFloatDTypesConvertedToFloat32() throws {
        let f4 = try readFixture("f4.npy")
        XCTAssertEqual(f4.shape, [2, 3])
        XCTAssertEqual(f4.fileDType, "<f4")
        XCTAssertEqual(f4.floatValues, [-1, -0.75, -0.5, -0.25, 0, 0.25])
        XCTAssertNil(f4.intValues)
        XCTAssertEqual(f4.floatTensor()?.shape, [2, 3])

        // f8 rounds to nearest (1e300 overflows to inf), f2 widens exactly (2^-24 is subnormal).
        XCTAssertEqual(try readFixture("f8.npy").floatValues.map(bits), bits([Float(0.1 as Double), Float(1.0 / 3.0 as Double), -2.5, .infinity]))
        XCTAssertEqual(try readFixture("f2.npy").floatValues, [0.5, -1.5, 65504, 0x1p-24])
    }

    func testReadsIntegerDTypes() throws {
        let expected: [(file: String, shape: [Int], values: [Int])] = [
            ("i1.npy", [3], [-128, 0, 127]),
            ("u1.npy", [3], [0, 7, 255]),
            ("i2.npy", [2], [-32768, 32767]),
            ("u2.npy", [2], [0, 65535]),
            ("i4.npy", [2, 2], [-3, 0, 7, 2_147_483_647]),
            ("u4.npy", [2], [0, 4_294_967_295]),
            ("i8.npy", [3], [-(1 << 40), 0, 1 << 62]),
            ("u8.npy", [2], [0, Int.max]),
        ]
        for (file, shape, values) in expected {
            let array = try readFixture(file)
            XCTAssertEqual(array.shape, shape, file)
            XCTAssertEqual(array.intValues, values, file)
            XCTAssertNil(array.floatTensor(), file)
        }
        XCTAssertEqual(ioError { try readFixture("u8_too_large.npy") }?.problem,
                       "element 1 is 9223372036854775808, which does not fit in a signed 64-bit integer")
    }

    func testReadsFormatVersionsScalarsAndEmptyArrays() throws {
        let version2 = try readFixture("v2_f4.npy")
        XCTAssertEqual(try fileBytes(fixturePath("v2_f4.npy"))[6], 2)
        XCTAssertEqual(version2.shape, [3, 2])
        XCTAssertEqual(version2.floatValues, [-1, -0.75, -0.5, -0.25, 0, 0.25])
        let version3 = try readFixture("v3_i8.npy")
        XCTAssertEqual(try fileBytes(fixturePath("v3_i8.npy"))[6], 3)
        XCTAssertEqual(version3.intValues, [5, -6])

        let scalar = try readFixture("scalar_f4.npy")
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.floatValues, [3.5])
        let empty = try readFixture("empty_f4.npy")
        XCTAssertEqual(empty.shape, [0, 3])
        XCTAssertEqual(empty.count, 0)
    }

    // MARK: Refused files

    func testRefusesFortranOrderBigEndianObjectAndStructuredArrays() throws {
        XCTAssertEqual(ioError { try readFixture("fortran_f4.npy") }?.problem,
                       "fortran_order is True (column-major data), which is not supported: save a C-order array, e.g. np.save(path, np.ascontiguousarray(a))")
        XCTAssertEqual(ioError { try readFixture("big_endian_f4.npy") }?.problem,
                       "dtype '>f4' is big-endian, which is not supported: save little-endian data, e.g. np.save(path, a.astype('<f4'))")
        XCTAssertEqual(ioError { try readFixture("object.npy") }?.problem,
                       "dtype '|O' is an object array (pickled Python objects), which is not supported: save a numeric array")
        XCTAssertEqual(ioError { try readFixture("structured.npy") }?.problem,
                       "structured dtype (a list of fields) is not supported: save a plain numeric array")
        let error = ioError { try readFixture("fortran_f4.npy") }
        XCTAssertEqual(error?.path, fixturePath("fortran_f4.npy"))
    }

    /// The problem reported for a file holding `bytes`.
    private func readProblem(_ bytes: [UInt8], line: UInt = #line) throws -> String? {
        let path = try writeTemporaryFile("bad.npy", bytes)
        let error = ioError({ try NumPy.read(path: path) }, line: line)
        XCTAssertEqual(error?.path, path, line: line)
        return error?.problem
    }

    func testRefusesTruncatedAndOversizedData() throws {
        let valid = try fileBytes(fixturePath("f4.npy"))
        XCTAssertEqual(try readProblem(Array(valid.dropLast(4))),
                       "truncated data: shape (2, 3) of <f4 needs 24 bytes, the file has 20 after the header")
        XCTAssertEqual(try readProblem(valid + [0, 0]), "2 unexpected bytes after the data (shape (2, 3) of <f4 is 24 bytes)")
        XCTAssertEqual(try readProblem(Array(valid.prefix(100))),
                       "truncated: the header length 118 runs past the end of the file (90 bytes after the preamble)")
        XCTAssertEqual(try readProblem(Array(valid.prefix(9))), "truncated: the file ends inside the header length")
        XCTAssertEqual(try readProblem(Array(valid.prefix(3))), "truncated: the file ends inside the .npy magic string")
    }

    func testRefusesFilesThatAreNotNpy() throws {
        XCTAssertEqual(try readProblem([]), "empty file (0 bytes): not a .npy file")
        XCTAssertEqual(try readProblem(pseudoRandomBytes(count: 200, seed: 5)), "not a .npy file: it does not start with the magic string \\x93NUMPY")
        var version4 = try fileBytes(fixturePath("f4.npy"))
        version4[6] = 4
        XCTAssertEqual(try readProblem(version4), "unsupported .npy format version 4.0 (readable: 1.0, 2.0, 3.0)")
        // Valid magic and version, then garbage.
        let garbage = NumPy.magic + [1, 0, 64, 0] + pseudoRandomBytes(count: 64, seed: 11)
        XCTAssertTrue(try readProblem(garbage)?.hasPrefix("header is not a valid Python dict literal: ") ?? false)
    }

    // MARK: Header dictionaries

    /// A version 1.0 file with `header` as its dictionary text and `data`.
    private func npyFile(header: String, data: [UInt8]) -> [UInt8] {
        let text = Array(header.utf8)
        return NumPy.magic + [1, 0, UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + text + data
    }

    // Python literal syntax as other writers may produce it: double quotes, any key order, no
    // trailing comma, extra spaces, an old `L` suffix, no final newline, a list-free shape.
    func testParsesHeaderDictionariesRobustly() throws {
        let data = float32Bytes([1, 2, 3])
        let headers = [
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }          \n",
            "{\"shape\": (3,), \"descr\": \"<f4\", \"fortran_order\": False}",
            "{ 'fortran_order' : False , 'shape' : ( 3 , ) , 'descr' : '<f4' }\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3L,)}\n",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}\t\n  ",
        ]
        for header in headers {
            let path = try writeTemporaryFile("ok.npy", npyFile(header: header, data: data))
            let array = try NumPy.read(path: path)
            XCTAssertEqual(array.shape, [3], header)
            XCTAssertEqual(array.floatValues, [1, 2, 3], header)
        }
        let twoDimensions = try writeTemporaryFile("2d.npy", npyFile(header: "{'descr':'<f4','fortran_order':False,'shape':(1,3)}", data: data))
        XCTAssertEqual(try NumPy.read(path: twoDimensions).shape, [1, 3])
    }

    func testRefusesMalformedHeaderDictionaries() throws {
        let cases: [(header: String, problem: String)] = [
            ("{'descr': '<f4', 'shape': (1,)}", "header is missing 'fortran_order'"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
             "header has an unexpected key 'extra' (expected 'descr', 'fortran_order', 'shape')"),
            ("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", "header has the key 'descr' twice"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", "header: shape must be a tuple of non-negative integers, found [1]"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", "header: shape must be a tuple of non-negative integers, found (-1,)"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}",
             "header is not a valid Python dict literal: expected an integer, found a non-integer number at byte 52 of the header"),
            ("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", "header: fortran_order must be True or False, found 0"),
            ("{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}",
             "dtype '<c8' is not supported (readable: <f2, <f4, <f8, |i1, |u1, <i2, <u2, <i4, <u4, <i8, <u8)"),
            ("{'descr': '|f4', 'fortran_order': False, 'shape': (1,)}",
             "dtype '|f4' is not supported (readable: <f2, <f4, <f8, |i1, |u1, <i2, <u2, <i4, <u4, <i8, <u8)"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "header is not a valid Python dict literal: unexpected end of text, expected '}' at byte 54 of the header"),
            ("{'descr': '<f4', 'fortran_order': false, 'shape': (1,)}",
             "header is not a valid Python dict literal: unexpected name false (only True, False and None are literals) at byte 34 of the header"),
            ("('descr', '<f4')", "header must be a dict, found ('descr', '<f4')"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
             "header is not a valid Python dict literal: integer too large at byte 51 of the header"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4)}", "shape (4611686018427387904, 4) is too large"),
        ]
        for (header, problem) in cases {
            XCTAssertEqual(try readProblem(npyFile(header: header, data: float32Bytes([1]))), problem, header)
        }
        let deep = String(repeating: "(", count: 5000)
        XCTAssertEqual(try readProblem(npyFile(header: deep, data: [])), "header is not a valid Python dict literal: nested more than 32 levels deep at byte 32 of the header")
    }

    // Every truncation and many single-byte corruptions end in a result or an IOError.
    func testCorruptedVariantsNeverCrash() throws {
        let valid = try fileBytes(fixturePath("i4.npy"))
        for length in 0..<valid.count {
            XCTAssertThrowsError(try NumPy.decode(Array(valid[..<length]), path: "fuzz"))
        }
        for (index, replacement) in pseudoRandomBytes(count: valid.count * 4, seed: 3).enumerated() {
            var corrupted = valid
            corrupted[index % valid.count] = replacement
            do { _ = try NumPy.decode(corrupted, path: "fuzz") } catch is IOError {} catch { XCTFail("\(error)") }
        }
    }

    // MARK: Writing

    // The bytes are numpy.save's for the same arrays (version 1.0 header, growth padding, 64-byte
    // alignment), for floats, int64, a scalar and an empty array.
    func testWrittenBytesMatchNumpySave() throws {
        let quarterSteps: [Float] = (0..<6).map { Float($0) / 4 - 1 }
        let f4 = temporaryPath("f4.npy")
        try NumPy.write(quarterSteps, shape: [2, 3], to: f4)
        XCTAssertEqual(try fileBytes(f4), try fileBytes(fixturePath("f4.npy")))

        let tensorPath = temporaryPath("tensor.npy")
        try NumPy.write(Tensor(shape: [2, 3], values: quarterSteps), to: tensorPath)
        XCTAssertEqual(try fileBytes(tensorPath), try fileBytes(fixturePath("f4.npy")))

        let i8 = temporaryPath("i8.npy")
        try NumPy.writeInt64([-(1 << 40), 0, 1 << 62], shape: [3], to: i8)
        XCTAssertEqual(try fileBytes(i8), try fileBytes(fixturePath("i8.npy")))

        let scalar = temporaryPath("scalar.npy")
        try NumPy.write([3.5], shape: [], to: scalar)
        XCTAssertEqual(try fileBytes(scalar), try fileBytes(fixturePath("scalar_f4.npy")))

        let empty = temporaryPath("empty.npy")
        try NumPy.write([], shape: [0, 3], to: empty)
        XCTAssertEqual(try fileBytes(empty), try fileBytes(fixturePath("empty_f4.npy")))
        XCTAssertEqual(try folderContents(), ["empty.npy", "f4.npy", "i8.npy", "scalar.npy", "tensor.npy"])
    }

    func testRoundTrip() throws {
        let path = temporaryPath("round.npy")
        let values: [Float] = [.nan, -0.0, .infinity, 0x1p-140, 7]
        try NumPy.write(values, shape: [5, 1], to: path)
        let array = try NumPy.read(path: path)
        XCTAssertEqual(array.shape, [5, 1])
        XCTAssertEqual(array.floatValues.map(bits), bits(values))

        try NumPy.writeInt64([Int.min, -1, Int.max, 0], shape: [2, 2], to: path)
        XCTAssertEqual(try NumPy.read(path: path).intValues, [Int.min, -1, Int.max, 0])
    }
}
