import TrainLabAutodiff
import TrainLabData
import TrainLabModels

/// A mini-batch's tensors, allocated once and refilled each step. Grouped tasks (ranking lists,
/// pairs, triplets, views) keep a whole group in one data row of k·D features; the same memory
/// read as (k·B, D) gives the model one item per row, in the order `LossTargets` expects.
final class BatchBuffers {
    let data: Dataset
    let rows: Int
    let inputs: Tensor
    private let targetKind: LossTargetKind
    private let pairLabelColumn: Int
    private let realTargets: Tensor?
    private var classTargets: [Int] = []

    /// One-hot targets (B, classes) when a regression loss (mse, l1, huber, bce, kl_div) trains a
    /// classifier: the target row is the class's indicator vector, as `F.one_hot` gives.
    private let oneHot: Tensor?

    init(data: Dataset, rows: Int, task: TaskData, loss: any Loss) {
        self.data = data
        self.rows = rows
        inputs = Tensor(shape: [rows * task.groupSize, task.inputDim])
        targetKind = loss.targetKind
        // The pairs task's columns: similarity, then order.
        pairLabelColumn = loss.pairLabel == .order ? 1 : 0
        if case let .real(y) = data.targets {
            realTargets = Tensor(shape: [rows, y.columns])
            oneHot = nil
        } else {
            realTargets = nil
            classTargets = [Int](repeating: 0, count: rows)
            oneHot = loss.targetKind == .real ? Tensor(shape: [rows, task.outputDim]) : nil
        }
    }

    func load(_ indices: ArraySlice<Int>) {
        data.gather(indices, inputs: inputs, realTargets: realTargets, classTargets: &classTargets)
        if let oneHot {
            oneHot.fill(0)
            for (r, c) in classTargets.enumerated() { oneHot[r * oneHot.columns + c] = 1 }
        }
    }

    /// The class ids of a classification batch, whatever form the loss reads them in.
    var classIds: [Int]? { realTargets == nil ? classTargets : nil }

    var targets: LossTargets {
        switch targetKind {
        case .classes, .noiseSamples: return .classes(classTargets)
        case .real: return .real(oneHot ?? realTargets!)
        case .lists: return .lists(relevance: realTargets!)
        case .pairs:
            let labels = realTargets!
            return .pairs(labels: (0..<rows).map { labels[$0 * labels.columns + pairLabelColumn] })
        case .triplets: return .triplets
        case .views: return .views
        }
    }

    /// Relevance grades (B, L) of a ranking batch.
    var relevance: Tensor? { targetKind == .lists ? realTargets : nil }
}
