/// Summary statistics over seeds: the mean and a Student-t confidence interval.
public enum Statistics {
    /// Arithmetic mean; nil for no values.
    public static func mean(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        return values.reduce(0, +) / Double(values.count)
    }

    /// Sample standard deviation `s = √(Σ(x - x̄)² / (n - 1))`; nil for fewer than two values.
    public static func sampleStandardDeviation(_ values: [Double]) -> Double? {
        guard values.count >= 2, let mean = mean(values) else { return nil }
        let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (squares / Double(values.count - 1)).squareRoot()
    }

    /// Two-sided 95% quantile of Student's t, `t(0.975, dof)`: a table for 1...30 degrees of
    /// freedom, the normal 1.96 above.
    public static func studentT95(degreesOfFreedom dof: Int) -> Double {
        precondition(dof >= 1, "Student t needs at least 1 degree of freedom, got \(dof)")
        return dof <= studentT95Table.count ? studentT95Table[dof - 1] : 1.96
    }

    /// Half-width of the 95% confidence interval of the mean, `t(0.975, n-1) · s / √n`;
    /// nil for fewer than two values.
    public static func confidenceHalfWidth95(_ values: [Double]) -> Double? {
        guard let s = sampleStandardDeviation(values) else { return nil }
        return studentT95(degreesOfFreedom: values.count - 1) * s / Double(values.count).squareRoot()
    }

    /// `t(0.975, dof)` for dof = 1...30.
    static let studentT95Table: [Double] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ]
}
