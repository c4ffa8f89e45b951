import Foundation

let programVersion = "0.1.0"

let commands = ["run", "validate", "export-data", "list", "show", "compare", "query", "export", "report", "bench", "help", "version"]

let shortUsage = "usage: trainlab [--threads N] <command> ...   (trainlab help for more)"

let usage = """
    usage: trainlab [--threads N] <command> [options]

    commands:
      run SPEC.json... [--db PATH] [--force] [--quiet]
                                      train every run of the specs (sweeps expanded), metrics to SQLite
                                      (default database results/trainlab.sqlite); completed runs are skipped
      validate SPEC.json...           parse, check and expand the specs; print the runs; train nothing
      export-data SPEC.json [-o DIR]  write the first run's task data as .npy files (default folder data/)
      list [EXPERIMENT] [--status S]  one line per run: status, seed, swept params, final losses, duration
      show RUN                        a run's fields, config, metric summaries and loss sparklines
      compare EXPERIMENT --by KEY... [--metric NAME] [--best min|max]
                                      group runs by params: mean ± 95% CI over seeds, best, diverged, rank
      compare --diff RUN1 RUN2        the params that differ between two runs
      query SQL [--format table|csv|json]
                                      one read-only SQL statement, rows as a table
      export RUN|EXPERIMENT [--format csv|json] [-o FILE]
                                      full metric history (run_id, step, name, value)
      report EXPERIMENT [-o FILE] [--by KEY...] [--metric NAME] [--smooth A] [--format html|svg]
                                      one HTML file: curves (mean, min-max band), final metric ± 95% CI,
                                      init probe by depth, config table; --format svg [--chart curves|final|
                                      act_rms|grad_rms] writes one chart (default EXPERIMENT.html / .svg);
                                      --smooth A: train_loss as an EMA of weight A in [0, 1), e.g. 0.9
                                      (the reading commands take --db PATH, default results/trainlab.sqlite)
      bench gemm [--json] [--quick] [--shapes MxNxK[/tn|/nt|/tt],...]
                                      GEMM GFLOPS on 1 and all threads, as % of the measured FP32 peak
      bench train [SPEC.json...] [--steps N] [--windows N] [--profile]
                                      training step: ms, samples/s, GFLOPS, phase shares; --profile: per op
                                      (default: experiments/bench/{mlp-small,mlp-large,transformer}.json)
      bench metrics [SPEC.json]       what logging every step to SQLite costs, as a share of training
      help                            this text
      version                         the program version

    options:
      --threads N    worker threads (default: TRAINLAB_THREADS, else the available cores)
    """

/// A command line error: printed with the usage line, exit status 2.
struct UsageError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Command-line words, consumed front to back; options may appear anywhere.
struct Arguments {
    private var words: [String]

    init(_ words: [String]) { self.words = words }

    var isEmpty: Bool { words.isEmpty }

    /// The next positional word.
    mutating func next() -> String? {
        guard let i = words.firstIndex(where: { !$0.hasPrefix("--") }) else { return nil }
        return words.remove(at: i)
    }

    /// Removes `--name` and reports whether it was there.
    mutating func flag(_ name: String) -> Bool {
        guard let i = words.firstIndex(of: name) else { return false }
        words.remove(at: i)
        return true
    }

    /// Removes `--name VALUE` (or `--name=VALUE`) and returns VALUE.
    mutating func option(_ name: String) throws -> String? {
        if let i = words.firstIndex(where: { $0.hasPrefix(name + "=") }) {
            return String(words.remove(at: i).dropFirst(name.count + 1))
        }
        guard let i = words.firstIndex(of: name) else { return nil }
        guard i + 1 < words.count else { throw UsageError("\(name) needs a value") }
        let value = words[i + 1]
        words.removeSubrange(i...(i + 1))
        return value
    }

    mutating func intOption(_ name: String, atLeast minimum: Int) throws -> Int? {
        guard let text = try option(name) else { return nil }
        guard let value = Int(text), value >= minimum else {
            throw UsageError("\(name) expects an integer >= \(minimum), got '\(text)'")
        }
        return value
    }

    /// Fails on anything left over, naming it.
    func finish() throws {
        if let extra = words.first {
            throw UsageError("unexpected argument '\(extra)'")
        }
    }
}

/// ", did you mean 'x'?" for the closest candidate within two edits, else "".
func suggestion(for word: String, among candidates: [String]) -> String {
    let scored = candidates.map { ($0, editDistance(word, $0)) }.min { $0.1 < $1.1 }
    guard let (best, distance) = scored, distance <= 2 else { return "" }
    return ", did you mean '\(best)'?"
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where !b.isEmpty {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
