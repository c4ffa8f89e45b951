import TrainLabKernels

/// Checks an op's Float32 backward against central finite differences of a Float64 reference.
///
/// The op's output is contracted with fixed pseudo-random weights w, L = Σ w ⊙ f(x), so that
/// every output element contributes to the checked gradient. The reference computes f in Float64,
/// where a central difference with h = 1e-6 is accurate to about 1e-9, far below the Float32
/// backward's own rounding; the comparison therefore measures the backward, not the checker.
public struct GradientCheck {
    /// The worst disagreement found.
    public struct Report: CustomStringConvertible {
        /// Largest |analytic - numeric| / max(|numeric|, floor) over all input elements.
        public var worstError: Double = 0
        public var worstInput = 0, worstIndex = 0
        public var analytic = 0.0, numeric = 0.0
        /// Largest |forward32 - reference| / max(|reference|, floor) over the output.
        public var forwardError: Double = 0

        public var description: String {
            "gradient error \(worstError) at input \(worstInput)[\(worstIndex)] (backward \(analytic), finite difference \(numeric)); forward error \(forwardError)"
        }
    }

    public var step = 1e-6

    public init() {}

    /// - Parameters:
    ///   - inputs: the op's inputs (all receive gradients).
    ///   - build: records the op on a tape.
    ///   - reference: the same function in Float64, on the inputs' values (row-major).
    public func run(
        inputs: [Tensor],
        pool: ThreadPool = .shared,
        build: (Tape, [Variable]) -> Variable,
        reference: ([[Double]]) -> [Double]
    ) -> Report {
        let tape = Tape(pool: pool)
        let variables = inputs.map { tape.input($0) }
        let output = build(tape, variables)
        let outputValue = tape.value(output)
        var generator = SplitMix64(seed: 0x5eed)
        let weights = Tensor(shape: outputValue.shape)
        for i in 0..<weights.count { weights[i] = Float(generator.nextUnit() * 2 - 1) }
        tape.backward(from: output, seed: weights)

        var report = Report()
        var point = inputs.map { $0.scalars.map(Double.init) }
        let forward = reference(point)
        precondition(forward.count == outputValue.count, "reference gives \(forward.count) values for output \(outputValue.shape)")
        let outputScale = max(forward.map(Swift.abs).max() ?? 0, 1e-3)
        for i in 0..<forward.count {
            let error = Swift.abs(Double(outputValue[i]) - forward[i]) / max(Swift.abs(forward[i]), 1e-2 * outputScale)
            report.forwardError = max(report.forwardError, error)
        }
        let w = weights.scalars.map(Double.init)
        func loss(_ x: [[Double]]) -> Double {
            let y = reference(x)
            var s = 0.0
            for i in y.indices { s += w[i] * y[i] }
            return s
        }
        for (inputIndex, variable) in variables.enumerated() {
            let analytic = tape.gradient(variable)
            var numeric = [Double](repeating: 0, count: inputs[inputIndex].count)
            for j in numeric.indices {
                let saved = point[inputIndex][j]
                let h = step * max(1, Swift.abs(saved))
                point[inputIndex][j] = saved + h
                let up = loss(point)
                point[inputIndex][j] = saved - h
                let down = loss(point)
                point[inputIndex][j] = saved
                numeric[j] = (up - down) / (2 * h)
            }
            // Errors are relative to the element, with a floor at 1% of the largest gradient so
            // that entries that are nearly zero by cancellation do not dominate.
            let scale = max(numeric.map(Swift.abs).max() ?? 0, 1e-6)
            for j in numeric.indices {
                let a = analytic.map { Double($0[j]) } ?? 0
                let error = Swift.abs(a - numeric[j]) / max(Swift.abs(numeric[j]), 1e-2 * scale)
                if error > report.worstError {
                    report.worstError = error
                    report.worstInput = inputIndex
                    report.worstIndex = j
                    report.analytic = a
                    report.numeric = numeric[j]
                }
            }
        }
        return report
    }
}
