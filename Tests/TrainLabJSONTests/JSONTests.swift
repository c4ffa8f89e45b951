import XCTest
import TrainLabJSON

final class JSONTests: XCTestCase {
    func parse(_ text: String, maximumDepth: Int = 64) throws(JSONSyntaxError) -> JSONValue {
        try JSONParser.parse(bytes: Array(text.utf8), maximumDepth: maximumDepth, allowsByteOrderMark: false).root
    }

    func syntaxError(_ text: String, maximumDepth: Int = 64) -> JSONSyntaxError? {
        do {
            _ = try parse(text, maximumDepth: maximumDepth)
            XCTFail("parsed \(text)")
            return nil
        } catch {
            return error
        }
    }

    // A Double holds integers exactly only up to 2^53; the literal keeps the rest.
    func testIntegersBeyond2To53AreExact() throws {
        guard case .array(let numbers) = try parse("[9007199254740993, 9223372036854775807, -9007199254740993, 1.0, 1e2, 9223372036854775808]")
        else { return XCTFail("not an array") }
        let read = numbers.map { value -> (String, Int?) in
            guard case .number(let number) = value else { return ("", nil) }
            return (number.literal, number.integer)
        }
        XCTAssertEqual(read.map(\.0), ["9007199254740993", "9223372036854775807", "-9007199254740993", "1.0", "1e2", "9223372036854775808"])
        XCTAssertEqual(read.map(\.1), [9_007_199_254_740_993, Int.max, -9_007_199_254_740_993, nil, nil, nil])
        // Equality is by value: the literal is how it was written, not a different number.
        XCTAssertEqual(try parse("[1.0, 2e0]"), [1, 2])
        XCTAssertEqual(JSONNumber(3).integer, 3)
    }

    func testDuplicateKeysAreRefusedWithLineAndColumn() {
        let error = syntaxError("{\n  \"a\": [{\"k\": 1,\n   \"k\": 2}]}")
        XCTAssertEqual(error?.kind, .duplicateKey("k", container: [.key("a"), .index(0)]))
        XCTAssertEqual(error.map { [$0.line, $0.column, $0.offset] }, [3, 4, 22])
        XCTAssertEqual(error?.path, "a[0].k")
        XCTAssertEqual(error?.message, "duplicate key 'k' (first defined at line 2, column 10)")
    }

    func testDepthLimit() {
        XCTAssertNoThrow(try parse("[[[1]]]", maximumDepth: 3))
        let error = syntaxError("[[[[1]]]]", maximumDepth: 3)
        XCTAssertEqual(error?.kind, .nestingTooDeep)
        XCTAssertEqual(error?.offset, 3)
    }

    func testByteOrderMarkOnlyWhenAllowed() throws {
        let bytes = Array("\u{FEFF}[1]".utf8)
        XCTAssertEqual(try JSONParser.parse(bytes: bytes, maximumDepth: 8, allowsByteOrderMark: true).root, [1])
        XCTAssertThrowsError(try JSONParser.parse(bytes: bytes, maximumDepth: 8, allowsByteOrderMark: false))
    }

    // One quoter for specs, safetensors headers and exports: short escapes where JSON has them,
    // \u00xx (lowercase) for the other control characters, everything else as is.
    func testQuoterEscapesControlCharacters() {
        XCTAssertEqual(JSONWriter.quoted("a\"b\\c\n\r\t\u{08}\u{0C}\u{0}\u{1F}\u{7F}é😀/"),
                       #""a\"b\\c\n\r\t\b\f\u0000\u001f"# + "\u{7F}é😀/\"")
    }

    func testWriterParserRoundTrip() throws {
        let value: JSONValue = [
            "text": "x\n\u{1}é\u{2028}\"\\", "numbers": [0, -0.5, .number(.leastNonzeroMagnitude), .number(0.1 + 0.2), 123456789012, 1e300],
            "nested": ["a": [[], [:], .null, true, false]], "": "empty key",
        ]
        for pretty in [false, true] {
            XCTAssertEqual(try parse(JSONWriter.write(value, pretty: pretty)), value)
        }
        XCTAssertEqual(JSONWriter.write(try parse(#"{"b": 1.0, "a": [2e0, "\u00e9"]}"#), sortedKeys: true), #"{"a":[2,"é"],"b":1}"#)
    }
}
