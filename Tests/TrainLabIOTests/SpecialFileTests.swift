import Foundation
import XCTest
@testable import TrainLabIO

/// Only regular files are read, header first: a device never ends, a FIFO may never deliver, and
/// a huge file is judged by its header without reading what follows it.
final class SpecialFileTests: TemporaryFolderTestCase {
    /// Runs `body` on another thread and returns its IOError's problem, failing the test when it
    /// takes longer than 10 s (a reader stuck on a FIFO) or throws something else.
    func problem(_ body: @escaping @Sendable () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String? {
        let done = expectation(description: "read")
        let outcome = Outcome()
        Thread.detachNewThread {
            do { try body() } catch { outcome.error = error }
            done.fulfill()
        }
        wait(for: [done], timeout: 10)
        guard let error = outcome.error as? IOError else {
            XCTFail("expected an IOError, got \(String(describing: outcome.error))", file: file, line: line)
            return nil
        }
        return error.problem
    }

    /// Creates a file of `size` bytes that starts with `prefix`, the rest a hole (no disk used).
    func sparseFile(_ name: String, prefix: [UInt8], size: UInt64) throws -> String {
        let path = try writeTemporaryFile(name, prefix)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: size)
        try handle.close()
        return path
    }

    func testDevicesAreRefused() {
        XCTAssertEqual(problem { _ = try NumPy.read(path: "/dev/zero") }, "not a regular file (it is a character device)")
        XCTAssertEqual(problem { _ = try SafeTensors.read(path: "/dev/zero") }, "not a regular file (it is a character device)")
    }

    func testFIFOsAreRefusedWithoutWaitingForAWriter() throws {
        let fifo = temporaryPath("pipe")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        // A reader stuck in open() is released by a writer appearing; then the test fails on its own.
        addTeardownBlock {
            let writer = open(fifo, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
        }
        XCTAssertEqual(problem { _ = try NumPy.read(path: fifo) }, "not a regular file (it is a FIFO, a named pipe)")
        XCTAssertEqual(problem { _ = try SafeTensors.read(path: fifo) }, "not a regular file (it is a FIFO, a named pipe)")
    }

    /// A 20 GB file whose header is wrong is refused at once, its length never read.
    func testHugeFilesAreJudgedByTheirHeaders() throws {
        let size: UInt64 = 20 << 30
        let weights = try sparseFile("zero.safetensors", prefix: [], size: size)
        XCTAssertEqual(problem { _ = try SafeTensors.read(path: weights) }, "header is empty (header length 0)")
        let array = try sparseFile("zero.npy", prefix: NumPy.magic + [1, 0, 0, 0], size: size)
        XCTAssertEqual(problem { _ = try NumPy.read(path: array) }?.hasPrefix("header is not a valid Python dict literal"), true)
    }

    /// `open` reads the header only: a 4 GiB tensor (a hole) is described, not loaded.
    func testOpeningReadsOnlyTheHeader() throws {
        let count = 1 << 30
        var header = Array(#"{"big":{"dtype":"F32","shape":[\#(count)],"data_offsets":[0,\#(4 * count)]}}"#.utf8)
        header += Array(repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
        let path = try sparseFile("big.safetensors", prefix: LittleEndian.bytes(of: UInt64(header.count)) + header,
                                  size: UInt64(8 + header.count + 4 * count))
        let file = try SafeTensors.open(path: path)
        XCTAssertEqual(file.entries.map(\.name), ["big"])
        XCTAssertEqual(file.entries.map(\.shape), [[count]])
        let array = try sparseFile("big.npy", prefix: NumPy.encodedHeader(descr: "<f4", shape: [count]),
                                   size: UInt64(NumPy.encodedHeader(descr: "<f4", shape: [count]).count + 4 * count))
        XCTAssertEqual(try NumPy.open(path: array).shape, [count])
    }
}

/// The error a background read ended with.
private final class Outcome: @unchecked Sendable {
    var error: (any Error)?
}
