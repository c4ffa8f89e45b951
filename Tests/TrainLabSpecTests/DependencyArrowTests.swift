import XCTest
import Foundation

/// The architecture as Package.swift declares it: every import of a project target is a
/// declared dependency, and the arrows point one way (command line -> experiment -> models,
/// optimizers, data -> autodiff -> kernels; store and report beside), so training code never
/// reaches SQLite. Reads the sources, so CI fails on an undeclared or upward import.
final class DependencyArrowTests: XCTestCase {
    /// Layers from the bottom: a target may depend only on targets of lower layers.
    static let layers: [[String]] = [
        ["CPrefetch", "CBF16"],
        ["CSQLite", "MicroKernels", "MicroKernelsAVX2", "MicroKernelsAVX512", "TrainLabJSON"],
        ["TrainLabKernels", "TrainLabStore", "TrainLabSpec"],
        ["TrainLabAutodiff", "TrainLabReport"],
        ["TrainLabData", "TrainLabIO", "TrainLabModels", "TrainLabOptim"],
        ["TrainLabExperiment"],
        ["trainlab"],
    ]

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// name -> (is a test target, declared dependencies), read from Package.swift.
    static func declaredTargets() throws -> [String: (isTest: Bool, dependencies: [String])] {
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let kinds = try NSRegularExpression(pattern: #"\.(target|executableTarget|testTarget|systemLibrary)\("#)
        let starts = kinds.matches(in: manifest, range: NSRange(manifest.startIndex..., in: manifest))
        var targets: [String: (Bool, [String])] = [:]
        for (i, match) in starts.enumerated() {
            let end = i + 1 < starts.count ? starts[i + 1].range.location : (manifest as NSString).length
            let chunk = (manifest as NSString).substring(with: NSRange(location: match.range.location, length: end - match.range.location))
            guard let name = firstCapture(#"name:\s*"([^"]+)""#, in: chunk) else { continue }
            let list = firstCapture(#"dependencies:\s*\[([^\]]*)\]"#, in: chunk) ?? ""
            let dependencies = list.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " \n\"")) }
                .filter { !$0.isEmpty }
            targets[name] = (chunk.hasPrefix(".testTarget"), dependencies)
        }
        return targets
    }

    static func firstCapture(_ pattern: String, in text: String) -> String? {
        let regex = try! NSRegularExpression(pattern: pattern)
        guard let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              let range = Range(match.range(at: 1), in: text) else { return nil }
        return String(text[range])
    }

    /// Project targets each Swift file of `folder` imports.
    static func imports(in folder: URL, among projectTargets: Set<String>) throws -> [(file: String, module: String)] {
        guard let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { return [] }
        let importLine = try NSRegularExpression(pattern: #"^\s*(?:@testable\s+)?import\s+(\w+)"#, options: .anchorsMatchLines)
        var found: [(String, String)] = []
        for case let file as URL in files where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in importLine.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let module = (text as NSString).substring(with: match.range(at: 1))
                if projectTargets.contains(module) { found.append((file.lastPathComponent, module)) }
            }
        }
        return found
    }

    func testEveryImportIsDeclared() throws {
        let targets = try Self.declaredTargets()
        XCTAssertGreaterThan(targets.count, 20, "Package.swift was read")
        var undeclared: [String] = []
        for (name, target) in targets {
            let folder = Self.root.appendingPathComponent(target.isTest ? "Tests" : "Sources").appendingPathComponent(name)
            for (file, module) in try Self.imports(in: folder, among: Set(targets.keys)) where module != name && !target.dependencies.contains(module) {
                undeclared.append("\(name)/\(file) imports \(module)")
            }
        }
        XCTAssertEqual(undeclared.sorted(), [], "declare these in Package.swift (or remove the import)")
    }

    func testArrowsPointDownward() throws {
        let targets = try Self.declaredTargets()
        let layer = Dictionary(uniqueKeysWithValues: Self.layers.enumerated().flatMap { i, names in names.map { ($0, i) } })
        var upward: [String] = []
        for (name, target) in targets where !target.isTest {
            guard let own = layer[name] else { upward.append("\(name) has no layer in DependencyArrowTests.layers"); continue }
            for dependency in target.dependencies where (layer[dependency] ?? .max) >= own {
                upward.append("\(name) -> \(dependency)")
            }
        }
        XCTAssertEqual(upward.sorted(), [])
    }

    /// Training code (the experiment and everything below it) never depends on the store.
    func testTrainingDoesNotReachSQLite() throws {
        let targets = try Self.declaredTargets()
        var reached: Set<String> = []
        var frontier = ["TrainLabExperiment"]
        while let next = frontier.popLast() {
            for dependency in targets[next]?.dependencies ?? [] where reached.insert(dependency).inserted {
                frontier.append(dependency)
            }
        }
        XCTAssertFalse(reached.contains("TrainLabStore"), "\(reached.sorted())")
        XCTAssertFalse(reached.contains("CSQLite"), "\(reached.sorted())")
    }
}
