import Foundation

/// A Float32 array with a shape, row-major, in 64-byte-aligned memory it owns.
///
/// A reference type on purpose: buffers are planned once and reused between training steps, and
/// the kernels write through `data`. Tensors are not shared between threads except through the
/// kernels, which split them into disjoint ranges.
public final class Tensor {
    public let shape: [Int]
    public let count: Int
    public let data: UnsafeMutablePointer<Float>

    /// A zero-filled tensor.
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.shape = shape
        count = shape.reduce(1, *)
        var raw: UnsafeMutableRawPointer? = nil
        posix_memalign(&raw, 64, max(count, 1) * MemoryLayout<Float>.stride)
        data = raw!.bindMemory(to: Float.self, capacity: max(count, 1))
        data.initialize(repeating: 0, count: max(count, 1))
    }

    /// A tensor holding `values` (row-major), which must have `shape`'s element count.
    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape) (\(count) elements)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit { free(data) }

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
/// the optimizer zeroes it between steps.
public final class Parameter {
    public let name: String
    public let value: Tensor
    public let gradient: Tensor

    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value
        gradient = Tensor(shape: value.shape)
    }

    public func zeroGradient() { gradient.fill(0) }
}
