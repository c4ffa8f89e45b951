/// Where training code sends scalar metrics; it never sees SQLite (the command line wires a
/// results store in).
public protocol MetricsSink {
    /// Records `value` of metric `name` (e.g. `train_loss`) at update `step`.
    func log(step: Int, name: String, value: Double)
    /// Makes what was logged so far durable (the runner calls it after each evaluation).
    func flush()
    /// Why logged values could not be kept (e.g. a full disk): the run ends with it.
    var failure: (any Error)? { get }
    /// Makes the training state after update `step` durable together with every metric logged
    /// so far, in one write: a run resumes from it (`Runner.run(resumingFrom:)`).
    func checkpoint(step: Int, state: [UInt8]) throws
}

extension MetricsSink {
    public func flush() {}
    public var failure: (any Error)? { nil }
    /// A sink that keeps no training state: its runs cannot be resumed.
    public func checkpoint(step: Int, state: [UInt8]) throws {}
}

/// Keeps metrics in memory; for tests of training code.
public final class MemoryMetricsSink: MetricsSink {
    public private(set) var entries: [(step: Int, name: String, value: Double)] = []
    /// The latest checkpoint.
    public private(set) var savedState: (step: Int, state: [UInt8])? = nil

    public init() {}

    public func log(step: Int, name: String, value: Double) {
        entries.append((step, name, value))
    }

    public func checkpoint(step: Int, state: [UInt8]) { savedState = (step, state) }

    /// The (step, value) pairs logged under `name`, in logging order.
    public func values(_ name: String) -> [(step: Int, value: Double)] {
        entries.filter { $0.name == name }.map { ($0.step, $0.value) }
    }
}
