import Foundation
import XCTest
import TrainLabAutodiff
@testable import TrainLabIO

/// A file in Tests/TrainLabIOTests/Fixtures (written by tools/golden/make_io_fixtures.py).
func fixturePath(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent(name).path
}

func fileBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// The little-endian bytes of Float32 values.
func float32Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * $0)) } }
}

/// Bit patterns, so that NaN == NaN and -0 != +0 in comparisons.
func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

/// A fixed pseudo-random byte pattern (a 32-bit linear congruential generator).
func pseudoRandomBytes(count: Int, seed: UInt32) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 1_664_525 &+ 1_013_904_223
        return UInt8(truncatingIfNeeded: state >> 24)
    }
}

/// The IOError that `body` throws (fails the test when it throws nothing or something else).
func ioError<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> IOError? {
    do {
        _ = try body()
        XCTFail("expected an IOError", file: file, line: line)
    } catch let error as IOError {
        return error
    } catch {
        XCTFail("expected an IOError, got \(error)", file: file, line: line)
    }
    return nil
}

/// A test case with a fresh temporary folder, removed afterwards.
class TemporaryFolderTestCase: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("TrainLabIOTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func temporaryPath(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// Writes `bytes` to `name` in the temporary folder and returns its path.
    func writeTemporaryFile(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = temporaryPath(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The names in the temporary folder.
    func folderContents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }
}
