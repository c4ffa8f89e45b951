import Foundation
import TrainLabAutodiff

// Ranking and metric-learning tasks. One data row holds one whole group of k items (a list, a
// pair, a triplet, two views), item j of the group in columns j·D ..< (j+1)·D of the (N, k·D)
// inputs, so a shuffled mini-batch never splits a group. A runner reshapes a batch (B, k·D)
// row-major into (k·B, D) before the model, which embeds or scores each item; row b·k + j of
// that matrix is item j of group b: the layout `LossTargets` reads (pair i = rows 2i, 2i+1;
// triplet i = rows 3i, 3i+1, 3i+2; views of example i = rows 2i, 2i+1; list l = scores
// l·n ..< (l+1)·n).

extension TaskDescriptor {
    static let rankingLists = TaskDescriptor(
        "ranking_lists", .ranking, groupSize: .option("list_size"),
        doc: "one row = a list of documents x ~ N(0, I); grades 0–4 from quintiles of w*·x + noise; the model scores each document",
        options: TaskOption.sizes + [
            TaskOption("input_dim", 16, "document features x ~ N(0, I) in this many dimensions; a row is one list, inputs (N, list_size·input_dim)"),
            TaskOption("list_size", 8, "documents per list (query); the model scores each, output width 1"),
            TaskOption("noise", 0.5, "relevance 0..4 = quintile of s = w*·x + noise·ε, w* ~ N(0, I/input_dim): each grade has probability 1/5; targets (N, list_size)"),
        ]) { try SyntheticTasks.rankingLists($0, seed: $1).data }

    static let pairs = TaskDescriptor(
        "pairs", .metricPairs, groupSize: .fixed(2),
        doc: "one row = two items x = c_k + noise·ε; label +1 same class, −1 different (balanced), and an order label for margin_ranking",
        options: TaskOption.sizes + [
            TaskOption("input_dim", 16, "item dimensions; a row is one pair, inputs (N, 2·input_dim)"),
            TaskOption("output_dim", 16, "embedding width the model outputs (1 for margin_ranking scores)"),
            TaskOption("classes", 10, "latent classes; items x = c_k + noise·ε, half the pairs same-class (label +1), half not (−1)"),
            TaskOption("spread", 1, "class centres c_k ~ N(0, spread² I)"),
            TaskOption("noise", 1, "std of each item around its class centre; targets (N, 2): similarity ±1, order ±1 (sign of w*·x₁ − w*·x₂)"),
        ]) { try SyntheticTasks.pairs($0, seed: $1).data }

    static let triplets = TaskDescriptor(
        "triplets", .metricTriplets, groupSize: .fixed(3),
        doc: "one row = anchor, positive (same class), negative (another class)",
        options: TaskOption.sizes + [
            TaskOption("input_dim", 16, "item dimensions; a row is (anchor, positive, negative), inputs (N, 3·input_dim)"),
            TaskOption("output_dim", 16, "embedding width the model outputs"),
            TaskOption("classes", 10, "latent classes: anchor and positive share one, the negative has another"),
            TaskOption("spread", 1, "class centres c_k ~ N(0, spread² I)"),
            TaskOption("noise", 1, "std of each item around its class centre"),
        ]) { try SyntheticTasks.triplets($0, seed: $1) }

    static let contrastiveViews = TaskDescriptor(
        "contrastive_views", .contrastive, groupSize: .fixed(2),
        doc: "one row = two noisy views z + noise·ε of one point z ~ N(0, I)",
        options: TaskOption.sizes + [
            TaskOption("input_dim", 16, "view dimensions; a row is two views of one point, inputs (N, 2·input_dim)"),
            TaskOption("output_dim", 16, "embedding width the model outputs"),
            TaskOption("noise", 0.5, "views = z + noise·ε each, z ~ N(0, I)"),
        ]) { try SyntheticTasks.contrastiveViews($0, seed: $1).data }
}

extension SyntheticTasks {
    /// Φ⁻¹(j/5), j = 1 … 4: the standard normal quintiles that cut a N(0, v) score into five
    /// equally likely grades 0 … 4 (thresholds z_j·√v).
    static let gradeQuantiles: [Double] = [-0.8416212335729142, -0.2533471031357998, 0.2533471031357998, 0.8416212335729144]

    /// ranking_lists: each row is one query's list of n = `list_size` documents. Document j has
    /// features x_j ~ N(0, I_d) (columns j·d ..< (j+1)·d) and graded relevance
    ///
    ///   s_j = w*·x_j + σε_j,  w* ~ N(0, I_d/d),  ε_j ~ N(0, 1),
    ///   rel_j = #{ t : z_t·√(‖w*‖² + σ²) < s_j } ∈ {0, …, 4},
    ///
    /// i.e. s_j ~ N(0, ‖w*‖² + σ²) quantized at its exact quintiles, so each grade has
    /// probability 1/5. Targets `.real` (N, n): row l holds rel of its n documents in column order.
    /// Also returns w* for tests. Notes: `oracle_ndcg` (mean NDCG@n of the noiseless scorer
    /// w*·x on the training lists) and `random_ndcg` (NDCG@n of a constant score, which with
    /// tie-averaging is the expectation over random orders), both from `RankingMetrics.ndcg`.
    static func rankingLists(_ options: TaskOptions, seed: UInt64) throws -> (data: TaskData, weights: [Double]) {
        let reader = OptionReader(options: options)
        try reader.check()
        let d = try reader.integer("input_dim", options.inputDim, min: 1)
        let n = try reader.extraInteger("list_size", in: TaskOptionRanges.listSize)
        let sigma = try reader.noise()
        try reader.checkSize(rows: max(options.trainSize, options.valSize), width: n * d, what: "a split")

        var stream = RandomStream(seed: seed, salt: StreamSalt.taskData)
        let scale = 1 / Double(d).squareRoot()
        let weights = (0..<d).map { _ in scale * stream.normal() }
        let std = (weights.reduce(0) { $0 + $1 * $1 } + sigma * sigma).squareRoot()
        let thresholds = gradeQuantiles.map { $0 * std }

        /// The split, and the noiseless scores w*·x_j of its documents (row-major, N·n).
        func split(_ rows: Int) -> (Dataset, [Float]) {
            let x = Tensor(shape: [rows, n * d]), relevance = Tensor(shape: [rows, n])
            var clean = [Float](repeating: 0, count: rows * n)
            for item in 0..<(rows * n) {
                var score = 0.0
                for j in 0..<d {
                    let v = Float(stream.normal())
                    x[item * d + j] = v
                    score += Double(v) * weights[j]
                }
                clean[item] = Float(score)
                let noisy = score + sigma * stream.normal()
                relevance[item] = Float(thresholds.reduce(0) { $0 + ($1 < noisy ? 1 : 0) })
            }
            return (Dataset(inputs: x, targets: .real(relevance)), clean)
        }
        let (train, clean) = split(options.trainSize)
        let validation = options.valSize > 0 ? split(options.valSize).0 : nil
        let test: Dataset? = options.testSize > 0 ? { stream = RandomStream(seed: options.testSeed, salt: StreamSalt.testRows); return split(options.testSize).0 }() : nil
        let grades = train.targetsTensor.scalars
        let notes = [
            "oracle_ndcg": RankingMetrics.ndcg(scores: clean, relevance: grades, listSize: n, k: n),
            "random_ndcg": RankingMetrics.ndcg(scores: [Float](repeating: 0, count: grades.count), relevance: grades, listSize: n, k: n),
        ]
        let data = TaskData(kind: .ranking, inputDim: d, outputDim: 1, train: train, validation: validation, test: test, notes: notes)
        return (data, weights)
    }

    /// pairs: K = `classes` latent classes with centres c_k ~ N(0, spread²·I_d); an item of class
    /// k is x = c_k + σε, ε ~ N(0, I_d). Row i is one pair (x₁ | x₂), columns 0 ..< d and d ..< 2d.
    /// Exactly half the pairs of a split (counts differ by at most one, in shuffled order) are
    /// similar: both items of one class a ~ U{0..K−1}; the others take a and b ≠ a, b uniform
    /// among the other K − 1 classes.
    ///
    /// Targets `.real` (N, 2), labels in {+1, −1}:
    /// - column 0, similarity: +1 same class, −1 different classes — `LossTargets.pairs` as
    ///   `hinge_embedding` (y = ±1), `cosent` (any order-preserving grading) and `circle` (> 0
    ///   positive) read it;
    /// - column 1, order: +1 when w*·x₁ ≥ w*·x₂ for a hidden scorer w* ~ N(0, I_d/d), else −1 —
    ///   `margin_ranking`'s "x₁ should rank higher" (a similarity label would ask an item's score
    ///   to beat its unordered partner's, which no scorer can learn).
    ///
    /// Also returns w* and the latent classes of each split's items (2 per row: row i's at 2i,
    /// 2i+1), for tests. `outputDim` is the embedding width the model should output (`output_dim`).
    static func pairs(_ options: TaskOptions, seed: UInt64) throws
        -> (data: TaskData, weights: [Double], trainClasses: [Int], validationClasses: [Int])
    {
        var stream = RandomStream(seed: seed, salt: StreamSalt.taskData)
        let latent = try LatentClasses(options, groupSize: 2, stream: &stream)
        let (d, m, k, sigma, centres) = (latent.d, latent.outputDim, latent.k, latent.sigma, latent.centres)
        let scale = 1 / Double(d).squareRoot()
        let weights = (0..<d).map { _ in scale * stream.normal() }

        func split(_ rows: Int) -> (Dataset, [Int]) {
            // balancedLabels' 0 = similar, 1 = dissimilar.
            let kinds = balancedLabels(count: rows, classes: 2, stream: &stream)
            let x = Tensor(shape: [rows, 2 * d]), labels = Tensor(shape: [rows, 2])
            var classes = [Int](repeating: 0, count: 2 * rows)
            for i in 0..<rows {
                let a = stream.index(below: k)
                let b = kinds[i] == 0 ? a : (a + 1 + stream.index(below: k - 1)) % k
                classes[2 * i] = a
                classes[2 * i + 1] = b
                var score = [0.0, 0.0]
                for (side, c) in [a, b].enumerated() {
                    let base = i * 2 * d + side * d
                    for j in 0..<d {
                        let v = Float(centres[c * d + j] + sigma * stream.normal())
                        x[base + j] = v
                        score[side] += Double(v) * weights[j]
                    }
                }
                labels[2 * i] = kinds[i] == 0 ? 1 : -1
                labels[2 * i + 1] = score[0] >= score[1] ? 1 : -1
            }
            return (Dataset(inputs: x, targets: .real(labels)), classes)
        }
        let (train, trainClasses) = split(options.trainSize)
        var validation: Dataset? = nil, validationClasses: [Int] = []
        if options.valSize > 0 { (validation, validationClasses) = split(options.valSize) }
        let test: Dataset? = options.testSize > 0 ? { stream = RandomStream(seed: options.testSeed, salt: StreamSalt.testRows); return split(options.testSize).0 }() : nil
        let similar = train.targetsTensor.scalars.enumerated().filter { $0.offset % 2 == 0 && $0.element > 0 }.count
        let data = TaskData(
            kind: .metricPairs, inputDim: d, outputDim: m, train: train, validation: validation, test: test,
            notes: ["positive_fraction": Double(similar) / Double(train.count)])
        return (data, weights, trainClasses, validationClasses)
    }

    /// triplets: latent classes as `pairs` (centres c_k ~ N(0, spread²·I_d), items c_k + σε).
    /// Row i is (anchor | positive | negative), columns 0 ..< d, d ..< 2d, 2d ..< 3d: anchor and
    /// positive drawn independently from class a ~ U{0..K−1}, the negative from b ≠ a uniform among
    /// the other K − 1 classes. Targets `.classes`, three per row: (a, a, b) — the item classes in
    /// the order of the reshaped (3N, d) rows. `triplet_margin` needs none of it (the layout is
    /// the target); they serve checks and class-based losses (`circle` with `.classes`).
    static func triplets(_ options: TaskOptions, seed: UInt64) throws -> TaskData {
        var stream = RandomStream(seed: seed, salt: StreamSalt.taskData)
        let latent = try LatentClasses(options, groupSize: 3, stream: &stream)
        let (d, m, k, sigma, centres) = (latent.d, latent.outputDim, latent.k, latent.sigma, latent.centres)

        func split(_ rows: Int) -> Dataset {
            let x = Tensor(shape: [rows, 3 * d])
            var classes = [Int](repeating: 0, count: 3 * rows)
            for i in 0..<rows {
                let a = stream.index(below: k)
                let b = (a + 1 + stream.index(below: k - 1)) % k
                for (side, c) in [a, a, b].enumerated() {
                    classes[3 * i + side] = c
                    let base = (3 * i + side) * d
                    for j in 0..<d { x[base + j] = Float(centres[c * d + j] + sigma * stream.normal()) }
                }
            }
            return Dataset(inputs: x, targets: .classes(classes))
        }
        let train = split(options.trainSize)
        let validation = options.valSize > 0 ? split(options.valSize) : nil
        let test: Dataset? = options.testSize > 0 ? { stream = RandomStream(seed: options.testSeed, salt: StreamSalt.testRows); return split(options.testSize) }() : nil
        return TaskData(kind: .metricTriplets, inputDim: d, outputDim: m, train: train, validation: validation, test: test)
    }

    /// contrastive_views: row i holds two views (v₁ | v₂), columns 0 ..< d and d ..< 2d, of one
    /// latent point z_i ~ N(0, I_d): v = z_i + σε, ε ~ N(0, I_d) drawn afresh for each view, so
    /// v₁ − v₂ ~ N(0, 2σ²·I_d) while views of different points differ by N(0, 2(1 + σ²)·I_d).
    /// Targets: `.classes([])`, nothing per row (the pairing is the target). Also returns the
    /// latent points of the training split (N·d, row-major), for tests.
    static func contrastiveViews(_ options: TaskOptions, seed: UInt64) throws -> (data: TaskData, trainPoints: [Double]) {
        let reader = OptionReader(options: options)
        try reader.check()
        let d = try reader.integer("input_dim", options.inputDim, min: 1)
        let m = try reader.integer("output_dim", options.outputDim, min: 1)
        let sigma = try reader.noise()
        try reader.checkSize(rows: max(options.trainSize, options.valSize), width: 2 * d, what: "a split")

        var stream = RandomStream(seed: seed, salt: StreamSalt.taskData)
        func split(_ rows: Int) -> (Dataset, [Double]) {
            let x = Tensor(shape: [rows, 2 * d])
            var points = [Double](repeating: 0, count: rows * d)
            for i in 0..<rows {
                for j in 0..<d { points[i * d + j] = stream.normal() }
                for side in 0..<2 {
                    let base = i * 2 * d + side * d
                    for j in 0..<d { x[base + j] = Float(points[i * d + j] + sigma * stream.normal()) }
                }
            }
            return (Dataset(inputs: x, targets: .classes([])), points)
        }
        let (train, points) = split(options.trainSize)
        let validation = options.valSize > 0 ? split(options.valSize).0 : nil
        let test: Dataset? = options.testSize > 0 ? { stream = RandomStream(seed: options.testSeed, salt: StreamSalt.testRows); return split(options.testSize).0 }() : nil
        let data = TaskData(
            kind: .contrastive, inputDim: d, outputDim: m, train: train, validation: validation, test: test,
            notes: ["view_noise_variance": sigma * sigma])
        return (data, points)
    }
}

extension TaskData {
    /// Items per data row: `list_size` for ranking lists, 2 for pairs and contrastive views, 3 for
    /// triplets, 1 for the other kinds. A grouped task's inputs are (N, groupSize·inputDim); a
    /// batch (B, groupSize·inputDim) reshaped row-major to (groupSize·B, inputDim) puts item j
    /// of group b in row b·groupSize + j, as `LossTargets` expects.
    public var groupSize: Int {
        switch kind {
        case .ranking, .metricPairs, .metricTriplets, .contrastive:
            return inputDim > 0 ? train.inputs.columns / inputDim : 1
        default:
            return 1
        }
    }
}

/// The latent classes behind `pairs` and `triplets`: their options (input_dim, output_dim, classes,
/// spread, noise σ) and class centres c_k ~ N(0, spread²·I_d), drawn first from
/// the task's stream; items are then c_k + σε.
struct LatentClasses {
    let d: Int, outputDim: Int, k: Int
    let sigma: Double
    let centres: [Double]

    /// Reads and checks the options for groups of `groupSize` items per row, then draws the centres.
    init(_ options: TaskOptions, groupSize: Int, stream: inout RandomStream) throws {
        let reader = OptionReader(options: options)
        try reader.check()
        d = try reader.integer("input_dim", options.inputDim, min: 1)
        outputDim = try reader.integer("output_dim", options.outputDim, min: 1)
        k = try reader.integer("classes", options.classes, min: 2)
        let spread = try reader.extra("spread", in: TaskOptionRanges.spread)
        sigma = try reader.noise()
        try reader.checkSize(rows: max(options.trainSize, options.valSize), width: groupSize * d, what: "a split")
        try reader.checkSize(rows: k, width: d, what: "the class centres")
        let (count, scale) = (k * d, spread)
        centres = (0..<count).map { _ in scale * stream.normal() }
    }
}
