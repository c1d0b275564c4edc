import Benchmarks
import Foundation
import Support
import XCTest

final class DataReaderTests: XCTestCase {
    // MARK: JSON

    func testJSONLinesKeepLineNumbersAndSkipBlankLines() throws {
        let text = "{\"a\": 1}\n\n{\"b\": \"x\\ny\", \"c\": [true, null, 2.5]}\r\n"
        let lines = try JSONReader.parseLines(Data(text.utf8), file: "t.jsonl")
        XCTAssertEqual(lines.map(\.line), [1, 3])
        guard case .object(let second) = lines[1].value else { return XCTFail("expected an object") }
        XCTAssertEqual(second["b"], .string("x\ny"))
        XCTAssertEqual(second["c"], .array([.bool(true), .null, .double(2.5)]))
        guard case .object(let first) = lines[0].value else { return XCTFail("expected an object") }
        XCTAssertEqual(first["a"], .int(1))
    }

    func testJSONObjectsKeepKeyOrder() throws {
        // TruthfulQA's answer order is the key order of its objects.
        let value = try JSONReader.parseDocument(Data("{\"z\": 1, \"a\": 0, \"m\": 1}".utf8), file: "t.json")
        guard case .object(let object) = value else { return XCTFail("expected an object") }
        XCTAssertEqual(object.keys, ["z", "a", "m"])
    }

    func testMalformedJSONLineIsReportedWithFileAndLine() {
        let text = "{\"a\": 1}\n{\"a\": 2}\n{\"a\": }\n"
        XCTAssertThrowsError(try JSONReader.parseLines(Data(text.utf8), file: "tasks/x/data.jsonl")) { error in
            guard case BenchmarkDataError.malformedJSON(let file, let line, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "tasks/x/data.jsonl")
            XCTAssertEqual(line, 3)
            XCTAssertTrue(error.localizedDescription.hasPrefix("tasks/x/data.jsonl:3: malformed JSON"))
        }
    }

    func testTrailingGarbageAndTruncationAreErrors() {
        XCTAssertThrowsError(try JSONReader.parseLines(Data("{\"a\": 1} x\n".utf8), file: "f")) { error in
            guard case BenchmarkDataError.malformedJSON("f", 1, _) = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try JSONReader.parseDocument(Data("[1,\n2,\n".utf8), file: "f")) { error in
            guard case BenchmarkDataError.malformedJSON(_, _, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(reason, "unexpected end of input")
        }
    }

    // MARK: CSV

    func testCSVWithCRLFQuotedNewlinesEscapedQuotesAndSignificantSpaces() throws {
        let text = "q1, spaced ,B,\"C, with comma\",D,A\r\n\"multi\r\nline\",\"say \"\"hi\"\"\",x,y,z,B\r\nlast,1,2,3,4,C"
        let rows = try CSVReader.rows(in: Data(text.utf8), file: "m.csv")
        XCTAssertEqual(rows.count, 3)
        XCTAssertEqual(rows[0].fields, ["q1", " spaced ", "B", "C, with comma", "D", "A"])
        XCTAssertEqual(rows[1].fields, ["multi\r\nline", "say \"hi\"", "x", "y", "z", "B"])
        XCTAssertEqual(rows.map(\.line), [1, 2, 4])
        XCTAssertEqual(rows[2].fields.last, "C")
    }

    func testCSVByteOrderMarkIsIgnored() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("Type,Question\nA,\"Why?\"\n".utf8)
        let rows = try CSVReader.rows(in: Data(bytes), file: "t.csv")
        XCTAssertEqual(rows.map(\.fields), [["Type", "Question"], ["A", "Why?"]])
    }

    func testMalformedCSVIsReportedWithLine() {
        // A quote inside an unquoted field is an error in strict mode.
        XCTAssertThrowsError(try CSVReader.rows(in: Data("a,b\nc,d\"e\n".utf8), file: "bad.csv")) { error in
            guard case BenchmarkDataError.malformedCSV(let file, let line, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "bad.csv")
            XCTAssertEqual(line, 2)
        }
        // A quoted field that never closes.
        XCTAssertThrowsError(try CSVReader.rows(in: Data("a,b\n\"open,\nstill\n".utf8), file: "open.csv")) { error in
            guard case BenchmarkDataError.malformedCSV(_, let line, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(line, 3)
            XCTAssertTrue(reason.contains("quoted field"))
        }
    }

    // MARK: Checksums


    /// A scratch `tasks/` directory holding one ARC-Easy file, with a checksum list.
    private func scratchTasks(testFile: String, checksum: String? = nil) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bench-tasks-\(UUID().uuidString)")
        let arc = root.appendingPathComponent("tasks/arc")
        try FileManager.default.createDirectory(at: arc, withIntermediateDirectories: true)
        let data = Data(testFile.utf8)
        try data.write(to: arc.appendingPathComponent("ARC-Easy-Test.jsonl"))
        try Data("\(checksum ?? SHA256.hexDigest(of: data))  ARC-Easy-Test.jsonl\n".utf8).write(to: arc.appendingPathComponent("SHA256SUMS"))
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        return root.appendingPathComponent("tasks")
    }

    func testChecksumMismatchIsRefused() throws {
        let tasks = try scratchTasks(testFile: "{}\n", checksum: String(repeating: "0", count: 64))
        XCTAssertThrowsError(try BenchmarkRegistry.load("arc_easy", from: tasks)) { error in
            guard case BenchmarkDataError.checksumMismatch(let file, let expected, let actual) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "tasks/arc/ARC-Easy-Test.jsonl")
            XCTAssertEqual(expected, String(repeating: "0", count: 64))
            XCTAssertEqual(actual, SHA256.hexDigest(of: Data("{}\n".utf8)))
        }
    }

    func testMalformedRowNamesFileLineAndProblem() throws {
        let good = #"{"id":"x1","question":{"stem":"Q?","choices":[{"text":"a","label":"A"},{"text":"b","label":"B"}]},"answerKey":"A"}"#
        let badKey = #"{"id":"x2","question":{"stem":"Q?","choices":[{"text":"a","label":"A"}]},"answerKey":"C"}"#
        let tasks = try scratchTasks(testFile: good + "\n" + badKey + "\n")
        XCTAssertThrowsError(try BenchmarkRegistry.load("arc_easy", from: tasks)) { error in
            XCTAssertEqual(error as? BenchmarkDataError, .malformedRow(file: "tasks/arc/ARC-Easy-Test.jsonl", line: 2,
                                                                       reason: "answerKey 'C' is not one of the choice labels [\"A\"]"))
        }
        let missing = #"{"id":"x3","question":{"choices":[]},"answerKey":"A"}"#
        let tasks2 = try scratchTasks(testFile: missing + "\n")
        XCTAssertThrowsError(try BenchmarkRegistry.load("arc_easy", from: tasks2)) { error in
            XCTAssertEqual(error as? BenchmarkDataError, .malformedRow(file: "tasks/arc/ARC-Easy-Test.jsonl", line: 1,
                                                                       reason: "field 'stem' is missing"))
        }
    }

    func testUnlistedFileAndMissingChecksumList() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bench-tasks-\(UUID().uuidString)/tasks")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("arc"), withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: root.deletingLastPathComponent()) }
        XCTAssertThrowsError(try BenchmarkRegistry.load("arc_easy", from: root)) { error in
            XCTAssertEqual(error as? BenchmarkDataError, .checksumListMissing(folder: "tasks/arc"))
        }
        try Data().write(to: root.appendingPathComponent("arc/SHA256SUMS"))
        XCTAssertThrowsError(try BenchmarkRegistry.load("arc_easy", from: root)) { error in
            XCTAssertEqual(error as? BenchmarkDataError, .fileNotInChecksumList(file: "tasks/arc/ARC-Easy-Test.jsonl"))
        }
    }

    // MARK: Locating tasks/

    func testTasksDirectoryLookup() throws {
        let repositoryTasks = try TestData.tasksDirectory()
        let deep = repositoryTasks.deletingLastPathComponent().appendingPathComponent("Sources/Benchmarks")
        XCTAssertEqual(try TasksDirectory.locate(environment: [:], currentDirectory: deep, executable: nil).standardizedFileURL.path,
                       repositoryTasks.standardizedFileURL.path)
        let explicit = try TasksDirectory.locate(environment: ["DRLLM_TASKS_DIR": repositoryTasks.path],
                                                 currentDirectory: URL(fileURLWithPath: "/"), executable: nil)
        XCTAssertEqual(explicit.path, repositoryTasks.standardizedFileURL.path)
        XCTAssertThrowsError(try TasksDirectory.locate(environment: [:], currentDirectory: URL(fileURLWithPath: "/proc"), executable: nil)) { error in
            guard case BenchmarkDataError.tasksDirectoryNotFound = error else { return XCTFail("\(error)") }
        }
    }
}
