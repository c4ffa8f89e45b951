import TrainLabSpec

extension ExperimentSpec {
    /// The configuration in canonical form (sorted keys, compact): what the hash covers.
    public var canonicalConfig: String { JSONWriter.write(config, sortedKeys: true) }

    /// Identifies "the same run" across invocations: the canonical config plus the program
    /// version, so a new version reruns rather than trusting old results.
    public func configHash(programVersion: String) -> String {
        Digest.sha256Hex(canonicalConfig + "\n" + programVersion)
    }

    /// The resolved config flattened to dotted keys (`optimizer.lr` -> 0.01) for the `params`
    /// table: scalars as they are, arrays as values (stored as their JSON text).
    public var flattenedParams: [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        func walk(_ value: JSONValue, _ prefix: String) {
            if case let .object(object) = value {
                for key in object.keys { walk(object.values[key]!, prefix.isEmpty ? key : prefix + "." + key) }
            } else {
                out[prefix] = value
            }
        }
        walk(config, "")
        return out
    }

    /// "seed=1 optimizer.lr=0.01" for the sweep values of this run, or "" without a sweep;
    /// fractions to 4 significant digits (a random sweep's draws), as every listing shows them.
    public var assignmentSummary: String {
        assignments.map { "\($0.path)=\(Self.compact($0.value))" }.joined(separator: " ")
    }

    /// A value as listings show it: a fractional number to 4 significant digits, the rest as JSON.
    public static func compact(_ value: JSONValue) -> String {
        if case .number(let number) = value, number.value.isFinite, number.value != number.value.rounded() {
            return String(format: "%.4g", number.value)
        }
        return JSONWriter.write(value)
    }
}

extension ExperimentSpec {
    /// The flattened params of the catalogue choice at `prefix` (`optimizer`, `model.norm`) in
    /// the resolved `config` of a run, as they would be with only its `kind` written: the kind's
    /// defaults. Nil when `config` has no such choice or the run would not resolve without its
    /// options.
    public static func choiceDefaults(in config: JSONValue, prefix: String) -> [String: JSONValue]? {
        func replaced(_ value: JSONValue, at path: ArraySlice<Substring>) -> JSONValue? {
            guard case .object(var object) = value, let first = path.first, let member = object[String(first)] else { return nil }
            if path.count == 1 {
                guard case .object(let choice) = member, let kind = choice["kind"] else { return nil }
                object[String(first)] = ["kind": kind]
            } else {
                guard let inner = replaced(member, at: path.dropFirst()) else { return nil }
                object[String(first)] = inner
            }
            return .object(object)
        }
        guard let root = replaced(config, at: prefix.split(separator: ".")[...]),
              let spec = try? ExperimentSpec(JSONDocument(root: root, file: ""), assignments: []) else { return nil }
        return spec.flattenedParams.filter { $0.key.hasPrefix(prefix + ".") }
    }
}

extension ExperimentSpec {
    /// Whether a loss of real targets (mse, l1, huber, bce, kl_div) trains a classification task:
    /// its target row is then the class's one-hot vector, `F.one_hot(y, classes).float()`.
    public var trainsOnOneHotTargets: Bool { loss.targetKind == .real && task.hasClassTargets }
}
