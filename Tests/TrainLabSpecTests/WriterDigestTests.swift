import XCTest
@testable import TrainLabSpec

final class WriterDigestTests: XCTestCase {
    let value: JSONValue = ["b": [1, 2.5, "x\n\u{1}é"], "a": ["d": true, "c": .null, "e": [:], "f": []]]

    func testCompactAndCanonical() {
        XCTAssertEqual(JSONWriter.write(value), #"{"b":[1,2.5,"x\n\u0001é"],"a":{"d":true,"c":null,"e":{},"f":[]}}"#)
        XCTAssertEqual(JSONWriter.write(value, sortedKeys: true), #"{"a":{"c":null,"d":true,"e":{},"f":[]},"b":[1,2.5,"x\n\u0001é"]}"#)
    }

    func testPretty() {
        let nested: JSONValue = ["betas": [0.9, 0.999], "layers": [["w": 1]], "name": "x"]
        XCTAssertEqual(JSONWriter.write(nested, pretty: true), """
            {
              "betas": [0.9, 0.999],
              "layers": [
                {
                  "w": 1
                }
              ],
              "name": "x"
            }
            """)
    }

    func testNumbers() {
        XCTAssertEqual(JSONWriter.number(1.0), "1")
        XCTAssertEqual(JSONWriter.number(-3), "-3")
        XCTAssertEqual(JSONWriter.number(-0.0), "0")
        XCTAssertEqual(JSONWriter.number(0.1), "0.1")
        XCTAssertEqual(JSONWriter.number(1e-7), "1e-07")
        XCTAssertEqual(JSONWriter.number(Double(Int64(9_007_199_254_740_993))), "9007199254740992")
        XCTAssertEqual(JSONWriter.number(1e300), "1e+300")
        XCTAssertEqual(JSONWriter.number(.nan), "null")
    }

    func testRoundTrip() throws {
        let text = JSONWriter.write(value, pretty: true)
        XCTAssertEqual(try JSONParser.parse(text, file: "x").root, value)
        let awkward: JSONValue = [.number(0.1 + 0.2), .number(Double("1e-320")!), 123456.789, -2.5e-8, "\"\\/\u{7f}\u{2028}"]
        XCTAssertEqual(try JSONParser.parse(JSONWriter.write(awkward), file: "x").root, awkward)
    }

    func testCanonicalFormIgnoresKeyOrder() throws {
        let a = try JSONParser.parse(#"{"x": 1.0, "y": {"q": [1, 2], "p": "s"}}"#, file: "a").root
        let b = try JSONParser.parse(#"{"y": {"p": "s", "q": [1.0, 2e0]}, "x": 1}"#, file: "b").root
        XCTAssertNotEqual(a, b)  // key order is part of equality
        XCTAssertEqual(JSONWriter.write(a, sortedKeys: true), JSONWriter.write(b, sortedKeys: true))
        XCTAssertEqual(
            Digest.sha256Hex(JSONWriter.write(a, sortedKeys: true)), Digest.sha256Hex(JSONWriter.write(b, sortedKeys: true)))
    }

    func testSHA256Vectors() {
        XCTAssertEqual(Digest.sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(Digest.sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            Digest.sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(
            Digest.sha256Hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }
}
