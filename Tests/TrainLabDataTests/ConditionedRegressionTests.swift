import XCTest
import TrainLabAutodiff
@testable import TrainLabData

/// linear_regression's `condition_number` and its exact least-squares optimum f*.
final class ConditionedRegressionTests: XCTestCase {
    func options(inputDim: Int, trainSize: Int, kappa: Double?, outputDim: Int = 1) -> TaskOptions {
        var options = TaskOptions(kind: "linear_regression")
        options.inputDim = inputDim
        options.outputDim = outputDim
        options.trainSize = trainSize
        options.valSize = 0
        if let kappa { options.extra["condition_number"] = kappa }
        return options
    }

    /// Eigenvalues of a symmetric matrix (cyclic Jacobi rotations), ascending.
    func eigenvalues(_ matrix: [[Double]]) -> [Double] {
        var a = matrix
        let n = a.count
        for _ in 0..<100 {
            for p in 0..<n {
                for q in (p + 1)..<n where abs(a[p][q]) > 1e-15 {
                    let theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let (akp, akq) = (a[k][p], a[k][q])
                        a[k][p] = c * akp - s * akq
                        a[k][q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let (apk, aqk) = (a[p][k], a[q][k])
                        a[p][k] = c * apk - s * aqk
                        a[q][k] = s * apk + c * aqk
                    }
                }
            }
        }
        return (0..<n).map { a[$0][$0] }.sorted()
    }

    /// On 40 000 rows the sample covariance's eigenvalues are 1, κ^(1/3), κ^(2/3), κ (κ = 1000,
    /// d = 4) within sampling error (~1.5% at this size), and it is not diagonal (the reflection).
    func testInputCovarianceHasLogSpacedSpectrum() throws {
        let d = 4, n = 40_000, kappa = 1000.0
        let data = try SyntheticTasks.linearRegression(options(inputDim: d, trainSize: n, kappa: kappa), seed: 3).data
        var covariance = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += Double(data.train.inputs[i * d + j]) / Double(n) } }
        for i in 0..<n {
            for a in 0..<d {
                for b in 0..<d {
                    covariance[a][b] += (Double(data.train.inputs[i * d + a]) - mean[a]) * (Double(data.train.inputs[i * d + b]) - mean[b]) / Double(n - 1)
                }
            }
        }
        let spectrum = eigenvalues(covariance)
        for (j, value) in spectrum.enumerated() {
            let expected = pow(kappa, Double(j) / 3)
            XCTAssertEqual(value / expected, 1, accuracy: 0.05, "eigenvalue \(j): \(value), expected \(expected)")
        }
        XCTAssertEqual(spectrum[3] / spectrum[0], kappa, accuracy: 0.08 * kappa)
        var offDiagonal = 0.0
        for a in 0..<d { for b in 0..<d where a != b { offDiagonal = max(offDiagonal, abs(covariance[a][b])) } }
        XCTAssertGreaterThan(offDiagonal, 1, "a rotated spectrum has off-diagonal covariance")
    }

    /// condition_number 1 (or absent) draws the data of x ~ N(0, I): the draws of the generator
    /// before the option existed, restated here.
    func testConditionNumberOneLeavesTheDataUnchanged() throws {
        let d = 3, m = 2, n = 20
        let absent = try SyntheticTasks.linearRegression(options(inputDim: d, trainSize: n, kappa: nil, outputDim: m), seed: 7).data
        let one = try SyntheticTasks.linearRegression(options(inputDim: d, trainSize: n, kappa: 1, outputDim: m), seed: 7).data
        var stream = RandomStream(seed: 7, salt: StreamSalt.taskData)
        let weights = (0..<(d * m)).map { _ in stream.normal() / Double(d).squareRoot() }
        let bias = (0..<m).map { _ in stream.normal() }
        for i in 0..<n {
            let x = (0..<d).map { _ in Double(Float(stream.normal())) }
            for j in 0..<d {
                XCTAssertEqual(absent.train.inputs[i * d + j], Float(x[j]))
                XCTAssertEqual(one.train.inputs[i * d + j], Float(x[j]))
            }
            for k in 0..<m {
                var s = bias[k]
                for j in 0..<d { s += x[j] * weights[j * m + k] }
                let y = Float(s + 0.1 * stream.normal())
                XCTAssertEqual(absent.train.targetsTensor[i * m + k], y)
                XCTAssertEqual(one.train.targetsTensor[i * m + k], y)
            }
        }
    }

    /// With one input, f* is the loss of the textbook fit: slope cov(x, y)/var(x), intercept
    /// ȳ − slope·x̄; and on more inputs it lies below the loss of the true W*, b*.
    func testOptimumLossIsTheLeastSquaresFit() throws {
        let n = 200
        let data = try SyntheticTasks.linearRegression(options(inputDim: 1, trainSize: n, kappa: nil), seed: 1).data
        let x = (0..<n).map { Double(data.train.inputs[$0]) }, y = (0..<n).map { Double(data.train.targetsTensor[$0]) }
        let mx = x.reduce(0, +) / Double(n), my = y.reduce(0, +) / Double(n)
        var covariance = 0.0, variance = 0.0
        for i in 0..<n {
            covariance += (x[i] - mx) * (y[i] - my)
            variance += (x[i] - mx) * (x[i] - mx)
        }
        let slope = covariance / variance
        let intercept = my - slope * mx
        var closedForm = 0.0
        for i in 0..<n { closedForm += pow(slope * x[i] + intercept - y[i], 2) / Double(n) }
        let optimum = try XCTUnwrap(data.notes["optimum_loss"])
        XCTAssertEqual(optimum, closedForm, accuracy: 1e-12 * max(closedForm, 1))

        let (wide, trueWeights, trueBias) = try SyntheticTasks.linearRegression(
            options(inputDim: 5, trainSize: 100, kappa: 100, outputDim: 2), seed: 2)
        var trueLoss = 0.0
        for i in 0..<100 {
            for k in 0..<2 {
                var prediction = trueBias[k]
                for j in 0..<5 { prediction += Double(wide.train.inputs[i * 5 + j]) * trueWeights[j * 2 + k] }
                trueLoss += pow(prediction - Double(wide.train.targetsTensor[i * 2 + k]), 2) / 200
            }
        }
        let wideOptimum = try XCTUnwrap(wide.notes["optimum_loss"])
        XCTAssertLessThan(wideOptimum, trueLoss)
        // E[f*] = σ²(1 − (d+1)/n) = 0.01 · 0.94 for least squares with noise σ = 0.1.
        XCTAssertEqual(wideOptimum, 0.0094, accuracy: 0.003)
    }

    /// Fewer rows than d + 1: the fit interpolates and the normal equations are singular; no f*.
    func testNoOptimumWhenUnderdetermined() throws {
        let data = try SyntheticTasks.linearRegression(options(inputDim: 8, trainSize: 5, kappa: nil), seed: 0).data
        XCTAssertNil(data.notes["optimum_loss"])
    }
}
