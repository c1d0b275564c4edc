import Benchmarks
import Foundation
import Reports
import Runs
import Supervision
import Support
import XCTest

final class ComparisonTests: XCTestCase {
    /// Writes a run's task to the store the way a run would.
    private func store(_ store: ResultsStore, run: String, task: String, records: [ExampleRecord], metric: String = "acc,none") throws {
        let config = sampleConfiguration(task: task, run: run)
        let log = try store.openTask(configuration: config)
        for r in records { try log.append(r) }
        log.close()
        try store.writeSummary(sampleSummary(config, records, metric: metric))
    }

    /// Baseline: 10 documents, 6 right, full path. Routed: 2 more right, one fewer layer on half.
    private func makeResults() throws -> URL {
        let root = try makeTemporaryFolder(self)
        let s = ResultsStore(root: root)
        let base = (0..<10).map { sampleRecord(index: $0, correct: $0 < 6, seconds: 1) }
        let routed = (0..<10).map { i in
            sampleRecord(index: i, correct: i < 8, path: i % 2 == 0 ? [0, 1, 3] : [0, 1, 2, 3], seconds: 0.5)
        }
        try store(s, run: "baseline", task: "arc_easy", records: base)
        try store(s, run: "routed", task: "arc_easy", records: routed)
        // A second task where routed loses one of four; baseline has an extra document routed lacks.
        try store(s, run: "baseline", task: "piqa", records: (0..<5).map { sampleRecord(index: $0, correct: $0 < 4) })
        try store(s, run: "routed", task: "piqa", records: (0..<4).map { sampleRecord(index: $0, correct: $0 < 3) })
        try store(s, run: "baseline", task: "gsm8k", records: [sampleRecord(index: 0, correct: true)])
        return root
    }

    func testPerTaskScoresDeltasLayersAndTime() throws {
        let root = try makeResults()
        let c = try Comparison.load(resultsDir: root, model: "tiny", resamples: 2000)
        XCTAssertEqual(c.tasks.map(\.task), ["arc_easy", "piqa"])
        XCTAssertEqual(c.onlyInA, ["gsm8k"])
        let arc = c.tasks[0].scores
        XCTAssertEqual(arc.pairs, 10)
        XCTAssertEqual(arc.scoreA, 60, accuracy: 1e-12)
        XCTAssertEqual(arc.scoreB, 80, accuracy: 1e-12)
        XCTAssertEqual(arc.delta.delta, 20, accuracy: 1e-12)
        // Differences are 0 except two +100s: the interval lies in [0, 60] and holds 20.
        XCTAssertGreaterThanOrEqual(arc.delta.lower, 0)
        XCTAssertLessThanOrEqual(arc.delta.lower, 20)
        XCTAssertGreaterThanOrEqual(arc.delta.upper, 20)
        XCTAssertEqual(arc.layersA, 16)          // 4 choices × 4 blocks
        XCTAssertEqual(arc.layersB, 14)          // half the documents run 3 blocks
        XCTAssertEqual(arc.layersSaved, 2)
        XCTAssertEqual(arc.pathA, 4)             // blocks per token
        XCTAssertEqual(arc.pathB, 3.5)
        XCTAssertEqual(arc.layersSavedPercent!, 12.5, accuracy: 1e-12)
        XCTAssertEqual(arc.timeRatio!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(c.tasks[0].layerUsageB[2], LayerUsage(skip: 0.5, execute: 0.5, repeat: 0))

        let piqa = c.tasks[1]
        XCTAssertEqual(piqa.scores.pairs, 4)
        XCTAssertEqual(piqa.onlyInA, 1)
        XCTAssertEqual(piqa.scores.delta.delta, -25, accuracy: 1e-12)
    }

    func testSuiteRowsPoolDocumentsAndAverageTaskDeltas() throws {
        let root = try makeResults()
        let suites = [SuiteDefinition(name: "mixed", tasks: ["piqa", "arc_easy", "gsm8k"])]
        let c = try Comparison.load(resultsDir: root, model: "tiny", suites: suites, resamples: 1000)
        XCTAssertEqual(c.tasks.map(\.task), ["piqa", "arc_easy"], "suite order first")
        let row = try XCTUnwrap(c.suites.first)
        XCTAssertEqual(row.tasks, ["piqa", "arc_easy"])
        XCTAssertEqual(row.scores.pairs, 14)
        // Micro: (10·20 + 4·(−25)) / 14; macro: (20 − 25)/2.
        XCTAssertEqual(row.scores.delta.delta, (200.0 - 100.0) / 14, accuracy: 1e-12)
        XCTAssertEqual(row.macroDelta.delta, -2.5, accuracy: 1e-12)
        XCTAssertLessThan(row.macroDelta.lower, -2.5)
        XCTAssertGreaterThan(row.macroDelta.upper, -2.5)
        XCTAssertEqual(row.apart, [])
        XCTAssertEqual(row.scores.layersA, 16)
        XCTAssertEqual(row.scores.layersB, (10 * 14.0 + 4 * 16.0) / 14, accuracy: 1e-12)
        XCTAssertEqual(row.scores.pathB, (10 * 3.5 + 4 * 4.0) / 14, accuracy: 1e-12)
    }

    func testF1TasksAreReportedApartFromPooledAccuracies() throws {
        let root = try makeResults()
        let s = ResultsStore(root: root)
        let f1 = (0..<3).map { sampleRecord(index: $0, correct: true, metric: "f1,none") }
        try store(s, run: "baseline", task: "squadv2", records: f1, metric: "f1,none")
        try store(s, run: "routed", task: "squadv2", records: f1, metric: "f1,none")
        let suites = [SuiteDefinition(name: "mixed", tasks: ["piqa", "squadv2", "arc_easy"])]
        let c = try Comparison.load(resultsDir: root, model: "tiny", suites: suites, resamples: 1000)
        XCTAssertEqual(c.tasks.map(\.task), ["piqa", "squadv2", "arc_easy"], "still compared task by task")
        let row = try XCTUnwrap(c.suites.first)
        XCTAssertEqual(row.tasks, ["piqa", "arc_easy"])
        XCTAssertEqual(row.apart, ["squadv2"])
        XCTAssertEqual(row.scores.pairs, 14)
        XCTAssertEqual(row.macroDelta.delta, -2.5, accuracy: 1e-12)
        XCTAssertTrue(c.markdown().contains("reported apart, not pooled: squadv2"), c.markdown())
    }

    func testMarkdownAndCSVReportsAreWrittenUnderTheModel() throws {
        let root = try makeResults()
        let reports = try makeTemporaryFolder(self)
        let c = try Comparison.load(resultsDir: root, model: "tiny", resamples: 1000)
        let files = try c.write(reportsDir: reports)
        XCTAssertEqual(files.markdown.path, reports.appendingPathComponent("tiny/baseline-vs-routed.md").path)
        XCTAssertEqual(files.csv.path, reports.appendingPathComponent("tiny/baseline-vs-routed.csv").path)
        let md = try String(contentsOf: files.markdown, encoding: .utf8)
        XCTAssertTrue(md.contains("| task | metric | n | baseline | routed | Δ (pts) | 95% CI |"), md)
        XCTAssertTrue(md.contains("| arc_easy | acc,none | 10 | 60.0 | 80.0 | +20.0 | ["), md)
        XCTAssertTrue(md.contains("| 16.0 | 14.0 | +2.00 | +12.50 | 4.00 | 3.50 | 0.50× |"), md)
        XCTAssertTrue(md.contains("only in baseline: gsm8k"), md)
        let csv = try String(contentsOf: files.csv, encoding: .utf8)
        let lines = csv.split(separator: "\n")
        XCTAssertEqual(lines.count, 5, "header, 2 tasks, and the paper's 2 domains (default suites)")
        XCTAssertTrue(lines[3].hasPrefix("tiny,baseline,routed,suite,indomain,,10,60.0,80.0,"), String(lines[3]))
        XCTAssertEqual(String(lines[0]), Comparison.csvHeader.joined(separator: ","))
        XCTAssertTrue(lines[1].hasPrefix("tiny,baseline,routed,task,arc_easy,\"acc,none\",10,60.0,80.0,"), String(lines[1]))
        // Same inputs, same bytes.
        XCTAssertEqual(try Comparison.load(resultsDir: root, model: "tiny", resamples: 1000).csv(), csv)
    }

    func testIncompleteRunsAreFlagged() throws {
        let root = try makeTemporaryFolder(self)
        let s = ResultsStore(root: root)
        try store(s, run: "baseline", task: "a", records: (0..<3).map { sampleRecord(index: $0, correct: true) })
        let config = sampleConfiguration(task: "a", run: "routed")
        let records = [sampleRecord(index: 0, correct: true)]
        let log = try s.openTask(configuration: config)
        try log.append(records[0])
        log.close()
        try s.writeSummary(sampleSummary(config, records, documents: 3))
        let c = try Comparison.load(resultsDir: root, model: "tiny", resamples: 100)
        XCTAssertFalse(c.tasks[0].completeB)
        XCTAssertTrue(c.markdown().contains("a: the routed run is incomplete"), c.markdown())
        XCTAssertTrue(c.markdown().contains("a: 2 documents only in baseline"), c.markdown())
    }

    func testMissingRunNamesTheFolder() throws {
        let root = try makeResults()
        let folder = ResultsStore(root: root).runFolder(model: "tiny", run: "nosuch").path
        XCTAssertThrowsRunError(.missingRun(folder: folder),
                                try Comparison.load(resultsDir: root, model: "tiny", runA: "baseline", runB: "nosuch"))
        let otherModel = ResultsStore(root: root).runFolder(model: "other", run: "baseline").path
        XCTAssertThrowsRunError(.missingRun(folder: otherModel), try Comparison.load(resultsDir: root, model: "other"))
        XCTAssertTrue(RunError.missingRun(folder: folder).localizedDescription.contains(folder))
    }

    func testNoCommonTaskIsAnError() throws {
        let root = try makeTemporaryFolder(self)
        let s = ResultsStore(root: root)
        try store(s, run: "baseline", task: "a", records: [sampleRecord(index: 0, correct: true)])
        try store(s, run: "routed", task: "b", records: [sampleRecord(index: 0, correct: true)])
        XCTAssertThrowsRunError(.noCommonTasks(folderA: s.runFolder(model: "tiny", run: "baseline").path,
                                               folderB: s.runFolder(model: "tiny", run: "routed").path),
                                try Comparison.load(resultsDir: root, model: "tiny"))
    }

    // MARK: Tables

    func testCSVQuotesCommasQuotesAndNewlines() {
        XCTAssertEqual(CSVText.field("plain"), "plain")
        XCTAssertEqual(CSVText.field("acc,none"), "\"acc,none\"")
        XCTAssertEqual(CSVText.field("say \"hi\""), "\"say \"\"hi\"\"\"")
        XCTAssertEqual(CSVText.field("two\nlines"), "\"two\nlines\"")
        XCTAssertEqual(CSVText.field("cr\r\nlf"), "\"cr\r\nlf\"")
        XCTAssertEqual(CSVText.field(" padded"), "\" padded\"")
        XCTAssertEqual(CSVText.field(""), "")
        XCTAssertEqual(CSVText.field("Δ ünïcode"), "Δ ünïcode")
        XCTAssertEqual(CSVText.line(["a", "b,c", "\""]), "a,\"b,c\",\"\"\"\"\n")
    }

    func testMarkdownEscapesPipes() {
        let t = MarkdownTable(header: ["a", "b"], alignments: [.left, .right], rows: [["x|y", "two\nlines"]])
        XCTAssertEqual(t.render(), "| a | b |\n|---|---:|\n| x\\|y | two lines |\n")
    }
}
