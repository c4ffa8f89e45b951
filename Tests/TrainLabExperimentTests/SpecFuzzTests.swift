import XCTest
import Foundation
import TrainLabSpec
import TrainLabIO
import TrainLabAutodiff
@testable import TrainLabExperiment

/// No input may crash TrainLab (docs/interface.md): every shipped spec, mutated a few hundred ways
/// (extreme numbers, wrong types, missing and duplicate keys, truncation, invalid UTF-8, deep
/// nesting), either loads and passes every pre-run check or is refused with a `SpecError`.
/// A trap kills the test process, so reaching the end at all is most of the check.
final class SpecFuzzTests: XCTestCase {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every spec under experiments/, benchmarks included.
    static func shippedSpecs() throws -> [URL] {
        let folder = repositoryRoot.appendingPathComponent("experiments")
        let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "json" } ?? []
        return files.sorted { $0.path < $1.path }
    }

    /// Each spec gets up to 200 mutations, down to 10 when its model is large: a mutation that
    /// stays valid builds the model (`Runner.check`, slow in a debug build), and the whole test
    /// should take seconds.
    static func mutationCount(parameters: Int) -> Int {
        min(200, max(10, 10_000_000 / max(parameters, 1)))
    }

    func testMutatedShippedSpecsLoadOrFailWithASpecError() throws {
        let specs = try Self.shippedSpecs()
        XCTAssertGreaterThanOrEqual(specs.count, 10, "shipped specs not found under \(Self.repositoryRoot.path)")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trainlab-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var failures: [String] = []
        for spec in specs {
            let root = Self.firstRunOnly(try JSONParser.parse(data: try Data(contentsOf: spec), file: spec.path).root)
            var mutator = SpecMutator(root: root, seed: 0x7261_696E_6C61_62)
            let path = folder.appendingPathComponent(spec.lastPathComponent).path
            _ = FileManager.default.createFile(atPath: path, contents: mutator.original)
            let parameters = try ExperimentSpec.load(file: path).reduce(0) { $0 + ResourceEstimate($1).parameters }
            for index in 0..<Self.mutationCount(parameters: parameters) {
                let mutation = mutator.next()
                _ = FileManager.default.createFile(atPath: path, contents: mutation.bytes)
                do {
                    _ = try ExperimentSpec.loadChecked(file: path)
                } catch let error as SpecError {
                    if error.message.isEmpty { failures.append("\(spec.lastPathComponent) #\(index) (\(mutation.description)): empty message") }
                } catch {
                    failures.append("\(spec.lastPathComponent) #\(index) (\(mutation.description)): \(type(of: error)): \(error)")
                }
            }
        }
        XCTAssert(failures.isEmpty, failures.prefix(20).joined(separator: "\n"))
    }

    /// The spec with each sweep axis cut to its first value: one run to check per valid mutation
    /// (the sweep is still there to mutate).
    static func firstRunOnly(_ root: JSONValue) -> JSONValue {
        guard case .object(var spec) = root, case .object(var sweep)? = spec["sweep"] else { return root }
        for key in sweep.keys {
            if case .array(let values)? = sweep[key], let first = values.first { sweep[key] = .array([first]) }
        }
        spec["sweep"] = .object(sweep)
        return .object(spec)
    }
}

/// Deterministic mutations of one spec: the bytes to write and what was done to them.
struct SpecMutator {
    /// The spec written out unchanged: what the byte-level mutations cut and corrupt.
    private(set) var original: Data
    let root: JSONValue
    var random: SplitMix64
    /// Paths of every value in the document (`[]` is the root), and of the numbers among them.
    let valuePaths: [[PathStep]]
    let numberPaths: [[PathStep]]

    enum PathStep: Equatable, CustomStringConvertible {
        case key(String)
        case index(Int)
        var description: String {
            switch self {
            case .key(let key): return "." + key
            case .index(let index): return "[\(index)]"
            }
        }
    }

    /// Numbers at and past every limit: past Int64, past Float/Double ranges, negative, zero,
    /// fractional, and negative zero.
    static let extremeNumbers = [
        "9223372036854775808", "-9223372036854775808", "9223372036854775807", "1e308", "-1e308",
        "1e300", "1e18", "1e10", "-1", "0", "0.5", "-0.0", "4294967296", "1e-320",
    ]
    static let wrongTypes = [#""x""#, "[]", "{}", "null", "true"]
    static let invalidUTF8: [[UInt8]] = [[0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0x80]]

    init(root: JSONValue, seed: UInt64) {
        self.root = root
        random = SplitMix64(seed: seed)
        var all: [[PathStep]] = [], numbers: [[PathStep]] = []
        func visit(_ value: JSONValue, _ path: [PathStep]) {
            all.append(path)
            switch value {
            case .number: numbers.append(path)
            case .array(let elements): for (i, element) in elements.enumerated() { visit(element, path + [.index(i)]) }
            case .object(let object): for key in object.keys { visit(object[key]!, path + [.key(key)]) }
            default: break
            }
        }
        visit(root, [])
        valuePaths = all
        numberPaths = numbers
        original = Data()
        original = render(.none)
    }

    mutating func next() -> (bytes: Data, description: String) {
        func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
        func described(_ path: [PathStep]) -> String { path.isEmpty ? "the root" : path.map(\.description).joined() }
        switch random.next() % 10 {
        case 0...3 where !numberPaths.isEmpty:
            let path = pick(numberPaths), number = pick(Self.extremeNumbers)
            return (render(.replace(path, number)), "\(described(path)) = \(number)")
        case 0...5:
            let path = pick(valuePaths), value = pick(Self.wrongTypes)
            return (render(.replace(path, value)), "\(described(path)) = \(value)")
        case 6:
            let path = pick(Array(valuePaths.dropFirst()))
            return (render(.delete(path)), "delete \(described(path))")
        case 7:
            let path = pick(Array(valuePaths.dropFirst())), value = pick(Self.extremeNumbers + Self.wrongTypes)
            return (render(.duplicate(path, value)), "duplicate \(described(path)) as \(value)")
        case 8:
            let cut = Int(random.next() % UInt64(original.count))
            if random.next() % 2 == 0 {
                return (original.prefix(cut), "truncated at byte \(cut)")
            }
            var bytes = original
            let invalid = pick(Self.invalidUTF8)
            bytes.insert(contentsOf: invalid, at: cut)
            return (bytes, "bytes \(invalid) inserted at \(cut)")
        default:
            let depth = pick([600, 5_000, 100_000])
            switch random.next() % 3 {
            case 0:
                return (Data(String(repeating: "[", count: depth).utf8) + original + Data(String(repeating: "]", count: depth).utf8),
                        "the file nested in \(depth) arrays")
            case 1:
                let path = pick(valuePaths)
                let nested = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
                return (render(.replace(path, nested)), "\(described(path)) = \(depth) nested objects")
            default:
                return (Data(String(repeating: "[", count: depth).utf8), "\(depth) unclosed arrays")
            }
        }
    }

    enum Edit {
        case none
        /// The value at the path written as this JSON text.
        case replace([PathStep], String)
        case delete([PathStep])
        /// The member at the path written twice, the second time with this JSON text.
        case duplicate([PathStep], String)
    }

    /// The document written out again with one edit (object keys in file order).
    func render(_ edit: Edit) -> Data {
        var text = ""
        func write(_ value: JSONValue, _ path: [PathStep]) {
            if case .replace(path, let replacement) = edit {
                text += replacement
                return
            }
            switch value {
            case .array(let elements):
                text += "["
                members(elements.indices.map { (.index($0), nil, elements[$0]) }, path)
                text += "]"
            case .object(let object):
                text += "{"
                members(object.keys.map { (.key($0), JSONWriter.quoted($0), object[$0]!) }, path)
                text += "}"
            default:
                text += JSONWriter.write(value)
            }
        }
        func members(_ items: [(step: PathStep, label: String?, value: JSONValue)], _ path: [PathStep]) {
            var first = true
            func separate() {
                if !first { text += ", " }
                first = false
            }
            for item in items {
                let childPath = path + [item.step]
                switch edit {
                case .delete(childPath): continue
                case .duplicate(childPath, let second):
                    separate()
                    text += item.label.map { $0 + ": " } ?? ""
                    write(item.value, childPath)
                    separate()
                    text += (item.label.map { $0 + ": " } ?? "") + second
                default:
                    separate()
                    text += item.label.map { $0 + ": " } ?? ""
                    write(item.value, childPath)
                }
            }
        }
        write(root, [])
        return Data(text.utf8)
    }
}
