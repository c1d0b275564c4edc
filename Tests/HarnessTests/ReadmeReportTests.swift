import Benchmarks
import Foundation
import Reports
import Runs
import Supervision
import Support
import XCTest

final class ReadmeReportTests: XCTestCase {
    private let readmeText = """
    # Project

    Intro text that must survive.

    ## Results

    <!-- bench:results:begin -->
    (no results yet)
    <!-- bench:results:end -->

    Trailing text, also untouched.
    """

    /// Writes one run of `task` (records, then the summary) as `bench run` leaves it.
    private func writeRun(_ store: ResultsStore, task: String, run: String, limit: Int?, records: [ExampleRecord]) throws {
        var config = sampleConfiguration(task: task, run: run, model: "smollm2-135m-instruct", limit: limit)
        config.fewshotRequested = nil
        let log = try store.openTask(configuration: config)
        for r in records { try log.append(r) }
        log.close()
        try store.writeSummary(sampleSummary(config, records))
    }

    private func makeResults() throws -> URL {
        let root = try makeTemporaryFolder(self)
        let store = ResultsStore(root: root)
        for (task, run, correct) in [("arc_easy", "baseline", 6), ("arc_easy", "routed", 7),
                                     ("piqa", "baseline", 5), ("piqa", "routed", 4)] {
            let records = (0..<10).map { sampleRecord(index: $0, correct: $0 < correct, path: run == "routed" && $0 < 5 ? [0, 1, 3] : [0, 1, 2, 3]) }
            try writeRun(store, task: task, run: run, limit: 10, records: records)
        }
        return root
    }

    private func options() -> ReadmeReport.Options {
        ReadmeReport.Options(suites: SuiteDefinition.paperDomains, resamples: 1000)
    }

    func testBlockIsReplacedAndNothingElseChanges() throws {
        let results = try makeResults()
        let folder = try makeTemporaryFolder(self)
        let readme = folder.appendingPathComponent("README.md")
        try Data(readmeText.utf8).write(to: readme)

        XCTAssertTrue(try ReadmeReport.update(readme: readme, resultsDir: results, options: options()))
        let once = try String(contentsOf: readme, encoding: .utf8)
        let begin = once.range(of: ReadmeReport.beginMarker)!, end = once.range(of: ReadmeReport.endMarker)!
        XCTAssertEqual(String(once[..<begin.upperBound]), String(readmeText[..<readmeText.range(of: ReadmeReport.beginMarker)!.upperBound]))
        XCTAssertEqual(String(once[end.lowerBound...]), String(readmeText[readmeText.range(of: ReadmeReport.endMarker)!.lowerBound...]))

        let block = String(once[begin.upperBound..<end.lowerBound])
        XCTAssertTrue(block.contains("| smollm2-135m-instruct | indomain | 1 | 10 | +10.0 |"), block)
        XCTAssertTrue(block.contains("| smollm2-135m-instruct | ood | 1 | 10 | -10.0 |"), block)
        XCTAssertTrue(block.contains("### Per benchmark (ood)"), block)
        XCTAssertTrue(block.contains("| smollm2-135m-instruct | piqa | acc,none | 10 | 50.0 | 40.0 | -10.0 |"), block)
        // Path lengths (blocks per token): half the routed documents skip block 2.
        XCTAssertTrue(block.contains("| +12.50 | 4.00 | 3.50 |"), block)
        XCTAssertTrue(block.contains("bench run --tasks arc_easy --model smollm2-135m-instruct --limit 10 --seed 1234"), block)
        XCTAssertTrue(block.contains("bench compare baseline routed --model smollm2-135m-instruct"), block)
        XCTAssertTrue(block.contains("bench report --readme"), block)
        XCTAssertFalse(block.contains("(no results yet)"))
        // Each run on its own, with its selection of documents.
        XCTAssertTrue(block.contains("| smollm2-135m-instruct | arc_easy | acc,none | 60.0 ± 16.3 | 10, --limit 10 | 5 s | 70.0 ± 15.3 | 10, --limit 10 | 5 s |"), block)

        // Twice: unchanged, and not even rewritten.
        let modified = try FileManager.default.attributesOfItem(atPath: readme.path)[.modificationDate] as? Date
        XCTAssertFalse(try ReadmeReport.update(readme: readme, resultsDir: results, options: options()))
        XCTAssertEqual(try String(contentsOf: readme, encoding: .utf8), once)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: readme.path)[.modificationDate] as? Date, modified)
    }

    /// A routed run limited on one task and complete on another (as while a suite is still
    /// running): each reproduce command carries its own tasks' limit, never one limit for all.
    func testReproduceCommandsGroupTasksByLimit() throws {
        let root = try makeTemporaryFolder(self)
        let store = ResultsStore(root: root)
        for (task, run, limit) in [("piqa", "baseline", nil), ("piqa", "routed", 10), ("truthfulqa_mc1", "baseline", nil),
                                   ("truthfulqa_mc1", "routed", nil), ("gpqa_diamond", "baseline", nil),
                                   ("gpqa_diamond", "routed", 10)] as [(String, String, Int?)] {
            let records = (0..<10).map { sampleRecord(index: $0, correct: $0 < 5, path: [0, 1, 2, 3]) }
            try writeRun(store, task: task, run: run, limit: limit, records: records)
        }
        let readme = try makeTemporaryFolder(self).appendingPathComponent("README.md")
        try Data(readmeText.utf8).write(to: readme)
        XCTAssertTrue(try ReadmeReport.update(readme: readme, resultsDir: root, options: options()))
        let text = try String(contentsOf: readme, encoding: .utf8)
        let commands = text.split(separator: "\n").filter { $0.hasPrefix("bench run") }.map(String.init)
        XCTAssertTrue(commands.contains("bench run --tasks truthfulqa_mc1 --model smollm2-135m-instruct --seed 1234"), "\(commands)")
        XCTAssertTrue(commands.contains("bench run --tasks piqa,gpqa_diamond --model smollm2-135m-instruct --limit 10 --seed 1234")
                      || commands.contains("bench run --tasks gpqa_diamond,piqa --model smollm2-135m-instruct --limit 10 --seed 1234"),
                      "\(commands)")
        XCTAssertFalse(commands.contains { $0.contains("truthfulqa_mc1") && $0.contains("--limit") }, "\(commands)")
    }

    /// The time columns: each run's summed record seconds, in units a reader takes in at a glance.
    func testTimeColumnsSumTheRecordsSeconds() throws {
        let root = try makeTemporaryFolder(self)
        let store = ResultsStore(root: root)
        for (run, seconds) in [("baseline", 760.0), ("routed", 300.0)] {
            let records = (0..<10).map { sampleRecord(index: $0, correct: $0 < 5, path: [0, 1, 2, 3], seconds: seconds) }
            try writeRun(store, task: "piqa", run: run, limit: nil, records: records)
        }
        let block = try ReadmeReport.render(resultsDir: root, options: options())
        XCTAssertTrue(block.contains("| 50.0 ± 16.7 | 10, all | 2 h 07 min | 50.0 ± 16.7 | 10, all | 50 min |"), block)
    }

    func testMissingMarkersLeaveTheFileAlone() throws {
        let results = try makeResults()
        let folder = try makeTemporaryFolder(self)
        let readme = folder.appendingPathComponent("README.md")
        let text = "# No markers here\n"
        try Data(text.utf8).write(to: readme)
        XCTAssertThrowsRunError(.readmeMarkerMissing(file: readme.path, marker: ReadmeReport.beginMarker),
                                try ReadmeReport.update(readme: readme, resultsDir: results, options: options()))
        XCTAssertEqual(try String(contentsOf: readme, encoding: .utf8), text)

        let onlyBegin = "a\n\(ReadmeReport.beginMarker)\nb\n"
        XCTAssertThrowsRunError(.readmeMarkerMissing(file: "R", marker: ReadmeReport.endMarker),
                                try ReadmeReport.replaceBlock(in: onlyBegin, with: "x\n", file: "R"))
    }

    func testMarkersOutOfOrderOrTwiceAreRefused() {
        let reversed = "\(ReadmeReport.endMarker)\n\(ReadmeReport.beginMarker)\n"
        XCTAssertThrowsRunError(.readmeMarkersOutOfOrder(file: "R", begin: ReadmeReport.beginMarker, end: ReadmeReport.endMarker),
                                try ReadmeReport.replaceBlock(in: reversed, with: "x\n", file: "R"))
        let twice = "\(ReadmeReport.beginMarker)\n\(ReadmeReport.endMarker)\n\(ReadmeReport.beginMarker)\n\(ReadmeReport.endMarker)\n"
        XCTAssertThrowsRunError(.readmeMarkersOutOfOrder(file: "R", begin: ReadmeReport.beginMarker, end: ReadmeReport.endMarker),
                                try ReadmeReport.replaceBlock(in: twice, with: "x\n", file: "R"))
    }

    func testReplaceBlockIsIdempotent() throws {
        let text = "top\n\(ReadmeReport.beginMarker)\nold\n\(ReadmeReport.endMarker)\nbottom\n"
        let once = try ReadmeReport.replaceBlock(in: text, with: "new\n")
        XCTAssertEqual(once, "top\n\(ReadmeReport.beginMarker)\nnew\n\(ReadmeReport.endMarker)\nbottom\n")
        XCTAssertEqual(try ReadmeReport.replaceBlock(in: once, with: "new\n"), once)
    }

    func testNoResultsIsAnErrorAndTheReadmeIsKept() throws {
        let empty = try makeTemporaryFolder(self)
        let folder = try makeTemporaryFolder(self)
        let readme = folder.appendingPathComponent("README.md")
        try Data(readmeText.utf8).write(to: readme)
        let error = runError { try ReadmeReport.update(readme: readme, resultsDir: empty, options: options()) }
        guard case .missingRun? = error else { return XCTFail("got \(String(describing: error))") }
        XCTAssertEqual(try String(contentsOf: readme, encoding: .utf8), readmeText)
    }
}
