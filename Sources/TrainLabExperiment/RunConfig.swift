import TrainLabSpec

extension ExperimentSpec {
    /// The configuration in canonical form (sorted keys, compact): what the hash covers.
    public var canonicalConfig: String { JSONWriter.write(config, sortedKeys: true) }

    /// Identifies "the same run" across invocations: the canonical config plus the program
    /// version, so a new version reruns rather than trusting old results.
    public func configHash(programVersion: String) -> String {
        Digest.sha256Hex(canonicalConfig + "\n" + programVersion)
    }

    /// The config flattened to dotted keys (`optimizer.lr` -> `0.01`) for the `params` table;
    /// arrays and scalars are stored as their JSON text, strings without quotes.
    public var flattenedParams: [String: String] {
        var out: [String: String] = [:]
        func walk(_ value: JSONValue, _ prefix: String) {
            switch value {
            case let .object(object):
                for key in object.keys { walk(object.values[key]!, prefix.isEmpty ? key : prefix + "." + key) }
            case let .string(text):
                out[prefix] = text
            default:
                out[prefix] = JSONWriter.write(value, sortedKeys: true)
            }
        }
        walk(config, "")
        // Defaults the spec left out still matter when comparing runs.
        out["optimizer.lr"] = out["optimizer.lr"] ?? JSONWriter.write(.number(lr))
        out["seed"] = out["seed"] ?? String(seed)
        return out
    }

    /// "seed=1 optimizer.lr=0.01" for the sweep values of this run, or "" without a sweep.
    public var assignmentSummary: String {
        assignments.map { "\($0.path)=\(JSONWriter.write($0.value))" }.joined(separator: " ")
    }
}
