import Foundation

/// A reading request the database cannot answer: a bad input (exit status 2), not a failure.
public enum ResultsQueryError: Error, CustomStringConvertible, Sendable, Equatable {
    case missingDatabase(path: String)
    case unreadableDatabase(path: String, reason: String)
    /// The database cannot be created or opened for writing where the path points.
    case unwritableDatabase(path: String, reason: String)
    case unknownRun(id: Int64, path: String)
    case unknownExperiment(name: String, known: [String])
    case unknownParamKey(key: String, experiment: String, known: [String])
    case unknownMetric(name: String, experiment: String, known: [String])
    /// SQL that does not prepare or run, or that would write.
    case invalidQuery(reason: String)
    /// A run that is still training cannot be deleted.
    case liveRun(id: Int64, pid: Int?, host: String?)
    case experimentExists(name: String)
    /// No run of the experiment completed with a finite value of the metric.
    case noCompletedRun(experiment: String, metric: String)
    /// The experiment has no final runs of a `benchmark` spec.
    case noBenchmarkRuns(experiment: String)

    public var description: String {
        switch self {
        case .missingDatabase(let path):
            return "no results database at \(path) (trainlab run SPEC.json --db \(path) creates one)"
        case .unreadableDatabase(let path, let reason):
            return "cannot read the results database \(path): \(reason)"
        case .unwritableDatabase(let path, let reason):
            return "cannot write the results database \(path): \(reason)"
        case .unknownRun(let id, let path):
            return "no run with id \(id) in \(path)"
        case .unknownExperiment(let name, let known):
            return "no experiment '\(name)'; " + Self.listing("experiments", known)
        case .unknownParamKey(let key, let experiment, let known):
            return "no param '\(key)' in the runs of \(experiment); " + Self.listing("params", known)
        case .unknownMetric(let name, let experiment, let known):
            return "no metric '\(name)' in the runs of \(experiment); " + Self.listing("metrics", known)
        case .invalidQuery(let reason):
            return "query: \(reason)"
        case .liveRun(let id, let pid, let host):
            return "run \(id) is running (process \(pid.map(String.init) ?? "?") on \(host ?? "?")); stop it first"
        case .experimentExists(let name):
            return "there is already an experiment '\(name)'"
        case .noCompletedRun(let experiment, let metric):
            return "no completed run of \(experiment) has a final \(metric)"
        case .noBenchmarkRuns(let experiment):
            return "experiment '\(experiment)' has no final benchmark runs (`trainlab run` on its spec tunes, then runs them)"
        }
    }

    private static func listing(_ what: String, _ names: [String]) -> String {
        guard !names.isEmpty else { return "there are no \(what)" }
        let shown = names.prefix(40).joined(separator: ", ")
        return "\(what): \(shown)\(names.count > 40 ? ", ..." : "")"
    }
}
