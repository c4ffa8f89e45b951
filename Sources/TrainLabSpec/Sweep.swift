import Foundation

/// Expands a spec's `sweep` into one resolved spec per run.
public enum Sweep {
    /// Most runs one sweep may expand to.
    public static let maxRuns = 100_000

    /// Expands `sweep` (an object of dotted path -> array of values) into the cartesian product, first key outermost, in file order.
    /// Each resolved spec is the root with those paths set (objects along the path created when missing; a path through a non-object is an error) and the "sweep" and "sweep_mode" keys removed.
    /// `"sweep_mode": {"random": N, "seed": S}` instead draws N configs: each sweep value may then be an array (pick uniformly) or {"log_uniform": [lo, hi]} / {"uniform": [lo, hi]} (also {"int_uniform": [lo, hi]}, inclusive); deterministic from S (default 0).
    /// `"sweep_mode": "grid"` is the default cartesian product.
    /// Errors (empty array, bad path, unknown sweep_mode key) are SpecErrors with the path "sweep.optimizer.lr" etc.
    public static func expand(_ document: JSONDocument) throws -> [(spec: JSONValue, assignments: [(path: String, value: JSONValue)])] {
        try expandWithSearch(document, defaultSteps: 1000).runs
    }

    /// `expand`, and for an adaptive `sweep_mode` (successive_halving, hyperband, tpe) the
    /// trials beside the runs: successive halving and Hyperband draw their trials as
    /// `{"random": N, "seed": S}` does (so the same seed gives random search's configs); TPE's
    /// runs are its `startup` random trials, drawn as quantiles, the rest proposed as results
    /// come in (`resolve`). `defaultSteps` is `training.steps` when the spec leaves it out.
    public static func expandWithSearch(_ document: JSONDocument, defaultSteps: Int) throws
        -> (runs: [(spec: JSONValue, assignments: [(path: String, value: JSONValue)])], trials: [SearchTrial]) {
        guard case .object(var base) = document.root else { return ([(document.root, [])], []) }
        let root = try ObjectReader(document.root, path: "", document: document)
        let sweepValue = base["sweep"]
        let modeValue = base["sweep_mode"]
        base["sweep"] = nil
        base["sweep_mode"] = nil
        guard let sweepValue else {
            if modeValue != nil { throw root.error("sweep_mode", "sweep_mode needs a \"sweep\" object beside it") }
            return ([(.object(base), [])], [])
        }
        let sweep = try ObjectReader(sweepValue, path: "sweep", document: document)
        let mode = try readMode(root)
        let paths = try checkedPaths(sweep)

        var runs: [[(path: String, value: JSONValue)]] = []
        var trials: [SearchTrial] = []
        switch mode {
        case .grid:
            var axes: [[JSONValue]] = []
            var total = 1
            for path in paths {
                let values = try gridValues(sweep, path)
                let (product, overflow) = total.multipliedReportingOverflow(by: values.count)
                if overflow || product > maxRuns {
                    throw sweep.error(nil, "the sweep expands to more than \(maxRuns) runs")
                }
                total = product
                axes.append(values)
            }
            var indices = [Int](repeating: 0, count: axes.count)
            for _ in 0..<total {
                runs.append(zip(paths, zip(axes, indices)).map { ($0, $1.0[$1.1]) })
                // Advance the odometer: the last key changes fastest.
                var k = axes.count - 1
                while k >= 0 {
                    indices[k] += 1
                    if indices[k] < axes[k].count { break }
                    indices[k] = 0
                    k -= 1
                }
            }
        case .random(let count, let seed):
            let distributions = try paths.map { try distribution(sweep, $0) }
            var rng = SplitMix64(seed: seed)
            for _ in 0..<count {
                runs.append(zip(paths, distributions).map { ($0, $1.draw(&rng)) })
            }
        case .search(let plan):
            let distributions = try paths.map { try distribution(sweep, $0) }
            for path in paths where path == "training.steps" || path.hasPrefix("training.steps.") {
                throw sweep.error(path, "an adaptive search's rungs are steps of one training.steps: it cannot be swept")
            }
            let space = SearchSpace(paths: paths, distributions: distributions)
            var steps = defaultSteps
            if case .object(let training)? = base["training"], case .number(let number)? = training["steps"],
               let whole = Int(exactly: number.value), whole >= 1 { steps = whole }
            var rng = SplitMix64(seed: plan.seed)
            if plan.kind == .tpe {
                for trial in 0..<plan.startup {
                    let point = distributions.map { _ in rng.unit() }
                    runs.append(space.assignments(at: point))
                    trials.append(SearchTrial(plan: plan, group: document.file, trial: trial, bracket: 0, firstRung: 0, point: point, space: space))
                }
            } else {
                for (b, bracket) in plan.brackets(maxSteps: steps).enumerated() {
                    if runs.count + bracket.trials > maxRuns { throw root.error("sweep_mode", "the search starts more than \(maxRuns) trials") }
                    for _ in 0..<bracket.trials {
                        runs.append(zip(paths, distributions).map { ($0, $1.draw(&rng)) })
                        trials.append(SearchTrial(plan: plan, group: document.file, trial: trials.count, bracket: b,
                                                  firstRung: bracket.firstRung, point: [], space: space))
                    }
                }
            }
        }

        return (try runs.map { try resolve(base: base, assignments: $0, sweep: sweep) }, trials)
    }

    /// A run's spec: the spec without its sweep, with `assignments` set (TPE's later trials).
    public static func resolve(_ document: JSONDocument, assignments: [(path: String, value: JSONValue)]) throws
        -> (spec: JSONValue, assignments: [(path: String, value: JSONValue)]) {
        guard case .object(var base) = document.root, let sweepValue = base["sweep"] else { return (document.root, assignments) }
        base["sweep"] = nil
        base["sweep_mode"] = nil
        return try resolve(base: base, assignments: assignments, sweep: ObjectReader(sweepValue, path: "sweep", document: document))
    }

    private static func resolve(base: JSONObject, assignments: [(path: String, value: JSONValue)], sweep: ObjectReader) throws
        -> (spec: JSONValue, assignments: [(path: String, value: JSONValue)]) {
        var spec = JSONValue.object(base)
        for (path, value) in assignments {
            do {
                spec = try set(value, at: path, in: spec)
            } catch let error as SpecError {
                throw sweep.error(path, error.message)
            }
        }
        return (spec, assignments)
    }

    /// Returns `root` with `value` at `dottedPath` (e.g. `optimizer.lr`), creating missing objects on the way.
    /// A new key goes at the end of its object; an existing one keeps its place. A name on the way
    /// (`"optimizer": "sgd"`) becomes its object form, `{"kind": "sgd"}`.
    public static func set(_ value: JSONValue, at dottedPath: String, in root: JSONValue) throws -> JSONValue {
        let segments = dottedPath.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if segments.contains(where: \.isEmpty) {
            throw SpecError(file: "", path: dottedPath, message: "invalid path '\(dottedPath)': empty segment")
        }
        if segments.count > maxPathSegments {
            throw SpecError(file: "", path: dottedPath, message: "invalid path: more than \(maxPathSegments) segments")
        }
        // Walk down collecting the objects on the way, then rebuild them bottom-up.
        var objects: [JSONObject] = []
        var node = root
        for (i, key) in segments.enumerated() {
            guard case .object(let object) = node else {
                let here = i == 0 ? "the top level" : "'\(segments[..<i].joined(separator: "."))'"
                throw SpecError(
                    file: "", path: dottedPath,
                    message: "cannot set '\(dottedPath)': \(here) is \(node.typeName), not an object")
            }
            objects.append(object)
            guard i + 1 < segments.count else { break }
            node = object[key] ?? .object(JSONObject())
            // A catalogue choice written as a name takes options as its object form.
            if case .string(let name) = node { node = ["kind": .string(name)] }
        }
        var result = value
        for i in segments.indices.reversed() {
            var object = objects[i]
            object[segments[i]] = result
            result = .object(object)
        }
        return result
    }

    /// Most dot-separated segments a swept path may have.
    static let maxPathSegments = 64

    // MARK: Reading the sweep

    private enum Mode {
        case grid
        case random(count: Int, seed: UInt64)
        case search(SearchPlan)
    }

    private static func readMode(_ root: ObjectReader) throws -> Mode {
        guard let value = root.value("sweep_mode") else { return .grid }
        switch value {
        case .string("grid"):
            return .grid
        case .string(let other):
            var message = "unknown sweep_mode '\(other)'"
            if let suggestion = didYouMean(other, among: ["grid", "random"]) { message += ", did you mean '\(suggestion)'?" }
            throw root.error("sweep_mode", message + " (use \"grid\", {\"random\": N, \"seed\": S}, {\"successive_halving\": {...}}, {\"hyperband\": {...}} or {\"tpe\": {...}})")
        case .object:
            let mode = try ObjectReader(value, path: "sweep_mode", document: root.document)
            if let plan = try SearchPlan.read(mode) {
                try mode.finish()
                return .search(plan)
            }
            let count = try mode.int("random", range: 1...maxRuns)
            let seed = try mode.int("seed", default: 0)
            try mode.finish()
            return .random(count: count, seed: UInt64(bitPattern: Int64(seed)))
        default:
            throw root.error("sweep_mode", "expected \"grid\" or {\"random\": N, \"seed\": S}, got \(value.typeName)")
        }
    }

    /// The sweep's keys, checked: no empty segments, nothing inside another swept path, not `sweep` itself.
    private static func checkedPaths(_ sweep: ObjectReader) throws -> [String] {
        let paths = sweep.keys
        for (i, path) in paths.enumerated() {
            let segments = path.split(separator: ".", omittingEmptySubsequences: false)
            if segments.contains(where: \.isEmpty) {
                throw sweep.error(path, "invalid path '\(path)': empty segment (write paths like \"optimizer.lr\")")
            }
            if segments.count > maxPathSegments {
                throw sweep.error(path, "invalid path: more than \(maxPathSegments) segments")
            }
            if segments[0] == "sweep" || segments[0] == "sweep_mode" {
                throw sweep.error(path, "the sweep cannot set '\(segments[0])'")
            }
            if path.contains("[") || path.contains("]") {
                throw sweep.error(path, "invalid path '\(path)': array elements cannot be swept; sweep the whole array")
            }
            for earlier in paths[..<i] where path.hasPrefix(earlier + ".") || earlier.hasPrefix(path + ".") {
                throw sweep.error(path, "sweep paths '\(earlier)' and '\(path)' overlap")
            }
        }
        return paths
    }

    private static func gridValues(_ sweep: ObjectReader, _ path: String) throws -> [JSONValue] {
        let value = sweep.value(path) ?? .null
        switch value {
        case .array(let values):
            if values.isEmpty { throw sweep.error(path, "expected a non-empty array of values to try, got an empty array") }
            return values
        case .object(let object) where ["uniform", "log_uniform", "int_uniform"].contains(where: { object[$0] != nil }):
            throw sweep.error(path, "expected an array of values to try, got a distribution (distributions need \"sweep_mode\": {\"random\": N})")
        default:
            throw sweep.error(path, "expected an array of values to try, got \(value.typeName)")
        }
    }

    enum Distribution {
        case choice([JSONValue])
        case uniform(Double, Double)
        case logUniform(Double, Double)
        case intUniform(Int, Int)

        func draw(_ rng: inout SplitMix64) -> JSONValue {
            switch self {
            case .choice(let values):
                return values[rng.below(values.count)]
            case .uniform(let lo, let hi):
                return .number(min(hi, max(lo, lo + rng.unit() * (hi - lo))))
            case .logUniform(let lo, let hi):
                return .number(min(hi, max(lo, exp(log(lo) + rng.unit() * (log(hi) - log(lo))))))
            case .intUniform(let lo, let hi):
                return .number(Double(lo + rng.below(hi - lo + 1)))
            }
        }

        /// The value at quantile `u` in [0, 1) of the distribution: lo + u·(hi − lo), on a log
        /// scale for log_uniform; a list's ⌊u·count⌋-th value; the integers lo…hi in equal parts.
        func value(atQuantile u: Double) -> JSONValue {
            switch self {
            case .choice(let values):
                return values[min(values.count - 1, Int(u * Double(values.count)))]
            case .uniform(let lo, let hi):
                return .number(min(hi, max(lo, lo + u * (hi - lo))))
            case .logUniform(let lo, let hi):
                return .number(min(hi, max(lo, exp(log(lo) + u * (log(hi) - log(lo))))))
            case .intUniform(let lo, let hi):
                return .number(Double(min(hi, lo + Int(u * Double(hi - lo + 1)))))
            }
        }
    }

    static func distribution(_ sweep: ObjectReader, _ path: String) throws -> Distribution {
        let value = sweep.value(path) ?? .null
        switch value {
        case .array(let values):
            if values.isEmpty { throw sweep.error(path, "expected a non-empty array of values to try, got an empty array") }
            return .choice(values)
        case .object:
            let spec = try ObjectReader(value, path: sweep.path(of: path), document: sweep.document)
            let kinds = ["uniform", "log_uniform", "int_uniform", "choice"]
            let present = kinds.filter { spec.has($0) }
            guard present.count == 1 else {
                if present.isEmpty { try spec.finish() }
                throw spec.error(nil, present.isEmpty
                    ? "expected one of uniform, log_uniform, int_uniform, choice"
                    : "expected exactly one of \(present.joined(separator: ", "))")
            }
            let kind = present[0]
            let result: Distribution
            if kind == "choice" {
                // The object form of a list of values, for where a bare array is a value itself
                // (a benchmark optimizer's `betas`: {"choice": [[0.9, 0.999], [0.8, 0.99]]}).
                guard case .array(let values)? = spec.value(kind), !values.isEmpty else {
                    throw spec.error(kind, "expected a non-empty array of values to choose from")
                }
                result = .choice(values)
            } else if kind == "int_uniform" {
                let bounds = try spec.intArray(kind, elementRange: -(1 << 52)...(1 << 52))
                guard bounds.count == 2, bounds[0] <= bounds[1] else {
                    throw spec.error(kind, "expected [lo, hi] with lo <= hi")
                }
                result = .intUniform(bounds[0], bounds[1])
            } else {
                let bounds = try spec.doubleArray(kind, count: 2)
                guard bounds[0] <= bounds[1] else { throw spec.error(kind, "expected [lo, hi] with lo <= hi") }
                if kind == "log_uniform" {
                    guard bounds[0] > 0 else { throw spec.error(kind, "expected [lo, hi] with 0 < lo <= hi") }
                    result = .logUniform(bounds[0], bounds[1])
                } else {
                    result = .uniform(bounds[0], bounds[1])
                }
            }
            try spec.finish()
            return result
        default:
            throw sweep.error(path, "expected an array of values or a distribution ({\"uniform\": [lo, hi]}, {\"log_uniform\": [lo, hi]}), got \(value.typeName)")
        }
    }
}

/// SplitMix64 (Steele, Lea and Flood): a small deterministic generator.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in 0..<n (n > 0), without modulo bias.
    mutating func below(_ n: Int) -> Int {
        let bound = UInt64(n)
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let x = next()
            if x < limit { return Int(x % bound) }
        }
    }
}
