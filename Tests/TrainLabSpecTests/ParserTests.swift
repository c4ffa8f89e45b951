import Foundation
import XCTest
@testable import TrainLabSpec

final class ParserTests: XCTestCase {
    func testParsesValuesAndKeepsKeyOrder() throws {
        let doc = try JSONParser.parse(#"{"b": [1, -2.5e1, true, null], "a": {"s": "x\"\n\u00e9\ud83d\ude00"}}"#, file: "x.json")
        guard case .object(let root) = doc.root else { return XCTFail() }
        XCTAssertEqual(root.keys, ["b", "a"])
        XCTAssertEqual(root["b"], [1, -25.0, true, .null])
        XCTAssertEqual(root["a"], ["s": "x\"\né😀"])
    }

    func testLocationsOfValuesAndKeys() throws {
        let doc = try JSONParser.parse("{\n  \"optimizer\": {\"betas\": [0.9,\n    1.5]},\n  \"é\": 1, \"n\": 2\n}", file: "x.json")
        XCTAssertEqual(doc.location(of: "")?.line, 1)
        XCTAssertTrue(doc.location(of: "optimizer.betas[1]")! == (3, 5))
        XCTAssertTrue(doc.location(of: "optimizer")! == (2, 16))
        XCTAssertTrue(doc.keyLocation(of: "optimizer")! == (2, 3))
        // Columns count characters, not bytes.
        XCTAssertTrue(doc.location(of: "n")! == (4, 16))
        XCTAssertNil(doc.location(of: "missing"))
    }

    func testMissingCommaInObject() {
        XCTAssertEqual(
            parseError("{\n  \"a\": 1\n  \"b\": 2\n}"),
            "x.json:3:3: expected ',' or '}' after an object member, got '\"b\"' (is a comma missing?)")
        XCTAssertEqual(
            parseError("{\"opt\": {\"lr\": 1 x}}"),
            "x.json:1:18: opt: expected ',' or '}' after an object member, got 'x'")
    }

    func testStructuralErrors() {
        XCTAssertEqual(parseError("[1, 2,]"), "x.json:1:7: trailing comma before ']' is not allowed")
        XCTAssertEqual(parseError("{\"a\": 1,}"), "x.json:1:9: trailing comma before '}' is not allowed")
        XCTAssertEqual(parseError("{a: 1}"), "x.json:1:2: expected a string key or '}', got 'a' (object keys must be in double quotes)")
        XCTAssertEqual(parseError("{\"a\" 1}"), "x.json:1:6: expected ':' after the key 'a', got '1'")
        XCTAssertEqual(parseError("{\"a\": }"), "x.json:1:7: a: expected a value after ':', got '}'")
        XCTAssertEqual(parseError("[1 2]"), "x.json:1:4: expected ',' or ']' after an array element, got '2'")
        XCTAssertEqual(parseError("{\"a\": 'x'}"), "x.json:1:7: a: expected a value after ':', got ''' (strings must use double quotes)")
        XCTAssertEqual(parseError("{\"a\": 1 // note\n}"), "x.json:1:9: expected ',' or '}' after an object member, got '/' (comments are not allowed in JSON)")
        XCTAssertEqual(parseError("{\"a\": [1,\n"), "x.json:2:1: a[1]: expected a value after ',', got end of file (the array opened at line 1, column 7 is never closed)")
        XCTAssertEqual(parseError("{\"a\": 1"), "x.json:1:8: expected ',' or '}' after an object member, got end of file (the object opened at line 1, column 1 is never closed)")
    }

    func testDuplicateKey() {
        XCTAssertEqual(
            parseError("{\"o\": {\"lr\": 1,\n  \"lr\": 2}}"),
            "x.json:2:3: o.lr: duplicate key 'lr' (first defined at line 1, column 8)")
    }

    func testEmptyFileAndTrailingGarbage() {
        XCTAssertEqual(parseError(""), "x.json:1:1: expected a JSON value, got end of file (the file is empty)")
        XCTAssertEqual(parseError("  \n "), "x.json:2:2: expected a JSON value, got end of file (the file is empty)")
        XCTAssertEqual(parseError("{} x"), "x.json:1:4: expected end of file after the JSON value, got 'x' (only one top-level value is allowed)")
        XCTAssertEqual(parseError("{}}"), "x.json:1:3: expected end of file after the JSON value, got '}' (only one top-level value is allowed)")
    }

    func testLiterals() {
        XCTAssertEqual(parseError("[True]"), "x.json:1:2: [0]: invalid literal 'True'; JSON literals are lowercase: 'true'")
        XCTAssertEqual(parseError("[None]"), "x.json:1:2: [0]: invalid literal 'None'; did you mean 'null'?")
        XCTAssertEqual(parseError("[NaN]"), "x.json:1:2: [0]: NaN and Infinity are not allowed in JSON, got 'NaN'")
        XCTAssertEqual(parseError("[-Infinity]"), "x.json:1:2: [0]: NaN and Infinity are not allowed in JSON, got '-infinity'")
        XCTAssertEqual(parseError("[adam]"), "x.json:1:2: [0]: expected a value or ']', got 'adam' (strings must be in double quotes)")
    }

    func testNumbers() throws {
        XCTAssertEqual(try JSONParser.parse("[0, -0.5, 1E+2, 2e-3, 123456789012]", file: "x").root, [0, -0.5, 100, 0.002, 123456789012])
        XCTAssertEqual(parseError("[01]"), "x.json:1:2: [0]: leading zeros are not allowed in numbers, got '01'")
        XCTAssertEqual(parseError("[1.]"), "x.json:1:4: [0]: expected a digit after the decimal point in '1.', got ']'")
        XCTAssertEqual(parseError("[1e]"), "x.json:1:4: [0]: expected a digit in the exponent of '1e', got ']'")
        XCTAssertEqual(parseError("[-]"), "x.json:1:3: [0]: expected a digit after '-', got ']'")
        XCTAssertEqual(parseError("[.5]"), "x.json:1:2: [0]: invalid number '.5'; a JSON number starts with '-' or a digit")
        XCTAssertEqual(parseError("{\"lr\": 1e400}"), "x.json:1:8: lr: number 1e400 is out of range (beyond ±1.8e308)")
        XCTAssertEqual(parseError("[-" + String(repeating: "9", count: 400) + "]").prefix(26), "x.json:1:2: [0]: number -9")
    }

    func testStrings() throws {
        XCTAssertEqual(parseError("[\"a\\x\"]"), #"x.json:1:4: [0]: invalid escape '\x' in string (valid escapes: \" \\ \/ \b \f \n \r \t \uXXXX)"#)
        XCTAssertEqual(parseError("[\"\\u12G4\"]"), #"x.json:1:3: [0]: invalid \u escape in string: expected 4 hex digits, got '\u12G4'"#)
        XCTAssertEqual(parseError("[\"\\ud800\"]"), #"x.json:1:3: [0]: lone surrogate '\uD800' in string (a high surrogate must be followed by a low surrogate escape \uDC00-\uDFFF)"#)
        XCTAssertEqual(parseError("[\"\\ud800\\u0041\"]"), #"x.json:1:3: [0]: lone surrogate '\uD800' in string (a high surrogate must be followed by a low surrogate escape \uDC00-\uDFFF)"#)
        XCTAssertEqual(parseError("[\"\\udc00\"]"), #"x.json:1:3: [0]: lone surrogate '\uDC00' in string (a low surrogate must follow a high surrogate)"#)
        XCTAssertEqual(parseError("[\"abc\n\"]"), #"x.json:1:2: [0]: unterminated string: line break before the closing '"' (write a line break in a string as \n)"#)
        XCTAssertEqual(parseError("[\"a\tb\"]"), #"x.json:1:4: [0]: unescaped control character U+0009 in string (write it as an escape such as \t or \u0009)"#)
        XCTAssertEqual(parseError("[\"abc"), #"x.json:1:2: [0]: unterminated string: end of file before the closing '"'"#)
        XCTAssertEqual(parseError("[\"abc\\"), #"x.json:1:2: [0]: unterminated string: end of file before the closing '"'"#)
        XCTAssertEqual(parseError("[\u{00A0}1]"), "x.json:1:2: [0]: expected a value or ']', got '\u{00A0}' (U+00A0)")
        XCTAssertEqual(try JSONParser.parse("\u{FEFF}[\"\\u0000\"]", file: "x").root, ["\u{0}"])
    }

    func testInvalidUTF8() throws {
        let error = specError { try JSONParser.parse(data: Data([0x7B, 0x0A, 0x22, 0x61, 0xFF, 0x22]), file: "x.json") }
        XCTAssertEqual(error?.description, "x.json:2:3: invalid UTF-8 (byte 0xFF); the file must be UTF-8 text")
        // An encoded surrogate and an overlong form are invalid too.
        XCTAssertNotNil(specError { try JSONParser.parse(data: Data([0x22, 0xED, 0xA0, 0x80, 0x22]), file: "x") })
        XCTAssertNotNil(specError { try JSONParser.parse(data: Data([0x22, 0xC0, 0xAF, 0x22]), file: "x") })
        XCTAssertEqual(try JSONParser.parse(data: Data("[\"é\"]".utf8), file: "x").root, ["é"])
    }

    func testDepthLimit() throws {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        XCTAssertNoThrow(try JSONParser.parse(ok, file: "x"))
        let deep = String(repeating: "[", count: 100_000)
        let error = specError { try JSONParser.parse(deep, file: "x.json") }
        XCTAssertEqual(error?.message, "nesting is deeper than 512 levels")
        XCTAssertEqual(error?.column, 513)
        let deepObject = String(repeating: "{\"a\":", count: 600)
        XCTAssertEqual(specError { try JSONParser.parse(deepObject, file: "x") }?.message, "nesting is deeper than 512 levels")
    }

    func testDeepNestingOnASmallStack() {
        // Parsing, comparing and writing the deepest accepted input must fit a secondary thread's stack (512 KiB).
        let text = String(repeating: "{\"a\": [", count: 256) + String(repeating: "]}", count: 256)
        let done = expectation(description: "parsed")
        let box = ResultBox()
        let thread = Thread {
            if let a = try? JSONParser.parse(text, file: "x"), let b = try? JSONParser.parse(text, file: "x") {
                box.ok = a.root == b.root && JSONWriter.write(a.root, pretty: true).count > 512
            }
            done.fulfill()
        }
        thread.stackSize = 512 * 1024
        thread.start()
        wait(for: [done], timeout: 10)
        XCTAssertTrue(box.ok)
    }

    func testErrorDescriptionForms() {
        XCTAssertEqual(SpecError(file: "a.json", path: "x.y", message: "m", line: 3, column: 4).description, "a.json:3:4: x.y: m")
        XCTAssertEqual(SpecError(file: "a.json", path: "", message: "m").description, "a.json: m")
        XCTAssertEqual(SpecError(file: "a.json", path: "p", message: "m").description, "a.json: p: m")
    }
}

private final class ResultBox: @unchecked Sendable {
    var ok = false
}
