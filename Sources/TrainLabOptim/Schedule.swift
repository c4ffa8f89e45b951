import Foundation

/// Learning rate for update k (1-based) of `total` updates, from the base rate `lr`.
public enum Schedule: Sendable, Equatable {
    /// lr
    case constant
    /// lr · γ^⌊(k-1) / stepSize⌋  (`StepLR`)
    case step(stepSize: Int, gamma: Double)
    /// lr · γ^(k-1)  (`ExponentialLR`)
    case exponential(gamma: Double)
    /// η_min + (lr - η_min) (1 + cos(π (k-1) / T)) / 2, T = total  (`CosineAnnealingLR`)
    case cosine(minLR: Double)
    /// lr · k / W for k ≤ W, then cosine from lr to η_min over the remaining updates.
    case warmupCosine(warmupSteps: Int, minLR: Double)
    /// lr · min(1, k / W)
    case linearWarmup(warmupSteps: Int)
    /// lr · min(k / W, √(W / k))  (linear warmup, then 1/√k decay)
    case inverseSqrt(warmupSteps: Int)

    public func rate(step k: Int, total: Int, lr: Double) -> Double {
        let k = Double(k)
        switch self {
        case .constant:
            return lr
        case let .step(size, gamma):
            return lr * pow(gamma, ((k - 1) / Double(max(size, 1))).rounded(.down))
        case let .exponential(gamma):
            return lr * pow(gamma, k - 1)
        case let .cosine(minLR):
            return minLR + (lr - minLR) * (1 + cos(Double.pi * (k - 1) / Double(max(total, 1)))) / 2
        case let .warmupCosine(warmup, minLR):
            let w = Double(warmup)
            if k <= w { return lr * k / w }
            let progress = (k - w) / max(Double(total) - w, 1)
            return minLR + (lr - minLR) * (1 + cos(Double.pi * min(progress, 1))) / 2
        case let .linearWarmup(warmup):
            return lr * min(1, k / Double(max(warmup, 1)))
        case let .inverseSqrt(warmup):
            let w = Double(max(warmup, 1))
            return lr * min(k / w, (w / k).squareRoot())
        }
    }
}
