import Foundation
import XCTest
@testable import trainlab
@testable import TrainLabStore

/// An adaptive search trained one rung at a time by separate processes (`run --rung R --shard
/// K/N --from MERGED`, then `merge --expect --rung R`), as `trainlab slurm`'s per-rung array jobs
/// do, without SLURM: the merged database equals the search run on one machine.
final class ClusterRungTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ClusterRungTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    private func trainlab(_ arguments: [String]) throws -> TrainlabOutcome {
        try runTrainlab(arguments, in: self)
    }

    /// AdaptiveSearchRunTests' search: 9 trials, η = 3, rungs at steps 10, 30, 90.
    private func writeSearch(_ mode: String? = nil) throws -> String {
        var spec = AdaptiveSearchRunTests.halvingSpec
        if let mode {
            spec = spec.replacingOccurrences(of: #""sweep_mode": {"successive_halving": {"trials": 9, "min_steps": 10, "eta": 3, "metric": "val_loss"}}"#,
                                             with: #""sweep_mode": "# + mode)
        }
        try spec.write(toFile: path("search.json"), atomically: true, encoding: .utf8)
        return path("search.json")
    }

    /// Per config hash: status, every metric but `time` (value bits) and the `search.*` params.
    static func searchResults(_ database: String) throws -> [String: [String]] {
        let store = try ResultsStore(path: database, readOnly: true)
        var result = try ClusterCommandTests.metricsByConfig(database)
        for run in try store.runs() where run.supersededBy == nil {
            let params = try store.params(runID: run.id).filter { $0.key.hasPrefix("search.") }
            result[run.configHash!, default: []] += ["status \(run.status.rawValue)"] + params.keys.sorted().map { "\($0)=\(params[$0]!)" }
        }
        return result
    }

    /// Rungs 0, 1, 2, each by two shards into databases of their own and merged: the merged
    /// database holds the same trials, statuses, metrics (bit for bit) and fates as one `run`.
    func testRungsTrainedByShardsAndMergedEqualTheSearchOnOneMachine() throws {
        let spec = try writeSearch()
        let one = try trainlab(["run", spec, "--db", path("one.sqlite"), "--quiet"])
        XCTAssertEqual(one.status, 0, one.standardError)
        var trained: [[Int]] = []
        for rung in 0..<3 {
            var counts: [Int] = []
            for shard in 0..<2 {
                let task = try trainlab(["run", spec, "--rung", "\(rung)", "--shard", "\(shard)/2", "--from", path("out.sqlite"),
                                         "--db", path("rung-\(rung)-shard-{shard}.sqlite")])
                XCTAssertEqual(task.status, 0, task.standardError)
                counts.append(try ResultsStore(path: path("rung-\(rung)-shard-\(shard).sqlite"), readOnly: true).runs().count)
            }
            trained.append(counts)
            let merge = try trainlab(["merge", path("out.sqlite"), path("rung-\(rung)-shard-0.sqlite"), path("rung-\(rung)-shard-1.sqlite"),
                                      "--expect", spec, "--rung", "\(rung)"])
            XCTAssertEqual(merge.status, 0, merge.standardOutput + merge.standardError)
            XCTAssertTrue(merge.standardOutput.contains("search \(spec): every trial has its result at rungs 0...\(rung)"), merge.standardOutput)
        }
        // 9 trials at rung 0 (5 + 4), 3 at rung 1, 1 at rung 2: a shard holds only what it trained.
        XCTAssertEqual(trained, [[5, 4], [2, 1], [1, 0]])
        let merged = try Self.searchResults(path("out.sqlite"))
        XCTAssertEqual(merged.count, 9)
        XCTAssertEqual(merged.values.filter { $0.contains("status completed") }.count, 1)
        XCTAssertEqual(merged, try Self.searchResults(path("one.sqlite")))
        let full = try trainlab(["merge", path("again.sqlite"), path("out.sqlite"), "--expect", spec])
        XCTAssertEqual(full.status, 0, full.standardOutput)
    }

    /// The rung decision in-process from a finished search's database: the trials alive at each
    /// rung are those the one-machine search trained there (`search.rung`); a trial whose rung-0
    /// value is erased (NULL: as diverged) gives its place to the next best.
    func testTheTrialsAliveAtARungAreDecidedFromTheDatabase() throws {
        let spec = try writeSearch()
        XCTAssertEqual(try trainlab(["run", spec, "--db", path("one.sqlite"), "--quiet"]).status, 0)
        let trials = try loadAll([spec], database: path("one.sqlite"))[0].1
        func search(_ database: String) throws -> (AdaptiveSearchRun, ResultsStore) {
            let store = try ResultsStore(path: database)
            return (AdaptiveSearchRun(trials: trials, store: store, database: database, force: false, quiet: true, jobs: .count(1)), store)
        }
        let (run, store) = try search(path("one.sqlite"))
        // trial number → rung reached and rung-0 val_loss, from the database itself.
        var reached: [Int: Int] = [:], atTen: [Int: Double] = [:], runIDs: [Int: Int64] = [:]
        for record in try store.runs() {
            let params = try store.params(runID: record.id)
            let trial = Int(params["search.trial"]!)!
            reached[trial] = Int(params["search.rung"]!)!
            runIDs[trial] = record.id
            atTen[trial] = try store.metrics(runID: record.id, name: "val_loss").last { $0.step <= 10 }!.value
        }
        for rung in 0..<3 {
            XCTAssertEqual(try run.alive(at: rung, decidingFrom: store), reached.keys.filter { reached[$0]! >= rung }.sorted(), "rung \(rung)")
        }
        XCTAssertEqual(try run.alive(at: 1, decidingFrom: nil), [], "nothing recorded: nothing promoted")
        XCTAssertTrue(try run.unfinished(throughRung: 2, in: store).isEmpty)

        let byValue = atTen.keys.sorted { atTen[$0]! < atTen[$1]! }
        XCTAssertEqual(Array(byValue.prefix(3)).sorted(), try run.alive(at: 1, decidingFrom: store))
        try FileManager.default.copyItem(atPath: path("one.sqlite"), toPath: path("erased.sqlite"))
        let (erasedRun, erased) = try search(path("erased.sqlite"))
        try erased.database.run("UPDATE metrics SET value = NULL WHERE run_id = ? AND name = 'val_loss' AND step = 10",
                                [.integer(runIDs[byValue[0]]!)])
        XCTAssertEqual(try erasedRun.alive(at: 1, decidingFrom: erased), Array(byValue[1...3]).sorted())
        // Rung 1's trials then lack the one promoted in its place: the check names it.
        let missing = try erasedRun.unfinished(throughRung: 2, in: erased)
        XCTAssertEqual(missing.map(\.trial), [byValue[3]])
        XCTAssertEqual(missing.first?.rung, 1)
        XCTAssertEqual(missing.first?.found, "interrupted at rung 0")
    }

    /// A rung's merge names a trial without its result (a shard's database missing) and exits 1;
    /// the next rung then cannot be decided from a database that does not exist (exit 2).
    func testARungMergeNamesTheTrialsWithoutTheirResult() throws {
        let spec = try writeSearch()
        let task = try trainlab(["run", spec, "--rung", "0", "--shard", "0/2", "--from", path("out.sqlite"),
                                 "--db", path("rung-0-shard-{shard}.sqlite"), "--quiet"])
        XCTAssertEqual(task.status, 0, task.standardError)
        let merge = try trainlab(["merge", path("out.sqlite"), path("rung-0-shard-0.sqlite"), "--expect", spec, "--rung", "0"])
        XCTAssertEqual(merge.status, 1, merge.standardOutput)
        XCTAssertTrue(merge.standardOutput.contains("search \(spec): 4 trials without a result at rung 0"), merge.standardOutput)
        XCTAssertEqual(merge.standardOutput.components(separatedBy: "not completed: sh seed 0 [optimizer.lr=").count - 1, 4, merge.standardOutput)
        XCTAssertTrue(merge.standardOutput.contains("at rung 0: missing"), merge.standardOutput)

        let decided = try trainlab(["run", spec, "--rung", "1", "--from", path("none.sqlite"), "--db", path("r1.sqlite")])
        XCTAssertEqual(decided.status, 2)
        XCTAssertTrue(decided.standardError.hasPrefix("trainlab: --from \(path("none.sqlite")) does not exist: rung 1 is decided from"), decided.standardError)
        XCTAssertEqual(try trainlab(["run", spec, "--from", path("out.sqlite")]).status, 2, "--from without --rung")
        XCTAssertEqual(try trainlab(["merge", path("x.sqlite"), path("out.sqlite"), "--rung", "0"]).status, 2, "--rung without --expect")
    }

    /// `slurm` writes one array job and one merge per rung (array sizes from the most trials a
    /// rung can hold), chained rung after rung; TPE and ASHA are refused, saying why.
    func testSlurmWritesOneArrayAndOneMergePerRung() throws {
        let spec = try writeSearch()
        let outcome = try trainlab(["slurm", spec, "--shards", "2", "--db", path("out.sqlite"), "-o", path("search.sbatch")])
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        for (rung, tasks) in [(0, 2), (1, 2), (2, 1)] {
            let array = try String(contentsOfFile: path("search-rung-\(rung).sbatch"), encoding: .utf8)
            for line in ["#SBATCH --array=0-\(tasks - 1)", "#SBATCH --requeue", " --rung \(rung) --from '\(path("out.sqlite"))' --shard auto",
                         "--db '\(path("out-rung-\(rung)-shard-{shard}.sqlite"))'"] {
                XCTAssertTrue(array.contains(line), "\(line) in\n\(array)")
            }
            let merge = try String(contentsOfFile: path("search-rung-\(rung)-merge.sbatch"), encoding: .utf8)
            let shards = (0..<tasks).map { "'\(path("out-rung-\(rung)-shard-\($0).sqlite"))'" }.joined(separator: " ")
            XCTAssertTrue(merge.contains(" merge '\(path("out.sqlite"))' \(shards) \\"), merge)
            XCTAssertTrue(merge.contains("--expect '\(spec)' --rung \(rung)\n"), merge)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("search-rung-3.sbatch")))
        XCTAssertTrue(outcome.standardOutput.contains("--dependency=afterany:${a%%;*},afterok:${m%%;*} '\(path("search-rung-2-merge.sbatch"))'"),
                      outcome.standardOutput)

        for (mode, reason) in [(#"{"tpe": {"trials": 4, "startup": 2}}"#, "TPE proposes each trial from the results of the trials before it"),
                               (#"{"successive_halving": {"trials": 9, "min_steps": 10, "asynchronous": true}}"#, "asynchronous successive halving (ASHA)")] {
            let refused = try trainlab(["slurm", try writeSearch(mode), "--shards", "2", "--db", path("x.sqlite"), "-o", path("x.sbatch")])
            XCTAssertEqual(refused.status, 2)
            XCTAssertTrue(refused.standardError.hasPrefix("trainlab: \(path("search.json")): \(reason)"), refused.standardError)
            XCTAssertEqual(try trainlab(["run", path("search.json"), "--rung", "0", "--db", path("x.sqlite")]).status, 2)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x-rung-0.sbatch")))
    }
}
