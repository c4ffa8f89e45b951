import Foundation
import TrainLabSpec
import TrainLabStore

// The commands that organise the results database: tag, note, delete, rename (which write it)
// and best (which reads it).

/// The runs a command-line word names: a number that is a run's id is that run; anything else,
/// or a number that is no run's id, is an experiment (every run of it, superseded ones too).
func resolveRunIDs(_ target: String, in store: ResultsStore, databasePath: String) throws -> [Int64] {
    if let id = Int64(target), try store.runs().contains(where: { $0.id == id }) { return [id] }
    let ids = try store.runs(experiment: target).map(\.id)
    if ids.isEmpty {
        if let id = Int64(target) { throw ResultsQueryError.unknownRun(id: id, path: databasePath) }
        throw ResultsQueryError.unknownExperiment(name: target, known: try store.experimentNames())
    }
    return ids
}

/// `1 run` / `3 runs`.
func runCount(_ count: Int) -> String { "\(count) run\(count == 1 ? "" : "s")" }

/// `trainlab tag RUN|EXPERIMENT TAG... [--remove] [--db PATH]`.
enum TagCommand {
    static func run(_ arguments: inout Arguments) throws {
        let databasePath = try arguments.option("--db") ?? defaultDatabasePath
        let remove = arguments.flag("--remove")
        guard let target = arguments.next() else { throw UsageError("tag needs a run id or an experiment, then tags") }
        var tags: [String] = []
        while let tag = arguments.next() { tags.append(tag) }
        try arguments.finish()
        guard !tags.isEmpty else { throw UsageError("tag needs at least one tag after \(target)") }
        if let problem = tags.lazy.compactMap(RunTag.problem).first { throw UsageError(problem) }
        let store = try ResultsStore.openForWriting(path: databasePath)
        let ids = try resolveRunIDs(target, in: store, databasePath: databasePath)
        if remove {
            let removed = try store.removeTags(tags, from: ids)
            print("removed \(removed) tag\(removed == 1 ? "" : "s") from \(runCount(ids.count))")
        } else {
            try store.addTags(tags, to: ids)
            print("tagged \(runCount(ids.count)) \(tags.joined(separator: " "))")
        }
    }
}

/// `trainlab note RUN TEXT [--db PATH]`: sets the run's notes; empty TEXT clears them.
enum NoteCommand {
    static func run(_ arguments: inout Arguments) throws {
        let databasePath = try arguments.option("--db") ?? defaultDatabasePath
        guard let idText = arguments.next(), let first = arguments.next() else { throw UsageError("note needs a run id and the text") }
        var words = [first]
        while let word = arguments.next() { words.append(word) }
        try arguments.finish()
        let runID = try parseRunID(idText)
        let store = try ResultsStore.openForWriting(path: databasePath)
        _ = try store.run(id: runID)
        let text = words.joined(separator: " ")
        try store.setNotes(text.isEmpty ? nil : text, runID: runID)
        print(text.isEmpty ? "cleared the notes of run \(runID)" : "noted run \(runID)")
    }
}

/// `trainlab delete RUN...|EXPERIMENT [--yes] [--db PATH]`: says what it will remove, asks on a
/// terminal unless `--yes`, and refuses (exit 2) without `--yes` when stdin is not a terminal.
enum DeleteCommand {
    static func run(_ arguments: inout Arguments) throws {
        let databasePath = try arguments.option("--db") ?? defaultDatabasePath
        let confirmed = arguments.flag("--yes")
        var targets: [String] = []
        while let target = arguments.next() { targets.append(target) }
        try arguments.finish()
        guard !targets.isEmpty else { throw UsageError("delete needs run ids or an experiment") }
        let store = try ResultsStore.openForWriting(path: databasePath)
        var ids: [Int64] = []
        for target in targets {
            for id in try resolveRunIDs(target, in: store, databasePath: databasePath) where !ids.contains(id) { ids.append(id) }
        }
        let plan = try store.deletionPlan(ids)
        let runs = try store.runs().filter { ids.contains($0.id) }
        let byExperiment = Dictionary(grouping: runs, by: \.experiment).sorted { $0.key < $1.key }
        print("will delete \(runCount(ids.count)) ("
              + byExperiment.map { "\($0.key): \($0.value.map { String($0.id) }.joined(separator: ", "))" }.joined(separator: "; ")
              + ") and their rows: " + plan.map { "\($0.table) \($0.rows)" }.joined(separator: ", "))
        if !confirmed {
            guard isatty(STDIN_FILENO) != 0 else {
                throw UsageError("delete asks before deleting, and stdin is not a terminal: add --yes to delete")
            }
            FileHandle.standardOutput.write(Data("delete? [y/N] ".utf8))
            guard let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased(), ["y", "yes"].contains(answer) else {
                print("nothing deleted")
                return
            }
        }
        try store.deleteRuns(ids)
        print("deleted \(runCount(ids.count))")
    }
}

/// `trainlab rename EXPERIMENT NEW [--db PATH]`.
enum RenameCommand {
    static func run(_ arguments: inout Arguments) throws {
        let databasePath = try arguments.option("--db") ?? defaultDatabasePath
        guard let name = arguments.next(), let newName = arguments.next() else {
            throw UsageError("rename needs the experiment and its new name")
        }
        try arguments.finish()
        guard !newName.isEmpty else { throw UsageError("the new name may not be empty") }
        let store = try ResultsStore.openForWriting(path: databasePath)
        let count = try store.renameExperiment(name, to: newName)
        print("renamed \(name) to \(newName) (\(runCount(count)))")
    }
}

/// `trainlab best EXPERIMENT [--metric M] [--best min|max] [--json] [--db PATH]`: the best
/// completed run's id, final metric and resolved config.
enum BestCommand {
    static func run(_ arguments: inout Arguments) throws {
        let databasePath = try arguments.option("--db") ?? defaultDatabasePath
        let metric = try arguments.option("--metric")
        let direction = try arguments.option("--best").map(parseDirection)
        let json = arguments.flag("--json")
        guard let experiment = arguments.next() else { throw UsageError("best needs an experiment") }
        try arguments.finish()
        let store = try ResultsStore.openForReading(path: databasePath)
        let best = try store.bestRun(experiment: experiment, metric: metric, direction: direction)
        let config = (try? JSONParser.parse(best.run.run.config, file: "config").root) ?? .string(best.run.run.config)
        if json {
            var object = JSONObject()
            object["run"] = .number(Double(best.run.run.id))
            object["experiment"] = .string(experiment)
            object["metric"] = .string(best.metric)
            object["value"] = .number(best.value)
            object["config"] = config
            print(JSONWriter.write(.object(object), pretty: true))
            return
        }
        let end = (direction ?? .preferred(for: best.metric)) == .min ? "lowest" : "highest"
        print("run \(best.run.run.id) of \(experiment): final \(best.metric) \(formatMetric(best.value)), the "
              + "\(end) of \(best.candidates) completed run\(best.candidates == 1 ? "" : "s")")
        print(JSONWriter.write(config, pretty: true, sortedKeys: true))
    }
}

/// `--best min|max`.
func parseDirection(_ text: String) throws -> MetricDirection {
    guard let direction = MetricDirection(rawValue: text) else { throw UsageError("--best expects min or max, got '\(text)'") }
    return direction
}
