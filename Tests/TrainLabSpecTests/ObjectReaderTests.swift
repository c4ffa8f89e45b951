import XCTest
@testable import TrainLabSpec

final class ObjectReaderTests: XCTestCase {
    let spec = """
        {
          "name": "x",
          "optimizer": {"kind": "adam", "lrr": 0.1, "betas": [0.9, 1.5]},
          "model": {"hidden": [64, 32, 0], "depth": 1.5, "act": "gelu",
                    "norm": {"kind": "layernorm", "eps": 1e-5}}
        }
        """

    func testReadsTypedValuesAndDefaults() throws {
        let r = try reader(#"{"s": "a", "i": 3, "d": 0.5, "b": true, "ia": [1, 2], "da": [0.9, 0.999], "n": null}"#)
        XCTAssertEqual(try r.string("s"), "a")
        XCTAssertEqual(try r.int("i", range: 1...10), 3)
        XCTAssertEqual(try r.double("d", range: 0...1, openUpperBound: true), 0.5)
        XCTAssertEqual(try r.bool("b"), true)
        XCTAssertEqual(try r.intArray("ia"), [1, 2])
        XCTAssertEqual(try r.doubleArray("da", count: 2), [0.9, 0.999])
        XCTAssertNil(try r.optionalInt("n"))
        XCTAssertNil(try r.optionalString("zz"))
        XCTAssertEqual(try r.int("missing", default: 7), 7)
        XCTAssertEqual(try r.double("i"), 3)
        XCTAssertNoThrow(try r.finish())
    }

    func testMissingRequiredKey() throws {
        let r = try reader("{\n  \"optimizer\": {}\n}")
        let opt = try XCTUnwrap(try r.object("optimizer"))
        XCTAssertEqual(specError { try opt.double("lr") }?.description, "x.json:2:16: optimizer: missing required key 'lr'")
        XCTAssertEqual(specError { try r.string("name") }?.description, "x.json:1:1: missing required key 'name'")
    }

    func testNotAnObject() throws {
        let doc = try JSONParser.parse(#"{"model": "mlp"}"#, file: "x.json")
        let root = try ObjectReader(doc.root, path: "", document: doc)
        XCTAssertEqual(specError { try root.object("model") }?.description, "x.json:1:11: model: expected an object, got a string")
    }

    func testTypeErrorsNameThePath() throws {
        let r = try reader(spec)
        let model = try XCTUnwrap(try r.object("model"))
        XCTAssertEqual(specError { try model.int("depth") }?.description, "x.json:4:45: model.depth: expected an integer, got 1.5")
        XCTAssertEqual(specError { try model.bool("act") }?.description, "x.json:4:57: model.act: expected true or false, got a string")
        XCTAssertEqual(
            specError { try model.intArray("hidden", elementRange: 1...1_000_000) }?.description,
            "x.json:4:32: model.hidden[2]: expected an integer in 1...1000000, got 0")
        let opt = try XCTUnwrap(try r.object("optimizer"))
        XCTAssertEqual(
            specError { try opt.doubleArray("betas", count: 3) }?.description,
            "x.json:3:54: optimizer.betas: expected an array of 3 numbers, got 2 elements")
        XCTAssertEqual(specError { try opt.intArray("kind") }?.message, "expected an array of integers, got a string")
    }

    func testRangeErrors() throws {
        let r = try reader(spec)
        let opt = try XCTUnwrap(try r.object("optimizer"))
        let betas = try opt.doubleArray("betas", count: 2)
        XCTAssertEqual(betas, [0.9, 1.5])
        let doc = try JSONParser.parse(#"{"b": 1.5, "one": 1, "n": 0, "neg": -1}"#, file: "x.json")
        let o = try ObjectReader(doc.root, path: "optimizer", document: doc)
        XCTAssertEqual(specError { try o.double("b", range: 0...1, openUpperBound: true) }?.message, "expected a number in [0, 1), got 1.5")
        XCTAssertEqual(specError { try o.double("one", range: 0...1, openUpperBound: true) }?.message, "expected a number in [0, 1), got 1")
        XCTAssertEqual(try o.double("one", range: 0...1), 1)
        XCTAssertEqual(specError { try o.double("n", range: .leastNonzeroMagnitude...Double.infinity) }?.message, "expected a number > 0, got 0")
        XCTAssertEqual(specError { try o.optionalDouble("neg", range: 0...Double.infinity) }?.message, "expected a number >= 0, got -1")
        XCTAssertEqual(specError { try o.int("n", range: 1...Int.max) }?.message, "expected an integer >= 1, got 0")
        XCTAssertEqual(specError { try o.optionalInt("b", range: 1...3) }?.message, "expected an integer, got 1.5")
    }

    func testUnknownKeyWithSuggestionAndLocation() throws {
        let r = try reader(spec)
        let opt = try XCTUnwrap(try r.object("optimizer"))
        _ = try opt.string("kind")
        _ = try opt.double("lr", default: 1e-3)
        _ = try opt.doubleArray("betas", default: [0.9, 0.999], count: 2)
        let error = specError { try opt.finish() }
        XCTAssertEqual(error?.path, "optimizer.lrr")
        XCTAssertEqual(error?.description, "x.json:3:33: optimizer.lrr: unknown key 'lrr' in optimizer, did you mean 'lr'?")
    }

    func testUnknownKeyWithoutSuggestionListsKnownKeys() throws {
        let r = try reader(#"{"name": "x", "zzz": 1}"#)
        _ = try r.string("name")
        _ = r.has("seed")
        XCTAssertEqual(specError { try r.finish() }?.description, "x.json:1:15: zzz: unknown key 'zzz' at the top level (known keys: name, seed)")
    }

    func testChoice() throws {
        let r = try reader(#"{"optimizer": {"kind": "adma"}, "k": 3}"#)
        let opt = try XCTUnwrap(try r.object("optimizer"))
        XCTAssertEqual(
            specError { try opt.choice("kind", among: ["sgd", "adam", "adamw"]) }?.description,
            "x.json:1:24: optimizer.kind: unknown value 'adma' for optimizer.kind, did you mean 'adam'? (one of: sgd, adam, adamw)")
        XCTAssertEqual(try opt.choice("other", default: "sgd", among: ["sgd"]), "sgd")
        XCTAssertEqual(specError { try r.choice("k", among: ["a", "b"]) }?.message, "expected a string (one of: a, b), got a number")
    }

    func testCatalogueBothForms() throws {
        let r = try reader(spec)
        let model = try XCTUnwrap(try r.object("model"))
        let kinds = ["relu", "gelu", "silu"]
        let bare = try XCTUnwrap(try model.catalogue("act", kinds: kinds))
        XCTAssertEqual(bare.kind, "gelu")
        XCTAssertEqual(bare.options.path, "model.act")
        XCTAssertEqual(try bare.options.string("approximate", default: "none"), "none")
        XCTAssertNoThrow(try bare.options.finish())

        let norm = try XCTUnwrap(try model.catalogue("norm", default: "none", kinds: ["none", "layernorm", "rmsnorm"]))
        XCTAssertEqual(norm.kind, "layernorm")
        XCTAssertEqual(norm.options.path, "model.norm")
        XCTAssertEqual(try norm.options.double("eps"), 1e-5)
        XCTAssertNoThrow(try norm.options.finish())

        let missing = try XCTUnwrap(try model.catalogue("init", default: "zeros", kinds: ["zeros"]))
        XCTAssertEqual(missing.kind, "zeros")
        XCTAssertNil(try model.catalogue("absent", kinds: kinds))
    }

    func testCatalogueErrors() throws {
        let r = try reader(#"{"a": "gelux", "b": {"kind": "rleu", "slope": 1}, "c": {"slope": 1}, "d": 3, "e": {"kind": "relu", "slop": 1}}"#)
        let kinds = ["relu", "leaky_relu", "gelu"]
        XCTAssertEqual(
            specError { try r.catalogue("a", kinds: kinds) }?.description,
            "x.json:1:7: a: unknown kind 'gelux' for a, did you mean 'gelu'? (one of: relu, leaky_relu, gelu)")
        XCTAssertEqual(
            specError { try r.catalogue("b", kinds: kinds) }?.description,
            "x.json:1:30: b.kind: unknown kind 'rleu' for b, did you mean 'relu'? (one of: relu, leaky_relu, gelu)")
        XCTAssertEqual(specError { try r.catalogue("c", kinds: kinds) }?.message, "missing required key 'kind' (one of: relu, leaky_relu, gelu)")
        XCTAssertEqual(specError { try r.catalogue("d", kinds: kinds) }?.message, "expected a name (one of: relu, leaky_relu, gelu) or an object with \"kind\", got a number")
        let e = try XCTUnwrap(try r.catalogue("e", kinds: kinds))
        _ = try e.options.double("slope", default: 0.01)
        XCTAssertEqual(specError { try e.options.finish() }?.message, "unknown key 'slop' in e, did you mean 'slope'?")
    }

    func testErrorHelperPointsAtValue() throws {
        let r = try reader(spec)
        let model = try XCTUnwrap(try r.object("model"))
        XCTAssertEqual(model.error("hidden", "widths must shrink").description, "x.json:4:23: model.hidden: widths must shrink")
        // A path without its own location falls back to the nearest ancestor.
        XCTAssertEqual(model.error("nope", "m").description, "x.json:4:12: model.nope: m")
    }

    func testDidYouMean() {
        XCTAssertEqual(didYouMean("adma", among: ["sgd", "adam", "adamw"]), "adam")
        XCTAssertEqual(didYouMean("LR", among: ["lr", "momentum"]), "lr")
        XCTAssertEqual(didYouMean("warmupsteps", among: ["warmup_steps", "steps"]), "warmup_steps")
        XCTAssertEqual(didYouMean("batch-size", among: ["batch_size"]), "batch_size")
        XCTAssertEqual(didYouMean("kaiming", among: ["xavier_normal", "kaiming_normal", "kaiming_uniform"]), "kaiming_normal")
        XCTAssertEqual(didYouMean("learning_rate_x", among: ["learning_rate"]), "learning_rate")
        XCTAssertNil(didYouMean("x", among: ["lr"]))
        XCTAssertNil(didYouMean("totally", among: ["sgd", "adam"]))
    }
}
