import XCTest
import Foundation
import TrainLabStore

/// Sweeping whole catalogue objects: `list`, `compare --by optimizer` and `benchmark` show only
/// the params that tell the runs apart, qualified (`optimizer.momentum=0.9`), by one rule
/// (`ResultsStore.distinguishingParams`).
final class SweepLabelTests: XCTestCase {
    func trainlab(_ arguments: [String]) throws -> TrainlabOutcome { try runTrainlab(arguments, in: self) }

    /// The last column of each data line of a table.
    private func cells(after header: String, in output: String) -> [String] {
        let lines = output.split(separator: "\n").map(String.init)
        guard let head = lines.first(where: { $0.contains(header) }), let start = head.range(of: header)?.lowerBound else { return [] }
        let column = head.distance(from: head.startIndex, to: start)
        return lines.drop { $0 != head }.dropFirst().map { String($0.dropFirst(column)).trimmingCharacters(in: .whitespaces) }
    }

    /// adam beside a lone sgd with momentum 0.9: adam's betas and eps and sgd's dampening and
    /// nesterov say nothing the kind does not; sgd's momentum 0.9 is not sgd's default (0), so
    /// it shows although no other sgd run differs in it.
    func testListAndCompareShowOnlyWhatTellsTheOptimizersApart() throws {
        let spec = try specFile("""
            {"name": "objects", "task": {"kind": "blobs", "train_size": 64, "val_size": 32},
             "model": {"hidden": [4]}, "loss": "cross_entropy", "optimizer": "sgd",
             "training": {"steps": 4, "batch_size": 32, "eval_every": 4},
             "sweep": {"optimizer": [{"kind": "adam", "lr": 0.003}, {"kind": "sgd", "lr": 0.05, "momentum": 0.9}]}}
            """)
        let db = ["--db", URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("o.sqlite").path]
        XCTAssertEqual(try trainlab(["run", spec, "--quiet"] + db).status, 0)

        let list = try trainlab(["list"] + db)
        XCTAssertEqual(list.status, 0, list.standardError)
        XCTAssertEqual(cells(after: "params", in: list.standardOutput),
                       ["optimizer.kind=adam optimizer.lr=0.003", "optimizer.kind=sgd optimizer.lr=0.05 optimizer.momentum=0.9"])

        let compare = try trainlab(["compare", "objects", "--by", "optimizer"] + db)
        XCTAssertEqual(compare.status, 0, compare.standardError)
        let labels = compare.standardOutput.split(separator: "\n").dropFirst(2).map { line in
            line.components(separatedBy: "  ").first!
        }
        XCTAssertEqual(labels, ["optimizer.kind=adam optimizer.lr=0.003", "optimizer.kind=sgd optimizer.lr=0.05 optimizer.momentum=0.9"])
    }

    /// `benchmark`'s best setting: the tuned lr and the fixed momentum, no default (dampening,
    /// nesterov, weight_decay) and no `adam` betas.
    func testBenchmarkBestSettingShowsOnlyWhatDiffers() throws {
        let spec = try specFile("""
            {"name": "bm-labels", "task": {"kind": "blobs", "train_size": 64, "val_size": 32},
             "model": {"hidden": [4]}, "loss": "cross_entropy",
             "training": {"steps": 4, "batch_size": 64, "eval_every": 4},
             "benchmark": {
               "optimizers": {"momentum": {"kind": "sgd", "momentum": 0.9, "lr": {"log_uniform": [1e-3, 1]}},
                              "adam": {"kind": "adam", "lr": 0.01}},
               "problems": {"blobs": {}}, "budget": 2, "seeds": 1}}
            """)
        let db = ["--db", URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("bm.sqlite").path]
        let ran = try trainlab(["run", spec, "--quiet"] + db)
        XCTAssertEqual(ran.status, 0, ran.standardError)
        let table = try trainlab(["benchmark", "bm-labels"] + db)
        XCTAssertEqual(table.status, 0, table.standardError)
        let rows = table.standardOutput.split(separator: "\n").map(String.init)
        let adam = try XCTUnwrap(rows.first { $0.contains(" adam ") })
        XCTAssertTrue(adam.contains(": optimizer.kind=adam optimizer.lr=0.01 "), adam)
        let momentum = try XCTUnwrap(rows.first { $0.contains(" momentum ") })
        XCTAssertNotNil(momentum.range(of: #": optimizer\.kind=sgd optimizer\.lr=[0-9.e-]+ optimizer\.momentum=0\.9 "#,
                                       options: .regularExpression), momentum)
        // The rows' best settings, not the whole output: "steps" (the tuning-cost table) holds "eps".
        for noise in ["dampening", "nesterov", "betas", "eps", "weight_decay"] {
            for row in [adam, momentum] { XCTAssertFalse(row.contains(noise), "\(noise) is a default: \(row)") }
        }
    }
}

/// `show`'s summaries give a best value only where one means something.
final class ShowBestTests: XCTestCase {
    func testShowGivesNoBestForLearningRateGradientNormOrTime() throws {
        let spec = try specFile("""
            {"name": "best", "task": {"kind": "blobs", "train_size": 64, "val_size": 32}, "model": {"hidden": [4]},
             "loss": "cross_entropy", "optimizer": {"kind": "sgd", "lr": 0.1},
             "schedule": {"kind": "cosine"}, "training": {"steps": 4, "batch_size": 32, "eval_every": 2}}
            """)
        let db = ["--db", URL(fileURLWithPath: spec).deletingLastPathComponent().appendingPathComponent("b.sqlite").path]
        XCTAssertEqual(try runTrainlab(["run", spec, "--quiet"] + db, in: self).status, 0)
        let shown = try runTrainlab(["show", "1"] + db, in: self)
        XCTAssertEqual(shown.status, 0, shown.standardError)
        let rows = Dictionary(shown.standardOutput.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            .filter { $0.count == 4 }.map { ($0[0], $0) }, uniquingKeysWith: { a, _ in a })
        for name in ["lr", "grad_norm", "time"] {
            let row = try XCTUnwrap(rows[name], "\(name) in \(shown.standardOutput)")
            XCTAssertEqual(Array(row[2...]), ["-", "-"], "\(name): \(row)")
        }
        for name in ["train_loss", "val_loss", "val_accuracy"] {
            let row = try XCTUnwrap(rows[name], "\(name) in \(shown.standardOutput)")
            XCTAssertNotEqual(row[2], "-", name)
            XCTAssertNotNil(Int(row[3]), "\(name) has a best step")
        }
    }
}

/// The help of `compare` and `best` names the default metric as `ResultsStore.defaultMetric`
/// picks it: val_ndcg first (ranking runs).
final class DefaultMetricHelpTests: XCTestCase {
    func testCompareAndBestHelpNameValNDCG() throws {
        XCTAssertEqual(ResultsStore.defaultMetric(among: ["val_ndcg", "val_loss", "train_loss"]), "val_ndcg")
        for command in ["compare", "best"] {
            let help = try runTrainlab(["help", command], in: self)
            XCTAssertEqual(help.status, 0, help.standardError)
            XCTAssertTrue(help.standardOutput.contains("(default val_ndcg for ranking runs, else val_loss when logged, else train_loss)"),
                          "\(command): \(help.standardOutput)")
        }
    }
}
