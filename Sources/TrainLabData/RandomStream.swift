import Foundation
import TrainLabKernels
import TrainLabAutodiff

/// The one pseudo-random stream a task or sampler draws from: SplitMix64 plus the transforms
/// the tasks need, written out here so that the data depend only on the seed (never on the
/// standard library's generators or their algorithms).
struct RandomStream {
    var generator: SplitMix64
    /// The second Box–Muller value, returned by the next `normal()`.
    private var spare: Double? = nil

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    /// A stream seeded from `seed` and a per-use `salt`: s = SplitMix64(seed ^ salt).next(), so that
    /// a task and a sampler given the same experiment seed do not replay each other's numbers.
    init(seed: UInt64, salt: UInt64) {
        var mixer = SplitMix64(seed: seed ^ salt)
        self.init(seed: mixer.next())
    }

    /// [generator state, 1 and the spare's bits when one is kept, else 0 and 0].
    var savedState: [Int64] {
        [Int64(bitPattern: generator.state), spare == nil ? 0 : 1, Int64(bitPattern: (spare ?? 0).bitPattern)]
    }

    mutating func restore(_ saved: [Int64]) throws {
        guard saved.count == 3 else { throw StateArchiveError("a random stream's state has 3 values, got \(saved.count)") }
        generator.state = UInt64(bitPattern: saved[0])
        spare = saved[1] == 0 ? nil : Double(bitPattern: UInt64(bitPattern: saved[2]))
    }

    /// Uniform in [0, 1) with 53 random bits.
    mutating func uniform() -> Double { generator.nextUnit() }

    /// Standard normal by Box–Muller: with u1 ∈ (0, 1], u2 ∈ [0, 1), r = √(−2 ln u1), θ = 2π u2,
    /// returns r cos θ and keeps r sin θ for the next call.
    mutating func normal() -> Double {
        if let z = spare {
            spare = nil
            return z
        }
        let u1 = 1 - generator.nextUnit()
        let u2 = generator.nextUnit()
        let r = (-2 * Foundation.log(u1)).squareRoot()
        let theta = 2 * Double.pi * u2
        spare = r * Foundation.sin(theta)
        return r * Foundation.cos(theta)
    }

    /// `count` standard normals into `out` at once: Box–Muller in Float32 on the stream's next
    /// draws, 16 draws per 16 values (`RandomKernels.standardNormals`), spread over `pool` with
    /// the same values for any thread count. The spare of `normal()` stays as it was.
    mutating func fillStandardNormals(_ out: UnsafeMutablePointer<Float>, count: Int, pool: ThreadPool) {
        RandomKernels.standardNormals(state: generator.state, count: count, into: out, pool: pool)
        generator.state &+= UInt64(RandomKernels.drawsForStandardNormals(count: count)) &* RandomKernels.splitMix64Increment
    }

    /// Uniform integer in 0 ..< bound: the high word of next() · bound (multiply-shift; bias < bound / 2⁶⁴).
    mutating func index(below bound: Int) -> Int {
        precondition(bound > 0)
        return Int(generator.next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Fisher–Yates: for i = n−1 … 1, swap a[i] with a[j], j uniform in 0 ... i.
    mutating func shuffle(_ a: inout [Int]) {
        var i = a.count - 1
        while i > 0 {
            a.swapAt(i, index(below: i + 1))
            i -= 1
        }
    }
}

/// Salts for `RandomStream(seed:salt:)`.
enum StreamSalt {
    static let taskData: UInt64 = 0x7A5C_D47A_5EED_0001
    static let batchOrder: UInt64 = 0xB47C_0D3E_5EED_0002
    static let testRows: UInt64 = 0x7E57_5D11_5EED_0003
}
