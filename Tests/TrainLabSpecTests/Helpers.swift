import XCTest
@testable import TrainLabSpec

/// The SpecError a throwing expression raises (fails the test when it does not throw one).
func specError<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> SpecError? {
    do {
        _ = try body()
        XCTFail("expected a SpecError", file: file, line: line)
    } catch let error as SpecError {
        return error
    } catch {
        XCTFail("expected a SpecError, got \(error)", file: file, line: line)
    }
    return nil
}

/// The description of the SpecError that parsing `text` as `x.json` raises.
func parseError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String {
    specError({ try JSONParser.parse(text, file: "x.json") }, file: file, line: line)?.description ?? ""
}

func reader(_ text: String, path: String = "") throws -> ObjectReader {
    let doc = try JSONParser.parse(text, file: "x.json")
    return try ObjectReader(doc.root, path: path, document: doc)
}
