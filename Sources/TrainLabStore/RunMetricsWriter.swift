/// Appends one run's metrics to a `ResultsStore` (the shape of the runner's `MetricsSink`,
/// which the command line conforms it to).
///
/// Rows are buffered by the store. A failed write (a full disk) is kept as `failure`, which the
/// runner checks each step, so `log` itself need not throw.
public struct RunMetricsWriter: Sendable {
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

    public var failure: (any Error)? { store.writeFailure }

    public func checkpoint(step: Int, state: [UInt8]) throws {
        try store.saveState(runID: runID, step: step, state: state)
    }
}

