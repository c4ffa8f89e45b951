import TrainLabSpec
import TrainLabData

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
    public static let kinds = ["initializers", "norms", "activations", "losses", "optimizers", "schedules", "tasks"]

    /// Schedule defaults that depend on the run's length are shown for `training.steps`' default.
    static let listedSteps = 1000

    public static func entries(_ kind: String) -> [Entry] {
        switch kind {
        case "initializers": return listed(Catalogue.initializers) { _ = try $0.make($1) }
        case "norms": return listed(Catalogue.norms) { _ = try $0.make($1) }
        case "activations": return listed(Catalogue.activations) { _ = try $0.make($1) }
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
