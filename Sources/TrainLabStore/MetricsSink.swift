/// Where training code sends scalar metrics; it never sees SQLite.
public protocol MetricsSink {
    /// Records `value` of metric `name` (e.g. `train_loss`) at update `step`.
    func log(step: Int, name: String, value: Double)
    /// Makes what was logged so far durable (the runner calls it after each evaluation).
    func flush()
}

extension MetricsSink {
    public func flush() {}
}

/// The `MetricsSink` of one run in a `ResultsStore`.
///
/// Rows are buffered by the store. A failed flush keeps them buffered for the next flush, and
/// `ResultsStore.finishRun` or `flush` then throws, so `log` itself need not.
public struct RunMetricsWriter: MetricsSink, Sendable {
    public let store: ResultsStore
    public let runID: Int64

    public init(store: ResultsStore, runID: Int64) {
        self.store = store
        self.runID = runID
    }

    public func log(step: Int, name: String, value: Double) {
        try? store.appendMetric(runID: runID, step: step, name: name, value: value)
    }

    public func flush() {
        try? store.flush()
    }
}

/// Keeps metrics in memory; for tests of training code.
public final class MemoryMetricsSink: MetricsSink {
    public private(set) var entries: [(step: Int, name: String, value: Double)] = []

    public init() {}

    public func log(step: Int, name: String, value: Double) {
        entries.append((step, name, value))
    }

    /// The (step, value) pairs logged under `name`, in logging order.
    public func values(_ name: String) -> [(step: Int, value: Double)] {
        entries.filter { $0.name == name }.map { ($0.step, $0.value) }
    }
}
