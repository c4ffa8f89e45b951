import XCTest
import Foundation

/// Never destroy the user's data: no weights file, export or report is written over the results
/// database, a spec being run, or something that is not a regular file; reports and exports are
/// written atomically and replace a symbolic link rather than write through it.
final class OutputPathTests: XCTestCase {
    func testOutputsNeverOverwriteTheDatabaseOrASpec() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trainlab-out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let database = dir.appendingPathComponent("ck.sqlite").path
        func spec(saveFinal: String) throws -> String {
            let path = dir.appendingPathComponent("s-\(UUID().uuidString).json").path
            let target = saveFinal == "SELF" ? path : saveFinal
            try #"{"name": "o", "task": {"kind": "blobs", "train_size": 16, "val_size": 0}, "model": {"hidden": [4]}, "loss": "cross_entropy", "optimizer": "sgd", "training": {"steps": 2}, "checkpoint": {"save_final": "\#(target)"}}"#
                .write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let good = try spec(saveFinal: dir.appendingPathComponent("w.safetensors").path)
        XCTAssertEqual(try runTrainlab(["run", good, "--db", database, "--quiet"], in: self).status, 0)
        let size = try FileManager.default.attributesOfItem(atPath: database)[.size] as? Int

        for (target, reason) in [(database, "it is the results database"), (database + "-wal", "the results database's -wal file"),
                                 ("SELF", "it is a spec being run"), ("/dev/null", "it is not a regular file")] {
            let file = try spec(saveFinal: target)
            for command in ["run", "validate"] {
                let outcome = try runTrainlab([command, file, "--db", database, "--quiet"].filter { command == "run" || $0 != "--quiet" }, in: self)
                XCTAssertEqual(outcome.status, 2, "\(command) \(target): \(outcome.standardError)")
                XCTAssertTrue(outcome.standardError.contains("checkpoint.save_final: will not write"), outcome.standardError)
                XCTAssertTrue(outcome.standardError.contains(reason), outcome.standardError)
            }
        }
        // Run through a symbolic link, a spec whose save_final names the link's target is refused
        // too: the audit of 2026-12-08 found the spec replaced by its weights, exit 0.
        let linked = try spec(saveFinal: "SELF")
        let alias = dir.appendingPathComponent("alias.json").path
        try FileManager.default.createSymbolicLink(atPath: alias, withDestinationPath: linked)
        let throughLink = try runTrainlab(["run", alias, "--db", database, "--quiet"], in: self)
        XCTAssertEqual(throughLink.status, 2, throughLink.standardError)
        XCTAssertTrue(throughLink.standardError.contains("it is a spec being run"), throughLink.standardError)
        XCTAssertTrue(try String(contentsOfFile: linked, encoding: .utf8).hasPrefix("{"), "the spec is still JSON")

        let export = try runTrainlab(["export", "o", "-o", database, "--db", database], in: self)
        XCTAssertEqual(export.status, 2, export.standardError)
        XCTAssertTrue(export.standardError.contains("will not write"), export.standardError)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: database)[.size] as? Int, size, "the database is untouched")
        XCTAssertEqual(try runTrainlab(["list", "--db", database], in: self).status, 0)

        // A report aimed at a symbolic link replaces the link; the file it pointed to stays.
        let pointedTo = dir.appendingPathComponent("t1").path
        try "keep me".write(toFile: pointedTo, atomically: true, encoding: .utf8)
        let link = dir.appendingPathComponent("report.html").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: pointedTo)
        XCTAssertEqual(try runTrainlab(["report", "o", "-o", link, "--db", database], in: self).status, 0)
        XCTAssertEqual(try String(contentsOfFile: pointedTo, encoding: .utf8), "keep me")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: link)[.type] as? FileAttributeType, .typeRegular)
    }

    /// A report's default file name keeps letters of any script and tells names apart that
    /// share their safe characters: `日本語` and `中文字` both wrote `___.html` (audit, 2026-12-08).
    func testDefaultReportNamesNeverCollide() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trainlab-names-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let database = dir.appendingPathComponent("n.sqlite").path
        let names = ["日本語", "中文字", "a b", "a_b"]
        for (i, name) in names.enumerated() {
            let spec = dir.appendingPathComponent("s\(i).json").path
            try #"{"name": "\#(name)", "task": {"kind": "blobs", "train_size": 16, "val_size": 0}, "model": {"hidden": [4]}, "loss": "cross_entropy", "optimizer": "sgd", "training": {"steps": 2}}"#
                .write(toFile: spec, atomically: true, encoding: .utf8)
            XCTAssertEqual(try runTrainlab(["run", spec, "--db", database, "--quiet"], in: self).status, 0, name)
        }
        for name in names {
            let process = Process()
            process.executableURL = trainlabBinary
            process.arguments = ["report", name, "--db", database]
            process.currentDirectoryURL = dir
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            addTeardownBlock { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, name)
        }
        let reports = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".html") }.sorted()
        XCTAssertEqual(reports.count, 4, "\(reports)")
        XCTAssertTrue(reports.contains("日本語.html") && reports.contains("中文字.html") && reports.contains("a_b.html"), "\(reports)")
        XCTAssertTrue(reports.contains { $0.hasPrefix("a_b-") && $0.count == "a_b-12345678.html".count }, "a b: the safe name and a digest, \(reports)")
    }
}
