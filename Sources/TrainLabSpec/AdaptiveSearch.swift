import Foundation

/// Which way a search's metric improves.
public enum SearchGoal: String, Sendable {
    case min, max
}

/// One trial's result at a rung: nil for a trial that diverged or failed, which counts as worse
/// than every measured value and is never promoted.
public struct RungResult: Equatable, Sendable {
    public let trial: Int
    public let value: Double?

    public init(trial: Int, value: Double?) {
        self.trial = trial
        self.value = value
    }
}

/// The decisions of successive halving (Jamieson and Talwalkar 2016), Hyperband (Li et al. 2018,
/// JMLR, Algorithm 1) and ASHA (Li et al. 2020, MLSys): which trials train on, and how far. Pure
/// functions of the results they are given, with no I/O: the runner trains, this module decides.
public enum AdaptiveSearch {
    /// The step counts of the rungs: r, r·η, r·η², … while below `maxSteps`, then `maxSteps`
    /// itself (the last rung trains to the end of the run). `minSteps` ≥ 1, `eta` ≥ 2.
    public static func rungSteps(minSteps: Int, eta: Int, maxSteps: Int) -> [Int] {
        precondition(minSteps >= 1 && eta >= 2 && minSteps <= maxSteps)
        var steps: [Int] = []
        var step = minSteps
        while step < maxSteps {
            steps.append(step)
            let (next, overflow) = step.multipliedReportingOverflow(by: eta)
            if overflow { break }
            step = next
        }
        steps.append(maxSteps)
        return steps
    }

    /// How many of a rung's `count` trials go on: ⌊count/η⌋, at least one, so a ladder longer
    /// than log_η(trials) still trains its best trial to the end.
    public static func keepCount(_ count: Int, eta: Int) -> Int {
        max(1, count / eta)
    }

    /// `results` best first: measured values by `goal`, then the diverged and failed; ties by
    /// trial number, so the order never depends on which trial finished first.
    public static func ranked(_ results: [RungResult], goal: SearchGoal) -> [RungResult] {
        results.sorted { a, b in
            switch (a.value, b.value) {
            case let (x?, y?):
                if x != y { return goal == .min ? x < y : x > y }
                return a.trial < b.trial
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a.trial < b.trial
            }
        }
    }

    /// The trials of a finished rung that go on to the next, by trial number: the best
    /// `keepCount(results.count)` of the measured ones (fewer when fewer were measured).
    /// A NaN value counts as diverged.
    public static func promoted(_ results: [RungResult], eta: Int, goal: SearchGoal) -> [Int] {
        let measured = results.map { RungResult(trial: $0.trial, value: $0.value.flatMap { $0.isNaN ? nil : $0 }) }
        return ranked(measured, goal: goal).prefix(keepCount(results.count, eta: eta))
            .filter { $0.value != nil }.map(\.trial).sorted()
    }

    /// Whether `trial` goes on from a rung where `results` (its own among them) are the results
    /// so far: it is among the best `keepCount(results.count)` of them. The rule of a trial
    /// judged as it reaches the rung (TPE with pruning, as Optuna's successive-halving pruner).
    public static func isPromotable(_ trial: Int, among results: [RungResult], eta: Int, goal: SearchGoal) -> Bool {
        let measured = results.map { RungResult(trial: $0.trial, value: $0.value.flatMap { $0.isNaN ? nil : $0 }) }
        return ranked(measured, goal: goal).prefix(keepCount(results.count, eta: eta))
            .contains { $0.trial == trial && $0.value != nil }
    }

    /// ASHA's next promotion (Li et al. 2020, Algorithm 2, `get_job`): from the highest rung
    /// down, the best trial among the top ⌊count/η⌋ of the results so far at that rung that was
    /// not promoted yet; nil when none (then a new trial starts). `rungs[k]` are rung k's
    /// results; `promotedFrom[k]` the trials already promoted out of it. The last rung
    /// promotes nothing.
    public static func ashaPromotion(rungs: [[RungResult]], promotedFrom: [Set<Int>], eta: Int,
                                     goal: SearchGoal) -> (rung: Int, trial: Int)? {
        for k in stride(from: rungs.count - 2, through: 0, by: -1) {
            let cut = rungs[k].count / eta
            let candidates = ranked(rungs[k], goal: goal).prefix(cut)
            if let best = candidates.first(where: { $0.value != nil && !promotedFrom[k].contains($0.trial) }) {
                return (k, best.trial)
            }
        }
        return nil
    }

    /// Synchronous successive halving of one bracket replayed from recorded results: the trials
    /// alive at rung `rung`, where `trials` start at `firstRung` and `value(trial, r)` is what a
    /// trial measured at rung r (nil: diverged, failed or never trained there). Every rung from
    /// `firstRung` up to `rung − 1` keeps its `promoted` best, as `trainlab run` decides on one
    /// machine, so a rung trained by separate processes (SLURM array tasks, one job per rung)
    /// from the merged results of the rungs before it trains the same trials. Empty before
    /// `firstRung`.
    public static func alive(at rung: Int, trials: [Int], firstRung: Int, eta: Int, goal: SearchGoal,
                             value: (_ trial: Int, _ rung: Int) throws -> Double?) rethrows -> [Int] {
        guard rung >= firstRung else { return [] }
        var alive = trials
        for r in firstRung..<rung where !alive.isEmpty {
            alive = promoted(try alive.map { RungResult(trial: $0, value: try value($0, r)) }, eta: eta, goal: goal)
        }
        return alive
    }

    /// The most trials of a bracket of `trials` starting at `firstRung` that can be alive at
    /// `rung`: `keepCount` applied once per rung between (fewer when trials diverge).
    public static func aliveBound(at rung: Int, trials: Int, firstRung: Int, eta: Int) -> Int {
        guard rung >= firstRung else { return 0 }
        var count = trials
        for _ in firstRung..<rung { count = keepCount(count, eta: eta) }
        return count
    }

    /// One bracket of Hyperband: `trials` new trials start at rung `firstRung` of the ladder
    /// and are halved by successive halving up to its last rung.
    public struct Bracket: Equatable, Sendable {
        /// Li et al.'s s: the bracket's number of halvings.
        public let s: Int
        public let trials: Int
        public let firstRung: Int
    }

    /// Hyperband's brackets over a ladder of `rungCount` rungs (s_max = rungCount − 1), most
    /// aggressive first: bracket s starts n = ⌈(s_max+1)·η^s/(s+1)⌉ trials at rung s_max − s.
    /// With the ladder 1, 3, 9, 27, 81 and η = 3 these are Li et al.'s Table 1: 81, 34, 15, 8, 5.
    public static func hyperbandBrackets(rungCount: Int, eta: Int) -> [Bracket] {
        let sMax = rungCount - 1
        return stride(from: sMax, through: 0, by: -1).map { s in
            var power = 1
            for _ in 0..<s { power = power.multipliedReportingOverflow(by: eta).overflow ? Int.max / 2 : power * eta }
            let numerator = (sMax + 1).multipliedReportingOverflow(by: power)
            let trials = numerator.overflow ? Int.max / 2 : (numerator.partialValue + s) / (s + 1)
            return Bracket(s: s, trials: trials, firstRung: sMax - s)
        }
    }
}

/// The Tree-structured Parzen Estimator (Bergstra, Bardenet, Bengio and Kégl 2011), one
/// dimension at a time as in its original form: every searched key is a coordinate u in [0, 1)
/// (a distribution's quantile, `Sweep.Distribution.value(atQuantile:)`). The trials done so far
/// are split into the best γ and the rest; a new trial's u in each dimension is the one, of
/// `candidates` drawn from the good trials' density l(u), with the highest l(u)/g(u).
public enum TreeParzenEstimator {
    /// Candidates drawn from l(u) per dimension (Bergstra et al. and hyperopt use 24).
    public static let candidates = 24

    /// How many of `count` trials make the good set: ⌈count/4⌉ (γ = 0.25), at least one.
    public static func goodCount(_ count: Int) -> Int {
        max(1, (count + 3) / 4)
    }

    /// A dimension's kind: continuous in u, or `categories` equally likely values (a list).
    public enum Dimension: Equatable, Sendable {
        case continuous
        case categorical(Int)
    }

    /// A finished trial: its coordinates, the rung it reached (higher is better: a trial pruned
    /// early ranks below every trial that went further) and its metric there (nil: diverged).
    public struct Observation: Sendable {
        public let point: [Double]
        public let rung: Int
        public let value: Double?

        public init(point: [Double], rung: Int = 0, value: Double?) {
            self.point = point
            self.rung = rung
            self.value = value
        }
    }

    /// The observations' indices best first: by rung reached, then value by `goal`, diverged last.
    static func order(_ observations: [Observation], goal: SearchGoal) -> [Int] {
        observations.indices.sorted { i, j in
            let a = observations[i], b = observations[j]
            if a.rung != b.rung { return a.rung > b.rung }
            switch (a.value.flatMap { $0.isNaN ? nil : $0 }, b.value.flatMap { $0.isNaN ? nil : $0 }) {
            case let (x?, y?):
                if x != y { return goal == .min ? x < y : x > y }
                return i < j
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return i < j
            }
        }
    }

    /// The seed of trial `number`'s proposal in a search seeded `searchSeed`: hashed, since
    /// SplitMix64 seeded s + k·γ replays seed s's draws shifted by k (γ its increment), and
    /// consecutive trials would then draw the same candidates.
    public static func proposalSeed(trial number: Int, searchSeed: UInt64) -> UInt64 {
        var mixer = SplitMix64(seed: searchSeed ^ 0x7470_655f_7472_6961)  // "tpe_tria"
        mixer.state &+= UInt64(number) &* 0xD1B5_4A32_D192_ED03
        return mixer.next()
    }

    /// The next trial's coordinates, drawn from `seed` (the same seed and observations give the
    /// same coordinates). Needs at least one observation.
    public static func suggest(_ observations: [Observation], dimensions: [Dimension], goal: SearchGoal,
                               seed: UInt64) -> [Double] {
        precondition(!observations.isEmpty)
        var rng = SplitMix64(seed: seed)
        let ordered = order(observations, goal: goal)
        let good = ordered.prefix(goodCount(observations.count))
        let bad = ordered.dropFirst(good.count)
        return dimensions.enumerated().map { d, dimension in
            let goodValues = good.map { observations[$0].point[d] }
            let badValues = bad.map { observations[$0].point[d] }
            switch dimension {
            case .continuous:
                let l = ParzenDensity(goodValues), g = ParzenDensity(badValues)
                var best = (u: 0.5, score: -Double.infinity)
                for _ in 0..<candidates {
                    let u = l.sample(&rng)
                    let score = log(l.density(u)) - log(g.density(u))
                    if score > best.score { best = (u, score) }
                }
                return best.u
            case .categorical(let count):
                // Counts smoothed by one per category (the prior), as hyperopt's categorical TPE.
                func weights(_ values: [Double]) -> [Double] {
                    var w = [Double](repeating: 1, count: count)
                    for u in values { w[min(count - 1, Int(u * Double(count)))] += 1 }
                    let total = w.reduce(0, +)
                    return w.map { $0 / total }
                }
                let l = weights(goodValues), g = weights(badValues)
                var best = (index: 0, score: -Double.infinity)
                for _ in 0..<candidates {
                    var x = rng.unit(), index = count - 1
                    for (i, p) in l.enumerated() { if x < p { index = i; break }; x -= p }
                    let score = log(l[index]) - log(g[index])
                    if score > best.score { best = (index, score) }
                }
                return (Double(best.index) + 0.5) / Double(count)
            }
        }
    }

    /// A mixture of Gaussians truncated to [0, 1], one at each value with the larger distance to
    /// its neighbours as its width (Bergstra et al.'s adaptive Parzen estimator, clipped below
    /// at 1/min(100, n+1)), plus the prior N(0.5, 1): each weighs 1/(n+1).
    struct ParzenDensity {
        let means: [Double]
        let sigmas: [Double]

        init(_ values: [Double]) {
            let sorted = values.sorted()
            let floor = 1 / Double(min(100, sorted.count + 1))
            var means = [0.5], sigmas = [1.0]
            for (i, x) in sorted.enumerated() {
                let left = i == 0 ? x : x - sorted[i - 1]
                let right = i == sorted.count - 1 ? 1 - x : sorted[i + 1] - x
                means.append(x)
                sigmas.append(min(1, max(floor, max(left, right))))
            }
            self.means = means
            self.sigmas = sigmas
        }

        private static func cdf(_ z: Double) -> Double { 0.5 * (1 + erf(z / 2.0.squareRoot())) }

        func density(_ u: Double) -> Double {
            var sum = 0.0
            for (mu, sigma) in zip(means, sigmas) {
                let mass = Self.cdf((1 - mu) / sigma) - Self.cdf(-mu / sigma)
                let z = (u - mu) / sigma
                sum += exp(-0.5 * z * z) / (sigma * (2 * Double.pi).squareRoot() * mass)
            }
            return max(sum / Double(means.count), 1e-300)
        }

        /// A draw: a component chosen uniformly, then its Gaussian until it falls in [0, 1).
        func sample(_ rng: inout SplitMix64) -> Double {
            let k = rng.below(means.count)
            while true {
                // Box–Muller; 1 − unit() is in (0, 1], so the logarithm is finite.
                let z = (-2 * log(1 - rng.unit())).squareRoot() * cos(2 * Double.pi * rng.unit())
                let u = means[k] + sigmas[k] * z
                if u >= 0 && u < 1 { return u }
            }
        }
    }
}
