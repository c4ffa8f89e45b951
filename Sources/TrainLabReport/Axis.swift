import Foundation

/// A chart axis: a linear or log10 scale over a domain, its ticks and their labels.
///
/// Linear ticks are multiples of a "nice" step, 1, 2 or 5 × 10^k, chosen like d3's
/// `tickIncrement`: about `targetTicks` intervals over the data. Log ticks are the decades inside
/// the domain (every 2nd, 3rd, ... decade when there are many), with 2× and 5× ticks added when
/// fewer than three decades show.
public struct Axis: Sendable, Equatable {
    public enum Scale: String, Sendable { case linear, log }

    public var scale: Scale
    public var lower: Double
    public var upper: Double
    public var ticks: [Double]
    /// Step between linear ticks (log axes: nil).
    public var step: Double?
    public var label: String

    /// Whether data with this lower and upper value should be drawn on a log scale: positive and
    /// spanning more than `decades` decades (upper / lower > 10^decades; curves: 2).
    public static func prefersLog(lower: Double, upper: Double, decades: Int = 2) -> Bool {
        lower > 0 && upper / lower > power10(decades)
    }

    /// A linear axis over `low...high`. With `extendToTicks` the domain grows to the ticks that
    /// enclose the data (a y axis); without, it is the data range (an x axis of steps).
    /// `minimumStep` 1 keeps the ticks on integers (steps, layer indices).
    public static func linear(from low: Double, to high: Double, label: String, targetTicks: Int = 5,
                              extendToTicks: Bool = true, minimumStep: Double = 0) -> Axis {
        var low = low, high = high
        if !(high > low) {
            let pad = low == 0 ? 1 : abs(low) * 0.1
            low -= pad
            high += pad
        }
        let step = max(niceStep(span: high - low, count: max(1, targetTicks)), minimumStep)
        if extendToTicks {
            low = (low / step + 1e-9).rounded(.down) * step
            high = (high / step - 1e-9).rounded(.up) * step
        }
        let first = Int((low / step - 1e-9).rounded(.up)), last = Int((high / step + 1e-9).rounded(.down))
        let ticks = first <= last ? (first...last).map { Double($0) * step } : []
        return Axis(scale: .linear, lower: low, upper: high, ticks: ticks, step: step, label: label)
    }

    /// A log10 axis over `low...high` (both > 0), the domain widened to the enclosing 1, 2 or
    /// 5 × 10^k values.
    public static func log(from low: Double, to high: Double, label: String) -> Axis {
        precondition(low > 0 && high > 0, "a log axis needs positive bounds, got \(low)...\(high)")
        var lower = roundedDown125(low), upper = roundedUp125(high)
        if !(upper > lower) {
            lower = roundedDown125(lower * 0.99)
            upper = roundedUp125(upper * 1.01)
        }
        let firstDecade = Int((log10(lower) - 1e-9).rounded(.up)), lastDecade = Int((log10(upper) + 1e-9).rounded(.down))
        var ticks: [Double] = []
        let decadeCount = lastDecade - firstDecade + 1
        if decadeCount >= 3 {
            let stride = [1, 2, 3, 4, 5, 10, 20].first { (decadeCount + $0 - 1) / $0 <= 7 } ?? 50
            // Keep the decades that are multiples of the stride, so 10^0 = 1 shows when it is inside.
            ticks = (firstDecade...lastDecade).filter { $0.isMultiple(of: stride) }
                .map { power10($0) }
            if ticks.count < 2 { ticks = [power10(firstDecade), power10(lastDecade)] }
        } else {
            for exponent in (firstDecade - 1)...(lastDecade + 1) {
                for mantissa in [1.0, 2, 5] {
                    let value = mantissa * power10(exponent)
                    if value >= lower * (1 - 1e-9) && value <= upper * (1 + 1e-9) { ticks.append(value) }
                }
            }
        }
        let scaleNote = label.hasSuffix(")") ? String(label.dropLast()) + ", log scale)" : label + " (log scale)"
        return Axis(scale: .log, lower: lower, upper: upper, ticks: ticks, step: nil, label: scaleNote)
    }

    /// Log when `prefersLog` holds for the finite values, linear otherwise; nil without finite values.
    /// `includeZero` makes a linear axis start (or end) at 0.
    public static func automatic(_ values: [Double], label: String, includeZero: Bool = false,
                                 targetTicks: Int = 5) -> Axis? {
        let finite = values.filter(\.isFinite)
        guard var low = finite.min(), var high = finite.max() else { return nil }
        if prefersLog(lower: low, upper: high) { return log(from: low, to: high, label: label) }
        if includeZero {
            low = min(low, 0)
            high = max(high, 0)
        }
        return linear(from: low, to: high, label: label, targetTicks: targetTicks)
    }

    /// Position of `value` along the axis: 0 at `lower`, 1 at `upper` (outside for values
    /// outside; non-positive values on a log axis are far below).
    public func fraction(_ value: Double) -> Double {
        switch scale {
        case .linear:
            return (value - lower) / (upper - lower)
        case .log:
            guard value > 0 else { return -1e6 }
            return (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
        }
    }

    /// The label of tick `value`: fixed decimals from the step (`0.5`, `1.0`, `1.5`); decades as
    /// `0.001` ... `10000`, beyond as `1e-5`.
    public func tickLabel(_ value: Double) -> String {
        let value = value + 0.0  // no "-0"
        switch scale {
        case .linear:
            let step = self.step ?? 1
            let largest = max(abs(lower), abs(upper))
            if largest >= 1e6 || step < 1e-5 { return Self.scientific(value) }
            let decimals = max(0, -Int((log10(step) + 1e-9).rounded(.down)))
            return String(format: "%.\(decimals)f", abs(value) < step * 1e-6 ? 0 : value)
        case .log:
            let exponent = Self.exponent(value)
            if !usesScientificLabels {
                return String(format: "%.\(max(0, -exponent))f", value)
            }
            return exponent == 0 ? Self.scientific(value).replacingOccurrences(of: "e0", with: "") : Self.scientific(value)
        }
    }

    /// Unlabelled gridlines of a log axis spanning at most four decades: 2…9 × 10^k inside the
    /// domain, where they are not ticks. Empty for linear axes.
    public var minorTicks: [Double] {
        guard scale == .log, log10(upper / lower) <= 4 + 1e-9 else { return [] }
        let first = Self.exponent(lower), last = Self.exponent(upper)
        var minor: [Double] = []
        for exponent in first...last {
            for mantissa in 2...9 {
                let value = Double(mantissa) * Self.power10(exponent)
                guard value > lower * (1 + 1e-9), value < upper * (1 - 1e-9),
                      !ticks.contains(where: { abs($0 / value - 1) < 1e-9 }) else { continue }
                minor.append(value)
            }
        }
        return minor
    }

    /// Log axes label every tick as `1e-6` once one tick is outside 10^-4 ... 10^5 (mixing
    /// `0.0001` and `1e-6` on one axis reads badly).
    var usesScientificLabels: Bool {
        scale == .log && ticks.contains { Self.exponent($0) < -4 || Self.exponent($0) > 5 }
    }

    static func exponent(_ value: Double) -> Int {
        Int((log10(abs(value)) + 1e-9).rounded(.down))
    }

    /// `2e-13`, `1.5e6`, `1e-4`: three significant digits, trailing zeros, the exponent's `+` and
    /// leading zeros trimmed.
    static func scientific(_ value: Double) -> String {
        let text = String(format: "%.2e", value)
        guard let e = text.firstIndex(of: "e") else { return text }
        var mantissa = String(text[..<e])
        if mantissa.contains(".") {
            while mantissa.hasSuffix("0") { mantissa.removeLast() }
            if mantissa.hasSuffix(".") { mantissa.removeLast() }
        }
        var exponent = String(text[text.index(after: e)...])
        let negative = exponent.hasPrefix("-")
        exponent = String(exponent.drop { $0 == "+" || $0 == "-" || $0 == "0" })
        return mantissa + "e" + (negative ? "-" : "") + (exponent.isEmpty ? "0" : exponent)
    }

    /// 1, 2 or 5 × 10^k near `span / count` (d3's thresholds √50, √10, √2).
    public static func niceStep(span: Double, count: Int) -> Double {
        let rough = span / Double(count)
        let magnitude = power10(Int(log10(rough).rounded(.down)))
        let error = rough / magnitude
        if error >= 50.0.squareRoot() { return magnitude * 10 }
        if error >= 10.0.squareRoot() { return magnitude * 5 }
        if error >= 2.0.squareRoot() { return magnitude * 2 }
        return magnitude
    }

    static func power10(_ exponent: Int) -> Double {
        exponent >= 0 ? pow(10, Double(exponent)) : 1 / pow(10, Double(-exponent))
    }

    /// The largest 1, 2 or 5 × 10^k at or below `value` (> 0).
    static func roundedDown125(_ value: Double) -> Double {
        let exponent = Int((log10(value) + 1e-12).rounded(.down))
        let base = power10(exponent)
        return [5.0, 2, 1].map { $0 * base }.first { $0 <= value * (1 + 1e-12) } ?? base
    }

    /// The smallest 1, 2 or 5 × 10^k at or above `value` (> 0).
    static func roundedUp125(_ value: Double) -> Double {
        let exponent = Int((log10(value) - 1e-12).rounded(.down))
        let base = power10(exponent)
        return [1.0, 2, 5, 10].map { $0 * base }.first { $0 >= value * (1 - 1e-12) } ?? base * 10
    }
}
