/// How the runs of a sweep are split among `shardCount` shards (the tasks of a SLURM job array,
/// the pods of an indexed Job), balancing their estimated cost.
///
/// Every shard computes the plan alone from the same specs, so it must be a pure function of
/// the runs' order and costs: greedy longest-processing-time, the most expensive run first
/// (ties: the earlier run), each to the shard with the least cost so far (ties: the lower
/// shard). Its makespan is within 4/3 of the best possible.
public struct ShardPlan: Sendable, Equatable {
    public let shardCount: Int
    /// The shard of each run, by the run's index in the expansion.
    public let shardOfRun: [Int]
    /// Each run's estimated cost: FLOPs per step × steps.
    public let costs: [Double]

    public init(costs: [Double], shardCount: Int) {
        precondition(shardCount > 0, "a plan needs at least one shard")
        self.shardCount = shardCount
        self.costs = costs
        var load = [Double](repeating: 0, count: shardCount)
        var shardOfRun = [Int](repeating: 0, count: costs.count)
        for run in costs.indices.sorted(by: { costs[$0] != costs[$1] ? costs[$0] > costs[$1] : $0 < $1 }) {
            let shard = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
            shardOfRun[run] = shard
            load[shard] += costs[run]
        }
        self.shardOfRun = shardOfRun
    }

    public init(runs: [ExperimentSpec], shardCount: Int) {
        self.init(costs: runs.map(Self.cost), shardCount: shardCount)
    }

    /// A run's estimated cost: what `ResourceEstimate` says a step takes, times its steps.
    public static func cost(of run: ExperimentSpec) -> Double {
        ResourceEstimate(run).flopsPerStep * Double(run.training.steps)
    }

    /// The indices of shard `shard`'s runs, in expansion order.
    public func runs(inShard shard: Int) -> [Int] {
        shardOfRun.indices.filter { shardOfRun[$0] == shard }
    }

    /// The estimated cost of shard `shard`'s runs together.
    public func cost(ofShard shard: Int) -> Double {
        runs(inShard: shard).reduce(0) { $0 + costs[$1] }
    }
}
