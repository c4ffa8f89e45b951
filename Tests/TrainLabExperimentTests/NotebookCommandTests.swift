import XCTest
import Foundation
import TrainLabStore

/// The notebook commands end to end, on a database `trainlab run` builds here: spec tags and
/// notes, tag, note, list --tag/--sort/--limit, show, best, compare --pivot and across
/// experiments, export --wide, report --pivot, delete and rename.
final class NotebookCommandTests: XCTestCase {
    func trainlab(_ arguments: [String]) throws -> TrainlabOutcome { try runTrainlab(arguments, in: self) }

    func testNotebookCommandsOnABuiltDatabase() throws {
        let spec = try specFile("""
            {"name": "nb", "tags": ["sweep", "sweep"], "notes": "two lrs, two seeds",
             "task": {"kind": "blobs", "train_size": 64, "val_size": 16},
             "model": {"hidden": [4]}, "loss": "cross_entropy", "optimizer": {"kind": "sgd", "lr": 0.1},
             "training": {"steps": 10, "batch_size": 16, "eval_every": 5},
             "sweep": {"optimizer.lr": [0.1, 0.01], "seed": [0, 1]}}
            """)
        let folder = URL(fileURLWithPath: spec).deletingLastPathComponent()
        let database = folder.appendingPathComponent("nb.sqlite").path
        let db = ["--db", database]
        XCTAssertEqual(try trainlab(["run", spec, "--quiet"] + db).status, 0)

        let badTag = try specFile(#"{"name": "x", "tags": ["two words"], "task": "blobs", "loss": "cross_entropy", "optimizer": "sgd"}"#)
        let refused = try trainlab(["run", badTag] + db)
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.standardError.contains("tags[0]: a tag is one word"), refused.standardError)

        let store = try ResultsStore.openForReading(path: database)
        XCTAssertEqual(try store.runs().map(\.tags), Array(repeating: ["sweep"], count: 4))
        XCTAssertEqual(try store.runs().map(\.notes), Array(repeating: "two lrs, two seeds", count: 4))
        XCTAssertFalse(try store.runs()[0].config.contains("sweep"), "tags are not part of the config")

        XCTAssertEqual(try trainlab(["tag", "1", "baseline"] + db).status, 0)
        XCTAssertEqual(try trainlab(["note", "2", "seed", "1", "is", "faster"] + db).status, 0)
        let tagged = try trainlab(["list", "--tag", "baseline"] + db)
        XCTAssertEqual(tagged.standardOutput.split(separator: "\n").count, 2, tagged.standardOutput)
        XCTAssertTrue(tagged.standardOutput.contains("baseline,sweep"), tagged.standardOutput)
        let shown = try trainlab(["show", "2"] + db).standardOutput
        XCTAssertTrue(shown.contains("notes        seed 1 is faster"), shown)
        XCTAssertTrue(shown.contains("tags         sweep"), shown)

        // list --sort: the lowest val_loss first; best names the same run.
        let bestID = try store.bestRun(experiment: "nb").run.run.id
        let sorted = try trainlab(["list", "nb", "--sort", "val_loss", "--limit", "1"] + db).standardOutput
        XCTAssertTrue(sorted.split(separator: "\n")[1].hasPrefix(String(format: "%2d ", bestID)), sorted)
        let best = try trainlab(["best", "nb", "--json"] + db)
        XCTAssertEqual(best.status, 0, best.standardError)
        XCTAssertTrue(best.standardOutput.contains("\"run\": \(bestID),"), best.standardOutput)
        XCTAssertTrue(best.standardOutput.contains("\"config\": {"), best.standardOutput)

        let grid = try trainlab(["compare", "nb", "--by", "optimizer.lr", "--pivot", "seed"] + db)
        XCTAssertEqual(grid.status, 0, grid.standardError)
        XCTAssertTrue(grid.standardOutput.contains("optimizer.lr  "), grid.standardOutput)
        XCTAssertTrue(grid.standardOutput.contains("seed=0") && grid.standardOutput.contains("seed=1"), grid.standardOutput)
        XCTAssertTrue(grid.standardOutput.contains(" *"), grid.standardOutput)
        XCTAssertTrue(try trainlab(["compare", "nb", "--by", "seed"] + db).standardOutput.contains("best run"))

        let wide = try trainlab(["export", "nb", "--wide"] + db)
        let lines = wide.standardOutput.split(separator: "\n")
        XCTAssertEqual(lines.count, 5)
        XCTAssertTrue(lines[0].hasPrefix("id,experiment,status,seed,tags,superseded_by,"), String(lines[0]))
        XCTAssertTrue(lines[0].contains(",optimizer.lr,") && lines[0].contains(",val_loss.final,val_loss.best"), String(lines[0]))

        let report = folder.appendingPathComponent("nb.html").path
        XCTAssertEqual(try trainlab(["report", "nb", "--by", "optimizer.lr", "--pivot", "seed", "-o", report] + db).status, 0)
        let html = try String(contentsOfFile: report, encoding: .utf8)
        XCTAssertEqual(html.components(separatedBy: "<rect class=\"cell\"").count - 1, 4, "a 2 × 2 heatmap")
        XCTAssertTrue(html.contains("seed 1 is faster"), "the report shows notes")

        // delete: asks, refuses without a terminal, and removes only the named run.
        let unconfirmed = try trainlab(["delete", "3"] + db)
        XCTAssertEqual(unconfirmed.status, 2)
        XCTAssertTrue(unconfirmed.standardOutput.contains("will delete 1 run (nb: 3)"), unconfirmed.standardOutput)
        XCTAssertEqual(try store.runs().count, 4)
        XCTAssertEqual(try trainlab(["delete", "3", "--yes"] + db).status, 0)
        XCTAssertEqual(try store.runs().map(\.id), [1, 2, 4])
        XCTAssertEqual(try store.query("SELECT count(*) FROM metrics WHERE run_id = 3").rows, [[.integer(0)]])

        XCTAssertEqual(try trainlab(["rename", "nb", "nb2"] + db).status, 0)
        XCTAssertEqual(try store.runs(experiment: "nb2").map(\.id), [1, 2, 4])
        let across = try trainlab(["compare", "nb2", "nb2", "--by", "experiment"] + db)
        XCTAssertEqual(across.status, 0, across.standardError)
    }
}
