import TrainLabKernels

extension Tape {
    /// Embedding lookup (`nn.Embedding`): row n of the output is row ids[n] of the table.
    ///   y[n] = table[ids[n]],  dtable[ids[n]] += dy[n]
    /// The backward scatter-adds in the order of n; threads own column ranges of the table, so a
    /// repeated id sums its gradients in the same order for any thread count.
    // table (V, C), ids (N) in 0 ..< V -> y (N, C)
    public func embedding(_ table: Variable, ids: [Int]) -> Variable {
        let st = shape(table)
        precondition(st.count == 2, "embedding takes a table (V, C), got \(st)")
        let (vocabulary, width) = (st[0], st[1])
        for id in ids {
            precondition(id >= 0 && id < vocabulary, "embedding: id \(id) outside 0..<\(vocabulary) of table \(st)")
        }
        let (y, out) = output(shape: [ids.count, width], from: table)
        let source = value(table).data, target = out.data
        ids.withUnsafeBufferPointer { ids in
            pool.parallelRanges(ids.count, grain: max(1, VectorKernels.elementGrain / max(width, 1))) { range, _ in
                for n in range { (target + n * width).update(from: source + ids[n] * width, count: width) }
            }
        }
        onBackward(y) { [unowned self] dy in
            guard let dtable = gradientIfTracked(table) else { return }
            ids.withUnsafeBufferPointer { ids in
                VectorKernels.scatterAddRows(dy.data, rows: ids, width: width, into: dtable.data, pool: pool)
            }
        }
        return y
    }

    /// Token ids stored as Float (exact integers in 0 ..< vocabulary), as integers: the inputs of
    /// an embedding, which data sets keep in Float tensors.
    public static func tokenIds(_ x: Tensor, vocabulary: Int) -> [Int] {
        (0..<x.count).map { i in
            let v = x[i]
            precondition(v == v.rounded() && v >= 0 && v < Float(vocabulary),
                         "token id \(v) at element \(i) of \(x.shape) is not an integer in 0..<\(vocabulary)")
            return Int(v)
        }
    }
}
