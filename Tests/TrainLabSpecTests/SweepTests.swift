import XCTest
@testable import TrainLabSpec

final class SweepTests: XCTestCase {
    func expand(_ text: String) throws -> [(spec: JSONValue, assignments: [(path: String, value: JSONValue)])] {
        try Sweep.expand(JSONParser.parse(text, file: "x.json"))
    }

    func sweepError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        specError({ try expand(text) }, file: file, line: line)?.description ?? ""
    }

    func testNoSweepGivesTheRootUnchanged() throws {
        let runs = try expand(#"{"name": "x", "seed": 1}"#)
        XCTAssertEqual(runs.count, 1)
        XCTAssertEqual(runs[0].spec, ["name": "x", "seed": 1])
        XCTAssertTrue(runs[0].assignments.isEmpty)
    }

    func testCartesianOrderAndCount() throws {
        let runs = try expand("""
            {"name": "x", "optimizer": {"kind": "sgd", "lr": 0.1},
             "sweep": {"optimizer.lr": [0.01, 0.1], "seed": [0, 1, 2], "schedule.kind": ["cosine"]}, "z": 1}
            """)
        XCTAssertEqual(runs.count, 6)
        let pairs = runs.map { run in run.assignments.map { "\($0.path)=\(JSONWriter.write($0.value))" }.joined(separator: " ") }
        XCTAssertEqual(pairs, [
            "optimizer.lr=0.01 seed=0 schedule.kind=\"cosine\"",
            "optimizer.lr=0.01 seed=1 schedule.kind=\"cosine\"",
            "optimizer.lr=0.01 seed=2 schedule.kind=\"cosine\"",
            "optimizer.lr=0.1 seed=0 schedule.kind=\"cosine\"",
            "optimizer.lr=0.1 seed=1 schedule.kind=\"cosine\"",
            "optimizer.lr=0.1 seed=2 schedule.kind=\"cosine\"",
        ])
        // Existing keys keep their place, new ones (and created objects) go last; sweep is removed.
        XCTAssertEqual(
            JSONWriter.write(runs[5].spec),
            #"{"name":"x","optimizer":{"kind":"sgd","lr":0.1},"z":1,"seed":2,"schedule":{"kind":"cosine"}}"#)
    }

    func testSetDirectly() throws {
        let root: JSONValue = ["a": ["b": 1, "c": 2], "d": "s"]
        XCTAssertEqual(JSONWriter.write(try Sweep.set(5, at: "a.b", in: root)), #"{"a":{"b":5,"c":2},"d":"s"}"#)
        XCTAssertEqual(JSONWriter.write(try Sweep.set(5, at: "x.y.z", in: root)), #"{"a":{"b":1,"c":2},"d":"s","x":{"y":{"z":5}}}"#)
        // A name on the way is a catalogue choice: it takes options as {"kind": name, ...}.
        XCTAssertEqual(JSONWriter.write(try Sweep.set(5, at: "d.e", in: root)), #"{"a":{"b":1,"c":2},"d":{"kind":"s","e":5}}"#)
        XCTAssertEqual(
            specError { try Sweep.set(5, at: "a.b.e", in: root) }?.message,
            "cannot set 'a.b.e': 'a.b' is a number, not an object")
        XCTAssertEqual(specError { try Sweep.set(5, at: "a..b", in: root) }?.message, "invalid path 'a..b': empty segment")
    }

    func testSweepErrors() {
        XCTAssertEqual(
            sweepError("{\"sweep\": {\n  \"optimizer.lr\": []}}"),
            "x.json:2:19: sweep.optimizer.lr: expected a non-empty array of values to try, got an empty array")
        XCTAssertEqual(
            sweepError(#"{"seed": 1, "sweep": {"seed.first": [1]}}"#),
            "x.json:1:37: sweep.seed.first: cannot set 'seed.first': 'seed' is a number, not an object")
        XCTAssertEqual(
            sweepError(#"{"sweep": {"optimizer.lr": 0.1}}"#),
            "x.json:1:28: sweep.optimizer.lr: expected an array of values to try, got a number")
        XCTAssertEqual(
            sweepError(#"{"sweep": {"optimizer": [{}], "optimizer.lr": [1]}}"#),
            "x.json:1:47: sweep.optimizer.lr: sweep paths 'optimizer' and 'optimizer.lr' overlap")
        XCTAssertEqual(sweepError(#"{"sweep": {"a..b": [1]}}"#).contains("sweep.a..b: invalid path 'a..b': empty segment"), true)
        XCTAssertEqual(
            sweepError(#"{"sweep": {"lr": {"log_uniform": [1e-4, 1e-1]}}}"#),
            "x.json:1:18: sweep.lr: expected an array of values to try, got a distribution (distributions need \"sweep_mode\": {\"random\": N})")
        XCTAssertEqual(sweepError(#"{"sweep": [1]}"#), "x.json:1:11: sweep: expected an object, got an array")
        XCTAssertEqual(
            sweepError(#"{"sweep": {"lr": [1]}, "sweep_mode": {"random": 2, "sed": 1}}"#),
            "x.json:1:52: sweep_mode.sed: unknown key 'sed' in sweep_mode, did you mean 'seed'?")
        XCTAssertEqual(
            sweepError(#"{"sweep": {"lr": [1]}, "sweep_mode": {"random": 0}}"#),
            "x.json:1:49: sweep_mode.random: expected an integer in 1...100000, got 0")
        XCTAssertEqual(
            sweepError(#"{"sweep": {"lr": [1]}, "sweep_mode": "grd"}"#),
            "x.json:1:38: sweep_mode: unknown sweep_mode 'grd', did you mean 'grid'? (use \"grid\", {\"random\": N, \"seed\": S}, {\"successive_halving\": {...}}, {\"hyperband\": {...}} or {\"tpe\": {...}})")
        XCTAssertEqual(
            sweepError(#"{"sweep": {"lr": {"log_unifrom": [1, 2]}}, "sweep_mode": {"random": 2}}"#),
            "x.json:1:19: sweep.lr.log_unifrom: unknown key 'log_unifrom' in sweep.lr, did you mean 'log_uniform'?")
        XCTAssertEqual(
            sweepError(#"{"sweep": {"lr": {"log_uniform": [0, 2]}}, "sweep_mode": {"random": 2}}"#),
            "x.json:1:34: sweep.lr.log_uniform: expected [lo, hi] with 0 < lo <= hi")
        XCTAssertEqual(
            sweepError(#"{"sweep": {"a": [1], "b": [1], "c": [1]}, "d": 0}"#.replacingOccurrences(of: "[1]", with: "[" + Array(repeating: "1", count: 50).joined(separator: ",") + "]")),
            "x.json:1:11: sweep: the sweep expands to more than 100000 runs")
    }

    func testRandomSweepIsDeterministic() throws {
        let text = """
            {"name": "x", "optimizer": {"kind": "adam"},
             "sweep": {"optimizer.lr": {"log_uniform": [1e-4, 1e-1]}, "optimizer.kind": ["sgd", "adam"],
                       "dropout": {"uniform": [0, 0.5]}, "width": {"int_uniform": [8, 12]}},
             "sweep_mode": {"random": 20, "seed": 7}}
            """
        let a = try expand(text)
        let b = try expand(text)
        let c = try expand(text.replacingOccurrences(of: "\"seed\": 7", with: "\"seed\": 8"))
        XCTAssertEqual(a.count, 20)
        XCTAssertEqual(a.map(\.spec), b.map(\.spec))
        XCTAssertNotEqual(a.map(\.spec), c.map(\.spec))
        var kinds = Set<String>()
        for run in a {
            XCTAssertEqual(run.assignments.map(\.path), ["optimizer.lr", "optimizer.kind", "dropout", "width"])
            guard case .object(let spec) = run.spec, case .object(let opt)? = spec["optimizer"],
                case .number(let lrNumber)? = opt["lr"], case .string(let kind)? = opt["kind"],
                case .number(let dropoutNumber)? = spec["dropout"], case .number(let widthNumber)? = spec["width"]
            else { return XCTFail("unexpected spec \(run.spec)") }
            let (lr, dropout, width) = (lrNumber.value, dropoutNumber.value, widthNumber.value)
            XCTAssertTrue((1e-4...1e-1).contains(lr))
            XCTAssertTrue((0...0.5).contains(dropout))
            XCTAssertTrue([8, 9, 10, 11, 12].contains(width))
            XCTAssertNil(spec["sweep"])
            XCTAssertNil(spec["sweep_mode"])
            kinds.insert(kind)
        }
        XCTAssertEqual(kinds, ["sgd", "adam"])
        // The first draw of SplitMix64 from seed 0 is the published value.
        var rng = SplitMix64(seed: 0)
        XCTAssertEqual(rng.next(), 0xE220_A839_7B1D_CDAF)
    }

    func testResolvedDocumentPointsSweptPathsAtTheSweep() throws {
        let doc = try JSONParser.parse("{\"optimizer\": {\"lr\": 1},\n \"sweep\": {\"optimizer.lr\": [-1, 2]}}", file: "x.json")
        let run = try Sweep.expand(doc)[0]
        let resolved = JSONDocument(root: run.spec, file: doc.file, locationsFrom: doc, assignments: run.assignments)
        let optimizer = try XCTUnwrap(try ObjectReader(resolved.root, path: "", document: resolved).object("optimizer"))
        XCTAssertEqual(
            specError { try optimizer.double("lr", range: 0...1) }?.description,
            "x.json:2:29: sweep[\"optimizer.lr\"][0]: expected a number in [0, 1], got -1",
            "at the swept element, -1, not the '[' of its list")
        // The second run's value is the list's second element.
        let second = try Sweep.expand(doc)[1]
        let secondDocument = JSONDocument(root: second.spec, file: doc.file, locationsFrom: doc, assignments: second.assignments)
        XCTAssertEqual(secondDocument.sourcePath(of: "optimizer.lr"), "sweep[\"optimizer.lr\"][1]")
        XCTAssertTrue(secondDocument.location(of: "optimizer.lr")! == (2, 33))
        // Without assignments the original locations are kept.
        let plain = JSONDocument(root: run.spec, file: doc.file, locationsFrom: doc)
        XCTAssertTrue(plain.location(of: "optimizer.lr")! == (1, 22))
    }
}
