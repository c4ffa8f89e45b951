import Foundation
import XCTest

/// The README is what a clone shows first: it must get a new user running, and neither it nor the
/// pages of docs/ may send them to a file the clone does not have.
final class DocumentationTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func pages() throws -> [(name: String, text: String)] {
        let docs = root.appendingPathComponent("docs")
        let names = try FileManager.default.contentsOfDirectory(atPath: docs.path).filter { $0.hasSuffix(".md") }.sorted()
        XCTAssertFalse(names.isEmpty, "docs/ holds the reference pages")
        return try [("README.md", String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8))]
            + names.map { ("docs/\($0)", try String(contentsOf: docs.appendingPathComponent($0), encoding: .utf8)) }
    }

    /// The first screen: the two set-up commands, then where the binary is, then the tour.
    func testReadmeOpensWithSetupInstallAndTour() throws {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let firstScreen = readme.split(separator: "\n", omittingEmptySubsequences: false).prefix(40).joined(separator: "\n")
        let run = try XCTUnwrap(firstScreen.range(of: "swift run -c release trainlab run experiments/quickstart.json"))
        let test = try XCTUnwrap(firstScreen.range(of: "swift test"))
        let install = try XCTUnwrap(firstScreen.range(of: ".build/release/trainlab"))
        let compare = try XCTUnwrap(firstScreen.range(of: "trainlab compare "))
        XCTAssertLessThan(run.lowerBound, test.lowerBound)
        XCTAssertLessThan(test.lowerBound, install.lowerBound, "the install step comes right after the two set-up commands")
        XCTAssertLessThan(install.lowerBound, compare.lowerBound, "the tour ends in a comparison table")
    }

    /// Every relative link resolves to a file of the repository; none climbs out of it (a clone
    /// has no ../shared).
    func testLinksStayInsideTheRepository() throws {
        let link = try NSRegularExpression(pattern: #"\]\(([^)#\s]+)(#[^)]*)?\)"#)
        for (name, text) in try pages() {
            XCTAssertFalse(text.contains("../shared"), "\(name) points outside the repository")
            let folder = root.appendingPathComponent(name).deletingLastPathComponent()
            for match in link.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let target = String(text[Range(match.range(at: 1), in: text)!])
                if target.hasPrefix("http://") || target.hasPrefix("https://") { continue }
                let resolved = folder.appendingPathComponent(target).standardized.path
                XCTAssertTrue(resolved.hasPrefix(root.standardized.path + "/"), "\(name): \(target) leaves the repository")
                XCTAssertTrue(FileManager.default.fileExists(atPath: resolved), "\(name): \(target) does not exist")
            }
        }
    }
}
