import Foundation

/// Part of every run's identity: a run is skipped as done only when its config completed under
/// this version. A change to what a config trains on or computes (0.2.0: the teacher tasks'
/// data, generated in Float32 on the kernels; 0.3.0: a pre-norm MLP's first Linear reads the raw
/// input and its head a normalized one) is a new version.
let programVersion = "0.3.0"

/// A command line error: printed with the command's usage lines, exit status 2.
struct UsageError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Command-line words, consumed front to back; options may appear anywhere.
struct Arguments {
    private var words: [String]
    /// Every option this command line may use (the global ones, then the command's): a word
    /// left over that looks like an option is named as unknown, with the closest of these.
    var acceptedOptions: [String]
    /// The command being parsed, for messages ("unknown option '--jbos' for run").
    var commandName: String?

    init(_ words: [String], acceptedOptions: [String]) {
        self.words = words
        self.acceptedOptions = acceptedOptions
    }

    var isEmpty: Bool { words.isEmpty }

    /// The next positional word: anything but an option (`-x`, `--name`); a lone `-` is positional.
    mutating func next() -> String? {
        guard let i = words.firstIndex(where: { !Arguments.looksLikeOption($0) }) else { return nil }
        return words.remove(at: i)
    }

    /// Removes `--name` and reports whether it was there.
    mutating func flag(_ name: String) -> Bool {
        assertAccepted(name)
        guard let i = words.firstIndex(of: name) else { return false }
        words.remove(at: i)
        return true
    }

    /// Removes `--name VALUE` (or `--name=VALUE`) and returns VALUE.
    mutating func option(_ name: String) throws -> String? {
        assertAccepted(name)
        if let i = words.firstIndex(where: { $0.hasPrefix(name + "=") }) {
            return String(words.remove(at: i).dropFirst(name.count + 1))
        }
        guard let i = words.firstIndex(of: name) else { return nil }
        guard i + 1 < words.count else { throw UsageError("\(name) needs a value") }
        let value = words[i + 1]
        words.removeSubrange(i...(i + 1))
        return value
    }

    /// Removes `--name [NUMBER]` (or `--name=NUMBER`): nil when absent; `.some(nil)` when given
    /// without a number (the next word is taken only when it reads as one).
    mutating func optionalNumber(_ name: String) throws -> String?? {
        assertAccepted(name)
        if let i = words.firstIndex(where: { $0.hasPrefix(name + "=") }) {
            return .some(String(words.remove(at: i).dropFirst(name.count + 1)))
        }
        guard let i = words.firstIndex(of: name) else { return nil }
        if i + 1 < words.count, Double(words[i + 1]) != nil {
            let value = words[i + 1]
            words.removeSubrange(i...(i + 1))
            return .some(value)
        }
        words.remove(at: i)
        return .some(nil)
    }

    mutating func intOption(_ name: String, atLeast minimum: Int) throws -> Int? {
        guard let text = try option(name) else { return nil }
        guard let value = Int(text), value >= minimum else {
            throw UsageError("\(name) expects an integer >= \(minimum), got '\(text)'")
        }
        return value
    }

    /// Fails on anything left over, naming it: an unknown option with the closest accepted one.
    func finish() throws {
        guard let extra = words.first else { return }
        guard Arguments.looksLikeOption(extra) else { throw UsageError("unexpected argument '\(extra)'") }
        let name = String(extra.prefix { $0 != "=" })
        let context = commandName.map { " for \($0)" } ?? ""
        // Any one-letter option is one edit from any other: only long names get a guess.
        let guess = name.hasPrefix("--") ? suggestion(for: name, among: acceptedOptions.filter { $0.hasPrefix("--") }) : ""
        throw UsageError("unknown option '\(name)'\(context)\(guess)")
    }

    static func looksLikeOption(_ word: String) -> Bool { word.hasPrefix("-") && word.count > 1 }

    /// A command reading an option its table entry does not list is a programming error: the
    /// option would be missing from its usage and from the did-you-mean candidates.
    private func assertAccepted(_ name: String) {
        assert(acceptedOptions.contains(name), "\(name) is read but not listed in the command table")
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
