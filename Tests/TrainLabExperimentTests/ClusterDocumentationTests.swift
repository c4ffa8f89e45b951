import XCTest
import Foundation
@testable import trainlab

/// docs/cluster.md's commands agree on the shards' names: every glob given to `merge` and
/// `status` matches the databases its `run --shard ... --db` template and `slurm --db` write.
final class ClusterDocumentationTests: XCTestCase {
    func testTheDocumentedShardNamesMatchWhatRunAndSlurmWrite() throws {
        let text = try String(contentsOf: SpecFuzzTests.repositoryRoot.appendingPathComponent("docs/cluster.md"), encoding: .utf8)
        let commands = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("trainlab ") }
        func words(_ line: String) -> [String] {
            line.split(separator: " ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "'")) }
        }
        func option(_ name: String, in line: String) -> String? {
            let w = words(line)
            return w.firstIndex(of: name).flatMap { w.indices.contains($0 + 1) ? w[$0 + 1] : nil }
        }

        // What the shards write: the run template with K = 3, and slurm's names, from the binary.
        var written: [String] = []
        let runLine = try XCTUnwrap(commands.first { $0.hasPrefix("trainlab run ") && $0.contains("--shard ") })
        written.append(try XCTUnwrap(option("--db", in: runLine)).replacingOccurrences(of: "{shard}", with: "3"))
        let slurmLine = try XCTUnwrap(commands.first { $0.hasPrefix("trainlab slurm ") })
        let merged = try XCTUnwrap(option("--db", in: slurmLine), "the slurm line names its database, as the others do")
        let folder = URL(fileURLWithPath: try specFile("{}")).deletingLastPathComponent()
        let script = folder.appendingPathComponent("s.sbatch").path
        let slurm = try runTrainlab(["slurm", SpecFuzzTests.repositoryRoot.appendingPathComponent("experiments/quickstart.json").path,
                                     "--shards", "4", "--db", folder.appendingPathComponent(merged).path, "-o", script], in: self)
        XCTAssertEqual(slurm.status, 0, slurm.standardError)
        let sbatch = try String(contentsOfFile: script, encoding: .utf8)
        let template = try XCTUnwrap(sbatch.range(of: #"[^ '"]*-shard-\{shard\}\.sqlite"#, options: .regularExpression).map { String(sbatch[$0]) },
                                     sbatch)
        written.append(String(template.dropFirst(folder.path.count + 1)).replacingOccurrences(of: "{shard}", with: "3"))
        XCTAssertEqual(written, ["results/sweep-shard-3.sqlite", "results/sweep-shard-3.sqlite"])

        // What merge and status read: a sweep's shards, and an adaptive search's rung R shards.
        let globs = commands.filter { $0.hasPrefix("trainlab merge ") || $0.hasPrefix("trainlab status ") }
            .flatMap { words($0).filter { $0.contains("*") } }
        let sweepGlobs = globs.filter { !$0.contains("-rung-") }, rungGlobs = globs.filter { $0.contains("-rung-") }
        XCTAssertEqual(sweepGlobs.count, 2, "\(commands)")
        for glob in sweepGlobs {
            for name in written { XCTAssertEqual(fnmatch(glob, name, 0), 0, "\(glob) misses \(name)") }
        }

        // A rung's tasks: the documented `run --rung R` template with R = 1, K = 3, and the name
        // slurm gives rung 1's shard 3 of the search database the slurm line names.
        let rungRun = try XCTUnwrap(commands.first { $0.hasPrefix("trainlab run ") && $0.contains("--rung ") })
        let rungSlurm = try XCTUnwrap(commands.first { $0.hasPrefix("trainlab slurm ") && $0.contains("search") })
        let searchDB = try XCTUnwrap(option("--db", in: rungSlurm))
        let rungWritten = [
            try XCTUnwrap(option("--db", in: rungRun)).replacingOccurrences(of: "{shard}", with: "3").replacingOccurrences(of: "-R-", with: "-1-"),
            String(SlurmCommand.rungShardDatabase(folder.appendingPathComponent(searchDB).path, rung: 1, shard: "3").dropFirst(folder.path.count + 1)),
        ]
        XCTAssertEqual(rungWritten, ["results/search-rung-1-shard-3.sqlite", "results/search-rung-1-shard-3.sqlite"])
        XCTAssertEqual(rungGlobs.count, 1, "\(commands)")
        for glob in rungGlobs {
            let rungOne = glob.replacingOccurrences(of: "-R-", with: "-1-")
            for name in rungWritten { XCTAssertEqual(fnmatch(rungOne, name, 0), 0, "\(glob) misses \(name)") }
        }
        // The Kubernetes example writes the same names.
        XCTAssertTrue(text.contains("\"--db\", \"/work/results/sweep-shard-{shard}.sqlite\""))
    }
}
