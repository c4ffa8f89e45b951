import XCTest
final class PlaceholderReportTests: XCTestCase { func testNothing() {} }
