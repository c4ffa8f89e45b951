import TrainLabExperiment
import TrainLabStore

// The wiring between training and the results database: the runner logs to a `MetricsSink`,
// and one run's writer into the store is one.
extension RunMetricsWriter: MetricsSink {}
