import TrainLabSpec
import TrainLabData
import TrainLabKernels
import TrainLabModels

/// Every catalogue name with its keys, their defaults and one line of doc (`trainlab catalog`),
/// generated from the tables themselves: each entry is built from an empty object, and the keys
/// its reader asked about are its keys, with what they resolved to (null: optional, no default).
/// A key an entry requires gets a placeholder, 1, and is listed as required.
public enum CatalogueListing {
    public struct Entry {
        public let name: String
        public let doc: String
        public let keys: [(key: String, defaultValue: JSONValue)]
        public let required: [String]
    }

    /// By kind, in this order; entries sorted by name (tasks in registry order, then `file`).
    public static let kinds = ["models", "initializers", "norms", "placements", "activations", "positional", "losses", "optimizers",
                               "schedules", "tasks", "constraints", "precisions"]

    /// Schedule defaults that depend on the run's length are shown for `training.steps`' default.
    static let listedSteps = 1000

    public static func entries(_ kind: String) -> [Entry] {
        switch kind {
        case "models":
            return [Entry(name: "mlp", doc: "Linear layers with norms and activations between them (`hidden`, `residual`)", keys: [], required: []),
                    Entry(name: "transformer", doc: "a decoder Transformer over token ids (`d_model`, `layers`, `heads`, ...)", keys: [], required: [])]
        case "initializers": return listed(Catalogue.initializers) { _ = try $0.make($1) }
        case "norms": return listed(Catalogue.norms) { _ = try $0.make($1) }
        case "placements":
            return NormPlacement.allCases.map { Entry(name: $0.rawValue, doc: $0.doc, keys: [], required: []) }
        case "activations":
            return (listed(Catalogue.activations) { _ = try $0.make($1) } + FeedForwardActivation.gatedNames.map { name in
                Entry(name: name, doc: "Transformer only: the gated FFN down(\(FeedForwardActivation.gated(named: name)!.activation.name)(gate x) ⊙ up x)",
                      keys: [], required: [])
            }).sorted { $0.name < $1.name }
        case "positional":
            return PositionalEncoding.allCases.map { Entry(name: $0.rawValue, doc: $0.doc, keys: [], required: []) }
        case "constraints":
            return ConstraintSpec.kinds.map { kind in
                Entry(name: kind, doc: "Σ‖W‖²_F ≤ max² over the weight matrices, by a Lagrange multiplier",
                      keys: [("max", .null), ("method", .string("dual_ascent")), ("dual_lr", .number(0.1)), ("rho", .number(1))],
                      required: ["max"])
            }
        case "precisions":
            return MatrixPrecision.allCases.map { precision in
                Entry(name: precision.rawValue, doc: precision == .fp32
                      ? "training.precision: every product in Float32 (the default)"
                      : "training.precision: matrix products on bf16-rounded operands with FP32 sums; all else FP32",
                      keys: [], required: [])
            }
        case "losses": return listed(Catalogue.losses) { _ = try $0.make($1) }
        case "optimizers":
            // `lr` is read beside each optimizer's own keys, its default from the optimizer's type.
            return (listed(Catalogue.optimizers) { entry, r in
                _ = try r.double("lr", default: entry.defaultLearningRate)
                _ = try entry(r)
            } + listed(Catalogue.closureOptimizers) { entry, r in
                _ = try r.double("lr", default: entry.defaultLearningRate)
                _ = try entry(r)
            }).sorted { $0.name < $1.name }
        case "schedules": return listed(Catalogue.schedules) { _ = try $0.make($1, listedSteps) }
        case "tasks":
            return SyntheticTasks.registry.map { task in
                Entry(name: task.name, doc: task.doc, keys: task.options.map { ($0.key, $0.defaultValue.json) }, required: [])
            } + [Entry(name: "file", doc: FileTask.doc, keys: [], required: [])]
        default: preconditionFailure("unknown catalogue kind \(kind)")
        }
    }

    private static func listed<E>(_ table: [String: E], doc: (E) -> String, _ make: (E, ObjectReader) throws -> Void) -> [Entry] {
        table.keys.sorted().map { name in
            let entry = table[name]!
            var placeholders = JSONObject()
            var required: [String] = []
            while true {
                let document = JSONDocument(root: .object(placeholders), file: "catalog")
                let reader = try! ObjectReader(.object(placeholders), path: name, document: document)
                do {
                    try make(entry, reader)
                } catch {
                    if let key = reader.askedKeys.last, placeholders[key] == nil {
                        placeholders[key] = .number(1)
                        required.append(key)
                        continue
                    }
                    preconditionFailure("catalogue entry \(name) fails on its defaults: \(error)")
                }
                guard case .object(let resolved) = reader.resolved else { fatalError("an object reader resolves to an object") }
                let keys = reader.askedKeys.map { key in (key, required.contains(key) ? JSONValue.null : resolved[key] ?? .null) }
                return Entry(name: name, doc: doc(entry), keys: keys, required: required)
            }
        }
    }

    private static func listed<Make>(_ table: [String: CatalogueEntry<Make>], _ make: (CatalogueEntry<Make>, ObjectReader) throws -> Void) -> [Entry] {
        listed(table, doc: \.doc, make)
    }

    private static func listed<Factory>(_ table: [String: OptimizerEntry<Factory>], _ make: (OptimizerEntry<Factory>, ObjectReader) throws -> Void) -> [Entry] {
        listed(table, doc: \.doc, make)
    }

    /// `{"activations": [{"name", "doc", "keys": {key: default}, "required": [key]}], ...}`.
    public static var json: JSONValue {
        var out = JSONObject()
        for kind in kinds {
            out[kind] = .array(entries(kind).map { entry in
                var object = JSONObject()
                object["name"] = .string(entry.name)
                object["doc"] = .string(entry.doc)
                var keys = JSONObject()
                for (key, value) in entry.keys { keys[key] = value }
                object["keys"] = .object(keys)
                if !entry.required.isEmpty { object["required"] = .array(entry.required.map(JSONValue.string)) }
                return .object(object)
            })
        }
        return .object(out)
    }

    /// Grouped by kind: `name  key default, ...` then the doc line, indented.
    public static var text: String {
        kinds.map { kind in
            let lines = entries(kind).map { entry -> String in
                let keys = entry.keys.map { key, value in
                    entry.required.contains(key) ? "\(key) (required)" : "\(key) \(JSONWriter.write(value))"
                }
                return "  \(entry.name)" + (keys.isEmpty ? "" : "  " + keys.joined(separator: ", ")) + "\n      \(entry.doc)"
            }
            return "\(kind):\n" + lines.joined(separator: "\n")
        }.joined(separator: "\n\n") + "\n"
    }
}
