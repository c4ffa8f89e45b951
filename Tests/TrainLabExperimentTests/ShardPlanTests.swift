import XCTest
import TrainLabExperiment

/// The split of a sweep among shards: every run once, costs balanced, the same plan every time.
final class ShardPlanTests: XCTestCase {
    func testLongestRunsGoFirstEachToTheLeastLoadedShard() {
        let plan = ShardPlan(costs: [1, 8, 3, 5, 2, 5], shardCount: 3)
        // 8 → 0; 5 (run 3, the earlier) → 1; 5 (run 5) → 2; 3 → 1 (loads 5, 5: the lower shard);
        // 2 → 2 (loads 8, 8, 5); 1 → 2 (8, 8, 7).
        XCTAssertEqual(plan.shardOfRun, [2, 0, 1, 1, 2, 2])
        XCTAssertEqual((0..<3).map(plan.cost(ofShard:)), [8, 8, 8])
        XCTAssertEqual(plan.runs(inShard: 1), [2, 3])
        XCTAssertEqual(plan, ShardPlan(costs: [1, 8, 3, 5, 2, 5], shardCount: 3))
    }

    func testMoreShardsThanRunsLeavesSomeEmpty() {
        let plan = ShardPlan(costs: [2, 2], shardCount: 4)
        XCTAssertEqual(plan.shardOfRun, [0, 1])
        XCTAssertEqual(plan.runs(inShard: 3), [])
    }
}
