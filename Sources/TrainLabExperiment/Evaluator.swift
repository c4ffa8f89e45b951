import TrainLabKernels
import TrainLabAutodiff
import TrainLabData
import TrainLabModels

/// Validation loss (mean over the set), accuracy (classification) and NDCG over whole lists
/// (ranking), in fixed chunks of rows.
final class Evaluator {
    let data: Dataset
    let model: any Model
    let loss: any Loss
    let tape: Tape
    let chunks: [(range: Range<Int>, batch: BatchBuffers)]
    let classification: Bool

    init(data: Dataset, task: TaskData, model: any Model, loss: any Loss, precision: MatrixPrecision, pool: ThreadPool) {
        self.data = data
        self.model = model
        self.loss = loss
        classification = task.kind == .classification || task.kind == .sequence
        tape = Tape(pool: pool, precision: precision)
        let chunk = max(1, 1024 / task.groupSize)
        chunks = stride(from: 0, to: data.count, by: chunk).map { lower in
            let range = lower..<min(lower + chunk, data.count)
            let batch = BatchBuffers(data: data, rows: range.count, task: task, loss: loss)
            batch.load(ArraySlice(Array(range)))
            return (range, batch)
        }
    }

    func evaluate() -> (loss: Double, accuracy: Double?, ndcg: Double?) {
        model.isTraining = false
        defer { model.isTraining = true }
        var total = 0.0, correct = 0, ndcgTotal = 0.0, weight = 0
        var ranking = false
        for (range, batch) in chunks {
            tape.reset()
            let prediction = model.forward(tape.constant(batch.inputs), on: tape)
            let value = loss(prediction, batch.targets, on: tape)
            // Sequence tasks leave positions unscored (target -100): the mean is over scored rows.
            var counted = range.count
            if case let .classes(ids) = batch.targets, ids.count != range.count || ids.contains(Tape.ignoredTarget) {
                counted = ids.reduce(0) { $0 + ($1 == Tape.ignoredTarget ? 0 : 1) }
            }
            total += Double(tape.value(value)[0]) * Double(counted)
            weight += counted
            if classification, let ids = batch.classIds {
                let logits = tape.value(prediction)
                let columns = logits.columns
                for (r, target) in ids.enumerated() where target != Tape.ignoredTarget {
                    var best = 0
                    for c in 1..<columns where logits[r * columns + c] > logits[r * columns + best] { best = c }
                    if best == target { correct += 1 }
                }
            }
            if let relevance = batch.relevance {
                ranking = true
                let listSize = relevance.columns
                ndcgTotal += RankingMetrics.ndcg(scores: tape.value(prediction).scalars, relevance: relevance.scalars,
                                                 listSize: listSize, k: listSize) * Double(range.count)
            }
        }
        let n = Double(data.count), scored = Double(max(weight, 1))
        return (total / scored, classification ? Double(correct) / scored : nil, ranking ? ndcgTotal / n : nil)
    }
}
