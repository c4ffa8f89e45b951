import Foundation
import TrainLabSpec
import TrainLabStore

/// `trainlab benchmark EXPERIMENT [--format table|json|markdown] [--db PATH]`: the results of a
/// `benchmark` spec's runs (`BenchmarkResults`): per problem each optimizer's best setting, its
/// final metric over the paired seeds, target hits and time to target, rank and a Wilcoxon
/// signed-rank test against the best; across problems the performance-profile score. `markdown`
/// is the write-up's block (results/README.md, tools/update-benchmark-writeup.sh): a function of
/// the database alone, so the same database always gives the same text.
enum BenchmarkCommand {
    static func run(_ arguments: inout Arguments) throws {
        let databasePath = try arguments.option("--db") ?? defaultDatabasePath
        let format = try arguments.option("--format") ?? "table"
        guard ["table", "json", "markdown"].contains(format) else {
            throw UsageError("--format expects table, json or markdown, got '\(format)'")
        }
        guard let experiment = arguments.next() else { throw UsageError("benchmark needs an experiment") }
        try arguments.finish()
        let results = try ResultsStore.openForReading(path: databasePath).benchmarkResults(experiment: experiment, defaults: catalogueDefaults)
        switch format {
        case "json": print(JSONWriter.write(json(results), pretty: true))
        case "markdown": print(markdown(results), terminator: "")
        default: print(table(results))
        }
    }

    /// `{"problems": [{"name", "optimizers": [{"name", "best", "final", "target", "rank", "test", "effect",
    /// "indistinguishable_from_best"}], "indistinguishable_from_best"}], "profile": [...]}`;
    /// an infinite or missing figure is null.
    static func json(_ results: BenchmarkResults) -> JSONValue {
        func number(_ x: Double?) -> JSONValue { x.map { $0.isFinite ? .number($0) : .null } ?? .null }
        func object(_ members: KeyValuePairs<String, JSONValue>) -> JSONValue {
            var object = JSONObject()
            for (key, value) in members { object[key] = value }
            return .object(object)
        }
        let problems: [JSONValue] = results.problems.map { problem in
            object([
                "name": .string(problem.name),
                "target": problem.target.map { object(["metric": .string($0.metric), "value": .number($0.value)]) } ?? .null,
                "family": object(["tests": .number(Double(max(0, problem.optimizers.count - 1))), "adjustment": .string("holm"),
                                  "alpha": .number(BenchmarkResults.significanceLevel)]),
                "optimizers": .array(problem.optimizers.map { o in
                    var params = JSONObject()
                    for (key, value) in o.bestParams { params[key] = Double(value).map { .number($0) } ?? .string(value) }
                    return object([
                        "name": .string(o.name),
                        "best": object(["trial": .number(Double(o.bestTrial)), "optimizer": .object(params)]),
                        "final": object(["median": number(o.median), "mean": number(o.mean), "ci": number(o.ci),
                                         "n": .number(Double(o.finals.count)), "values": .array(o.finals.map { number($0) }),
                                         "test": o.testFinals.isEmpty ? .null : object([
                                            "metric": results.testMetric.map { .string($0) } ?? .null, "median": number(o.testMedian),
                                            "values": .array(o.testFinals.map { number($0) })])]),
                        "target": results.target == nil ? .null : object([
                            "hits": .number(Double(o.targetHits)), "n": .number(Double(o.finals.count)),
                            "steps_median": number(o.stepsMedian), "evals_median": number(o.evalsMedian),
                            "seconds_median": number(o.secondsMedian), "interpolated": .bool(true),
                            "steps_values": .array(o.stepsToTarget.map { number($0) }),
                            "evals_values": .array(o.evalsToTarget.map { number($0) }),
                            "seconds_values": .array(o.secondsToTarget.map { number($0) })]),
                        "rank": .number(Double(o.rank)),
                        "test": o.test.map { test in
                            object(["kind": .string(test.kind.rawValue), "statistic": .number(test.statistic), "p": .number(test.pValue), "p_holm": number(o.pHolm),
                                    "n": .number(Double(test.n)), "exact": .bool(test.exact), "zero_method": .string("wilcox"),
                                    "zeros": .number(Double(test.zeros)), "divergences": .number(Double(test.divergences))])
                        } ?? .null,
                        "effect": o.effect.map { e in
                            object(["kind": .string("hodges_lehmann"), "estimate": number(e.estimate), "lower": number(e.lower),
                                    "upper": number(e.upper), "coverage": .number(e.coverage)])
                        } ?? .null,
                        "indistinguishable_from_best": .bool(o.indistinguishableFromBest),
                        "tuning": o.tuning.map { t in
                            object(["trials": .number(Double(t.trials)), "steps": .number(Double(t.steps)),
                                    "evals": .number(t.evals), "seconds": number(t.seconds)])
                        } ?? .null,
                        "warnings": .array(o.warnings.map { w in
                            object(["kind": .string(w.kind.rawValue), "key": w.key.map { .string($0) } ?? .null,
                                    "range": w.range.map { .array($0.map { .number($0) }) } ?? .null,
                                    "distribution": w.distribution.map { .string($0) } ?? .null])
                        }),
                    ])
                }),
                "indistinguishable_from_best": .array(problem.indistinguishableFromBest.map { .string($0) }),
                "warnings": .array(problem.targetUnreached ? [object(["kind": .string("target_unreached")])] : []),
            ])
        }
        return object([
            "experiment": .string(results.experiment),
            "metric": .string(results.metric),
            "selection": .string(results.selection),
            "tuning_curves": .array(results.tuningCurves.map { curve in
                object(["problem": .string(curve.problem), "optimizer": .string(curve.optimizer), "studies": .number(Double(curve.studies)),
                        "expected_best": .array(curve.expectedBest.map { number($0) }), "study_bests": .array(curve.studyBests.map { number($0) })])
            }),
            "robust_selection": results.robustSelection.map { object(["top_k": .number(Double($0.topK)), "seeds": .number(Double($0.seeds))]) } ?? .null,
            "goal": .string(results.goal.rawValue),
            "target": results.target.map { object(["metric": .string($0.metric), "value": .number($0.value)]) } ?? .null,
            "problems": .array(problems),
            "profile": .array(results.profile.map { entry in
                let interval = results.profileIntervals.first { $0.optimizer == entry.optimizer }
                return object(["optimizer": .string(entry.optimizer), "score": .number(entry.score),
                               "geometric_mean_ratio": number(entry.geometricMeanRatio),
                               "score_interval": interval.map { .array($0.scoreInterval.map { number($0) }) } ?? .null,
                               "solved": number(interval?.solved),
                               "solved_interval": interval.map { .array($0.solvedInterval.map { number($0) }) } ?? .null])
            }),
            "profile_bootstrap": results.profile.isEmpty ? .null : object([
                "resamples": .number(Double(Statistics.bootstrapResamples)), "seed": .number(Double(Statistics.bootstrapSeed)),
                "level": .number(0.95), "paired_by": .string("seed"), "interval": .string("percentile")]),
            "tuning": .array(results.tuning.map {
                object(["optimizer": .string($0.optimizer), "trials": .number(Double($0.trials)), "steps": .number(Double($0.steps)),
                        "evals": .number($0.evals), "seconds": number($0.seconds)])
            }),
        ])
    }

    static func table(_ results: BenchmarkResults) -> String {
        var out: [String] = []
        let target = results.target.map { " target \($0.metric) \(formatMetric($0.value))," } ?? ""
        let test = results.testMetric.map { " (\($0) on each problem's held-out test split beside it)" } ?? ""
        out.append("benchmark \(results.experiment): final \(results.metric)\(test) (\(results.goal == .min ? "lower" : "higher") is better),\(target) "
                   + "p: two-sided Wilcoxon signed-rank test against rank 1, paired by seed "
                   + "(exact over mid-ranks for n ≤ \(Statistics.exactLimit), zeros dropped; a divergence counts by its sign only)")
        out.append(results.selection == "time_to_target"
                   ? "selection: each best tuning trial reaches the target in the fewest evaluations (misses ranked by the final metric)"
                   : "selection: each best tuning trial has the best final \(results.metric)")
        if let robust = results.robustSelection {
            out.append("selection: the top \(robust.topK) tuning trials were rerun on \(robust.seeds) more seed\(robust.seeds == 1 ? "" : "s"); the best mean over their \(robust.seeds + 1) seeds was picked")
        }
        for problem in results.problems {
            out.append("")
            out.append("problem \(problem.name)")
            let hasTest = problem.optimizers.contains { !$0.testFinals.isEmpty }
            var header = ["rank", "optimizer", "best setting", "median", "mean ± 95% CI", "n"]
            if hasTest { header.insert("test median", at: 4) }
            if results.target != nil { header += ["hits", "steps", "evals", "seconds"] }
            header += ["Δ vs best (HL, 95%)", "p", "p (Holm)"]
            let rows = problem.optimizers.map { o -> [String] in
                let setting = "trial \(o.bestTrial): " + ResultsStore.paramsText(o.bestSetting)
                var row = [String(o.rank), o.name, setting, formatMetric(o.median),
                           formatMetric(o.mean) + (o.ci.map { " ± " + formatMetric($0) } ?? ""), String(o.finals.count)]
                if hasTest { row.insert(formatMetric(o.testMedian), at: 4) }
                if results.target != nil {
                    row += ["\(o.targetHits)/\(o.finals.count)", formatMetric(o.stepsMedian), formatMetric(o.evalsMedian),
                            formatMetric(o.secondsMedian)]
                }
                row.append(o.effect.map { e in
                    formatMetric(e.estimate) + " [" + formatMetric(e.lower) + ", " + formatMetric(e.upper) + "]"
                } ?? "-")
                row.append(o.test.map { String(format: "%.3g", $0.pValue) + ($0.exact ? "" : " (normal)") + ($0.kind == .sign ? " (sign)" : "") } ?? "-")
                row.append(o.pHolm.map { String(format: "%.3g", $0) } ?? "-")
                return row
            }
            out.append(TextTable(header: header, rows: rows, rightAligned: [0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]).rendered())
            for o in problem.optimizers {
                for warning in o.warnings { out.append("warning: \(o.name): \(warning.message)") }
            }
            if problem.targetUnreached, let target = problem.target {
                out.append("warning: no optimizer's median final run reaches the target \(target.metric) \(MetricDirection.preferred(for: target.metric) == .min ? "≤" : "≥") "
                           + "\(formatMetric(target.value)): the problem adds nothing to the profile; give it its own target "
                           + "(benchmark.problems.\(problem.name).target) or one from the tuned runs ({\"metric\", \"from\": \"reference\"})")
            }
            out.append("family: the \(max(0, problem.optimizers.count - 1)) tests against the best on this problem, Holm-adjusted; "
                       + "not distinguishable from the best (Holm p ≥ \(BenchmarkResults.significanceLevel)): "
                       + problem.indistinguishableFromBest.joined(separator: ", "))
        }
        if !results.profile.isEmpty {
            out.append("")
            out.append("across problems: performance profile of median evaluations to target (Dolan & Moré; area under ρ(τ), τ 1 to 4, in [0, 1]); "
                       + "95% intervals from \(Statistics.bootstrapResamples) paired bootstrap resamples of the final seeds")
            func interval(_ bounds: [Double]?) -> String {
                bounds.map { "[" + $0.map { String(format: "%.3f", $0) }.joined(separator: ", ") + "]" } ?? "-"
            }
            out.append(TextTable(
                header: ["optimizer", "profile score", "95% interval", "solved", "95% interval", "geo. mean ratio to best"],
                rows: results.profile.sorted { $0.score > $1.score }.map { entry in
                    let bootstrap = results.profileIntervals.first { $0.optimizer == entry.optimizer }
                    return [entry.optimizer, String(format: "%.3f", entry.score), interval(bootstrap?.scoreInterval),
                            bootstrap.map { String(format: "%.3f", $0.solved) } ?? "-", interval(bootstrap?.solvedInterval),
                            formatMetric(entry.geometricMeanRatio)]
                },
                rightAligned: [1, 2, 3, 4, 5]).rendered())
        }
        if !results.tuning.isEmpty {
            out.append("")
            out.append("tuning cost, all problems: trials, training steps, loss/gradient evaluations and training seconds of the tuning runs")
            out.append(TextTable(
                header: ["optimizer", "trials", "steps", "evals", "seconds"],
                rows: results.tuning.map { [$0.optimizer, String($0.trials), String($0.steps), formatMetric($0.evals), format($0.seconds, 2)] },
                rightAligned: [1, 2, 3, 4]).rendered())
        }
        out += tuningCurvesText(results)
        return out.joined(separator: "\n")
    }

    /// A problem's tuning-curve table: the expected best after k trials (k = 1, 2, 4, ... and
    /// the whole study) per optimizer and, with several studies, each study's best (min,
    /// median, max); nil when no optimizer has more than one trial. `format` writes a number.
    static func tuningCurveTable(_ results: BenchmarkResults, problem: String, format: (Double?) -> String)
        -> (studies: Int, header: [String], rows: [[String]])? {
        let curves = results.tuningCurves.filter { $0.problem == problem && !$0.expectedBest.isEmpty }
        guard let longest = curves.map(\.expectedBest.count).max(), longest > 1 else { return nil }
        var ks: [Int] = []
        var k = 1
        while k < longest { ks.append(k); k *= 2 }
        ks.append(longest)
        let studies = curves.map(\.studies).max() ?? 1
        var header = ["optimizer"] + ks.map { "k=\($0)" }
        if studies > 1 { header.append("study bests (min, median, max)") }
        let rows = curves.map { curve -> [String] in
            var row = [curve.optimizer] + ks.map { $0 <= curve.expectedBest.count ? format(curve.expectedBest[$0 - 1]) : "-" }
            if studies > 1 {
                let sorted = curve.studyBests.sorted()
                row.append(sorted.isEmpty ? "-" : "\(format(sorted.first)), \(format(Statistics.median(sorted))), \(format(sorted.last))")
            }
            return row
        }
        return (studies, header, rows)
    }

    /// What `tuningCurveTable`'s numbers are, for a heading.
    static func tuningCurveCaption(_ results: BenchmarkResults, studies: Int) -> String {
        "expected best final \(results.metric) after k tuning trials (the mean of the best over every k of the "
            + (studies > 1 ? "\(studies) studies' pooled trials" : "tuning trials") + "; a failed trial counts as the problem's worst completed one)"
    }

    /// Per problem, its tuning-curve table.
    static func tuningCurvesText(_ results: BenchmarkResults) -> [String] {
        var out: [String] = []
        for problem in results.problems.map(\.name) {
            guard let table = tuningCurveTable(results, problem: problem, format: formatMetric) else { continue }
            out.append("")
            out.append("problem \(problem): " + tuningCurveCaption(results, studies: table.studies))
            out.append(TextTable(header: table.header, rows: table.rows, rightAligned: Set(1..<table.header.count)).rendered())
        }
        return out
    }
}
