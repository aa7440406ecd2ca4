import CDCCore
import CDCSinks
import XCTest

/// A projection field that would be ignored is an error: a typo or a misunderstanding must
/// never silently change what a read model keeps.
final class ProjectionStrictnessTests: XCTestCase {
    private func parse(_ text: String) throws -> Projection { try Projection(json: try JSONParser.parse(text)) }

    func testOperandsThatDoNotBelongToTheOperatorAreRejected() {
        for bad in [
            #"{"tables":{"t":{"where":{"column":"a","op":"=","values":[1]}}}}"#,
            #"{"tables":{"t":{"where":{"column":"a","op":"is null","value":1}}}}"#,
            #"{"tables":{"t":{"where":{"column":"a","op":"in","value":1}}}}"#,
            #"{"tables":{"t":{"where":{"column":"a","op":"<","value":1e999}}}}"#,
            #"{"tables":{"t":{"as":"sqlite_stat1"}}}"#,
            #"{"tables":{"t":{"as":"_cdc_sink_offset"}}}"#,
        ] {
            XCTAssertThrowsError(try parse(bad), bad)
        }
    }

    func testWellFormedFiltersStillParse() throws {
        XCTAssertNoThrow(try parse(#"{"tables":{"t":{"where":{"column":"a","op":"in","values":[1,"x",2.5]}}}}"#))
        XCTAssertNoThrow(try parse(#"{"tables":{"t":{"where":{"column":"a","op":"is not null"}}}}"#))
        XCTAssertNoThrow(try parse(#"{"tables":{"t":{"as":"t_view","where":{"column":"a","op":">=","value":-0.0}}}}"#))
    }
}
