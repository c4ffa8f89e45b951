import Foundation

/// A Float32 array with a shape, row-major, in 64-byte-aligned memory it owns, or a view with
/// another shape of another tensor's memory (a reshape costs no copy).
///
/// A reference type on purpose: buffers are planned once and reused between training steps, and
/// the kernels write through `data`. Tensors are not shared between threads except through the
/// kernels, which split them into disjoint ranges.
public final class Tensor {
    public let shape: [Int]
    public let count: Int
    public let data: UnsafeMutablePointer<Float>
    /// The tensor whose memory this view shares (kept alive by the view); nil when it owns `data`.
    public let base: Tensor?

    /// A zero-filled tensor.
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.shape = shape
        count = shape.reduce(1, *)
        var raw: UnsafeMutableRawPointer? = nil
        posix_memalign(&raw, 64, max(count, 1) * MemoryLayout<Float>.stride)
        data = raw!.bindMemory(to: Float.self, capacity: max(count, 1))
        data.initialize(repeating: 0, count: max(count, 1))
        base = nil
    }

    /// A view of `tensor`'s elements with another shape of the same element count.
    public convenience init(viewing tensor: Tensor, shape: [Int]) {
        self.init(viewing: tensor, offset: 0, shape: shape)
        precondition(count == tensor.count, "a view of \(tensor.shape) (\(tensor.count) elements) cannot have shape \(shape)")
    }

    /// A view of the elements `offset ..< offset + shape's count` of `tensor`.
    public init(viewing tensor: Tensor, offset: Int, shape: [Int]) {
        let count = shape.reduce(1, *)
        precondition(shape.allSatisfy { $0 >= 0 } && offset >= 0 && offset + count <= tensor.count,
                     "a view of \(count) elements (shape \(shape)) at \(offset) in a tensor of \(tensor.count)")
        self.shape = shape
        self.count = count
        data = tensor.data + offset
        base = tensor.base ?? tensor
    }

    /// A tensor holding `values` (row-major), which must have `shape`'s element count.
    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape) (\(count) elements)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit { if base == nil { free(data) } }

    /// A copy of the elements.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// Rows of a matrix view: the first dimensions multiplied together.
    public var rows: Int { shape.count <= 1 ? 1 : count / shape[shape.count - 1] }
    /// The last dimension (1 for a scalar).
    public var columns: Int { shape.last ?? 1 }

    public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }

    public func fill(_ value: Float) { data.update(repeating: value, count: count) }

    public func copy(from other: Tensor) {
        precondition(other.count == count, "copy from shape \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }
}

/// A trainable tensor with its gradient buffer. Backward passes add (+=) into `gradient`;
/// the training loop zeroes it between steps.
///
/// Zeroing is lazy: `zeroGradient()` only marks the buffer, and the first backward op to reach
/// the parameter writes its gradient instead of adding to zeros (no memset, no read of C in the
/// weight-gradient GEMM). Reading `gradient` while the mark is set fills the zeros then.
public final class Parameter {
    public let name: String
    public private(set) var value: Tensor
    private(set) var gradientStorage: Tensor
    /// The stored gradient is stale and stands for zeros.
    var gradientIsZero = false

    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value
        gradientStorage = Tensor(shape: value.shape)
    }

    /// ∂loss/∂value, accumulated by backward passes since the last `zeroGradient()`.
    public var gradient: Tensor {
        if gradientIsZero {
            gradientStorage.fill(0)
            gradientIsZero = false
        }
        return gradientStorage
    }

    public func zeroGradient() { gradientIsZero = true }

    /// Moves `parameters` (duplicates once) into one value buffer and one gradient buffer, in
    /// order, each parameter becoming a view of its slice: an optimizer or a gradient norm then
    /// makes one pass over all of them (`contiguousSpan`). Values and gradients are kept. Call it
    /// before anything holds on to a parameter's tensors (right after building the model).
    public static func packContiguously(_ parameters: [Parameter]) {
        var seen = Set<ObjectIdentifier>()
        let unique = parameters.filter { seen.insert(ObjectIdentifier($0)).inserted }
        let total = unique.reduce(0) { $0 + $1.value.count }
        let values = Tensor(shape: [total]), gradients = Tensor(shape: [total])
        var offset = 0
        for p in unique {
            let value = Tensor(viewing: values, offset: offset, shape: p.value.shape)
            let gradient = Tensor(viewing: gradients, offset: offset, shape: p.value.shape)
            value.copy(from: p.value)
            gradient.copy(from: p.gradientStorage)
            (p.value, p.gradientStorage) = (value, gradient)
            offset += p.value.count
        }
    }

    /// When `parameters` lie back to back in memory, in order (after `packContiguously`), their
    /// values and gradients as single buffers of `count` floats; else nil. Pending zero
    /// gradients are filled first, so the gradients read as they should.
    public static func contiguousSpan(_ parameters: [Parameter])
        -> (values: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>, count: Int)? {
        guard let first = parameters.first else { return nil }
        var count = 0
        for p in parameters {
            guard p.value.data == first.value.data + count, p.gradientStorage.data == first.gradientStorage.data + count else {
                return nil
            }
            count += p.value.count
        }
        for p in parameters where p.gradientIsZero { _ = p.gradient }
        return (first.value.data, first.gradientStorage.data, count)
    }
}
