/// Where training code sends scalar metrics; it never sees SQLite (the command line wires a
/// results store in).
public protocol MetricsSink {
    /// Records `value` of metric `name` (e.g. `train_loss`) at update `step`.
    func log(step: Int, name: String, value: Double)
    /// Makes what was logged so far durable (the runner calls it after each evaluation).
    func flush()
    /// Why logged values could not be kept (e.g. a full disk): the run ends with it.
    var failure: (any Error)? { get }
}

extension MetricsSink {
    public func flush() {}
    public var failure: (any Error)? { nil }
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
