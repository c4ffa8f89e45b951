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

/// The default `log_every` keeps at most about 1,000 rows per metric and run: every step up to
/// 1,000 steps, then ⌈steps / 1000⌉; a value in the spec is kept as written.
final class DefaultLogEveryTests: XCTestCase {
    private func spec(steps: Int, logEvery: Int? = nil) throws -> ExperimentSpec {
        let log = logEvery.map { #", "log_every": \#($0)"# } ?? ""
        return try XCTUnwrap(try ExperimentSpec.load(file: try specFile("""
            {"name": "log", "task": {"kind": "blobs", "train_size": 32, "val_size": 0}, "model": {"hidden": [2]},
             "loss": "cross_entropy", "optimizer": "sgd", "training": {"steps": \(steps), "batch_size": 8, "eval_every": 0\(log)}}
            """)).first)
    }

    func testDefaultLogEveryKeepsAboutAThousandRows() throws {
        XCTAssertEqual(try spec(steps: 1).training.logEvery, 1)
        XCTAssertEqual(try spec(steps: 1000).training.logEvery, 1)
        XCTAssertEqual(try spec(steps: 1001).training.logEvery, 2)
        XCTAssertEqual(try spec(steps: 100_000).training.logEvery, 100)
        XCTAssertEqual(try spec(steps: 5000, logEvery: 1).training.logEvery, 1, "as written")
        // The resolved config (hashed, stored) records the value taken.
        guard case .object(let config) = try spec(steps: 2500).config, case .object(let training)? = config["training"] else {
            return XCTFail("an object config")
        }
        XCTAssertEqual(training["log_every"], .number(3))

        // 2,500 steps every 3rd: steps 3, 6, ..., 2499 (833), the first and the last.
        let sink = MemoryMetricsSink()
        _ = try Runner(spec: try spec(steps: 2500)).run(metrics: sink)
        let steps = sink.entries.filter { $0.name == "train_loss" }.map(\.step)
        XCTAssertEqual(steps, [1] + Array(stride(from: 3, through: 2499, by: 3)) + [2500])
    }
}
