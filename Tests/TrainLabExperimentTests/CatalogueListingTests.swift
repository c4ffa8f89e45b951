import XCTest
import TrainLabSpec
@testable import TrainLabExperiment

/// `trainlab catalog` comes from the catalogue's tables, and the tables of docs/specs.md name the same set.
final class CatalogueListingTests: XCTestCase {
    func catalogue(_ kind: String) -> Set<String> { Set(CatalogueListing.entries(kind).map(\.name)) }

    func testKeysAndDefaultsComeFromTheEntries() throws {
        let adam = try XCTUnwrap(CatalogueListing.entries("optimizers").first { $0.name == "adam" })
        XCTAssertEqual(adam.keys.map(\.key), ["lr", "betas", "eps", "weight_decay", "amsgrad"])
        XCTAssertEqual(adam.keys.first?.defaultValue, .number(1e-3))
        let step = try XCTUnwrap(CatalogueListing.entries("schedules").first { $0.name == "step" })
        XCTAssertEqual(step.required, ["step_size"])
        XCTAssertEqual(step.keys.last?.defaultValue, .number(0.1))
        let focal = try XCTUnwrap(CatalogueListing.entries("losses").first { $0.name == "focal" })
        XCTAssertEqual(focal.keys.map(\.key), ["gamma", "alpha"], "an optional key is listed with null")
        for kind in CatalogueListing.kinds {
            for entry in CatalogueListing.entries(kind) {
                XCTAssertFalse(entry.doc.isEmpty || entry.doc.contains("\n"), "\(kind) \(entry.name): one line of doc")
            }
        }
    }

    /// The names in docs/specs.md's catalogue tables: the task tables and the `task.kind` row, the
    /// loss and optimizer tables, and the activation, norm, init and schedule rows of the spec table.
    func testReadmeTablesNameTheCatalogue() throws {
        let readme = try String(contentsOf: URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/specs.md"), encoding: .utf8)
        let rows = readme.split(separator: "\n").map(String.init).filter { $0.hasPrefix("| ") }

        /// The cells of a table row (`\|` is a pipe inside a cell).
        func cells(_ row: String) -> [String] {
            row.replacingOccurrences(of: "\\|", with: "¦").split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        /// Backticked words outside parentheses: the names, not their options.
        func names(in cell: String) -> Set<String> {
            var depth = 0, outside = ""
            for c in cell {
                if c == "(" { depth += 1 } else if c == ")" { depth = max(0, depth - 1) } else if depth == 0 { outside.append(c) }
            }
            let parts = outside.split(separator: "`", omittingEmptySubsequences: false)
            return Set(stride(from: 1, to: parts.count, by: 2).map { String(parts[$0]) })
        }
        func specRow(_ key: String) throws -> Set<String> {
            let row = try XCTUnwrap(rows.first { cells($0).first == "`\(key)`" }, key)
            return names(in: cells(row)[2])
        }
        /// First cells of the rows of every table whose header starts with `header`.
        func firstColumn(_ header: String) -> Set<String> {
            var out: Set<String> = [], inTable = false
            for line in readme.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
                if line.hasPrefix("| \(header) |") { inTable = true; continue }
                guard inTable, line.hasPrefix("|") else { inTable = false; continue }
                if line.hasPrefix("| ---") { continue }
                out.formUnion(names(in: cells(line)[0]))
            }
            return out
        }

        XCTAssertEqual(try specRow("task.kind"), catalogue("tasks"))
        XCTAssertEqual(firstColumn("task"), catalogue("tasks").subtracting(["file"]))
        XCTAssertEqual(firstColumn("loss"), catalogue("losses"))
        XCTAssertEqual(firstColumn("optimizer"), catalogue("optimizers"))
        XCTAssertEqual(try specRow("model.activation"), catalogue("activations"))
        XCTAssertEqual(try specRow("model.norm"), catalogue("norms"))
        XCTAssertEqual(try specRow("model.init.weight`, `model.init.bias"), catalogue("initializers"))
        XCTAssertEqual(try specRow("schedule"), catalogue("schedules"))
    }

    /// Every name a spec accepts is listed: each spec position that takes a name is given an
    /// unknown one, and every name its error offers (`one of: ...`) must be in `catalog`.
    func testEveryNameASpecAcceptsIsListed() throws {
        let listed = Set(CatalogueListing.kinds.flatMap { kind in CatalogueListing.entries(kind).map(\.name) })
        let base = #""name": "x", "loss": "cross_entropy", "optimizer": "adam""#
        let mlp = #""task": "spirals", "model": {"kind": "mlp", "#
        let transformer = #""task": "copy", "model": {"kind": "transformer", "#
        let probes = [
            "{\(base), \(mlp)\"activation\": \"zzz\"}}",
            "{\(base), \(transformer)\"activation\": \"zzz\"}}",
            "{\(base), \(transformer)\"positional\": \"zzz\"}}",
            "{\(base), \(mlp)\"norm\": \"zzz\"}}",
            "{\(base), \(mlp)\"norm\": {\"kind\": \"layernorm\", \"placement\": \"zzz\"}}}",
            "{\(base), \(mlp)\"init\": {\"weight\": \"zzz\"}}}",
            #"{"name": "x", "task": "spirals", "loss": "zzz", "optimizer": "adam"}"#,
            #"{"name": "x", "task": "spirals", "loss": "cross_entropy", "optimizer": "zzz"}"#,
            #"{"name": "x", "task": "zzz", "loss": "cross_entropy", "optimizer": "adam"}"#,
            #"{"name": "x", "task": "spirals", "model": "zzz", "loss": "cross_entropy", "optimizer": "adam"}"#,
            "{\(base), \"task\": \"spirals\", \"schedule\": \"zzz\"}",
            "{\(base), \"task\": \"spirals\", \"constraints\": [{\"kind\": \"zzz\", \"max\": 1}]}",
            "{\(base), \"task\": \"spirals\", \"training\": {\"precision\": \"zzz\"}}",
        ]
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var offered: Set<String> = []
        for (index, probe) in probes.enumerated() {
            let file = folder.appendingPathComponent("\(index).json")
            try Data(probe.utf8).write(to: file)
            XCTAssertThrowsError(try ExperimentSpec.load(file: file.path), probe) { error in
                let message = "\(error)"
                guard let range = message.range(of: "one of: ") else { return XCTFail("no list of names in: \(message)") }
                let names = message[range.upperBound...].prefix { $0 != ")" }.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                XCTAssertFalse(names.isEmpty, message)
                for name in names { XCTAssertTrue(listed.contains(name), "\(name) is accepted (\(message)) but `catalog` does not list it") }
                offered.formUnion(names)
            }
        }
        XCTAssertTrue(offered.isSuperset(of: ["glu", "swiglu", "geglu", "pre", "post", "deepnorm", "weight_norm", "bf16", "rope"]))
    }
}
