import XCTest
import Foundation
import TrainLabStore

/// A diverged run reports no stale value as its final one: its validation was last measured at
/// step 0, before training went wrong, and must neither be printed, stored as final, nor rank it.
final class DivergedFinalsTests: XCTestCase {
    func testDivergedRunHasNoStaleFinalsAndSortsLast() throws {
        let spec = try specFile("""
            {"name": "blowup", "task": {"kind": "blobs", "train_size": 64, "val_size": 32},
             "model": {"hidden": [8]}, "loss": "cross_entropy", "optimizer": {"kind": "sgd", "lr": 0.1},
             "training": {"steps": 30, "batch_size": 16, "eval_every": 10},
             "sweep": {"optimizer.lr": [1e6, 0.1]}}
            """)
        let database = URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("d.sqlite").path
        let run = try runTrainlab(["run", spec, "--db", database], in: self)
        XCTAssertEqual(run.status, 0, run.standardError)
        let divergedLine = try XCTUnwrap(run.standardOutput.split(separator: "\n").first { $0.contains("diverged") })
        XCTAssertTrue(divergedLine.contains("train_loss"), String(divergedLine))
        XCTAssertFalse(divergedLine.contains("val_loss") || divergedLine.contains("val_accuracy"), String(divergedLine))

        let finals = try Database(path: database, mode: .readOnly).rows("""
            SELECT s.name, s.final_value FROM summaries s JOIN runs r ON r.id = s.run_id
            WHERE r.status = 'diverged' ORDER BY s.name
            """) { ($0.string(at: 0), $0.optionalDouble(at: 1)) }
        XCTAssertEqual(finals.first { $0.0 == "val_loss" }.map { $0.1 == nil }, true, "\(finals)")
        XCTAssertEqual(finals.first { $0.0 == "val_accuracy" }.map { $0.1 == nil }, true, "\(finals)")
        XCTAssertNotNil(finals.first { $0.0 == "train_loss" }?.1, "the loss at divergence is its final train_loss")

        for order in [["--sort", "val_loss"], ["--sort", "train_loss", "--desc"]] {
            let list = try runTrainlab(["list", "blowup", "--db", database] + order, in: self)
            XCTAssertEqual(list.status, 0, list.standardError)
            let rows = list.standardOutput.split(separator: "\n").filter { $0.contains("blowup") }
            XCTAssertEqual(rows.count, 2, list.standardOutput)
            XCTAssertTrue(rows.last?.contains("diverged") ?? false, "\(order): \(list.standardOutput)")
        }
    }
}
