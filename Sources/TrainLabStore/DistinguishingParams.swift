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
    /// A key is shown for a run when
    /// - every run has it and its values differ (`optimizer.lr` across optimizers),
    /// - or it differs between runs of the same kinds (`optimizer.momentum` among the sgd runs):
    ///   the kinds are the `kind` params of the objects holding it, so options whose defaults come
    ///   with a kind (adam's `eps` beside adagrad's) add nothing the kind does not say,
    /// - or, for a key that only some runs have, the run's value is not its kind's default
    ///   (`defaults`): one sgd run with momentum 0.9 beside adam shows `optimizer.momentum=0.9`.
    /// A run lacking a key that runs of its kinds have shows it as nil ("-"). `configs` are the
    /// runs' configs, handed to `defaults`.
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
        for key in keys.sorted(by: displayOrder) {
            let kinds = ownerKinds(key)
            let groups = Dictionary(grouping: params.indices) { run in kinds.map { params[run][$0] } }
            let inEvery = params.allSatisfy { $0[key] != nil }
            if inEvery && varies(params.map { $0[key] }) {
                for run in params.indices { shown[run].append((key, params[run][key])) }
                continue
            }
            for members in groups.values {
                let values = members.map { params[$0][key] }
                if varies(values) {
                    for run in members { shown[run].append((key, params[run][key])) }
                } else if !inEvery, varies(params.map { $0[key] }) {
                    for run in members {
                        if let value = params[run][key], let fallback = defaultValue(key, run: run), value != fallback {
                            shown[run].append((key, value))
                        }
                    }
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
