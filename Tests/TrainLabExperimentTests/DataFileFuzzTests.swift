import XCTest
import Foundation
import TrainLabSpec
import TrainLabIO
import TrainLabAutodiff
@testable import TrainLabExperiment

/// No data or weights file may crash TrainLab (docs/interface.md): a file task's `.npy` files and a
/// `checkpoint.init_from` safetensors file, mutated a few hundred ways each (headers, sizes,
/// dtypes, truncation, huge shapes over sparse files, NaN and extreme payloads), go through what
/// `trainlab validate` runs and either pass or are refused with a `SpecError`. A trap or an
/// allocation that the machine cannot satisfy kills the test process.
final class DataFileFuzzTests: XCTestCase {
    static let mutations = 300

    func testMutatedDataAndWeightsFilesLoadOrFailWithASpecError() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trainlab-file-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        let task = #"{"kind": "file", "train_inputs": "x.npy", "train_targets": "y.npy", "val_inputs": "x.npy", "val_targets": "y.npy"}"#
        let spec = #"{"name": "fuzz", "task": \#(task), "model": {"kind": "mlp", "hidden": [4]}, "loss": "cross_entropy", "optimizer": "sgd", "training": {"steps": 2, "batch_size": 4}"#
        try (spec + "}").write(toFile: path("spec.json"), atomically: true, encoding: .utf8)
        try (spec + #", "checkpoint": {"init_from": "w.safetensors"}}"#).write(toFile: path("weights.json"), atomically: true, encoding: .utf8)

        try NumPy.write((0..<24).map { Float($0) / 24 }, shape: [8, 3], to: path("x.npy"))
        try NumPy.writeInt64([0, 1, 2, 0, 1, 2, 0, 1], shape: [8], to: path("y.npy"))
        let (_, model) = try Runner(spec: try ExperimentSpec.load(file: path("spec.json"))[0]).prepare()
        try SafeTensors.write(Checkpoints.tensors(of: model), to: path("w.safetensors"))
        let tensors = try SafeTensors.readOrdered(path: path("w.safetensors")).map { ($0.name, $0.tensor.shape) }
        let originals = try ["x.npy", "y.npy", "w.safetensors"].map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path($0)))) }
        XCTAssertNoThrow(try ExperimentSpec.loadChecked(file: path("weights.json")))

        var mutator = DataFileMutator(random: SplitMix64(seed: 0x6669_6C65_667A))
        var failures: [String] = []
        var refused = 0
        for index in 0 ..< 3 * Self.mutations {
            let which = index % 3
            let (bytes, sparseSize, description) = which == 2 ? mutator.safetensors(originals[2], tensors: tensors) : mutator.npy(originals[which])
            let target = path(["x.npy", "y.npy", "w.safetensors"][which])
            _ = FileManager.default.createFile(atPath: target, contents: Data(bytes))
            if let sparseSize {
                let handle = try XCTUnwrap(FileHandle(forWritingAtPath: target))
                try handle.truncate(atOffset: sparseSize)
                try handle.close()
            }
            do {
                _ = try ExperimentSpec.loadChecked(file: path(which == 2 ? "weights.json" : "spec.json"))
            } catch let error as SpecError {
                refused += 1
                if error.message.isEmpty { failures.append("#\(index) (\(description)): empty message") }
            } catch {
                failures.append("#\(index) (\(description)): \(type(of: error)): \(error)")
            }
            _ = FileManager.default.createFile(atPath: target, contents: Data(originals[which]))
        }
        XCTAssert(failures.isEmpty, failures.prefix(20).joined(separator: "\n"))
        XCTAssertGreaterThan(refused, Self.mutations, "most mutations should be refused")
    }
}

/// A version 1.0 `.npy` header as NumPy writes it (the data starts 64-byte aligned).
func npyHeader(descr: String, shape: [Int], fortranOrder: Bool = false) -> [UInt8] {
    let tuple = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var text = "{'descr': '\(descr)', 'fortran_order': \(fortranOrder ? "True" : "False"), 'shape': \(tuple), }"
    text += String(repeating: " ", count: (64 - (10 + text.utf8.count + 1) % 64) % 64) + "\n"
    let length = text.utf8.count
    return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(text.utf8)
}

/// Deterministic mutations of a `.npy` or safetensors file: the bytes to write, the size to
/// extend them to with a hole (a huge file that costs no disk), and what was done.
struct DataFileMutator {
    var random: SplitMix64

    static let descrs = ["<f4", "<f8", "<f2", "<i8", "<i4", "|u1", "|i1", "<u8", ">f4", ">i8", "|b1", "<c8", "O", "<U3", "", "f4", "<f4x"]
    static let shapes: [[Int]] = [[], [0], [8], [8, 3], [8, 1], [8, 2], [8, 3, 1], [0, 3], [8, 0], [1 << 58, 1], [Int(Int64.max)],
                                  [1 << 27, 1], [1 << 20, 1 << 9], [3], [16, 3], [8, 1 << 21], [2, 1 << 40]]
    /// Bit patterns of NaN, ±infinity, a subnormal and the largest float.
    static let specialFloats: [UInt32] = [0x7FC0_0000, 0x7F80_0001, 0x7F80_0000, 0xFF80_0000, 0x0000_0001, 0x7F7F_FFFF]
    static let specialInts: [Int64] = [.max, .min, 1 << 58, 1_000_000_000, -1, -100, 1 << 20]
    static let dtypes = ["F32", "F64", "F16", "BF16", "I64", "U8", "BOOL", "", "f32"]

    mutating func below(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    mutating func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) } }

    /// Mutations shared by both formats, or nil to use a format's own.
    mutating func generic(_ bytes: [UInt8]) -> (bytes: [UInt8], sparseSize: UInt64?, description: String)? {
        var bytes = bytes
        switch below(8) {
        case 0:
            let length = below(bytes.count)
            return (Array(bytes[..<length]), nil, "truncated to \(length) bytes")
        case 1:
            var flipped: [Int] = []
            for _ in 0...below(4) {
                let at = below(bytes.count)
                bytes[at] = UInt8(truncatingIfNeeded: random.next())
                flipped.append(at)
            }
            return (bytes, nil, "bytes \(flipped) replaced")
        case 2:
            return (bytes + randomBytes(1 + below(64)), nil, "bytes appended")
        default:
            return nil
        }
    }

    /// A special value written over an element (floats and integers alike get 4 or 8 bytes).
    mutating func payload(_ bytes: [UInt8], dataStart: Int, elementSize: Int) -> ([UInt8], String) {
        var bytes = bytes
        let count = (bytes.count - dataStart) / elementSize
        guard count > 0 else { return (bytes, "no element to replace") }
        let at = dataStart + below(count) * elementSize
        let value: [UInt8]
        if elementSize == 8 && below(2) == 0 {
            value = Self.littleEndian(UInt64(bitPattern: pick(Self.specialInts)))
        } else {
            value = Array(Self.littleEndian(UInt64(pick(Self.specialFloats))).prefix(elementSize))
        }
        bytes.replaceSubrange(at ..< at + elementSize, with: value)
        return (bytes, "special value at byte \(at)")
    }

    mutating func npy(_ original: [UInt8]) -> (bytes: [UInt8], sparseSize: UInt64?, description: String) {
        if let mutation = generic(original) { return mutation }
        let headerLength = Int(original[8]) | Int(original[9]) << 8
        let dataStart = 10 + headerLength
        let elementSize = original[dataStart...].count == 8 * 8 ? 8 : 4
        switch below(4) {
        case 0:
            return (payload(original, dataStart: dataStart, elementSize: elementSize).0, nil, "payload")
        case 1:
            var bytes = original
            let length = below(2) == 0 ? Int(UInt16.max) : below(256)
            bytes[8] = UInt8(length & 0xFF)
            bytes[9] = UInt8(length >> 8)
            return (bytes, nil, "header length \(length)")
        default:
            let descr = pick(Self.descrs), shape = pick(Self.shapes)
            let order = below(8) == 0 ? "True" : "False"
            let header = npyHeader(descr: descr, shape: shape, fortranOrder: order == "True")
            let size = Int(descr.dropFirst(2)) ?? 4
            let (byteCount, overflow) = shape.reduce((size, false)) { partial, dimension in
                let (product, overflow) = partial.0.multipliedReportingOverflow(by: dimension)
                return (product, partial.1 || overflow)
            }
            let description = "header descr \(descr) shape \(shape) fortran_order \(order)"
            if !overflow && byteCount <= 1 << 12 {
                return (header + randomBytes(byteCount), nil, description)
            }
            if !overflow && byteCount <= 1 << 34 && below(2) == 0 {
                return (header, UInt64(header.count + byteCount), description + " over a hole")
            }
            return (header + original[dataStart...], nil, description)
        }
    }

    /// `tensors`: the original file's names and shapes, F32, in file order (contiguous offsets).
    mutating func safetensors(_ original: [UInt8], tensors: [(name: String, shape: [Int])]) -> (bytes: [UInt8], sparseSize: UInt64?, description: String) {
        if let mutation = generic(original) { return mutation }
        let headerLength = original[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        let dataStart = 8 + headerLength
        switch below(4) {
        case 0:
            return (payload(original, dataStart: dataStart, elementSize: 4).0, nil, "payload")
        case 1:
            let length = pick([0, UInt64(headerLength - 1), UInt64(headerLength + 1), 1 << 63, .max, random.next() % (1 << 40)])
            return (Self.littleEndian(length) + original[8...], nil, "header length \(length)")
        default:
            // The header rewritten with one entry changed.
            var entries: [(name: String, dtype: String, shape: [Int], offsets: [Int])] = []
            var offset = 0
            for (name, shape) in tensors {
                let end = offset + 4 * shape.reduce(1, *)
                entries.append((name, "F32", shape, [offset, end]))
                offset = end
            }
            let at = below(entries.count)
            var description = "tensor \(entries[at].name): "
            switch below(5) {
            case 0:
                entries[at].dtype = pick(Self.dtypes)
                description += "dtype \(entries[at].dtype)"
            case 1:
                entries[at].shape = pick(Self.shapes)
                description += "shape \(entries[at].shape)"
            case 2:
                entries[at].offsets = [below(2) == 0 ? 0 : Int(random.next() >> 1), pick([0, 16, 1 << 40, Int.max, -4])]
                description += "data_offsets \(entries[at].offsets)"
            case 3:
                entries[at].name += "_renamed"
                description += "renamed"
            default:
                entries.remove(at: at)
                description += "removed"
            }
            let members = entries.map { entry in
                JSONWriter.quoted(entry.name) + #":{"dtype":"# + JSONWriter.quoted(entry.dtype) + #","shape":["#
                    + entry.shape.map(String.init).joined(separator: ",") + #"],"data_offsets":["#
                    + entry.offsets.map(String.init).joined(separator: ",") + "]}"
            }
            var header = Array(("{" + members.joined(separator: ",") + "}").utf8)
            header += Array(repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
            return (Self.littleEndian(UInt64(header.count)) + header + original[dataStart...], nil, description)
        }
    }

    static func littleEndian(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
}
