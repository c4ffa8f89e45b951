import Foundation

/// Float64 twins of the losses, written from their formulas with plain loops (not from the tape
/// compositions): the oracle for forward values and the function whose finite differences check
/// each loss's gradient.
enum LossReference {
    static func softplus(_ x: Double) -> Double { max(x, 0) + log1p(exp(-abs(x))) }

    static func logSumExp(_ x: [Double]) -> Double {
        let m = x.max()!
        return m + log(x.map { exp($0 - m) }.reduce(0, +))
    }

    static func logSoftmax(_ row: ArraySlice<Double>) -> [Double] {
        let lse = logSumExp(Array(row))
        return row.map { $0 - lse }
    }

    static func rows(_ x: [Double], columns: Int) -> [ArraySlice<Double>] {
        stride(from: 0, to: x.count, by: columns).map { x[$0..<($0 + columns)] }
    }

    static func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }

    // MARK: Regression

    static func mse(_ x: [Double], _ y: [Double]) -> Double { mean(zip(x, y).map { ($0 - $1) * ($0 - $1) }) }

    static func l1(_ x: [Double], _ y: [Double]) -> Double { mean(zip(x, y).map { abs($0 - $1) }) }

    static func huber(_ x: [Double], _ y: [Double], delta: Double) -> Double {
        mean(zip(x, y).map { a, b in
            let d = abs(a - b)
            return d < delta ? 0.5 * d * d : delta * (d - 0.5 * delta)
        })
    }

    // MARK: Classification

    static func crossEntropy(_ logits: [Double], targets: [Int], classes: Int, labelSmoothing: Double) -> Double {
        var total = 0.0
        for (r, row) in rows(logits, columns: classes).enumerated() {
            let logP = logSoftmax(row)
            for c in 0..<classes {
                let q = (c == targets[r] ? 1 - labelSmoothing : 0) + labelSmoothing / Double(classes)
                total -= q * logP[c]
            }
        }
        return total / Double(targets.count)
    }

    static func bceWithLogits(_ x: [Double], _ y: [Double]) -> Double {
        mean(zip(x, y).map { x, y in max(x, 0) - x * y + log1p(exp(-abs(x))) })
    }

    static func klDivBatchmean(_ input: [Double], _ target: [Double], batch: Int) -> Double {
        zip(input, target).map { x, t in t > 0 ? t * (log(t) - x) : 0 }.reduce(0, +) / Double(batch)
    }

    static func focal(_ logits: [Double], targets: [Int], classes: Int, gamma: Double, alpha: (Int) -> Double) -> Double {
        mean(rows(logits, columns: classes).enumerated().map { r, row in
            let logP = logSoftmax(row)[targets[r]]
            return -alpha(targets[r]) * pow(1 - exp(logP), gamma) * logP
        })
    }

    // MARK: Ranking

    static func marginRanking(_ scores: [Double], labels: [Double], margin: Double) -> Double {
        mean(labels.indices.map { i in max(0, -labels[i] * (scores[2 * i] - scores[2 * i + 1]) + margin) })
    }

    static func rankNet(_ scores: [Double], relevance: [Double], listSize n: Int) -> Double {
        var terms: [Double] = []
        for l in 0..<(scores.count / n) {
            for i in 0..<n {
                for j in 0..<n where relevance[l * n + i] > relevance[l * n + j] {
                    terms.append(log(1 + exp(-(scores[l * n + i] - scores[l * n + j]))))
                }
            }
        }
        return mean(terms)
    }

    static func listNet(_ scores: [Double], relevance: [Double], listSize n: Int) -> Double {
        let lists = scores.count / n
        var total = 0.0
        for l in 0..<lists {
            let target = logSoftmax(relevance[(l * n)..<((l + 1) * n)]).map(exp)
            let logP = logSoftmax(scores[(l * n)..<((l + 1) * n)])
            for i in 0..<n { total -= target[i] * logP[i] }
        }
        return total / Double(lists)
    }

    static func cosine(_ u: ArraySlice<Double>, _ v: ArraySlice<Double>) -> Double {
        let dot = zip(u, v).map { $0 * $1 }.reduce(0, +)
        let nu = u.map { $0 * $0 }.reduce(0, +).squareRoot(), nv = v.map { $0 * $0 }.reduce(0, +).squareRoot()
        return dot / (nu * nv)
    }

    /// Cosines of pairs (rows 2i, 2i+1) of embeddings with `dimension` columns.
    static func pairCosines(_ embeddings: [Double], dimension: Int) -> [Double] {
        let r = rows(embeddings, columns: dimension)
        return (0..<(r.count / 2)).map { cosine(r[2 * $0], r[2 * $0 + 1]) }
    }

    static func cosent(_ embeddings: [Double], labels: [Double], dimension: Int, scale: Double) -> Double {
        let cosines = pairCosines(embeddings, dimension: dimension)
        var sum = 0.0
        for i in labels.indices {
            for j in labels.indices where labels[i] > labels[j] { sum += exp(scale * (cosines[j] - cosines[i])) }
        }
        return log(1 + sum)
    }

    /// Positive and negative similarities of class-labelled embeddings (pairs i < j).
    static func circleSimilarities(_ embeddings: [Double], classes: [Int], dimension: Int) -> (positive: [Double], negative: [Double]) {
        let r = rows(embeddings, columns: dimension)
        var positive: [Double] = [], negative: [Double] = []
        for i in 0..<r.count {
            for j in (i + 1)..<r.count {
                if classes[i] == classes[j] { positive.append(cosine(r[i], r[j])) } else { negative.append(cosine(r[i], r[j])) }
            }
        }
        return (positive, negative)
    }

    /// Circle loss with the weights α given (detached: computed once at the point of the check).
    static func circle(positive sp: [Double], negative sn: [Double], alphaPositive: [Double], alphaNegative: [Double],
                       m: Double, gamma: Double) -> Double {
        let logitsP = sp.indices.map { -gamma * alphaPositive[$0] * (sp[$0] - (1 - m)) }
        let logitsN = sn.indices.map { gamma * alphaNegative[$0] * (sn[$0] - m) }
        return softplus(logSumExp(logitsN) + logSumExp(logitsP))
    }

    static func circleAlphas(positive sp: [Double], negative sn: [Double], m: Double) -> ([Double], [Double]) {
        (sp.map { max(1 + m - $0, 0) }, sn.map { max($0 + m, 0) })
    }

    // MARK: Metric

    static func pairwiseDistance(_ a: ArraySlice<Double>, _ b: ArraySlice<Double>, p: Double, eps: Double) -> Double {
        pow(zip(a, b).map { pow(abs($0 - $1 + eps), p) }.reduce(0, +), 1 / p)
    }

    static func hingeEmbedding(_ x: [Double], labels: [Double], margin: Double) -> Double {
        mean(labels.indices.map { labels[$0] > 0 ? x[$0] : max(0, margin - x[$0]) })
    }

    static func tripletMargin(_ embeddings: [Double], dimension: Int, margin: Double, p: Double, eps: Double) -> Double {
        let r = rows(embeddings, columns: dimension)
        return mean((0..<(r.count / 3)).map { i in
            let toPositive = pairwiseDistance(r[3 * i], r[3 * i + 1], p: p, eps: eps)
            let toNegative = pairwiseDistance(r[3 * i], r[3 * i + 2], p: p, eps: eps)
            return max(toPositive - toNegative + margin, 0)
        })
    }

    // MARK: Contrastive

    static func infoNCE(_ embeddings: [Double], dimension: Int, temperature: Double) -> Double {
        let r = rows(embeddings, columns: dimension)
        let count = r.count / 2
        return mean((0..<count).map { i in
            let logits = (0..<count).map { j in cosine(r[2 * i], r[2 * j + 1]) / temperature }
            return logSumExp(logits) - logits[i]
        })
    }

    static func nce(_ logits: [Double], classes: Int, targets: [Int], noise: [Int], k: Int, q: [Double]) -> Double {
        var total = 0.0
        for (r, t) in targets.enumerated() {
            total -= log(1 / (1 + exp(-(logits[r * classes + t] - log(Double(k) * q[t])))))
            for j in 0..<k {
                let y = noise[r * k + j]
                total -= log(1 - 1 / (1 + exp(-(logits[r * classes + y] - log(Double(k) * q[y])))))
            }
        }
        return total / Double(targets.count)
    }
}
