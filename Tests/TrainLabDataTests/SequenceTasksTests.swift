import XCTest
import TrainLabAutodiff
@testable import TrainLabData

final class SequenceTasksTests: XCTestCase {
    let ignored = Tape.ignoredTarget

    func options(_ kind: String, train: Int = 32, val: Int = 8, _ extra: [String: Double] = [:]) -> TaskOptions {
        var o = TaskOptions(kind: kind)
        o.trainSize = train
        o.valSize = val
        o.extra = extra
        return o
    }

    func ids(_ d: Dataset) -> [Int] { d.inputs.scalars.map { Int($0) } }
    func targets(_ d: Dataset) -> [Int] {
        guard case .classes(let t) = d.targets else { XCTFail("sequence targets are class ids"); return [] }
        return t
    }

    func testRegisteredWithDefaults() throws {
        let expected: [String: (length: Int, vocab: Int, scored: Int)] = [
            "copy": (16, 16, 8), "reverse": (16, 16, 8), "sort": (16, 16, 8),
            "modular_addition": (4, 99, 1), "associative_recall": (17, 32, 1),
        ]
        for (name, e) in expected {
            XCTAssert(SyntheticTasks.names.contains(name), name)
            XCTAssertEqual(SyntheticTasks.descriptor(name)?.isSequence, true, name)
            let task = try SyntheticTasks.make(options(name), seed: 3)
            XCTAssertEqual(task.kind, .sequence, name)
            XCTAssertEqual(task.inputDim, e.length, name)
            XCTAssertEqual(task.outputDim, e.vocab, name)
            XCTAssertEqual(task.notes["scored_per_row"], Double(e.scored), name)
            for (split, n) in [(task.train, 32), (try XCTUnwrap(task.validation), 8)] {
                XCTAssertEqual(split.inputs.shape, [n, e.length], name)
                XCTAssert(split.inputs.scalars.allSatisfy { $0 == $0.rounded() && $0 >= 0 && Int($0) < e.vocab }, name)
                let t = targets(split)
                XCTAssertEqual(t.count, n * e.length, name)
                // Scored positions are the last `scored` of each row; the rest are ignored.
                for r in 0..<n {
                    let row = t[(r * e.length)..<((r + 1) * e.length)]
                    XCTAssert(row.prefix(e.length - e.scored).allSatisfy { $0 == ignored }, "\(name) row \(r)")
                    XCTAssert(row.suffix(e.scored).allSatisfy { (0..<e.vocab).contains($0) }, "\(name) row \(r)")
                }
            }
        }
    }

    /// Pinned rows for seed 0 (symbols 0 ..< 4, separator 4; targets are the next tokens where
    /// scored), then the layout of each kind checked row by row.
    func testExactContentOfTinyCases() throws {
        let copy = try SyntheticTasks.make(options("copy", train: 2, val: 0, ["vocab": 5, "seq_len": 6]), seed: 0)
        XCTAssertEqual(ids(copy.train), [3, 1, 1, 4, 3, 1, 3, 3, 0, 4, 3, 3])
        XCTAssertEqual(targets(copy.train), [ignored, ignored, ignored, 3, 1, 1, ignored, ignored, ignored, 3, 3, 0])

        for (kind, transform) in [("reverse", { (x: [Int]) in Array(x.reversed()) }), ("sort", { (x: [Int]) in x.sorted() })] {
            let task = try SyntheticTasks.make(options(kind, train: 20, val: 0, ["vocab": 6, "seq_len": 8]), seed: 5)
            let x = ids(task.train), t = targets(task.train)
            for r in 0..<20 {
                let row = Array(x[(r * 8)..<(r * 8 + 8)]), answer = Array(t[(r * 8 + 4)..<(r * 8 + 8)])
                let symbols = Array(row[0..<4])
                XCTAssert(symbols.allSatisfy { $0 < 5 }, kind)
                XCTAssertEqual(row[4], 5, "\(kind): the separator is vocab - 1")
                XCTAssertEqual(answer, transform(symbols), kind)
                XCTAssertEqual(Array(row[5..<8]), Array(answer[0..<3]), "\(kind): inputs carry the outputs so far")
                XCTAssert(t[(r * 8)..<(r * 8 + 4)].allSatisfy { $0 == ignored }, kind)
            }
        }

        // p = 3: all 9 pairs, 5 for training and 4 for validation, none repeated; c = a + b mod 3.
        let modular = try SyntheticTasks.make(options("modular_addition", train: 5, val: 4, ["modulus": 3]), seed: 0)
        XCTAssertEqual(modular.outputDim, 5)
        var pairs: Set<[Int]> = []
        for split in [modular.train, modular.validation!] {
            let x = ids(split), t = targets(split)
            for r in 0..<split.count {
                let (a, plus, b, equals) = (x[4 * r], x[4 * r + 1], x[4 * r + 2], x[4 * r + 3])
                XCTAssertEqual([plus, equals], [3, 4])
                XCTAssertEqual(Array(t[(4 * r)..<(4 * r + 4)]), [ignored, ignored, ignored, (a + b) % 3])
                pairs.insert([a, b])
            }
        }
        XCTAssertEqual(pairs.count, 9)

        let recall = try SyntheticTasks.make(options("associative_recall", train: 50, val: 0, ["vocab": 10, "seq_len": 9]), seed: 0)
        let x = ids(recall.train), t = targets(recall.train)
        for r in 0..<50 {
            let row = Array(x[(r * 9)..<(r * 9 + 9)])
            let keys = stride(from: 0, to: 8, by: 2).map { row[$0] }, values = stride(from: 1, to: 8, by: 2).map { row[$0] }
            XCTAssertEqual(Set(keys).count, 4, "distinct keys")
            XCTAssert(keys.allSatisfy { $0 < 5 } && values.allSatisfy { (5..<10).contains($0) })
            let query = try XCTUnwrap(keys.firstIndex(of: row[8]), "the query is one of the row's keys")
            XCTAssertEqual(t[r * 9 + 8], values[query])
        }
    }

    func testDeterministicAndTrainIndependentOfValidationSize() throws {
        for name in SyntheticTasks.registry.filter(\.isSequence).map(\.name) {
            let a = try SyntheticTasks.make(options(name), seed: 42), b = try SyntheticTasks.make(options(name), seed: 42)
            let c = try SyntheticTasks.make(options(name), seed: 43)
            let moreValidation = try SyntheticTasks.make(options(name, val: 30), seed: 42)
            XCTAssertEqual(ids(a.train), ids(b.train), name)
            XCTAssertEqual(targets(a.validation!), targets(b.validation!), name)
            XCTAssertNotEqual(ids(a.train), ids(c.train), name)
            XCTAssertEqual(ids(a.train), ids(moreValidation.train), name)
            XCTAssertEqual(targets(a.train), targets(moreValidation.train), name)
        }
    }

    func testBadOptionsAreErrorsNamingTheKey() {
        let cases: [(TaskOptions, String)] = [
            (options("copy", ["seq_len": 7]), "task.seq_len"),
            (options("copy", ["vocab": 2]), "task.vocab"),
            (options("sort", ["seq_lenn": 8]), "did you mean 'seq_len'"),
            (options("associative_recall", ["seq_len": 8]), "task.seq_len"),
            (options("associative_recall", ["vocab": 8, "seq_len": 11]), "task.seq_len"),
            (options("modular_addition", ["modulus": 5, "vocab": 9]), "task.vocab"),
            (options("modular_addition", ["seq_len": 5]), "task.seq_len"),
            (options("modular_addition", train: 20, val: 10, ["modulus": 5]), "task.train_size"),
        ]
        for (o, expected) in cases {
            XCTAssertThrowsError(try SyntheticTasks.make(o, seed: 0), "\(o)") { error in
                XCTAssert("\(error)".contains(expected), "\(error)")
            }
        }
        var withInputDim = options("copy")
        withInputDim.inputDim = 16
        XCTAssertThrowsError(try SyntheticTasks.make(withInputDim, seed: 0))
        XCTAssertEqual(try SyntheticTasks.make(options("modular_addition", ["vocab": 13]), seed: 0).outputDim, 13)
    }

    /// A batch gathered by the sampler's `gather` keeps each row's L targets with it.
    func testGatherKeepsTargetsWithTheirRows() throws {
        let task = try SyntheticTasks.make(options("reverse", train: 6, val: 0, ["vocab": 7, "seq_len": 4]), seed: 1)
        let inputs = Tensor(shape: [2, 4])
        var batchTargets: [Int] = []
        task.train.gather([4, 1], inputs: inputs, realTargets: nil, classTargets: &batchTargets)
        let all = targets(task.train), x = ids(task.train)
        XCTAssertEqual(batchTargets, Array(all[16..<20]) + Array(all[4..<8]))
        XCTAssertEqual(inputs.scalars.map { Int($0) }, Array(x[16..<20]) + Array(x[4..<8]))
    }
}
