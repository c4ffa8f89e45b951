// Gathers: outputs made of chosen elements or rows of the input. Indices may repeat; backward
// scatters with += so that a repeated index receives every gradient that reads it.

extension Tape {
    /// y (M) = x.flat[indices], any elements of x in row-major order, repeats allowed.
    /// dx.flat[indices[m]] += dy[m]
    public func gatherElements(_ x: Variable, at indices: [Int]) -> Variable {
        let xv = value(x)
        let count = xv.count
        for i in indices {
            precondition(i >= 0 && i < count, "gatherElements: index \(i) outside 0..<\(count) of shape \(xv.shape)")
        }
        let (y, out) = output(shape: [indices.count], from: x)
        for (m, i) in indices.enumerated() { out.data[m] = xv.data[i] }
        onBackward(y) { [unowned self] dy in
            guard let dx = gradientIfTracked(x) else { return }
            for (m, i) in indices.enumerated() { dx.data[i] += dy.data[m] }
        }
        return y
    }

    /// y (R) = x[r, columns[r]] for x (R, C): one column per row, e.g. each row's target logit.
    /// A composition (gatherElements at r·C + columns[r]); its backward is gatherElements'.
    public func pickColumns(_ x: Variable, _ columns: [Int]) -> Variable {
        let sx = shape(x)
        precondition(sx.count == 2, "pickColumns takes a matrix (R, C), got \(sx)")
        precondition(columns.count == sx[0], "pickColumns: \(columns.count) column indices for shape \(sx)")
        let width = sx[1]
        return gatherElements(x, at: columns.enumerated().map { r, c in
            precondition(c >= 0 && c < width, "pickColumns: column \(c) outside 0..<\(width) of shape \(sx)")
            return r * width + c
        })
    }

    /// y (M, ...) = x[rows[m], ...]: whole slices along the first dimension, repeats allowed
    /// (select, slice or stride rows: [0, 2, 4, ...] takes the even ones).  dx[rows[m]] += dy[m]
    public func selectRows(_ x: Variable, _ rows: [Int]) -> Variable {
        let xv = value(x)
        precondition(!xv.shape.isEmpty, "selectRows needs at least one dimension, got \(xv.shape)")
        let available = xv.shape[0]
        let width = available == 0 ? 0 : xv.count / available
        for r in rows {
            precondition(r >= 0 && r < available, "selectRows: row \(r) outside 0..<\(available) of shape \(xv.shape)")
        }
        var outShape = xv.shape
        outShape[0] = rows.count
        let (y, out) = output(shape: outShape, from: x)
        for (m, r) in rows.enumerated() { (out.data + m * width).update(from: xv.data + r * width, count: width) }
        onBackward(y) { [unowned self] dy in
            guard let dx = gradientIfTracked(x) else { return }
            for (m, r) in rows.enumerated() {
                let source = dy.data + m * width, target = dx.data + r * width
                for c in 0..<width { target[c] += source[c] }
            }
        }
        return y
    }
}
