import XCTest
import Foundation
import TrainLabExperiment

/// `bench sweep` (and `bench train`, `bench metrics`) find their default spec from any folder:
/// beside the binary built in the repository, or where this program's sources are.
final class RepositoryFilesTests: XCTestCase {
    let sweep = "experiments/bench/sweep.json"

    func testTheDefaultSpecIsFoundFromAnotherFolder() throws {
        let elsewhere = FileManager.default.temporaryDirectory.path
        let repository = SpecFuzzTests.repositoryRoot.standardizedFileURL.path
        let found = try XCTUnwrap(RepositoryFiles.locate(sweep, currentDirectory: elsewhere, executable: trainlabBinary.path,
                                                         sourceRoot: "/nonexistent"), "found above .build/debug/trainlab")
        XCTAssertEqual(URL(fileURLWithPath: found).resolvingSymlinksInPath().path,
                       URL(fileURLWithPath: repository + "/" + sweep).resolvingSymlinksInPath().path)
        XCTAssertEqual(RepositoryFiles.locate(sweep, currentDirectory: elsewhere, executable: nil, sourceRoot: repository),
                       repository + "/" + sweep, "found by the sources' path")
        XCTAssertEqual(RepositoryFiles.locate(sweep, currentDirectory: repository, executable: nil, sourceRoot: "/nonexistent"),
                       sweep, "the current folder first, named as given")
        XCTAssertNil(RepositoryFiles.locate(sweep, currentDirectory: elsewhere, executable: "/usr/bin/true", sourceRoot: "/nonexistent"))
    }
}
