import XCTest
import Foundation

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

        // What merge and status read.
        let globs = commands.filter { $0.hasPrefix("trainlab merge ") || $0.hasPrefix("trainlab status ") }
            .flatMap { words($0).filter { $0.contains("*") } }
        XCTAssertEqual(globs.count, 2, "\(commands)")
        for glob in globs {
            for name in written { XCTAssertEqual(fnmatch(glob, name, 0), 0, "\(glob) misses \(name)") }
        }
        // The Kubernetes example writes the same names.
        XCTAssertTrue(text.contains("\"--db\", \"/work/results/sweep-shard-{shard}.sqlite\""))
    }
}
