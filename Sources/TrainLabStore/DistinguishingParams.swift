// Which params tell a set of runs apart: the one rule behind `list`'s params column, the labels
// of `compare --by CHOICE` and `benchmark`'s best-setting column.

/// A choice's default params for one run: given the run's config (`runs.config`) and a catalogue
/// choice's prefix (`optimizer`), the params that choice would have with only its `kind` set,
/// keys qualified (`optimizer.momentum` -> "0"), values as `ParamValue.text`; nil when unknown.
/// The results store knows no catalogue: the command line hands it this.
public typealias ChoiceDefaults = (_ config: String, _ prefix: String) -> [String: String]?

extension ResultsStore {
    /// Per run, the params that distinguish it among `params` (one dictionary per run), keys
    /// qualified and in order (each choice's `kind` first), a missing value as nil.
    ///
    /// Only keys whose values differ somewhere count. Such a key is shown for a run when
    /// - it differs between runs of the same kinds (`optimizer.momentum` among the sgd runs;
    ///   the kinds are the `kind` params of the objects holding the key), all of them then
    ///   showing it, a run that lacks it as nil ("-");
    /// - or else the run's value is not its kind's default (`defaults`): a lone sgd's momentum
    ///   0.9 beside adam. A value that is its kind's default (adam's `eps`, adamw's
    ///   `weight_decay` 0.01) says nothing the kind does not.
    /// Without `defaults` (or where they are unknown), a key every run has is shown, one only some
    /// kinds have is not.
    public static func distinguishingParams(_ params: [[String: String]], configs: [String] = [],
                                            defaults: ChoiceDefaults? = nil)
        -> [[(key: String, value: String?)]] {
        let keys = Set(params.flatMap(\.keys))
        // The `kind` keys of the objects holding `key`, outermost first (its own object's included).
        func ownerKinds(_ key: String) -> [String] {
            let parts = key.split(separator: ".", omittingEmptySubsequences: false)
            return (1..<max(parts.count, 1)).map { parts.prefix($0).joined(separator: ".") + ".kind" }
                .filter { $0 != key && keys.contains($0) }
        }
        var cachedDefaults: [String: [String: String]?] = [:]
        func defaultValue(_ key: String, run: Int) -> String? {
            guard let defaults, configs.indices.contains(run), let kindKey = ownerKinds(key).last,
                  let kind = params[run][kindKey] else { return nil }
            let prefix = String(kindKey.dropLast(".kind".count))
            let cacheKey = prefix + "\u{0}" + kind
            if cachedDefaults[cacheKey] == nil { cachedDefaults[cacheKey] = .some(defaults(configs[run], prefix)) }
            return cachedDefaults[cacheKey]!?[key]
        }
        func varies(_ values: [String?]) -> Bool { Set(values).count > 1 }

        var shown: [[(key: String, value: String?)]] = params.map { _ in [] }
        for key in keys.sorted(by: displayOrder) where varies(params.map { $0[key] }) {
            let kinds = ownerKinds(key)
            let inEvery = params.allSatisfy { $0[key] != nil }
            let groups = Dictionary(grouping: params.indices) { run in kinds.map { params[run][$0] } }
            for members in groups.values {
                if varies(members.map { params[$0][key] }) {
                    for run in members { shown[run].append((key, params[run][key])) }
                    continue
                }
                for run in members {
                    guard let value = params[run][key] else { continue }
                    if defaultValue(key, run: run).map({ value != $0 }) ?? inEvery { shown[run].append((key, value)) }
                }
            }
        }
        return shown
    }

    /// `optimizer.kind=sgd optimizer.lr=0.05 optimizer.momentum=0.9`: `distinguishingParams`'
    /// pairs as listings show them (fractions to 4 significant digits, a missing value as `-`).
    public static func paramsText(_ pairs: [(key: String, value: String?)]) -> String {
        pairs.map { "\($0.key)=\($0.value.map(ParamValue.compact) ?? "-")" }.joined(separator: " ")
    }

    /// Keys by the object holding them, its `kind` before its other keys.
    static func displayOrder(_ a: String, _ b: String) -> Bool {
        func sortKey(_ key: String) -> String { key.hasSuffix(".kind") ? String(key.dropLast("kind".count)) : key }
        return sortKey(a) < sortKey(b)
    }
}

extension RunOverview {
    /// `ResultsStore.distinguishingParams` of `overviews`, keys filtered by `include`.
    public static func distinguishingParams(_ overviews: [RunOverview], include: (String) -> Bool = { _ in true },
                                            defaults: ChoiceDefaults? = nil) -> [[(key: String, value: String?)]] {
        ResultsStore.distinguishingParams(overviews.map { $0.params.filter { include($0.key) } },
                                          configs: overviews.map(\.run.config), defaults: defaults)
    }
}
