import Foundation

/// Summary statistics over seeds: the mean and a Student-t confidence interval.
public enum Statistics {
    /// Arithmetic mean; nil for no values.
    public static func mean(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        return values.reduce(0, +) / Double(values.count)
    }

    /// Sample standard deviation `s = √(Σ(x - x̄)² / (n - 1))`; nil for fewer than two values.
    public static func sampleStandardDeviation(_ values: [Double]) -> Double? {
        guard values.count >= 2, let mean = mean(values) else { return nil }
        let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (squares / Double(values.count - 1)).squareRoot()
    }

    /// Two-sided 95% quantile of Student's t, `t(0.975, dof)`: a table for 1...30 degrees of
    /// freedom, the normal 1.96 above.
    public static func studentT95(degreesOfFreedom dof: Int) -> Double {
        precondition(dof >= 1, "Student t needs at least 1 degree of freedom, got \(dof)")
        return dof <= studentT95Table.count ? studentT95Table[dof - 1] : 1.96
    }

    /// Half-width of the 95% confidence interval of the mean, `t(0.975, n-1) · s / √n`;
    /// nil for fewer than two values.
    public static func confidenceHalfWidth95(_ values: [Double]) -> Double? {
        guard let s = sampleStandardDeviation(values) else { return nil }
        return studentT95(degreesOfFreedom: values.count - 1) * s / Double(values.count).squareRoot()
    }

    /// `t(0.975, dof)` for dof = 1...30.
    static let studentT95Table: [Double] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ]
}

// MARK: Benchmark statistics

extension Statistics {
    /// The median: the middle value, or the mean of the two middle ones; nil for no values.
    /// Infinite values (a missed target, a diverged run) sort last and may be the median.
    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        if sorted.count % 2 == 1 { return sorted[mid] }
        if sorted[mid - 1] == sorted[mid] { return sorted[mid] }
        return (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// A two-sided Wilcoxon signed-rank test of paired differences, zeros dropped (scipy's
    /// `zero_method="wilcox"`), exact over the mid-ranks' sign flips for n ≤ `exactLimit`: as
    /// `scipy.stats.wilcoxon(d, zero_method="wilcox", method=PermutationMethod())`.
    public struct SignedRankTest: Sendable, Equatable {
        public enum Kind: String, Sendable {
            /// The signed-rank test.
            case wilcoxon
            /// Every nonzero difference infinite (one run of each pair diverged): all ranks tie,
            /// and the signed-rank test is the sign test, p = 2·P(Binomial(n, ½) ≤ min(k, n − k)).
            case sign
        }
        /// min(T⁺, T⁻): the smaller sum of the (mid-)ranks of |d| over positive and negative d.
        public var statistic: Double
        public var pValue: Double
        /// Differences that were not zero (zeros are dropped: Wilcoxon's `zero_method`).
        public var n: Int
        /// True: the exact null distribution; false: the normal approximation.
        public var exact: Bool
        public var kind: Kind = .wilcoxon
        /// Zero differences dropped (a tie, or both runs failed), and infinite ones counted (a
        /// divergence against a run that did not diverge).
        public var zeros = 0
        public var divergences = 0
    }

    /// Largest n for the exact distributions; above, the normal approximation.
    public static let exactLimit = 50

    /// The Wilcoxon signed-rank test of paired differences `d` (Wilcoxon 1945): zeros dropped
    /// (`zero_method` "wilcox"), |d| ranked with ties given their mid-rank, T⁺ = Σ ranks of d > 0.
    /// For n ≤ 50 exact: the distribution of T⁺ over all 2ⁿ sign flips of the mid-ranks (Pratt
    /// 1959), p = min(1, 2·P(T⁺ ≤ min(T⁺, T⁻))). Above, the normal approximation
    /// z = (T⁺ − n(n+1)/4)/σ with σ² = n(n+1)(2n+1)/24 − Σ(t³ − t)/48 over tie groups of size t,
    /// no continuity correction, p = 2(1 − Φ(|z|)). An infinite difference (one run diverged)
    /// ranks above every finite one and ties with the other infinite ones, so its size never
    /// counts, only its sign; when every difference is infinite this is exactly the sign test
    /// (`kind` .sign). NaN (both runs failed) counts as a zero. Nil when no difference is left.
    public static func wilcoxonSignedRank(_ differences: [Double]) -> SignedRankTest? {
        let d = differences.filter { !$0.isNaN && $0 != 0 }
        let n = d.count
        guard n > 0 else { return nil }
        let order = d.indices.sorted { abs(d[$0]) < abs(d[$1]) }
        // Twice the mid-ranks: integers, so the exact distribution is over integer sums.
        var doubledRanks = [Int](repeating: 0, count: n)
        var tieCorrection = 0.0
        var i = 0
        while i < n {
            var j = i
            while j + 1 < n && abs(d[order[j + 1]]) == abs(d[order[i]]) { j += 1 }
            for k in i...j { doubledRanks[order[k]] = i + j + 2 }
            let t = Double(j - i + 1)
            tieCorrection += t * t * t - t
            i = j + 1
        }
        let doubledPlus = zip(d, doubledRanks).reduce(0) { $0 + ($1.0 > 0 ? $1.1 : 0) }
        let doubledTotal = n * (n + 1)
        let doubledStatistic = min(doubledPlus, doubledTotal - doubledPlus)
        let divergences = d.filter { !$0.isFinite }.count
        var test = SignedRankTest(statistic: Double(doubledStatistic) / 2, pValue: 1, n: n, exact: true,
                                  kind: divergences == n ? .sign : .wilcoxon,
                                  zeros: differences.count - n, divergences: divergences)
        if n <= exactLimit {
            let counts = signFlipCounts(doubledRanks)
            let atMost = counts[0...doubledStatistic].reduce(0, +)
            test.pValue = min(1, 2 * atMost / pow(2, Double(n)))
            return test
        }
        let plus = Double(doubledPlus) / 2
        let mean = Double(doubledTotal) / 4
        let variance = Double(n * (n + 1) * (2 * n + 1)) / 24 - tieCorrection / 48
        let z = variance > 0 ? (plus - mean) / variance.squareRoot() : 0
        test.pValue = min(1, erfc(abs(z) / 2.0.squareRoot()))
        test.exact = false
        return test
    }

    /// counts[s]: how many of the 2ⁿ sign patterns give the positive `weights` the sum s
    /// (s = 0...Σ weights). Exact in Double up to 2⁵³ patterns.
    static func signFlipCounts(_ weights: [Int]) -> [Double] {
        let total = weights.reduce(0, +)
        var counts = [Double](repeating: 0, count: total + 1)
        counts[0] = 1
        var reach = 0
        for weight in weights {
            reach += weight
            for s in stride(from: reach, through: weight, by: -1) { counts[s] += counts[s - weight] }
        }
        return counts
    }

    /// The Hodges–Lehmann estimate of a paired difference and its distribution-free interval.
    public struct HodgesLehmann: Sendable, Equatable {
        /// The median of the Walsh averages (dᵢ + dⱼ)/2, i ≤ j.
        public var estimate: Double
        /// The interval [W₍c+1₎, W₍M−c₎] of the M sorted Walsh averages; −∞/+∞ when the sample
        /// is too small for any c (n ≤ 5 at 95%).
        public var lower: Double
        public var upper: Double
        /// Its exact coverage under the untied signed-rank null, 1 − 2·P(T⁺ ≤ c) ≥ the level
        /// asked for (the normal approximation's above n = 50).
        public var coverage: Double
    }

    /// The Hodges–Lehmann estimate (Hodges & Lehmann 1963) of the paired differences `d` with the
    /// interval that inverts the signed-rank test (Hollander & Wolfe, "Nonparametric Statistical
    /// Methods", 3.6): c the largest with P(T⁺ ≤ c) ≤ (1 − level)/2 under the untied null of n
    /// pairs, the interval [W₍c+1₎, W₍M−c₎]. Unlike a Student t interval it assumes only a
    /// symmetric distribution, so a heavy tail of losses cannot push it below a bound every
    /// difference respects. Zeros count; NaN (both runs failed) is a zero; a Walsh average of
    /// +∞ and −∞ (one run of each pair diverged) is 0. Nil for no differences.
    public static func hodgesLehmann(_ differences: [Double], level: Double = 0.95) -> HodgesLehmann? {
        let d = differences.map { $0.isNaN ? 0 : $0 }
        let n = d.count
        guard n > 0 else { return nil }
        var walsh: [Double] = []
        walsh.reserveCapacity(n * (n + 1) / 2)
        for i in 0..<n {
            for j in i..<n {
                let average = d[i] / 2 + d[j] / 2
                walsh.append(average.isNaN ? 0 : average)
            }
        }
        walsh.sort()
        let m = walsh.count
        let estimate = m % 2 == 1 ? walsh[m / 2]
            : (walsh[m / 2 - 1] == walsh[m / 2] ? walsh[m / 2] : walsh[m / 2 - 1] / 2 + walsh[m / 2] / 2)
        let tail = (1 - level) / 2
        let c: Int
        var coverage: Double
        if n <= exactLimit {
            let counts = signFlipCounts(Array(1...n))
            let total = pow(2, Double(n))
            var cumulative = 0.0
            var k = -1
            while k + 1 < counts.count && (cumulative + counts[k + 1]) / total <= tail {
                k += 1
                cumulative += counts[k]
            }
            c = k
            coverage = 1 - 2 * cumulative / total
        } else {
            // T⁺ ≈ Normal(n(n+1)/4, n(n+1)(2n+1)/24): c = ⌊mean − z σ⌋ with z the normal quantile.
            let mean = Double(n * (n + 1)) / 4
            let sigma = (Double(n * (n + 1) * (2 * n + 1)) / 24).squareRoot()
            c = Int((mean - normalQuantile(1 - tail) * sigma).rounded(.down))
            coverage = level
        }
        guard c >= 0 else {
            return HodgesLehmann(estimate: estimate, lower: -.infinity, upper: .infinity, coverage: 1)
        }
        return HodgesLehmann(estimate: estimate.isNaN ? 0 : estimate, lower: walsh[c], upper: walsh[m - 1 - c], coverage: coverage)
    }

    /// The standard normal quantile Φ⁻¹(p) for p in (0, 1), by bisection on erfc (to 1e-12).
    static func normalQuantile(_ p: Double) -> Double {
        var (lo, hi) = (-40.0, 40.0)
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if 0.5 * erfc(-mid / 2.0.squareRoot()) < p { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }

    /// Holm's step-down adjustment (Holm 1979) of a family of p-values, in the given order:
    /// with p₍₁₎ ≤ … ≤ p₍ₘ₎, p̃₍ᵢ₎ = max over j ≤ i of min(1, (m − j + 1)·p₍ⱼ₎). Rejecting
    /// where p̃ < α controls the family-wise error at α.
    public static func holmAdjusted(_ pValues: [Double]) -> [Double] {
        let m = pValues.count
        let order = pValues.indices.sorted { pValues[$0] < pValues[$1] || (pValues[$0] == pValues[$1] && $0 < $1) }
        var adjusted = [Double](repeating: 1, count: m)
        var running = 0.0
        for (rank, index) in order.enumerated() {
            running = max(running, min(1, Double(m - rank) * pValues[index]))
            adjusted[index] = running
        }
        return adjusted
    }

    /// Dolan–Moré performance profile scores (Dolan & Moré 2002), as AlgoPerf (Dahl et al. 2023)
    /// scores submissions: with `costs[p][s]` solver s's cost on problem p (time to target;
    /// `.infinity` for a miss), r_ps = costs[p][s] / min_s costs[p][s], ρ_s(τ) = the share of
    /// problems with r_ps ≤ τ, and the score is (1/(τ_max − 1)) ∫₁^τ_max ρ_s(τ) dτ in [0, 1].
    /// ρ_s is a step function, so the integral is exact: Σ_p max(0, τ_max − r_ps) / (P (τ_max − 1)).
    /// A problem no solver solves counts as a miss for all.
    public static func performanceProfileScores(costs: [[Double]], tauMax: Double = 4) -> [Double] {
        guard let solvers = costs.first?.count, !costs.isEmpty else { return [] }
        let ratios = performanceRatios(costs: costs)
        return (0..<solvers).map { s in
            ratios.reduce(0) { $0 + ($1[s] <= tauMax ? tauMax - $1[s] : 0) } / (Double(costs.count) * (tauMax - 1))
        }
    }

    /// r_ps = costs[p][s] / min_s costs[p][s]: 1 for the best solver of a problem, ∞ for a miss
    /// (and for every solver on a problem none solves).
    public static func performanceRatios(costs: [[Double]]) -> [[Double]] {
        costs.map { row in
            let best = row.min() ?? .infinity
            return row.map { best.isFinite && best > 0 ? $0 / best : ($0 == best && best == 0 ? 1 : .infinity) }
        }
    }

    /// The resamples and the generator's seed of `bootstrapPerformanceProfile`: fixed, so a
    /// database always gives the same intervals.
    public static let bootstrapResamples = 1000
    public static let bootstrapSeed: UInt64 = 20_021_111

    /// 95% percentile intervals of the performance-profile score and of the share of problems
    /// solved, by a paired bootstrap over the final seeds (Efron & Tibshirani 1993, ch. 13).
    /// `perSeedCosts[p][s][i]`: solver s's cost on problem p at the problem's i-th seed (∞ for
    /// a miss, nil where s has no run there). Each resample draws, per problem, as many seed
    /// indices as it has, uniformly with replacement, the same draw for every solver (paired);
    /// a solver's cost is then max(1, median of its drawn costs), as the profile's, ∞ when it
    /// drew none; then `performanceProfileScores` and the share of problems with a finite cost.
    /// The interval is [q(0.025), q(0.975)] of the `resamples` values, q the linear-interpolation
    /// quantile of the sorted values (R's type 7). Draws: SplitMix64 from `seed`, index =
    /// next() mod n.
    public static func bootstrapPerformanceProfile(perSeedCosts: [[[Double?]]], resamples: Int = bootstrapResamples,
                                                   seed: UInt64 = bootstrapSeed, tauMax: Double = 4)
        -> [(score: [Double], solved: [Double])] {
        let solvers = perSeedCosts.first?.count ?? 0
        guard solvers > 0, resamples > 0 else { return Array(repeating: ([], []), count: solvers) }
        var generator = SplitMix64(state: seed)
        var scores = [[Double]](repeating: [], count: solvers)
        var solved = [[Double]](repeating: [], count: solvers)
        for _ in 0..<resamples {
            let costs = perSeedCosts.map { problem -> [Double] in
                let n = problem.map(\.count).max() ?? 0
                let draw = (0..<n).map { _ in Int(generator.next() % UInt64(n)) }
                return problem.map { bySeed in
                    let values = draw.compactMap { $0 < bySeed.count ? bySeed[$0] : nil }
                    return values.isEmpty ? .infinity : max(1, median(values) ?? .infinity)
                }
            }
            for (s, score) in performanceProfileScores(costs: costs, tauMax: tauMax).enumerated() {
                scores[s].append(score)
                solved[s].append(Double(costs.filter { $0[s].isFinite }.count) / Double(costs.count))
            }
        }
        func interval(_ values: [Double]) -> [Double] {
            let sorted = values.sorted()
            return [quantile(sorted, 0.025), quantile(sorted, 0.975)]
        }
        return (0..<solvers).map { (interval(scores[$0]), interval(solved[$0])) }
    }

    /// The q-quantile of ascending `sorted` values by linear interpolation (type 7):
    /// h = (n − 1)·q, x₍⌊h⌋₎ + (h − ⌊h⌋)(x₍⌊h⌋+1₎ − x₍⌊h⌋₎).
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let h = Double(sorted.count - 1) * q
        let lo = Int(h.rounded(.down))
        guard lo + 1 < sorted.count, sorted[lo + 1] != sorted[lo] else { return sorted[lo] }
        return sorted[lo] + (h - Double(lo)) * (sorted[lo + 1] - sorted[lo])
    }

    /// SplitMix64 (Steele, Lea & Flood 2014): a small, fixed generator for the bootstrap.
    struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// The geometric mean exp(mean log x): ∞ when any value is; nil for no values.
    public static func geometricMean(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        if values.contains(where: { !$0.isFinite }) { return .infinity }
        return exp(values.reduce(0) { $0 + log($1) } / Double(values.count))
    }
}
