import TrainLabSpec
import TrainLabExperiment

/// `trainlab catalog [--json]`: every name a spec may use, from the catalogue's own tables.
enum CatalogCommand {
    static func run(_ arguments: inout Arguments) throws {
        let json = arguments.flag("--json")
        try arguments.finish()
        print(json ? JSONWriter.write(CatalogueListing.json, pretty: true) : CatalogueListing.text, terminator: json ? "\n" : "")
    }
}
