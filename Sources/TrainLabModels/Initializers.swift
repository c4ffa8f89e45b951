import Foundation
import TrainLabAutodiff

/// Weight initializers with `torch.nn.init` semantics. For a weight of shape [out, in, ...]:
/// fan_in = in · receptive field, fan_out = out · receptive field (a bias [n] has fan_in = n).
///
/// Glorot (Xavier), He (Kaiming) and LeCun are one variance-scaling rule with different
/// (fan, gain): std = gain · √(scale / fan); the uniform variants use bound = √3 · std.
public enum Initializer: Sendable, Equatable {
    case zeros
    case ones
    /// N(mean, std²).
    case normal(mean: Double = 0, std: Double = 1)
    /// U(a, b).
    case uniform(a: Double = 0, b: Double = 1)
    /// N(mean, std²) restricted to [a, b] (resampled), as `trunc_normal_`.
    case truncatedNormal(mean: Double = 0, std: Double = 1, a: Double = -2, b: Double = 2)
    /// std = gain · √(2 / (fan_in + fan_out)).
    case xavierNormal(gain: Double = 1)
    /// bound = gain · √(6 / (fan_in + fan_out)).
    case xavierUniform(gain: Double = 1)
    /// std = gain(nonlinearity, a) / √fan, fan by `mode`.
    case kaimingNormal(a: Double = 0, mode: FanMode = .fanIn, nonlinearity: Nonlinearity = .leakyRelu)
    /// bound = √3 · gain(nonlinearity, a) / √fan.
    case kaimingUniform(a: Double = 0, mode: FanMode = .fanIn, nonlinearity: Nonlinearity = .leakyRelu)
    /// std = 1 / √fan: fan_in is LeCun's rule; fan_out is the notes' variance-1/m variant.
    case lecunNormal(mode: FanMode = .fanIn)
    /// bound = √3 / √fan.
    case lecunUniform(mode: FanMode = .fanIn)
    /// A (semi-)orthogonal matrix from the QR decomposition of a Gaussian matrix, signs fixed by
    /// diag(R) so the distribution is uniform (Haar), times `gain`.
    case orthogonal(gain: Double = 1)

    public enum FanMode: String, Sendable { case fanIn = "fan_in", fanOut = "fan_out" }

    /// `torch.nn.init.calculate_gain` nonlinearities.
    public enum Nonlinearity: String, Sendable, CaseIterable {
        case linear, identity, sigmoid, tanh, relu, leakyRelu = "leaky_relu", selu

        /// linear/identity/sigmoid 1, tanh 5/3, relu √2, leaky_relu √(2 / (1 + a²)), selu 3/4.
        public func gain(_ a: Double) -> Double {
            switch self {
            case .linear, .identity, .sigmoid: 1
            case .tanh: 5.0 / 3
            case .relu: 2.0.squareRoot()
            case .leakyRelu: (2 / (1 + a * a)).squareRoot()
            case .selu: 0.75
            }
        }
    }

    /// (fan_in, fan_out) of a tensor shape, as torch's `_calculate_fan_in_and_fan_out`
    /// (a 1-D tensor is treated as [n] with fan_in = fan_out = n).
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        if shape.count < 2 { return (shape.first ?? 1, shape.first ?? 1) }
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// Fills `tensor` in place from `generator`.
    public func fill(_ tensor: Tensor, using generator: inout SplitMix64) {
        let (fanIn, fanOut) = Self.fans(tensor.shape)
        func fan(_ mode: FanMode) -> Double { Double(mode == .fanIn ? fanIn : fanOut) }
        switch self {
        case .zeros: tensor.fill(0)
        case .ones: tensor.fill(1)
        case let .normal(mean, std): fillNormal(tensor, mean: mean, std: std, &generator)
        case let .uniform(a, b): fillUniform(tensor, a, b, &generator)
        case let .truncatedNormal(mean, std, a, b):
            for i in 0..<tensor.count {
                var x: Double
                repeat { x = mean + std * generator.nextNormal() } while x < a || x > b
                tensor[i] = Float(x)
            }
        case let .xavierNormal(gain):
            fillNormal(tensor, mean: 0, std: gain * (2 / Double(fanIn + fanOut)).squareRoot(), &generator)
        case let .xavierUniform(gain):
            let bound = gain * (6 / Double(fanIn + fanOut)).squareRoot()
            fillUniform(tensor, -bound, bound, &generator)
        case let .kaimingNormal(a, mode, nonlinearity):
            fillNormal(tensor, mean: 0, std: nonlinearity.gain(a) / fan(mode).squareRoot(), &generator)
        case let .kaimingUniform(a, mode, nonlinearity):
            let bound = 3.0.squareRoot() * nonlinearity.gain(a) / fan(mode).squareRoot()
            fillUniform(tensor, -bound, bound, &generator)
        case let .lecunNormal(mode):
            fillNormal(tensor, mean: 0, std: 1 / fan(mode).squareRoot(), &generator)
        case let .lecunUniform(mode):
            let bound = (3 / fan(mode)).squareRoot()
            fillUniform(tensor, -bound, bound, &generator)
        case let .orthogonal(gain):
            fillOrthogonal(tensor, gain: gain, &generator)
        }
    }

    private func fillNormal(_ t: Tensor, mean: Double, std: Double, _ g: inout SplitMix64) {
        for i in 0..<t.count { t[i] = Float(mean + std * g.nextNormal()) }
    }

    private func fillUniform(_ t: Tensor, _ a: Double, _ b: Double, _ g: inout SplitMix64) {
        for i in 0..<t.count { t[i] = Float(a + (b - a) * g.nextUnit()) }
    }

    /// rows = shape[0], columns = the rest. QR (modified Gram–Schmidt, in Float64) of a Gaussian
    /// matrix of shape (max, min); Q's columns are orthonormal; Q · sign(diag R) makes it Haar.
    private func fillOrthogonal(_ t: Tensor, gain: Double, _ g: inout SplitMix64) {
        let rows = t.shape.first ?? 1
        let columns = max(1, t.count / max(rows, 1))
        let tall = max(rows, columns), wide = min(rows, columns)
        // a: tall x wide, column-major for convenient column operations.
        var a = (0..<(tall * wide)).map { _ in g.nextNormal() }
        for j in 0..<wide {
            for previous in 0..<j {
                var dot = 0.0
                for i in 0..<tall { dot += a[previous * tall + i] * a[j * tall + i] }
                for i in 0..<tall { a[j * tall + i] -= dot * a[previous * tall + i] }
            }
            var norm = 0.0
            for i in 0..<tall { norm += a[j * tall + i] * a[j * tall + i] }
            norm = norm.squareRoot()
            // Gram–Schmidt's R has a positive diagonal, so Q is already the sign-corrected factor.
            for i in 0..<tall { a[j * tall + i] /= norm }
        }
        for r in 0..<rows {
            for c in 0..<columns {
                // rows >= columns: W = Q (tall x wide); otherwise W = Qᵀ.
                let value = rows >= columns ? a[c * tall + r] : a[r * tall + c]
                t[r * columns + c] = Float(gain * value)
            }
        }
    }
}
