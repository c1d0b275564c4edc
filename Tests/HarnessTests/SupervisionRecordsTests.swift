import Foundation
import Harness
import XCTest

/// MCTS records share the run records' JSON-lines reader: torn last lines are not records,
/// corrupt or repeated ones are errors naming the file.
final class SupervisionRecordsTests: XCTestCase {
    private func line(_ id: String) -> String {
        #"{"blocksComputed":0,"blocksReused":0,"defaultCorrect":true,"id":"\#(id)","improved":false,"kept":true,"#
            + #""pathsEvaluated":1,"prompt":"p","promptTokens":3,"seconds":0.1,"simulations":0,"stoppedEarly":true,"task":"arc_easy"}"#
    }

    private func write(_ text: String) throws -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("mcts-\(UUID().uuidString).jsonl")
        try Data(text.utf8).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testTornLastLineIsIgnored() throws {
        let url = try write(line("a") + "\n" + line("b") + "\n" + #"{"task":"arc"#)
        XCTAssertEqual(try SupervisionGenerator.readRecords(url).map(\.id), ["a", "b"])
    }

    func testCorruptOrRepeatedLinesAreErrors() throws {
        let corrupt = try write(line("a") + "\nnot json\n" + line("b") + "\n")
        XCTAssertThrowsError(try SupervisionGenerator.readRecords(corrupt)) { error in
            guard case let .corruptRecord(file, line, _)? = error as? RunError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, corrupt.path)
            XCTAssertEqual(line, 2)
        }
        let repeated = try write(line("a") + "\n" + line("a") + "\n")
        XCTAssertThrowsError(try SupervisionGenerator.readRecords(repeated)) { error in
            XCTAssertEqual(error as? RunError, .duplicateRecord(file: repeated.path, id: "arc_easy/a"))
        }
    }

    func testMissingFileHasNoRecords() throws {
        XCTAssertEqual(try SupervisionGenerator.readRecords(URL(fileURLWithPath: "/nonexistent/mcts.jsonl")).count, 0)
    }
}
