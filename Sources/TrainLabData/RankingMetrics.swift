import Foundation

/// Quality measures of the scores a model gives the documents of ranking lists.
public enum RankingMetrics {
    /// Mean NDCG@k over the lists: list l is elements l·n ..< (l+1)·n of `scores` and
    /// `relevance` (n = `listSize`, the `ranking_lists` row layout), and
    ///
    ///   DCG@k = Σ_{i=1..k} (2^rel_(i) − 1) / log₂(i + 1),   NDCG@k = DCG@k / IDCG@k,
    ///
    /// with rel_(i) the relevance of the document ranked i-th by descending score and IDCG@k the
    /// DCG@k of the list sorted by descending relevance (Järvelin & Kekäläinen 2002; the gain
    /// 2^rel − 1 as Burges et al. 2005). Conventions:
    /// - a list whose IDCG@k is 0 (no relevant document) counts as 1 (no order can be wrong);
    /// - tied scores are averaged (McSherry & Najork 2008, as scikit-learn's `ndcg_score`): a group
    ///   of equal scores covering ranks p … q contributes mean(gain over the group) × Σ_{i=p..q, i≤k}
    ///   1/log₂(i + 1), the expectation over the orders of the tie, so a constant score gets the
    ///   NDCG of a uniformly random order; a NaN score ranks below every number;
    /// - k is clamped to n; no lists gives 1.
    ///
    /// - Precondition: `scores.count == relevance.count`, a multiple of `listSize` ≥ 1; `k` ≥ 1.
    public static func ndcg(scores: [Float], relevance: [Float], listSize: Int, k: Int) -> Double {
        precondition(listSize >= 1, "ndcg: listSize must be at least 1, got \(listSize)")
        precondition(k >= 1, "ndcg: k must be at least 1, got \(k)")
        precondition(scores.count == relevance.count && scores.count % listSize == 0,
                     "ndcg: \(scores.count) scores and \(relevance.count) relevance values for lists of \(listSize)")
        let lists = scores.count / listSize
        guard lists > 0 else { return 1 }
        let depth = min(k, listSize)
        let discounts = (1...depth).map { 1 / Foundation.log2(Double($0) + 1) }
        var total = 0.0
        for l in 0..<lists {
            let base = l * listSize
            let gains = (0..<listSize).map { Foundation.pow(2, Double(relevance[base + $0])) - 1 }
            // Ideal: gains in descending order, no ties to average (equal gains are interchangeable).
            let ideal = gains.sorted(by: >)
            var idealDCG = 0.0
            for i in 0..<depth { idealDCG += ideal[i] * discounts[i] }
            guard idealDCG > 0 else {
                total += 1
                continue
            }
            let key = (0..<listSize).map { i -> Double in
                let s = Double(scores[base + i])
                return s.isNaN ? -.infinity : s
            }
            let order = (0..<listSize).sorted { key[$0] > key[$1] || (key[$0] == key[$1] && $0 < $1) }
            var dcg = 0.0
            var start = 0
            while start < depth {
                var end = start + 1
                while end < listSize && key[order[end]] == key[order[start]] { end += 1 }
                let meanGain = (start..<end).reduce(0.0) { $0 + gains[order[$1]] } / Double(end - start)
                let discount = (start..<min(end, depth)).reduce(0.0) { $0 + discounts[$1] }
                dcg += meanGain * discount
                start = end
            }
            total += dcg / idealDCG
        }
        return total / Double(lists)
    }
}
