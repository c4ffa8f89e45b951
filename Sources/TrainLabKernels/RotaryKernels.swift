import Foundation

// Rotary position embedding (RoPE, Su et al. 2021, https://arxiv.org/abs/2104.09864) in the
// half-split convention of GPT-NeoX and Hugging Face's Llama (`rotate_half`): within each head of
// size D, element i < D/2 pairs with element i + D/2 and the pair turns by the angle t · θ_i,
// θ_i = base^(-2i/D), t the position:
//   y_i = x_i cos - x_{i+D/2} sin,  y_{i+D/2} = x_{i+D/2} cos + x_i sin
// The map is a rotation, so its backward is the rotation by -t·θ_i: dx = Rᵀ dy.

public enum RotaryKernels {
    /// cos(t · θ_i) and sin(t · θ_i) for t < T, i < D/2, computed in Float64 and rounded.
    // cos, sin (T, D/2)
    public static func tables(
        length: Int, headSize: Int, base: Double,
        cos: UnsafeMutablePointer<Float>, sin: UnsafeMutablePointer<Float>
    ) {
        precondition(headSize % 2 == 0, "rotary embedding needs an even head size, got \(headSize)")
        let half = headSize / 2
        for i in 0..<half {
            let frequency = Foundation.pow(base, -2 * Double(i) / Double(headSize))
            for t in 0..<length {
                let angle = Double(t) * frequency
                cos[t * half + i] = Float(Foundation.cos(angle))
                sin[t * half + i] = Float(Foundation.sin(angle))
            }
        }
    }

    /// y = R_t x per head (or y += R_tᵀ x with `inverse` and `accumulate`, the backward).
    // x, y (B, T, H, D); cos, sin (T, D/2)
    public static func rotate(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
        batch: Int, length: Int, heads: Int, headSize: Int,
        cos: UnsafePointer<Float>, sin: UnsafePointer<Float>,
        inverse: Bool, accumulate: Bool, pool: ThreadPool = .shared
    ) {
        let half = headSize / 2
        let rowSize = heads * headSize
        let direction: Float = inverse ? -1 : 1
        pool.parallelRanges(batch * length, grain: max(1, VectorKernels.elementGrain / max(rowSize, 1))) { range, _ in
            for row in range {
                let c = cos + (row % length) * half, s = sin + (row % length) * half
                for h in 0..<heads {
                    let input = x + row * rowSize + h * headSize
                    let output = y + row * rowSize + h * headSize
                    for i in 0..<half {
                        let first = input[i], second = input[i + half]
                        let sine = direction * s[i]
                        let y1 = first * c[i] - second * sine, y2 = second * c[i] + first * sine
                        if accumulate {
                            output[i] += y1
                            output[i + half] += y2
                        } else {
                            output[i] = y1
                            output[i + half] = y2
                        }
                    }
                }
            }
        }
    }
}
