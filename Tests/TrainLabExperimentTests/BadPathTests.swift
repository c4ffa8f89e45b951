import XCTest
import Foundation

/// A path that cannot work gets one line naming it and what is wrong, and exit status 2 (a bad
/// input), never an NSError dump and exit 1.
final class BadPathTests: XCTestCase {
    private func assertOneLineBadInput(_ arguments: [String], mentions expected: String,
                                       file: StaticString = #filePath, line: UInt = #line) throws {
        let outcome = try runTrainlab(arguments, in: self)
        XCTAssertEqual(outcome.status, 2, outcome.standardError, file: file, line: line)
        let lines = outcome.standardError.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, outcome.standardError, file: file, line: line)
        XCTAssertTrue(outcome.standardError.contains(expected), outcome.standardError, file: file, line: line)
        XCTAssertFalse(outcome.standardError.contains("Error Domain"), outcome.standardError, file: file, line: line)
    }

    func testDatabaseUnderAFileUnderProcAndASpecFolder() throws {
        let spec = try specFile(#"{"name": "p", "task": {"kind": "blobs", "train_size": 32}, "loss": "cross_entropy", "optimizer": {"kind": "sgd"}, "training": {"steps": 2}}"#)
        let folder = URL(fileURLWithPath: spec).deletingLastPathComponent()
        let aFile = folder.appendingPathComponent("afile").path
        XCTAssertTrue(FileManager.default.createFile(atPath: aFile, contents: Data("x".utf8)))
        try assertOneLineBadInput(["run", spec, "--db", aFile + "/x.sqlite"], mentions: "afile is a file, not a folder")
        try assertOneLineBadInput(["merge", aFile + "/out.sqlite", aFile], mentions: "afile is a file, not a folder")
        try assertOneLineBadInput(["run", spec, "--db", "/proc/trainlab-test.sqlite"], mentions: "cannot write the results database /proc/trainlab-test.sqlite")
        try assertOneLineBadInput(["run", folder.path, "--db", folder.appendingPathComponent("r.sqlite").path], mentions: "is a directory")
        try assertOneLineBadInput(["validate", folder.path], mentions: "is a directory")

        let database = folder.appendingPathComponent("ok.sqlite").path
        XCTAssertEqual(try runTrainlab(["run", spec, "--db", database, "--quiet"], in: self).status, 0)
        try assertOneLineBadInput(["report", "p", "--db", database, "-o", aFile + "/r.html"], mentions: "cannot create it: Not a directory")
        try assertOneLineBadInput(["export", "p", "--db", database, "-o", aFile + "/r.csv"], mentions: "cannot create it: Not a directory")
    }
}
